package sla

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestOpenClocksKeepEveryField: the scheduler's compact form of an open clock gives
// back every field of the clock, whether it fits the common form or needs its rare
// part.
func TestOpenClocksKeepEveryField(t *testing.T) {
	t.Parallel()
	start := monday("09:00").Add(123 * time.Millisecond)
	clock := func(by string, f func(*Clock)) Clock {
		c := Clock{
			ApplicationID: "a1", PolicyID: "first_response", Metric: MetricFirstResponse, State: StateRunning,
			StartedAt: start, WarnAt: start.Add(30 * time.Minute), DueAt: start.Add(time.Hour),
			StartedBy: by, StartReceivedAt: start.Add(1500 * time.Millisecond),
		}
		if f != nil {
			f(&c)
		}
		c.ClockID = clockID(c.ApplicationID, c.Metric, c.InterviewID, c.StartedBy)
		return c
	}
	const id = "0b5b6f2e-8a43-4c4e-9d2c-4f7e1f0e9a11"
	tests := []struct {
		name     string
		clocks   []Clock
		wantRare []bool
	}{
		// the common clock: started by an interaction with a UUID, arrived soon after
		{"common", []Clock{clock(id, nil)}, []bool{false}},
		// ids that are not UUIDs, or not in their canonical form, are kept as they are
		{"other ids", []Clock{
			clock("evt-17", nil),
			clock("0B5B6F2E-8A43-4C4E-9D2C-4F7E1F0E9A11", nil),
			clock("0b5b6f2e8a434c4e9d2c4f7e1f0e9a11", nil),
			clock("{0b5b6f2e-8a43-4c4e-9d2c-4f7e1f0e9a11}", nil),
		}, []bool{true, true, true, true}},
		// an interview clock keeps its interview
		{"interview", []Clock{clock(id, func(c *Clock) {
			c.Metric, c.PolicyID, c.InterviewID = MetricInterviewFeedback, "interview_feedback", "int-9"
		})}, []bool{true}},
		// history imported long after it happened, and an interview clock that starts
		// weeks after its interaction arrived
		{"far arrivals", []Clock{
			clock(id, func(c *Clock) { c.StartReceivedAt = start.Add(40 * 24 * time.Hour) }),
			clock(id, func(c *Clock) { c.StartReceivedAt = start.Add(-40 * 24 * time.Hour) }),
			clock(id, func(c *Clock) { c.StartReceivedAt = start.Add(-time.Hour) }),
		}, []bool{true, true, false}},
		// rare and common clocks side by side keep their own parts
		{"mixed", []Clock{
			clock(id, nil),
			clock("evt-1", func(c *Clock) { c.Metric, c.PolicyID = MetricReply, "custom" }),
			clock("0b5b6f2e-8a43-4c4e-9d2c-4f7e1f0e9a12", func(c *Clock) { c.Metric, c.PolicyID = MetricContactGap, "contact_gap" }),
			clock("evt-2", func(c *Clock) { c.InterviewID = "int-3" }),
		}, []bool{false, true, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := NewEngine(Config{Log: quietLog, Now: time.Now})
			app := interactions.Application{ID: "a1", RecruiterID: "rec-1"}
			e.track(app, tt.clocks, start, false, nil)
			i, _ := e.slots.find("a1")
			a := e.slots.at(i)
			var got []Clock
			var rare []bool
			for j := range a.clocks {
				got = append(got, e.clock(a, j))
				rare = append(rare, a.clocks[j].rare)
			}
			if d := cmp.Diff(tt.clocks, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("clocks (-put +kept):\n%s", d)
			}
			if d := cmp.Diff(tt.wantRare, rare); d != "" {
				t.Errorf("rare (-want +got):\n%s", d)
			}
			if n := e.OpenClocks(); n != len(tt.clocks) {
				t.Errorf("open clocks %d, want %d", n, len(tt.clocks))
			}
		})
	}
}

// TestQueuePopsInTimeOrder: the queue gives back its entries earliest first, however
// they were pushed.
func TestQueuePopsInTimeOrder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		name string
		keys []int64
	}{
		{"one", []int64{5}},
		{"ascending", []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"descending", []int64{8, 7, 6, 5, 4, 3, 2, 1}},
		{"ties", []int64{3, 1, 3, 1, 2, 2, 3, 1}},
		{"random", func() []int64 {
			keys := make([]int64, 1000)
			for i := range keys {
				keys[i] = r.Int64N(300)
			}
			return keys
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var q queue
			for i, k := range tt.keys {
				q.push(entry{key: k, app: uint32(i)})
			}
			var got []int64
			for len(q) > 0 {
				got = append(got, q.pop().key)
			}
			want := slices.Sorted(slices.Values(tt.keys))
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("popped (-want +got):\n%s", d)
			}
		})
	}
}

// TestEngineReusedSlotIgnoresStaleEntries: when an application's clocks stop, its slot
// goes to the next application; the first one's scheduled transitions must not fire
// the second's clocks.
func TestEngineReusedSlotIgnoresStaleEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	seedHistory(t, store, DefaultCalendar("UTC", ""), "1h", Calendar24x7, 0.5)
	for _, p := range DefaultPolicies()[1:] { // first_response alone
		p.Enabled = false
		if err := store.SavePolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	apps, clock := &memApps{}, &fakeClock{t: monday("09:00")}
	e := NewEngine(Config{Store: store, Apps: apps, Log: quietLog, Now: clock.now})
	if err := e.loadEnv(ctx); err != nil {
		t.Fatal(err)
	}
	applied := func(app interactions.Application) {
		t.Helper()
		apply(t, e, clock.now(), app)
	}
	// A warns at 09:30; its answer at 09:10 stops its clock and frees its slot.
	applied(apps.put("A", onTime(interactions.KindApplicationReceived, interactions.Inbound, monday("09:00"))))
	slot, _ := e.slots.find("A")
	clock.set(monday("09:10"))
	applied(apps.put("A",
		onTime(interactions.KindApplicationReceived, interactions.Inbound, monday("09:00")),
		onTime(interactions.KindMessage, interactions.Outbound, monday("09:10"))))
	// B warns at 09:50, from the same slot.
	clock.set(monday("09:20"))
	applied(apps.put("B", onTime(interactions.KindApplicationReceived, interactions.Inbound, monday("09:20"))))
	if got, ok := e.slots.find("B"); !ok || got != slot {
		t.Fatalf("B has slot %d (tracked %v), want A's %d", got, ok, slot)
	}

	for _, at := range []string{"09:31", "09:51"} {
		clock.set(monday(at))
		e.fireDue()
	}
	for id, want := range map[string][]time.Time{"A": nil, "B": {monday("09:50")}} {
		fired, err := store.Transitions(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []time.Time
		for _, f := range fired {
			got = append(got, f.At)
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: transitions at (-want +got):\n%s", id, d)
		}
	}
}

// slowApps hands over its applications in order, waiting after the first until ready
// is closed (or a few seconds pass): a rebuild that takes long.
type slowApps struct {
	*memApps
	order []string
	ready chan struct{}
}

func (s *slowApps) EachApplication(ctx context.Context, f func(interactions.Application) error) error {
	for i, id := range s.order {
		if i == 1 {
			select {
			case <-s.ready:
			case <-time.After(5 * time.Second):
			}
		}
		app, err := s.Application(ctx, id)
		if err != nil {
			return err
		}
		if err := f(app); err != nil {
			return err
		}
	}
	return nil
}

// TestEngineFiresWhileStarting: a clock that comes due while the engine is still
// rebuilding the other applications' clocks fires on time, not when the rebuild ends.
func TestEngineFiresWhileStarting(t *testing.T) {
	t.Parallel()
	store := NewStore(storagetest.NewDB(t))
	seedHistory(t, store, DefaultCalendar("UTC", ""), "2s", Calendar24x7, 1)
	apps := &slowApps{memApps: &memApps{}, order: []string{"soon", "later"}, ready: make(chan struct{})}
	now := time.Now().UTC().Truncate(time.Millisecond)
	apps.put("soon", received(interactions.KindApplicationReceived, now.Add(-1500*time.Millisecond), now))
	apps.put("later", received(interactions.KindApplicationReceived, now, now))
	var once bool
	rec := &recorder{}
	startEngine(t, store, apps, time.Now, func(ctx context.Context, fs []Fired) error {
		if !once {
			once = true
			close(apps.ready)
		}
		return rec.consume(ctx, fs)
	})
	got := rec.all()
	if len(got) != 1 || got[0].ApplicationID != "soon" || got[0].State != StateBreached {
		t.Fatalf("handed over while starting: %+v", got)
	}
	rec.mu.Lock()
	handed := rec.first[got[0].ID]
	rec.mu.Unlock()
	if late := handed.Sub(got[0].At); late < 0 || late > 500*time.Millisecond {
		t.Errorf("the breach was handed over %s after its time", late)
	}
}
