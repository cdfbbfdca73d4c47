package scores

import (
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

// The benchmark's organisation: a year of applications, each about ten events.
const (
	benchApps       = 100_000
	benchRecruiters = 200
	benchJobs       = 2_000
)

var (
	benchStart = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	benchNow   = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	benchQuery = Query{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)}

	benchOnce  sync.Once
	benchBook  *Book
	benchBuild struct {
		events   int
		apply    time.Duration // Apply alone, all applications
		heapMB   float64       // the book's share of the Go heap
		teams    map[string]string
		lastApp  app
		appCount int
	}
)

// benchApp generates application i: a job with its usual recruiter (one in ten
// handled by another), a first contact after a delay that depends on the
// recruiter's habits (some never answer), a conversation, an interview for some, and
// an outcome.
func benchApp(rng *rand.Rand, i int) app {
	job := rng.IntN(benchJobs)
	rec := job % benchRecruiters
	if rng.IntN(10) == 0 {
		rec = rng.IntN(benchRecruiters)
	}
	a := app{id: "app-" + strconv.Itoa(i), recruiter: "rec-" + strconv.Itoa(rec), job: "job-" + strconv.Itoa(job)}
	t := benchStart.Add(time.Duration(rng.Int64N(int64(benchNow.Sub(benchStart) - 24*time.Hour))))
	add := func(k interactions.Kind, opts ...evOpt) {
		a.steps = append(a.steps, step{kind: k, when: t, opts: opts})
	}
	after := func(mean time.Duration) bool {
		t = t.Add(time.Duration(rng.ExpFloat64() * float64(mean)))
		return t.Before(benchNow)
	}
	add(evReceived)
	add(evStage, stage("new"))
	// Recruiters 0–49 answer within hours, 50–149 within days, 150–199 rarely.
	mean := []time.Duration{3 * time.Hour, 40 * time.Hour, 200 * time.Hour}[min(rec/50, 2)]
	if rec >= 150 && rng.IntN(3) == 0 {
		return a // never answered
	}
	if !after(mean) {
		return a
	}
	add(evMessage)
	add(evStage, stage("screen"))
	if !after(20*time.Hour) || !after(mean) {
		return a
	}
	add(evMessage, inbound())
	if !after(mean) {
		return a
	}
	add(evMessage)
	if rng.IntN(3) == 0 {
		iv := "iv-" + strconv.Itoa(i)
		when := t.Add(72 * time.Hour)
		add(evScheduled, func(e *interactions.Interaction) { e.InterviewID = iv; e.ScheduledFor = &when })
		add(evStage, stage("onsite"))
		t = when.Add(time.Hour)
		if !t.Before(benchNow) {
			return a
		}
		if rng.IntN(10) > 0 {
			add(evCompleted, func(e *interactions.Interaction) { e.InterviewID = iv })
			if !after(20 * time.Hour) {
				return a
			}
			add(evFeedback, func(e *interactions.Interaction) { e.InterviewID = iv })
		}
	}
	if !after(5 * 24 * time.Hour) {
		return a
	}
	switch r := rng.IntN(10); {
	case r < 5:
		add(evRejected, func(e *interactions.Interaction) { e.CandidateNotified = rng.IntN(3) > 0 })
	case r < 6:
		add(evOffer)
		add(evHired)
	case r < 7:
		add(evWithdrawn)
	default:
		return a // still open
	}
	if rng.IntN(3) == 0 && after(48*time.Hour) {
		add(evSurvey, score(rng.IntN(11)))
	}
	return a
}

// buildBench fills the benchmark book once: the engine's start-up rebuild.
func buildBench() {
	rng := rand.New(rand.NewPCG(1, 2))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b := NewBook(utc)
	for i := range benchApps {
		a := benchApp(rng, i)
		events := a.events()
		app := interactions.DeriveApplication(a.id, events)
		clocks := sla.Derive(events, wall, benchNow)
		start := time.Now()
		b.Apply(app, clocks, benchNow)
		benchBuild.apply += time.Since(start)
		benchBuild.events += len(events)
		benchBuild.lastApp = a
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	benchBuild.heapMB = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	benchBuild.appCount = len(b.facts)
	benchBuild.teams = map[string]string{}
	for r := range benchRecruiters {
		benchBuild.teams["rec-"+strconv.Itoa(r)] = "team-" + strconv.Itoa(r%12)
	}
	benchBook = b
}

// BenchmarkScores measures the queries of a 90-day period over a book of 100k
// applications (about a million events, 200 recruiters, 2,000 jobs, a year).
// Run with: go test -run '^$' -bench Scores -benchmem ./sla/scores
func BenchmarkScores(b *testing.B) {
	benchOnce.Do(buildBench)
	b.Logf("book: %d applications, %d events; Apply %.1f µs each (%.2f s in all); heap %.0f MB",
		benchBuild.appCount, benchBuild.events,
		float64(benchBuild.apply.Microseconds())/float64(benchApps), benchBuild.apply.Seconds(), benchBuild.heapMB)
	recruiter := []string{"rec-7"}
	team := make([]string, 0, 20)
	for r := range 20 {
		team = append(team, "rec-"+strconv.Itoa(r))
	}
	cases := []struct {
		name string
		run  func() int
	}{
		{"org", func() int { return len(benchBook.Scores(q(ByOrg, nil), benchNow)) }},
		{"by recruiter", func() int { return len(benchBook.Scores(q(ByRecruiter, nil), benchNow)) }},
		{"by team", func() int { return len(benchBook.Scores(q(ByTeam, nil), benchNow)) }},
		{"by job", func() int { return len(benchBook.Scores(q(ByJob, nil), benchNow)) }},
		// Alternating periods: every query sums the days again, as the first query of
		// a period does (the others read the series' memos).
		{"by job, alternating periods", func() int {
			alternate = !alternate
			p := q(ByJob, nil)
			if alternate {
				p.From = p.From.AddDate(0, 0, 1)
			}
			return len(benchBook.Scores(p, benchNow))
		}},
		{"by job, one recruiter", func() int { return len(benchBook.Scores(q(ByJob, recruiter), benchNow)) }},
		{"by job, 20 recruiters", func() int { return len(benchBook.Scores(q(ByJob, team), benchNow)) }},
		{"weekly", func() int { return len(benchBook.Weekly(q(ByOrg, nil), benchNow)) }},
		{"heat map", func() int { h := benchBook.HeatMap(q(ByOrg, nil)); return sum(h) }},
		{"funnel", func() int { return len(benchBook.Funnel(q(ByOrg, nil), benchNow).Steps) }},
		{"sentiment", func() int { benchBook.Sentiment(q(ByOrg, nil), benchNow); return 1 }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = c.run()
			}
			b.ReportMetric(float64(n), "groups")
		})
	}
	// Re-applying one application with a new event: the projector's path.
	b.Run("apply", func(b *testing.B) {
		a := benchBuild.lastApp
		a.steps = append(a.steps, step{kind: evMessage, when: benchNow.Add(-time.Hour)})
		events := a.events()
		app := interactions.DeriveApplication(a.id, events)
		clocks := sla.Derive(events, wall, benchNow)
		prev := benchBuild.lastApp.events()
		prevApp := interactions.DeriveApplication(a.id, prev)
		prevClocks := sla.Derive(prev, wall, benchNow)
		for i := 0; b.Loop(); i++ {
			if i%2 == 0 {
				benchBook.Apply(app, clocks, benchNow)
			} else {
				benchBook.Apply(prevApp, prevClocks, benchNow)
			}
		}
	})
}

// alternate flips the period of the alternating benchmark.
var alternate bool

func q(by GroupBy, recruiters []string) Query {
	r := benchQuery
	r.GroupBy, r.Recruiters, r.Teams = by, recruiters, benchBuild.teams
	return r
}

// BenchmarkScoresJSON measures writing the 2,000 groups of the by-job query as JSON:
// AppendJSON into a reused buffer, as the API answers, and encoding/json for
// comparison.
// Run with: go test -run '^$' -bench ScoresJSON -benchmem ./sla/scores
func BenchmarkScoresJSON(b *testing.B) {
	benchOnce.Do(buildBench)
	groups := benchBook.Scores(q(ByJob, nil), benchNow)
	var buf []byte
	b.Run("AppendJSON", func(b *testing.B) {
		for b.Loop() {
			buf = AppendJSON(buf[:0], groups)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			out, err := json.Marshal(groups)
			if err != nil {
				b.Fatal(err)
			}
			buf = out
		}
		b.SetBytes(int64(len(buf)))
	})
	// What GET /v1/scores?group_by=job computes besides HTTP and names: the query and
	// its JSON.
	b.Run("by job, query and JSON", func(b *testing.B) {
		for b.Loop() {
			buf = AppendJSON(buf[:0], benchBook.Scores(q(ByJob, nil), benchNow))
		}
		b.SetBytes(int64(len(buf)))
	})
}
