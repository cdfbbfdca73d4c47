package sla

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// memApps is an in-memory Applications.
type memApps struct {
	mu   sync.Mutex
	apps map[string]interactions.Application
}

func (m *memApps) EachApplication(_ context.Context, f func(interactions.Application) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.apps {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

func (m *memApps) JobDepartment(context.Context, string) (string, error) { return "", nil }

func (m *memApps) Application(_ context.Context, id string) (interactions.Application, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	app, ok := m.apps[id]
	if !ok {
		return app, interactions.Errorf(interactions.CodeNotFound, "no application %q", id)
	}
	return app, nil
}

// put stores an application made of events and returns it.
func (m *memApps) put(id string, events ...interactions.Interaction) interactions.Application {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range events {
		events[i].ApplicationID = id
		events[i].CandidateID = "cand-" + id
		if events[i].ID == "" {
			events[i].ID = interactions.NewID()
		}
	}
	interactions.SortEvents(events)
	app := interactions.DeriveApplication(id, events)
	if m.apps == nil {
		m.apps = map[string]interactions.Application{}
	}
	m.apps[id] = app
	return app
}

// recorder is a Consumer that keeps what it is handed.
type recorder struct {
	mu    sync.Mutex
	got   []Fired
	first map[string]time.Time // transition id → when it was handed over
}

func (r *recorder) consume(_ context.Context, fs []Fired) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fs...)
	if r.first == nil {
		r.first = map[string]time.Time{}
	}
	for _, f := range fs {
		r.first[f.ID] = time.Now()
	}
	return nil
}

func (r *recorder) all() []Fired {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Fired(nil), r.got...)
}

// quietLog is the engines' logger in tests.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// startEngine starts an engine on store that reads the time from now and hands what
// fires to consume, after set (an observer, an owner) is applied to its Config; it is
// closed when the test ends.
func startEngine(t *testing.T, store *Store, apps Applications, now func() time.Time, consume Consumer, set ...func(*Config)) *Engine {
	t.Helper()
	cfg := Config{Store: store, Apps: apps, Log: quietLog, Now: now, Consumer: consume}
	for _, f := range set {
		f(&cfg)
	}
	e := NewEngine(cfg)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// newEngine starts an engine on a fresh store with a fast 24x7 first_response policy
// of target, and no applications yet; what fires goes to the recorder.
func newEngine(t *testing.T, target string) (*Store, *memApps, *recorder, *Engine) {
	t.Helper()
	store, apps, rec := NewStore(storagetest.NewDB(t)), &memApps{}, &recorder{}
	seedFastPolicy(t, store, target)
	return store, apps, rec, startEngine(t, store, apps, time.Now, rec.consume)
}

// seedFastPolicy seeds store with a 24x7 first_response policy of target, warning
// half way.
func seedFastPolicy(t *testing.T, store *Store, target string) {
	t.Helper()
	seedHistory(t, store, DefaultCalendar("UTC", ""), target, Calendar24x7, 0.5)
}

// apply tells e that apps changed at now.
func apply(t *testing.T, e *Engine, now time.Time, apps ...interactions.Application) {
	t.Helper()
	if err := e.Applied(context.Background(), apps, now); err != nil {
		t.Fatal(err)
	}
}

func received(kind interactions.Kind, occurred, receivedAt time.Time) interactions.Interaction {
	return interactions.Interaction{Kind: kind, OccurredAt: occurred, ReceivedAt: receivedAt, Direction: interactions.Inbound, Source: "api"}
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEngineFiresOnTime: warning and breach are recorded within milliseconds of their
// time, alert, and are handed over once.
func TestEngineFiresOnTime(t *testing.T) {
	t.Parallel()
	_, apps, rec, e := newEngine(t, "2s")
	now := time.Now().UTC().Truncate(time.Millisecond)
	app := apps.put("live", received(interactions.KindApplicationReceived, now, now))
	apply(t, e, now, app)
	waitFor(t, "warning and breach", func() bool { return len(rec.all()) == 2 })
	for _, f := range rec.all() {
		if !f.Alert {
			t.Errorf("%s: a live transition must alert", f.ID)
		}
		if late := rec.first[f.ID].Sub(f.At); late < 0 || late > 500*time.Millisecond {
			t.Errorf("%s handed over %s after its time", f.ID, late)
		}
	}
	if got := e.Overdue(OverdueFilter{State: StateBreached}); len(got) != 1 || got[0].ApplicationID != "live" {
		t.Fatalf("overdue %+v", got)
	}
}

// TestEngineImportedHistoryDoesNotAlert: a clock already overdue when its events
// arrive is recorded without alerting.
func TestEngineImportedHistoryDoesNotAlert(t *testing.T) {
	t.Parallel()
	store, apps, _, e := newEngine(t, "2s")
	now := time.Now().UTC().Truncate(time.Millisecond)
	app := apps.put("old", received(interactions.KindApplicationReceived, now.Add(-240*time.Hour), now))
	apply(t, e, now, app)
	fired, err := store.Transitions(context.Background(), "old")
	if err != nil {
		t.Fatal(err)
	}
	if len(fired) != 2 {
		t.Fatalf("recorded %+v", fired)
	}
	for _, f := range fired {
		if f.Alert {
			t.Errorf("%s: imported history must not alert", f.ID)
		}
	}
}

// TestEngineRestart: transitions recorded before a restart are not recorded or handed
// over again; those that came due while the engine was down are, once.
func TestEngineRestart(t *testing.T) {
	t.Parallel()
	store, apps, rec, e := newEngine(t, "2s")
	now := time.Now().UTC().Truncate(time.Millisecond)
	app := apps.put("r", received(interactions.KindApplicationReceived, now, now))
	apply(t, e, now, app)
	waitFor(t, "the warning", func() bool { return len(rec.all()) == 1 })
	e.Close()
	time.Sleep(1200 * time.Millisecond) // the breach comes due while nothing runs

	rec2 := &recorder{}
	startEngine(t, store, apps, time.Now, rec2.consume)
	got := rec2.all()
	if len(got) != 1 || got[0].State != StateBreached || !got[0].Alert {
		t.Fatalf("after the restart: %+v", got)
	}
	fired, _ := store.Transitions(context.Background(), "r")
	if len(fired) != 2 {
		t.Fatalf("recorded %d transitions, want 2", len(fired))
	}
}

// TestEngineCleanStop: after a clean stop, a start takes every transition up to the
// stop as recorded without reading them (here, deleted behind its back, they stay
// deleted); after a crash, the next start checks them all and records them again.
func TestEngineCleanStop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, apps, rec, e := newEngine(t, "1s")
	now := time.Now().UTC().Truncate(time.Millisecond)
	app := apps.put("c", received(interactions.KindApplicationReceived, now, now))
	apply(t, e, now, app)
	waitFor(t, "the warning and the breach", func() bool { return len(rec.all()) == 2 })
	e.Close()
	if _, err := store.transitions.DeleteMany(ctx, bson.M{"application_id": "c"}); err != nil {
		t.Fatal(err)
	}
	start := func() *recorder {
		t.Helper()
		r := &recorder{}
		startEngine(t, store, apps, time.Now, r.consume)
		return r
	}
	afterClean := start()
	if fired, _ := store.Transitions(ctx, "c"); len(fired) != 0 || len(afterClean.all()) != 0 {
		t.Fatalf("after a clean stop: %d recorded again, %d handed over; want none", len(fired), len(afterClean.all()))
	}
	// The engine above never stops: to the next start, that is a crash.
	afterCrash := start()
	if fired, _ := store.Transitions(ctx, "c"); len(fired) != 2 || len(afterCrash.all()) != 2 {
		t.Fatalf("after a crash: %d recorded, %d handed over; want both transitions again", len(fired), len(afterCrash.all()))
	}
}

// TestEnginePolicyChangeIsQuiet: transitions a policy change moves into the past are
// recorded without alerting.
func TestEnginePolicyChangeIsQuiet(t *testing.T) {
	t.Parallel()
	store, apps, rec, e := newEngine(t, "1d")
	start := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Minute)
	app := apps.put("pc", received(interactions.KindApplicationReceived, start, start))
	apply(t, e, time.Now(), app)
	if len(rec.all()) != 0 {
		t.Fatalf("nothing is due yet: %+v", rec.all())
	}
	var p Policy
	for _, q := range e.Policies() {
		if q.Metric == MetricFirstResponse {
			p = q
		}
	}
	p.Target = interactions.MustParseDuration("10s")
	if _, err := e.PutPolicy(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got, err := store.Transitions(context.Background(), "pc")
	if err != nil || len(got) != 2 {
		t.Fatalf("recorded %+v, %v", got, err)
	}
	for _, f := range got {
		if f.Alert || !f.Handled {
			t.Errorf("%s: moved into the past by a policy change, must not alert (alert %v, handled %v)", f.ID, f.Alert, f.Handled)
		}
	}
	if len(rec.all()) != 0 {
		t.Errorf("quiet transitions handed to the consumer: %+v", rec.all())
	}
	if n := e.OpenClocks(); n != 1 {
		t.Fatalf("open clocks %d", n)
	}
}

// TestStoreRecordsOnceAndKeepsWhatIsPending: a batch records what is new and reports
// what was recorded before; a transition is pending until marked handled (or recorded
// handled), whichever way it was marked.
func TestStoreRecordsOnceAndKeepsWhatIsPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	f := func(id string, handled bool) Fired {
		return Fired{ID: id, ClockID: id, ApplicationID: "a", State: StateBreached, Handled: handled}
	}
	steps := []struct {
		name        string
		record      []Fired
		wantNew     []bool
		mark        []string
		wantPending []string
	}{
		{"first batch", []Fired{f("t1", false), f("t2", false), f("t3", true)}, []bool{true, true, true}, nil, []string{"t1", "t2"}},
		{"again, with one new", []Fired{f("t2", false), f("t4", false), f("t1", false)}, []bool{false, true, false}, nil, []string{"t1", "t2", "t4"}},
		{"some handled", nil, nil, []string{"t1", "t4"}, []string{"t2"}},
		{"handled twice", nil, nil, []string{"t4", "t2"}, nil},
	}
	for _, s := range steps {
		if s.record != nil {
			isNew, err := store.record(ctx, s.record)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if !slices.Equal(isNew, s.wantNew) {
				t.Errorf("%s: new %v, want %v", s.name, isNew, s.wantNew)
			}
		}
		if err := store.markHandled(ctx, s.mark); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		all, pending, err := store.recorded(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range pending {
			got = append(got, p.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, s.wantPending) {
			t.Errorf("%s: pending %v, want %v", s.name, got, s.wantPending)
		}
		if len(all) != 4 && s.name != "first batch" || len(all) != 3 && s.name == "first batch" {
			t.Errorf("%s: recorded ids %v", s.name, all)
		}
	}
}

// TestEngineBurst: many clocks coming due at once are handed over in a few calls of
// at most handoverChunk, each once; their applications are shown to the observer;
// what the consumer failed on, and what was recorded but never handed over (a crash
// in between), is handed over at the next start, once.
func TestEngineBurst(t *testing.T) {
	t.Parallel()
	const n = 40
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	apps := &memApps{}
	var mu sync.Mutex
	calls, biggest := 0, 0
	handed := map[string]int{}
	var log []Fired
	var failedIDs []string // of the call that failed: the one with b7's breach, once
	consume := func(_ context.Context, fs []Fired) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		biggest = max(biggest, len(fs))
		fail := false
		for _, f := range fs {
			fail = fail || f.ApplicationID == "b7" && f.State == StateBreached && failedIDs == nil
		}
		for _, f := range fs {
			handed[f.ID]++
			log = append(log, f)
			if fail {
				failedIDs = append(failedIDs, f.ID)
			}
		}
		if fail {
			return errors.New("the alerts store is down")
		}
		return nil
	}
	count := func() (total int, twice []string) {
		mu.Lock()
		defer mu.Unlock()
		for id, k := range handed {
			total += k
			if k > 1 {
				twice = append(twice, id)
			}
		}
		return total, twice
	}
	var obsMu sync.Mutex
	breached := map[string]bool{}
	observer := func(app interactions.Application, clocks []Clock, _ time.Time) {
		obsMu.Lock()
		defer obsMu.Unlock()
		for _, c := range clocks {
			if c.State == StateBreached {
				breached[app.ID] = true
			}
		}
	}
	seedFastPolicy(t, store, "1s")
	start := func() *Engine {
		t.Helper()
		return startEngine(t, store, apps, time.Now, consume, func(c *Config) { c.Observer = observer })
	}
	e := start()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var all []interactions.Application
	for i := range n {
		all = append(all, apps.put(fmt.Sprintf("b%d", i), received(interactions.KindApplicationReceived, now, now)))
	}
	apply(t, e, now, all...)
	waitFor(t, "every warning and breach", func() bool { total, _ := count(); return total == 2*n })
	waitFor(t, "the observer to see every breach", func() bool {
		obsMu.Lock()
		defer obsMu.Unlock()
		return len(breached) == n
	})
	e.Close()
	if _, twice := count(); len(twice) > 0 {
		t.Fatalf("handed over twice: %v", twice)
	}
	if biggest > handoverChunk || calls > 4 {
		t.Errorf("%d calls of up to %d transitions; want a few of at most %d", calls, biggest, handoverChunk)
	}

	// A transition recorded, then a crash before its handover.
	lost := Fired{ID: "lost|breached", ClockID: "lost", ApplicationID: "b3", CandidateID: "cand-b3",
		State: StateBreached, Alert: true, At: now}
	if _, err := store.record(ctx, []Fired{lost}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clear(handed)
	log = nil
	mu.Unlock()
	e = start()
	e.Close()
	mu.Lock()
	var got []string
	for _, f := range log {
		got = append(got, f.ID)
	}
	want := append(slices.Clone(failedIDs), lost.ID)
	mu.Unlock()
	slices.Sort(got)
	slices.Sort(want)
	if len(failedIDs) == 0 || !slices.Equal(got, want) {
		t.Fatalf("handed over at the next start: %v, want %v (the lost one and those of the failed call)", got, want)
	}

	// Both were taken this time: nothing is handed over again.
	mu.Lock()
	clear(handed)
	log = nil
	mu.Unlock()
	e = start()
	e.Close()
	if total, _ := count(); total != 0 {
		t.Fatalf("handed over again: %v", handed)
	}
}
