package interactions

import (
	"encoding/json"
	"strings"
	"time"
)

// Kind is what happened in an interaction.
type Kind string

// The kinds of interaction.
const (
	KindApplicationReceived  Kind = "application_received"
	KindMessage              Kind = "message"
	KindCall                 Kind = "call"
	KindInterviewScheduled   Kind = "interview_scheduled"
	KindInterviewRescheduled Kind = "interview_rescheduled"
	KindInterviewCanceled    Kind = "interview_canceled"
	KindInterviewCompleted   Kind = "interview_completed"
	KindInterviewNoShow      Kind = "interview_no_show"
	KindFeedbackSubmitted    Kind = "feedback_submitted"
	KindStageChanged         Kind = "stage_changed"
	KindOfferExtended        Kind = "offer_extended"
	KindRejected             Kind = "rejected"
	KindUnrejected           Kind = "unrejected"
	KindHired                Kind = "hired"
	KindWithdrawn            Kind = "withdrawn"
	KindSurveyResponse       Kind = "survey_response"
	KindPromise              Kind = "promise"
	KindHold                 Kind = "hold"
	KindNote                 Kind = "note"
	// KindDetailsUpdated records details an ATS sync read (candidate, job, owning
	// recruiter, stage, attribution). It is internal, never a contact, and starts or
	// stops no clock; like any event it updates the candidate, the job and the
	// application's owner, and its attribution is the application's when it has none.
	KindDetailsUpdated Kind = "details_updated"
	// KindPoolAdded and KindPoolRemoved start and end a candidate's membership of a
	// talent pool (pool_id). They name no application: they are candidate-level events.
	KindPoolAdded   Kind = "pool_added"
	KindPoolRemoved Kind = "pool_removed"
)

// Direction says who an interaction went from and to.
type Direction string

// The directions.
const (
	Inbound  Direction = "inbound"  // from the candidate
	Outbound Direction = "outbound" // to the candidate
	Internal Direction = "internal" // among the hiring team
)

// fixedDirection is the direction of every kind but message and call, which take
// theirs from the request.
var fixedDirection = map[Kind]Direction{
	KindApplicationReceived:  Inbound,
	KindSurveyResponse:       Inbound,
	KindWithdrawn:            Inbound,
	KindInterviewScheduled:   Outbound,
	KindInterviewRescheduled: Outbound,
	KindInterviewCanceled:    Outbound,
	KindOfferExtended:        Outbound,
	KindRejected:             Outbound,
	KindUnrejected:           Outbound,
	KindHired:                Outbound,
	KindPromise:              Outbound,
	KindInterviewCompleted:   Internal,
	KindInterviewNoShow:      Internal,
	KindFeedbackSubmitted:    Internal,
	KindStageChanged:         Internal,
	KindHold:                 Internal,
	KindNote:                 Internal,
	KindDetailsUpdated:       Internal,
	KindPoolAdded:            Internal,
	KindPoolRemoved:          Internal,
}

// Channels an interaction may take place on.
var channels = map[string]bool{
	"email": true, "sms": true, "phone": true, "video": true,
	"onsite": true, "ats": true, "portal": true, "other": true,
}

// Person is a candidate's contact details. They are personal data: erasure removes them.
type Person struct {
	Name  string `bson:"name,omitempty" json:"name,omitempty"`
	Email string `bson:"email,omitempty" json:"email,omitempty"`
	Phone string `bson:"phone,omitempty" json:"phone,omitempty"`
}

// IsZero reports whether no detail is set.
func (p Person) IsZero() bool { return p == Person{} }

// JobInfo describes a job.
type JobInfo struct {
	Title      string `bson:"title,omitempty" json:"title,omitempty"`
	Department string `bson:"department,omitempty" json:"department,omitempty"`
}

// Attribution says where a candidate came from, UTM-like: the marketing source
// (a job board, a career site, a referral programme), its medium and campaign, and
// the employee who referred them. It is not the interaction's Source, which names
// the system that sent the event. Source, Medium and Campaign are trimmed and
// lower-cased; ReferrerID, an employee id as hired's EmployeeID carries it, is trimmed.
type Attribution struct {
	Source     string `bson:"source,omitempty" json:"source,omitempty"`
	Medium     string `bson:"medium,omitempty" json:"medium,omitempty"`
	Campaign   string `bson:"campaign,omitempty" json:"campaign,omitempty"`
	ReferrerID string `bson:"referrer_id,omitempty" json:"referrer_id,omitempty"`
}

// NoAttribution is the key applications without an attribution source (or campaign)
// are grouped under.
const NoAttribution = "(none)"

// SourceKey is the attribution source an application groups under: NoAttribution
// when there is none.
func (a *Attribution) SourceKey() string {
	if a == nil || a.Source == "" {
		return NoAttribution
	}
	return a.Source
}

// CampaignKey is the campaign an application groups under: NoAttribution when there
// is none.
func (a *Attribution) CampaignKey() string {
	if a == nil || a.Campaign == "" {
		return NoAttribution
	}
	return a.Campaign
}

// Normalized returns the attribution with its keys trimmed (and source, medium and
// campaign lower-cased), nil when nothing is left.
func (a *Attribution) Normalized() *Attribution {
	if a == nil {
		return nil
	}
	n := Attribution{
		Source:     strings.ToLower(strings.TrimSpace(a.Source)),
		Medium:     strings.ToLower(strings.TrimSpace(a.Medium)),
		Campaign:   strings.ToLower(strings.TrimSpace(a.Campaign)),
		ReferrerID: strings.TrimSpace(a.ReferrerID),
	}
	if n == (Attribution{}) {
		return nil
	}
	return &n
}

// Interaction is one recruiter–candidate touchpoint as stored. Times are UTC with
// millisecond precision.
type Interaction struct {
	// Key is the document's _id: the idempotency key "<source>:<external_id>" when the
	// interaction has an external_id, else its ID.
	Key string `bson:"_id" json:"-"`
	ID  string `bson:"id" json:"id"`
	// ApplicationID is empty for candidate-level events (see CandidateLevel).
	ApplicationID     string     `bson:"application_id" json:"application_id,omitempty"`
	CandidateID       string     `bson:"candidate_id" json:"candidate_id"`
	Kind              Kind       `bson:"kind" json:"kind"`
	OccurredAt        time.Time  `bson:"occurred_at" json:"occurred_at"`
	Direction         Direction  `bson:"direction" json:"direction"`
	Channel           string     `bson:"channel,omitempty" json:"channel,omitempty"`
	JobID             string     `bson:"job_id,omitempty" json:"job_id,omitempty"`
	RecruiterID       string     `bson:"recruiter_id,omitempty" json:"recruiter_id,omitempty"`
	ActorID           string     `bson:"actor_id,omitempty" json:"actor_id,omitempty"`
	Source            string     `bson:"source" json:"source"`
	ExternalID        string     `bson:"external_id,omitempty" json:"external_id,omitempty"`
	CandidateNotified bool       `bson:"candidate_notified,omitempty" json:"candidate_notified,omitempty"`
	ScheduledFor      *time.Time `bson:"scheduled_for,omitempty" json:"scheduled_for,omitempty"`
	Duration          *Duration  `bson:"duration,omitempty" json:"duration,omitempty"`
	InterviewID       string     `bson:"interview_id,omitempty" json:"interview_id,omitempty"`
	Stage             string     `bson:"stage,omitempty" json:"stage,omitempty"`
	PoolID            string     `bson:"pool_id,omitempty" json:"pool_id,omitempty"`
	Score             *int       `bson:"score,omitempty" json:"score,omitempty"`
	Until             *time.Time `bson:"until,omitempty" json:"until,omitempty"`
	PromisedBy        *time.Time `bson:"promised_by,omitempty" json:"promised_by,omitempty"`
	Candidate         *Person    `bson:"candidate,omitempty" json:"candidate,omitempty"`
	Job               *JobInfo   `bson:"job,omitempty" json:"job,omitempty"`
	Referral          bool       `bson:"referral,omitempty" json:"referral,omitempty"`
	// Attribution is where the candidate came from, on application_received (and on
	// the ATS sync's details_updated: see Input.FromSync).
	Attribution *Attribution `bson:"attribution,omitempty" json:"attribution,omitempty"`
	// EmployeeID is the new hire's id in the company, on hired.
	EmployeeID string         `bson:"employee_id,omitempty" json:"employee_id,omitempty"`
	Metadata   map[string]any `bson:"metadata,omitempty" json:"metadata,omitempty"`
	ReceivedAt time.Time      `bson:"received_at" json:"received_at"`
	// Seq is the number of the write batch that stored it, when several replicas share
	// the store: the others follow the log by it (see Tail).
	Seq int64 `bson:"seq,omitempty" json:"-"`
	// Backdated is set on a self-reported touchpoint (see SelfReported) logged more
	// than BackdatedAfter after it occurred. It is shown, and counts as it is.
	Backdated bool `bson:"backdated,omitempty" json:"backdated,omitempty"`
	// Erased is set when the candidate's personal data was removed from this interaction.
	Erased bool `bson:"erased,omitempty" json:"erased,omitempty"`
	// Duplicate is set on a write's answer when the idempotency key was already stored
	// and the original is returned instead.
	Duplicate bool `bson:"-" json:"duplicate,omitempty"`
}

// IsContact reports whether the interaction counts as a contact with the candidate:
// an outbound message or call, a scheduled, rescheduled or completed interview, an
// offer, a hire, or any event the candidate was notified of. details_updated never is.
func (in *Interaction) IsContact() bool {
	switch in.Kind {
	case KindDetailsUpdated:
		return false
	case KindMessage, KindCall:
		return in.Direction == Outbound || in.CandidateNotified
	case KindInterviewScheduled, KindInterviewRescheduled, KindInterviewCompleted, KindOfferExtended, KindHired:
		return true
	}
	return in.CandidateNotified
}

// InterviewDuration is the interview's length, one hour when none was given.
func (in *Interaction) InterviewDuration() time.Duration {
	if in.Duration == nil {
		return time.Hour
	}
	return in.Duration.Wall()
}

// IdempotencyKey is the document key of an interaction with an external id.
func IdempotencyKey(source, externalID string) string { return source + ":" + externalID }

// APITime formats t as the API does: RFC 3339, UTC, millisecond precision.
func APITime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func apiTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return APITime(*t)
}

// MarshalJSON renders the interaction with times in the API's format.
func (in Interaction) MarshalJSON() ([]byte, error) {
	type plain Interaction // no methods, so no recursion
	return json.Marshal(struct {
		plain
		OccurredAt   string `json:"occurred_at"`
		ReceivedAt   string `json:"received_at"`
		ScheduledFor string `json:"scheduled_for,omitempty"`
		Until        string `json:"until,omitempty"`
		PromisedBy   string `json:"promised_by,omitempty"`
	}{
		plain:        plain(in),
		OccurredAt:   APITime(in.OccurredAt),
		ReceivedAt:   APITime(in.ReceivedAt),
		ScheduledFor: apiTimePtr(in.ScheduledFor),
		Until:        apiTimePtr(in.Until),
		PromisedBy:   apiTimePtr(in.PromisedBy),
	})
}
