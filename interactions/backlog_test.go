package interactions

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestBacklogBudget: the budget is what the projector applies in applyTarget at its
// smoothed rate, within its bounds; small Applies do not move it.
func TestBacklogBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		applies [][2]int // interactions, milliseconds
		want    int
	}{
		{"before any Apply", nil, startBacklog},
		{"one Apply", [][2]int{{3000, 100}}, 3000},                   // 30,000/s × 100 ms
		{"smoothed", [][2]int{{3000, 100}, {1000, 1000}}, 2100 + 30}, // (0.7×30,000 + 0.3×1,000)/s × 100 ms
		{"slow store", [][2]int{{100, 1000}}, minBacklog},
		{"fast store", [][2]int{{100000, 10}}, maxApplyItems},
		{"small Applies ignored", [][2]int{{3000, 100}, {10, 1000}}, 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBacklog()
			for _, a := range tc.applies {
				b.applied(a[0], time.Duration(a[1])*time.Millisecond)
			}
			if b.budget != tc.want {
				t.Errorf("budget %d, want %d", b.budget, tc.want)
			}
		})
	}
}

// returnsWithin reports whether done is closed within d.
func returnsWithin(done <-chan struct{}, d time.Duration) bool {
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// TestProjectorFeedWaitsForBacklog: while the projector is busy, Feed takes batches up
// to the backlog's budget and then waits, holding the writer and so the 201s of the
// next batch, until the projector takes the backlog into its next Apply.
func TestProjectorFeedWaitsForBacklog(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	entered, release := make(chan int, 16), make(chan struct{})
	applied := AppliedFunc(func(ctx context.Context, apps []Application, _ time.Time) error {
		entered <- len(apps)
		<-release
		return nil
	})
	p, _ := newProjector(t, now, applied)
	p.backlog.maxWait = time.Minute
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	item := func(i int) []Interaction {
		return stored(t, now, Input{ApplicationID: "a-" + string(rune('a'+i)), CandidateID: "c", Kind: "application_received",
			OccurredAt: now.Add(-time.Hour).Format(time.RFC3339), Source: "test", ExternalID: "e-" + string(rune('a'+i))})
	}

	p.Feed(item(0))
	<-entered // the projector is busy with it
	p.backlog.mu.Lock()
	p.backlog.budget = 2
	p.backlog.mu.Unlock()
	p.Feed(append(item(1), item(2)...)) // fills the budget
	third := make(chan struct{})
	go func() {
		p.Feed(item(3))
		close(third)
	}()
	if returnsWithin(third, 200*time.Millisecond) {
		t.Fatal("Feed returned with the backlog full")
	}
	close(release) // the projector takes the backlog into its next Apply
	if !returnsWithin(third, 10*time.Second) {
		t.Fatal("Feed still waits after the projector took the backlog")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := projectedCount(t, p); got != 4 {
		t.Errorf("%d applications projected, want 4", got)
	}
}

// TestProjectorFeedWaitIsBounded: a projector that does not move (its store failing)
// holds a Feed for maxWait at most, so that writes the store accepts are answered.
func TestProjectorFeedWaitIsBounded(t *testing.T) {
	t.Parallel()
	b := newBacklog()
	b.maxWait = 50 * time.Millisecond
	b.budget = 1
	b.add(1)
	done := make(chan struct{})
	go func() {
		b.add(1)
		close(done)
	}()
	if !returnsWithin(done, 10*time.Second) {
		t.Fatal("Feed waited past maxWait")
	}
	if b.pending != 2 {
		t.Errorf("pending %d, want 2", b.pending)
	}
}

// projectedCount returns how many application documents the projector's store holds.
func projectedCount(t *testing.T, p *Projector) int64 {
	t.Helper()
	n, err := p.store.applications.CountDocuments(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFeedHistoryAndSettle: a history batch goes into the feed without waiting for
// room in a full backlog, where a live batch waits; Settle waits until everything fed
// before it is applied, and returns at once when nothing is outstanding.
func TestFeedHistoryAndSettle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	entered, release := make(chan int, 16), make(chan struct{})
	var hold = true
	applied := AppliedFunc(func(ctx context.Context, apps []Application, _ time.Time) error {
		if hold {
			entered <- len(apps)
			<-release
		}
		return nil
	})
	p, _ := newProjector(t, now, applied)
	p.backlog.maxWait = time.Minute
	feed := startFed(t, p)
	item := func(i int) []Interaction {
		return stored(t, now, Input{ApplicationID: "h-" + string(rune('a'+i)), CandidateID: "c", Kind: "application_received",
			OccurredAt: now.Add(-time.Hour).Format(time.RFC3339), Source: "test", ExternalID: "h-" + string(rune('a'+i))})
	}
	settled := func(d time.Duration) bool {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return feed.Settle(ctx) == nil
	}
	if !settled(time.Second) {
		t.Fatal("Settle waited with nothing fed")
	}

	feed.Add(item(0))
	<-entered // the projector is busy with it
	if settled(100 * time.Millisecond) {
		t.Fatal("Settle returned while the projector held a batch")
	}
	p.backlog.mu.Lock()
	p.backlog.budget = 1
	p.backlog.mu.Unlock()
	feed.Add(item(1)) // fills the budget
	history := make(chan struct{})
	go func() {
		feed.AddHistory(append(item(2), item(3)...))
		close(history)
	}()
	if !returnsWithin(history, 10*time.Second) {
		t.Fatal("AddHistory waited for room in the backlog")
	}
	live := make(chan struct{})
	go func() {
		feed.Add(item(4))
		close(live)
	}()
	if returnsWithin(live, 200*time.Millisecond) {
		t.Fatal("Add returned with the backlog full")
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- feed.Settle(ctx)
	}()
	hold = false // read by the projector only after release
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if !returnsWithin(live, 10*time.Second) {
		t.Fatal("Add still waits")
	}
	// What was fed before Settle returned is stored, without polling.
	if got := projectedCount(t, p); got < 4 {
		t.Errorf("%d applications projected after Settle, want at least 4", got)
	}
	if !settled(10 * time.Second) {
		t.Fatal("Settle did not return once everything was applied")
	}
	if got := projectedCount(t, p); got != 5 {
		t.Errorf("%d applications projected, want 5", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestProjectorHoldsHistory: history alone waits in the projector for more (so that
// one Apply folds more events of each application), and a Settle applies it at once.
func TestProjectorHoldsHistory(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p, _ := newProjector(t, now)
	feed := startFed(t, p)
	var items []Interaction
	for i := range 3 {
		items = append(items, stored(t, now, Input{ApplicationID: "held-" + string(rune('a'+i)), CandidateID: "c", Kind: "application_received",
			OccurredAt: now.Add(-time.Hour).Format(time.RFC3339), Source: "test", ExternalID: "held-" + string(rune('a'+i))})...)
	}
	feed.AddHistory(items[:2])
	feed.AddHistory(items[2:])
	time.Sleep(200 * time.Millisecond) // far less than historyLinger
	if got := projectedCount(t, p); got != 0 {
		t.Fatalf("%d applications projected before a flush or historyLinger, want 0 (held)", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := feed.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := projectedCount(t, p); got != 3 {
		t.Errorf("%d applications projected after Settle, want 3", got)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestProjectorAppliesQuietHistory: held history is applied without a flush once no
// more has come for historyQuiet, long before historyLinger: a writer of history that
// does not flush sees its derived state soon after it stops.
func TestProjectorAppliesQuietHistory(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p, _ := newProjector(t, now)
	feed := startFed(t, p)
	items := stored(t, now, Input{ApplicationID: "quiet-a", CandidateID: "c", Kind: "application_received",
		OccurredAt: now.Add(-time.Hour).Format(time.RFC3339), Source: "test", ExternalID: "quiet-a"})
	start := time.Now()
	feed.AddHistory(items)
	for projectedCount(t, p) != 1 {
		if time.Since(start) > historyLinger/2 {
			t.Fatalf("history not applied %s after the last came, without a flush", time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestProjectorWritesHeldHistorysDetails: while history is held, its details —
// candidates and contact lookups — are written already, so that the Apply releasing it
// at the flush does not write them after the import's last write; its applications
// still wait for that Apply, and a tombstone still wins.
func TestProjectorWritesHeldHistorysDetails(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p, store := newProjector(t, now)
	feed := startFed(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// An erased candidate's history (a tombstone written after it was stored) leaves
	// no details, held or not.
	if err := p.guard.Bury(ctx, []string{"c-gone"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	feed.AddHistory(stored(t, now, Input{ApplicationID: "gone-details", CandidateID: "c-gone", Kind: "application_received",
		OccurredAt: now.Add(-time.Hour).Format(time.RFC3339), Source: "test", ExternalID: "gone-details",
		Candidate: &Person{Name: "Gone Lead", Email: "gone@example.com"}},
		Input{ApplicationID: "held-details", CandidateID: "c-held", Kind: "application_received",
			OccurredAt: now.Add(-time.Hour).Format(time.RFC3339), Source: "test", ExternalID: "held-details",
			Candidate: &Person{Name: "Held Lead", Email: "held@example.com"}}))
	// Before historyQuiet: only then would the held history be applied, details first.
	for deadline := time.Now().Add(historyQuiet * 9 / 10); ; time.Sleep(20 * time.Millisecond) {
		ids, err := store.CandidatesByEmail(ctx, "held@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 1 && ids[0] == "c-held" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("contact lookup of held history: %v, want [c-held] before the history is applied", ids)
		}
	}
	if got := projectedCount(t, p); got != 0 {
		t.Fatalf("%d applications projected while held, want 0", got)
	}
	c, err := store.Candidate(ctx, "c-held")
	if err != nil || c.Name != "Held Lead" {
		t.Fatalf("candidate of held history: %+v, %v; want its name written", c, err)
	}
	if ids, err := store.CandidatesByEmail(ctx, "gone@example.com"); err != nil || len(ids) != 0 {
		t.Fatalf("contact lookup of an erased candidate's held history: %v, %v; want none", ids, err)
	}
	if err := feed.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := projectedCount(t, p); got != 2 {
		t.Errorf("%d applications projected after Settle, want 2", got)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// startFed starts p and returns the feed of its own queue, as the writer's OnCommit
// and OnHistory use it.
func startFed(t *testing.T, p *Projector) *Feed {
	t.Helper()
	feed := &Feed{ch: p.feed, backlog: p.backlog}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return feed
}
