package sla

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// sharedEngine starts an engine that owns what *owns says, with a 24x7 first_response
// policy of target.
func sharedEngine(t *testing.T, store *Store, apps *memApps, consume Consumer, owns *atomic.Bool, target string) *Engine {
	t.Helper()
	seedFastPolicy(t, store, target)
	return startEngine(t, store, apps, time.Now, consume, func(c *Config) { c.Owns = func(string) bool { return owns.Load() } })
}

// TestEngineAcquiresPartitions: a clock that comes due while no replica owns its
// application is recorded by none; the replica that acquires its partition records
// its warning and breach once, and hands over what a previous owner recorded but
// never handed over.
func TestEngineAcquiresPartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	apps := &memApps{}
	var mine, theirs atomic.Bool
	theirs.Store(true)
	rec := &recorder{}
	failing := func(context.Context, []Fired) error { return errors.New("the alerts pipeline is down") }
	e := sharedEngine(t, store, apps, rec.consume, &mine, "1s")
	previous := sharedEngine(t, store, apps, failing, &theirs, "1s")

	now := time.Now().UTC().Truncate(time.Millisecond)
	orphan := apps.put("orphan", received(interactions.KindApplicationReceived, now, now))
	left := apps.put("left", received(interactions.KindApplicationReceived, now, now))
	apply(t, e, now, orphan)
	// The previous owner records the breach of "left" but cannot hand it over.
	apply(t, previous, now, left)
	waitFor(t, "the previous owner records left's breach", func() bool {
		fs, err := store.Transitions(ctx, "left")
		return err == nil && len(fs) == 2
	})
	theirs.Store(false) // it dies
	time.Sleep(1200 * time.Millisecond)
	if fs, err := store.Transitions(ctx, "orphan"); err != nil || len(fs) != 0 {
		t.Fatalf("transitions of an application nobody owns: %v, %v", fs, err)
	}
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("handed over before acquiring: %v", got)
	}

	mine.Store(true)
	parts := []int{interactions.Partition("orphan"), interactions.Partition("left")}
	if err := e.Acquired(ctx, parts); err != nil {
		t.Fatal(err)
	}
	if err := e.Acquired(ctx, parts); err != nil { // twice: nothing new
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range rec.all() {
		got[f.ID]++
		if f.State == StateBreached && !f.Alert {
			t.Errorf("%s recorded without alerting; a breach nobody recorded in time still alerts", f.ID)
		}
	}
	fs, err := store.Transitions(ctx, "orphan")
	if err != nil {
		t.Fatal(err)
	}
	left2, err := store.Transitions(ctx, "left")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || len(left2) != 2 {
		t.Fatalf("recorded %d transitions of orphan and %d of left, want 2 each", len(fs), len(left2))
	}
	for _, f := range append(fs, left2...) {
		if got[f.ID] != 1 {
			t.Errorf("%s handed over %d times, want once", f.ID, got[f.ID])
		}
		if f.Partition != interactions.Partition(f.ApplicationID) {
			t.Errorf("%s recorded in partition %d, want %d", f.ID, f.Partition, interactions.Partition(f.ApplicationID))
		}
	}
	if len(got) != 4 {
		t.Errorf("handed over %v, want the 4 transitions", got)
	}
}
