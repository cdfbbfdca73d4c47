package scores

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/goodwillhq/goodwill/sla"
)

// metricNames are the metrics' names, in the order of their counters.
var metricNames = func() []string {
	var names []string
	for _, m := range sla.Metrics()[:nMetrics] {
		names = append(names, string(m))
	}
	return names
}()

// maxStages is how many stages Funnel reports: those most applications left.
const maxStages = 10

// Scores returns one group per key with any roll-up in the period, ordered by key.
// The org group has key "org" and is always there (GroupBy ByOrg or empty). Names are
// left empty for the caller to fill. An unknown GroupBy returns nil.
func (b *Book) Scores(q Query, now time.Time) []Group {
	from, to := period(q)
	b.mu.RLock()
	defer b.mu.RUnlock()
	allowed := b.allowed(q.Recruiters)
	var groups []Group
	var rest []withheldInputs // per group, what complementary suppression needs
	add := func(a *acc, key, team string) {
		groups = append(groups, a.group(key))
		rest = append(rest, withheldInputs{team: team, rejected: a.v[kRejected], ghostedRejected: a.v[kGhostedRejected]})
	}
	a := newMemoAcc(now)
	switch q.GroupBy {
	case ByRecruiter: // in the order of their ids, as returned
		groups = make([]Group, 0, len(b.byRec))
		for _, r := range b.recruiters.sorted {
			if int(r) >= len(b.byRec) || b.byRec[r] == nil || !allowed(r) {
				continue
			}
			a.reset()
			a.addSeries(b.byRec[r], from, to)
			if a.touched {
				id := b.recruiters.list[r]
				add(a, id, q.Teams[id])
			}
		}
		suppressComplementary(groups, rest, true, a.figures)
		return groups
	case ByTeam:
		teams := map[string]*acc{}
		for r, s := range b.byRec {
			if s == nil || !allowed(int32(r)) {
				continue
			}
			team := q.Teams[b.recruiters.list[r]]
			t := teams[team]
			if t == nil {
				t = newMemoAcc(now)
				teams[team] = t
			}
			t.addSeries(s, from, to)
		}
		for team, t := range teams {
			if t.touched {
				add(t, team, "")
			}
		}
	case ByJob:
		if q.Recruiters == nil {
			groups = make([]Group, 0, len(b.byJob))
			for _, j := range b.jobs.sorted {
				if int(j) >= len(b.byJob) || b.byJob[j] == nil {
					continue
				}
				a.reset()
				a.addSeries(b.byJob[j], from, to)
				if a.touched {
					add(a, b.jobs.list[j], "")
				}
			}
			suppressComplementary(groups, rest, false, a.figures)
			return groups
		}
		// A job's series for each recruiter: too many to keep memos of.
		a.memo = false
		list := b.byJobRec
		for i := 0; i < len(list); {
			job := list[i].job
			a.reset()
			for ; i < len(list) && list[i].job == job; i++ {
				if allowed(list[i].recruiter) {
					a.addSeries(list[i].s, from, to)
				}
			}
			if a.touched {
				add(a, b.jobs.list[job], "")
			}
		}
	case ByAttributionSource, ByCampaign:
		list, keys := b.bySrcRec, &b.sources
		if q.GroupBy == ByCampaign {
			list, keys = b.byCampRec, &b.campaigns
		}
		for i := 0; i < len(list); {
			k := list[i].job
			a.reset()
			for ; i < len(list) && list[i].job == k; i++ {
				if allowed(list[i].recruiter) {
					a.addSeries(list[i].s, from, to)
				}
			}
			if a.touched {
				add(a, keys.list[k], "")
				a.funnel(&groups[len(groups)-1])
			}
		}
	case ByOrg, "":
		b.eachRecruiter(allowed, func(s *series) { a.addSeries(s, from, to) })
		g := a.group("org")
		a.referrals(&g)
		return []Group{g}
	default:
		return nil
	}
	suppressComplementary(groups, rest, false, a.figures)
	return sortGroups(groups)
}

// sortGroups orders groups by key, moving each (large) group once.
func sortGroups(groups []Group) []Group {
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return cmp.Compare(groups[x].Key, groups[y].Key) })
	sorted := make([]Group, len(groups))
	for i, j := range order {
		sorted[i] = groups[j]
	}
	return sorted
}

// Sentiment returns the period's survey figures split by whether the candidate's
// application had a breached clock at now: responses are counted on their own day,
// for the query's recruiters (all when nil); GroupBy is ignored.
func (b *Book) Sentiment(q Query, now time.Time) Sentiment {
	from, to := period(q)
	b.mu.RLock()
	defer b.mu.RUnlock()
	a := newMemoAcc(now)
	b.eachRecruiter(b.allowed(q.Recruiters), func(s *series) { a.addSeries(s, from, to) })
	met := [3]int64{a.v[kAllMet] + a.surveys[0][0], a.v[kAllMetPromoters] + a.surveys[0][1], a.v[kAllMetDetractors] + a.surveys[0][2]}
	out := Sentiment{AllMet: cohortOf(met), Breached: cohortOf(a.surveys[1])}
	// The two cohorts split the responses of the period, which the scores show:
	// one cohort withheld alone could be told from the other and the total.
	if (out.AllMet.Responses == nil) != (out.Breached.Responses == nil) {
		out.AllMet, out.Breached = Cohort{}, Cohort{}
	}
	return out
}

func cohortOf(s [3]int64) Cohort {
	c := Cohort{CNPS: cnps(&slab{}, s[0], s[1], s[2])}
	if c.CNPS != nil {
		c.Responses = ptr(int(s[0]))
	}
	return c
}

// Weekly returns the trend for the weeks overlapping the period: whole weeks from
// Monday to Sunday in the book's zone, for the query's recruiters (all when nil);
// nil when From or To is zero.
func (b *Book) Weekly(q Query, now time.Time) []Week {
	from, to := period(q)
	if to < from || q.From.IsZero() || q.To.IsZero() {
		return nil
	}
	loc := b.location()
	b.mu.RLock()
	defer b.mu.RUnlock()
	allowed := b.allowed(q.Recruiters)
	var weeks []Week
	a := newAcc(now, false)
	for monday := from - int32(weekday(from)); monday <= to; monday += 7 {
		a.reset()
		b.eachRecruiter(allowed, func(s *series) { a.addSeries(s, monday, monday+6) })
		g := a.group("")
		weeks = append(weeks, Week{
			Start:                 dayDate(monday, loc),
			SLAAttainment:         g.SLAAttainment,
			FirstResponseP50Hours: g.FirstResponseP50Hours,
			Breaches:              g.Breaches,
		})
	}
	return weeks
}

// HeatMap returns the period's breaches (by due day) by weekday and hour of the due
// moment in the book's zone, for the query's recruiters (all when nil).
func (b *Book) HeatMap(q Query) HeatMap {
	from, to := period(q)
	b.mu.RLock()
	defer b.mu.RUnlock()
	var hm HeatMap
	b.eachRecruiter(b.allowed(q.Recruiters), func(s *series) {
		s.each(from, to, func(first int32, n []entry, _ []timedContrib) {
			for _, e := range n {
				if e.key >= kHour && e.key < kHour+24 {
					hm[weekday(first+int32(e.off))][e.key-kHour] += int(e.val)
				}
			}
		})
	})
	return hm
}

// Funnel returns the funnel of the applications received in the period, for the
// query's recruiters (all when nil): how many reached each step, and the mean hours
// spent in the stages most of them left.
func (b *Book) Funnel(q Query, now time.Time) Funnel {
	from, to := period(q)
	b.mu.RLock()
	defer b.mu.RUnlock()
	a := newAcc(now, true)
	b.eachRecruiter(b.allowed(q.Recruiters), func(s *series) { a.addSeries(s, from, to) })
	f := Funnel{Steps: []FunnelStep{
		{Step: "applied", Applications: int(a.v[kApps])},
		{Step: "contacted", Applications: int(a.v[kContacted])},
		{Step: "interviewed", Applications: int(a.v[kInterviewed])},
		{Step: "offered", Applications: int(a.v[kOffered])},
		{Step: "hired", Applications: int(a.v[kHired])},
	}, Stages: []StageTime{}}
	for s := 0; 2*s+1 < len(a.stages); s++ {
		left, minutes := a.stages[2*s], a.stages[2*s+1]
		if left <= 0 {
			continue
		}
		f.Stages = append(f.Stages, StageTime{
			Stage:     b.stages.list[s],
			MeanHours: round(float64(minutes)/float64(left)/60, 2),
			Left:      int(left),
		})
	}
	slices.SortFunc(f.Stages, func(x, y StageTime) int {
		if c := cmp.Compare(y.Left, x.Left); c != 0 {
			return c
		}
		return cmp.Compare(x.Stage, y.Stage)
	})
	if len(f.Stages) > maxStages {
		f.Stages = f.Stages[:maxStages]
	}
	return f
}

// period returns the query's days; a zero From or To leaves that end open.
func period(q Query) (from, to int32) {
	from, to = math.MinInt32+1, math.MaxInt32-1
	if !q.From.IsZero() {
		from = dateDay(q.From)
	}
	if !q.To.IsZero() {
		to = dateDay(q.To)
	}
	return from, to
}

// allowed returns whether a recruiter index is within the query's recruiters.
func (b *Book) allowed(recruiters []string) func(int32) bool {
	if recruiters == nil {
		return func(int32) bool { return true }
	}
	set := map[int32]bool{}
	for _, r := range recruiters {
		if i, ok := b.recruiters.lookup(r); ok {
			set[i] = true
		}
	}
	return func(i int32) bool { return set[i] }
}

func (b *Book) eachRecruiter(allowed func(int32) bool, f func(*series)) {
	for r, s := range b.byRec {
		if s != nil && allowed(int32(r)) {
			f(s)
		}
	}
}

// acc sums series into one group's figures, evaluating timed entries at now.
type acc struct {
	now         int64 // Unix milliseconds
	v           [kStage]int64
	silent      int64       // open applications silent at now
	ghostedOpen int64       // of which for a month or more
	surveys     [2][3]int64 // timed survey responses [not breached, breached at now][responses, promoters, detractors]
	withStages  bool
	stages      []int64 // key − kStage → sum, when withStages
	touched     bool    // anything was added
	figures     *slab   // where group takes its figures' pointers from
	// memo reads a series' counters from the sums it keeps of the period, when they
	// are of its current version, and leaves it those it summed otherwise: for the
	// queries of the period a dashboard asks again and again, over series that change
	// a few at a time. Queries of other periods (the weeks of a trend) leave memos
	// alone. Never with withStages (memos leave stages out).
	memo bool
	// The histogram buckets that may hold anything: all once add adds counters.
	first, reply buckets
	// Room to sum a series in when its memo is out of date.
	scratch *[kStage]int64
	buf     []keyCount
}

func newAcc(now time.Time, withStages bool) *acc {
	return &acc{now: now.UnixMilli(), withStages: withStages, figures: &slab{}, first: noBuckets, reply: noBuckets}
}

// newMemoAcc is newAcc without stages, reading and leaving memos.
func newMemoAcc(now time.Time) *acc {
	a := newAcc(now, false)
	a.memo = true
	return a
}

func (a *acc) reset() {
	*a = acc{now: a.now, withStages: a.withStages, stages: a.stages[:0], figures: a.figures, memo: a.memo,
		first: noBuckets, reply: noBuckets, scratch: a.scratch, buf: a.buf}
}

func (a *acc) addSeries(s *series, from, to int32) {
	if !a.memo {
		s.each(from, to, a.add)
		return
	}
	m := s.memo.Load()
	if m == nil || m.from != from || m.to != to || m.version != s.version {
		if a.scratch == nil {
			a.scratch = new([kStage]int64)
		}
		m, a.buf = s.sums(from, to, a.scratch, a.buf)
		s.memo.Store(m)
	}
	a.touched = a.touched || m.counted
	for _, c := range m.counts {
		a.v[c.key] += int64(c.val)
	}
	a.first, a.reply = a.first.union(m.first), a.reply.union(m.reply)
	s.eachTimed(from, to, a.addTimed)
}

// addTimed adds timed entries (add without counters).
func (a *acc) addTimed(timed []timedContrib) { a.add(0, nil, timed) }

func (a *acc) add(_ int32, n []entry, timed []timedContrib) {
	a.touched = true
	if len(n) > 0 {
		a.first, a.reply = allBuckets, allBuckets
	}
	for _, e := range n {
		switch {
		case e.key < kStage:
			a.v[e.key] += int64(e.val)
		case a.withStages:
			i := int(e.key - kStage)
			for i >= len(a.stages) {
				a.stages = append(a.stages, 0)
			}
			a.stages[i] += int64(e.val)
		}
	}
	for _, t := range timed {
		due := t.at <= a.now
		if t.key == tSilent {
			if due {
				a.silent++
				if t.at+monthOfSilence.Milliseconds() <= a.now {
					a.ghostedOpen++
				}
			}
			continue
		}
		side := 0
		if due {
			side = 1
		}
		a.surveys[side][0]++
		switch t.key {
		case tPromoter:
			a.surveys[side][1]++
		case tDetractor:
			a.surveys[side][2]++
		}
	}
}

// group computes a group's figures from the sums.
func (a *acc) group(key string) Group {
	fig := a.figures
	first := percentiles(a.v[kFirst:kFirst+nBuckets], a.first, fig, 0.5, 0.9)
	g := Group{
		Key:                   key,
		Applications:          int(a.v[kApps]),
		FirstResponseP50Hours: first[0],
		FirstResponseP90Hours: first[1],
		FirstResponsePending:  int(a.v[kPending]),
		ReplyP50Hours:         percentiles(a.v[kReply:kReply+nBuckets], a.reply, fig, 0.5)[0],
		AttainmentByMetric:    make(map[string]float64, nMetrics),
		SilentNow:             int(a.silent),
		Ghosted:               int(a.v[kGhostedRejected] + a.ghostedOpen),
		Interviews:            int(a.v[kInterviews]),
		SurveyResponses:       surveyCount(fig, a.v[kSurveys]),
		CNPS:                  cnps(fig, a.v[kSurveys], a.v[kPromoters], a.v[kDetractors]),
	}
	var sum float64
	for i, m := range metricNames {
		met, breached := a.v[kMet+i], a.v[kBreached+i]
		g.Breaches += int(breached)
		if met+breached == 0 {
			continue
		}
		r := float64(met) / float64(met+breached)
		g.AttainmentByMetric[m] = round(r, 4)
		sum += r
	}
	if n := len(g.AttainmentByMetric); n > 0 {
		g.SLAAttainment = fig.float(round(sum/float64(n), 4))
	}
	g.MissedInterviews = int(a.v[kBreached+metricIndex[sla.MetricInterviewOutcome]])
	if d := a.v[kRejected] + a.ghostedOpen; d > 0 {
		g.GhostingRate = fig.float(round(float64(g.Ghosted)/float64(d), 4))
	}
	g.ExperienceScore = experience(fig, g, a.v[kRejected], a.v[kGhostedRejected])
	return g
}

// funnel adds the funnel figures to a group grouped by attribution.
func (a *acc) funnel(g *Group) {
	fig := a.figures
	g.Contacted = fig.int(int(a.v[kContacted]))
	g.Interviewed = fig.int(int(a.v[kInterviewed]))
	g.Offered = fig.int(int(a.v[kOffered]))
	g.Hired = fig.int(int(a.v[kHired]))
	g.TimeToHireP50Days = Some(nil)
	if d, ok := medianBucket(a.v[kHireDays : kHireDays+nHireDays]); ok {
		g.TimeToHireP50Days = Some(fig.float(float64(d)))
	}
}

// referrals adds the referral loop's figures to the org group.
func (a *acc) referrals(g *Group) {
	fig := a.figures
	g.ReferralHires = fig.int(int(a.v[kReferralHired]))
	g.HiresWhoReferred = fig.int(int(a.v[kWhoReferred]))
	g.ReferralShareOfHires = Some(nil)
	if hired := a.v[kHired]; hired > 0 {
		g.ReferralShareOfHires = Some(fig.float(round(float64(a.v[kReferralHired])/float64(hired), 4)))
	}
}

// medianBucket is the bucket of the nearest-rank median of counts; false when empty.
func medianBucket(counts []int64) (int, bool) {
	var n int64
	for _, c := range counts {
		n += c
	}
	if n <= 0 {
		return 0, false
	}
	rank := max(int64(math.Ceil(0.5*float64(n))), 1)
	var seen int64
	for i, c := range counts {
		if seen += c; c > 0 && seen >= rank {
			return i, true
		}
	}
	return len(counts) - 1, true
}

// surveyCount is the number of survey responses, taken from s; nil below
// MinRespondents.
func surveyCount(s *slab, n int64) *int {
	if n < MinRespondents {
		return nil
	}
	return s.int(int(n))
}

// cnps is the candidate NPS of n responses, taken from s; nil below MinRespondents.
func cnps(s *slab, n, promoters, detractors int64) *int {
	if n < MinRespondents {
		return nil
	}
	return s.int(int(math.Round(100 * float64(promoters-detractors) / float64(n))))
}

// experience is the composite score docs/scores.md states: the
// weighted mean of the components that have data, 0–100, taken from s; nil when none
// has.
func experience(s *slab, g Group, rejected, ghostedRejected int64) *int {
	var sum, weights float64
	part := func(weight, value float64) {
		sum += weight * min(max(value, 0), 1)
		weights += weight
	}
	if p := g.FirstResponseP50Hours; p != nil {
		part(25, 1-(*p-24)/96) // 1 up to a day, 0 from five days on
	}
	if g.SLAAttainment != nil {
		part(25, *g.SLAAttainment)
	}
	if g.GhostingRate != nil {
		part(20, 1-*g.GhostingRate)
	}
	if g.Interviews > 0 {
		part(10, 1-float64(g.MissedInterviews)/float64(g.Interviews))
	}
	if rejected > 0 {
		part(10, float64(rejected-ghostedRejected)/float64(rejected))
	}
	if g.CNPS != nil {
		part(10, float64(*g.CNPS+100)/200)
	}
	if weights == 0 {
		return nil
	}
	return s.int(int(math.Round(100 * sum / weights)))
}
