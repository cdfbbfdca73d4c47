// Package scores keeps the candidate-experience roll-ups: counters and fixed-bucket
// histograms per recruiter and job per day, maintained as applications and their
// clocks change, so that a score query reads O(groups × days) and never scans the
// interaction log. Teams and the organisation are sums of recruiter roll-ups at query
// time, so moving a recruiter to another team moves their history with them.
package scores

import (
	"encoding/json"
	"time"
)

// GroupBy is the dimension a score query groups by.
type GroupBy string

// The dimensions.
const (
	ByRecruiter GroupBy = "recruiter"
	ByJob       GroupBy = "job"
	ByTeam      GroupBy = "team"
	ByOrg       GroupBy = "org"
	// ByAttributionSource and ByCampaign group applications by where they came from
	// (interactions.Attribution); those without one form the group "(none)".
	ByAttributionSource GroupBy = "attribution_source"
	ByCampaign          GroupBy = "campaign"
)

// MinRespondents is the smallest group whose survey figures are shown: below it one
// candidate's answer could be inferred, so the figures are hidden (nil).
const MinRespondents = 5

// Query selects the roll-ups a score query reads.
type Query struct {
	GroupBy GroupBy
	// From and To are calendar days in the book's zone, both included. Only their
	// dates count, read in their own location: midnight in the book's zone and a
	// "YYYY-MM-DD" parsed as UTC name the same day. A zero value leaves that end open.
	From, To time.Time
	// Recruiters, when not nil, restricts the query to these recruiters' applications
	// (a recruiter key sees its own and its reports'; the dashboard's drill-down).
	Recruiters []string
	// Teams maps recruiter ids to their team, for ByTeam; recruiters not in it form
	// the team "".
	Teams map[string]string
}

// Group is one row of scores. Pointer fields are nil when there is nothing to
// measure (no samples, or fewer than MinRespondents survey answers).
type Group struct {
	Key                   string             `json:"key"`
	Name                  string             `json:"name"`
	Applications          int                `json:"applications"`
	FirstResponseP50Hours *float64           `json:"first_response_p50_hours"`
	FirstResponseP90Hours *float64           `json:"first_response_p90_hours"`
	FirstResponsePending  int                `json:"first_response_pending"`
	ReplyP50Hours         *float64           `json:"reply_p50_hours"`
	AttainmentByMetric    map[string]float64 `json:"attainment_by_metric"`
	SLAAttainment         *float64           `json:"sla_attainment"`
	Breaches              int                `json:"breaches"`
	SilentNow             int                `json:"silent_now"`
	Ghosted               int                `json:"ghosted"`
	GhostingRate          *float64           `json:"ghosting_rate"`
	Interviews            int                `json:"interviews"`
	MissedInterviews      int                `json:"missed_interviews"`
	SurveyResponses       *int               `json:"survey_responses"` // nil below MinRespondents, or withheld (suppress.go)
	CNPS                  *int               `json:"cnps"`
	ExperienceScore       *int               `json:"experience_score"`

	// The funnel, grouped by attribution source or campaign only (nil otherwise): the
	// period's applications that reached each step, and the median whole days from
	// application to hire.
	Contacted         *int     `json:"contacted,omitempty"`
	Interviewed       *int     `json:"interviewed,omitempty"`
	Offered           *int     `json:"offered,omitempty"`
	Hired             *int     `json:"hired,omitempty"`
	TimeToHireP50Days Optional `json:"time_to_hire_p50_days,omitzero"`
	// Cost, grouped by attribution source only, filled in by the caller (see
	// PeriodSpend): the period's spend on the source divided by its applications and
	// by its hires; null where no spend is known or nothing to divide by.
	CostPerApplication Optional `json:"cost_per_application,omitzero"`
	CostPerHire        Optional `json:"cost_per_hire,omitzero"`

	// The referral loop, in the org group only: hires received through a referral,
	// their share of the hires, and hires whose employee id later referred someone.
	ReferralHires        *int     `json:"referral_hires,omitempty"`
	ReferralShareOfHires Optional `json:"referral_share_of_hires,omitzero"`
	HiresWhoReferred     *int     `json:"hires_who_referred,omitempty"`
}

// Optional is a figure a group carries only in some groupings: left out of the JSON
// when not Set, null when Set without a Value.
type Optional struct {
	Set   bool
	Value *float64
}

// Some returns a set Optional: null when v is nil.
func Some(v *float64) Optional { return Optional{Set: true, Value: v} }

// IsZero reports whether the figure is left out.
func (o Optional) IsZero() bool { return !o.Set }

// MarshalJSON writes the value, or null.
func (o Optional) MarshalJSON() ([]byte, error) { return appendFloatPtr(nil, o.Value), nil }

// Sentiment compares the survey answers of candidates whose clocks were all met with
// those of candidates who lived through a breach.
type Sentiment struct {
	AllMet   Cohort `json:"all_met"`
	Breached Cohort `json:"breached"`
}

// Cohort is the survey figures of one side of Sentiment; CNPS is nil below
// MinRespondents responses, and so is Responses (its size alone would tell too much
// about a tiny group).
type Cohort struct {
	Responses *int `json:"responses"`
	CNPS      *int `json:"cnps"`
}

// Week is one point of the dashboard's trend: the organisation's (or the query's
// recruiters') figures for the week starting on Start (a Monday).
type Week struct {
	Start                 time.Time `json:"start"`
	SLAAttainment         *float64  `json:"sla_attainment"`
	FirstResponseP50Hours *float64  `json:"first_response_p50_hours"`
	Breaches              int       `json:"breaches"`
}

// HeatMap counts breaches by weekday (0 = Monday) and hour of the day in the book's
// zone, by the moment each clock became overdue.
type HeatMap [7][24]int

// Funnel is how far the applications received in the period got, and how long they
// spent in each stage.
type Funnel struct {
	Steps  []FunnelStep `json:"steps"`
	Stages []StageTime  `json:"stages"`
}

// FunnelStep counts applications that reached a step: applied, contacted,
// interviewed, offered, hired.
type FunnelStep struct {
	Step         string `json:"step"`
	Applications int    `json:"applications"`
}

// StageTime is the mean wall-clock hours applications spent in a stage they left.
type StageTime struct {
	Stage     string  `json:"stage"`
	MeanHours float64 `json:"mean_hours"`
	Left      int     `json:"left"`
}

// UnmarshalJSON reads a value or null as a set figure.
func (o *Optional) UnmarshalJSON(b []byte) error {
	o.Set, o.Value = true, nil
	if string(b) == "null" {
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}
