package webhooks

import (
	"strings"
	"testing"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/google/go-cmp/cmp"
)

// TestContactDetails checks how contact details are cleaned.
func TestContactDetails(t *testing.T) {
	for _, c := range []struct {
		name, mail, phone string
		want              *interactions.Person
	}{
		// Formatting is removed from an international number.
		{"Ada", "ada@example.com", "+1 (415) 555-0100", &interactions.Person{Name: "Ada", Email: "ada@example.com", Phone: "+14155550100"}},
		// A national number cannot be made E.164 without guessing: dropped.
		{"Ada", "", "415-555-0100", &interactions.Person{Name: "Ada"}},
		// An address with a space is not valid: dropped.
		{"", "hank.von diablo@example.com", "", nil},
		// A display-name address is not a bare address: dropped.
		{"", "Ada <ada@example.com>", "", nil},
		// Control characters in names become spaces, then are trimmed.
		{"Ada\n", "", "", &interactions.Person{Name: "Ada"}},
		// A too-long name is cut to 500 bytes.
		{strings.Repeat("é", 300), "", "", &interactions.Person{Name: strings.Repeat("é", 250)}},
	} {
		got := ContactDetails(c.name, c.mail, c.phone)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ContactDetails(%q, %q, %q) (-want +got):\n%s", c.name, c.mail, c.phone, diff)
		}
	}
}
