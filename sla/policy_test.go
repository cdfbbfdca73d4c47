package sla

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
)

func TestDefaultPolicies(t *testing.T) {
	t.Parallel()
	ps := DefaultPolicies()
	if len(ps) != len(Metrics()) {
		t.Fatalf("%d default policies, want one per metric (%d)", len(ps), len(Metrics()))
	}
	want := map[Metric]struct{ target, calendar string }{
		MetricFirstResponse:     {"2d", CalendarBusiness},
		MetricReply:             {"1d", CalendarBusiness},
		MetricContactGap:        {"5d", CalendarBusiness},
		MetricStageStall:        {"10d", CalendarBusiness},
		MetricInterviewOutcome:  {"30m", Calendar24x7},
		MetricInterviewFeedback: {"1d", CalendarBusiness},
		MetricClosure:           {"2d", CalendarBusiness},
		MetricPromise:           {"0s", CalendarBusiness},
	}
	for i, p := range ps {
		if p.Metric != Metrics()[i] || p.ID != string(p.Metric) {
			t.Errorf("policy %d is %s (id %s), want %s", i, p.Metric, p.ID, Metrics()[i])
		}
		w := want[p.Metric]
		if p.Target.String() != w.target || p.Calendar != w.calendar {
			t.Errorf("%s: target %s on %s, want %s on %s", p.ID, p.Target, p.Calendar, w.target, w.calendar)
		}
		if !p.Enabled || !p.BuiltIn || p.WarnRatio != DefaultWarnRatio || p.Name == "" || p.EscalateAfter.String() != "4h" {
			t.Errorf("%s: %+v", p.ID, p)
		}
		if errs := p.Validate(); len(errs) > 0 {
			t.Errorf("%s: built-in policy invalid: %v", p.ID, errs)
		}
	}
}

func TestPolicyJSON(t *testing.T) {
	t.Parallel()
	p := DefaultPolicies()[0]
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"first_response","name":"First response","metric":"first_response","target":"2d","calendar":"business","warn_ratio":0.75,"scope":{},"escalate_after":"4h","max_escalations":1,"enabled":true,"built_in":true}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	const scoped = `{"id":"eng","metric":"reply","target":"4h","calendar":"24x7","warn_ratio":0.5,"scope":{"job_ids":["j1"],"departments":["Eng"],"stages":["onsite"],"sources":["lever"],"referral":false},"escalate_after":"1h","enabled":true}`
	var q Policy
	if err := json.Unmarshal([]byte(scoped), &q); err != nil {
		t.Fatal(err)
	}
	no := false
	wantQ := Policy{
		ID: "eng", Metric: MetricReply, Target: interactions.MustParseDuration("4h"), Calendar: Calendar24x7, WarnRatio: 0.5,
		Scope:         Scope{JobIDs: []string{"j1"}, Departments: []string{"Eng"}, Stages: []string{"onsite"}, Sources: []string{"lever"}, Referral: &no},
		EscalateAfter: interactions.MustParseDuration("1h"), Enabled: true,
	}
	if diff := cmp.Diff(wantQ, q); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func TestPolicyWithDefaults(t *testing.T) {
	t.Parallel()
	got := Policy{ID: "x", Metric: MetricReply}.WithDefaults()
	want := Policy{ID: "x", Name: "x", Metric: MetricReply, Calendar: CalendarBusiness, WarnRatio: DefaultWarnRatio, MaxEscalations: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	valid := Policy{ID: "eng-reply", Name: "Engineering replies", Metric: MetricReply,
		Target: interactions.MustParseDuration("4h"), Calendar: CalendarBusiness, WarnRatio: 0.5, Enabled: true}
	tests := []struct {
		name   string
		edit   func(*Policy)
		fields []string
	}{
		// The base policy is valid.
		{"valid", func(*Policy) {}, nil},
		// Unset calendar and warn ratio mean their defaults.
		{"zero values", func(p *Policy) { p.Calendar, p.WarnRatio, p.Name = "", 0, "" }, nil},
		// A warn ratio of 1 means no early warning.
		{"warn ratio 1", func(p *Policy) { p.WarnRatio = 1 }, nil},
		// A promise policy needs no target.
		{"promise without target", func(p *Policy) { p.Metric, p.Target = MetricPromise, interactions.Duration{} }, nil},
		// Ids are path segments.
		{"bad id", func(p *Policy) { p.ID = "a/b" }, []string{"id"}},
		{"empty id", func(p *Policy) { p.ID = "" }, []string{"id"}},
		{"unknown metric", func(p *Policy) { p.Metric = "speed" }, []string{"metric"}},
		{"zero target", func(p *Policy) { p.Target = interactions.Duration{} }, []string{"target"}},
		{"unknown calendar", func(p *Policy) { p.Calendar = "lunar" }, []string{"calendar"}},
		{"warn ratio above 1", func(p *Policy) { p.WarnRatio = 1.5 }, []string{"warn_ratio"}},
		{"negative warn ratio", func(p *Policy) { p.WarnRatio = -0.1 }, []string{"warn_ratio"}},
		{"max_escalations above the limit", func(p *Policy) { p.MaxEscalations = MaxEscalationsLimit + 1 }, []string{"max_escalations"}},
		{"negative max_escalations", func(p *Policy) { p.MaxEscalations = -1 }, []string{"max_escalations"}},
		// Scope entries are named by index.
		{"empty scope entry", func(p *Policy) { p.Scope.Stages = []string{"onsite", " "} }, []string{"scope.stages[1]"}},
		// Every problem is reported.
		{"several", func(p *Policy) { p.ID, p.Metric, p.Scope.JobIDs = "", "x", []string{""} }, []string{"id", "metric", "scope.job_ids[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := valid
			tt.edit(&p)
			var fields []string
			for _, e := range p.Validate() {
				if e.Message == "" {
					t.Errorf("%s: empty message", e.Field)
				}
				fields = append(fields, e.Field)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	pol := func(id string, s Scope) Policy { return scopedPolicy(id, MetricReply, "1d", s) }
	policies := []Policy{
		pol("base", Scope{}),
		pol("job", Scope{JobIDs: []string{"j1"}}),
		pol("dept", Scope{Departments: []string{"Eng"}}),
		pol("stage", Scope{Stages: []string{"onsite"}}),
		pol("source", Scope{Sources: []string{"greenhouse"}}),
		pol("referral", Scope{Referral: &yes}),
		pol("non-referral-j2", Scope{JobIDs: []string{"j2"}, Referral: &no}),
		pol("dept-source", Scope{Departments: []string{"Eng"}, Sources: []string{"greenhouse"}}),
		pol("job-stage", Scope{JobIDs: []string{"j1"}, Stages: []string{"onsite"}}),
		pol("z-sales", Scope{Departments: []string{"Sales"}}),
		pol("a-sales", Scope{Departments: []string{"Sales"}}),
		{ID: "off-legal", Metric: MetricReply, Scope: Scope{Departments: []string{"Legal"}}},
		{ID: "other-metric", Metric: MetricClosure, Scope: Scope{JobIDs: []string{"j1"}}, Enabled: true},
	}
	tests := []struct {
		name   string
		app    AppFacts
		want   string
		wantOK bool
	}{
		// Nothing narrower matches: the unscoped policy.
		{"unscoped", AppFacts{JobID: "j7"}, "base", true},
		// Two dimensions beat one; between two-dimension scopes, job_ids first.
		{"most dimensions, then job_ids", AppFacts{JobID: "j1", Department: "eng", Stage: "onsite", Source: "greenhouse", Referral: true}, "job-stage", true},
		// One dimension each: departments beat stages and referral.
		{"departments over stages", AppFacts{JobID: "j7", Department: "ENG", Stage: "onsite", Referral: true}, "dept", true},
		// Stages beat sources.
		{"stages over sources", AppFacts{Stage: "Onsite", Source: "GreenHouse"}, "stage", true},
		// Sources beat referral.
		{"sources over referral", AppFacts{Source: "greenhouse", Referral: true}, "source", true},
		// Referral alone.
		{"referral", AppFacts{Referral: true}, "referral", true},
		// referral: false matches a non-referred application only.
		{"referral false", AppFacts{JobID: "j2"}, "non-referral-j2", true},
		{"referral false, referred", AppFacts{JobID: "j2", Referral: true}, "referral", true},
		// Identical scopes: the smaller id.
		{"tie by id", AppFacts{Department: "sales"}, "a-sales", true},
		// The selected policy is disabled: no clock, and the policy says why.
		{"disabled", AppFacts{Department: "Legal"}, "off-legal", false},
		// Job ids compare exactly.
		{"job ids are exact", AppFacts{JobID: "J1"}, "base", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Select(policies, MetricReply, tt.app)
			if got.ID != tt.want || ok != tt.wantOK {
				t.Errorf("Select = %s, %v; want %s, %v", got.ID, ok, tt.want, tt.wantOK)
			}
		})
	}
	if got, ok := Select(policies, MetricPromise, AppFacts{}); ok || got.ID != "" {
		t.Errorf("Select with no policy of the metric = %s, %v; want none", got.ID, ok)
	}
	// A disabled broad policy does not stop a narrower enabled one.
	narrow := []Policy{{ID: "all", Metric: MetricReply}, pol("job", Scope{JobIDs: []string{"j1"}})}
	if got, ok := Select(narrow, MetricReply, AppFacts{JobID: "j1"}); !ok || got.ID != "job" {
		t.Errorf("Select = %s, %v; want job, true", got.ID, ok)
	}
	if _, ok := Select(narrow, MetricReply, AppFacts{JobID: "j2"}); ok {
		t.Errorf("Select found a clock policy for j2; want the disabled one")
	}
}
