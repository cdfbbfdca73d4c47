package sla

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
)

func testClock() Clock {
	return Clock{
		ClockID: "app-1/first_response/e1", ApplicationID: testApp, PolicyID: "first_response",
		Metric: MetricFirstResponse, State: StateRunning,
		StartedAt: moment("03-02 10:00"), WarnAt: moment("03-03 22:00"), DueAt: moment("03-04 10:00"),
		Explain: []string{"started by application_received at 2026-03-02T10:00:00.000Z"}, StartedBy: "e1",
		StartReceivedAt: moment("03-02 10:00"),
	}
}

func TestClockStateAt(t *testing.T) {
	t.Parallel()
	c := testClock()
	tests := []struct {
		now  string
		want State
	}{
		{"03-02 10:00", StateRunning},
		{"03-03 21:59", StateRunning},
		{"03-03 22:00", StateWarning}, // a transition happens at its instant
		{"03-04 09:59", StateWarning},
		{"03-04 10:00", StateBreached},
		{"03-09 10:00", StateBreached},
	}
	for _, tt := range tests {
		if got := c.StateAt(moment(tt.now)); got != tt.want {
			t.Errorf("StateAt(%s) = %s, want %s", tt.now, got, tt.want)
		}
	}
	stopped := c
	stopped.State, stopped.StoppedAt = StateMet, ptr(moment("03-03 09:00"))
	if got := stopped.StateAt(moment("03-09 10:00")); got != StateMet {
		t.Errorf("a stopped clock's state changed with time: %s", got)
	}
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	live := testClock()
	imported := testClock()
	imported.StartReceivedAt = moment("03-03 22:00") // arrived exactly at the warning
	tests := []struct {
		name string
		c    Clock
		want []Transition
	}{
		// An open clock: both transitions, alerting.
		{"open", live, []Transition{
			{StateWarning, moment("03-03 22:00"), true},
			{StateBreached, moment("03-04 10:00"), true},
		}},
		// Transitions not later than the starting event's arrival do not alert.
		{"imported", imported, []Transition{
			{StateWarning, moment("03-03 22:00"), false},
			{StateBreached, moment("03-04 10:00"), true},
		}},
		// Stopped between warning and due: only the warning happened.
		{"met after warning", func() Clock {
			c := live
			c.State, c.StoppedAt = StateMet, ptr(moment("03-04 10:00"))
			return c
		}(), []Transition{{StateWarning, moment("03-03 22:00"), true}}},
		// Stopped before the warning: none.
		{"met early", func() Clock {
			c := live
			c.State, c.StoppedAt = StateMet, ptr(moment("03-03 22:00"))
			return c
		}(), nil},
		// Stopped late: both happened.
		{"breached, stopped", func() Clock {
			c := live
			c.State, c.StoppedAt = StateBreached, ptr(moment("03-05 10:00"))
			return c
		}(), []Transition{
			{StateWarning, moment("03-03 22:00"), true},
			{StateBreached, moment("03-04 10:00"), true},
		}},
		// warn_ratio 1: no warning.
		{"no warning", func() Clock {
			c := live
			c.WarnAt = c.DueAt
			return c
		}(), []Transition{{StateBreached, moment("03-04 10:00"), true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Transitions(tt.c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextTransition(t *testing.T) {
	t.Parallel()
	c := testClock()
	tests := []struct {
		now    string
		want   State
		wantOK bool
	}{
		{"03-02 10:00", StateWarning, true},
		{"03-03 22:00", StateBreached, true},
		{"03-04 10:00", "", false},
	}
	for _, tt := range tests {
		got, ok := c.NextTransition(moment(tt.now))
		if got.State != tt.want || ok != tt.wantOK {
			t.Errorf("NextTransition(%s) = %s, %v; want %s, %v", tt.now, got.State, ok, tt.want, tt.wantOK)
		}
	}
	c.State, c.StoppedAt = StateMet, ptr(moment("03-02 11:00"))
	if _, ok := c.NextTransition(moment("03-02 10:00")); ok {
		t.Error("a stopped clock has a next transition")
	}
}

// TestDeriveImportedHistory checks the no-alert rule end to end: clocks derived from
// events that arrive after the fact are recorded, their past transitions silent.
func TestDeriveImportedHistory(t *testing.T) {
	t.Parallel()
	events := []interactions.Interaction{ev("e1", kReceived, "03-02 10:00", arrived("03-03 23:00"))}
	got := Derive(events, only(MetricFirstResponse), moment("03-03 23:00"))
	if len(got) != 1 || got[0].State != StateWarning {
		t.Fatalf("got %v", rows(got))
	}
	want := []Transition{
		{StateWarning, moment("03-03 22:00"), false},
		{StateBreached, moment("03-04 10:00"), true},
	}
	if diff := cmp.Diff(want, Transitions(got[0])); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !Alerts(moment("03-03 23:00").Add(time.Millisecond), got[0]) || Alerts(moment("03-03 23:00"), got[0]) {
		t.Error("Alerts must be true only after the start's arrival")
	}
}

func TestClockJSON(t *testing.T) {
	t.Parallel()
	c := testClock()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	const open = `{"clock_id":"app-1/first_response/e1","application_id":"app-1","policy_id":"first_response","metric":"first_response","state":"running","started_at":"2026-03-02T10:00:00.000Z","warn_at":"2026-03-03T22:00:00.000Z","due_at":"2026-03-04T10:00:00.000Z","stopped_at":null,"explain":["started by application_received at 2026-03-02T10:00:00.000Z"]}`
	if string(b) != open {
		t.Errorf("open clock JSON\n got %s\nwant %s", b, open)
	}
	c.State, c.StoppedAt, c.InterviewID, c.Explain = StateMet, ptr(moment("03-03 09:00").Add(1500*time.Microsecond)), "iv1", nil
	b, err = json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	const stopped = `{"clock_id":"app-1/first_response/e1","application_id":"app-1","policy_id":"first_response","metric":"first_response","state":"met","interview_id":"iv1","started_at":"2026-03-02T10:00:00.000Z","warn_at":"2026-03-03T22:00:00.000Z","due_at":"2026-03-04T10:00:00.000Z","stopped_at":"2026-03-03T09:00:00.001Z","explain":[]}`
	if string(b) != stopped {
		t.Errorf("stopped clock JSON\n got %s\nwant %s", b, stopped)
	}
}
