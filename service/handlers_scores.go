package service

import (
	"bytes"
	"context"
	"encoding/csv"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/sla"
	"github.com/goodwillhq/goodwill/sla/scores"
)

// Score periods: the default is the 30 days ending today, the longest a year.
const (
	defaultScoreDays = 30
	maxScoreDays     = 366
)

// orgName is the name of the organisation's group.
const orgName = "Organisation"

// parseScores reads group_by (when withGroupBy), from and to, and narrows a recruiter
// key to the recruiters it may see. Days are calendar days in the business calendar's
// zone; to defaults to today there, from to 29 days before to.
func (s *api) parseScores(c *gin.Context, withGroupBy bool) (scores.Query, error) {
	var fields []interactions.FieldError
	bad := func(field, msg string) { fields = append(fields, interactions.FieldError{Field: field, Message: msg}) }
	r := scores.Query{GroupBy: scores.ByOrg}
	if withGroupBy {
		switch g := scores.GroupBy(c.Query("group_by")); g {
		case "":
		case scores.ByRecruiter, scores.ByJob, scores.ByTeam, scores.ByOrg, scores.ByAttributionSource, scores.ByCampaign:
			r.GroupBy = g
		default:
			bad("group_by", "must be recruiter, job, team, org, attribution_source or campaign")
		}
	}
	zone := s.zone()
	day := func(name string) (t time.Time, given bool) {
		v := c.Query(name)
		if v == "" {
			return time.Time{}, false
		}
		t, err := time.ParseInLocation(time.DateOnly, v, zone)
		if err != nil {
			bad(name, "must be a date like 2026-11-30")
			return time.Time{}, false
		}
		return t, true
	}
	from, hasFrom := day("from")
	to, hasTo := day("to")
	if len(fields) > 0 {
		return r, interactions.Invalid(fields...)
	}
	if !hasTo {
		y, m, d := s.now().In(zone).Date()
		to = time.Date(y, m, d, 0, 0, 0, 0, zone)
	}
	if !hasFrom {
		from = to.AddDate(0, 0, -(defaultScoreDays - 1))
	}
	switch days := calendarDays(from, to); {
	case days < 1:
		bad("from", "must not be after to")
	case days > maxScoreDays:
		bad("from", "the period from from to to is at most "+strconv.Itoa(maxScoreDays)+" days")
	}
	if len(fields) > 0 {
		return r, interactions.Invalid(fields...)
	}
	r.From, r.To = from, to
	if key := caller(c); key.Role == auth.RoleRecruiter {
		dir, err := s.scoresCache.recruiters(c, s.directory)
		if err != nil {
			return r, err
		}
		r.Recruiters = visibleIn(dir, key.RecruiterID)
	}
	return r, nil
}

// calendarDays counts the days from the date of a to the date of b, both included
// (zero or less when b is before a), whatever daylight-saving changes lie between.
func calendarDays(a, b time.Time) int {
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	span := time.Date(yb, mb, db, 0, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 0, 0, 0, 0, time.UTC))
	return int(span.Hours()/24) + 1
}

// scoreGroups answers a score query with named groups.
func (s *api) scoreGroups(c *gin.Context, r scores.Query) ([]scores.Group, error) {
	var names map[string]string
	if r.GroupBy == scores.ByRecruiter || r.GroupBy == scores.ByTeam {
		dir, err := s.scoresCache.recruiters(c, s.directory)
		if err != nil {
			return nil, err
		}
		names = make(map[string]string, len(dir))
		r.Teams = make(map[string]string, len(dir))
		for _, rec := range dir {
			names[rec.ID] = rec.Name
			if rec.Team != "" {
				r.Teams[rec.ID] = rec.Team
			}
		}
	}
	groups := s.book.Scores(r, s.now())
	if groups == nil {
		groups = []scores.Group{}
	}
	if r.GroupBy == scores.ByAttributionSource {
		spend, err := s.spend.List(ctx(c), r.From.Format("2006-01"), r.To.Format("2006-01"))
		if err != nil {
			return nil, err
		}
		scores.AddCosts(groups, scores.PeriodSpend(spend, r.From, r.To))
	}
	if r.GroupBy == scores.ByJob {
		var err error
		if names, err = s.scoresCache.jobTitles(c, s.interactions, groups); err != nil {
			return nil, err
		}
	}
	for i := range groups {
		g := &groups[i]
		switch r.GroupBy {
		case scores.ByRecruiter, scores.ByJob:
			g.Name = names[g.Key]
		case scores.ByTeam, scores.ByAttributionSource, scores.ByCampaign:
			g.Name = g.Key
		case scores.ByOrg:
			g.Name = orgName
		}
		if g.AttainmentByMetric == nil {
			g.AttainmentByMetric = map[string]float64{}
		}
	}
	return groups, nil
}

// How old what score queries read of the recruiters directory and of job titles may
// grow before a query starts reading it again.
const (
	directoryTTL = 5 * time.Second
	jobTitlesTTL = time.Minute
)

// scoresCache keeps what score queries read besides the book: the recruiters directory
// (names, teams, who reports to whom) and job titles. Reading them costs tens to
// hundreds of milliseconds on the embedded store, more than a whole score query may
// take, so a query reads them only when there is no copy yet; a query that finds its
// copy older than the TTL starts a refresh in the background and goes on with the old
// one. The zero value is empty and ready.
type scoresCache struct {
	dir    directoryCopy
	titles jobTitlesCopy
}

// directoryCopy is a copy of the recruiters directory.
type directoryCopy struct {
	mu         sync.Mutex
	list       []directory.Recruiter // replaced, never changed
	at         time.Time
	refreshing bool
}

// recruiters returns the directory: read now if there is no copy yet.
func (sc *scoresCache) recruiters(c *gin.Context, d *directory.Store) ([]directory.Recruiter, error) {
	dc := &sc.dir
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.list == nil {
		list, err := d.List(ctx(c))
		if err != nil {
			return nil, err
		}
		dc.list, dc.at = list, time.Now()
	}
	if !dc.refreshing && time.Since(dc.at) >= directoryTTL {
		dc.refreshing = true
		go dc.refresh(d)
	}
	return dc.list, nil
}

func (dc *directoryCopy) refresh(d *directory.Store) {
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := d.List(rctx)
	dc.mu.Lock()
	defer dc.mu.Unlock()
	dc.refreshing = false
	if err == nil { // else the next query tries again
		dc.list, dc.at = list, time.Now()
	}
}

// jobTitlesCopy is a copy of the titles of the jobs score queries have named.
type jobTitlesCopy struct {
	mu         sync.Mutex
	titles     map[string]string // job id → title, "" for none; replaced, never changed
	at         time.Time
	refreshing bool
}

// jobTitles returns titles by job id for at least the groups' keys: those it has no
// copy of are read now, in one query.
func (sc *scoresCache) jobTitles(c *gin.Context, st *interactions.Store, groups []scores.Group) (map[string]string, error) {
	tc := &sc.titles
	tc.mu.Lock()
	defer tc.mu.Unlock()
	var missing []string
	for i := range groups {
		if id := groups[i].Key; id != "" {
			if _, ok := tc.titles[id]; !ok {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) > 0 {
		found, err := st.JobTitles(ctx(c), missing)
		if err != nil {
			return nil, err
		}
		if tc.titles == nil {
			tc.at = time.Now()
		}
		tc.merge(missing, found)
	}
	if !tc.refreshing && time.Since(tc.at) >= jobTitlesTTL {
		tc.refreshing = true
		go tc.refresh(st, slices.Collect(maps.Keys(tc.titles)))
	}
	return tc.titles, nil
}

func (tc *jobTitlesCopy) refresh(st *interactions.Store, ids []string) {
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	found, err := st.JobTitles(rctx, ids)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.refreshing = false
	if err == nil { // else the next query tries again
		tc.merge(ids, found)
		tc.at = time.Now()
	}
}

// merge publishes a new map: the titles known, with those of ids read from found.
// Callers hold tc.mu.
func (tc *jobTitlesCopy) merge(ids []string, found map[string]string) {
	next := make(map[string]string, len(tc.titles)+len(ids))
	maps.Copy(next, tc.titles)
	for _, id := range ids {
		next[id] = found[id]
	}
	tc.titles = next
}

// maxReportDepth bounds the walk down a management chain, as in auth.Visible.
const maxReportDepth = 20

// visibleIn returns the recruiter ids a recruiter key bound to id may see: its own and
// those of every recruiter whose manager_id chain reaches it — the rule of
// auth.Visible, on a directory already read.
func visibleIn(dir []directory.Recruiter, id string) []string {
	reports := map[string][]string{}
	for _, r := range dir {
		if r.ManagerID != "" {
			reports[r.ManagerID] = append(reports[r.ManagerID], r.ID)
		}
	}
	seen := map[string]bool{id: true}
	out := []string{id}
	frontier := out
	for depth := 0; depth < maxReportDepth && len(frontier) > 0; depth++ {
		var next []string
		for _, m := range frontier {
			for _, r := range reports[m] {
				if !seen[r] {
					seen[r] = true
					next = append(next, r)
				}
			}
		}
		out = append(out, next...)
		frontier = next
	}
	return out
}

// getScores answers GET /v1/scores.
func (s *api) getScores(c *gin.Context) {
	r, err := s.parseScores(c, true)
	if err != nil {
		fail(c, err)
		return
	}
	groups, err := s.scoreGroups(c, r)
	if err != nil {
		fail(c, err)
		return
	}
	buf := jsonBuffers.Get().(*[]byte)
	body := append((*buf)[:0], `{"groups":`...)
	body = append(scores.AppendJSON(body, groups), '}')
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	if cap(body) <= maxPooledJSON {
		*buf = body
		jsonBuffers.Put(buf)
	}
}

// jsonBuffers holds the buffers score answers are written in: a by-job answer of
// thousands of groups is a megabyte or more, not worth allocating on every query.
var jsonBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledJSON is the largest buffer kept for the next answer.
const maxPooledJSON = 8 << 20

// getScoresCSV answers GET /v1/scores.csv: the groups of GET /v1/scores as CSV.
func (s *api) getScoresCSV(c *gin.Context) {
	r, err := s.parseScores(c, true)
	if err != nil {
		fail(c, err)
		return
	}
	groups, err := s.scoreGroups(c, r)
	if err != nil {
		fail(c, err)
		return
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	cols := scoreColumnsFor(r.GroupBy)
	row := make([]string, len(cols))
	for i, col := range cols {
		row[i] = col.name
	}
	_ = w.Write(row) // a bytes.Buffer does not fail
	for i := range groups {
		for j, col := range cols {
			row[j] = col.cell(&groups[i])
		}
		_ = w.Write(row)
	}
	w.Flush()
	name := "scores-" + string(r.GroupBy) + "-" + r.From.Format(time.DateOnly) + "-" + r.To.Format(time.DateOnly) + ".csv"
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// scoreColumn is one column of the CSV: its header (the JSON field's name) and how a
// group's cell reads.
type scoreColumn struct {
	name string
	cell func(g *scores.Group) string
}

// scoreColumns are the CSV's columns: the JSON fields in order, with
// attainment_by_metric spread over one attainment_<metric> column per metric.
// Missing (null) figures are empty cells.
func scoreColumns() []scoreColumn {
	cols := []scoreColumn{
		{"key", func(g *scores.Group) string { return csvText(g.Key) }},
		{"name", func(g *scores.Group) string { return csvText(g.Name) }},
		{"applications", func(g *scores.Group) string { return strconv.Itoa(g.Applications) }},
		{"first_response_p50_hours", func(g *scores.Group) string { return csvFloat(g.FirstResponseP50Hours) }},
		{"first_response_p90_hours", func(g *scores.Group) string { return csvFloat(g.FirstResponseP90Hours) }},
		{"first_response_pending", func(g *scores.Group) string { return strconv.Itoa(g.FirstResponsePending) }},
		{"reply_p50_hours", func(g *scores.Group) string { return csvFloat(g.ReplyP50Hours) }},
	}
	for _, m := range sla.Metrics() {
		cols = append(cols, scoreColumn{"attainment_" + string(m), func(g *scores.Group) string {
			if v, ok := g.AttainmentByMetric[string(m)]; ok {
				return csvFloat(&v)
			}
			return ""
		}})
	}
	return append(cols, []scoreColumn{
		{"sla_attainment", func(g *scores.Group) string { return csvFloat(g.SLAAttainment) }},
		{"breaches", func(g *scores.Group) string { return strconv.Itoa(g.Breaches) }},
		{"silent_now", func(g *scores.Group) string { return strconv.Itoa(g.SilentNow) }},
		{"ghosted", func(g *scores.Group) string { return strconv.Itoa(g.Ghosted) }},
		{"ghosting_rate", func(g *scores.Group) string { return csvFloat(g.GhostingRate) }},
		{"interviews", func(g *scores.Group) string { return strconv.Itoa(g.Interviews) }},
		{"missed_interviews", func(g *scores.Group) string { return strconv.Itoa(g.MissedInterviews) }},
		{"survey_responses", func(g *scores.Group) string { return csvInt(g.SurveyResponses) }},
		{"cnps", func(g *scores.Group) string { return csvInt(g.CNPS) }},
		{"experience_score", func(g *scores.Group) string { return csvInt(g.ExperienceScore) }},
	}...)
}

// scoreColumnsFor are the CSV's columns for a grouping: scoreColumns, then the
// figures only that grouping has.
func scoreColumnsFor(by scores.GroupBy) []scoreColumn {
	cols := scoreColumns()
	switch by {
	case scores.ByAttributionSource, scores.ByCampaign:
		cols = append(cols, []scoreColumn{
			{"contacted", func(g *scores.Group) string { return csvInt(g.Contacted) }},
			{"interviewed", func(g *scores.Group) string { return csvInt(g.Interviewed) }},
			{"offered", func(g *scores.Group) string { return csvInt(g.Offered) }},
			{"hired", func(g *scores.Group) string { return csvInt(g.Hired) }},
			{"time_to_hire_p50_days", func(g *scores.Group) string { return csvFloat(g.TimeToHireP50Days.Value) }},
		}...)
		if by == scores.ByAttributionSource {
			cols = append(cols,
				scoreColumn{"cost_per_application", func(g *scores.Group) string { return csvFloat(g.CostPerApplication.Value) }},
				scoreColumn{"cost_per_hire", func(g *scores.Group) string { return csvFloat(g.CostPerHire.Value) }})
		}
	case scores.ByOrg:
		cols = append(cols,
			scoreColumn{"referral_hires", func(g *scores.Group) string { return csvInt(g.ReferralHires) }},
			scoreColumn{"referral_share_of_hires", func(g *scores.Group) string { return csvFloat(g.ReferralShareOfHires.Value) }},
			scoreColumn{"hires_who_referred", func(g *scores.Group) string { return csvInt(g.HiresWhoReferred) }})
	}
	return cols
}

func csvFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func csvInt(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}

// csvText guards a text cell against formula injection: a spreadsheet would run a
// cell starting with =, +, -, @ (or a tab or carriage return before one) as a
// formula, so such a cell starts with a single quote instead.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// sentimentView is the answer of GET /v1/scores/sentiment.
type sentimentView struct {
	From string `json:"from"`
	To   string `json:"to"`
	scores.Sentiment
}

// getSentiment answers GET /v1/scores/sentiment: the period's survey figures of
// candidates whose clocks were all met against those who lived through a breach.
func (s *api) getSentiment(c *gin.Context) {
	r, err := s.parseScores(c, false)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sentimentView{
		From:      r.From.Format(time.DateOnly),
		To:        r.To.Format(time.DateOnly),
		Sentiment: s.book.Sentiment(r, s.now()),
	})
}
