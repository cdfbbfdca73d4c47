package sla

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/goodwillhq/goodwill/interactions"
)

// Metric is what an SLA clock measures.
type Metric string

// The metrics.
const (
	MetricFirstResponse     Metric = "first_response"     // application received → first contact
	MetricReply             Metric = "reply"              // unanswered inbound message → next contact
	MetricContactGap        Metric = "contact_gap"        // a contact → the next contact (silent candidate)
	MetricStageStall        Metric = "stage_stall"        // entering a stage → leaving it
	MetricInterviewOutcome  Metric = "interview_outcome"  // interview end → completed, no-show or feedback (missed interview)
	MetricInterviewFeedback Metric = "interview_feedback" // interview completed → feedback submitted
	MetricClosure           Metric = "closure"            // silent rejection → the candidate is told
	MetricPromise           Metric = "promise"            // a promise → a contact by promised_by
)

// Metrics returns every metric, in the contract's order.
func Metrics() []Metric {
	return []Metric{
		MetricFirstResponse, MetricReply, MetricContactGap, MetricStageStall,
		MetricInterviewOutcome, MetricInterviewFeedback, MetricClosure, MetricPromise,
	}
}

// Valid reports whether m is one of the metrics.
func (m Metric) Valid() bool { return slices.Contains(Metrics(), m) }

// The calendars a policy can count on.
const (
	CalendarBusiness = "business" // the organisation's business calendar
	Calendar24x7     = "24x7"     // wall-clock time
)

// DefaultWarnRatio is the fraction of a target after which a clock warns when a policy
// leaves warn_ratio unset (zero).
const DefaultWarnRatio = 0.75

// Scope narrows the applications a policy applies to. An empty list (or a nil
// Referral) leaves its dimension unconstrained; a set dimension matches when the
// application's value is in the list. Job ids compare exactly; departments, stages and
// sources, being labels typed by people and ATSs, compare case-insensitively.
type Scope struct {
	JobIDs      []string `bson:"job_ids,omitempty" json:"job_ids,omitempty"`
	Departments []string `bson:"departments,omitempty" json:"departments,omitempty"`
	// Stages match the stage the application is in when the clock starts; for
	// stage_stall that is the stage being stalled in.
	Stages   []string `bson:"stages,omitempty" json:"stages,omitempty"`
	Sources  []string `bson:"sources,omitempty" json:"sources,omitempty"`
	Referral *bool    `bson:"referral,omitempty" json:"referral,omitempty"`
}

// dims reports which dimensions are set, in tie-break priority order: job_ids,
// departments, stages, sources, referral.
func (s Scope) dims() [5]bool {
	return [5]bool{len(s.JobIDs) > 0, len(s.Departments) > 0, len(s.Stages) > 0, len(s.Sources) > 0, s.Referral != nil}
}

// Matches reports whether the application falls within the scope.
func (s Scope) Matches(app AppFacts) bool {
	if len(s.JobIDs) > 0 && !slices.Contains(s.JobIDs, app.JobID) {
		return false
	}
	if len(s.Departments) > 0 && !containsFold(s.Departments, app.Department) {
		return false
	}
	if len(s.Stages) > 0 && !containsFold(s.Stages, app.Stage) {
		return false
	}
	if len(s.Sources) > 0 && !containsFold(s.Sources, app.Source) {
		return false
	}
	if s.Referral != nil && *s.Referral != app.Referral {
		return false
	}
	return true
}

func containsFold(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// AppFacts are what a policy's scope is matched against. Derive fills them from the
// application's events: the latest job id, the source (of application_received, else
// of the first event), referral (any event flagged), the department it is given, and
// the stage the application is in when the clock starts.
type AppFacts struct {
	JobID      string
	Department string
	Stage      string
	Source     string
	Referral   bool
}

// Policy is an SLA target for one metric, narrowed by a scope.
type Policy struct {
	ID     string `bson:"_id" json:"id"`
	Name   string `bson:"name" json:"name"`
	Metric Metric `bson:"metric" json:"metric"`
	// Target is the time allowed from a clock's start to its due time, counted on
	// Calendar: "2d" on the business calendar is two business days. Unused by the
	// promise metric, whose clocks are due at the promise's promised_by.
	Target interactions.Duration `bson:"target" json:"target"`
	// Calendar is CalendarBusiness or Calendar24x7; empty means business.
	Calendar string `bson:"calendar" json:"calendar"`
	// WarnRatio is the fraction of the target after which the clock warns, in (0, 1];
	// zero means DefaultWarnRatio. 1 means no warning before the breach.
	WarnRatio float64 `bson:"warn_ratio" json:"warn_ratio"`
	Scope     Scope   `bson:"scope" json:"scope"`
	// EscalateAfter is how long a breach alert may stay unacknowledged before it
	// escalates to the recruiter's manager; zero means it never escalates.
	EscalateAfter interactions.Duration `bson:"escalate_after" json:"escalate_after"`
	// MaxEscalations is how many times an unacknowledged breach escalates, one manager
	// further up each time, escalate_after apart: 1 (the default; 0 means it) reaches
	// the recruiter's manager only, 2 also that manager's manager, and so on, up to
	// MaxEscalationsLimit.
	MaxEscalations int `bson:"max_escalations,omitempty" json:"max_escalations"`
	// Enabled false means applications this policy is selected for get no clock of its
	// metric.
	Enabled bool `bson:"enabled" json:"enabled"`
	// BuiltIn marks the default policies: they can be changed and disabled, not
	// deleted. Set by the server; a request's value is to be ignored.
	BuiltIn bool `bson:"built_in" json:"built_in"`
}

// DefaultPolicies returns the built-in policy of each metric, enabled,
// unscoped, with the metric's name as id. The promise policy has a zero target: its
// clocks are due at the promise's promised_by.
func DefaultPolicies() []Policy {
	def := func(m Metric, name, target, calendar string) Policy {
		return Policy{
			ID:             string(m),
			Name:           name,
			Metric:         m,
			Target:         interactions.MustParseDuration(target),
			Calendar:       calendar,
			WarnRatio:      DefaultWarnRatio,
			EscalateAfter:  interactions.MustParseDuration("4h"),
			MaxEscalations: 1,
			Enabled:        true,
			BuiltIn:        true,
		}
	}
	return []Policy{
		def(MetricFirstResponse, "First response", "2d", CalendarBusiness),
		def(MetricReply, "Reply to the candidate", "1d", CalendarBusiness),
		def(MetricContactGap, "Silent candidate", "5d", CalendarBusiness),
		def(MetricStageStall, "Stage stall", "10d", CalendarBusiness),
		def(MetricInterviewOutcome, "Missed interview", "30m", Calendar24x7),
		def(MetricInterviewFeedback, "Interview feedback", "1d", CalendarBusiness),
		def(MetricClosure, "Closure after rejection", "2d", CalendarBusiness),
		def(MetricPromise, "Promise kept", "0s", CalendarBusiness),
	}
}

// WithDefaults returns p with its unset fields filled: the business calendar,
// DefaultWarnRatio, one escalation, and the id as name.
func (p Policy) WithDefaults() Policy {
	if p.MaxEscalations == 0 {
		p.MaxEscalations = 1
	}
	if p.Calendar == "" {
		p.Calendar = CalendarBusiness
	}
	if p.WarnRatio == 0 {
		p.WarnRatio = DefaultWarnRatio
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	return p
}

// warnRatio is the effective warn ratio.
func (p Policy) warnRatio() float64 {
	if p.WarnRatio == 0 {
		return DefaultWarnRatio
	}
	return p.WarnRatio
}

// calendarName is the effective calendar name.
func (p Policy) calendarName() string {
	if p.Calendar == "" {
		return CalendarBusiness
	}
	return p.Calendar
}

var policyIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

const maxScopeEntry = 200

// MaxEscalationsLimit is the most escalations a policy may ask for.
const MaxEscalationsLimit = 10

// Validate checks the policy and returns one FieldError per problem, named as in the
// JSON (e.g. "warn_ratio", "scope.stages[2]"); none means valid. It does not check
// rules that need the stored policies (a built-in's metric must not change).
func (p Policy) Validate() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !policyIDRE.MatchString(p.ID) {
		add("id", "must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	if len(p.Name) > maxScopeEntry {
		add("name", "must be at most %d characters", maxScopeEntry)
	}
	if !p.Metric.Valid() {
		add("metric", "must be one of %s", metricList())
	}
	if p.Metric != MetricPromise && p.Target.IsZero() {
		add("target", "must be more than zero")
	}
	switch p.Calendar {
	case "", CalendarBusiness, Calendar24x7:
	default:
		add("calendar", "must be %q or %q", CalendarBusiness, Calendar24x7)
	}
	if math.IsNaN(p.WarnRatio) || p.WarnRatio < 0 || p.WarnRatio > 1 {
		add("warn_ratio", "must be more than 0 and at most 1 (0 means the default %.2f)", DefaultWarnRatio)
	}
	if p.MaxEscalations < 0 || p.MaxEscalations > MaxEscalationsLimit {
		add("max_escalations", "must be from 1 to %d (0 means the default 1)", MaxEscalationsLimit)
	}
	lists := []struct {
		field string
		list  []string
	}{
		{"scope.job_ids", p.Scope.JobIDs},
		{"scope.departments", p.Scope.Departments},
		{"scope.stages", p.Scope.Stages},
		{"scope.sources", p.Scope.Sources},
	}
	for _, l := range lists {
		for i, v := range l.list {
			if strings.TrimSpace(v) == "" || len(v) > maxScopeEntry {
				add(fmt.Sprintf("%s[%d]", l.field, i), "must be a non-empty string of at most %d characters", maxScopeEntry)
			}
		}
	}
	return errs
}

func metricList() string {
	names := make([]string, 0, len(Metrics()))
	for _, m := range Metrics() {
		names = append(names, string(m))
	}
	return strings.Join(names, ", ")
}

// Select returns the policy that governs metric for an application: among the
// policies of that metric whose scope matches, the one with the most constrained
// dimensions; ties go to the policy whose set dimensions come first in the order
// job_ids, departments, stages, sources, referral, then to the smaller id. ok is false
// when no policy matches or the selected one is disabled (then it is returned, so
// callers can say why): no clock of that metric.
func Select(policies []Policy, metric Metric, app AppFacts) (p Policy, ok bool) {
	var best *Policy
	for i := range policies {
		c := &policies[i]
		if c.Metric != metric || !c.Scope.Matches(app) {
			continue
		}
		if best == nil || morePrecise(c, best) {
			best = c
		}
	}
	if best == nil {
		return Policy{}, false
	}
	return *best, best.Enabled
}

// morePrecise reports whether a wins over b in Select.
func morePrecise(a, b *Policy) bool {
	ad, bd := a.Scope.dims(), b.Scope.dims()
	if na, nb := countTrue(ad), countTrue(bd); na != nb {
		return na > nb
	}
	for i := range ad {
		if ad[i] != bd[i] {
			return ad[i]
		}
	}
	return a.ID < b.ID
}

func countTrue(b [5]bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}
