package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestStoreReserveSMS: a flush counts its SMS per number and day together — the
// day's first to a number, a number counted before, one another sender counted first.
func TestStoreReserveSMS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storagetest.NewDB(t)
	s := NewStore(db)
	day := t0.Format(time.DateOnly)
	got, err := s.reserveSMS(ctx, day, []string{alicePhone, bobPhone})
	if err != nil || got[0] != 1 || got[1] != 1 {
		t.Fatalf("first: %v, %v", got, err)
	}
	// Another sender (a replica, a restart) counts dellaPhone first.
	other := NewStore(db)
	if got, err := other.reserveSMS(ctx, day, []string{dellaPhone}); err != nil || got[0] != 1 {
		t.Fatalf("other: %v, %v", got, err)
	}
	got, err = s.reserveSMS(ctx, day, []string{alicePhone, dellaPhone, bossPhone})
	if err != nil || got[0] != 2 || got[1] != 2 || got[2] != 1 {
		t.Fatalf("second: %v, %v, want [2 2 1]", got, err)
	}
	if err := s.releaseSMS(ctx, alicePhone, day); err != nil {
		t.Fatal(err)
	}
	// Another day starts again from one.
	next := t0.Add(24 * time.Hour).Format(time.DateOnly)
	if got, err := s.reserveSMS(ctx, next, []string{alicePhone}); err != nil || got[0] != 1 {
		t.Fatalf("next day: %v, %v", got, err)
	}
	if got, err := other.reserveSMS(ctx, day, []string{alicePhone}); err != nil || got[0] != 2 {
		t.Fatalf("after a release: %v, %v, want 2", got, err)
	}
}
