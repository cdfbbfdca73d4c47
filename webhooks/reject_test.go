package webhooks

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidLabel(t *testing.T) {
	for _, c := range []struct {
		label string
		want  bool
	}{
		{"eu-board", true},               // letters and a dash
		{"candidate_moved", true},        // Workable's event names
		{"0", true},                      // one character
		{strings.Repeat("a", 64), true},  // the longest
		{strings.Repeat("a", 65), false}, // too long
		{"", false},                      // empty
		{"EU", false},                    // upper case
		{"eu board", false},              // a space
		{"eu.board", false},              // a dot
		{"été", false},                   // not ASCII
		{"eu-board\n", false},            // a trailing newline
	} {
		if got := ValidLabel(c.label); got != c.want {
			t.Errorf("ValidLabel(%q) = %v, want %v", c.label, got, c.want)
		}
	}
}

func TestVerifyReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{ErrNoSecret, RejectNoSecret},                                       // no secret configured
		{fmt.Errorf("%w: Signature", ErrBadSignature), RejectBadSignature},  // wrong
		{fmt.Errorf("%w: header", ErrMissingSignature), RejectBadSignature}, // missing
		{fmt.Errorf("%w: hex", ErrMalformedSignature), RejectBadSignature},  // malformed
		{fmt.Errorf("lever: %w", ErrStaleTimestamp), RejectStale},           // too old or too new
	} {
		if got := VerifyReason(c.err); got != c.want {
			t.Errorf("VerifyReason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
