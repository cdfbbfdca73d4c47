package sla

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// fakeClock is a settable now, years ahead so that the scheduler never wakes: every
// transition it would wait for is later than the real time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// monday is 2031-03-03, a Monday, at the given time of day in UTC ("15:04"); days adds
// days.
func monday(hhmm string, days ...int) time.Time {
	t, err := time.Parse("2006-01-02 15:04", "2031-03-03 "+hhmm)
	if err != nil {
		panic(err)
	}
	for _, d := range days {
		t = t.AddDate(0, 0, d)
	}
	return t
}

// seedHistory seeds store with cal and a first_response policy of the given target
// and calendar.
func seedHistory(t *testing.T, store *Store, cal Calendar, target, calendar string, warn float64) {
	t.Helper()
	ctx := context.Background()
	if err := store.Seed(ctx, cal); err != nil {
		t.Fatal(err)
	}
	p := DefaultPolicies()[0]
	p.Target, p.Calendar, p.WarnRatio = interactions.MustParseDuration(target), calendar, warn
	if err := store.SavePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// startAt starts an engine on store whose now is clock's.
func startAt(t *testing.T, store *Store, apps *memApps, rec *recorder, clock *fakeClock) *Engine {
	t.Helper()
	return startEngine(t, store, apps, clock.now, rec.consume)
}

// onTime is an interaction that arrives when it occurs.
func onTime(kind interactions.Kind, dir interactions.Direction, at time.Time) interactions.Interaction {
	return interactions.Interaction{Kind: kind, Direction: dir, OccurredAt: at, ReceivedAt: at, Source: "api"}
}

// firstResponse returns the first_response clock of an application.
func firstResponse(t *testing.T, e *Engine, apps *memApps, id string) Clock {
	t.Helper()
	app, err := apps.Application(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	clocks, err := e.Clocks(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clocks {
		if c.Metric == MetricFirstResponse {
			return c
		}
	}
	t.Fatalf("%s has no first_response clock: %+v", id, clocks)
	return Clock{}
}

// checkQuiet checks that the application's recorded transitions are exactly want,
// none alerting.
func checkQuiet(t *testing.T, store *Store, appID string, want ...State) {
	t.Helper()
	fired, err := store.Transitions(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	var got []State
	for _, f := range fired {
		got = append(got, f.State)
		if f.Alert {
			t.Errorf("%s: moved into the past by a change, must not alert", f.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: recorded %v, want %v", appID, got, want)
	}
}

// restartKeeps restarts the engine on the same store and checks that every clock of
// the applications is as before and that nothing is handed over again.
func restartKeeps(t *testing.T, e *Engine, store *Store, apps *memApps, clock *fakeClock, ids ...string) *Engine {
	t.Helper()
	before := map[string][]Clock{}
	for _, id := range ids {
		app, _ := apps.Application(context.Background(), id)
		before[id], _ = e.Clocks(context.Background(), app)
	}
	e.Close()
	rec := &recorder{}
	e2 := startAt(t, store, apps, rec, clock)
	for _, id := range ids {
		app, _ := apps.Application(context.Background(), id)
		after, err := e2.Clocks(context.Background(), app)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before[id], after); diff != "" {
			t.Errorf("%s: a restart changed clocks (-before +after):\n%s", id, diff)
		}
	}
	if got := rec.all(); len(got) != 0 {
		t.Errorf("the restart handed over %+v", got)
	}
	return e2
}

// startMetAndOpen starts an engine under a two-day 24x7 first_response policy, on
// Monday 14:00, with two applications: "met" (answered at 12:00) and "open" (received
// at 10:00, not answered).
func startMetAndOpen(t *testing.T) (*Store, *memApps, *recorder, *fakeClock, *Engine) {
	t.Helper()
	store := NewStore(storagetest.NewDB(t))
	seedHistory(t, store, DefaultCalendar("UTC", ""), "2d", Calendar24x7, 0.5)
	apps, rec, clock := &memApps{}, &recorder{}, &fakeClock{t: monday("14:00")}
	e := startAt(t, store, apps, rec, clock)
	met := apps.put("met",
		onTime(interactions.KindApplicationReceived, interactions.Inbound, monday("09:00")),
		onTime(interactions.KindMessage, interactions.Outbound, monday("12:00")))
	open := apps.put("open", onTime(interactions.KindApplicationReceived, interactions.Inbound, monday("10:00")))
	apply(t, e, clock.now(), met, open)
	return store, apps, rec, clock, e
}

// TestEnginePolicyChangeKeepsClosedClocks: a clock met under a two-day policy stays met,
// with its due time, after the policy shrinks to an hour; an open clock of the same
// metric moves, and its transitions now in the past are recorded without alerting.
// A restart changes nothing, and a preview counts only open clocks.
func TestEnginePolicyChangeKeepsClosedClocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, apps, rec, clock, e := startMetAndOpen(t)
	if c := firstResponse(t, e, apps, "open"); c.State != StateRunning || !c.DueAt.Equal(monday("10:00", 2)) {
		t.Fatalf("before the change: %+v", c)
	}

	clock.set(monday("15:00"))
	p := DefaultPolicies()[0]
	p.Target, p.Calendar, p.WarnRatio = interactions.MustParseDuration("1h"), Calendar24x7, 0.5
	if _, err := e.PutPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if c := firstResponse(t, e, apps, "met"); c.State != StateMet || !c.DueAt.Equal(monday("09:00", 2)) || !c.WarnAt.Equal(monday("09:00", 1)) {
		t.Errorf("the met clock moved: %s due %v warn %v", c.State, c.DueAt, c.WarnAt)
	}
	if c := firstResponse(t, e, apps, "open"); c.State != StateBreached || c.StoppedAt != nil || !c.DueAt.Equal(monday("11:00")) || !c.WarnAt.Equal(monday("10:30")) {
		t.Errorf("the open clock did not move: %s due %v warn %v", c.State, c.DueAt, c.WarnAt)
	}
	checkQuiet(t, store, "open", StateWarning, StateBreached)
	checkQuiet(t, store, "met")
	if got := rec.all(); len(got) != 0 {
		t.Errorf("quiet transitions handed over: %+v", got)
	}
	if vs, err := store.Versions(ctx, clock.now()); err != nil || len(vs) != 2 || !vs[0].From.IsZero() || !vs[1].From.Equal(monday("15:00")) {
		t.Errorf("versions %+v, %v", vs, err)
	}

	// A preview moves the open clock only.
	p.Target = interactions.MustParseDuration("30m")
	n, moved, err := e.Preview(ctx, &p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(moved) != 1 || moved[0].Before.ApplicationID != "open" || moved[0].After == nil || !moved[0].After.DueAt.Equal(monday("10:30")) {
		t.Errorf("preview: %d %+v", n, moved)
	}

	clock.set(monday("16:00"))
	restartKeeps(t, e, store, apps, clock, "met", "open")
	if vs, _ := store.Versions(ctx, clock.now()); len(vs) != 2 {
		t.Errorf("a restart recorded a version: %+v", vs)
	}
}

// TestEngineCalendarChangeKeepsClosedClocks: the same for a change of time zone and of
// holidays.
func TestEngineCalendarChangeKeepsClosedClocks(t *testing.T) {
	t.Parallel()
	utc := DefaultCalendar("UTC", "")
	mondayOff := DefaultCalendar("UTC", "")
	mondayOff.ExtraHolidays = []string{"2031-03-03"}
	tests := []struct {
		name          string
		before, after Calendar
		contact       time.Time // closes application "closed"
		received      time.Time // opens application "open"
		now           time.Time
		closedState   State // the closed clock's outcome, before and after
		closedDue     time.Time
		openDue       [2]time.Time // before and after the change
	}{
		{
			// Contacted two hours after a 09:00 application: late in UTC, but on time
			// in Tokyo, where it came in after hours. The open clock, started at 16:30
			// UTC, was due 09:30 UTC Tuesday, and is now due 01:00 UTC (10:00 in Tokyo).
			name: "time zone", before: utc, after: DefaultCalendar("Asia/Tokyo", ""),
			contact: monday("11:00"), received: monday("16:30"), now: monday("06:00", 1),
			closedState: StateBreached, closedDue: monday("10:00"),
			openDue: [2]time.Time{monday("09:30", 1), monday("01:00", 1)},
		},
		{
			// Monday was a holiday, so a contact at 11:00 met a clock due Tuesday 10:00;
			// without the holiday it would be late. The open clock started at 11:30 is
			// now due 12:30 Monday.
			name: "holidays", before: mondayOff, after: utc,
			contact: monday("11:00"), received: monday("11:30"), now: monday("14:00"),
			closedState: StateMet, closedDue: monday("10:00", 1),
			openDue: [2]time.Time{monday("10:00", 1), monday("12:30")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := NewStore(storagetest.NewDB(t))
			seedHistory(t, store, tt.before, "1h", CalendarBusiness, 0.75)
			apps, rec, clock := &memApps{}, &recorder{}, &fakeClock{t: tt.now}
			e := startAt(t, store, apps, rec, clock)
			closed := apps.put("closed",
				onTime(interactions.KindApplicationReceived, interactions.Inbound, monday("09:00")),
				onTime(interactions.KindMessage, interactions.Outbound, tt.contact))
			open := apps.put("open", onTime(interactions.KindApplicationReceived, interactions.Inbound, tt.received))
			apply(t, e, clock.now(), closed, open)
			check := func(when string, openDue time.Time, openState State) {
				t.Helper()
				if c := firstResponse(t, e, apps, "closed"); c.State != tt.closedState || !c.DueAt.Equal(tt.closedDue) {
					t.Errorf("%s: closed clock %s due %v, want %s due %v", when, c.State, c.DueAt, tt.closedState, tt.closedDue)
				}
				if c := firstResponse(t, e, apps, "open"); c.State != openState || !c.DueAt.Equal(openDue) {
					t.Errorf("%s: open clock %s due %v, want %s due %v", when, c.State, c.DueAt, openState, openDue)
				}
			}
			check("before the change", tt.openDue[0], StateRunning)
			checkQuiet(t, store, "open")
			handed := len(rec.all())

			if err := e.PutCalendar(ctx, tt.after); err != nil {
				t.Fatal(err)
			}
			check("after the change", tt.openDue[1], StateBreached)
			checkQuiet(t, store, "open", StateWarning, StateBreached)
			for _, f := range rec.all()[handed:] {
				if f.Alert || f.ApplicationID != "open" {
					t.Errorf("handed over %+v", f)
				}
			}

			clock.set(tt.now.Add(time.Hour))
			e = restartKeeps(t, e, store, apps, clock, "closed", "open")
			check("after a restart", tt.openDue[1], StateBreached)
		})
	}
}

// TestEngineChangeWhileStopped: policies changed in the store while no engine ran take
// effect at the next start, under the same rule: closed clocks keep their outcome and
// transitions moved into the past do not alert.
func TestEngineChangeWhileStopped(t *testing.T) {
	t.Parallel()
	store, apps, rec, clock, e := startMetAndOpen(t)
	e.Close()

	seedHistory(t, store, DefaultCalendar("UTC", ""), "1h", Calendar24x7, 0.5)
	clock.set(monday("15:00"))
	e = startAt(t, store, apps, rec, clock)
	if c := firstResponse(t, e, apps, "met"); c.State != StateMet || !c.DueAt.Equal(monday("09:00", 2)) {
		t.Errorf("the met clock moved: %s due %v", c.State, c.DueAt)
	}
	if c := firstResponse(t, e, apps, "open"); c.State != StateBreached || !c.DueAt.Equal(monday("11:00")) {
		t.Errorf("the open clock did not move: %s due %v", c.State, c.DueAt)
	}
	checkQuiet(t, store, "open", StateWarning, StateBreached)
}

// TestCleanStopNoteOnAFreshStore: the first clean stop of a fresh store is noted
// without an error, and the next start takes it.
func TestCleanStopNoteOnAFreshStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	through := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if err := store.saveCleanStop(ctx, cleanStop{Through: through}); err != nil {
		t.Fatalf("first note: %v", err)
	}
	got, err := store.takeCleanStop(ctx)
	if err != nil || !got.Clean || !got.Through.Equal(through) {
		t.Fatalf("takeCleanStop: %+v, %v; want clean through %s", got, err, through)
	}
}
