package service

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/sla"
	"github.com/goodwillhq/goodwill/sla/scores"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// The dashboard: leadership's page of scores, trends and breaches. It reads the same
// roll-ups as GET /v1/scores, for the same period, and shows aggregates only.

// figure is one number as the dashboard shows it: Field is the name of the API's
// field, Value its JSON value ("" for null), Text how it reads.
type figure struct {
	Field, Label, Text, Value string
}

// Null reports whether the API's value is null.
func (f figure) Null() bool { return f.Value == "" }

// scoreFields are the columns of the recruiters and jobs tables, in order.
var scoreFields = []struct{ field, label string }{
	{"applications", "Applications"},
	{"sla_attainment", "SLA attainment"},
	{"first_response_p50_hours", "First response p50"},
	{"breaches", "Breaches"},
	{"silent_now", "Silent now"},
	{"ghosting_rate", "Ghosting rate"},
	{"cnps", "cNPS"},
	{"experience_score", "Experience score"},
}

// defaultSort orders the tables by experience score, best first.
const defaultSort = "-experience_score"

// jsonValue renders v as the API's JSON does.
func jsonValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return ""
	}
	return string(b)
}

func percent(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(math.Round(*v*1000)/10, 'f', -1, 64) + "%"
}

func hours(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(math.Round(*v*10)/10, 'f', -1, 64) + " h"
}

func signed(v *int) string {
	if v == nil {
		return "—"
	}
	if *v > 0 {
		return "+" + strconv.Itoa(*v)
	}
	return strconv.Itoa(*v)
}

// hiddenCNPS is what a survey figure of fewer than scores.MinRespondents reads.
var hiddenCNPS = fmt.Sprintf("hidden (< %d responses)", scores.MinRespondents)

// figureOf returns a group's figure for one of the API's fields.
func figureOf(g *scores.Group, field, label string) figure {
	f := figure{Field: field, Label: label}
	switch field {
	case "applications":
		f.Value, f.Text = strconv.Itoa(g.Applications), strconv.Itoa(g.Applications)
	case "sla_attainment":
		f.Value, f.Text = jsonValue(g.SLAAttainment), percent(g.SLAAttainment)
	case "first_response_p50_hours":
		f.Value, f.Text = jsonValue(g.FirstResponseP50Hours), hours(g.FirstResponseP50Hours)
	case "first_response_pending":
		f.Value, f.Text = strconv.Itoa(g.FirstResponsePending), strconv.Itoa(g.FirstResponsePending)
	case "breaches":
		f.Value, f.Text = strconv.Itoa(g.Breaches), strconv.Itoa(g.Breaches)
	case "silent_now":
		f.Value, f.Text = strconv.Itoa(g.SilentNow), strconv.Itoa(g.SilentNow)
	case "ghosting_rate":
		f.Value, f.Text = jsonValue(g.GhostingRate), percent(g.GhostingRate)
	case "cnps":
		f.Value, f.Text = jsonValue(g.CNPS), signed(g.CNPS)
		if g.CNPS == nil {
			f.Text = hiddenCNPS
		}
	case "experience_score":
		f.Value, f.Text = jsonValue(g.ExperienceScore), "—"
		if g.ExperienceScore != nil {
			f.Text = strconv.Itoa(*g.ExperienceScore)
		}
	}
	return f
}

// sortValue is what the tables sort by: nil (no data) sorts last either way.
func sortValue(g *scores.Group, field string) *float64 {
	i := func(n int) *float64 { v := float64(n); return &v }
	switch field {
	case "applications":
		return i(g.Applications)
	case "sla_attainment":
		return g.SLAAttainment
	case "first_response_p50_hours":
		return g.FirstResponseP50Hours
	case "breaches":
		return i(g.Breaches)
	case "silent_now":
		return i(g.SilentNow)
	case "ghosting_rate":
		return g.GhostingRate
	case "cnps":
		if g.CNPS != nil {
			return i(*g.CNPS)
		}
	case "experience_score":
		if g.ExperienceScore != nil {
			return i(*g.ExperienceScore)
		}
	}
	return nil
}

// parseSort reads the tables' sort: a field of scoreFields or "name", with "-" for
// descending.
func parseSort(v string) (field string, desc bool, ok bool) {
	if v == "" {
		v = defaultSort
	}
	field, desc = strings.TrimPrefix(v, "-"), strings.HasPrefix(v, "-")
	if field == "name" {
		return field, desc, true
	}
	for _, f := range scoreFields {
		if f.field == field {
			return field, desc, true
		}
	}
	return "", false, false
}

func sortGroups(groups []scores.Group, field string, desc bool) {
	slices.SortStableFunc(groups, func(a, b scores.Group) int {
		if field == "name" {
			c := cmp.Compare(strings.ToLower(groupName(a)), strings.ToLower(groupName(b)))
			if desc {
				c = -c
			}
			return c
		}
		va, vb := sortValue(&a, field), sortValue(&b, field)
		switch {
		case va == nil && vb == nil:
			return cmp.Compare(strings.ToLower(groupName(a)), strings.ToLower(groupName(b)))
		case va == nil:
			return 1
		case vb == nil:
			return -1
		}
		c := cmp.Compare(*va, *vb)
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(strings.ToLower(groupName(a)), strings.ToLower(groupName(b)))
		}
		return c
	})
}

// groupName is how a group is named in a table: its name, else its key.
func groupName(g scores.Group) string {
	switch {
	case g.Name != "":
		return g.Name
	case g.Key == "":
		return "(none)"
	}
	return g.Key
}

// scoreTable is the recruiters or the jobs table.
type scoreTable struct {
	ID      string // "recruiters" or "jobs"
	Caption string
	Header  []tableHeader
	Rows    []scoreRow
}

// tableHeader is a column's header with the link that sorts by it.
type tableHeader struct {
	Field, Label, Href string
	Sort               string // "ascending", "descending" or "" (aria-sort)
}

type scoreRow struct {
	Key, Name string
	Drill     string // the drill-down link (recruiters)
	Figures   []figure
}

// dashboardForm is the period form and the query of the page.
type dashboardForm struct {
	From, To, Recruiter, Sort string
	Errors                    map[string]string
}

// dashboardPage is the body of dashboard.html.tmpl.
type dashboardPage struct {
	Form          dashboardForm
	Period        string // "1 Nov 2026 – 30 Nov 2026"
	Zone          string
	Drill         string // the drill-down recruiter's name
	AllHref       string // back to every recruiter
	Headline      []figure
	Pending       figure
	ByMetric      []figure
	Trend         trendView
	Recruiters    scoreTable
	Jobs          scoreTable
	Heat          heatView
	Funnel        funnelView
	Sources       sourcesView // per attribution source (pages_sources.go)
	Sentiment     []sentimentRow
	NoData        bool
	HiddenSurveys string
	Connectors    []connectorLine // admins only: how each configured ATS sync is doing
	Pools         []poolLine      // the talent pools the caller may see, with their figures
}

// connectorLine is one configured ATS sync's health, in a sentence.
type connectorLine struct {
	Vendor  string
	Outcome string // running, ok, failed; empty before the first pass
	Text    string
}

// dashboard answers GET /dashboard.
func (s *api) dashboard(c *gin.Context) {
	form := dashboardForm{From: c.Query("from"), To: c.Query("to"), Recruiter: c.Query("recruiter"), Sort: c.Query("sort")}
	body := dashboardPage{Form: form}
	q, err := s.parseScores(c, false)
	sortField, desc, sortOK := parseSort(form.Sort)
	if !sortOK {
		err = errors.Join(err, interactions.Invalid(interactions.FieldError{Field: "sort", Message: "is not a column of the tables"}))
	}
	if err != nil {
		fields := invalidFields(err)
		if fields == nil {
			s.pageFail(c, err)
			return
		}
		body.Form.Errors = fields
		s.render(c, http.StatusBadRequest, "dashboard", s.newPage(c, "Dashboard", "dashboard", body))
		return
	}
	if form.Recruiter != "" {
		if q.Recruiters != nil && !slices.Contains(q.Recruiters, form.Recruiter) {
			s.pageError(c, http.StatusNotFound, "not_found", "Not found", "There is no recruiter "+strconv.Quote(form.Recruiter)+" among yours.")
			return
		}
		q.Recruiters = []string{form.Recruiter}
	}
	now := s.now()
	zone := s.zone()
	if caller(c).Role == auth.RoleAdmin {
		if body.Connectors, err = s.connectorLines(c, now); err != nil {
			s.pageFail(c, err)
			return
		}
	}
	body.Form.From, body.Form.To = q.From.Format(time.DateOnly), q.To.Format(time.DateOnly)
	body.Period = q.From.Format("2 Jan 2006") + " – " + q.To.Format("2 Jan 2006")
	body.Zone = zone.String()
	body.HiddenSurveys = hiddenCNPS

	org := scores.Group{}
	if groups, err := s.scoreGroups(c, q); err != nil {
		s.pageFail(c, err)
		return
	} else if len(groups) > 0 {
		org = groups[0]
	}
	body.NoData = org.Applications == 0 && org.Breaches == 0 && org.SilentNow == 0
	for _, f := range []struct{ field, label string }{
		{"applications", "Applications"}, {"sla_attainment", "SLA attainment"},
		{"first_response_p50_hours", "First response (median)"}, {"ghosting_rate", "Ghosting rate"},
		{"cnps", "Candidate NPS"}, {"experience_score", "Experience score"},
		{"breaches", "Breaches"}, {"silent_now", "Silent now"},
	} {
		body.Headline = append(body.Headline, figureOf(&org, f.field, f.label))
	}
	body.Pending = figureOf(&org, "first_response_pending", "Waiting for a first response")
	for _, m := range sla.Metrics() {
		f := figure{Field: "attainment_by_metric." + string(m), Label: metricLabel(m), Text: "—"}
		if v, ok := org.AttainmentByMetric[string(m)]; ok {
			f.Value, f.Text = jsonValue(v), percent(&v)
		}
		body.ByMetric = append(body.ByMetric, f)
	}

	link := func(sort, recruiter, anchor string) string {
		v := url.Values{"from": {body.Form.From}, "to": {body.Form.To}}
		if recruiter != "" {
			v.Set("recruiter", recruiter)
		}
		if sort != "" && sort != defaultSort {
			v.Set("sort", sort)
		}
		return "/dashboard?" + v.Encode() + anchor
	}
	table := func(id, caption string, by scores.GroupBy) (scoreTable, error) {
		q := q
		q.GroupBy = by
		groups, err := s.scoreGroups(c, q)
		if err != nil {
			return scoreTable{}, err
		}
		sortGroups(groups, sortField, desc)
		t := scoreTable{ID: id, Caption: caption}
		for _, col := range append([]struct{ field, label string }{{"name", "Name"}}, scoreFields...) {
			h := tableHeader{Field: col.field, Label: col.label}
			next := "-" + col.field // numbers: highest first
			if col.field == "name" {
				next = "name"
			}
			if col.field == sortField { // sorted by it: the link reverses the order
				h.Sort, next = "ascending", "-"+col.field
				if desc {
					h.Sort, next = "descending", col.field
				}
			}
			h.Href = link(next, form.Recruiter, "#"+id)
			t.Header = append(t.Header, h)
		}
		for i := range groups {
			g := &groups[i]
			row := scoreRow{Key: g.Key, Name: groupName(*g)}
			if by == scores.ByRecruiter && g.Key != "" {
				row.Drill = link(form.Sort, g.Key, "")
			}
			for _, f := range scoreFields {
				fig := figureOf(g, f.field, f.label)
				if f.field == "cnps" && g.CNPS == nil {
					fig.Text = "hidden"
				}
				row.Figures = append(row.Figures, fig)
			}
			t.Rows = append(t.Rows, row)
		}
		return t, nil
	}
	if body.Recruiters, err = table("recruiters", "Scores per recruiter", scores.ByRecruiter); err != nil {
		s.pageFail(c, err)
		return
	}
	if body.Jobs, err = table("jobs", "Scores per job", scores.ByJob); err != nil {
		s.pageFail(c, err)
		return
	}
	if form.Recruiter != "" {
		body.Drill = form.Recruiter
		for _, r := range body.Recruiters.Rows {
			if r.Key == form.Recruiter {
				body.Drill = r.Name
			}
		}
		if body.Drill == form.Recruiter {
			if rec, err := s.directory.Get(ctx(c), form.Recruiter); err == nil && rec.Name != "" {
				body.Drill = rec.Name
			}
		}
		body.AllHref = link(form.Sort, "", "")
	}

	body.Trend = trendOf(s.book.Weekly(q, now), zone)
	body.Heat = heatOf(s.book.HeatMap(q))
	body.Funnel = funnelOf(s.book.Funnel(q, now))
	if body.Sources, err = s.sourcesPanel(c, q); err != nil {
		s.pageFail(c, err)
		return
	}
	sent := s.book.Sentiment(q, now)
	body.Sentiment = []sentimentRow{
		sentimentOf("all_met", "Every SLA met", sent.AllMet),
		sentimentOf("breached", "At least one SLA breached", sent.Breached),
	}
	body.Pools = s.poolLines(c, q.From, q.To.AddDate(0, 0, 1), now)
	title := "Dashboard"
	if body.Drill != "" {
		title = "Dashboard: " + body.Drill
	}
	s.render(c, http.StatusOK, "dashboard", s.newPage(c, title, "dashboard", body))
}

// invalidFields returns the field messages of validation errors, nil if err is
// something else.
func invalidFields(err error) map[string]string {
	out := map[string]string{}
	var walk func(error) bool
	walk = func(err error) bool {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				if !walk(e) {
					return false
				}
			}
			return true
		}
		var e *interactions.Error
		if !errors.As(err, &e) || e.Code != interactions.CodeInvalid {
			return false
		}
		for _, f := range e.Fields {
			out[f.Field] = f.Message
		}
		return true
	}
	if !walk(err) {
		return nil
	}
	return out
}

// metricLabel names a metric for people.
func metricLabel(m sla.Metric) string {
	switch m {
	case sla.MetricFirstResponse:
		return "First response"
	case sla.MetricReply:
		return "Reply"
	case sla.MetricContactGap:
		return "Silent candidate"
	case sla.MetricStageStall:
		return "Stage stall"
	case sla.MetricInterviewOutcome:
		return "Missed interview"
	case sla.MetricInterviewFeedback:
		return "Interview feedback"
	case sla.MetricClosure:
		return "Closure"
	case sla.MetricPromise:
		return "Promise kept"
	case sla.MetricNurture:
		return "Nurture due"
	}
	return string(m)
}

// --- SLA and sentiment ---

type sentimentRow struct {
	Key, Label string
	Responses  figure
	CNPS       figure
}

func sentimentOf(key, label string, c scores.Cohort) sentimentRow {
	r := sentimentRow{Key: key, Label: label,
		Responses: figure{Field: "responses", Value: jsonValue(c.Responses), Text: hiddenCNPS},
		CNPS:      figure{Field: "cnps", Value: jsonValue(c.CNPS), Text: hiddenCNPS},
	}
	if c.Responses != nil {
		r.Responses.Text = strconv.Itoa(*c.Responses)
	}
	if c.CNPS != nil {
		r.CNPS.Text = signed(c.CNPS)
	}
	return r
}

// --- the weekly trend, as inline SVG ---

// Chart geometry, in SVG user units.
const (
	chartW, chartH                = 640, 220
	chartLeft, chartRight         = 56, 32
	chartTop, chartBottom         = 16, 40
	chartPlotW                    = chartW - chartLeft - chartRight
	chartPlotH                    = chartH - chartTop - chartBottom
	chartMaxXLabels               = 8
	chartBaseline         float64 = chartTop + chartPlotH
)

type trendView struct {
	Weeks  []trendWeek
	Charts []chart
}

type trendWeek struct {
	Start, Label string
	Attainment   figure
	P50          figure
	Breaches     int
}

type chart struct {
	ID, Title, Desc, Unit string
	Width, Height         int
	Left, Right, Baseline float64
	MidX, MidY            float64  // the middle of the plot, for "no data"
	Lines                 []string // polyline point lists; a week without data breaks the line
	Points                []chartPoint
	YTicks, XTicks        []chartTick
	Empty                 bool
}

type chartPoint struct {
	X, Y  string
	Label string
}

type chartTick struct {
	At    string // the coordinate along the axis
	Label string
}

func coord(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func trendOf(weeks []scores.Week, zone *time.Location) trendView {
	t := trendView{}
	for _, w := range weeks {
		start := w.Start.In(zone)
		t.Weeks = append(t.Weeks, trendWeek{
			Start: start.Format(time.DateOnly), Label: start.Format("2 Jan 2006"),
			Attainment: figure{Field: "sla_attainment", Value: jsonValue(w.SLAAttainment), Text: percent(w.SLAAttainment)},
			P50:        figure{Field: "first_response_p50_hours", Value: jsonValue(w.FirstResponseP50Hours), Text: hours(w.FirstResponseP50Hours)},
			Breaches:   w.Breaches,
		})
	}
	att := make([]*float64, len(weeks))
	p50 := make([]*float64, len(weeks))
	top := 0.0
	for i, w := range weeks {
		if w.SLAAttainment != nil {
			v := *w.SLAAttainment * 100
			att[i] = &v
		}
		p50[i] = w.FirstResponseP50Hours
		if p50[i] != nil {
			top = max(top, *p50[i])
		}
	}
	t.Charts = []chart{
		lineChart("trend-attainment", "SLA attainment per week", "%", t.Weeks, att, 100, percentTick),
		lineChart("trend-first-response", "First response, median hours per week", " h", t.Weeks, p50, niceCeil(top), hourTick),
	}
	return t
}

func percentTick(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" }
func hourTick(v float64) string    { return strconv.FormatFloat(v, 'f', -1, 64) + " h" }

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func lineChart(id, title, unit string, weeks []trendWeek, values []*float64, top float64, tick func(float64) string) chart {
	ch := chart{ID: id, Title: title, Unit: unit, Width: chartW, Height: chartH,
		Left: chartLeft, Right: chartW - chartRight, Baseline: chartBaseline,
		MidX: chartLeft + chartPlotW/2, MidY: chartTop + chartPlotH/2}
	x := func(i int) float64 {
		if len(values) == 1 {
			return chartLeft + chartPlotW/2
		}
		return chartLeft + float64(i)*chartPlotW/float64(len(values)-1)
	}
	y := func(v float64) float64 { return chartTop + chartPlotH*(1-v/top) }
	for _, v := range []float64{0, top / 2, top} {
		ch.YTicks = append(ch.YTicks, chartTick{At: coord(y(v)), Label: tick(v)})
	}
	every := max(1, (len(values)+chartMaxXLabels-1)/chartMaxXLabels)
	var line []string
	var first, last *float64
	var firstWeek, lastWeek string
	for i, v := range values {
		if i%every == 0 {
			ch.XTicks = append(ch.XTicks, chartTick{At: coord(x(i)), Label: weeks[i].Label[:len(weeks[i].Label)-5]})
		}
		if v == nil {
			if len(line) > 0 {
				ch.Lines = append(ch.Lines, strings.Join(line, " "))
			}
			line = nil
			continue
		}
		if first == nil {
			first, firstWeek = v, weeks[i].Label
		}
		last, lastWeek = v, weeks[i].Label
		px, py := coord(x(i)), coord(y(min(*v, top)))
		line = append(line, px+","+py)
		ch.Points = append(ch.Points, chartPoint{X: px, Y: py,
			Label: "Week of " + weeks[i].Label + ": " + strconv.FormatFloat(math.Round(*v*10)/10, 'f', -1, 64) + unit})
	}
	if len(line) > 0 {
		ch.Lines = append(ch.Lines, strings.Join(line, " "))
	}
	switch {
	case first == nil:
		ch.Empty = true
		ch.Desc = "No data in this period."
	case firstWeek == lastWeek:
		ch.Desc = fmt.Sprintf("%s%s in the week of %s.", coord(*first), unit, firstWeek)
	default:
		ch.Desc = fmt.Sprintf("From %s%s in the week of %s to %s%s in the week of %s.",
			coord(*first), unit, firstWeek, coord(*last), unit, lastWeek)
	}
	return ch
}

// --- the breach heat map ---

type heatView struct {
	Hours []string
	Rows  []heatRow
	Total int
}

type heatRow struct {
	Day   string
	Cells []heatCell
}

type heatCell struct {
	Weekday, Hour, Count, Level int
}

var weekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

func heatOf(hm scores.HeatMap) heatView {
	v := heatView{}
	top := 0
	for d := range hm {
		for h := range hm[d] {
			top = max(top, hm[d][h])
			v.Total += hm[d][h]
		}
	}
	for h := range 24 {
		v.Hours = append(v.Hours, fmt.Sprintf("%02d", h))
	}
	for d, name := range weekdays {
		row := heatRow{Day: name}
		for h, n := range hm[d] {
			level := 0
			if n > 0 {
				level = (n*5 + top - 1) / top // 1–5
			}
			row.Cells = append(row.Cells, heatCell{Weekday: d, Hour: h, Count: n, Level: level})
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// --- the funnel ---

type funnelView struct {
	Steps  []funnelStep
	Stages []stageView
}

type funnelStep struct {
	Step, Label string
	Count       int
	Percent     string // of applied
	Width       string // the bar's width, 0–100
}

type stageView struct {
	Stage     string
	MeanHours string
	Left      int
}

func funnelOf(f scores.Funnel) funnelView {
	v := funnelView{}
	applied := 0
	if len(f.Steps) > 0 {
		applied = f.Steps[0].Applications
	}
	for _, st := range f.Steps {
		step := funnelStep{Step: st.Step, Label: strings.ToUpper(st.Step[:1]) + st.Step[1:], Count: st.Applications, Percent: "—", Width: "0"}
		if applied > 0 {
			p := float64(st.Applications) / float64(applied)
			step.Percent, step.Width = percent(&p), coord(min(p, 1)*100)
		}
		v.Steps = append(v.Steps, step)
	}
	for _, st := range f.Stages {
		v.Stages = append(v.Stages, stageView{Stage: st.Stage, MeanHours: jsonValue(st.MeanHours), Left: st.Left})
	}
	return v
}

// connectorLines says, for each configured ATS sync, how its last pass went: what an
// admin reading the dashboard needs to trust the figures (a failing sync leaves clocks
// blind). GET /v1/connectors has the details.
func (s *api) connectorLines(c *gin.Context, now time.Time) ([]connectorLine, error) {
	list, err := s.syncRunner.Connectors(ctx(c))
	if err != nil {
		return nil, err
	}
	var lines []connectorLine
	for _, con := range list {
		if !con.Configured {
			continue
		}
		name := vendorName(con.Vendor)
		l := connectorLine{Vendor: con.Vendor, Text: name + " sync: no pass yet."}
		if p := con.LastPass; p != nil {
			l.Outcome = p.Outcome
			switch {
			case p.Outcome == atssync.OutcomeRunning:
				l.Text = fmt.Sprintf("%s sync: a pass is running (started %s ago).", name, ago(now.Sub(p.StartedAt)))
			case p.Outcome == atssync.OutcomeFailed:
				l.Text = fmt.Sprintf("%s sync: the last pass failed %s ago: %s", name, ago(now.Sub(finishedAt(p))), p.Error)
			default:
				l.Text = fmt.Sprintf("%s sync: the last pass ended well %s ago.", name, ago(now.Sub(finishedAt(p))))
			}
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// vendorName is how the pages name an ATS.
func vendorName(vendor string) string {
	if vendor == "" {
		return ""
	}
	return strings.ToUpper(vendor[:1]) + vendor[1:]
}

// finishedAt is when a pass ended, or began if it never recorded its end.
func finishedAt(p *atssync.Pass) time.Time {
	if p.FinishedAt != nil {
		return *p.FinishedAt
	}
	return p.StartedAt
}

// ago is a duration as people read it on a status line: "40 s", "12 min", "3 h".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
}
