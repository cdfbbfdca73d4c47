package sla

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
)

const testApp = "app-1"

// moment parses "01-02 15:04" as that moment of 2026 in UTC. 2026-03-02 is a Monday.
func moment(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", "2026-"+s)
	if err != nil {
		panic(err)
	}
	return t
}

// short renders t as moment parses it.
func short(t time.Time) string { return t.UTC().Format("01-02 15:04") }

type evOpt func(*interactions.Interaction)

// ev builds an interaction of testApp; message and call default to outbound, every
// other kind takes its fixed direction. It arrives when it occurs unless told.
func ev(id string, kind interactions.Kind, when string, opts ...evOpt) interactions.Interaction {
	e := interactions.Interaction{
		ID: id, Key: id, ApplicationID: testApp, CandidateID: "cand-1", Kind: kind,
		OccurredAt: moment(when), Direction: testDirection(kind), Source: "api",
	}
	e.ReceivedAt = e.OccurredAt
	for _, o := range opts {
		o(&e)
	}
	return e
}

func testDirection(k interactions.Kind) interactions.Direction {
	switch k {
	case interactions.KindApplicationReceived, interactions.KindSurveyResponse, interactions.KindWithdrawn:
		return interactions.Inbound
	case interactions.KindMessage, interactions.KindCall, interactions.KindInterviewScheduled,
		interactions.KindInterviewRescheduled, interactions.KindInterviewCanceled,
		interactions.KindOfferExtended, interactions.KindRejected, interactions.KindUnrejected,
		interactions.KindHired, interactions.KindPromise:
		return interactions.Outbound
	}
	return interactions.Internal
}

func inbound() evOpt { return func(e *interactions.Interaction) { e.Direction = interactions.Inbound } }
func internal() evOpt {
	return func(e *interactions.Interaction) { e.Direction = interactions.Internal }
}
func notified() evOpt { return func(e *interactions.Interaction) { e.CandidateNotified = true } }
func referred() evOpt { return func(e *interactions.Interaction) { e.Referral = true } }

// job sets the interaction's job and the source it came from.
func job(id, source string) evOpt {
	return func(e *interactions.Interaction) { e.JobID, e.Source = id, source }
}
func stage(s string) evOpt {
	return func(e *interactions.Interaction) { e.Stage = s }
}
func interview(id string) evOpt {
	return func(e *interactions.Interaction) { e.InterviewID = id }
}

// slot sets the interview's time and, if not "", its duration.
func slot(when, dur string) evOpt {
	return func(e *interactions.Interaction) {
		t := moment(when)
		e.ScheduledFor = &t
		if dur != "" {
			d := interactions.MustParseDuration(dur)
			e.Duration = &d
		}
	}
}
func until(when string) evOpt {
	return func(e *interactions.Interaction) { t := moment(when); e.Until = &t }
}
func promisedBy(when string) evOpt {
	return func(e *interactions.Interaction) { t := moment(when); e.PromisedBy = &t }
}
func arrived(when string) evOpt {
	return func(e *interactions.Interaction) { e.ReceivedAt = moment(when) }
}

// wallCalendars counts every policy 24x7, so "2d" is 48 hours.
var wallCalendars = map[string]BusinessClock{CalendarBusiness: Wall{}, Calendar24x7: Wall{}}

// defaultEnv is the built-in policies on 24x7 calendars.
func defaultEnv() Env { return Env{Policies: DefaultPolicies(), Calendars: wallCalendars} }

// only is defaultEnv with the built-in policies of the given metrics alone.
func only(metrics ...Metric) Env {
	env := defaultEnv()
	env.Policies = slices.DeleteFunc(env.Policies, func(p Policy) bool { return !slices.Contains(metrics, p.Metric) })
	return env
}

// scopedPolicy is an enabled policy of metric m with target over scope s.
func scopedPolicy(id string, m Metric, target string, s Scope) Policy {
	return Policy{ID: id, Metric: m, Target: interactions.MustParseDuration(target), Scope: s, Enabled: true}
}

// withPolicies is defaultEnv with the policies changed by edit.
func withPolicies(edit func([]Policy) []Policy) Env {
	env := defaultEnv()
	env.Policies = edit(env.Policies)
	return env
}

// row is what scenario tests compare of a clock.
type row struct {
	ID      string // clock id without the application
	State   State
	Start   string
	Due     string
	Stopped string // "" while open
}

func rows(clocks []Clock) []row {
	var out []row
	for _, c := range clocks {
		r := row{
			ID:    strings.TrimPrefix(c.ClockID, testApp+"/"),
			State: c.State,
			Start: short(c.StartedAt),
			Due:   short(c.DueAt),
		}
		if c.StoppedAt != nil {
			r.Stopped = short(*c.StoppedAt)
		}
		out = append(out, r)
	}
	return out
}

type scenario struct {
	name   string
	env    Env // zero: defaultEnv
	events []interactions.Interaction
	now    string
	want   []row
}

func runScenarios(t *testing.T, tests []scenario) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := tt.env
			if env.Policies == nil {
				env = defaultEnv()
			}
			got := Derive(tt.events, env, moment(tt.now))
			if diff := cmp.Diff(tt.want, rows(got)); diff != "" {
				t.Errorf("clocks (-want +got):\n%s\nexplain:\n%s", diff, explainAll(got))
			}
			checkInvariants(t, got, moment(tt.now))
		})
	}
}

func explainAll(clocks []Clock) string {
	var b strings.Builder
	for _, c := range clocks {
		fmt.Fprintf(&b, "%s %s\n\t%s\n", c.ClockID, c.State, strings.Join(c.Explain, "\n\t"))
	}
	return b.String()
}

// checkInvariants checks what holds of every derivation.
func checkInvariants(t *testing.T, clocks []Clock, now time.Time) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range clocks {
		if seen[c.ClockID] {
			t.Errorf("clock id %s twice", c.ClockID)
		}
		seen[c.ClockID] = true
		if c.WarnAt.After(c.DueAt) {
			t.Errorf("%s: warn_at %v after due_at %v", c.ClockID, c.WarnAt, c.DueAt)
		}
		if c.StartedAt.Location() != time.UTC || c.DueAt.Location() != time.UTC || c.WarnAt.Location() != time.UTC {
			t.Errorf("%s: times not in UTC", c.ClockID)
		}
		if len(c.Explain) == 0 {
			t.Errorf("%s: no explain", c.ClockID)
		}
		switch {
		case c.StoppedAt == nil:
			if want := c.StateAt(now); c.State != want {
				t.Errorf("%s: open clock in state %s, want %s", c.ClockID, c.State, want)
			}
		case c.State == StateMet || c.State == StateCanceled:
			if c.StoppedAt.After(c.DueAt) {
				t.Errorf("%s: %s but stopped after due", c.ClockID, c.State)
			}
		case c.State == StateBreached:
			if !c.StoppedAt.After(c.DueAt) {
				t.Errorf("%s: breached but stopped at or before due", c.ClockID)
			}
		default:
			t.Errorf("%s: stopped clock in state %s", c.ClockID, c.State)
		}
	}
}

const (
	kReceived    = interactions.KindApplicationReceived
	kMessage     = interactions.KindMessage
	kCall        = interactions.KindCall
	kStage       = interactions.KindStageChanged
	kScheduled   = interactions.KindInterviewScheduled
	kRescheduled = interactions.KindInterviewRescheduled
	kCanceled    = interactions.KindInterviewCanceled
	kCompleted   = interactions.KindInterviewCompleted
	kNoShow      = interactions.KindInterviewNoShow
	kFeedback    = interactions.KindFeedbackSubmitted
	kRejected    = interactions.KindRejected
	kUnrejected  = interactions.KindUnrejected
	kHired       = interactions.KindHired
	kWithdrawn   = interactions.KindWithdrawn
	kPromise     = interactions.KindPromise
	kHold        = interactions.KindHold
	kNote        = interactions.KindNote
	kOffer       = interactions.KindOfferExtended
)

func TestDeriveFirstResponse(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			// Answered within two days: met; the answer starts contact_gap.
			name: "met",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kMessage, "03-03 09:00"),
			},
			now: "03-03 12:00",
			want: []row{
				{"first_response/e1", StateMet, "03-02 10:00", "03-04 10:00", "03-03 09:00"},
				{"contact_gap/e2", StateRunning, "03-03 09:00", "03-08 09:00", ""},
			},
		},
		{
			// Past 75% of the target and unanswered: warning.
			name:   "warning",
			events: []interactions.Interaction{ev("e1", kReceived, "03-02 10:00")},
			now:    "03-03 22:00",
			want:   []row{{"first_response/e1", StateWarning, "03-02 10:00", "03-04 10:00", ""}},
		},
		{
			// Unanswered past due: breached and still open.
			name:   "breached open",
			events: []interactions.Interaction{ev("e1", kReceived, "03-02 10:00")},
			now:    "03-05 10:00",
			want:   []row{{"first_response/e1", StateBreached, "03-02 10:00", "03-04 10:00", ""}},
		},
		{
			// Answered late: stays breached, with stopped_at.
			name: "answered late",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kCall, "03-05 10:00"),
			},
			now: "03-05 11:00",
			want: []row{
				{"first_response/e1", StateBreached, "03-02 10:00", "03-04 10:00", "03-05 10:00"},
				{"contact_gap/e2", StateRunning, "03-05 10:00", "03-10 10:00", ""},
			},
		},
		{
			// Answered exactly at the due time: met.
			name: "answered at due",
			env:  only(MetricFirstResponse),
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kMessage, "03-04 10:00"),
			},
			now:  "03-05 11:00",
			want: []row{{"first_response/e1", StateMet, "03-02 10:00", "03-04 10:00", "03-04 10:00"}},
		},
		{
			// Inbound messages, a note and an internal call are not contacts.
			name: "non-contacts do not stop it",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kMessage, "03-02 11:00", inbound()),
				ev("e3", kNote, "03-02 12:00"),
				ev("e4", kCall, "03-02 13:00", internal()),
			},
			now:  "03-02 14:00",
			want: []row{{"first_response/e1", StateRunning, "03-02 10:00", "03-04 10:00", ""}},
		},
		{
			// A candidate contacted before applying (sourced) is not waiting for a
			// first response; contact_gap covers the silence.
			name: "contacted before applying",
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kReceived, "03-03 10:00"),
			},
			now:  "03-03 11:00",
			want: []row{{"contact_gap/e1", StateRunning, "03-02 10:00", "03-07 10:00", ""}},
		},
		{
			// A second application_received (another source) starts nothing.
			name: "duplicate application_received",
			env:  only(MetricFirstResponse),
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kReceived, "03-02 10:05"),
			},
			now:  "03-02 11:00",
			want: []row{{"first_response/e1", StateRunning, "03-02 10:00", "03-04 10:00", ""}},
		},
	})
}

func TestDeriveReply(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			// No reply clock while first_response runs: the first contact answers both.
			name: "inbound while first_response runs",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kMessage, "03-02 11:00", inbound()),
			},
			now:  "03-02 12:00",
			want: []row{{"first_response/e1", StateRunning, "03-02 10:00", "03-04 10:00", ""}},
		},
		{
			// Several inbound messages: one reply clock from the earliest unanswered;
			// the next contact stops it; a later inbound message starts a new one.
			name: "earliest unanswered",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 09:00"),
				ev("e2", kMessage, "03-02 10:00"),
				ev("e3", kMessage, "03-02 12:00", inbound()),
				ev("e4", kMessage, "03-02 13:00", inbound()),
				ev("e5", kMessage, "03-03 11:00"),
				ev("e6", kMessage, "03-03 12:00", inbound()),
			},
			now: "03-04 13:00",
			want: []row{
				{"first_response/e1", StateMet, "03-02 09:00", "03-04 09:00", "03-02 10:00"},
				{"contact_gap/e2", StateMet, "03-02 10:00", "03-07 10:00", "03-03 11:00"},
				{"reply/e3", StateMet, "03-02 12:00", "03-03 12:00", "03-03 11:00"},
				{"contact_gap/e5", StateRunning, "03-03 11:00", "03-08 11:00", ""},
				{"reply/e6", StateBreached, "03-03 12:00", "03-04 12:00", ""},
			},
		},
		{
			// With first_response disabled, nothing "runs": an inbound message starts
			// reply.
			name: "first_response disabled",
			env: withPolicies(func(ps []Policy) []Policy {
				ps[0].Enabled = false
				return ps
			}),
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kMessage, "03-02 11:00", inbound()),
			},
			now:  "03-02 12:00",
			want: []row{{"reply/e2", StateRunning, "03-02 11:00", "03-03 11:00", ""}},
		},
	})
}

func TestDeriveContactGapAndStageStall(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			// Each contact stops the running gap (late: breached) and starts a new one.
			name: "contact gap chain",
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kCall, "03-07 11:00"),
				ev("e3", kOffer, "03-08 10:00"),
			},
			now: "03-08 12:00",
			want: []row{
				{"contact_gap/e1", StateBreached, "03-02 10:00", "03-07 10:00", "03-07 11:00"},
				{"contact_gap/e2", StateMet, "03-07 11:00", "03-12 11:00", "03-08 10:00"},
				{"contact_gap/e3", StateRunning, "03-08 10:00", "03-13 10:00", ""},
			},
		},
		{
			// Leaving a stage stops its clock; a repeat of the current stage is
			// ignored; stalling past due in the new stage breaches.
			name: "stage stall",
			env:  only(MetricStageStall),
			events: []interactions.Interaction{
				ev("e1", kStage, "03-02 10:00", stage("screen")),
				ev("e2", kStage, "03-03 10:00", stage("screen")),
				ev("e3", kStage, "03-04 10:00", stage("onsite")),
			},
			now: "03-14 11:00",
			want: []row{
				{"stage_stall/e1", StateMet, "03-02 10:00", "03-12 10:00", "03-04 10:00"},
				{"stage_stall/e3", StateBreached, "03-04 10:00", "03-14 10:00", ""},
			},
		},
		{
			// The stage scope matches the stage being stalled in: a disabled policy
			// for "offer" (any case) means no clock there.
			name: "stage stall disabled in one stage",
			env: withPolicies(func(ps []Policy) []Policy {
				return append(ps, Policy{ID: "no-offer-stall", Metric: MetricStageStall,
					Target: interactions.MustParseDuration("1d"), Scope: Scope{Stages: []string{"offer"}}})
			}),
			events: []interactions.Interaction{
				ev("e1", kStage, "03-02 10:00", stage("screen")),
				ev("e2", kStage, "03-03 10:00", stage("Offer")),
			},
			now:  "03-03 11:00",
			want: []row{{"stage_stall/e1", StateMet, "03-02 10:00", "03-12 10:00", "03-03 10:00"}},
		},
	})
}

func TestDeriveInterviews(t *testing.T) {
	t.Parallel()
	iv := only(MetricInterviewOutcome, MetricInterviewFeedback)
	sched := func(id, when, slotAt string) interactions.Interaction {
		return ev(id, kScheduled, when, interview("iv1"), slot(slotAt, ""))
	}
	runScenarios(t, []scenario{
		{
			// Completed after the scheduled end: the outcome clock is met and the
			// feedback clock starts at the completion (the one from the scheduled end
			// is replaced); feedback stops it.
			name: "completed then feedback",
			env:  iv,
			events: []interactions.Interaction{
				sched("e1", "03-02 10:00", "03-04 14:00"),
				ev("e2", kCompleted, "03-04 15:10", interview("iv1")),
				ev("e3", kFeedback, "03-05 12:00", interview("iv1")),
			},
			now: "03-06 10:00",
			want: []row{
				{"interview_outcome/iv1/e1", StateMet, "03-04 15:00", "03-04 15:30", "03-04 15:10"},
				{"interview_feedback/iv1/e2", StateMet, "03-04 15:10", "03-05 15:10", "03-05 12:00"},
			},
		},
		{
			// Nothing recorded after the interview: missed (breached), and feedback is
			// awaited from the scheduled end.
			name:   "missed interview",
			env:    iv,
			events: []interactions.Interaction{sched("e1", "03-02 10:00", "03-04 14:00")},
			now:    "03-04 16:00",
			want: []row{
				{"interview_feedback/iv1/e1", StateRunning, "03-04 15:00", "03-05 15:00", ""},
				{"interview_outcome/iv1/e1", StateBreached, "03-04 15:00", "03-04 15:30", ""},
			},
		},
		{
			// Before the interview: its clocks exist, start in the future, and run.
			name:   "interview ahead",
			env:    iv,
			events: []interactions.Interaction{sched("e1", "03-02 10:00", "03-04 14:00")},
			now:    "03-02 11:00",
			want: []row{
				{"interview_feedback/iv1/e1", StateRunning, "03-04 15:00", "03-05 15:00", ""},
				{"interview_outcome/iv1/e1", StateRunning, "03-04 15:00", "03-04 15:30", ""},
			},
		},
		{
			// Rescheduled before it took place: only the new time counts, with the
			// new duration.
			name: "rescheduled before",
			env:  iv,
			events: []interactions.Interaction{
				sched("e1", "03-02 10:00", "03-04 14:00"),
				ev("e2", kRescheduled, "03-03 10:00", interview("iv1"), slot("03-06 14:00", "30m")),
			},
			now: "03-06 16:00",
			want: []row{
				{"interview_feedback/iv1/e2", StateRunning, "03-06 14:30", "03-07 14:30", ""},
				{"interview_outcome/iv1/e2", StateBreached, "03-06 14:30", "03-06 15:00", ""},
			},
		},
		{
			// Rescheduled after a missed interview: the miss stays breached, the
			// feedback awaited from it is canceled, and the new time restarts both.
			name: "rescheduled after a miss",
			env:  iv,
			events: []interactions.Interaction{
				sched("e1", "03-02 10:00", "03-04 14:00"),
				ev("e2", kRescheduled, "03-05 09:00", interview("iv1"), slot("03-06 14:00", "")),
				ev("e3", kCompleted, "03-06 15:00", interview("iv1")),
			},
			now: "03-06 16:00",
			want: []row{
				{"interview_feedback/iv1/e1", StateCanceled, "03-04 15:00", "03-05 15:00", "03-05 09:00"},
				{"interview_outcome/iv1/e1", StateBreached, "03-04 15:00", "03-04 15:30", "03-05 09:00"},
				{"interview_feedback/iv1/e3", StateRunning, "03-06 15:00", "03-07 15:00", ""},
				{"interview_outcome/iv1/e2", StateMet, "03-06 15:00", "03-06 15:30", "03-06 15:00"},
			},
		},
		{
			// Canceled before it took place: no clocks at all.
			name: "canceled before",
			env:  iv,
			events: []interactions.Interaction{
				sched("e1", "03-02 10:00", "03-04 14:00"),
				ev("e2", kCanceled, "03-03 10:00", interview("iv1")),
			},
			now: "03-06 16:00",
		},
		{
			// Canceled after its end but within the outcome target: canceled.
			name: "canceled after",
			env:  iv,
			events: []interactions.Interaction{
				sched("e1", "03-02 10:00", "03-04 14:00"),
				ev("e2", kCanceled, "03-04 15:20", interview("iv1")),
			},
			now: "03-06 16:00",
			want: []row{
				{"interview_feedback/iv1/e1", StateCanceled, "03-04 15:00", "03-05 15:00", "03-04 15:20"},
				{"interview_outcome/iv1/e1", StateCanceled, "03-04 15:00", "03-04 15:30", "03-04 15:20"},
			},
		},
		{
			// A no-show is an outcome (met); no feedback is due.
			name: "no-show",
			env:  iv,
			events: []interactions.Interaction{
				sched("e1", "03-02 10:00", "03-04 14:00"),
				ev("e2", kNoShow, "03-04 15:05", interview("iv1")),
			},
			now: "03-06 16:00",
			want: []row{
				{"interview_feedback/iv1/e1", StateCanceled, "03-04 15:00", "03-05 15:00", "03-04 15:05"},
				{"interview_outcome/iv1/e1", StateMet, "03-04 15:00", "03-04 15:30", "03-04 15:05"},
			},
		},
		{
			// Completed before the scheduled end: met, stopped before it started.
			name: "completed early",
			env:  iv,
			events: []interactions.Interaction{
				sched("e1", "03-02 10:00", "03-04 14:00"),
				ev("e2", kCompleted, "03-04 14:50", interview("iv1")),
			},
			now: "03-04 16:00",
			want: []row{
				{"interview_feedback/iv1/e2", StateRunning, "03-04 14:50", "03-05 14:50", ""},
				{"interview_outcome/iv1/e1", StateMet, "03-04 15:00", "03-04 15:30", "03-04 14:50"},
			},
		},
		{
			// Feedback without a completion event stops both; a completion recorded
			// afterwards starts no new feedback clock.
			name: "feedback without completion",
			env:  iv,
			events: []interactions.Interaction{
				sched("e1", "03-02 10:00", "03-04 14:00"),
				ev("e2", kFeedback, "03-04 15:20", interview("iv1")),
				ev("e3", kCompleted, "03-04 15:25", interview("iv1")),
			},
			now: "03-06 16:00",
			want: []row{
				{"interview_feedback/iv1/e1", StateMet, "03-04 15:00", "03-05 15:00", "03-04 15:20"},
				{"interview_outcome/iv1/e1", StateMet, "03-04 15:00", "03-04 15:30", "03-04 15:20"},
			},
		},
		{
			// Two interviews keep separate clocks.
			name: "two interviews",
			env:  only(MetricInterviewOutcome),
			events: []interactions.Interaction{
				ev("e1", kScheduled, "03-02 10:00", interview("a"), slot("03-04 10:00", "")),
				ev("e2", kScheduled, "03-02 10:00", interview("b"), slot("03-04 14:00", "")),
				ev("e3", kCompleted, "03-04 11:05", interview("a")),
			},
			now: "03-04 16:00",
			want: []row{
				{"interview_outcome/a/e1", StateMet, "03-04 11:00", "03-04 11:30", "03-04 11:05"},
				{"interview_outcome/b/e2", StateBreached, "03-04 15:00", "03-04 15:30", ""},
			},
		},
	})
}

func TestDeriveHold(t *testing.T) {
	t.Parallel()
	env := only(MetricContactGap, MetricStageStall)
	runScenarios(t, []scenario{
		{
			// A two-day hold moves both pausable clocks by two days.
			name: "pauses running clocks",
			env:  env,
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kStage, "03-02 10:00", stage("screen")),
				ev("e3", kHold, "03-03 10:00", until("03-05 10:00")),
			},
			now: "03-05 12:00",
			want: []row{
				{"contact_gap/e1", StateRunning, "03-02 10:00", "03-09 10:00", ""},
				{"stage_stall/e2", StateRunning, "03-02 10:00", "03-14 10:00", ""},
			},
		},
		{
			// A clock started during a hold is paused until its end.
			name: "clock started during a hold",
			env:  env,
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e3", kHold, "03-03 10:00", until("03-05 10:00")),
				ev("e4", kMessage, "03-04 10:00"),
			},
			now: "03-05 12:00",
			want: []row{
				{"contact_gap/e1", StateMet, "03-02 10:00", "03-09 10:00", "03-04 10:00"},
				{"contact_gap/e4", StateRunning, "03-04 10:00", "03-10 10:00", ""},
			},
		},
		{
			// Overlapping holds count the time they cover once.
			name: "overlapping holds",
			env:  env,
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kHold, "03-03 10:00", until("03-05 10:00")),
				ev("e3", kHold, "03-04 10:00", until("03-06 10:00")),
				ev("e4", kHold, "03-04 11:00", until("03-05 12:00")),
			},
			now: "03-05 12:00",
			want: []row{
				{"contact_gap/e1", StateRunning, "03-02 10:00", "03-10 10:00", ""},
			},
		},
		{
			// A hold after the due time does not undo the breach.
			name: "hold after due",
			env:  env,
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kHold, "03-08 10:00", until("03-10 10:00")),
			},
			now: "03-08 12:00",
			want: []row{
				{"contact_gap/e1", StateBreached, "03-02 10:00", "03-07 10:00", ""},
			},
		},
		{
			// Other metrics are not paused.
			name: "first_response not paused",
			env:  only(MetricFirstResponse),
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kHold, "03-02 11:00", until("03-05 10:00")),
			},
			now:  "03-05 12:00",
			want: []row{{"first_response/e1", StateBreached, "03-02 10:00", "03-04 10:00", ""}},
		},
	})
}

func TestDeriveTerminalAndReopen(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			// A silent rejection before any reply cancels first_response and starts
			// closure; inbound messages started no reply clock.
			name: "rejected before any reply",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kMessage, "03-02 11:00", inbound()),
				ev("e3", kRejected, "03-03 10:00"),
			},
			now: "03-03 12:00",
			want: []row{
				{"first_response/e1", StateCanceled, "03-02 10:00", "03-04 10:00", "03-03 10:00"},
				{"closure/e3", StateRunning, "03-03 10:00", "03-05 10:00", ""},
			},
		},
		{
			// Telling the candidate meets closure; the closed application gets no
			// contact_gap.
			name: "silent rejection, then told",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e3", kRejected, "03-03 10:00"),
				ev("e4", kMessage, "03-04 10:00"),
			},
			now: "03-06 12:00",
			want: []row{
				{"first_response/e1", StateCanceled, "03-02 10:00", "03-04 10:00", "03-03 10:00"},
				{"closure/e3", StateMet, "03-03 10:00", "03-05 10:00", "03-04 10:00"},
			},
		},
		{
			// A rejection the candidate is told of is a contact: no closure clock, and
			// first_response, late, is breached.
			name: "told rejection, late",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e3", kRejected, "03-05 10:00", notified()),
			},
			now: "03-06 12:00",
			want: []row{
				{"first_response/e1", StateBreached, "03-02 10:00", "03-04 10:00", "03-05 10:00"},
			},
		},
		{
			// A hire (a contact) meets every running clock on time; nothing starts
			// after it.
			name: "hired",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kStage, "03-02 10:00", stage("offer")),
				ev("e3", kHired, "03-03 10:00"),
				ev("e4", kMessage, "03-04 10:00"),
				ev("e5", kMessage, "03-04 11:00", inbound()),
			},
			now: "03-05 12:00",
			want: []row{
				{"first_response/e1", StateMet, "03-02 10:00", "03-04 10:00", "03-03 10:00"},
				{"stage_stall/e2", StateMet, "03-02 10:00", "03-12 10:00", "03-03 10:00"},
			},
		},
		{
			// A withdrawal (not a contact) cancels running clocks, breaches late ones,
			// and drops interview clocks that had not started.
			name: "withdrawn",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kStage, "03-02 10:00", stage("screen"), func(e *interactions.Interaction) { e.ID, e.Key = "e0", "e0" }),
				ev("e3", kScheduled, "03-05 09:00", interview("iv1"), slot("03-09 10:00", "")),
				ev("e4", kWithdrawn, "03-05 10:00"),
			},
			now: "03-06 12:00",
			want: []row{
				{"first_response/e1", StateBreached, "03-02 10:00", "03-04 10:00", "03-05 09:00"},
				{"stage_stall/e0", StateCanceled, "03-02 10:00", "03-12 10:00", "03-05 10:00"},
				{"contact_gap/e3", StateCanceled, "03-05 09:00", "03-10 09:00", "03-05 10:00"},
			},
		},
		{
			// A repeated rejection (another source) leaves the closure clock running.
			name: "repeated rejection",
			env:  only(MetricClosure),
			events: []interactions.Interaction{
				ev("e1", kRejected, "03-02 10:00"),
				ev("e2", kRejected, "03-02 11:00"),
			},
			now:  "03-02 12:00",
			want: []row{{"closure/e1", StateRunning, "03-02 10:00", "03-04 10:00", ""}},
		},
		{
			// Unrejected after a told rejection: contact_gap and stage_stall restart
			// from the reopening.
			name: "unrejected after a told rejection",
			env:  only(MetricContactGap, MetricStageStall, MetricClosure),
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kStage, "03-02 11:00", stage("screen")),
				ev("e3", kRejected, "03-03 10:00", notified()),
				ev("e4", kUnrejected, "03-04 10:00"),
			},
			now: "03-04 12:00",
			want: []row{
				{"contact_gap/e1", StateMet, "03-02 10:00", "03-07 10:00", "03-03 10:00"},
				{"stage_stall/e2", StateMet, "03-02 11:00", "03-12 11:00", "03-03 10:00"},
				{"contact_gap/e4", StateRunning, "03-04 10:00", "03-09 10:00", ""},
				{"stage_stall/e4", StateRunning, "03-04 10:00", "03-14 10:00", ""},
			},
		},
		{
			// Unrejected after a silent rejection of a never-contacted candidate:
			// closure is canceled and first_response restarts.
			name: "unrejected after a silent rejection",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kRejected, "03-02 12:00"),
				ev("e3", kUnrejected, "03-03 10:00"),
			},
			now: "03-03 11:00",
			want: []row{
				{"first_response/e1", StateCanceled, "03-02 10:00", "03-04 10:00", "03-02 12:00"},
				{"closure/e2", StateCanceled, "03-02 12:00", "03-04 12:00", "03-03 10:00"},
				{"first_response/e3", StateRunning, "03-03 10:00", "03-05 10:00", ""},
			},
		},
		{
			// A reopening the candidate is told of starts contact_gap as a contact,
			// and answers the inbound message left unanswered.
			name: "unrejected and told",
			env:  only(MetricContactGap, MetricReply, MetricClosure),
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kRejected, "03-02 12:00"),
				ev("e3", kMessage, "03-02 13:00", inbound()),
				ev("e4", kUnrejected, "03-03 10:00", notified()),
			},
			now: "03-03 11:00",
			want: []row{
				{"contact_gap/e1", StateCanceled, "03-02 10:00", "03-07 10:00", "03-02 12:00"},
				{"closure/e2", StateMet, "03-02 12:00", "03-04 12:00", "03-03 10:00"},
				{"contact_gap/e4", StateRunning, "03-03 10:00", "03-08 10:00", ""},
			},
		},
		{
			// A silent reopening restarts reply for the message left unanswered.
			name: "unrejected with an unanswered message",
			env:  only(MetricContactGap, MetricReply),
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kMessage, "03-02 11:00", inbound()),
				ev("e3", kRejected, "03-02 12:00"),
				ev("e4", kUnrejected, "03-03 10:00"),
			},
			now: "03-03 11:00",
			want: []row{
				{"contact_gap/e1", StateCanceled, "03-02 10:00", "03-07 10:00", "03-02 12:00"},
				{"reply/e2", StateCanceled, "03-02 11:00", "03-03 11:00", "03-02 12:00"},
				{"contact_gap/e4", StateRunning, "03-03 10:00", "03-08 10:00", ""},
				{"reply/e4", StateRunning, "03-03 10:00", "03-04 10:00", ""},
			},
		},
	})
}

func TestDerivePromise(t *testing.T) {
	t.Parallel()
	env := only(MetricPromise)
	promise := ev("e1", kPromise, "03-02 10:00", promisedBy("03-04 17:00"))
	runScenarios(t, []scenario{
		{
			// A contact before promised_by keeps the promise.
			name:   "kept",
			env:    env,
			events: []interactions.Interaction{promise, ev("e2", kMessage, "03-03 10:00")},
			now:    "03-05 10:00",
			want:   []row{{"promise/e1", StateMet, "03-02 10:00", "03-04 17:00", "03-03 10:00"}},
		},
		{
			// A contact after promised_by: broken, recorded as breached.
			name:   "broken, then contact",
			env:    env,
			events: []interactions.Interaction{promise, ev("e2", kMessage, "03-05 10:00")},
			now:    "03-05 11:00",
			want:   []row{{"promise/e1", StateBreached, "03-02 10:00", "03-04 17:00", "03-05 10:00"}},
		},
		{
			// No contact by promised_by: breached.
			name:   "broken, open",
			env:    env,
			events: []interactions.Interaction{promise},
			now:    "03-05 11:00",
			want:   []row{{"promise/e1", StateBreached, "03-02 10:00", "03-04 17:00", ""}},
		},
		{
			// A promise without promised_by starts no clock.
			name:   "no promised_by",
			env:    env,
			events: []interactions.Interaction{ev("e1", kPromise, "03-02 10:00")},
			now:    "03-05 11:00",
		},
		{
			// A new promise the candidate is told of is a contact: it keeps the first
			// and starts its own.
			name: "renewed promise",
			env:  env,
			events: []interactions.Interaction{
				promise,
				ev("e2", kPromise, "03-04 10:00", promisedBy("03-06 17:00"), notified()),
			},
			now: "03-05 11:00",
			want: []row{
				{"promise/e1", StateMet, "03-02 10:00", "03-04 17:00", "03-04 10:00"},
				{"promise/e2", StateRunning, "03-04 10:00", "03-06 17:00", ""},
			},
		},
	})
}

func TestDerivePromiseWarn(t *testing.T) {
	t.Parallel()
	got := Derive([]interactions.Interaction{ev("e1", kPromise, "03-02 10:00", promisedBy("03-04 18:00"))}, only(MetricPromise), moment("03-02 11:00"))
	if len(got) != 1 {
		t.Fatalf("got %d clocks, want 1", len(got))
	}
	// 75% of the 56 hours to promised_by.
	if want := moment("03-04 04:00"); !got[0].WarnAt.Equal(want) {
		t.Errorf("warn_at = %v, want %v", got[0].WarnAt, want)
	}
}

func TestDeriveScope(t *testing.T) {
	t.Parallel()
	yes := true
	referrals := scopedPolicy("referrals", MetricFirstResponse, "4h", Scope{Referral: &yes})
	referrals.Calendar = Calendar24x7
	env := withPolicies(func(ps []Policy) []Policy {
		return append(ps,
			scopedPolicy("eng", MetricFirstResponse, "1d", Scope{Departments: []string{"Engineering"}}),
			referrals,
			scopedPolicy("greenhouse-j9", MetricFirstResponse, "3d", Scope{JobIDs: []string{"j9"}, Sources: []string{"greenhouse"}}),
		)
	})
	tests := []struct {
		name       string
		department string
		opts       []evOpt
		wantPolicy string
		wantDue    string
	}{
		// No scope matches beyond the built-in.
		{"built-in", "", nil, "first_response", "03-04 10:00"},
		// The department comes from Env, matched case-insensitively.
		{"department", "engineering", nil, "eng", "03-03 10:00"},
		// Department beats referral (one dimension each).
		{"department over referral", "engineering", []evOpt{referred()}, "eng", "03-03 10:00"},
		// Referral alone.
		{"referral", "", []evOpt{referred()}, "referrals", "03-02 14:00"},
		// Two dimensions beat one.
		{"job and source", "engineering", []evOpt{job("j9", "greenhouse")}, "greenhouse-j9", "03-05 10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := env
			env.Department = tt.department
			got := Derive([]interactions.Interaction{ev("e1", kReceived, "03-02 10:00", tt.opts...)}, env, moment("03-02 11:00"))
			if len(got) != 1 {
				t.Fatalf("got %d clocks, want 1", len(got))
			}
			if got[0].PolicyID != tt.wantPolicy || short(got[0].DueAt) != tt.wantDue {
				t.Errorf("policy %s due %s, want %s due %s", got[0].PolicyID, short(got[0].DueAt), tt.wantPolicy, tt.wantDue)
			}
		})
	}
}

func TestDeriveExplainAndIdentity(t *testing.T) {
	t.Parallel()
	events := []interactions.Interaction{
		ev("e1", kMessage, "03-02 10:00", arrived("03-02 10:00")),
		ev("e2", kHold, "03-03 10:00", until("03-05 10:00")),
		ev("e3", kCall, "03-06 09:00"),
	}
	got := Derive(events, only(MetricContactGap), moment("03-06 10:00"))
	if len(got) != 2 {
		t.Fatalf("got %d clocks, want 2", len(got))
	}
	want := Clock{
		ClockID:       "app-1/contact_gap/e1",
		ApplicationID: testApp,
		PolicyID:      "contact_gap",
		Metric:        MetricContactGap,
		State:         StateMet,
		StartedAt:     moment("03-02 10:00"),
		WarnAt:        moment("03-08 04:00"), // 90h, then moved 48h by the hold
		DueAt:         moment("03-09 10:00"),
		StoppedAt:     ptr(moment("03-06 09:00")),
		Explain: []string{
			"started by message at 2026-03-02T10:00:00.000Z",
			"policy contact_gap: 5d on the business calendar",
			"paused by hold at 2026-03-03T10:00:00.000Z until 2026-03-05T10:00:00.000Z: due time moved by 48h of calendar time",
			"stopped by call at 2026-03-06T09:00:00.000Z",
		},
		StartedBy:       "e1",
		StartReceivedAt: moment("03-02 10:00"),
	}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("clock (-want +got):\n%s", diff)
	}
}

func TestDeriveMissingCalendar(t *testing.T) {
	t.Parallel()
	env := only(MetricFirstResponse)
	env.Calendars = nil
	got := Derive([]interactions.Interaction{ev("e1", kReceived, "03-02 10:00")}, env, moment("03-02 11:00"))
	if len(got) != 1 || short(got[0].DueAt) != "03-04 10:00" {
		t.Fatalf("got %v, want one clock due 03-04 10:00", rows(got))
	}
	if last := got[0].Explain[len(got[0].Explain)-1]; !strings.Contains(last, `calendar "business" unavailable`) {
		t.Errorf("explain does not say the calendar is missing: %q", got[0].Explain)
	}
}

func TestDeriveEmpty(t *testing.T) {
	t.Parallel()
	if got := Derive(nil, defaultEnv(), moment("03-02 10:00")); len(got) != 0 {
		t.Errorf("Derive(nil) = %v", got)
	}
}

func ptr[T any](v T) *T { return &v }

// officeHours is a business calendar for tests: Monday–Friday 09:00–17:00 UTC, no
// holidays.
type officeHours struct{}

const (
	opens  = 9 * time.Hour
	closes = 17 * time.Hour
)

func dayStart(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func workday(t time.Time) bool { return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday }

// next returns t if it is within business hours, else the next opening.
func (officeHours) next(t time.Time) time.Time {
	t = t.UTC()
	for {
		ds := dayStart(t)
		if workday(ds) {
			if t.Before(ds.Add(opens)) {
				return ds.Add(opens)
			}
			if t.Before(ds.Add(closes)) {
				return t
			}
		}
		t = ds.AddDate(0, 0, 1)
	}
}

func (o officeHours) addBusiness(t time.Time, d time.Duration) time.Time {
	t = o.next(t)
	for {
		end := dayStart(t).Add(closes)
		if left := end.Sub(t); d <= left {
			return t.Add(d)
		}
		d -= end.Sub(t)
		t = o.next(end)
	}
}

func (o officeHours) Add(start time.Time, d interactions.Duration) time.Time {
	s := o.next(start)
	for range d.Days {
		s = s.AddDate(0, 0, 1)
		for !workday(s) {
			s = s.AddDate(0, 0, 1)
		}
	}
	return o.addBusiness(s, d.Rest)
}

func (o officeHours) WarnAt(start time.Time, d interactions.Duration, ratio float64) time.Time {
	s := o.next(start)
	return o.addBusiness(s, time.Duration(ratio*float64(o.Between(s, o.Add(start, d)))))
}

func (officeHours) Between(a, b time.Time) time.Duration {
	var total time.Duration
	for day := dayStart(a); day.Before(b); day = day.AddDate(0, 0, 1) {
		if !workday(day) {
			continue
		}
		from, to := day.Add(opens), day.Add(closes)
		if from.Before(a) {
			from = a
		}
		if to.After(b) {
			to = b
		}
		if to.After(from) {
			total += to.Sub(from)
		}
	}
	return total
}

func (o officeHours) Explain(start time.Time, d interactions.Duration) (time.Time, []string) {
	var lines []string
	if s := o.next(start); !s.Equal(start) {
		lines = append(lines, "started outside business hours; clock starts "+short(s))
	}
	return o.Add(start, d), lines
}

func officeEnv(metrics ...Metric) Env {
	env := only(metrics...)
	env.Calendars = map[string]BusinessClock{CalendarBusiness: officeHours{}, Calendar24x7: Wall{}}
	return env
}

func TestDeriveBusinessCalendar(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			// Friday 16:00 + 2 business days = Tuesday 16:00.
			name:   "over a weekend",
			env:    officeEnv(MetricFirstResponse),
			events: []interactions.Interaction{ev("e1", kReceived, "03-06 16:00")},
			now:    "03-09 10:00",
			want:   []row{{"first_response/e1", StateRunning, "03-06 16:00", "03-10 16:00", ""}},
		},
		{
			// A hold over the weekend covers no business time. (Warning since
			// Thursday 16:00: 30 of the 40 business hours.)
			name: "hold over a weekend",
			env:  officeEnv(MetricContactGap),
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kHold, "03-06 17:00", until("03-09 09:00")),
			},
			now:  "03-06 18:00",
			want: []row{{"contact_gap/e1", StateWarning, "03-02 10:00", "03-09 10:00", ""}},
		},
		{
			// Friday 12:00 to Monday 12:00 is 8 business hours: due one business
			// day later.
			name: "hold counts business time",
			env:  officeEnv(MetricContactGap),
			events: []interactions.Interaction{
				ev("e1", kMessage, "03-02 10:00"),
				ev("e2", kHold, "03-06 12:00", until("03-09 12:00")),
			},
			now:  "03-06 18:00",
			want: []row{{"contact_gap/e1", StateWarning, "03-02 10:00", "03-10 10:00", ""}},
		},
		{
			// The 24x7 interview_outcome policy ignores business hours.
			name:   "24x7 policy on a business calendar",
			env:    officeEnv(MetricInterviewOutcome),
			events: []interactions.Interaction{ev("e1", kScheduled, "03-02 10:00", interview("iv1"), slot("03-07 20:00", ""))},
			now:    "03-07 22:00",
			want:   []row{{"interview_outcome/iv1/e1", StateBreached, "03-07 21:00", "03-07 21:30", ""}},
		},
	})
	got := Derive([]interactions.Interaction{ev("e1", kReceived, "03-07 10:00")}, officeEnv(MetricFirstResponse), moment("03-07 11:00"))
	if len(got) != 1 || !slices.Contains(got[0].Explain, "started outside business hours; clock starts 03-09 09:00") {
		t.Errorf("calendar explain missing: %s", explainAll(got))
	}
	// Warning at 75% of the 16 business hours from Friday 16:00: Tuesday 12:00.
	got = Derive([]interactions.Interaction{ev("e1", kReceived, "03-06 16:00")}, officeEnv(MetricFirstResponse), moment("03-07 11:00"))
	if want := moment("03-10 12:00"); len(got) != 1 || !got[0].WarnAt.Equal(want) {
		t.Errorf("warn_at = %v, want %v", got, want)
	}
}

// TestDeriveOrderIndependent derives random applications from their events in many
// orders: the clocks must not depend on the order, and the input must not change.
func TestDeriveOrderIndependent(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2026, 3))
	// The third has a history: closed clocks come from three versions.
	history := changedAt(officeEnv(Metrics()...), "03-09 00:00",
		defaultEnv(), inForceFrom(withTarget(withTarget(defaultEnv(), MetricReply, "2h"), MetricContactGap, ""), "03-05 12:00"))
	envs := []Env{defaultEnv(), officeEnv(Metrics()...), history}
	clocks := 0
	seenMetric, seenState := map[Metric]bool{}, map[State]bool{}
	for i := range 200 {
		events := randomEvents(r, 5+r.IntN(30))
		env := envs[i%len(envs)]
		now := moment("03-02 00:00").Add(time.Duration(r.IntN(20*24)) * time.Hour)
		want := Derive(events, env, now)
		checkInvariants(t, want, now)
		checkOpenClocks(t, events, want)
		clocks += len(want)
		for _, c := range want {
			seenMetric[c.Metric] = true
			seenState[c.State] = true
		}
		for range 10 {
			shuffled := slices.Clone(events)
			r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			before := slices.Clone(shuffled)
			got := Derive(shuffled, env, now)
			// reflect.DeepEqual first: cmp.Diff is slow, and only needed to show a diff.
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("set %d: clocks depend on event order (-first +shuffled):\n%s", i, cmp.Diff(want, got))
			}
			if !reflect.DeepEqual(before, shuffled) {
				t.Fatalf("set %d: Derive modified its input:\n%s", i, cmp.Diff(before, shuffled))
			}
		}
	}
	if clocks < 700 || len(seenMetric) != len(Metrics()) || len(seenState) != 5 {
		t.Errorf("random applications produced only %d clocks, metrics %v, states %v: the generator is too weak",
			clocks, seenMetric, seenState)
	}
}

// checkOpenClocks checks that an application has at most one open clock of each
// metric that runs alone, and that a closed one has no open clock but closure's.
func checkOpenClocks(t *testing.T, events []interactions.Interaction, clocks []Clock) {
	t.Helper()
	sorted := slices.Clone(events)
	interactions.SortEvents(sorted)
	closed := interactions.DeriveApplication(testApp, sorted).Status != interactions.StatusOpen
	open := map[Metric]int{}
	for _, c := range clocks {
		if !c.Open() {
			continue
		}
		open[c.Metric]++
		if closed && c.Metric != MetricClosure {
			t.Errorf("closed application has open clock %s", c.ClockID)
		}
	}
	for _, m := range []Metric{MetricFirstResponse, MetricReply, MetricContactGap, MetricStageStall, MetricClosure} {
		if open[m] > 1 {
			t.Errorf("%d open %s clocks", open[m], m)
		}
	}
}

// randomEvents returns n plausible-to-absurd events of one application within two
// weeks, on a coarse grid so that some share an occurred_at.
func randomEvents(r *rand.Rand, n int) []interactions.Interaction {
	kinds := []interactions.Kind{
		kReceived, kMessage, kMessage, kMessage, kCall, kStage, kStage, kScheduled, kRescheduled,
		kCanceled, kCompleted, kNoShow, kFeedback, kRejected, kUnrejected, kHired, kWithdrawn,
		kPromise, kHold, kNote, kOffer,
	}
	moment := func() time.Time {
		return moment("03-02 00:00").Add(time.Duration(r.IntN(14*24*4)) * 15 * time.Minute)
	}
	out := make([]interactions.Interaction, 0, n)
	for i := range n {
		k := kinds[r.IntN(len(kinds))]
		e := interactions.Interaction{
			ID:            fmt.Sprintf("e%03d", r.IntN(1000)*1000+i),
			ApplicationID: testApp,
			CandidateID:   "cand-1",
			Kind:          k,
			OccurredAt:    moment(),
			Direction:     testDirection(k),
			Source:        "api",
		}
		e.Key = e.ID
		e.ReceivedAt = e.OccurredAt.Add(time.Duration(r.IntN(3)) * 24 * time.Hour)
		if (k == kMessage || k == kCall) && r.IntN(2) == 0 {
			e.Direction = interactions.Inbound
		}
		if r.IntN(8) == 0 {
			e.CandidateNotified = true
		}
		switch k {
		case kStage:
			e.Stage = []string{"screen", "onsite", "offer"}[r.IntN(3)]
		case kScheduled, kRescheduled, kCanceled, kCompleted, kNoShow, kFeedback:
			e.InterviewID = []string{"iv1", "iv2", ""}[r.IntN(3)]
			if k == kScheduled || k == kRescheduled {
				s := e.OccurredAt.Add(time.Duration(r.IntN(4*24)) * time.Hour)
				e.ScheduledFor = &s
				if r.IntN(2) == 0 {
					d := interactions.Duration{Rest: time.Duration(15+r.IntN(120)) * time.Minute}
					e.Duration = &d
				}
			}
		case kHold:
			u := e.OccurredAt.Add(time.Duration(r.IntN(5*24)) * time.Hour)
			e.Until = &u
		case kPromise:
			if r.IntN(5) > 0 {
				p := e.OccurredAt.Add(time.Duration(r.IntN(5*24)) * time.Hour)
				e.PromisedBy = &p
			}
		}
		out = append(out, e)
	}
	return out
}

// TestDeriveDetailsUpdated: details_updated, whatever it carries, starts, stops and
// moves no clock — not first_response, not stage_stall, not contact_gap.
func TestDeriveDetailsUpdated(t *testing.T) {
	t.Parallel()
	kDetails := interactions.KindDetailsUpdated
	runScenarios(t, []scenario{
		{
			// The first response still waits: the details are no contact.
			name: "no contact",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kDetails, "03-02 11:00", stage("onsite")),
			},
			now:  "03-03 12:00",
			want: []row{{"first_response/e1", StateRunning, "03-02 10:00", "03-04 10:00", ""}},
		},
		{
			// A stage carried by details_updated neither stops the running stage_stall
			// nor starts one.
			name: "stage without clock",
			events: []interactions.Interaction{
				ev("e1", kStage, "03-02 10:00", stage("screen")),
				ev("e2", kDetails, "03-03 10:00", stage("onsite")),
			},
			now:  "03-04 10:00",
			want: []row{{"stage_stall/e1", StateRunning, "03-02 10:00", "03-12 10:00", ""}},
		},
		{
			// Even marked as told (the API refuses that), it is no contact.
			name: "notified is no contact",
			events: []interactions.Interaction{
				ev("e1", kReceived, "03-02 10:00"),
				ev("e2", kDetails, "03-02 11:00", notified()),
			},
			now:  "03-03 12:00",
			want: []row{{"first_response/e1", StateRunning, "03-02 10:00", "03-04 10:00", ""}},
		},
	})
}
