package atssync

import (
	"errors"
	"strings"
	"testing"
)

func TestReadBody(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		max  int64
		err  error
	}{
		// A body of max bytes is read whole.
		{"at the limit", "12345", 5, nil},
		// One byte more is too large.
		{"over the limit", "123456", 5, ErrBodyTooLarge},
		// An empty body is fine.
		{"empty", "", 5, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ReadBody(strings.NewReader(tt.body), tt.max)
			if !errors.Is(err, tt.err) || (err == nil && string(b) != tt.body) {
				t.Errorf("ReadBody = %q, %v; want %q, %v", b, err, tt.body, tt.err)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	if got := Snippet([]byte("  {\"error\":\"no\"}\n")); got != `{"error":"no"}` {
		t.Errorf("Snippet = %q", got)
	}
	if got := Snippet([]byte(strings.Repeat("x", 300))); len(got) != 200 {
		t.Errorf("Snippet of 300 bytes: %d bytes, want 200", len(got))
	}
}
