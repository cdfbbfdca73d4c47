package sla

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// BusinessClock does deadline arithmetic on a calendar. Implementations must be pure
// and safe for concurrent use.
type BusinessClock interface {
	// Add returns the deadline of a target d started at start.
	Add(start time.Time, d interactions.Duration) time.Time
	// WarnAt returns the moment when ratio (0–1) of the target's time has elapsed.
	WarnAt(start time.Time, d interactions.Duration, ratio float64) time.Time
	// Between returns the calendar time elapsed from a to b; zero if b is not after a.
	Between(a, b time.Time) time.Duration
	// Explain returns Add(start, d) and the calendar rules (weekend, holiday, outside
	// hours) that set it, one line each; no lines when none did.
	Explain(start time.Time, d interactions.Duration) (time.Time, []string)
}

// *BusinessCalendar (calendar.go) implements BusinessClock; derive_test.go checks it.

// Wall is the 24x7 calendar: every moment counts and a day is 24 hours.
type Wall struct{}

// Add returns start + d, a day counted as 24 hours.
func (Wall) Add(start time.Time, d interactions.Duration) time.Time { return start.Add(d.Wall()) }

// WarnAt returns start + ratio × d.
func (Wall) WarnAt(start time.Time, d interactions.Duration, ratio float64) time.Time {
	return start.Add(time.Duration(ratio * float64(d.Wall())))
}

// Between returns b − a, or zero if b is not after a.
func (Wall) Between(a, b time.Time) time.Duration { return max(b.Sub(a), 0) }

// Explain returns Add(start, d) and no lines: no calendar rule moves a 24x7 deadline.
func (w Wall) Explain(start time.Time, d interactions.Duration) (time.Time, []string) {
	return w.Add(start, d), nil
}

// Env is what a derivation depends on besides the application's events.
type Env struct {
	// Policies are all policies of the organisation; Select picks one per clock.
	Policies []Policy
	// Calendars by Policy.Calendar name (CalendarBusiness, Calendar24x7). A 24x7 policy
	// without an entry counts on Wall; so does one whose calendar is missing otherwise,
	// and its clocks say so in their explain.
	Calendars map[string]BusinessClock
	// Department is the department of the application's job, "" if unknown: scope
	// matching needs it and the compact events do not carry it.
	Department string
	// Since is when these policies and calendar took effect; zero means they always
	// were in force.
	Since time.Time
	// Earlier are the policies and calendars in force before Since, oldest first: each
	// from its own Since until the next one's, the last until this Env's Since. A clock
	// that stopped before Since keeps what it was under the Env in force when it
	// stopped; open clocks, and clocks that stopped from Since on, follow this Env. Their
	// own Department and Earlier are ignored: the application's department is this
	// Env's.
	Earlier []Env
	// Pools are the talent pools by id, for nurture clocks (DeriveNurture).
	Pools map[string]Pool
}

// Derive computes the SLA clocks of one application from its interactions, by the
// rules docs/sla-clocks.md states. It is a pure function: the events are ordered by (occurred_at, id) inside, so the
// same events in any order give the same clocks, and the input is not modified. now
// only sets the state (running, warning, breached) of clocks still open; it never
// decides whether a clock starts or stops. The clocks are ordered by started_at, then
// clock_id.
//
// A clock that re-derivation no longer produces (a late event changed history) is
// gone: callers should resolve what they keep for it. Times are compared at their
// instants: a clock is warning from WarnAt and breached from DueAt on, and a stop at
// exactly DueAt is met.
//
// Rules beyond the contract's table, where it is silent:
//   - Clocks start only while the application is open, except closure. A terminal event
//     (rejected, hired, withdrawn) that repeats the application's current status
//     changes nothing (a second source reporting it); another one stops every open
//     clock, and drops interview clocks whose start is still ahead.
//   - closure starts only at the rejection that closes an open application.
//   - first_response starts at the first application_received, unless the candidate was
//     already contacted (e.g. sourced candidates): then contact_gap is running.
//   - reply starts at an inbound message when no reply or first_response clock is open;
//     every contact answers all earlier inbound messages.
//   - stage_stall: a stage_changed to the current stage (a duplicate) is ignored.
//   - interview_outcome starts at scheduled_for + duration of the latest
//     interview_scheduled or interview_rescheduled for that interview_id. A reschedule or
//     cancellation before that moment drops the pending clock (it never started);
//     after it, the clock stops canceled (breached if past due). A reschedule without
//     scheduled_for ends the old clocks and starts none. An outcome recorded before
//     the scheduled end meets the clock (stopped_at before started_at).
//   - interview_feedback starts at the first interview_completed of an interview; until
//     one comes, a clock runs from the scheduled end, which the completion replaces
//     (that clock is dropped) and a no-show, cancellation or reschedule cancels. At most
//     one feedback clock per interview is open; feedback_submitted stops it.
//   - Interview events without an interview_id form one interview of their own.
//   - hold pauses the open contact_gap and stage_stall clocks, and those that start
//     during it, from the hold (or the clock's start) to until: their warn and due times
//     move by the calendar time it covers. A hold never ends early; overlapping holds
//     extend to the latest until. A clock already past due is not paused.
//   - promise: due at promised_by (the policy's target is unused), warning at warn_ratio
//     of the calendar time between; a promise without promised_by starts no clock. Each
//     promise has its own clock; any contact stops all open ones.
//   - unrejected (or any reopening) cancels an open closure clock and restarts, from the
//     reopening: first_response if there was an application_received and never a
//     contact, else contact_gap; stage_stall in the current stage; reply if an inbound
//     message is unanswered. Interview and promise clocks do not restart.
//   - Scope facts: job id, source and referral are the application's (from all its
//     events); the stage is the one the application is in after the event that starts
//     the clock (for stage_stall, the stage entered).
//
// Changes of policies and calendar (env.Earlier): a clock is decided by the policies
// and calendar in force when it stopped, an open one by the current ones. So a change
// recomputes open clocks from their start and leaves closed ones as they were: each
// clock that stopped before env.Since is taken, with its outcome and deadlines, from
// the derivation under the Env in force at its stopped_at. A clock that Env gave no
// clock to (its policy was disabled or did not match then) did not exist and does not
// now; one that only an earlier Env gave keeps existing (disabling a policy stops new
// clocks, it does not erase closed ones). Since every stopped_at is the occurred_at of
// an event, an earlier Env is derived with only when some event occurred while it was
// in force.
func Derive(events []interactions.Interaction, env Env, now time.Time) []Clock {
	if len(events) == 0 {
		return nil
	}
	sorted := slices.Clone(events)
	interactions.SortEvents(sorted)
	out := deriveSorted(sorted, env, now)
	if len(env.Earlier) == 0 {
		return out
	}
	return keepClosed(sorted, out, env, now)
}

// keepClosed replaces the clocks of cur (derived under env) that stopped before
// env.Since with those the earlier Envs gave, each in the window it was in force.
func keepClosed(sorted []interactions.Interaction, cur []Clock, env Env, now time.Time) []Clock {
	out := cur[:0]
	seen := map[string]bool{}
	for _, c := range cur {
		if c.Open() || !c.StoppedAt.Before(env.Since) {
			out = append(out, c)
			seen[c.ClockID] = true
		}
	}
	for i := len(env.Earlier) - 1; i >= 0; i-- {
		old, until := env.Earlier[i], env.Since
		if i+1 < len(env.Earlier) {
			until = env.Earlier[i+1].Since
		}
		if !eventBetween(sorted, old.Since, until) {
			continue // nothing stopped while it was in force
		}
		old.Department, old.Earlier = env.Department, nil
		for _, c := range deriveSorted(sorted, old, now) {
			if c.Open() || c.StoppedAt.Before(old.Since) || !c.StoppedAt.Before(until) || seen[c.ClockID] {
				continue
			}
			seen[c.ClockID] = true
			c.Explain = append(c.Explain, fmt.Sprintf("kept as decided by the policies and calendar in force when it stopped, which changed at %s", apiTime(until)))
			out = append(out, c)
		}
	}
	sortClocks(out)
	return out
}

// eventBetween reports whether an event of sorted occurred in [from, until), at the
// millisecond precision of stopped_at.
func eventBetween(sorted []interactions.Interaction, from, until time.Time) bool {
	i, _ := slices.BinarySearchFunc(sorted, from, func(e interactions.Interaction, t time.Time) int {
		return ms(e.OccurredAt).Compare(t)
	})
	return i < len(sorted) && ms(sorted[i].OccurredAt).Before(until)
}

// deriveSorted is Derive of events already in order, under env alone.
func deriveSorted(sorted []interactions.Interaction, env Env, now time.Time) []Clock {
	app := interactions.DeriveApplication(sorted[0].ApplicationID, sorted)
	d := &deriver{
		env:    env,
		appID:  app.ID,
		status: interactions.StatusOpen,
		facts: AppFacts{
			JobID:      app.JobID,
			Department: env.Department,
			Source:     app.Source,
			Referral:   app.Referral,
		},
		feedbackDone: map[string]bool{},
	}
	for i := range sorted {
		d.apply(&sorted[i])
	}
	out := make([]Clock, 0, len(d.all))
	for _, c := range d.all {
		if c.dropped {
			continue
		}
		if c.Open() {
			c.State = c.StateAt(now)
		}
		out = append(out, c.Clock)
	}
	sortClocks(out)
	return out
}

// sortClocks orders clocks by started_at, then clock_id.
func sortClocks(clocks []Clock) {
	slices.SortFunc(clocks, func(a, b Clock) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ClockID, b.ClockID)
	})
}

// liveClock is a clock being derived.
type liveClock struct {
	Clock
	cal      BusinessClock
	pausable bool // contact_gap and stage_stall: held by a hold
	implicit bool // interview_feedback started at the scheduled end, not by a completion
	dropped  bool // never started, or replaced: not part of the result
}

// deriver holds the state of one application while its events are applied in order.
type deriver struct {
	env    Env
	appID  string
	facts  AppFacts // Stage is the current stage
	status interactions.Status
	all    []*liveClock // every clock started, in order
	open   []*liveClock // those not stopped yet

	received   bool                      // an application_received was seen
	contacted  bool                      // a contact was seen
	unanswered *interactions.Interaction // earliest inbound message since the last contact

	holdUntil time.Time                 // the latest end of the holds seen so far
	hold      *interactions.Interaction // the hold that set holdUntil

	feedbackDone map[string]bool // interview id → feedback submitted since it was last scheduled
}

// stopRule says how a stop resolves a clock.
type stopRule int

const (
	// stopDone is the clock's own stop condition: met, or breached if late.
	stopDone stopRule = iota
	// stopMoot makes the clock pointless: canceled, or breached if late; a clock that
	// has not started yet is dropped.
	stopMoot
	// stopTerminal is a terminal event: met if the event is a contact and on time,
	// breached if late, else canceled; a clock that has not started yet is dropped.
	stopTerminal
)

func (d *deriver) isOpen() bool { return d.status == interactions.StatusOpen }

// apply applies one event: first what a contact stops, then what the event's kind
// does, then the contact_gap a contact starts.
func (d *deriver) apply(e *interactions.Interaction) {
	contact := e.IsContact()
	if contact {
		d.contacted = true
		d.unanswered = nil
		for _, c := range d.openClocks(func(c *liveClock) bool {
			switch c.Metric {
			case MetricFirstResponse, MetricReply, MetricContactGap, MetricClosure, MetricPromise:
				return true
			}
			return false
		}) {
			d.stop(c, e, stopDone, "")
		}
	}

	switch e.Kind {
	case interactions.KindApplicationReceived:
		if !d.received {
			d.received = true
			if d.isOpen() && !d.contacted {
				d.start(MetricFirstResponse, e, e.OccurredAt, "", "")
			}
		}
	case interactions.KindMessage:
		if e.Direction == interactions.Inbound && !contact {
			if d.unanswered == nil {
				d.unanswered = e
			}
			if d.isOpen() && !d.hasOpen(MetricFirstResponse) && !d.hasOpen(MetricReply) {
				d.start(MetricReply, e, e.OccurredAt, "", "")
			}
		}
	case interactions.KindStageChanged:
		d.stageChanged(e)
	case interactions.KindInterviewScheduled, interactions.KindInterviewRescheduled:
		d.interviewScheduled(e)
	case interactions.KindInterviewCompleted:
		d.interviewCompleted(e)
	case interactions.KindInterviewNoShow, interactions.KindInterviewCanceled:
		d.interviewGone(e)
	case interactions.KindFeedbackSubmitted:
		d.feedbackSubmitted(e)
	case interactions.KindHold:
		d.holdFrom(e)
	case interactions.KindPromise:
		if d.isOpen() && e.PromisedBy != nil {
			d.start(MetricPromise, e, e.OccurredAt, "", "")
		}
	case interactions.KindRejected, interactions.KindHired, interactions.KindWithdrawn:
		d.terminal(e)
	case interactions.KindUnrejected:
		d.reopen(e, contact)
	}

	if contact && d.isOpen() {
		d.start(MetricContactGap, e, e.OccurredAt, "", "")
	}
}

func (d *deriver) stageChanged(e *interactions.Interaction) {
	if e.Stage == "" || e.Stage == d.facts.Stage {
		return
	}
	for _, c := range d.openClocks(metricIs(MetricStageStall)) {
		d.stop(c, e, stopDone, "")
	}
	d.facts.Stage = e.Stage
	if d.isOpen() {
		d.start(MetricStageStall, e, e.OccurredAt, "", fmt.Sprintf("started by stage_changed to %q at %s", e.Stage, apiTime(e.OccurredAt)))
	}
}

func (d *deriver) interviewScheduled(e *interactions.Interaction) {
	id := e.InterviewID
	for _, c := range d.openClocks(interviewIs(id)) {
		if c.Metric == MetricInterviewOutcome || c.implicit {
			d.stop(c, e, stopMoot, "")
		}
	}
	delete(d.feedbackDone, id)
	if !d.isOpen() || e.ScheduledFor == nil {
		return
	}
	end := e.ScheduledFor.Add(e.InterviewDuration())
	why := fmt.Sprintf("started at the end of the interview set by %s at %s: %s + %s",
		e.Kind, apiTime(e.OccurredAt), apiTime(*e.ScheduledFor), shortDuration(e.InterviewDuration()))
	d.start(MetricInterviewOutcome, e, end, id, why)
	if len(d.openClocks(func(c *liveClock) bool { return c.Metric == MetricInterviewFeedback && c.InterviewID == id })) == 0 {
		if c := d.start(MetricInterviewFeedback, e, end, id, why+" (until an interview_completed comes)"); c != nil {
			c.implicit = true
		}
	}
}

func (d *deriver) interviewCompleted(e *interactions.Interaction) {
	id := e.InterviewID
	explicit := false
	for _, c := range d.openClocks(interviewIs(id)) {
		switch {
		case c.Metric == MetricInterviewOutcome:
			d.stop(c, e, stopDone, "")
		case c.implicit:
			c.dropped = true // the completion is the feedback clock's start
			d.removeOpen(c)
		case c.Metric == MetricInterviewFeedback:
			explicit = true
		}
	}
	if d.isOpen() && !explicit && !d.feedbackDone[id] {
		d.start(MetricInterviewFeedback, e, e.OccurredAt, id, "")
	}
}

// interviewGone handles a no-show (the outcome is known, no feedback is due) and a
// cancellation (neither is due).
func (d *deriver) interviewGone(e *interactions.Interaction) {
	for _, c := range d.openClocks(interviewIs(e.InterviewID)) {
		switch {
		case c.Metric == MetricInterviewOutcome && e.Kind == interactions.KindInterviewNoShow:
			d.stop(c, e, stopDone, "")
		case c.Metric == MetricInterviewOutcome || c.implicit:
			d.stop(c, e, stopMoot, "")
		}
	}
}

func (d *deriver) feedbackSubmitted(e *interactions.Interaction) {
	for _, c := range d.openClocks(interviewIs(e.InterviewID)) {
		d.stop(c, e, stopDone, "")
	}
	d.feedbackDone[e.InterviewID] = true
}

// holdFrom pauses the pausable clocks for the part of the hold not already covered by
// earlier holds.
func (d *deriver) holdFrom(e *interactions.Interaction) {
	if e.Until == nil {
		return
	}
	from := e.OccurredAt
	if d.holdUntil.After(from) {
		from = d.holdUntil
	}
	if !e.Until.After(from) {
		return
	}
	for _, c := range d.openClocks(func(c *liveClock) bool { return c.pausable }) {
		d.pause(c, from, *e.Until, e)
	}
	d.holdUntil, d.hold = *e.Until, e
}

func (d *deriver) terminal(e *interactions.Interaction) {
	status := interactions.StatusRejected
	switch e.Kind {
	case interactions.KindHired:
		status = interactions.StatusHired
	case interactions.KindWithdrawn:
		status = interactions.StatusWithdrawn
	}
	if d.status == status {
		return
	}
	wasOpen := d.isOpen()
	for _, c := range d.openClocks(nil) {
		d.stop(c, e, stopTerminal, "the application closed")
	}
	d.status = status
	if e.Kind == interactions.KindRejected && wasOpen && !e.CandidateNotified {
		d.start(MetricClosure, e, e.OccurredAt, "", fmt.Sprintf("started by rejected at %s without candidate_notified", apiTime(e.OccurredAt)))
	}
}

// reopen handles unrejected; contact says whether the event is itself a contact (then
// apply starts contact_gap).
func (d *deriver) reopen(e *interactions.Interaction, contact bool) {
	if d.isOpen() {
		return
	}
	for _, c := range d.openClocks(metricIs(MetricClosure)) {
		d.stop(c, e, stopMoot, "the application reopened")
	}
	d.status = interactions.StatusOpen
	why := fmt.Sprintf("started by unrejected at %s: the application reopened", apiTime(e.OccurredAt))
	switch {
	case d.received && !d.contacted:
		d.start(MetricFirstResponse, e, e.OccurredAt, "", why)
	case d.contacted && !contact:
		d.start(MetricContactGap, e, e.OccurredAt, "", why)
	}
	if d.facts.Stage != "" {
		d.start(MetricStageStall, e, e.OccurredAt, "", why+fmt.Sprintf(", in stage %q", d.facts.Stage))
	}
	if d.unanswered != nil && !d.hasOpen(MetricFirstResponse) {
		d.start(MetricReply, e, e.OccurredAt, "", why+fmt.Sprintf(", with the inbound message of %s unanswered", apiTime(d.unanswered.OccurredAt)))
	}
}

// start starts a clock of metric m at the given moment, started by the interaction by,
// if a policy applies; why replaces the default first explain line. It returns nil
// when no enabled policy applies.
func (d *deriver) start(m Metric, by *interactions.Interaction, at time.Time, interviewID, why string) *liveClock {
	p, ok := Select(d.env.Policies, m, d.facts)
	if !ok {
		return nil
	}
	cal, calNote := d.calendar(p)
	id := clockID(d.appID, m, interviewID, by.ID)
	if why == "" {
		why = fmt.Sprintf("started by %s at %s", by.Kind, apiTime(by.OccurredAt))
	}
	c := &liveClock{
		Clock: Clock{
			ClockID:         id,
			ApplicationID:   d.appID,
			PolicyID:        p.ID,
			Metric:          m,
			State:           StateRunning,
			InterviewID:     interviewID,
			StartedAt:       ms(at),
			Explain:         []string{why},
			StartedBy:       by.ID,
			StartReceivedAt: ms(by.ReceivedAt),
		},
		cal:      cal,
		pausable: m == MetricContactGap || m == MetricStageStall,
	}
	if m == MetricPromise {
		due := *by.PromisedBy
		c.DueAt, c.WarnAt = ms(due), ms(due)
		if due.After(at) {
			span := interactions.Duration{Rest: cal.Between(at, due)}
			c.WarnAt = ms(minTime(cal.WarnAt(at, span, p.warnRatio()), due))
		}
		c.Explain = append(c.Explain, fmt.Sprintf("policy %s: due at promised_by %s, on the %s calendar", p.ID, apiTime(due), p.calendarName()))
	} else {
		due, rules := cal.Explain(at, p.Target)
		c.DueAt = ms(due)
		c.WarnAt = ms(minTime(cal.WarnAt(at, p.Target, p.warnRatio()), due))
		c.Explain = append(c.Explain, fmt.Sprintf("policy %s: %s on the %s calendar", p.ID, p.Target, p.calendarName()))
		c.Explain = append(c.Explain, rules...)
	}
	if calNote != "" {
		c.Explain = append(c.Explain, calNote)
	}
	if c.pausable && d.holdUntil.After(at) {
		d.pause(c, at, d.holdUntil, d.hold)
	}
	d.all = append(d.all, c)
	d.open = append(d.open, c)
	return c
}

// calendar returns the calendar a policy counts on, and a note for the explain when it
// is missing.
func (d *deriver) calendar(p Policy) (BusinessClock, string) {
	name := p.calendarName()
	if c, ok := d.env.Calendars[name]; ok && c != nil {
		return c, ""
	}
	if name == Calendar24x7 {
		return Wall{}, ""
	}
	return Wall{}, fmt.Sprintf("calendar %q unavailable: counted 24x7", name)
}

// stop stops an open clock at the event's time by the given rule; note, if any, is
// added to the explain line.
func (d *deriver) stop(c *liveClock, e *interactions.Interaction, rule stopRule, note string) {
	d.removeOpen(c)
	t := e.OccurredAt
	if rule != stopDone && t.Before(c.StartedAt) {
		c.dropped = true
		return
	}
	switch {
	case t.After(c.DueAt):
		c.State = StateBreached
	case rule == stopDone, rule == stopTerminal && e.IsContact():
		c.State = StateMet
	default:
		c.State = StateCanceled
	}
	stopped := ms(t)
	c.StoppedAt = &stopped
	line := fmt.Sprintf("stopped by %s at %s", e.Kind, apiTime(t))
	if note != "" {
		line += ": " + note
	}
	if c.State == StateBreached {
		line += " (after the due time)"
	}
	c.Explain = append(c.Explain, line)
}

// pause moves a clock's warn and due times by the calendar time between from and
// until, for the hold h.
func (d *deriver) pause(c *liveClock, from, until time.Time, h *interactions.Interaction) {
	if !c.DueAt.After(from) {
		c.Explain = append(c.Explain, fmt.Sprintf("hold at %s until %s: no effect, the clock was already past due", apiTime(h.OccurredAt), apiTime(until)))
		return
	}
	x := c.cal.Between(from, until)
	if x > 0 {
		ext := interactions.Duration{Rest: x}
		if c.WarnAt.After(from) {
			c.WarnAt = ms(c.cal.Add(c.WarnAt, ext))
		}
		c.DueAt = ms(c.cal.Add(c.DueAt, ext))
	}
	c.Explain = append(c.Explain, fmt.Sprintf("paused by hold at %s until %s: due time moved by %s of calendar time", apiTime(h.OccurredAt), apiTime(until), shortDuration(x)))
}

// openClocks returns the open clocks that match (all when match is nil), as a new
// slice so that callers may stop them while iterating.
func (d *deriver) openClocks(match func(*liveClock) bool) []*liveClock {
	var out []*liveClock
	for _, c := range d.open {
		if match == nil || match(c) {
			out = append(out, c)
		}
	}
	return out
}

func (d *deriver) hasOpen(m Metric) bool { return len(d.openClocks(metricIs(m))) > 0 }

func (d *deriver) removeOpen(c *liveClock) {
	d.open = slices.DeleteFunc(d.open, func(o *liveClock) bool { return o == c })
}

func metricIs(m Metric) func(*liveClock) bool {
	return func(c *liveClock) bool { return c.Metric == m }
}

// interviewIs matches the interview clocks of one interview.
func interviewIs(id string) func(*liveClock) bool {
	return func(c *liveClock) bool {
		return (c.Metric == MetricInterviewOutcome || c.Metric == MetricInterviewFeedback) && c.InterviewID == id
	}
}

// ms is t in UTC at millisecond precision, as stored.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func apiTime(t time.Time) string { return interactions.APITime(t) }

// shortDuration renders d in the API's notation, e.g. "16h" or "1h30m".
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return interactions.Duration{Rest: d.Truncate(time.Second)}.String()
}
