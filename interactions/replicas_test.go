package interactions

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// replica is one process's writer and shared projector over a shared database.
type replica struct {
	store     *Store
	projector *Projector
	writer    *Writer

	mu   sync.Mutex
	seen map[string]int // application → events in the latest version handed on
}

func startReplica(t *testing.T, store *Store, owns func(string) bool, from int64) *replica {
	t.Helper()
	ctx := context.Background()
	guard, err := NewTombstones(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{store: store, seen: map[string]int{}}
	seen := func(_ context.Context, apps []Application, _ time.Time) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, app := range apps {
			r.seen[app.ID] = len(app.Events)
		}
		return nil
	}
	r.projector = NewProjector(ProjectorConfig{
		Store: store, Guard: guard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now,
		Applied: []AppliedFunc{seen}, Owns: owns, From: from,
	})
	if err := r.projector.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.writer = NewWriter(WriterConfig{Store: store, Guard: guard, OnCommit: r.projector.Feed})
	t.Cleanup(func() {
		_ = r.writer.Close(ctx)
		_ = r.projector.Close(ctx)
	})
	return r
}

func (r *replica) events(app string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[app]
}

func (r *replica) write(t *testing.T, inputs ...Input) {
	t.Helper()
	if _, err := r.writer.Write(context.Background(), stored(t, time.Now().UTC().Truncate(time.Millisecond), inputs...)); err != nil {
		t.Fatal(err)
	}
}

// appsIn returns n application ids whose partition is even (even true) or odd.
func appsIn(n int, even bool) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		id := fmt.Sprintf("shared-%d", i)
		if (Partition(id)%2 == 0) == even {
			out = append(out, id)
		}
	}
	return out
}

func evenPartition(id string) bool { return Partition(id)%2 == 0 }
func oddPartition(id string) bool  { return Partition(id)%2 == 1 }

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSharedProjectors: two replicas own the even and the odd partitions. Events
// written through either are stored by the owner of their application, and both
// replicas hand every application on to their consumers.
func TestSharedProjectors(t *testing.T) {
	t.Parallel()
	db := storagetest.NewDB(t)
	storeA, storeB := NewStore(db), NewStore(db)
	storeA.Shared, storeB.Shared = true, true
	a := startReplica(t, storeA, evenPartition, 0)
	b := startReplica(t, storeB, oddPartition, 0)
	even, odd := appsIn(3, true), appsIn(3, false)
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	var inputs []Input
	for _, app := range append(append([]string{}, even...), odd...) {
		inputs = append(inputs,
			Input{ApplicationID: app, CandidateID: "c-" + app, Kind: "application_received", OccurredAt: at, Source: "test", ExternalID: "recv-" + app},
			Input{ApplicationID: app, CandidateID: "c-" + app, Kind: "message", Direction: "outbound", OccurredAt: at, Source: "test", ExternalID: "msg-" + app})
	}
	a.write(t, inputs[:len(inputs)/2]...)
	b.write(t, inputs[len(inputs)/2:]...)

	ctx := context.Background()
	for _, app := range append(append([]string{}, even...), odd...) {
		waitFor(t, app+" stored with both events and handed on by both replicas", func() bool {
			stored, err := storeA.Application(ctx, app)
			return err == nil && len(stored.Events) == 2 && a.events(app) == 2 && b.events(app) == 2
		})
	}
	// Both batches settle after tailSettle; the marks then cover them.
	waitFor(t, "the marks pass both batches", func() bool {
		return a.projector.Mark() == 2 && b.projector.Mark() == 2
	})
}

// TestSharedProjectorAcquires: events of partitions nobody owned are applied by the
// replica that acquires them, from the mark their lease carried, before the
// acquisition's follow-up runs.
func TestSharedProjectorAcquires(t *testing.T) {
	t.Parallel()
	db := storagetest.NewDB(t)
	store := NewStore(db)
	store.Shared = true
	var mu sync.Mutex
	owned := map[int]bool{}
	owns := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return owned[Partition(id)]
	}
	r := startReplica(t, store, owns, 0)
	apps := appsIn(4, true)
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for _, app := range apps {
		r.write(t, Input{ApplicationID: app, CandidateID: "c-" + app, Kind: "application_received", OccurredAt: at, Source: "test", ExternalID: "recv-" + app})
	}
	ctx := context.Background()
	time.Sleep(2 * followEvery)
	if _, err := store.Application(ctx, apps[0]); ErrorCode(err) != CodeNotFound {
		t.Fatalf("an application nobody owns was stored: %v", err)
	}
	var parts []int
	mu.Lock()
	for _, app := range apps {
		owned[Partition(app)] = true
		parts = append(parts, Partition(app))
	}
	mu.Unlock()
	done := make(chan []int, 1)
	r.projector.Acquired(parts, 0, func(ctx context.Context) {
		var n []int
		for _, app := range apps {
			got, err := store.Application(ctx, app)
			if err != nil {
				t.Errorf("%s not stored when the follow-up runs: %v", app, err)
				continue
			}
			n = append(n, len(got.Events))
		}
		done <- n
	})
	select {
	case n := <-done:
		if len(n) != len(apps) {
			t.Fatalf("stored %v of %d applications", n, len(apps))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the acquisition's follow-up never ran")
	}
	if err := r.projector.Settled(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSharedMarkWaitsForCatchUp: while acquired partitions are caught up, the mark a
// lease carries is no further than theirs, so that a replica dying meanwhile leaves
// the next owner to apply what it had not.
func TestSharedMarkWaitsForCatchUp(t *testing.T) {
	t.Parallel()
	store := NewStore(storagetest.NewDB(t))
	store.Shared = true
	r := startReplica(t, store, func(string) bool { return true }, 5)
	if m := r.projector.Mark(); m != 5 {
		t.Fatalf("mark %d at start, want 5", m)
	}
	release := make(chan struct{})
	r.projector.requests <- func() { <-release } // the projector is busy
	done := make(chan struct{})
	r.projector.Acquired([]int{1, 2}, 2, func(context.Context) { close(done) })
	if m := r.projector.Mark(); m != 2 {
		t.Errorf("mark %d while catching up from 2, want 2", m)
	}
	close(release)
	<-done
	if m := r.projector.Mark(); m != 5 {
		t.Errorf("mark %d after catching up, want 5", m)
	}
}

// TestSharedNurture: a contact on an application one replica owns reaches the
// candidate's nurture document, which the other owns, whichever replica stored it —
// also when it was stored just before the candidate's first pool_added — and both
// replicas hand the nurture document on with it.
func TestSharedNurture(t *testing.T) {
	t.Parallel()
	db := storagetest.NewDB(t)
	storeA, storeB := NewStore(db), NewStore(db)
	storeA.Shared, storeB.Shared = true, true
	a := startReplica(t, storeA, evenPartition, 0)
	b := startReplica(t, storeB, oddPartition, 0)
	// Candidates whose nurture document is A's, with applications that are B's.
	var cands []string
	for i := 0; len(cands) < 2; i++ {
		if c := fmt.Sprintf("cand-%d", i); evenPartition(NurtureID(c)) {
			cands = append(cands, c)
		}
	}
	apps := appsIn(2, false)
	at := func(m int) string {
		return time.Now().UTC().Add(time.Duration(m-60) * time.Minute).Format(time.RFC3339)
	}
	added := func(c string) Input {
		return Input{CandidateID: c, Kind: "pool_added", PoolID: "leads", OccurredAt: at(0), Source: "test", ExternalID: "added-" + c}
	}
	touch := func(c, app string) Input {
		return Input{ApplicationID: app, CandidateID: c, Kind: "message", Direction: "outbound", OccurredAt: at(10), Source: "test", ExternalID: "touch-" + c}
	}
	ctx := context.Background()
	nurtured := func(c string) bool {
		doc, err := storeA.Application(ctx, NurtureID(c))
		return err == nil && len(doc.Events) == 2 && a.events(NurtureID(c)) == 2 && b.events(NurtureID(c)) == 2
	}
	// Pooled first, then contacted through the application's owner.
	b.write(t, added(cands[0]))
	waitFor(t, "the nurture document", func() bool { return a.events(NurtureID(cands[0])) == 1 })
	b.write(t, touch(cands[0], apps[0]))
	// Contacted through the nurture document's owner, at once pooled through it.
	a.write(t, touch(cands[1], apps[1]))
	a.write(t, added(cands[1]))
	for _, c := range cands {
		waitFor(t, c+"'s contact in their nurture document, handed on by both replicas", func() bool { return nurtured(c) })
	}
	for _, app := range apps {
		waitFor(t, app+" stored by its owner", func() bool { return b.events(app) == 1 && a.events(app) == 1 })
	}
}

// TestSharedNurtureAcquired: the replica that acquires a nurture document's partition
// (its owner died) catches the document up with the contacts of the candidate's
// applications in other partitions, not only with the partition's own events.
func TestSharedNurtureAcquired(t *testing.T) {
	t.Parallel()
	store := NewStore(storagetest.NewDB(t))
	store.Shared = true
	app := appsIn(1, false)[0]
	cand := "cand-0"
	for i := 0; !evenPartition(NurtureID(cand)); i++ {
		cand = fmt.Sprintf("cand-%d", i)
	}
	var mu sync.Mutex
	nurtureOwned := true
	owns := func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return id == app || (nurtureOwned && id == NurtureID(cand))
	}
	setOwned := func(v bool) {
		mu.Lock()
		nurtureOwned = v
		mu.Unlock()
	}
	r := startReplica(t, store, owns, 0)
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	ctx := context.Background()
	r.write(t, Input{CandidateID: cand, Kind: "pool_added", PoolID: "leads", OccurredAt: at, Source: "test", ExternalID: "added"})
	waitFor(t, "the nurture document stored", func() bool { return r.events(NurtureID(cand)) == 1 })
	// The nurture document's partition is lost; a contact comes meanwhile.
	setOwned(false)
	part := Partition(NurtureID(cand))
	r.projector.Lost([]int{part})
	r.write(t, Input{ApplicationID: app, CandidateID: cand, Kind: "call", Direction: "outbound", OccurredAt: at, Source: "test", ExternalID: "touch"})
	waitFor(t, "the application stored", func() bool { return r.events(app) == 1 })
	if doc, err := store.Application(ctx, NurtureID(cand)); err != nil || len(doc.Events) != 1 {
		t.Fatalf("the nurture document changed while nobody owned it: %+v %v", doc, err)
	}
	setOwned(true)
	done := make(chan int, 1)
	r.projector.Acquired([]int{part}, 0, func(ctx context.Context) {
		doc, err := store.Application(ctx, NurtureID(cand))
		if err != nil {
			t.Errorf("nurture document: %v", err)
		}
		done <- len(doc.Events)
	})
	select {
	case n := <-done:
		if n != 2 {
			t.Fatalf("nurture document with %d events after the acquisition, want 2", n)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the acquisition's follow-up never ran")
	}
}
