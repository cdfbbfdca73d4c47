package interactions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// newProjector is a projector on a fresh database that tells applied of what it
// applies, not started: tests call Apply.
func newProjector(t *testing.T, now time.Time, applied ...AppliedFunc) (*Projector, *Store) {
	t.Helper()
	store := NewStore(storagetest.NewDB(t))
	guard, err := NewTombstones(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	return NewProjector(ProjectorConfig{
		Store: store, Guard: guard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now },
		Applied: applied,
	}), store
}

// stored builds stored interactions from inputs, received at now.
func stored(t *testing.T, now time.Time, inputs ...Input) []Interaction {
	t.Helper()
	var items []Interaction
	for i, in := range inputs {
		it, errs := in.Validate("", now)
		if len(errs) > 0 {
			t.Fatalf("input %d: %v", i, errs)
		}
		items = append(items, it)
	}
	return items
}

// TestProjectorUpdatesMany: applications that exist already are rewritten whole, more
// of them than one request replaces, each keeping its earlier events and its state
// derived from all of them.
func TestProjectorUpdatesMany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p, store := newProjector(t, now)
	n := 2*replaceChunk + 7
	at := func(h int) string { return now.Add(time.Duration(h-48) * time.Hour).Format(time.RFC3339) }
	var first, second []Input
	for i := range n {
		app, cand := fmt.Sprintf("a-%03d", i), fmt.Sprintf("c-%03d", i)
		first = append(first, Input{ApplicationID: app, CandidateID: cand, Kind: "application_received", OccurredAt: at(0),
			RecruiterID: "r-1", Source: "test", ExternalID: "first-" + app})
		second = append(second,
			Input{ApplicationID: app, CandidateID: cand, Kind: "stage_changed", Stage: "onsite", OccurredAt: at(2), Source: "test", ExternalID: "stage-" + app},
			Input{ApplicationID: app, CandidateID: cand, Kind: "rejected", OccurredAt: at(3), RecruiterID: "r-2", Source: "test", ExternalID: "rej-" + app})
	}
	for _, batch := range [][]Input{first, second} {
		if err := p.Apply(ctx, stored(t, now, batch...)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		app, err := store.Application(ctx, fmt.Sprintf("a-%03d", i))
		if err != nil {
			t.Fatal(err)
		}
		kinds := []Kind{}
		for _, e := range app.Events {
			kinds = append(kinds, e.Kind)
		}
		want := []Kind{KindApplicationReceived, KindStageChanged, KindRejected}
		if !slices.Equal(kinds, want) || app.EventCount != 3 || app.Status != StatusRejected ||
			app.Stage != "onsite" || app.RecruiterID != "r-2" || app.ClosedAt == nil {
			t.Fatalf("%s: events %v, count %d, status %s, stage %q, recruiter %q", app.ID, kinds, app.EventCount, app.Status, app.Stage, app.RecruiterID)
		}
	}
}

// TestProjectorTellsAfterFailure: when a consumer fails, the applications already
// stored are handed to it on the next attempt, although their events are no longer new.
func TestProjectorTellsAfterFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	var told [][]string
	fail := true
	applied := AppliedFunc(func(_ context.Context, apps []Application, _ time.Time) error {
		var ids []string
		for _, a := range apps {
			ids = append(ids, fmt.Sprintf("%s:%d", a.ID, a.EventCount))
		}
		told = append(told, ids)
		if fail {
			fail = false
			return errors.New("the consumer's store is down")
		}
		return nil
	})
	p, _ := newProjector(t, now, applied)
	items := stored(t, now,
		Input{ApplicationID: "a-1", CandidateID: "c-1", Kind: "application_received", OccurredAt: now.Add(-time.Hour).Format(time.RFC3339)},
		Input{ApplicationID: "a-2", CandidateID: "c-2", Kind: "application_received", OccurredAt: now.Add(-time.Hour).Format(time.RFC3339)})
	if err := p.Apply(ctx, items); err == nil {
		t.Fatal("Apply succeeded although its consumer failed")
	}
	// The retry, as applyRetrying makes it: the same items.
	if err := p.Apply(ctx, items); err != nil {
		t.Fatal(err)
	}
	// Then one more event of a-1: only a-1 is new.
	more := stored(t, now, Input{ApplicationID: "a-1", CandidateID: "c-1", Kind: "note", OccurredAt: now.Format(time.RFC3339)})
	if err := p.Apply(ctx, more); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a-1:1", "a-2:1"}, {"a-1:1", "a-2:1"}, {"a-1:2"}}
	if fmt.Sprint(told) != fmt.Sprint(want) {
		t.Fatalf("consumer told %v, want %v", told, want)
	}
}

// TestProjectorDetails: candidates' details repeated by later events are skipped
// without losing what changes after them.
func TestProjectorDetails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p, store := newProjector(t, now)
	at := func(m int) string { return now.Add(time.Duration(m-60) * time.Minute).Format(time.RFC3339) }
	for i, tc := range []struct {
		person *Person
		want   Candidate
	}{
		// First seen: stored whole.
		{&Person{Name: "Ada", Email: "ada@example.com", Phone: "+14155550100"}, Candidate{Name: "Ada", Email: "ada@example.com", Phone: "+14155550100"}},
		// The same email again: nothing changes.
		{&Person{Email: "ada@example.com"}, Candidate{Name: "Ada", Email: "ada@example.com", Phone: "+14155550100"}},
		// A new name after the repeat: written.
		{&Person{Name: "Ada L."}, Candidate{Name: "Ada L.", Email: "ada@example.com", Phone: "+14155550100"}},
		// Back to a value written before the last change: written again.
		{&Person{Name: "Ada"}, Candidate{Name: "Ada", Email: "ada@example.com", Phone: "+14155550100"}},
		// A new email: written beside the old fields.
		{&Person{Email: "ada@new.example"}, Candidate{Name: "Ada", Email: "ada@new.example", Phone: "+14155550100"}},
	} {
		items := stored(t, now, Input{ApplicationID: "a-1", CandidateID: "c-1", Kind: "note", OccurredAt: at(i), Candidate: tc.person})
		if err := p.Apply(ctx, items); err != nil {
			t.Fatal(err)
		}
		got, err := store.Candidate(ctx, "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != tc.want.Name || got.Email != tc.want.Email || got.Phone != tc.want.Phone {
			t.Errorf("after event %d: %+v, want %+v", i, got, tc.want)
		}
	}
}

// TestProjectorColdCache: a projector that starts over stored applications (a restart)
// takes them for new, finds them stored, and merges: events re-applied change nothing
// and tell no consumer; new ones are added to what is stored.
func TestProjectorColdCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	before, store := newProjector(t, now)
	at := func(h int) string { return now.Add(time.Duration(h-48) * time.Hour).Format(time.RFC3339) }
	in := func(app, ext string, h int, kind string) Input {
		return Input{ApplicationID: app, CandidateID: "c-" + app, Kind: kind, OccurredAt: at(h), Source: "test", ExternalID: ext}
	}
	old := stored(t, now, in("a-1", "1", 0, "application_received"), in("a-2", "2", 0, "application_received"))
	if err := before.Apply(ctx, old); err != nil {
		t.Fatal(err)
	}
	var told []string
	applied := AppliedFunc(func(_ context.Context, apps []Application, _ time.Time) error {
		for _, a := range apps {
			told = append(told, fmt.Sprintf("%s:%d", a.ID, a.EventCount))
		}
		return nil
	})
	after := NewProjector(ProjectorConfig{Store: store, Guard: before.guard, Log: before.log, Now: before.now, Applied: []AppliedFunc{applied}})
	// The overlap re-applies both old events; a-1 also has a new one, a-3 is new.
	items := append(old, stored(t, now, in("a-1", "1b", 1, "rejected"), in("a-3", "3", 0, "application_received"))...)
	if err := after.Apply(ctx, items); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a-1:2", "a-3:1"}; fmt.Sprint(told) != fmt.Sprint(want) {
		t.Errorf("told %v, want %v", told, want)
	}
	for id, want := range map[string]int{"a-1": 2, "a-2": 1, "a-3": 1} {
		app, err := store.Application(ctx, id)
		if err != nil || app.EventCount != want || len(app.Events) != want {
			t.Errorf("%s: %d events (%d listed), %v; want %d", id, app.EventCount, len(app.Events), err, want)
		}
	}
	if app, _ := store.Application(ctx, "a-1"); app.Status != StatusRejected {
		t.Errorf("a-1 is %s, want rejected", app.Status)
	}
}

// TestProjectorTellsInChunks: consumers get at most tellChunk applications a call, and
// a retry after a failure resumes with the chunk that failed.
func TestProjectorTellsInChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	var sizes []int
	failed := false
	applied := AppliedFunc(func(_ context.Context, apps []Application, _ time.Time) error {
		sizes = append(sizes, len(apps))
		if len(sizes) == 2 && !failed {
			failed = true
			return errors.New("the consumer's store is down")
		}
		return nil
	})
	p, _ := newProjector(t, now, applied)
	var inputs []Input
	for i := range tellChunk + 10 {
		inputs = append(inputs, Input{ApplicationID: fmt.Sprintf("a-%04d", i), CandidateID: "c", Kind: "note",
			OccurredAt: now.Add(-time.Hour).Format(time.RFC3339)})
	}
	items := stored(t, now, inputs...)
	if err := p.Apply(ctx, items); err == nil {
		t.Fatal("Apply succeeded although its consumer failed")
	}
	if err := p.Apply(ctx, items); err != nil {
		t.Fatal(err)
	}
	if want := []int{tellChunk, 10, 10}; !slices.Equal(sizes, want) {
		t.Fatalf("consumer called with %v applications, want %v", sizes, want)
	}
}

// TestProjectorCleanStop: after a clean stop, a start reads nothing of the log; after
// a crash (no Close), the next start catches up with what was logged.
func TestProjectorCleanStop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	first, store := newProjector(t, now)
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	in := func(app string) Input {
		return Input{ApplicationID: app, CandidateID: "c-" + app, Kind: "application_received",
			OccurredAt: now.Add(-time.Hour).Format(time.RFC3339), Source: "test", ExternalID: app}
	}
	fed := stored(t, now, in("a-fed"))
	if _, err := store.insert(ctx, fed); err != nil {
		t.Fatal(err)
	}
	first.Feed(fed)
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Logged but never fed: only a catch-up applies it.
	unfed := stored(t, now, in("a-unfed"))
	if _, err := store.insert(ctx, unfed); err != nil {
		t.Fatal(err)
	}
	start := func() {
		t.Helper()
		p := NewProjector(ProjectorConfig{Store: store, Guard: first.guard, Log: first.log, Now: first.now})
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close(ctx) })
	}
	start() // after a clean stop: no catch-up
	if _, err := store.Application(ctx, "a-fed"); err != nil {
		t.Fatalf("the fed application: %v", err)
	}
	if _, err := store.Application(ctx, "a-unfed"); ErrorCode(err) != CodeNotFound {
		t.Fatalf("a start after a clean stop read the log: %v", err)
	}
	// Received before the clean stop's mark yet never applied, which a clean stop rules
	// out: a catch-up that reads it read back beyond that stop.
	older := stored(t, now.Add(-time.Minute), in("a-older"))
	if _, err := store.insert(ctx, older); err != nil {
		t.Fatal(err)
	}
	start() // the previous one never stopped: a crash, so this one catches up
	if _, err := store.Application(ctx, "a-unfed"); err != nil {
		t.Fatalf("a start after a crash did not catch up: %v", err)
	}
	if _, err := store.Application(ctx, "a-older"); ErrorCode(err) != CodeNotFound {
		t.Fatalf("a catch-up read back beyond the last clean stop's mark: %v", err)
	}
}

// TestProjectorTellsWhileStoring: an Apply that creates more than insertChunk
// applications tells its consumers of each chunk stored while the next one is being
// inserted — so the SLA engine's work overlaps the store's — and still only of
// applications already stored; every one is told once.
func TestProjectorTellsWhileStoring(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	const n = 2*insertChunk + insertChunk/2
	var store *Store
	var p *Projector
	told := map[string]int{}
	calls := 0
	applied := func(ctx context.Context, apps []Application, _ time.Time) error {
		calls++
		stored, err := store.applications.CountDocuments(ctx, bson.M{"_id": bson.M{"$in": ids(apps)}})
		if err != nil {
			return err
		}
		if stored != int64(len(apps)) {
			t.Errorf("told of %d applications, %d of them stored", len(apps), stored)
		}
		for _, app := range apps {
			told[app.ID]++
		}
		if calls > 1 {
			return nil
		}
		// The first chunk's consumers run while the second chunk is inserted, and before
		// the third is.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			all, err := store.applications.CountDocuments(ctx, bson.D{})
			if err != nil {
				return err
			}
			if all == n {
				t.Fatalf("all %d applications stored before the consumers were told of any", n)
			}
			if all == 2*insertChunk {
				return nil
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d applications stored while the consumers were told of the first chunk, want %d (the next chunk inserted meanwhile)", all, 2*insertChunk)
			}
		}
	}
	p, store = newProjector(t, now, applied)
	var inputs []Input
	for i := range n {
		id := fmt.Sprintf("chunked-%04d", i)
		inputs = append(inputs, Input{ApplicationID: id, CandidateID: "c-" + id, Kind: "application_received",
			OccurredAt: now.Add(-time.Hour).Format(time.RFC3339), Source: "test", ExternalID: id})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.applyFed(ctx, stored(t, now, inputs...)); err != nil {
		t.Fatal(err)
	}
	if len(told) != n {
		t.Errorf("consumers told of %d applications, want %d", len(told), n)
	}
	for id, k := range told {
		if k != 1 {
			t.Errorf("%s told %d times, want once", id, k)
		}
	}
}

func ids(apps []Application) []string {
	out := make([]string, len(apps))
	for i, app := range apps {
		out[i] = app.ID
	}
	return out
}
