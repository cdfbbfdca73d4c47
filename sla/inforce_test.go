package sla

import (
	"context"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// An InForce given to an engine follows what the engine loads: empty before Start,
// the stored policies and calendar after it, and each change made through the engine.
func TestInForceFollowsTheEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	if err := store.Seed(ctx, DefaultCalendar("Europe/London", "")); err != nil {
		t.Fatal(err)
	}
	in := NewInForce()
	if got := in.Zone(); got != time.UTC {
		t.Errorf("zone before Start = %v, want UTC", got)
	}
	if got := in.EscalateAfter("first_response"); got != 0 {
		t.Errorf("escalation before Start = %v, want 0", got)
	}
	e := NewEngine(Config{Store: store, Apps: &memApps{}, Log: quietLog, Now: time.Now, InForce: in})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)

	p := DefaultPolicies()[0]
	if got, want := in.EscalateAfter(p.ID), p.EscalateAfter.Wall(); got != want || want == 0 {
		t.Errorf("escalation of %s after Start = %v, want %v", p.ID, got, want)
	}
	if got := in.Zone().String(); got != "Europe/London" {
		t.Errorf("zone after Start = %s, want Europe/London", got)
	}
	if got := in.EscalateAfter("no_such_policy"); got != 0 {
		t.Errorf("escalation of an unknown policy = %v, want 0", got)
	}

	p.EscalateAfter = interactions.MustParseDuration("30m")
	if _, err := e.PutPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := in.EscalateAfter(p.ID); got != 30*time.Minute {
		t.Errorf("escalation after the change = %v, want 30m", got)
	}
	c := e.Calendar()
	c.Timezone = "America/New_York"
	if err := e.PutCalendar(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := in.Zone().String(); got != "America/New_York" {
		t.Errorf("zone after the change = %s, want America/New_York", got)
	}
}
