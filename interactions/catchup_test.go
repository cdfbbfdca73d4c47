package interactions

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
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

// TestProjectorCatchUpWritesOnlyChanges: a projector started after a crash (empty
// caches, no clean stop) re-applies the log's tail; what is stored already — the
// applications with every event, the candidates, jobs and contact lookups with every
// detail — is read, not written again, nor handed to consumers, while the events and
// details that are new are written.
func TestProjectorCatchUpWritesOnlyChanges(t *testing.T) {
	t.Parallel()
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
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	at := func(m int) string { return now.Add(time.Duration(m-120) * time.Minute).Format(time.RFC3339) }
	in := func(app, ext string, m int, kind string, person *Person) Input {
		return Input{ApplicationID: app, CandidateID: "c-" + app, Kind: kind, OccurredAt: at(m), Source: "test",
			ExternalID: ext, JobID: "j-1", Job: &JobInfo{Title: "Engineer"}, Candidate: person}
	}
	// More applications than one read asks for, each with its candidate's details.
	var inputs []Input
	n := readChunk + 5
	for i := range n {
		app := fmt.Sprintf("a-%04d", i)
		inputs = append(inputs, in(app, "recv-"+app, 0, "application_received",
			&Person{Name: "Name " + app, Email: app + "@example.com", Phone: fmt.Sprintf("+1415555%04d", i)}))
	}
	old := stored(t, now, inputs...)
	before := NewProjector(ProjectorConfig{Store: store, Guard: guard, Log: quiet, Now: func() time.Time { return now }})
	if err := before.Apply(ctx, old); err != nil {
		t.Fatal(err)
	}

	// The crash: a new projector, caches empty. The overlap brings the old events
	// again, among new ones: a note on a-0001 (the same details), a new name for
	// a-0002's candidate, a second email address of a-0003's candidate, and a new
	// application.
	var told []string
	applied := AppliedFunc(func(_ context.Context, apps []Application, _ time.Time) error {
		for _, a := range apps {
			told = append(told, fmt.Sprintf("%s:%d", a.ID, a.EventCount))
		}
		return nil
	})
	later := now.Add(time.Hour)
	after := NewProjector(ProjectorConfig{Store: store, Guard: guard, Log: quiet, Now: func() time.Time { return later }, Applied: []AppliedFunc{applied}})
	fresh := stored(t, now,
		in("a-0001", "note-1", 10, "note", &Person{Name: "Name a-0001", Email: "a-0001@example.com"}),
		in("a-0002", "note-2", 10, "note", &Person{Name: "Renamed"}),
		in("a-0003", "note-3", 10, "note", &Person{Email: "second@example.com"}),
		in("a-new", "recv-new", 10, "application_received", &Person{Name: "New", Email: "new@example.com"}))
	log.take()
	if err := after.Apply(ctx, append(slices.Clone(old), fresh...)); err != nil {
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
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("writes after the crash:\n%q\nwant\n%q", got, want)
	}
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
		got, err := store.Candidate(ctx, id)
		want.ID = id
		if err != nil || got != want {
			t.Errorf("candidate %s: %+v, %v; want %+v", id, got, err, want)
		}
	}
	if ids, err := store.CandidatesByEmail(ctx, "second@example.com"); err != nil || !slices.Equal(ids, []string{"c-a-0003"}) {
		t.Errorf("second@example.com: %v, %v", ids, err)
	}
	for id, events := range map[string]int{"a-0000": 1, "a-0001": 2, "a-new": 1} {
		app, err := store.Application(ctx, id)
		if err != nil || app.EventCount != events {
			t.Errorf("%s: %d events, %v; want %d", id, app.EventCount, err, events)
		}
	}

	// Everything once more, now cached or stored: nothing is written, nobody told.
	told = nil
	again := NewProjector(ProjectorConfig{Store: store, Guard: guard, Log: quiet, Now: func() time.Time { return later }, Applied: []AppliedFunc{applied}})
	if err := again.Apply(ctx, append(slices.Clone(old), fresh...)); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); len(got) > 0 || len(told) > 0 {
		t.Errorf("a second catch-up wrote %q and told %v", got, told)
	}
}
