package sla

import (
	"encoding/json"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// State is where a clock stands.
type State string

// The states. Running, warning and breached describe an open clock at a given moment;
// met, canceled and (with StoppedAt set) breached are final.
const (
	StateRunning  State = "running"  // before its warn time
	StateWarning  State = "warning"  // at or after its warn time, before its due time
	StateBreached State = "breached" // at or after its due time while open, or stopped after it
	StateMet      State = "met"      // stopped at or before its due time
	StateCanceled State = "canceled" // stopped, before its due time, by an event that makes it moot
)

// Clock is one SLA clock of an application: one metric, started by one interaction.
// Times are UTC with millisecond precision.
type Clock struct {
	// ClockID is deterministic, so re-deriving gives the same ids:
	// "<application_id>/<metric>/<started_by>", or for interview metrics
	// "<application_id>/<metric>/<interview_id>/<started_by>".
	ClockID       string `bson:"clock_id" json:"clock_id"`
	ApplicationID string `bson:"application_id" json:"application_id"`
	PolicyID      string `bson:"policy_id" json:"policy_id"`
	Metric        Metric `bson:"metric" json:"metric"`
	// State is the final state of a stopped clock, or the state of an open one at the
	// moment the clocks were derived for (see StateAt).
	State       State  `bson:"state" json:"state"`
	InterviewID string `bson:"interview_id,omitempty" json:"interview_id,omitempty"`
	// StartedAt is when the clock starts counting. Interview clocks start at the
	// interview's scheduled end, which may be after the interaction that set them and
	// after the derivation's now; such a clock is running until then.
	StartedAt time.Time `bson:"started_at" json:"started_at"`
	WarnAt    time.Time `bson:"warn_at" json:"warn_at"`
	DueAt     time.Time `bson:"due_at" json:"due_at"`
	// StoppedAt is nil while the clock is open. It may precede StartedAt when an
	// interview's outcome was recorded before its scheduled end.
	StoppedAt *time.Time `bson:"stopped_at,omitempty" json:"stopped_at"`
	// Explain lists, in order, the events that started, paused and stopped the clock,
	// the policy, and the calendar rules that set the deadline.
	Explain []string `bson:"explain,omitempty" json:"explain"`
	// StartedBy is the id of the interaction that started the clock; with the metric
	// and a level it keys the clock's alerts.
	StartedBy string `bson:"started_by" json:"-"`
	// StartReceivedAt is when that interaction arrived: transitions at or before it do
	// not alert (see Alerts).
	StartReceivedAt time.Time `bson:"start_received_at" json:"-"`
}

// clockID is the id of a clock: "<application_id>/<metric>/<started_by>", or with the
// interview id before the last part for interview metrics.
func clockID(appID string, m Metric, interviewID, startedBy string) string {
	if interviewID != "" {
		return appID + "/" + string(m) + "/" + interviewID + "/" + startedBy
	}
	return appID + "/" + string(m) + "/" + startedBy
}

// storedClockID is the id of a clock kept in the schedule, which holds its policy
// and interview rather than its id: a nurture clock's id names its pool where
// others name their interview.
func storedClockID(appID string, m Metric, policyID, interviewID, startedBy string) string {
	if m == MetricNurture {
		interviewID, _ = PoolOf(policyID)
	}
	return clockID(appID, m, interviewID, startedBy)
}

// Open reports whether the clock has not stopped.
func (c Clock) Open() bool { return c.StoppedAt == nil }

// StateAt returns the clock's state at now: the final state of a stopped clock, else
// breached from DueAt on, warning from WarnAt on, running before.
func (c Clock) StateAt(now time.Time) State {
	if !c.Open() {
		return c.State
	}
	switch {
	case !now.Before(c.DueAt):
		return StateBreached
	case !now.Before(c.WarnAt):
		return StateWarning
	}
	return StateRunning
}

// Transition is a moment a clock enters warning or breached.
type Transition struct {
	State State // StateWarning or StateBreached
	At    time.Time
	// Alert is false when At is not later than the arrival of the interaction that
	// started the clock: history imported or delivered late is recorded without
	// alerting.
	Alert bool
}

// Transitions returns the clock's warning and breach transitions in time order: for an
// open clock all of them, past and future; for a stopped clock those that happened
// before it stopped. A clock whose WarnAt is not before DueAt has no warning.
func Transitions(c Clock) []Transition {
	var ts []Transition
	add := func(s State, at time.Time) {
		if c.StoppedAt != nil && !at.Before(*c.StoppedAt) {
			return
		}
		ts = append(ts, Transition{State: s, At: at, Alert: Alerts(at, c)})
	}
	if c.WarnAt.Before(c.DueAt) {
		add(StateWarning, c.WarnAt)
	}
	add(StateBreached, c.DueAt)
	return ts
}

// NextTransition returns the first transition of an open clock after now: what a
// scheduler should wait for. ok is false for a stopped or already breached clock.
func (c Clock) NextTransition(now time.Time) (t Transition, ok bool) {
	if !c.Open() {
		return Transition{}, false
	}
	for _, t := range Transitions(c) {
		if t.At.After(now) {
			return t, true
		}
	}
	return Transition{}, false
}

// Alerts reports whether a transition of c at the given time may alert: only when it
// is later than the arrival of the interaction that started the clock.
// A clock already overdue when its events arrive is recorded without alerting.
func Alerts(at time.Time, c Clock) bool { return at.After(c.StartReceivedAt) }

// MarshalJSON renders the clock as the API does: times in RFC 3339 UTC
// with milliseconds, stopped_at null while open.
func (c Clock) MarshalJSON() ([]byte, error) {
	type plain Clock // no methods, so no recursion
	var stopped *string
	if c.StoppedAt != nil {
		s := interactions.APITime(*c.StoppedAt)
		stopped = &s
	}
	explain := c.Explain
	if explain == nil {
		explain = []string{}
	}
	return json.Marshal(struct {
		plain
		StartedAt string   `json:"started_at"`
		WarnAt    string   `json:"warn_at"`
		DueAt     string   `json:"due_at"`
		StoppedAt *string  `json:"stopped_at"`
		Explain   []string `json:"explain"`
	}{
		plain:     plain(c),
		StartedAt: interactions.APITime(c.StartedAt),
		WarnAt:    interactions.APITime(c.WarnAt),
		DueAt:     interactions.APITime(c.DueAt),
		StoppedAt: stopped,
		Explain:   explain,
	})
}
