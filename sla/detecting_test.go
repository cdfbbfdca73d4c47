package sla

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// gatedApps reads its applications when the rebuild asks, and hands them over only
// once the gate opens: a long rebuild, held as long as a test needs.
type gatedApps struct {
	*memApps
	read chan struct{} // closed once the applications are read
	gate chan struct{}
}

func (g gatedApps) EachApplication(ctx context.Context, f func(interactions.Application) error) error {
	g.mu.Lock()
	read := maps.Clone(g.apps)
	g.mu.Unlock()
	close(g.read)
	<-g.gate
	for _, a := range read {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// TestEngineDetectsOnceRebuilt: started in the background on a store with open
// clocks, the engine is not detecting until every clock is in its schedule; then a
// clock that existed before the stop and falls due after the restart is alerted, and
// an application that changed during the rebuild keeps its newer clocks.
func TestEngineDetectsOnceRebuilt(t *testing.T) {
	t.Parallel()
	store, apps, _, e := newEngine(t, "2s")
	now := time.Now().UTC().Truncate(time.Millisecond)
	due := apps.put("due", received(interactions.KindApplicationReceived, now, now))
	gone := apps.put("gone", received(interactions.KindApplicationReceived, now, now))
	apply(t, e, now, due, gone)
	e.Close()

	gated := gatedApps{memApps: apps, read: make(chan struct{}), gate: make(chan struct{})}
	rec := &recorder{}
	e2 := NewEngine(Config{Store: store, Apps: gated, Log: quietLog, Now: time.Now, Consumer: rec.consume})
	if err := e2.StartInBackground(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e2.Close)
	if e2.Detecting() || e2.OpenClocks() != 0 {
		t.Fatalf("detecting %v with %d open clocks before the rebuild read anything", e2.Detecting(), e2.OpenClocks())
	}
	// The rebuild read "gone" open; the projector applies its withdrawal meanwhile.
	<-gated.read
	later := time.Now().UTC().Truncate(time.Millisecond)
	withdrawn := apps.put("gone", received(interactions.KindApplicationReceived, now, now), received(interactions.KindWithdrawn, later, later))
	apply(t, e2, later, withdrawn)
	if e2.Detecting() {
		t.Fatal("detecting while the rebuild is held")
	}

	close(gated.gate)
	waitFor(t, "detecting", e2.Detecting)
	if n := e2.OpenClocks(); n != 1 {
		t.Fatalf("%d open clocks once detecting, want 1 (the withdrawn application's clock stays stopped)", n)
	}
	waitFor(t, "the breach due after the restart", func() bool {
		for _, f := range rec.all() {
			if f.ApplicationID == "due" && f.State == StateBreached && f.Alert {
				return true
			}
		}
		return false
	})
	for _, f := range rec.all() {
		if f.ApplicationID == "gone" {
			t.Errorf("the withdrawn application alerted: %+v", f)
		}
	}
}
