package scores

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goodwillhq/goodwill/sla"
)

// seriesContent compares what series hold, not their memos of past queries.
var seriesContent = cmp.Options{
	cmp.AllowUnexported(series{}, block{}, entry{}, timedContrib{}),
	cmpopts.IgnoreFields(series{}, "version", "memo"),
}

func f(v float64) *float64 { return &v }
func n(v int) *int         { return &v }

// withoutReferralLoop returns the group without the figures only the org group has.
func withoutReferralLoop(g Group) Group {
	g.ReferralHires, g.ReferralShareOfHires, g.HiresWhoReferred = nil, Optional{}, nil
	return g
}

var march = Query{From: day("03-01"), To: day("03-31")}

func TestMetricsMatchKeys(t *testing.T) {
	if got := len(sla.Metrics()); got != nMetrics {
		t.Fatalf("sla has %d metrics, the book keys %d", got, nMetrics)
	}
}

// TestScoresByRecruiter checks every field of each recruiter's group, computed by
// hand from scenario_test.go.
func TestScoresByRecruiter(t *testing.T) {
	t.Parallel()
	b := book(time.UTC, wall, scenarioNow, scenario...)
	q := march
	q.GroupBy = ByRecruiter
	want := []Group{
		{
			// u1: first response 1 h; both clocks met.
			Key: "", Applications: 1,
			FirstResponseP50Hours: f(0.96), FirstResponseP90Hours: f(0.96),
			AttainmentByMetric: map[string]float64{"first_response": 1, "contact_gap": 1},
			SLAAttainment:      f(1),
			ExperienceScore:    n(100), // heard back fast 25 + SLAs kept 25, of 50
		},
		{
			// ana: first responses 10, 20, 30, 40, 50 min (p50 the 3rd, p90 the 5th); a
			// reply in 45 min; every clock met; two rejections, both told; one
			// interview; surveys 10, 9, 10, 8, 3: 3 promoters, 1 detractor.
			Key: "ana", Applications: 5,
			FirstResponseP50Hours: f(0.49), FirstResponseP90Hours: f(0.87),
			ReplyP50Hours: f(0.72),
			AttainmentByMetric: map[string]float64{
				"first_response": 1, "contact_gap": 1, "reply": 1, "stage_stall": 1,
				"interview_outcome": 1, "interview_feedback": 1,
			},
			SLAAttainment: f(1),
			GhostingRate:  f(0),
			Interviews:    1, SurveyResponses: n(5), CNPS: n(40),
			// 25 + 25 + 20 + 10 + 10 + 10 × (40+100)/200
			ExperienceScore: n(97),
		},
		{
			// bo: first responses 72 h and 72 h; b1 still waiting; a reply after 72 h;
			// first_response 3 breached, contact_gap 1 met 1 breached, reply and
			// closure breached; b1 and b2 silent and ghosted for a month, b3 rejected
			// untold; 4 survey answers: cNPS hidden.
			Key: "bo", Applications: 4,
			FirstResponseP50Hours: f(69.78), FirstResponseP90Hours: f(69.78),
			FirstResponsePending: 1,
			ReplyP50Hours:        f(69.78),
			AttainmentByMetric: map[string]float64{
				"first_response": 0, "contact_gap": 0.5, "reply": 0, "closure": 0,
			},
			SLAAttainment: f(0.125),
			Breaches:      6, SilentNow: 2, Ghosted: 3, GhostingRate: f(1),
			// 4 survey answers: their number is hidden too.
			// (25 × (1 − (69.78−24)/96) + 25 × 0.125 + 20 × 0 + 10 × 0) / 80
			ExperienceScore: n(20),
		},
		{
			// cy: first response 2 h, then silent (contact_gap breached 03-25, not yet
			// a month); no rejection and nobody ghosted: no ghosting rate.
			Key: "cy", Applications: 1,
			FirstResponseP50Hours: f(2.05), FirstResponseP90Hours: f(2.05),
			AttainmentByMetric: map[string]float64{"first_response": 1, "contact_gap": 0},
			SLAAttainment:      f(0.5),
			Breaches:           1, SilentNow: 1,
			ExperienceScore: n(75), // (25 + 25 × 0.5) / 50
		},
	}
	if diff := cmp.Diff(want, b.Scores(q, scenarioNow)); diff != "" {
		t.Errorf("Scores by recruiter (-want +got):\n%s", diff)
	}
}

// TestScoresOrgTeamJob checks the sums: org over every recruiter (no recruiter
// included), teams through Query.Teams, jobs over their recruiters.
func TestScoresOrgTeamJob(t *testing.T) {
	t.Parallel()
	b := book(time.UTC, wall, scenarioNow, scenario...)
	org := Group{
		// 9 first responses: 10–50 min, 1 h, 2 h, 72 h, 72 h; replies 45 min and 72 h.
		Key: "org", Applications: 11,
		FirstResponseP50Hours: f(0.87), FirstResponseP90Hours: f(69.78),
		FirstResponsePending: 1, ReplyP50Hours: f(0.72),
		AttainmentByMetric: map[string]float64{
			"first_response": 0.7, "contact_gap": 0.8333, "reply": 0.5, "stage_stall": 1,
			"interview_outcome": 1, "interview_feedback": 1, "closure": 0,
		},
		SLAAttainment: f(0.719), // 5.0333 / 7
		Breaches:      7, SilentNow: 3, Ghosted: 3,
		GhostingRate: f(0.6), // 3 / (3 rejected + 2 ghosted while open)
		Interviews:   1, SurveyResponses: n(10),
		CNPS: n(10), // 5 promoters, 4 detractors
		// 25 + 25 × 0.719 + 20 × 0.4 + 10 + 10 × 2/3 + 10 × 0.55
		ExperienceScore: n(73),
		// Three hires, none through a referral.
		ReferralHires: n(0), ReferralShareOfHires: Some(f(0)), HiresWhoReferred: n(0),
	}
	q := march
	q.GroupBy = ByOrg
	if diff := cmp.Diff([]Group{org}, b.Scores(q, scenarioNow)); diff != "" {
		t.Errorf("org (-want +got):\n%s", diff)
	}

	// A team is the sum of its recruiters: the same as the org of a book holding
	// only their applications.
	q.GroupBy, q.Teams = ByTeam, map[string]string{"ana": "east", "bo": "east"}
	teams := b.Scores(q, scenarioNow)
	east := book(time.UTC, wall, scenarioNow, a1, a2, a3, a4, a5, b1, b2, b3, b4).Scores(Query{From: q.From, To: q.To}, scenarioNow)[0]
	east.Key = "east"
	east = withoutReferralLoop(east)
	rest := withoutReferralLoop(book(time.UTC, wall, scenarioNow, c1, u1).Scores(Query{From: q.From, To: q.To}, scenarioNow)[0])
	rest.Key = ""
	// The teams split the org's 10 survey responses: the rest's single one is
	// withheld, so east's 9 are too, else 10 − 9 would tell it (complementary
	// suppression); east's experience score then leaves cNPS out.
	if east.SurveyResponses == nil || *east.SurveyResponses != 9 || east.CNPS == nil || *east.CNPS != 0 || rest.SurveyResponses != nil {
		t.Errorf("alone, east has %v responses, cnps %v; the rest %v responses; want 9, 0, hidden", east.SurveyResponses, east.CNPS, rest.SurveyResponses)
	}
	east.SurveyResponses, east.CNPS, east.ExperienceScore = nil, nil, n(75)
	if diff := cmp.Diff([]Group{rest, east}, teams); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}
	if got := teams[1]; got.Applications != 9 || got.Breaches != 6 || got.CNPS != nil {
		t.Errorf("east: %d applications, %d breaches, cnps %v; want 9, 6, hidden", got.Applications, got.Breaches, got.CNPS)
	}

	// Jobs: j1 holds ana's, cy's and the unassigned application; j2 bo's.
	q = march
	q.GroupBy = ByJob
	jobs := b.Scores(q, scenarioNow)
	var keys []string
	var apps []int
	for _, g := range jobs {
		keys, apps = append(keys, g.Key), append(apps, g.Applications)
	}
	if diff := cmp.Diff([]string{"j1", "j2"}, keys); diff != "" {
		t.Errorf("job keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{7, 4}, apps); diff != "" {
		t.Errorf("job applications (-want +got):\n%s", diff)
	}
	bo := b.Scores(Query{GroupBy: ByRecruiter, From: q.From, To: q.To, Recruiters: []string{"bo"}}, scenarioNow)[0]
	bo.Key = "j2"
	if diff := cmp.Diff(bo, jobs[1]); diff != "" {
		t.Errorf("j2 is bo's (-want +got):\n%s", diff)
	}
}

// TestScoresRecruitersRestrict checks that Query.Recruiters restricts every group,
// job groups included, and every other figure.
func TestScoresRecruitersRestrict(t *testing.T) {
	t.Parallel()
	b := book(time.UTC, wall, scenarioNow, scenario...)
	ana := b.Scores(Query{GroupBy: ByRecruiter, From: march.From, To: march.To}, scenarioNow)[1]
	if ana.Key != "ana" {
		t.Fatalf("second group %q, want ana", ana.Key)
	}
	tests := []struct {
		name       string
		q          Query
		keys       []string
		apps       []int
		wantEqAna  int // index of a group that must equal ana's but for its key; -1 for none
		recruiters []string
	}{
		// Only the named recruiters' groups. (ana's survey figures are withheld here,
		// beside cy's single response: TestComplementarySuppression.)
		{"by recruiter", Query{GroupBy: ByRecruiter, Recruiters: []string{"ana", "cy"}}, []string{"ana", "cy"}, []int{5, 1}, -1, nil},
		// j1 holds ana's part only; j2 is not there.
		{"by job", Query{GroupBy: ByJob, Recruiters: []string{"ana"}}, []string{"j1"}, []int{5}, 0, nil},
		// Teams of the named recruiters only.
		{"by team", Query{GroupBy: ByTeam, Recruiters: []string{"ana"}, Teams: map[string]string{"ana": "east", "bo": "east", "cy": "west"}}, []string{"east"}, []int{5}, 0, nil},
		// The org of one recruiter is that recruiter.
		{"org", Query{GroupBy: ByOrg, Recruiters: []string{"ana"}}, []string{"org"}, []int{5}, 0, nil},
		// A recruiter with no applications: an empty org, no other groups.
		{"unknown recruiter", Query{GroupBy: ByOrg, Recruiters: []string{"zed"}}, []string{"org"}, []int{0}, -1, nil},
		{"unknown recruiter by job", Query{GroupBy: ByJob, Recruiters: []string{}}, nil, nil, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.From, tt.q.To = march.From, march.To
			groups := b.Scores(tt.q, scenarioNow)
			var keys []string
			var apps []int
			for _, g := range groups {
				keys, apps = append(keys, g.Key), append(apps, g.Applications)
			}
			if diff := cmp.Diff(tt.keys, keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.apps, apps); diff != "" {
				t.Errorf("applications (-want +got):\n%s", diff)
			}
			if tt.wantEqAna >= 0 {
				g := withoutReferralLoop(groups[tt.wantEqAna])
				g.Key = "ana"
				if diff := cmp.Diff(ana, g); diff != "" {
					t.Errorf("not ana's figures (-want +got):\n%s", diff)
				}
			}
		})
	}

	only := Query{From: march.From, To: march.To, Recruiters: []string{"cy"}}
	if got := b.HeatMap(only); got[2][11] != 1 || sum(got) != 1 {
		t.Errorf("cy's heat map has %d breaches, [wed][11] = %d; want 1, 1", sum(got), got[2][11])
	}
	if got := b.Funnel(only, scenarioNow).Steps[0].Applications; got != 1 {
		t.Errorf("cy's funnel applied %d, want 1", got)
	}
	if got := b.Sentiment(only, scenarioNow); got.Breached.Responses != nil || got.AllMet.Responses != nil {
		t.Errorf("cy's sentiment shows %+v; one response is under the floor", got)
	}
	weeks := b.Weekly(Query{From: day("03-23"), To: day("03-29"), Recruiters: []string{"ana"}}, scenarioNow)
	if len(weeks) != 1 || weeks[0].Breaches != 0 || weeks[0].SLAAttainment != nil {
		t.Errorf("ana's week of 03-23 = %+v, want no clocks", weeks)
	}
}

func sum(h HeatMap) int {
	s := 0
	for _, row := range h {
		for _, v := range row {
			s += v
		}
	}
	return s
}

// TestScoresAtQueryTime checks the figures that depend on the moment of the query:
// silent_now and ghosted while open, and the sentiment split.
func TestScoresAtQueryTime(t *testing.T) {
	t.Parallel()
	b := book(time.UTC, wall, scenarioNow, scenario...)
	tests := []struct {
		now              string
		silent, ghosted  int
		rate             *float64
		allMet, breached Cohort
	}{
		// b1 (due 03-04) and b2 (03-11) silent; nobody a month yet but b3 rejected
		// untold; c1's contact_gap not due until 03-25, so its 10 is on the all-met side.
		// The breached side's 4 responses are withheld, and so the all-met side's 6:
		// the 10 of the scores would tell them (complementary suppression).
		{"03-22 12:00", 2, 1, f(0.3333), Cohort{}, Cohort{}},
		// c1 silent; b1 ghosted since 04-03 09:00; b2's month ends 04-10 09:00.
		{"04-10 08:00", 3, 2, f(0.5), Cohort{n(5), n(40)}, Cohort{n(5), n(-20)}},
		{"04-10 09:00", 3, 3, f(0.6), Cohort{n(5), n(40)}, Cohort{n(5), n(-20)}},
	}
	for _, tt := range tests {
		t.Run(tt.now, func(t *testing.T) {
			now := moment(tt.now)
			g := b.Scores(march, now)[0]
			if g.SilentNow != tt.silent || g.Ghosted != tt.ghosted {
				t.Errorf("silent %d ghosted %d, want %d %d", g.SilentNow, g.Ghosted, tt.silent, tt.ghosted)
			}
			if diff := cmp.Diff(tt.rate, g.GhostingRate); diff != "" {
				t.Errorf("ghosting rate (-want +got):\n%s", diff)
			}
			want := Sentiment{AllMet: tt.allMet, Breached: tt.breached}
			if diff := cmp.Diff(want, b.Sentiment(march, now)); diff != "" {
				t.Errorf("sentiment (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSurveyFloor checks that cnps and both sentiment sides stay hidden below
// MinRespondents answers, whoever asks, and show from there on.
func TestSurveyFloor(t *testing.T) {
	t.Parallel()
	b := book(time.UTC, wall, scenarioNow, b1, b2, b3, b4)
	bo := Query{GroupBy: ByRecruiter, From: march.From, To: march.To}
	if g := b.Scores(bo, scenarioNow)[0]; g.SurveyResponses != nil || g.CNPS != nil {
		t.Errorf("4 answers: responses %v cnps %v, want both hidden", g.SurveyResponses, g.CNPS)
	}
	if got := b.Sentiment(march, scenarioNow); got != (Sentiment{}) {
		t.Errorf("4 answers: sentiment %+v, want all hidden", got)
	}
	// A fifth answer (a promoter, ghosted like the rest) shows them:
	// 2 promoters, 3 detractors of 5.
	b5 := app{"b5", "bo", "j2", []step{at(evReceived, "03-06 09:00"), at(evSurvey, "03-20 10:00", score(10))}}
	apply(b, wall, scenarioNow, b5)
	if g := b.Scores(bo, scenarioNow)[0]; g.SurveyResponses == nil || *g.SurveyResponses != 5 || g.CNPS == nil || *g.CNPS != -20 {
		t.Errorf("5 answers: responses %v cnps %v, want 5 and -20", g.SurveyResponses, g.CNPS)
	}
	// The breached side alone would show 5 of the 5 responses the scores show,
	// telling that the other side is empty: both stay hidden (complementary
	// suppression).
	if got := b.Sentiment(march, scenarioNow); got != (Sentiment{}) {
		t.Errorf("5 answers all on one side: sentiment %+v, want all hidden", got)
	}
}

// TestLateEvents checks that late events move counts to the right days and that
// the book then equals one built from the final events at once.
func TestLateEvents(t *testing.T) {
	t.Parallel()
	now := moment("03-20 12:00")
	steps := []step{
		at(evReceived, "03-10 09:00"),
		at(evMessage, "03-13 09:00"),
		at(evHired, "03-14 09:00"),
	}
	type dayFigures struct {
		apps, breaches int
		p50            *float64
		attainment     map[string]float64
	}
	stages := []struct {
		name string
		add  []step
		days map[string]*dayFigures // nil: no group that day
	}{
		{
			// First response after 72 h: breached on its due day, 03-12.
			name: "answered late",
			days: map[string]*dayFigures{
				"03-08": nil,
				"03-10": {apps: 1, p50: f(69.78)},
				"03-11": nil,
				"03-12": {breaches: 1, attainment: map[string]float64{"first_response": 0}},
			},
		},
		{
			// A message of 03-11 arrives late: first response in 24 h, met on 03-11;
			// 03-12 is empty again.
			name: "earlier answer arrives",
			add:  []step{at(evMessage, "03-11 09:00")},
			days: map[string]*dayFigures{
				"03-08": nil,
				"03-10": {apps: 1, p50: f(24.46)},
				"03-11": {attainment: map[string]float64{"first_response": 1}},
				"03-12": nil,
			},
		},
		{
			// An earlier application_received arrives: the application counts on
			// 03-08, its first response took 72 h and breached on 03-10.
			name: "earlier application arrives",
			add:  []step{at(evReceived, "03-08 09:00")},
			days: map[string]*dayFigures{
				"03-08": {apps: 1, p50: f(69.78)},
				"03-10": {breaches: 1, attainment: map[string]float64{"first_response": 0}},
				"03-11": nil,
				"03-12": nil,
			},
		},
	}
	b := NewBook(utc)
	for _, st := range stages {
		steps = append(steps, st.add...)
		a := app{"x", "dee", "j3", steps}
		apply(b, wall, now, a)
		for d, want := range st.days {
			q := Query{GroupBy: ByRecruiter, From: day(d), To: day(d)}
			got := b.Scores(q, now)
			if want == nil {
				if len(got) != 0 {
					t.Errorf("%s: %s has %+v, want no group", st.name, d, got)
				}
				continue
			}
			if len(got) != 1 {
				t.Fatalf("%s: %s has %d groups, want 1", st.name, d, len(got))
			}
			g := got[0]
			if want.attainment == nil {
				want.attainment = map[string]float64{}
			}
			gotFigures := dayFigures{apps: g.Applications, breaches: g.Breaches, p50: g.FirstResponseP50Hours, attainment: g.AttainmentByMetric}
			if diff := cmp.Diff(*want, gotFigures, cmp.AllowUnexported(dayFigures{})); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", st.name, d, diff)
			}
		}
		fresh := book(time.UTC, wall, now, a)
		if diff := cmp.Diff(fresh.byRec, b.byRec, seriesContent); diff != "" {
			t.Errorf("%s: cells differ from a fresh book's (-want +got):\n%s", st.name, diff)
		}
	}
}

// TestApplyIdempotent checks that applying again, in another order, or after an
// older state of an application changes nothing; and that an application whose
// recruiter changes moves with all its counts.
func TestApplyIdempotent(t *testing.T) {
	t.Parallel()
	once := book(time.UTC, wall, scenarioNow, scenario...)

	again := NewBook(utc)
	for i := range scenario {
		old := scenario[len(scenario)-1-i]
		old.steps = old.steps[:len(old.steps)/2] // an older state first
		apply(again, wall, scenarioNow, old)
	}
	for range 2 {
		for _, a := range scenario {
			apply(again, wall, scenarioNow, a)
		}
	}
	// b2 was first ana's: its first event names ana, the later ones bo.
	moved := NewBook(utc)
	for _, a := range scenario {
		if a.id == "b2" {
			first := a.steps[0]
			first.opts = append(slices.Clip(first.opts), recruiter("ana"))
			apply(moved, wall, scenarioNow, app{a.id, a.recruiter, a.job, []step{first}})
			a.steps = append([]step{first}, a.steps[1:]...)
		}
		apply(moved, wall, scenarioNow, a)
	}

	for name, b := range map[string]*Book{"again": again, "moved": moved} {
		for _, by := range []GroupBy{ByRecruiter, ByJob, ByOrg} {
			q := march
			q.GroupBy = by
			if diff := cmp.Diff(once.Scores(q, scenarioNow), b.Scores(q, scenarioNow)); diff != "" {
				t.Errorf("%s: scores by %s (-once +got):\n%s", name, by, diff)
			}
		}
		if diff := cmp.Diff(once.Funnel(march, scenarioNow), b.Funnel(march, scenarioNow)); diff != "" {
			t.Errorf("%s: funnel (-once +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(once.HeatMap(march), b.HeatMap(march)); diff != "" {
			t.Errorf("%s: heat map (-once +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(once.Sentiment(march, scenarioNow), b.Sentiment(march, scenarioNow)); diff != "" {
			t.Errorf("%s: sentiment (-once +got):\n%s", name, diff)
		}
	}
	// What moved left nothing behind.
	i, _ := moved.recruiters.lookup("ana")
	j, _ := once.recruiters.lookup("ana")
	if diff := cmp.Diff(once.byRec[j], moved.byRec[i], seriesContent); diff != "" {
		t.Errorf("ana's cells keep something of b2 (-once +moved):\n%s", diff)
	}
}

// TestZoneBoundaries checks that days are calendar days in the book's zone, across a
// daylight-saving change, on a business calendar.
func TestZoneBoundaries(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c := sla.DefaultCalendar("America/New_York", "US")
	bc, err := c.Compile()
	if err != nil {
		t.Fatal(err)
	}
	env := sla.Env{Policies: sla.DefaultPolicies(), Calendars: map[string]sla.BusinessClock{sla.CalendarBusiness: bc, sla.Calendar24x7: sla.Wall{}}}
	now := moment("03-20 12:00")
	b := book(ny, env, now,
		// Monday 22:30 EST (Tuesday 03:30 UTC): day 03-02. The first response is due
		// two business days after Tuesday 09:00, Thursday 09:00 EST; never answered.
		app{"n1", "eve", "j9", []step{at(evReceived, "03-03 03:30")}},
		// Monday 00:30 EDT, after the change to summer time (Monday 04:30 UTC; in
		// EST it would still be Sunday): day 03-09. Answered 9.5 h later, then
		// silent: contact_gap due five business days later, Monday 03-16 10:00 EDT.
		app{"n2", "eve", "j9", []step{at(evReceived, "03-09 04:30"), at(evMessage, "03-09 14:00")}},
	)
	tests := []struct {
		name     string
		from, to time.Time
		apps     int
		breaches int
	}{
		{"03-02 midnight in the zone", time.Date(2026, 3, 2, 0, 0, 0, 0, ny), time.Date(2026, 3, 2, 0, 0, 0, 0, ny), 1, 0},
		{"03-02 as a UTC date", day("03-02"), day("03-02"), 1, 0},
		{"03-03", day("03-03"), day("03-03"), 0, 0},
		{"03-05: the breach's due day", day("03-05"), day("03-05"), 0, 1},
		{"03-08", day("03-08"), day("03-08"), 0, 0},
		{"03-09", day("03-09"), day("03-09"), 1, 0},
		{"both", day("03-01"), day("03-31"), 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := b.Scores(Query{From: tt.from, To: tt.to}, now)[0]
			if g.Applications != tt.apps || g.Breaches != tt.breaches {
				t.Errorf("applications %d breaches %d, want %d %d", g.Applications, g.Breaches, tt.apps, tt.breaches)
			}
		})
	}
	// The breaches at Thursday 09:00 EST (14:00 UTC) and Monday 10:00 EDT (14:00
	// UTC) are hours 9 and 10 in the zone.
	var hm HeatMap
	hm[3][9], hm[0][10] = 1, 1
	if got := b.HeatMap(Query{From: day("03-01"), To: day("03-31")}); got != hm {
		t.Errorf("heat map %v, want breaches on [thu][9] and [mon][10]", got)
	}
	weeks := b.Weekly(Query{From: day("03-04"), To: day("03-09")}, now)
	want := []Week{
		{Start: time.Date(2026, 3, 2, 0, 0, 0, 0, ny), SLAAttainment: f(0), Breaches: 1},
		{Start: time.Date(2026, 3, 9, 0, 0, 0, 0, ny), SLAAttainment: f(1), FirstResponseP50Hours: f(9.43)},
	}
	if diff := cmp.Diff(want, weeks); diff != "" {
		t.Errorf("weeks (-want +got):\n%s", diff)
	}
	if weeks[1].Start.UTC().Hour() != 4 {
		t.Errorf("second week starts %s, want 04:00 UTC (midnight EDT)", weeks[1].Start.UTC())
	}
}

func TestWeekly(t *testing.T) {
	t.Parallel()
	b := book(time.UTC, wall, scenarioNow, scenario...)
	tests := []struct {
		name string
		q    Query
		want []Week
	}{
		{
			// Whole weeks from the Monday before From. Week of 03-02: first_response
			// breached 3 times (b1, b2, b4) and closure once; b2's and b4's first
			// responses took 72 h. Week of 03-09: contact_gap met once, breached once,
			// reply breached.
			name: "bo",
			q:    Query{From: day("03-04"), To: day("03-15"), Recruiters: []string{"bo"}},
			want: []Week{
				{Start: day("03-02"), SLAAttainment: f(0), FirstResponseP50Hours: f(69.78), Breaches: 4},
				{Start: day("03-09"), SLAAttainment: f(0.25), Breaches: 2},
			},
		},
		{
			// c1 is answered in 2 h in the week of 03-16 and goes silent the next.
			name: "everyone, late March",
			q:    Query{From: day("03-16"), To: day("03-29")},
			want: []Week{
				{Start: day("03-16"), SLAAttainment: f(1), FirstResponseP50Hours: f(2.05)},
				{Start: day("03-23"), SLAAttainment: f(0), Breaches: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, b.Weekly(tt.q, scenarioNow)); diff != "" {
				t.Errorf("weeks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeatMap(t *testing.T) {
	t.Parallel()
	b := book(time.UTC, wall, scenarioNow, scenario...)
	tests := []struct {
		name string
		q    Query
		set  map[[2]int]int // [weekday, hour] → breaches
	}{
		{
			// b1 first_response Wed 03-04 09:00, b2 first_response Thu 03-05 09:00,
			// b3 closure and b4 first_response Sat 03-07 09:00, b4 reply Tue 03-10
			// 10:00, b2 contact_gap Wed 03-11 09:00, c1 contact_gap Wed 03-25 11:00.
			name: "March",
			q:    march,
			set:  map[[2]int]int{{2, 9}: 2, {3, 9}: 1, {5, 9}: 2, {1, 10}: 1, {2, 11}: 1},
		},
		{
			// Due days in the period only.
			name: "first week",
			q:    Query{From: day("03-01"), To: day("03-06")},
			set:  map[[2]int]int{{2, 9}: 1, {3, 9}: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want HeatMap
			for k, v := range tt.set {
				want[k[0]][k[1]] = v
			}
			if got := b.HeatMap(tt.q); got != want {
				t.Errorf("heat map\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestFunnel(t *testing.T) {
	t.Parallel()
	b := book(time.UTC, wall, scenarioNow, scenario...)
	tests := []struct {
		name string
		q    Query
		want Funnel
	}{
		{
			// 11 received; all but b1 and b3 contacted; a3 interviewed and offered;
			// a1, a3, u1 hired. a1 spent 48 h in screen, a3 24 h in screen and 25 h
			// in onsite.
			name: "March",
			q:    march,
			want: Funnel{
				Steps: []FunnelStep{{"applied", 11}, {"contacted", 9}, {"interviewed", 1}, {"offered", 1}, {"hired", 3}},
				Stages: []StageTime{
					{Stage: "screen", MeanHours: 36, Left: 2},
					{Stage: "onsite", MeanHours: 25, Left: 1},
				},
			},
		},
		{
			name: "bo",
			q:    Query{From: march.From, To: march.To, Recruiters: []string{"bo"}},
			want: Funnel{
				Steps:  []FunnelStep{{"applied", 4}, {"contacted", 2}, {"interviewed", 0}, {"offered", 0}, {"hired", 0}},
				Stages: []StageTime{},
			},
		},
		{
			// Applications received on 03-02 only: a1, a2, b1.
			name: "one day",
			q:    Query{From: day("03-02"), To: day("03-02")},
			want: Funnel{
				Steps:  []FunnelStep{{"applied", 3}, {"contacted", 2}, {"interviewed", 0}, {"offered", 0}, {"hired", 1}},
				Stages: []StageTime{{Stage: "screen", MeanHours: 48, Left: 1}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, b.Funnel(tt.q, scenarioNow)); diff != "" {
				t.Errorf("funnel (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHistogram checks the buckets: each duration's reported value is within 5%.
func TestHistogram(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{time.Minute, 61 * time.Second, 10 * time.Minute, time.Hour, 47 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour} {
		got := bucketHours(bucketOf(d))
		if r := got / d.Hours(); r < 0.95 || r > 1.05 {
			t.Errorf("%s reported as %.4f h (%.3f×)", d, got, r)
		}
	}
	if got := bucketOf(20 * time.Second); got != 0 {
		t.Errorf("20 s in bucket %d, want 0", got)
	}
	if got := bucketOf(200 * 24 * time.Hour); got != histN+1 {
		t.Errorf("200 days in bucket %d, want %d", got, histN+1)
	}
	counts := make([]int64, nBuckets)
	if got := percentiles(counts, allBuckets, &slab{}, 0.5, 0.9); got[0] != nil || got[1] != nil {
		t.Error("percentiles of nothing are not nil")
	}
	// Nearest rank: of 10 samples, p50 is the 5th, p90 the 9th.
	counts[10], counts[20], counts[30] = 5, 4, 1
	got := percentiles(counts, allBuckets, &slab{}, 0.5, 0.9)
	if *got[0] != reported[10] || *got[1] != reported[20] {
		t.Errorf("p50, p90 = %v, %v; want buckets 10 and 20 (%v, %v)", *got[0], *got[1], reported[10], reported[20])
	}
}

// TestGhosting checks who counts as ghosted, one application at a time.
func TestGhosting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		steps             []step
		now               string
		rejected, ghosted int
		silent            int
		rate              *float64
	}{
		// Rejected without notice, told an hour later: not ghosted.
		{"told after the rejection", []step{at(evReceived, "03-02 09:00"), at(evRejected, "03-02 10:00"), at(evMessage, "03-02 11:00")}, "03-20 12:00", 1, 0, 0, f(0)},
		// Told at the same instant as the rejection, ordered after it or before it.
		{"told with the rejection", []step{at(evReceived, "03-02 09:00"), at(evRejected, "03-02 10:00"), at(evMessage, "03-02 10:00")}, "03-20 12:00", 1, 0, 0, f(0)},
		{"told with the rejection, ordered first", []step{at(evReceived, "03-02 09:00"), at(evMessage, "03-02 10:00"), at(evRejected, "03-02 10:00")}, "03-20 12:00", 1, 0, 0, f(0)},
		// Rejected, and the only contact came before.
		{"rejected in silence", []step{at(evReceived, "03-02 09:00"), at(evMessage, "03-02 10:00"), at(evRejected, "03-03 10:00")}, "03-20 12:00", 1, 1, 0, f(1)},
		// Reopened and answered: open, not rejected.
		{"unrejected", []step{at(evReceived, "03-02 09:00"), at(evRejected, "03-02 10:00"), at(evUnrejected, "03-02 11:00"), at(evMessage, "03-02 12:00")}, "03-03 12:00", 0, 0, 0, nil},
		// Withdrawn after 40 days of waiting: never ghosted.
		{"withdrawn", []step{at(evReceived, "03-02 09:00"), at(evWithdrawn, "04-11 09:00")}, "04-20 12:00", 0, 0, 0, nil},
		// Waiting: first_response due 03-04 09:00, silent from then, ghosted 30 days
		// later to the minute.
		{"silent, a minute short", []step{at(evReceived, "03-02 09:00")}, "04-03 08:59", 0, 0, 1, nil},
		{"silent for 30 days", []step{at(evReceived, "03-02 09:00")}, "04-03 09:00", 0, 1, 1, f(1)},
		{"not yet due", []step{at(evReceived, "03-02 09:00")}, "03-04 08:59", 0, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := moment(tt.now)
			b := book(time.UTC, wall, now, app{"g", "gil", "j", tt.steps})
			g := b.Scores(march, now)[0]
			if g.Ghosted != tt.ghosted || g.SilentNow != tt.silent {
				t.Errorf("ghosted %d silent %d, want %d %d", g.Ghosted, g.SilentNow, tt.ghosted, tt.silent)
			}
			if diff := cmp.Diff(tt.rate, g.GhostingRate); diff != "" {
				t.Errorf("ghosting rate (-want +got):\n%s", diff)
			}
			var rejected int64
			b.eachRecruiter(b.allowed(nil), func(s *series) {
				from, to := period(Query{})
				s.each(from, to, func(_ int32, n []entry, _ []timedContrib) {
					for _, e := range n {
						if e.key == kRejected {
							rejected += int64(e.val)
						}
					}
				})
			})
			if rejected != int64(tt.rejected) {
				t.Errorf("rejected %d, want %d", rejected, tt.rejected)
			}
		})
	}
}

// TestScoresOrder checks that groups come ordered by key whatever order the book
// first saw their recruiters and jobs in.
func TestScoresOrder(t *testing.T) {
	t.Parallel()
	var apps []app
	for i, rj := range [][2]string{{"zed", "j9"}, {"amy", "j10"}, {"mo", "j1"}, {"", ""}, {"amy", "j2"}, {"Bea", "j9"}} {
		apps = append(apps, app{"o" + strconv.Itoa(i), rj[0], rj[1], []step{at(evReceived, "03-02 09:00")}})
	}
	b := book(time.UTC, wall, scenarioNow, apps...)
	tests := []struct {
		by         GroupBy
		recruiters []string
		want       []string
	}{
		{ByRecruiter, nil, []string{"", "Bea", "amy", "mo", "zed"}},
		{ByRecruiter, []string{"zed", "amy"}, []string{"amy", "zed"}},
		{ByJob, nil, []string{"", "j1", "j10", "j2", "j9"}},
		{ByJob, []string{"zed", "mo", "Bea"}, []string{"j1", "j9"}},
		{ByTeam, nil, []string{"", "x", "y"}},
	}
	for _, tt := range tests {
		q := march
		q.GroupBy, q.Recruiters, q.Teams = tt.by, tt.recruiters, map[string]string{"zed": "y", "amy": "x"}
		var keys []string
		for _, g := range b.Scores(q, scenarioNow) {
			keys = append(keys, g.Key)
		}
		if diff := cmp.Diff(tt.want, keys); diff != "" {
			t.Errorf("%s %v (-want +got):\n%s", tt.by, tt.recruiters, diff)
		}
	}
}

// TestScoresMemo checks that queries answer the same whatever earlier queries left in
// the series' memos: after applications change, for another period, at a later
// moment, and restricted to some recruiters.
func TestScoresMemo(t *testing.T) {
	t.Parallel()
	// b1, never answered, gets a late answer: its breach and silence go.
	b1x := b1
	b1x.steps = append(slices.Clone(b1.steps), at(evMessage, "03-03 10:00"))
	others := slices.DeleteFunc(slices.Clone(scenario), func(a app) bool { return a.id == "b1" })
	later := scenarioNow.Add(40 * 24 * time.Hour)
	firstHalf := Query{From: day("03-01"), To: day("03-15")}
	b := book(time.UTC, wall, scenarioNow, scenario...)
	before := func() *Book { return book(time.UTC, wall, scenarioNow, scenario...) }
	after := func() *Book { return book(time.UTC, wall, scenarioNow, append(others, b1x)...) }
	steps := []struct {
		name   string
		apply  func()
		period Query
		now    time.Time
		fresh  func() *Book
	}{
		{"first queries", func() {}, march, scenarioNow, before},
		{"again", func() {}, march, scenarioNow, before},
		{"a late answer", func() { apply(b, wall, scenarioNow, b1x) }, march, scenarioNow, after},
		{"40 days later", func() {}, march, later, after},
		{"another period", func() {}, firstHalf, later, after},
		{"back to March", func() {}, march, later, after},
		{"the answer undone", func() { apply(b, wall, scenarioNow, b1) }, march, later, before},
	}
	for _, st := range steps {
		st.apply()
		fresh := st.fresh()
		for _, by := range []GroupBy{ByOrg, ByRecruiter, ByTeam, ByJob} {
			for _, recruiters := range [][]string{nil, {"bo", "cy"}} {
				q := st.period
				q.GroupBy, q.Recruiters, q.Teams = by, recruiters, map[string]string{"ana": "east", "bo": "east"}
				want := fresh.Scores(q, st.now)
				if diff := cmp.Diff(want, b.Scores(q, st.now)); diff != "" {
					t.Errorf("%s: %s %v (-fresh book +queried book):\n%s", st.name, by, recruiters, diff)
				}
			}
		}
		if diff := cmp.Diff(fresh.Sentiment(st.period, st.now), b.Sentiment(st.period, st.now)); diff != "" {
			t.Errorf("%s: sentiment (-fresh book +queried book):\n%s", st.name, diff)
		}
	}

	// Queries store memos under the read lock, alongside each other and between
	// changes (go test -race).
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				q := march
				q.GroupBy = []GroupBy{ByOrg, ByRecruiter, ByTeam, ByJob}[(g+i)%4]
				b.Scores(q, scenarioNow)
			}
		})
	}
	for i := range 50 {
		apply(b, wall, scenarioNow, []app{b1x, b1}[i%2])
	}
	wg.Wait()
	q := march
	q.GroupBy = ByRecruiter
	if diff := cmp.Diff(before().Scores(q, scenarioNow), b.Scores(q, scenarioNow)); diff != "" {
		t.Errorf("after concurrent queries (-fresh book +queried book):\n%s", diff)
	}
}
