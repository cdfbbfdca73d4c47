package atssync

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// failingWriter fails, as an unavailable store does, every write holding the
// interaction whose external id is failOn (while set).
type failingWriter struct {
	Writer
	failOn atomic.Value // string
}

func (w *failingWriter) Write(ctx context.Context, items []interactions.Interaction) ([]interactions.Interaction, error) {
	if id, _ := w.failOn.Load().(string); id != "" && slices.ContainsFunc(items, func(it interactions.Interaction) bool { return it.ExternalID == id }) {
		return nil, interactions.Unavailable("write", errors.New("the store is down"))
	}
	return w.Writer.Write(ctx, items)
}

// TestBackfillSavesPositionsInOrder: pages are written several at once, but a page's
// position is saved only once it and every page before it are written. A store that
// fails the second page's write leaves the backfill running at the position after the
// first, whatever later pages were written meanwhile; the next look resumes there and
// stores everything once.
func TestBackfillSavesPositionsInOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	v := &fakeVendor{name: "lever", pageSize: 2, users: []User{{ID: "lever:u1", Name: "Ann", Active: true}}}
	v.events = r.events("lever", 7) // four pages of applications
	w := &failingWriter{Writer: r.writer}
	w.failOn.Store(v.events[2].ExternalID) // on the second page
	run := r.runner(v, func(c *Config) { c.Writer = w })
	ctx := context.Background()

	b, err := run.StartBackfill(ctx, "lever", r.now.Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := run.runBackfill(ctx, v); interactions.ErrorCode(err) != interactions.CodeUnavailable {
		t.Fatalf("a failed write: %v, want the store's error", err)
	}
	got, err := run.Backfill(ctx, "lever", b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != BackfillRunning || got.Resource != 1 || got.ResourceName != "applications" ||
		!got.Cursor.Since.Equal(v.events[1].OccurredAt) || got.Pages != 2 || got.Events != 2 {
		t.Fatalf("after the failed write: %+v, want running after the first page of applications", got)
	}

	w.failOn.Store("")
	if err := run.runBackfill(ctx, v); err != nil {
		t.Fatal(err)
	}
	got, _ = run.Backfill(ctx, "lever", b.ID)
	if got.State != BackfillDone || got.Pages != 5 || got.Events != 7 || got.FinishedAt == nil {
		t.Errorf("after the resume: %+v", got)
	}
	if ids := r.stored(t, "lever:app-1"); len(ids) != 7 {
		t.Errorf("stored %v, want the 7 events once each", ids)
	}
	if id, _ := run.running(ctx, "lever"); id != "" {
		t.Errorf("a done backfill still marked running: %s", id)
	}
	if _, err := run.StartBackfill(ctx, "lever", r.now.Add(-time.Hour)); err != nil {
		t.Errorf("a backfill after the done one: %v", err)
	}
}

// TestBackfillOneAtATime: a second backfill of a vendor while one runs is a conflict
// naming the running one; once that one is canceled another may start.
func TestBackfillOneAtATime(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	v := &fakeVendor{name: "lever", pageSize: 2}
	run := r.runner(v, nil)
	ctx := context.Background()
	first, err := run.StartBackfill(ctx, "lever", r.now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, err = run.StartBackfill(ctx, "lever", r.now.Add(-time.Hour))
	var running *BackfillRunningError
	if interactions.ErrorCode(err) != interactions.CodeConflict || !errors.As(err, &running) || running.ID != first.ID {
		t.Fatalf("a second backfill: %v", err)
	}
	if _, err := run.StartBackfill(ctx, "greenhouse", r.now); interactions.ErrorCode(err) != interactions.CodeNotFound {
		t.Errorf("a vendor not configured: %v", err)
	}
	if _, err := run.StartBackfill(ctx, "lever", r.now.Add(time.Hour)); interactions.ErrorCode(err) != interactions.CodeInvalid {
		t.Errorf("a since in the future: %v", err)
	}
	if c, err := run.CancelBackfill(ctx, "lever", first.ID); err != nil || c.State != BackfillCanceled {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	if _, err := run.StartBackfill(ctx, "lever", r.now.Add(-time.Hour)); err != nil {
		t.Errorf("a backfill after a canceled one: %v", err)
	}
}

// stallingVendor stalls its second page of applications until its context ends, as a
// replica that dies mid-read would.
type stallingVendor struct {
	*fakeVendor
	reads atomic.Int32
	stall chan struct{} // closed when the stalled read begins
}

func (s *stallingVendor) Pull(ctx context.Context, resource string, cur Cursor) (Page, error) {
	if resource == "applications" && s.reads.Add(1) == 2 {
		close(s.stall)
		<-ctx.Done()
		return Page{}, ctx.Err()
	}
	return s.fakeVendor.Pull(ctx, resource, cur)
}

// TestBackfillMovesWithTheLease: a replica that dies mid-backfill keeps the vendor's
// lease until it expires; until then another replica leaves the backfill alone, and
// then takes it over from the position the first saved, storing everything once.
func TestBackfillMovesWithTheLease(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	events := r.events("lever", 7)
	a := &stallingVendor{fakeVendor: &fakeVendor{name: "lever", pageSize: 2, events: events}, stall: make(chan struct{})}
	b := &fakeVendor{name: "lever", pageSize: 2, events: events}
	ttl := time.Second
	ra := r.runner(a, func(c *Config) { c.Replica, c.LeaseTTL = "a", ttl })
	rb := r.runner(b, func(c *Config) { c.Replica, c.LeaseTTL = "b", ttl })
	ctx := context.Background()

	bf, err := ra.StartBackfill(ctx, "lever", r.now.Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	actx, die := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ra.runBackfill(actx, a) }()
	<-a.stall
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, err := ra.Backfill(ctx, "lever", bf.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Pages == 2 { // users and the first page of applications
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first page was never saved: %+v", got)
		}
	}
	die() // no release: the replica is gone
	if err := <-done; err != nil {
		t.Fatalf("replica a: %v", err)
	}

	if err := rb.runBackfill(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := b.pullCount(); n != 0 {
		t.Fatalf("replica b read %d pages while a's lease lasted", n)
	}
	time.Sleep(ttl + 100*time.Millisecond)
	if err := rb.runBackfill(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, _ := rb.Backfill(ctx, "lever", bf.ID)
	if got.State != BackfillDone || got.Events != 7 {
		t.Errorf("after the move: %+v", got)
	}
	b.mu.Lock()
	first := b.pulls[0]
	b.mu.Unlock()
	if want := "applications@" + interactions.APITime(events[1].OccurredAt); first != want {
		t.Errorf("replica b began with %s, want %s (after the first page a saved)", first, want)
	}
	if ids := r.stored(t, "lever:app-1"); len(ids) != 7 {
		t.Errorf("stored %v, want the 7 events once each", ids)
	}
}
