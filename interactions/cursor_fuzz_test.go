package interactions_test

import (
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// FuzzDecodeCursor checks that any cursor text either is refused as invalid on the
// field "cursor" or reads back to the same position once encoded again: every list
// hands out and takes back cursors this way.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(interactions.EncodeCursor(interactions.Cursor{T: time.Date(2026, 11, 2, 10, 0, 0, 123e6, time.UTC), ID: "01a2509c"}))
	f.Add(interactions.EncodeCursor(interactions.Cursor{ID: "rec-ana"}))
	f.Add("")
	f.Add("not-a-cursor")
	f.Add("eyJ0IjoiMjAyNi0xMS0wMlQxMDowMDowMFoiLCJpIjoiIn0") // an empty id
	f.Fuzz(func(t *testing.T, s string) {
		c, err := interactions.DecodeCursor(s)
		if err != nil {
			if interactions.ErrorCode(err) != interactions.CodeInvalid {
				t.Fatalf("DecodeCursor(%q): %v is not CodeInvalid", s, err)
			}
			return
		}
		again, err := interactions.DecodeCursor(interactions.EncodeCursor(c))
		if err != nil || !again.T.Equal(c.T) || again.ID != c.ID {
			t.Fatalf("cursor %+v reads back as %+v, %v", c, again, err)
		}
	})
}
