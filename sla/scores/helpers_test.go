package scores

import (
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

// moment parses "01-02 15:04" as that moment of 2026 in UTC. 2026-03-02 is a Monday.
func moment(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", "2026-"+s)
	if err != nil {
		panic(err)
	}
	return t
}

// day parses "01-02" as that date of 2026, midnight UTC.
func day(s string) time.Time { return moment(s + " 00:00") }

type evOpt func(*interactions.Interaction)

// step is one event of an application, before the application's ids are set.
type step struct {
	kind interactions.Kind
	when time.Time
	opts []evOpt
}

func at(kind interactions.Kind, when string, opts ...evOpt) step {
	return step{kind: kind, when: moment(when), opts: opts}
}

func inbound() evOpt  { return func(e *interactions.Interaction) { e.Direction = interactions.Inbound } }
func notified() evOpt { return func(e *interactions.Interaction) { e.CandidateNotified = true } }
func score(n int) evOpt {
	return func(e *interactions.Interaction) { e.Score = &n }
}
func stage(s string) evOpt { return func(e *interactions.Interaction) { e.Stage = s } }
func recruiter(r string) evOpt {
	return func(e *interactions.Interaction) { e.RecruiterID = r }
}

// interview sets the interview id and, unless when is "", its time (one hour long).
func interview(id, when string) evOpt {
	return func(e *interactions.Interaction) {
		e.InterviewID = id
		if when != "" {
			t := moment(when)
			e.ScheduledFor = &t
		}
	}
}

// utc is the scenarios' zone.
func utc() *time.Location { return time.UTC }

// wall counts every policy 24x7: "2d" is 48 hours.
var wall = sla.Env{
	Policies:  sla.DefaultPolicies(),
	Calendars: map[string]sla.BusinessClock{sla.CalendarBusiness: sla.Wall{}, sla.Calendar24x7: sla.Wall{}},
}

// app is one application of a scenario.
type app struct {
	id, recruiter, job string
	steps              []step
}

// events builds the application's interactions: message and call outbound unless
// told, other kinds in their fixed direction; each arrives when it occurs.
func (a app) events() []interactions.Interaction {
	var out []interactions.Interaction
	for i, s := range a.steps {
		e := interactions.Interaction{
			ID: a.id + "-" + string(rune('a'+i)), ApplicationID: a.id, CandidateID: "cand-" + a.id,
			Kind: s.kind, OccurredAt: s.when, ReceivedAt: s.when, Direction: direction(s.kind),
			Source: "api", RecruiterID: a.recruiter, JobID: a.job,
		}
		e.Key = e.ID
		for _, o := range s.opts {
			o(&e)
		}
		out = append(out, e)
	}
	interactions.SortEvents(out)
	return out
}

func direction(k interactions.Kind) interactions.Direction {
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

// apply derives the application and its clocks at now, as the SLA engine does, and
// applies them to the book.
func apply(b *Book, env sla.Env, now time.Time, a app) {
	events := a.events()
	b.Apply(interactions.DeriveApplication(a.id, events), sla.Derive(events, env, now), now)
}

// book is a book in zone with the applications applied at now.
func book(zone *time.Location, env sla.Env, now time.Time, apps ...app) *Book {
	b := NewBook(func() *time.Location { return zone })
	for _, a := range apps {
		apply(b, env, now, a)
	}
	return b
}

const (
	evReceived   = interactions.KindApplicationReceived
	evMessage    = interactions.KindMessage
	evCall       = interactions.KindCall
	evScheduled  = interactions.KindInterviewScheduled
	evCompleted  = interactions.KindInterviewCompleted
	evFeedback   = interactions.KindFeedbackSubmitted
	evStage      = interactions.KindStageChanged
	evOffer      = interactions.KindOfferExtended
	evRejected   = interactions.KindRejected
	evUnrejected = interactions.KindUnrejected
	evHired      = interactions.KindHired
	evWithdrawn  = interactions.KindWithdrawn
	evSurvey     = interactions.KindSurveyResponse
)
