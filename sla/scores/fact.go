package scores

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

// Keys of the counters a series holds per day. Each is a count of applications,
// clocks, events or samples; kStage entries come in pairs per interned stage:
// applications that left it, and the minutes they spent in it.
const (
	kApps            = iota // applications received (cohort day)
	kPending                // open, received, never contacted
	kRejected               // rejected (current status)
	kGhostedRejected        // rejected with no contact at or after the rejection
	kContacted              // funnel: received and contacted
	kInterviewed            // funnel: received and an interview scheduled
	kOffered                // funnel: received and an offer extended
	kHired                  // funnel: received and hired
	kInterviews             // interviews, on the day of their scheduled time
	kSurveys                // survey responses, on their day
	kPromoters              // of which 9–10
	kDetractors             // of which 0–6
	kAllMet                 // survey responses of applications none of whose clocks can breach
	kAllMetPromoters
	kAllMetDetractors
	kReferralHired                         // funnel: received through a referral and hired
	kWhoReferred                           // funnel: hired, and the hire's employee id later referred someone
	kMet                                   // + metric index: met clocks, on their stopped_at day
	kBreached      = kMet + nMetrics       // + metric index: breached clocks, on their due day
	kHour          = kBreached + nMetrics  // + hour of the due moment: breached clocks
	kFirst         = kHour + 24            // + bucket: first-response times, cohort day
	kReply         = kFirst + nBuckets     // + bucket: reply times, on the inbound message's day
	kHireDays      = kReply + nBuckets     // + whole days from application to hire: hires, cohort day
	kStage         = kHireDays + nHireDays // + 2×stage: left the stage; +1: minutes spent in it
)

// nHireDays is how many time-to-hire buckets there are: whole days 0 to 365, the last
// holding every longer time.
const nHireDays = 366

// nMetrics is len(sla.Metrics()); a test keeps them equal.
const nMetrics = 8

// Keys of timed entries: facts that change with the moment of the query.
const (
	tSilent = iota // an open application's earliest open first_response or contact_gap due time
	// Survey responses (promoter, passive, detractor) of an application that has a
	// breached clock from the entry's time on.
	tPromoter
	tPassive
	tDetractor
)

// never is the time of what does not happen, in Unix milliseconds.
const never int64 = math.MaxInt64

// monthOfSilence is how long a first_response or contact_gap clock stays breached
// before an open application counts as ghosted.
const monthOfSilence = 30 * 24 * time.Hour

// metricIndex is the position of each metric in sla.Metrics().
var metricIndex = func() map[sla.Metric]int {
	m := map[sla.Metric]int{}
	for i, metric := range sla.Metrics() {
		if i < nMetrics {
			m[metric] = i
		}
	}
	return m
}()

// contrib is one counter an application adds to its series.
type contrib struct {
	day int32
	key uint32
	val int32
}

// timedContrib is one timed entry an application adds to its series.
type timedContrib struct {
	at  int64 // Unix milliseconds
	day int32
	key uint32
}

// stageTime is time spent in a stage, before the stage name is interned.
type stageTime struct {
	day     int32
	stage   string
	minutes int32
}

// rawFact is what an application contributes, computed without the book's lock.
type rawFact struct {
	recruiter, job   string
	source, campaign string // attribution keys
	counts           []contrib
	timed            []timedContrib
	stages           []stageTime
	links            *links // nil when the application neither is a hire with an employee id nor was referred
}

// links is what ties applications together in the referral loop: a hire's employee
// id, and the employee who referred an application.
type links struct {
	cohort     int32  // the application's day
	employee   string // hired with this employee id
	hireAt     int64  // Unix ms of the hire
	referrer   string // received through this employee's referral
	receivedAt int64  // Unix ms of the application
}

// dayOf returns the calendar day of t in loc as days since 1970-01-01, and the hour.
func dayOf(t time.Time, loc *time.Location) (day int32, hour int) {
	_, off := t.In(loc).Zone()
	s := t.Unix() + int64(off)
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return int32(d), int((s - d*86400) / 3600)
}

// dateDay returns t's calendar date, in t's own location, as days since 1970-01-01.
func dateDay(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// dayDate is the midnight in loc that starts day.
func dayDate(day int32, loc *time.Location) time.Time {
	y, m, d := time.Unix(int64(day)*86400, 0).UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// weekday is the day's weekday, 0 = Monday (1970-01-01 was a Thursday).
func weekday(day int32) int { return int(((day+3)%7 + 7) % 7) }

// factOf computes what an application contributes, by the attribution rules of
// docs/scores.md: status figures on the cohort day (the first
// application_received, else the first event), events on their own day.
func factOf(app interactions.Application, clocks []sla.Clock, now time.Time, loc *time.Location) rawFact {
	f := rawFact{recruiter: app.RecruiterID, job: app.JobID,
		source: app.Attribution.SourceKey(), campaign: app.Attribution.CampaignKey()}
	events := app.Events
	if len(events) == 0 {
		return f
	}
	if !slices.IsSortedFunc(events, eventOrder) {
		events = slices.Clone(events)
		interactions.SortEvents(events)
	}
	day := func(t time.Time) int32 { d, _ := dayOf(t, loc); return d }
	add := func(d int32, key int, val int32) {
		f.counts = append(f.counts, contrib{day: d, key: uint32(key), val: val})
	}

	// One pass over the events.
	var (
		received                    *time.Time
		contacted, contactedEarly   bool       // contactedEarly: before application_received
		firstContact                *time.Time // the first contact at or after application_received
		interviewed, offered, hired bool
		hiredAt                     time.Time
		status                      = interactions.StatusOpen
		toldOfRejection             bool // a contact at or after the rejection
		stage                       string
		stageSince                  time.Time
		inStage                     bool
		interviews                  []interviewAt // by first mention
		contactTimes                []int64       // Unix ms of every contact, ascending
	)
	contactAt := func(ms int64) bool { _, found := slices.BinarySearch(contactTimes, ms); return found }
	leaveStage := func(at time.Time) {
		if inStage {
			f.stages = append(f.stages, stageTime{stage: stage, minutes: int32(max(at.Sub(stageSince), 0) / time.Minute)})
			inStage = false
		}
	}
	for i := range events {
		e := &events[i]
		t := e.OccurredAt
		if e.IsContact() {
			contacted = true
			contactTimes = append(contactTimes, t.UnixMilli())
			if received == nil {
				contactedEarly = true
			} else if firstContact == nil {
				firstContact = &t
			}
			if status == interactions.StatusRejected {
				toldOfRejection = true
			}
		}
		switch e.Kind {
		case interactions.KindApplicationReceived:
			if received == nil {
				received = &t
			}
		case interactions.KindInterviewScheduled, interactions.KindInterviewRescheduled:
			iv := findInterview(&interviews, e.InterviewID)
			if e.Kind == interactions.KindInterviewScheduled {
				interviewed, iv.scheduled = true, true
				if iv.at.IsZero() {
					iv.at = t // until a scheduled_for says when
				}
			}
			if e.ScheduledFor != nil {
				iv.at = *e.ScheduledFor
			}
		case interactions.KindOfferExtended:
			offered = true
		case interactions.KindStageChanged:
			if e.Stage != "" && e.Stage != stage {
				leaveStage(t)
				stage, stageSince, inStage = e.Stage, t, true
			}
		case interactions.KindRejected, interactions.KindHired, interactions.KindWithdrawn:
			next := interactions.StatusRejected
			switch e.Kind {
			case interactions.KindHired:
				next, hired = interactions.StatusHired, true
			case interactions.KindWithdrawn:
				next = interactions.StatusWithdrawn
			}
			if status != next {
				leaveStage(t)
				status = next
				hiredAt = t
				// A contact at the same instant, ordered before the rejection, told the candidate too.
				toldOfRejection = contactAt(t.UnixMilli())
			}
		case interactions.KindUnrejected:
			if status != interactions.StatusOpen {
				status = interactions.StatusOpen
				if stage != "" {
					stageSince, inStage = t, true
				}
			}
		}
	}

	cohortAt := events[0].OccurredAt
	if received != nil {
		cohortAt = *received
	}
	cohort := day(cohortAt)
	open := status == interactions.StatusOpen

	if received != nil {
		add(cohort, kApps, 1)
		if open && !contacted {
			add(cohort, kPending, 1)
		}
		if firstContact != nil && !contactedEarly {
			add(cohort, kFirst+bucketOf(firstContact.Sub(*received)), 1)
		}
		for _, step := range [...]struct {
			key     int
			reached bool
		}{{kContacted, contacted}, {kInterviewed, interviewed}, {kOffered, offered}, {kHired, hired}} {
			if step.reached {
				add(cohort, step.key, 1)
			}
		}
		for i := range f.stages {
			f.stages[i].day = cohort
		}
		hiredNow := status == interactions.StatusHired
		if hiredNow {
			add(cohort, kHireDays+hireDaysBucket(hiredAt.Sub(*received)), 1)
			if app.Referral {
				add(cohort, kReferralHired, 1)
			}
		}
		var l links
		if hiredNow && app.EmployeeID != "" {
			l.employee, l.hireAt = app.EmployeeID, hiredAt.UnixMilli()
		}
		if app.Attribution != nil && app.Attribution.ReferrerID != "" {
			l.referrer, l.receivedAt = app.Attribution.ReferrerID, received.UnixMilli()
		}
		if l.employee != "" || l.referrer != "" {
			l.cohort = cohort
			f.links = &l
		}
	} else {
		f.stages = nil
	}
	if status == interactions.StatusRejected {
		add(cohort, kRejected, 1)
		if !toldOfRejection {
			add(cohort, kGhostedRejected, 1)
		}
	}
	for _, iv := range interviews {
		if iv.scheduled {
			add(day(iv.at), kInterviews, 1)
		}
	}

	// Clocks: attainment, breaches, reply times; the earliest moment the application
	// has a breached clock, and the due time that makes it silent.
	breachAt, silentDue := never, never
	for i := range clocks {
		c := &clocks[i]
		m, ok := metricIndex[c.Metric]
		if !ok {
			continue
		}
		state := c.StateAt(now)
		switch state {
		case sla.StateMet:
			if c.StoppedAt != nil {
				add(day(*c.StoppedAt), kMet+m, 1)
			}
		case sla.StateBreached:
			d, h := dayOf(c.DueAt, loc)
			add(d, kBreached+m, 1)
			add(d, kHour+h, 1)
		}
		if state == sla.StateBreached || c.Open() {
			breachAt = min(breachAt, c.DueAt.UnixMilli())
		}
		if open && c.Open() && (c.Metric == sla.MetricFirstResponse || c.Metric == sla.MetricContactGap) {
			silentDue = min(silentDue, c.DueAt.UnixMilli())
		}
		if c.Metric == sla.MetricReply && c.StoppedAt != nil && contactAt(c.StoppedAt.UnixMilli()) {
			if msg := findEvent(events, c.StartedBy); msg != nil && msg.Kind == interactions.KindMessage && msg.Direction == interactions.Inbound {
				add(day(msg.OccurredAt), kReply+bucketOf(c.StoppedAt.Sub(msg.OccurredAt)), 1)
			}
		}
	}
	if silentDue != never {
		f.timed = append(f.timed, timedContrib{day: cohort, key: tSilent, at: silentDue})
	}

	// Survey responses, split by whether the application breaches.
	for i := range events {
		e := &events[i]
		if e.Kind != interactions.KindSurveyResponse || e.Score == nil {
			continue
		}
		d := day(e.OccurredAt)
		add(d, kSurveys, 1)
		class := tPassive
		switch s := *e.Score; {
		case s >= 9:
			add(d, kPromoters, 1)
			class = tPromoter
		case s <= 6:
			add(d, kDetractors, 1)
			class = tDetractor
		}
		if breachAt != never {
			f.timed = append(f.timed, timedContrib{day: d, key: uint32(class), at: breachAt})
			continue
		}
		add(d, kAllMet, 1)
		switch class {
		case tPromoter:
			add(d, kAllMetPromoters, 1)
		case tDetractor:
			add(d, kAllMetDetractors, 1)
		}
	}
	return f
}

// hireDaysBucket is the time-to-hire bucket of d: its whole days, rounded, at most
// nHireDays−1; negative durations count as 0.
func hireDaysBucket(d time.Duration) int {
	days := int(math.Round(d.Hours() / 24))
	return min(max(days, 0), nHireDays-1)
}

// interviewAt is one interview_id of an application.
type interviewAt struct {
	id        string
	at        time.Time // when it takes place: the latest scheduled_for
	scheduled bool      // an interview_scheduled names it
}

func findInterview(list *[]interviewAt, id string) *interviewAt {
	for i := range *list {
		if (*list)[i].id == id {
			return &(*list)[i]
		}
	}
	*list = append(*list, interviewAt{id: id})
	return &(*list)[len(*list)-1]
}

func findEvent(events []interactions.Interaction, id string) *interactions.Interaction {
	for i := range events {
		if events[i].ID == id {
			return &events[i]
		}
	}
	return nil
}

func eventOrder(a, b interactions.Interaction) int {
	if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}
