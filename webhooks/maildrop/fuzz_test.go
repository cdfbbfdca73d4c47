package maildrop

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzMap runs arbitrary messages through Parse and Map: nothing panics, every item
// validates as the dropbox writes it, and no reason carries an address.
func FuzzMap(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.eml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "ann@acme.test", true)
	}
	f.Add([]byte("From: max@example.com\r\nTo: bob@acme.test\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nhi"), "", false)
	book := testBook()
	mp := &Mapper{Candidates: book, Recruiters: book, SenderDomains: []string{"acme.test"}, Domain: "log.acme.test", KeepSubject: true}
	f.Fuzz(func(t *testing.T, raw []byte, returnPath string, personal bool) {
		m, err := Parse(raw)
		if err != nil {
			return
		}
		env := Envelope{ReturnPath: returnPath, OrgWide: !personal, ReceivedAt: t0.Add(time.Hour)}
		if personal {
			env.Recruiters = []string{"ann"}
		}
		got, err := mp.Map(context.Background(), m, env)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got.Ignored, "@") {
			t.Errorf("reason %q holds an address", got.Ignored)
		}
		if (got.Ignored == "") == (len(got.Items) == 0) {
			t.Errorf("ignored %q with %d items", got.Ignored, len(got.Items))
		}
		for i, in := range got.Items {
			if _, errs := in.Validate("", env.ReceivedAt); len(errs) > 0 {
				t.Errorf("item %d %+v does not validate: %v", i, in, errs)
			}
		}
	})
}
