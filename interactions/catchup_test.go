package interactions

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// writeLog records the documents written to derived state's collections, as
// "<collection> <_id or filter>" per document of every insert, update and
// findAndModify sent.
type writeLog struct {
	mu     sync.Mutex
	writes []string
}

func (w *writeLog) started(_ context.Context, e *event.CommandStartedEvent) {
	var docs []string
	switch e.CommandName {
	case "insert":
		for _, d := range arrayOf(e.Command, "documents") {
			docs = append(docs, fmt.Sprint(d.Document().Lookup("_id")))
		}
	case "update":
		for _, d := range arrayOf(e.Command, "updates") {
			docs = append(docs, d.Document().Lookup("q").String())
		}
	case "findAndModify":
		docs = append(docs, e.Command.Lookup("query").String())
	default:
		return
	}
	coll, _ := e.Command.Lookup(e.CommandName).StringValueOK()
	if !slices.Contains([]string{collApplications, collCandidates, collJobs, collContacts}, coll) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range docs {
		w.writes = append(w.writes, coll+" "+d)
	}
}

func arrayOf(cmd bson.Raw, key string) []bson.RawValue {
	arr, ok := cmd.Lookup(key).ArrayOK()
	if !ok {
		return nil
	}
	vals, _ := arr.Values()
	return vals
}

func (w *writeLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.writes
	w.writes = nil
	slices.Sort(out)
	return out
}

// crashScenario is a store holding what a projector applied before a crash: more
// applications than one read asks for, each with its candidate's details and the job,
// and the log to apply after it — the old events again (a catch-up's overlap) and new
// ones: a note on a-0001 (the same details), a new name for a-0002's candidate, a
// second email address of a-0003's candidate, and a new application.
type crashScenario struct {
	store      *Store
	guard      *Tombstones
	log        *writeLog
	old, fresh []Interaction
}

func newCrashScenario(t *testing.T, now time.Time) crashScenario {
	t.Helper()
	ctx := context.Background()
	log := &writeLog{}
	client, err := mongo.Connect(options.Client().ApplyURI(storagetest.URI(t)).
		SetMonitor(&event.CommandMonitor{Started: log.started}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	store := NewStore(client.Database(storagetest.DBName(t)))
	guard, err := NewTombstones(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	at := func(m int) string { return now.Add(time.Duration(m-120) * time.Minute).Format(time.RFC3339) }
	in := func(app, ext string, m int, kind string, person *Person) Input {
		return Input{ApplicationID: app, CandidateID: "c-" + app, Kind: kind, OccurredAt: at(m), Source: "test",
			ExternalID: ext, JobID: "j-1", Job: &JobInfo{Title: "Engineer"}, Candidate: person}
	}
	var inputs []Input
	for i := range readChunk + 5 {
		app := fmt.Sprintf("a-%04d", i)
		inputs = append(inputs, in(app, "recv-"+app, 0, "application_received",
			&Person{Name: "Name " + app, Email: app + "@example.com", Phone: fmt.Sprintf("+1415555%04d", i)}))
	}
	sc := crashScenario{store: store, guard: guard, log: log, old: stored(t, now, inputs...)}
	before := NewProjector(ProjectorConfig{Store: store, Guard: guard, Log: quietLog(), Now: func() time.Time { return now }})
	if err := before.Apply(ctx, sc.old); err != nil {
		t.Fatal(err)
	}
	sc.fresh = stored(t, now,
		in("a-0001", "note-1", 10, "note", &Person{Name: "Name a-0001", Email: "a-0001@example.com"}),
		in("a-0002", "note-2", 10, "note", &Person{Name: "Renamed"}),
		in("a-0003", "note-3", 10, "note", &Person{Email: "second@example.com"}),
		in("a-new", "recv-new", 10, "application_received", &Person{Name: "New", Email: "new@example.com"}))
	log.take()
	return sc
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// restart returns a projector over the scenario's store with empty caches, telling
// told of what it hands on.
func (sc crashScenario) restart(now time.Time, told *[]string) *Projector {
	applied := AppliedFunc(func(_ context.Context, apps []Application, _ time.Time) error {
		for _, a := range apps {
			*told = append(*told, fmt.Sprintf("%s:%d", a.ID, a.EventCount))
		}
		return nil
	})
	return NewProjector(ProjectorConfig{Store: sc.store, Guard: sc.guard, Log: quietLog(), Now: func() time.Time { return now }, Applied: []AppliedFunc{applied}})
}

// check verifies the state the scenario's new events leave, whichever way applied.
func (sc crashScenario) check(t *testing.T, told []string) {
	t.Helper()
	ctx := context.Background()
	slices.Sort(told)
	if want := []string{"a-0001:2", "a-0002:2", "a-0003:2", "a-new:1"}; !slices.Equal(told, want) {
		t.Errorf("told %v, want %v", told, want)
	}
	for id, want := range map[string]Candidate{
		"c-a-0001": {Name: "Name a-0001", Email: "a-0001@example.com", Phone: "+14155550001"},
		"c-a-0002": {Name: "Renamed", Email: "a-0002@example.com", Phone: "+14155550002"},
		"c-a-0003": {Name: "Name a-0003", Email: "second@example.com", Phone: "+14155550003"},
		"c-a-new":  {Name: "New", Email: "new@example.com"},
	} {
		got, err := sc.store.Candidate(ctx, id)
		want.ID = id
		if err != nil || got != want {
			t.Errorf("candidate %s: %+v, %v; want %+v", id, got, err, want)
		}
	}
	for email, want := range map[string]string{"second@example.com": "c-a-0003", "a-0003@example.com": "c-a-0003", "new@example.com": "c-a-new"} {
		if ids, err := sc.store.CandidatesByEmail(ctx, email); err != nil || !slices.Equal(ids, []string{want}) {
			t.Errorf("%s: %v, %v; want %s", email, ids, err, want)
		}
	}
	for id, events := range map[string]int{"a-0000": 1, "a-0001": 2, "a-0003": 2, "a-new": 1} {
		app, err := sc.store.Application(ctx, id)
		if err != nil || app.EventCount != events {
			t.Errorf("%s: %d events, %v; want %d", id, app.EventCount, err, events)
		}
	}
}

// TestProjectorCatchUpWritesOnlyChanges: a projector started after a crash (empty
// caches, no clean stop) re-applies the log's tail; what is stored already — the
// applications with every event, the candidates, jobs and contact lookups with every
// detail — is read, not written again, nor handed to consumers, while the events and
// details that are new are written.
func TestProjectorCatchUpWritesOnlyChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	sc := newCrashScenario(t, now)
	var told []string
	after := sc.restart(now.Add(time.Hour), &told)
	if err := after.Apply(ctx, append(slices.Clone(sc.old), sc.fresh...)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`applications "a-new"`,
		`applications {"_id": "a-0001"}`,
		`applications {"_id": "a-0002"}`,
		`applications {"_id": "a-0003"}`,
		`candidates "c-a-new"`,
		`candidates {"_id": "c-a-0002"}`,
		`candidates {"_id": "c-a-0003"}`,
		`contacts "email:new@example.com"`,
		`contacts "email:second@example.com"`,
	}
	if got := sc.log.take(); !slices.Equal(got, want) {
		t.Errorf("writes after the crash:\n%q\nwant\n%q", got, want)
	}
	sc.check(t, told)

	// Everything once more, now cached or stored: nothing is written, nobody told.
	told = nil
	again := sc.restart(now.Add(time.Hour), &told)
	if err := again.Apply(ctx, append(slices.Clone(sc.old), sc.fresh...)); err != nil {
		t.Fatal(err)
	}
	if got := sc.log.take(); len(got) > 0 || len(told) > 0 {
		t.Errorf("a second catch-up wrote %q and told %v", got, told)
	}
}

// TestProjectorFedAfterRestart: a batch fed by the writer to a projector that has
// not cached what it names (after a restart) inserts first; of what it finds stored
// already, it updates only what the batch changes.
func TestProjectorFedAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	sc := newCrashScenario(t, now)
	var told []string
	after := sc.restart(now.Add(time.Hour), &told)
	if err := after.applyFed(ctx, sc.fresh); err != nil {
		t.Fatal(err)
	}
	var updates []string
	for _, w := range sc.log.take() {
		if strings.Contains(w, "{") { // an update or replace by _id, not an insert
			updates = append(updates, w)
		}
	}
	want := []string{
		`applications {"_id": "a-0001"}`,
		`applications {"_id": "a-0002"}`,
		`applications {"_id": "a-0003"}`,
		`candidates {"_id": "c-a-0002"}`,
		`candidates {"_id": "c-a-0003"}`,
	}
	if !slices.Equal(updates, want) {
		t.Errorf("updates:\n%q\nwant\n%q", updates, want)
	}
	sc.check(t, told)
}
