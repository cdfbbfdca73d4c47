package interactions

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestTombstoneHash: a tombstone id is the keyed hash of the kind and the value (an
// email lower-cased and trimmed), the same however many are computed, and computing
// one reuses a keyed hash rather than making one (11 allocations; reused, 4: the text
// hashed, the sum and the id).
func TestTombstoneHash(t *testing.T) {
	tb := &Tombstones{key: []byte("0123456789abcdef0123456789abcdef")}
	want := func(kind, value string) string {
		m := hmac.New(sha256.New, tb.key)
		m.Write([]byte(kind + "\x00" + value))
		return hex.EncodeToString(m.Sum(nil))
	}
	for range 3 {
		for _, tc := range []struct{ kind, value, hashed string }{
			{"candidate", "c-1", "c-1"},
			{"email", " Ann@Example.COM ", "ann@example.com"},
			{"phone", "+14155550100", "+14155550100"},
		} {
			if got := tb.hash(tc.kind, tc.value); got != want(tc.kind, tc.hashed) {
				t.Errorf("hash(%s, %q) = %s, want %s", tc.kind, tc.value, got, want(tc.kind, tc.hashed))
			}
		}
	}
	if n := testing.AllocsPerRun(50, func() { tb.hash("candidate", "c-1") }); n > 4 && !raceEnabled {
		t.Errorf("a tombstone id costs %v allocations: a keyed hash is made for each", n)
	}
}
