package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/storage"
	"github.com/goodwillhq/goodwill/sla"
)

// The scores workload's shape: recruiters in teams of ten, a job per 50 applications,
// a year of history.
const (
	scoresRecruiters = 200
	scoresTeamSize   = 10
	scoresAppsPerJob = 50
	scoresHistory    = 365 * 24 * time.Hour
	scoresPeriodDays = 90
	scoresWarmUp     = 5
)

// scoresResult is what the scores section measured.
type scoresResult struct {
	apps, recruiters, teams, jobs int
	interactions                  int
	kinds                         map[interactions.Kind]int
	transitions                   int // recorded before the start
	write                         time.Duration
	start                         time.Duration // service.New: engine start derives every clock, fills the book
	heap                          float64       // MB of Go heap the service holds after its start
	recordedLater                 int64         // transitions the engine recorded from its start to the end of the queries
	from, to                      string
	inPeriod                      int // applications received in the period, by the generator
	orgApplications               int // what the org group says
	cases                         []scoresCase
	loadBefore, loadAfter         string // of the queries: the machine may be shared
}

// scoresCase is one query's latencies.
type scoresCase struct {
	what      string
	groups    int
	bytes     int
	cold      time.Duration // the first request: the service's caches of the directory and job titles empty
	latencies []time.Duration
	cpu       time.Duration // CPU time of the whole process (server, store and client) per timed request
	errors    int
	firstErr  string
}

func (c scoresCase) quantile(q float64) time.Duration {
	r := result{Latencies: c.latencies}
	return r.Quantile(q)
}

// runScoresSection measures GET /v1/scores and writes its section. The section keeps
// a store of its own rather than the bench's: see runScores.
func runScoresSection(ctx context.Context, o settings, _ *storage.Store, runID string, progress io.Writer) error {
	r, err := runScores(ctx, runID, o.scoresApps, o.scoresRequests, o.seed, progress)
	if err != nil {
		return err
	}
	section := scoresSection(time.Now(), thisMachine(), o.scoresRequests, r)
	fmt.Fprintln(progress)
	fmt.Fprint(progress, section)
	if o.out != "" {
		return writeSection(o.out, "scores", section)
	}
	return nil
}

// runScores writes a year of history for apps applications straight into a fresh
// embedded store, starts the service on its data directory as goodwill serve does,
// and times score queries over HTTP. The service opens the store itself: given the
// URI of a store the bench holds open, it would take it for a MongoDB that other
// replicas share, and follow the log as replicas do.
func runScores(ctx context.Context, runID string, apps, requests int, seed uint64, progress io.Writer) (*scoresResult, error) {
	step := func(name string) func() {
		fmt.Fprintf(progress, "%-48s", name+" …")
		t := time.Now()
		return func() { fmt.Fprintf(progress, " %.1f s\n", time.Since(t).Seconds()) }
	}
	dir, err := os.MkdirTemp("", "goodwill-bench-scores-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	dbName := "bench_scores_" + runID
	now := time.Now().UTC().Truncate(time.Millisecond)
	gen := newScoresGen(apps, now, seed)
	r := &scoresResult{apps: apps, recruiters: scoresRecruiters, teams: scoresRecruiters / scoresTeamSize, jobs: len(gen.jobs)}
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from := to.AddDate(0, 0, -(scoresPeriodDays - 1))
	r.from, r.to = from.Format(time.DateOnly), to.Format(time.DateOnly)

	done := step(fmt.Sprintf("scores: write %s applications' history", thousands(apps)))
	start := time.Now()
	recorded, err := writeScoresStore(ctx, dir, dbName, func(db *mongo.Database) error {
		return gen.write(ctx, db, from, to.AddDate(0, 0, 1), r)
	})
	if err != nil {
		return nil, err
	}
	r.write = time.Since(start)
	done()

	vars := map[string]string{
		"GOODWILL_DATA_DIR": dir, "GOODWILL_DB": dbName,
		"GOODWILL_BOOTSTRAP_KEY": adminKey, "GOODWILL_ADDR": "127.0.0.1:0",
		"GOODWILL_ALERTS": "off", // the history's breaches are not what is measured
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done = step("scores: start the service on it")
	start = time.Now()
	s, closeService, err := startService(ctx, vars, service.Options{})
	if err != nil {
		return nil, err
	}
	r.start = time.Since(start)
	done()
	closed := false
	defer func() {
		if !closed {
			closeService()
		}
	}()
	runtime.GC()
	runtime.ReadMemStats(&after)
	r.heap = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)

	url, stop, err := serve(s.Handler())
	if err != nil {
		return nil, err
	}
	defer stop()
	client := newClient(1)
	defer client.CloseIdleConnections()
	viewer, err := benchKey(ctx, client, url, `{"name":"bench viewer","role":"viewer"}`)
	if err != nil {
		return nil, err
	}
	lead, err := benchKey(ctx, client, url, `{"name":"bench team lead","role":"recruiter","recruiter_id":"rec-000"}`)
	if err != nil {
		return nil, err
	}
	done = step("scores: queries")
	r.loadBefore = loadAvg()
	period := "&from=" + r.from + "&to=" + r.to
	for _, c := range []struct{ what, key, query string }{
		{"`group_by=org`", viewer, "group_by=org"},
		{"`group_by=recruiter`", viewer, "group_by=recruiter"},
		{"`group_by=job`", viewer, "group_by=job"},
		{"`group_by=team`", viewer, "group_by=team"},
		{"`group_by=recruiter`, a team lead's recruiter key (10 recruiters)", lead, "group_by=recruiter"},
	} {
		sc, body := timeScores(ctx, client, url+"/v1/scores?"+c.query+period, c.key, requests)
		sc.what = c.what
		var out struct {
			Groups []struct {
				Key          string `json:"key"`
				Applications int    `json:"applications"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(body, &out); err == nil {
			sc.groups = len(out.Groups)
			if c.query == "group_by=org" && c.key == viewer && len(out.Groups) == 1 {
				r.orgApplications = out.Groups[0].Applications
			}
		}
		r.cases = append(r.cases, sc)
	}
	r.loadAfter = loadAvg()
	done()
	stop()
	closeService()
	closed = true
	if r.recordedLater, err = countAfter(ctx, dir, dbName, "sla_transitions"); err != nil {
		return nil, err
	}
	r.recordedLater -= recorded
	return r, nil
}

// writeScoresStore writes into a new embedded store in dir and returns how many SLA
// transitions it then holds; the store is closed on return.
func writeScoresStore(ctx context.Context, dir, dbName string, write func(*mongo.Database) error) (int64, error) {
	store, err := openReady(ctx, dir, dbName)
	if err != nil {
		return 0, err
	}
	defer store.Close(context.Background())
	if err := write(store.DB); err != nil {
		return 0, err
	}
	return store.DB.Collection("sla_transitions").EstimatedDocumentCount(ctx)
}

// openReady opens the embedded store in dir and waits until it answers; the caller
// closes it.
func openReady(ctx context.Context, dir, dbName string) (*storage.Store, error) {
	store, err := storage.Open(ctx, storage.Options{DataDir: dir, DB: dbName})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = store.WaitReady(rctx)
	cancel()
	if err != nil {
		store.Close(context.Background())
		return nil, err
	}
	return store, nil
}

// countAfter opens the store the service has closed and counts a collection.
func countAfter(ctx context.Context, dir, dbName, coll string) (int64, error) {
	store, err := storage.Open(ctx, storage.Options{DataDir: dir, DB: dbName})
	if err != nil {
		return 0, err
	}
	defer store.Close(context.Background())
	return store.DB.Collection(coll).EstimatedDocumentCount(ctx)
}

// benchKey creates an API key with the admin key and returns its secret.
func benchKey(ctx context.Context, client *http.Client, url, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/keys", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var k struct{ Key string }
	if err := json.NewDecoder(res.Body).Decode(&k); err != nil || res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create key: %d %v", res.StatusCode, err)
	}
	return k.Key, nil
}

// timeScores GETs url n times in a row (after a few warm-up requests) and returns the
// latencies and the last body.
func timeScores(ctx context.Context, client *http.Client, url, key string, n int) (scoresCase, []byte) {
	var sc scoresCase
	var body []byte
	var cpu0 time.Duration
	for i := range scoresWarmUp + n {
		if i == scoresWarmUp {
			cpu0 = cpuTime()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			sc.errors++
			sc.firstErr = err.Error()
			return sc, nil
		}
		req.Header.Set("Authorization", "Bearer "+key)
		t0 := time.Now()
		res, err := client.Do(req)
		if err == nil {
			body, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil && res.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d: %.200s", res.StatusCode, body)
			}
		}
		took := time.Since(t0)
		if err != nil {
			if sc.errors == 0 {
				sc.firstErr = err.Error()
			}
			sc.errors++
			continue
		}
		if i == 0 {
			sc.cold = took
		}
		if i >= scoresWarmUp {
			sc.latencies = append(sc.latencies, took)
			sc.bytes = len(body)
		}
	}
	if len(sc.latencies) > 0 {
		sc.cpu = (cpuTime() - cpu0) / time.Duration(len(sc.latencies))
	}
	return sc, body
}

// scoresGen generates the history: recruiters who differ in how fast they answer and
// how often they never do, and applications that go through screening, interviews
// and offers, or are rejected, withdrawn or left waiting on the way.
type scoresGen struct {
	rng      *rand.Rand
	now      time.Time
	apps     int
	jobs     []benchJob
	profiles []recruiterProfile
	nextExt  int
}

type benchJob struct {
	id, title, department string
	recruiter             int
}

// recruiterProfile is how a recruiter behaves: the median time to answer, and how
// often an application is never answered at all.
type recruiterProfile struct {
	median time.Duration
	ghost  float64
	mood   float64 // the mean survey score their candidates give
}

func newScoresGen(apps int, now time.Time, seed uint64) *scoresGen {
	g := &scoresGen{rng: rand.New(rand.NewPCG(seed, seed^0x5c0de5)), now: now, apps: apps}
	for i := range scoresRecruiters {
		switch i % 4 {
		case 0: // prompt
			g.profiles = append(g.profiles, recruiterProfile{median: 2 * time.Hour, ghost: 0.01, mood: 8.5})
		case 3: // slow
			g.profiles = append(g.profiles, recruiterProfile{median: 60 * time.Hour, ghost: 0.15, mood: 5})
		default:
			g.profiles = append(g.profiles, recruiterProfile{median: 20 * time.Hour, ghost: 0.05, mood: 7})
		}
	}
	departments := []string{"Engineering", "Sales", "Support", "Operations", "Marketing", "Finance"}
	for j := range max(apps/scoresAppsPerJob, 1) {
		g.jobs = append(g.jobs, benchJob{
			id: fmt.Sprintf("job-%04d", j), title: fmt.Sprintf("Job title %d", j),
			department: departments[j%len(departments)], recruiter: j % scoresRecruiters,
		})
	}
	return g
}

func recruiterID(i int) string { return fmt.Sprintf("rec-%03d", i) }

// directory writes the recruiters: teams of ten, the first of each its lead.
func (g *scoresGen) directory(ctx context.Context, db *mongo.Database) error {
	dir := directory.NewStore(db)
	for i := range scoresRecruiters {
		lead := i - i%scoresTeamSize
		rec := directory.Recruiter{ID: recruiterID(i), Name: fmt.Sprintf("Recruiter %d", i), Team: fmt.Sprintf("team-%02d", i/scoresTeamSize)}
		if lead != i {
			rec.ManagerID = recruiterID(lead)
		}
		if errs := rec.Validate(nil); len(errs) > 0 {
			return fmt.Errorf("recruiter %s: %v", rec.ID, errs)
		}
		if _, err := dir.Put(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}

// write generates the history and writes it in the collections goodwill keeps, as the
// projector and the SLA engine would have left them: interactions, application
// documents with their compact events, candidates, jobs, the SLA transitions recorded
// (handled), and the projector's high-water mark. It counts the applications received
// in [from, until).
func (g *scoresGen) write(ctx context.Context, db *mongo.Database, from, until time.Time, r *scoresResult) error {
	if err := g.directory(ctx, db); err != nil {
		return err
	}
	var jobs []any
	for _, j := range g.jobs {
		jobs = append(jobs, bson.M{"_id": j.id, "title": j.title, "department": j.department})
	}
	if err := insertAll(ctx, db.Collection("jobs"), jobs); err != nil {
		return err
	}
	cal := sla.DefaultCalendar("UTC", "")
	business, err := cal.Compile()
	if err != nil {
		return err
	}
	env := sla.Env{Policies: sla.DefaultPolicies(), Calendars: map[string]sla.BusinessClock{
		sla.CalendarBusiness: business, sla.Calendar24x7: sla.TwentyFourSeven(),
	}}
	r.kinds = map[interactions.Kind]int{}
	var mark time.Time
	const chunk = 2000 // applications per round of inserts
	for lo := 0; lo < g.apps; lo += chunk {
		var items, apps, candidates, fired []any
		for i := lo; i < min(lo+chunk, g.apps); i++ {
			events := g.application(i)
			for _, e := range events {
				items = append(items, e)
				r.kinds[e.Kind]++
				if e.ReceivedAt.After(mark) {
					mark = e.ReceivedAt
				}
			}
			first := events[0]
			if !first.OccurredAt.Before(from) && first.OccurredAt.Before(until) {
				r.inPeriod++
			}
			candidates = append(candidates, bson.M{"_id": first.CandidateID, "name": first.Candidate.Name, "email": first.Candidate.Email})
			compact, _ := interactions.MergeEvents(nil, events)
			app := interactions.DeriveApplication(first.ApplicationID, compact)
			app.UpdatedAt = g.now
			apps = append(apps, app)
			for _, c := range sla.Derive(app.Events, env, g.now) {
				for _, t := range sla.Transitions(c) {
					if t.At.After(g.now) {
						continue
					}
					fired = append(fired, sla.Fired{
						ID: c.ClockID + "|" + string(t.State), ClockID: c.ClockID, ApplicationID: app.ID,
						CandidateID: app.CandidateID, RecruiterID: app.RecruiterID, JobID: app.JobID,
						PolicyID: c.PolicyID, Metric: c.Metric, InterviewID: c.InterviewID, State: t.State,
						At: t.At, DueAt: c.DueAt, StartedBy: c.StartedBy, Alert: t.Alert, RecordedAt: t.At, Handled: true,
					})
				}
			}
		}
		r.interactions += len(items)
		r.transitions += len(fired)
		for _, w := range []struct {
			coll string
			docs []any
		}{{"interactions", items}, {"applications", apps}, {"candidates", candidates}, {"sla_transitions", fired}} {
			if err := insertAll(ctx, db.Collection(w.coll), w.docs); err != nil {
				return fmt.Errorf("write %s: %w", w.coll, err)
			}
		}
	}
	// Everything is applied: the projector's catch-up at start re-reads only its overlap.
	_, err = db.Collection("meta").InsertOne(ctx, bson.M{"_id": "projector", "mark": mark})
	return err
}

// insertAll inserts docs with unordered InsertMany calls of 1,000.
func insertAll(ctx context.Context, coll *mongo.Collection, docs []any) error {
	for part := range slices.Chunk(docs, 1000) {
		if _, err := coll.InsertMany(ctx, part, options.InsertMany().SetOrdered(false)); err != nil {
			return err
		}
	}
	return nil
}

// directions of the kinds the generator writes other than message.
var benchDirection = map[interactions.Kind]interactions.Direction{
	interactions.KindApplicationReceived: interactions.Inbound,
	interactions.KindSurveyResponse:      interactions.Inbound,
	interactions.KindWithdrawn:           interactions.Inbound,
	interactions.KindInterviewScheduled:  interactions.Outbound,
	interactions.KindOfferExtended:       interactions.Outbound,
	interactions.KindRejected:            interactions.Outbound,
	interactions.KindHired:               interactions.Outbound,
	interactions.KindPromise:             interactions.Outbound,
	interactions.KindInterviewCompleted:  interactions.Internal,
	interactions.KindInterviewNoShow:     interactions.Internal,
	interactions.KindFeedbackSubmitted:   interactions.Internal,
	interactions.KindStageChanged:        interactions.Internal,
	interactions.KindNote:                interactions.Internal,
}

// application generates the interactions of application i, in time order; what
// would happen after now is left out.
func (g *scoresGen) application(i int) []interactions.Interaction {
	rng := g.rng
	appID, candID := fmt.Sprintf("app-%06d", i), fmt.Sprintf("cand-%06d", i)
	job := g.jobs[int(float64(len(g.jobs))*math.Pow(rng.Float64(), 1.5))] // some jobs draw more
	p := g.profiles[job.recruiter]
	t := g.now.Add(-time.Duration(rng.Float64() * float64(scoresHistory)))
	var out []interactions.Interaction
	open := true // false once an event would lie in the future
	add := func(kind interactions.Kind, at time.Time, set func(*interactions.Interaction)) bool {
		if !open || at.After(g.now) {
			open = false
			return false
		}
		at = at.UTC().Truncate(time.Millisecond)
		g.nextExt++
		ext := fmt.Sprintf("h%08d", g.nextExt)
		it := interactions.Interaction{
			Key: interactions.IdempotencyKey("bench", ext), ID: interactions.NewID(),
			ApplicationID: appID, CandidateID: candID, Kind: kind, OccurredAt: at,
			Direction: benchDirection[kind], Source: "bench", ExternalID: ext, ReceivedAt: at.Add(time.Second),
		}
		if set != nil {
			set(&it)
		}
		out = append(out, it)
		if at.After(t) {
			t = at
		}
		return true
	}
	hours := func(lo, hi float64) time.Duration {
		return time.Duration((lo + rng.Float64()*(hi-lo)) * float64(time.Hour))
	}
	answer := func(scale float64) time.Duration { // log-normal around the recruiter's median
		return time.Duration(scale * float64(p.median) * math.Exp(0.8*rng.NormFloat64()))
	}
	message := func(dir interactions.Direction, at time.Time) bool {
		return add(interactions.KindMessage, at, func(it *interactions.Interaction) { it.Direction, it.Channel = dir, "email" })
	}
	survey := func(mood float64, chance float64) {
		if rng.Float64() < chance {
			score := int(math.Round(mood + 2*rng.NormFloat64()))
			add(interactions.KindSurveyResponse, t.Add(hours(24, 24*7)), func(it *interactions.Interaction) {
				it.Score = ptrTo(max(0, min(10, score)))
			})
		}
	}
	reject := func(notified float64) {
		n := rng.Float64() < notified
		add(interactions.KindRejected, t.Add(hours(24, 24*5)), func(it *interactions.Interaction) { it.CandidateNotified = n })
		mood := p.mood - 1
		if !n {
			mood = 3
		}
		survey(mood, 0.25)
	}
	interview := func(n int) {
		id := fmt.Sprintf("%s-i%d", appID, n)
		at := t.Add(hours(24, 24*5))
		if !add(interactions.KindInterviewScheduled, t.Add(hours(1, 24)), func(it *interactions.Interaction) {
			it.InterviewID, it.ScheduledFor = id, &at
		}) {
			return
		}
		end := at.Add(time.Hour)
		switch r := rng.Float64(); {
		case r < 0.88:
			if add(interactions.KindInterviewCompleted, end.Add(hours(0, 0.3)), func(it *interactions.Interaction) { it.InterviewID = id }) && rng.Float64() < 0.8 {
				add(interactions.KindFeedbackSubmitted, t.Add(hours(1, 72)), func(it *interactions.Interaction) { it.InterviewID = id })
			}
		case r < 0.92:
			add(interactions.KindInterviewNoShow, end.Add(10*time.Minute), func(it *interactions.Interaction) { it.InterviewID = id })
		} // else: nobody records what happened (a missed interview)
		message(interactions.Outbound, t.Add(answer(0.5)))
	}
	conversation := func() {
		for range rng.IntN(3) {
			message(interactions.Inbound, t.Add(hours(1, 48)))
			message(interactions.Outbound, t.Add(answer(0.5)))
		}
	}

	add(interactions.KindApplicationReceived, t, func(it *interactions.Interaction) {
		it.Channel, it.JobID, it.RecruiterID = "portal", job.id, recruiterID(job.recruiter)
		it.Referral = rng.IntN(12) == 0
		it.Candidate = &interactions.Person{Name: fmt.Sprintf("Candidate %d", i), Email: fmt.Sprintf("candidate%d@example.com", i)}
		it.Job = &interactions.JobInfo{Title: job.title, Department: job.department}
	})
	if rng.Float64() < p.ghost { // never answered
		if rng.Float64() < 0.5 {
			add(interactions.KindRejected, t.Add(hours(24*10, 24*40)), nil)
		}
		survey(2, 0.1)
		return out
	}
	message(interactions.Outbound, t.Add(answer(1)))
	conversation()
	if rng.Float64() < 0.4 {
		add(interactions.KindNote, t.Add(hours(1, 8)), nil)
	}
	if rng.Float64() < 0.45 { // screened out
		reject(0.85)
		return out
	}
	add(interactions.KindStageChanged, t.Add(hours(1, 48)), func(it *interactions.Interaction) { it.Stage = "phone_screen" })
	interview(1)
	conversation()
	switch r := rng.Float64(); {
	case r < 0.45:
		reject(0.9)
		return out
	case r < 0.52:
		add(interactions.KindWithdrawn, t.Add(hours(24, 24*7)), nil)
		return out
	}
	add(interactions.KindStageChanged, t.Add(hours(1, 72)), func(it *interactions.Interaction) { it.Stage = "onsite" })
	if rng.Float64() < 0.15 {
		by := t.Add(72 * time.Hour)
		add(interactions.KindPromise, t.Add(time.Hour), func(it *interactions.Interaction) { it.PromisedBy = &by })
	}
	interview(2)
	conversation()
	switch r := rng.Float64(); {
	case r < 0.4:
		reject(0.9)
		return out
	case r < 0.5:
		add(interactions.KindWithdrawn, t.Add(hours(24, 24*7)), nil)
		return out
	}
	add(interactions.KindStageChanged, t.Add(hours(1, 48)), func(it *interactions.Interaction) { it.Stage = "offer" })
	add(interactions.KindOfferExtended, t.Add(hours(24, 96)), nil)
	if rng.Float64() < 0.8 {
		add(interactions.KindHired, t.Add(hours(24, 24*7)), nil)
		survey(p.mood+1, 0.4)
	} else {
		add(interactions.KindWithdrawn, t.Add(hours(24, 24*7)), nil)
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }

// scoresSection renders the scores figures for BENCHMARKS.md.
func scoresSection(when time.Time, m machine, requests int, r *scoresResult) string {
	var b strings.Builder
	b.WriteString("<!-- scores:start -->\n## Scores: `GET /v1/scores` over a year of history\n\n")
	fmt.Fprintf(&b, "Run %s by `go run ./cmd/goodwill-bench` (`make bench`).\n\nMachine: %s.\n\n", when.UTC().Format("2006-01-02 15:04 MST"), m)
	kinds := make([]string, 0, len(r.kinds))
	for _, k := range slices.Sorted(maps.Keys(r.kinds)) {
		kinds = append(kinds, fmt.Sprintf("%s %s", thousands(r.kinds[k]), k))
	}
	fmt.Fprintf(&b, "Workload: %s interactions over %s applications to %s jobs, owned by %s recruiters in %d teams "+
		"of %d (each team's lead manages the other nine), received over the past year: %s. A quarter of the "+
		"recruiters answer a new candidate in about 2 hours and leave 1%% unanswered, half in about 20 hours "+
		"(5%% unanswered), a quarter in about 60 hours (15%%); applications go through screening, two "+
		"interviews (some without any outcome recorded) and offers, or are rejected (mostly with the "+
		"candidate notified), withdrawn or left waiting; survey answers follow the experience.\n\n",
		thousands(r.interactions), thousands(r.apps), thousands(r.jobs), thousands(r.recruiters), r.teams, scoresTeamSize, strings.Join(kinds, ", "))
	fmt.Fprintf(&b, "Pushing a million interactions through the HTTP API and the projector would take hours on this "+
		"machine (see the ingest section), so the history is written straight into the store before the "+
		"service starts, into an embedded store of its own, in the collections and shapes goodwill keeps there: the interactions, one "+
		"application document per application with its compact events (as the projector stores them), "+
		"candidates, jobs, the recruiters directory, the SLA transitions the engine would have recorded "+
		"as they happened (%s), and the projector's high-water mark. The service then starts on that data directory "+
		"as `goodwill serve` does with the default embedded store (alerts off): the SLA engine "+
		"derives every application's clocks from the application documents and fills the scores book, and "+
		"the projector catches up with the log's tail; "+
		"on the embedded store each of these reads is a scan of its whole collection. Then %d sequential `GET /v1/scores` per query "+
		"(after %d warm-up requests) from one keep-alive client over loopback with a viewer key, for the "+
		"last %d days (%s to %s); latency is from sending to the end of the response body. Score "+
		"queries keep copies of the recruiters directory and of job titles, refreshed in the background: "+
		"the first request of `group_by=recruiter` reads the directory and the first of `group_by=job` the "+
		"titles, what every query would cost without them. The book also keeps, per recruiter and per job, "+
		"what its counters sum to over the last period asked until one of its applications changes: the "+
		"first request of a period sums every day's counters, the next ones only what changed since (with "+
		"nothing written during the queries, nothing). CPU is the whole process's (service, embedded store and "+
		"client) per request: what a query costs whatever else runs on the machine.\n\n",
		thousands(r.transitions), requests, scoresWarmUp, scoresPeriodDays, r.from, r.to)
	b.WriteString("| setup | |\n|---|---:|\n")
	fmt.Fprintf(&b, "| write the history into the embedded store | %.1f s |\n", r.write.Seconds())
	fmt.Fprintf(&b, "| service start: every application's clocks derived, the book filled, projector catch-up | %.1f s |\n", r.start.Seconds())
	fmt.Fprintf(&b, "| Go heap the service holds after its start (store client, engine, book) | %.0f MB |\n", r.heap)
	fmt.Fprintf(&b, "| transitions the engine recorded from its start to the end of the queries | %s |\n\n", thousands(int(r.recordedLater)))
	fmt.Fprintf(&b, "Load average %s before the queries, %s after (other work on the machine competes for the same cores).\n\n", r.loadBefore, r.loadAfter)
	b.WriteString("| query (90 days) | groups | response | first request ms | p50 ms | p99 ms | CPU ms per request | notes |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	worst := time.Duration(0)
	ok := true
	for _, c := range r.cases {
		notes := ""
		if c.errors > 0 {
			notes = fmt.Sprintf("%d errors, first: %s", c.errors, c.firstErr)
			ok = false
		}
		if len(c.latencies) == 0 {
			ok = false
		}
		worst = max(worst, c.quantile(0.99))
		fmt.Fprintf(&b, "| %s | %s | %.1f KB | %s | %s | %s | %s | %s |\n", c.what, thousands(c.groups), float64(c.bytes)/1024,
			ms(c.cold), ms(c.quantile(0.5)), ms(c.quantile(0.99)), ms(c.cpu), notes)
	}
	fmt.Fprintf(&b, "\nCheck: the organisation's `applications` for the period is %s; the generator received %s "+
		"applications in it.\n\n", thousands(r.orgApplications), thousands(r.inPeriod))
	b.WriteString("| target | measured | |\n|---|---|---|\n")
	verdict := "met"
	if !ok || worst > 50*time.Millisecond {
		verdict = "**not met**"
	}
	fmt.Fprintf(&b, "| p99 ≤ 50 ms for every query | worst p99 %s ms | %s |\n", ms(worst), verdict)
	verdict = "met"
	if r.orgApplications != r.inPeriod {
		verdict = "**not met**"
	}
	fmt.Fprintf(&b, "| the book counts every application of the period | %s of %s | %s |\n", thousands(r.orgApplications), thousands(r.inPeriod), verdict)
	b.WriteString("<!-- scores:end -->\n")
	return b.String()
}
