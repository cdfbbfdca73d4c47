package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestKeyCache: a key found is remembered for KeyCacheTTL; deleting it forgets it at
// once in the process that deleted it, and another process sharing the store (a
// replica) stops accepting it within KeyCacheTTL.
func TestKeyCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storagetest.NewDB(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	this, other := NewKeys(db), NewKeys(db)
	this.clock, other.clock = clock, clock

	authenticate := func(k *Keys, secret string) error {
		t.Helper()
		_, err := k.Authenticate(ctx, secret)
		if err != nil && !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("authenticate: %v", err)
		}
		return err
	}
	for _, tc := range []struct {
		name      string
		deletedBy func(a, b *Keys) *Keys // which of the two deletes the key
		advance   time.Duration          // then the clock moves on this much
		this      error                  // what each then answers
		other     error
	}{
		// The deleting process refuses the key at once; the other still has it.
		{"deleted here", func(a, b *Keys) *Keys { return a }, 0, ErrUnauthenticated, nil},
		// Just before the bound the other process may still accept it …
		{"just before the bound", func(a, b *Keys) *Keys { return a }, KeyCacheTTL - time.Millisecond, ErrUnauthenticated, nil},
		// … and from the bound on it asks the store again.
		{"at the bound", func(a, b *Keys) *Keys { return a }, KeyCacheTTL, ErrUnauthenticated, ErrUnauthenticated},
		// Deleted by the other process: the roles swap.
		{"deleted there", func(a, b *Keys) *Keys { return b }, 0, nil, ErrUnauthenticated},
	} {
		key, secret, err := this.Create(ctx, tc.name, RoleIngest, "", now)
		if err != nil {
			t.Fatal(err)
		}
		// Both processes have used the key, so both remember it.
		if authenticate(this, secret) != nil || authenticate(other, secret) != nil {
			t.Fatalf("%s: a new key is refused", tc.name)
		}
		if err := tc.deletedBy(this, other).Delete(ctx, key.ID); err != nil {
			t.Fatal(err)
		}
		saved := now
		now = now.Add(tc.advance)
		if got := authenticate(this, secret); !errors.Is(got, tc.this) {
			t.Errorf("%s: this process answers %v, want %v", tc.name, got, tc.this)
		}
		if got := authenticate(other, secret); !errors.Is(got, tc.other) {
			t.Errorf("%s: the other process answers %v, want %v", tc.name, got, tc.other)
		}
		now = saved.Add(time.Hour) // past every bound before the next case
	}
}
