package sla

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// countingApps counts the scans of every application.
type countingApps struct {
	*memApps
	scans atomic.Int32
}

func (c *countingApps) EachApplication(ctx context.Context, f func(interactions.Application) error) error {
	c.scans.Add(1)
	return c.memApps.EachApplication(ctx, f)
}

// projectorMark stands for the projector's stored mark and clean stop, and for the
// log's record of when each application last received an interaction.
type projectorMark struct {
	mu       sync.Mutex
	mark     time.Time
	clean    bool
	delta    bool                 // engines get ChangedSince
	received map[string]time.Time // application id → its last interaction's arrival
}

func (m *projectorMark) changedSince(_ context.Context, since time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id, at := range m.received {
		if !at.Before(since) {
			out = append(out, id)
		}
	}
	return out, nil
}

// receive notes that the application received an interaction at at, and moves the
// mark there, the projector running (not clean).
func (m *projectorMark) receive(id string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.received == nil {
		m.received = map[string]time.Time{}
	}
	m.received[id] = at
	m.mark, m.clean = at, false
}

func (m *projectorMark) get(context.Context) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mark, m.clean, nil
}

func (m *projectorMark) set(mark time.Time, clean bool) {
	m.mu.Lock()
	m.mark, m.clean = mark, clean
	m.mu.Unlock()
}

// clockBook is a book the observer fills: each application's clock ids and states
// as last observed.
type clockBook struct {
	mu   sync.Mutex
	seen map[string]string
}

func (b *clockBook) observe(app interactions.Application, clocks []Clock, now time.Time) {
	var parts []string
	for _, c := range clocks {
		parts = append(parts, c.ClockID+"="+string(c.StateAt(now)))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen == nil {
		b.seen = map[string]string{}
	}
	b.seen[app.ID] = strings.Join(parts, ",")
}

func (b *clockBook) SaveCheckpoint(w *CheckpointWriter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w.Uint(uint64(len(b.seen)))
	for _, id := range slices.Sorted(maps.Keys(b.seen)) {
		w.String(id)
		w.String(b.seen[id])
	}
}

func (b *clockBook) LoadCheckpoint(r *CheckpointReader) (func(), error) {
	seen := map[string]string{}
	n := r.Len()
	for range n {
		id := r.String()
		seen[id] = r.String()
	}
	return func() {
		b.mu.Lock()
		b.seen = seen
		b.mu.Unlock()
	}, r.Err()
}

func (b *clockBook) snapshot() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.seen)
}

// checkpointed is one engine of a checkpoint test: its applications, book and
// consumer.
type checkpointed struct {
	e    *Engine
	apps *countingApps
	book *clockBook
	rec  *recorder
}

// startCheckpointed starts an engine that saves and loads checkpoints, with mark as
// the projector's; it is not closed when the test ends (a test may crash it).
func startCheckpointed(t *testing.T, store *Store, apps *memApps, mark *projectorMark) checkpointed {
	t.Helper()
	c := checkpointed{apps: &countingApps{memApps: apps}, book: &clockBook{}, rec: &recorder{}}
	cfg := Config{Store: store, Apps: c.apps, Log: quietLog, Now: time.Now, Consumer: c.rec.consume,
		Observer: c.book.observe, Books: []Checkpointed{c.book}}
	if mark != nil {
		cfg.Mark = mark.get
		if mark.delta {
			cfg.ChangedSince = mark.changedSince
		}
	}
	c.e = NewEngine(cfg)
	if err := c.e.StartInBackground(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "detecting", c.e.Detecting)
	return c
}

// allClocks lists every open clock, by the recruiters of the test's applications.
func allClocks(e *Engine) []OverdueItem {
	return e.DueBy([]string{"r1", "r2"}, time.Now().Add(10000*time.Hour))
}

// checkpointApps stores applications of several shapes: open clocks of two
// recruiters, one whose starting interaction's id is not a UUID (a rare clock), one
// overdue with its transitions recorded, and one without open clocks.
func checkpointApps(apps *memApps, now time.Time) []interactions.Application {
	var out []interactions.Application
	for i, id := range []string{"a1", "a2", "a3"} {
		ev := received(interactions.KindApplicationReceived, now.Add(-time.Duration(i)*time.Minute), now)
		ev.RecruiterID = []string{"r1", "r2"}[i%2]
		out = append(out, apps.put(id, ev))
	}
	rare := received(interactions.KindApplicationReceived, now, now)
	rare.ID, rare.RecruiterID = "not-a-uuid", "r1"
	out = append(out, apps.put("rare", rare))
	late := received(interactions.KindApplicationReceived, now.Add(-300*time.Hour), now)
	late.RecruiterID = "r2"
	out = append(out, apps.put("late", late))
	done := received(interactions.KindApplicationReceived, now.Add(-time.Hour), now)
	reply := received(interactions.KindMessage, now.Add(-30*time.Minute), now)
	reply.Direction = interactions.Outbound
	out = append(out, apps.put("done", done, reply))
	return out
}

// stoppedClean is the first run of a restart: an engine on a fresh store with a
// 100-hour policy tracks checkpointApps at now, and stops clean, as the projector
// does (mark set at now).
func stoppedClean(t *testing.T, mark *projectorMark) (*Store, *memApps, checkpointed, time.Time) {
	t.Helper()
	store, apps := NewStore(storagetest.NewDB(t)), &memApps{}
	seedFastPolicy(t, store, "100h")
	first := startCheckpointed(t, store, apps, mark)
	now := time.Now().UTC().Truncate(time.Millisecond)
	apply(t, first.e, now, checkpointApps(apps, now)...)
	mark.set(now, true)
	first.e.Close()
	return store, apps, first, now
}

// TestCheckpointCleanRestart: a clean stop saves a checkpoint, and the next start
// uses it — no application is read — with exactly the open clocks, overdue list and
// book a full rebuild yields; its own clean stop saves the next one.
func TestCheckpointCleanRestart(t *testing.T) {
	t.Parallel()
	mark := &projectorMark{}
	store, apps, _, _ := stoppedClean(t, mark)

	second := startCheckpointed(t, store, apps, mark)
	defer second.e.Close()
	if n := second.apps.scans.Load(); n != 0 {
		t.Fatalf("the start from a checkpoint read every application %d times", n)
	}
	// A full rebuild of the same applications, for comparison.
	rebuilt := startCheckpointed(t, store, apps, nil)
	defer rebuilt.e.Close()
	if rebuilt.apps.scans.Load() != 1 {
		t.Fatal("the engine without a mark did not rebuild")
	}
	if got, want := second.e.OpenClocks(), rebuilt.e.OpenClocks(); got != want || got < 5 {
		t.Fatalf("open clocks: %d from the checkpoint, %d rebuilt, want the same, at least 5", got, want)
	}
	got, want := allClocks(second.e), allClocks(rebuilt.e)
	for i := range got {
		got[i].OverdueSeconds, want[i].OverdueSeconds = 0, 0
	}
	if !slices.EqualFunc(got, want, func(a, b OverdueItem) bool {
		return a.ClockID == b.ClockID && a.PolicyID == b.PolicyID && a.RecruiterID == b.RecruiterID &&
			a.StartedAt.Equal(b.StartedAt) && a.WarnAt.Equal(b.WarnAt) && a.DueAt.Equal(b.DueAt) &&
			a.StartedBy == b.StartedBy && a.StartReceivedAt.Equal(b.StartReceivedAt) && a.State == b.State
	}) {
		t.Errorf("clocks from the checkpoint:\n%+v\nrebuilt:\n%+v", got, want)
	}
	if g, w := len(second.e.Overdue(OverdueFilter{})), len(rebuilt.e.Overdue(OverdueFilter{})); g != w || g != 1 {
		t.Errorf("overdue: %d from the checkpoint, %d rebuilt, want 1", g, w)
	}
	if g, w := second.book.snapshot(), rebuilt.book.snapshot(); !maps.Equal(g, w) || len(g) != 6 {
		t.Errorf("book from the checkpoint:\n%v\nrebuilt:\n%v", g, w)
	}
	for _, c := range []checkpointed{second, rebuilt} {
		if fs := c.rec.all(); len(fs) != 0 {
			t.Errorf("a restart handed over %+v again", fs)
		}
	}

	// The start from a checkpoint saves the next one when it stops cleanly.
	rebuilt.e.Close()
	second.e.Close()
	third := startCheckpointed(t, store, apps, mark)
	defer third.e.Close()
	if n := third.apps.scans.Load(); n != 0 || third.e.OpenClocks() != rebuilt.e.OpenClocks() {
		t.Fatalf("third start: %d scans, %d open clocks", n, third.e.OpenClocks())
	}
}

// TestCheckpointNotUsed: a start rebuilds from every application when the checkpoint
// may be stale: the policies changed, the projector applied more (its mark moved) or
// did not stop clean, or the last run crashed (kill -9) after starting from the
// checkpoint.
func TestCheckpointNotUsed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		after func(t *testing.T, store *Store, apps *memApps, mark *projectorMark)
	}{
		{"policy changed", func(t *testing.T, store *Store, _ *memApps, _ *projectorMark) {
			seedFastPolicy(t, store, "50h")
		}},
		{"log moved on", func(t *testing.T, _ *Store, apps *memApps, mark *projectorMark) {
			apps.put("a1", received(interactions.KindApplicationReceived, time.Now(), time.Now()),
				received(interactions.KindWithdrawn, time.Now(), time.Now()))
			mark.set(time.Now().Add(time.Second), true)
		}},
		{"projector not clean", func(t *testing.T, _ *Store, _ *memApps, mark *projectorMark) {
			m, _, _ := mark.get(context.Background())
			mark.set(m, false)
		}},
		{"crash after a start from it", func(t *testing.T, store *Store, apps *memApps, mark *projectorMark) {
			crashed := startCheckpointed(t, store, apps, mark)
			if crashed.apps.scans.Load() != 0 {
				t.Fatal("the start after the clean stop did not use the checkpoint")
			}
			// Killed: never closed. The projector applied more meanwhile, and saved
			// its mark; the application changed.
			apps.put("a1", received(interactions.KindApplicationReceived, time.Now(), time.Now()),
				received(interactions.KindWithdrawn, time.Now(), time.Now()))
			t.Cleanup(func() { crashed.e.closeOnce.Do(func() { close(crashed.e.stopping) }) })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mark := &projectorMark{}
			store, apps, _, _ := stoppedClean(t, mark)

			tc.after(t, store, apps, mark)
			next := startCheckpointed(t, store, apps, mark)
			defer next.e.Close()
			if n := next.apps.scans.Load(); n != 1 {
				t.Fatalf("%d scans of the applications, want a rebuild", n)
			}
			rebuilt := startCheckpointed(t, store, apps, nil)
			defer rebuilt.e.Close()
			if g, w := next.e.OpenClocks(), rebuilt.e.OpenClocks(); g != w {
				t.Errorf("open clocks %d, a full rebuild has %d", g, w)
			}
			if g, w := next.book.snapshot(), rebuilt.book.snapshot(); !maps.Equal(g, w) {
				t.Errorf("book:\n%v\nrebuilt:\n%v", g, w)
			}
		})
	}
}

// TestCheckpointDueWhileDown: a clock that fell due while the engine was down is
// recorded and handed over once by the start from the checkpoint — and the book
// shows it breached — and not again by the next start; a clock that existed before
// the stop and falls due just after the restart alerts on time.
func TestCheckpointDueWhileDown(t *testing.T) {
	t.Parallel()
	store, apps := NewStore(storagetest.NewDB(t)), &memApps{}
	seedFastPolicy(t, store, "2s")
	mark := &projectorMark{}
	first := startCheckpointed(t, store, apps, mark)
	now := time.Now().UTC().Truncate(time.Millisecond)
	down := apps.put("down", received(interactions.KindApplicationReceived, now, now))
	apply(t, first.e, now, down)
	time.Sleep(1500 * time.Millisecond)
	later := time.Now().UTC().Truncate(time.Millisecond)
	soon := apps.put("soon", received(interactions.KindApplicationReceived, later, later))
	apply(t, first.e, later, soon)
	mark.set(later, true)
	first.e.Close()
	if fs := first.rec.all(); len(fs) != 1 || fs[0].ApplicationID != "down" || fs[0].State != StateWarning {
		t.Fatalf("before the stop: %+v, want the warning of down", fs)
	}

	time.Sleep(time.Until(now.Add(2100 * time.Millisecond))) // down past the breach of "down"
	second := startCheckpointed(t, store, apps, mark)
	defer second.e.Close()
	if n := second.apps.scans.Load(); n != 0 {
		t.Fatalf("%d scans: the checkpoint was not used", n)
	}
	clock := "down/first_response/" + down.Events[0].ID
	if fs := second.rec.all(); len(fs) != 1 || fs[0].ID != clock+"|breached" || !fs[0].Alert || fs[0].CandidateID != "cand-down" {
		t.Fatalf("handed over %+v, want the breach of down once", fs)
	}
	if got := second.book.snapshot()["down"]; got != clock+"=breached" {
		t.Errorf("book after the start: %q, want the clock breached", got)
	}
	waitFor(t, "the breach of soon", func() bool { return len(second.rec.all()) == 3 })
	for _, f := range second.rec.all()[1:] {
		if f.ApplicationID != "soon" || !f.Alert {
			t.Errorf("after the restart: %+v", f)
		}
		if late := second.rec.first[f.ID].Sub(f.At); late < 0 || late > time.Second {
			t.Errorf("%s handed over %s after its time", f.ID, late)
		}
	}
	second.e.Close()

	third := startCheckpointed(t, store, apps, mark)
	defer third.e.Close()
	if third.apps.scans.Load() != 0 {
		t.Fatal("the third start did not use the checkpoint")
	}
	time.Sleep(50 * time.Millisecond)
	if fs := third.rec.all(); len(fs) != 0 {
		t.Errorf("the next start handed over %+v again", fs)
	}
}

// TestCheckpointAfterCrash: after a crash (kill -9) of a run that started from a
// checkpoint, the next start uses that checkpoint with only the applications that
// received interactions since its mark derived anew — no scan — and ends with the
// clocks and book a full rebuild gives, handing nothing over again.
func TestCheckpointAfterCrash(t *testing.T) {
	t.Parallel()
	mark := &projectorMark{delta: true}
	store, apps, first, now := stoppedClean(t, mark)
	saved := first.book.snapshot()

	crashed := startCheckpointed(t, store, apps, mark)
	if crashed.apps.scans.Load() != 0 {
		t.Fatal("the start after the clean stop did not use the checkpoint")
	}
	// While it runs: a1 is withdrawn (its clock stops), n1 arrives open, n2 arrives
	// already breached (its transitions are recorded), and late gets a reply.
	later := now.Add(time.Second)
	ev := func(kind interactions.Kind, at time.Time, dir interactions.Direction) interactions.Interaction {
		e := received(kind, at, later)
		e.Direction, e.RecruiterID = dir, "r1"
		return e
	}
	changed := []interactions.Application{
		apps.put("a1", apps.apps["a1"].Events[0], ev(interactions.KindWithdrawn, later, interactions.Inbound)),
		apps.put("n1", ev(interactions.KindApplicationReceived, later, interactions.Inbound)),
		apps.put("n2", ev(interactions.KindApplicationReceived, later.Add(-400*time.Hour), interactions.Inbound)),
		apps.put("late", apps.apps["late"].Events[0], ev(interactions.KindMessage, later, interactions.Outbound)),
	}
	apply(t, crashed.e, later, changed...)
	for _, a := range changed {
		mark.receive(a.ID, later)
	}
	// Killed: never closed.
	t.Cleanup(func() { crashed.e.closeOnce.Do(func() { close(crashed.e.stopping) }) })

	next := startCheckpointed(t, store, apps, mark)
	defer next.e.Close()
	if n := next.apps.scans.Load(); n != 0 {
		t.Fatalf("%d scans of the applications after the crash, want the checkpoint and the changes", n)
	}
	rebuilt := startCheckpointed(t, store, apps, &projectorMark{})
	defer rebuilt.e.Close()
	if rebuilt.apps.scans.Load() != 1 {
		t.Fatal("no full rebuild to compare with")
	}
	got, want := allClocks(next.e), allClocks(rebuilt.e)
	gotIDs, wantIDs := make([]string, len(got)), make([]string, len(want))
	for i := range got {
		gotIDs[i] = got[i].ClockID + "@" + got[i].DueAt.String()
	}
	for i := range want {
		wantIDs[i] = want[i].ClockID + "@" + want[i].DueAt.String()
	}
	if !slices.Equal(gotIDs, wantIDs) || next.e.OpenClocks() != rebuilt.e.OpenClocks() {
		t.Errorf("clocks after the crash:\n%v\nrebuilt:\n%v", gotIDs, wantIDs)
	}
	if g, w := next.book.snapshot(), rebuilt.book.snapshot(); !maps.Equal(g, w) || g["n1"] == "" || g["a1"] == saved["a1"] {
		t.Errorf("book after the crash:\n%v\nrebuilt:\n%v", g, w)
	}
	if fs := next.rec.all(); len(fs) != 0 {
		t.Errorf("the start after the crash handed over %+v again", fs)
	}
}

// FuzzReadClocks: whatever the bytes, reading the engine's part of a checkpoint
// fails or yields applications whose clocks an engine can schedule.
func FuzzReadClocks(f *testing.F) {
	e := NewEngine(Config{Log: quietLog, Now: time.Now})
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	apps := &memApps{}
	for _, app := range checkpointApps(apps, now) {
		clocks := Derive(app.Events, Env{Policies: DefaultPolicies(), Calendars: map[string]BusinessClock{CalendarBusiness: TwentyFourSeven(), Calendar24x7: TwentyFourSeven()}}, now)
		e.track(app, clocks, now, true, nil)
	}
	w := &CheckpointWriter{}
	e.saveClocks(w)
	f.Add(w.Bytes())
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := NewEngine(Config{Log: quietLog, Now: time.Now})
		_ = readClocks(NewCheckpointReader(data), func(a *savedApp) {
			e.track(interactions.Application{ID: a.id, RecruiterID: a.recruiter}, a.clocks, now, false, nil)
		})
	})
}

// TestCheckpointAfterCrashHandsOverPending: transitions a crashed run recorded but
// never handed over (its consumer failed) are handed over, once, by the start after
// the crash from the last clean stop's checkpoint.
func TestCheckpointAfterCrashHandsOverPending(t *testing.T) {
	t.Parallel()
	store, apps := NewStore(storagetest.NewDB(t)), &memApps{}
	seedFastPolicy(t, store, "2s")
	mark := &projectorMark{delta: true}
	first := startCheckpointed(t, store, apps, mark)
	mark.set(time.Now().Add(-time.Second), true)
	first.e.Close() // nothing open: an empty checkpoint

	failing := func(context.Context, []Fired) error { return errors.New("the pipeline is down") }
	crashed := NewEngine(Config{Store: store, Apps: apps, Log: quietLog, Now: time.Now, Consumer: failing,
		Mark: mark.get, ChangedSince: mark.changedSince})
	if err := crashed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { crashed.closeOnce.Do(func() { close(crashed.stopping) }) }) // killed: never closed
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := apps.put("p", received(interactions.KindApplicationReceived, now, now))
	apply(t, crashed, now, p)
	mark.receive("p", now)
	waitFor(t, "the breach recorded", func() bool {
		fs, err := store.Transitions(context.Background(), "p")
		return err == nil && len(fs) == 2
	})

	next := startCheckpointed(t, store, apps, mark)
	defer next.e.Close()
	if next.apps.scans.Load() != 0 {
		t.Fatal("the start after the crash did not use the checkpoint")
	}
	time.Sleep(50 * time.Millisecond)
	var ids []string
	for _, f := range next.rec.all() {
		ids = append(ids, string(f.State))
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"breached", "warning"}) {
		t.Errorf("handed over after the crash: %v, want the warning and the breach once", ids)
	}
}

// heldApps holds every read of one application until its gate opens.
type heldApps struct {
	*countingApps
	gate chan struct{}
}

func (h heldApps) Application(ctx context.Context, id string) (interactions.Application, error) {
	<-h.gate
	return h.countingApps.Application(ctx, id)
}

// TestCheckpointAfterCrashStaleClock: an application withdrawn during a run that then
// crashed has its clock open in the checkpoint; the start after the crash must not
// let that clock fire while the application is read again.
func TestCheckpointAfterCrashStaleClock(t *testing.T) {
	t.Parallel()
	store, apps := NewStore(storagetest.NewDB(t)), &memApps{}
	seedFastPolicy(t, store, "2s")
	mark := &projectorMark{delta: true}
	first := startCheckpointed(t, store, apps, mark)
	now := time.Now().UTC().Truncate(time.Millisecond)
	w := apps.put("w", received(interactions.KindApplicationReceived, now, now))
	apply(t, first.e, now, w)
	mark.set(now, true)
	first.e.Close()

	crashed := startCheckpointed(t, store, apps, mark)
	t.Cleanup(func() { crashed.e.closeOnce.Do(func() { close(crashed.e.stopping) }) }) // killed
	later := time.Now().UTC().Truncate(time.Millisecond)
	apply(t, crashed.e, later, apps.put("w", w.Events[0], received(interactions.KindWithdrawn, later, later)))
	mark.receive("w", later)

	held := heldApps{countingApps: &countingApps{memApps: apps}, gate: make(chan struct{})}
	book := &clockBook{}
	next := NewEngine(Config{Store: store, Apps: held, Log: quietLog, Now: time.Now, Consumer: (&recorder{}).consume,
		Observer: book.observe, Books: []Checkpointed{book}, Mark: mark.get, ChangedSince: mark.changedSince})
	if err := next.StartInBackground(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	time.Sleep(time.Until(now.Add(2500 * time.Millisecond))) // past the clock's warning and due time
	close(held.gate)
	waitFor(t, "detecting", next.Detecting)
	if held.scans.Load() != 0 {
		t.Fatal("the start after the crash did not use the checkpoint")
	}
	time.Sleep(50 * time.Millisecond)
	if fs, err := store.Transitions(context.Background(), "w"); err != nil || len(fs) != 0 {
		t.Errorf("the withdrawn application's clock fired: %+v %v", fs, err)
	}
	if next.OpenClocks() != 0 {
		t.Errorf("%d open clocks, want none", next.OpenClocks())
	}
}
