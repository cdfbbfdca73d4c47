package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/client"
	"github.com/goodwillhq/goodwill/webhooks/ashby"
	"github.com/goodwillhq/goodwill/webhooks/ashby/ashbytest"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse/greenhousetest"
	"github.com/goodwillhq/goodwill/webhooks/lever"
	"github.com/goodwillhq/goodwill/webhooks/lever/levertest"
	"github.com/goodwillhq/goodwill/webhooks/workable"
	"github.com/goodwillhq/goodwill/webhooks/workable/workabletest"
)

// backfillSpeedup is how many times the vendor's documented rate limit the fake API
// answers at, and the sync is paced at, so that the section measures whether goodwill
// keeps up with the pace it is given (the sync is bound by the vendor, not by goodwill)
// in a tenth of the time a real first connect takes.
const backfillSpeedup = 10

// backfillEvents is how many events each application's history has.
const backfillEvents = 5

// backfillVendor is one vendor of the backfill section: its documented rate and how to
// build its fake API and its sync.
type backfillVendor struct {
	name  string
	rate  float64 // documented requests per second
	burst int     // the burst the runner's client is given
	// perWindow and capWindow are the client's cap, at most perWindow requests in any
	// capWindow (0: none), as the vendor's client has it at the documented pace.
	perWindow int
	capWindow time.Duration
	// window is the burst the documented limit allows (Lever's bucket of 20,
	// Greenhouse's 50 per 10-second window): the fake's.
	window int
	doc    string // where the rate is documented
	// maxApps and maxRealApps bound the applications of the default run's rows at
	// backfillSpeedup and at the documented pace (0: no bound) for a vendor whose rate
	// would make -backfill-apps take too long; -backfill-unbounded lifts them.
	maxApps, maxRealApps int
	// setup returns the fake API (under /v1 or its own base) holding n applications
	// of backfillEvents events, the base URL path, and the vendor reading it through
	// doer.
	setup func(n int) (api http.Handler, basePath string, vendor func(baseURL string, doer atssync.Doer) atssync.Vendor, err error)
}

var backfillVendors = map[string]backfillVendor{
	"lever": {
		name: "lever", rate: lever.RequestsPerSecond, burst: lever.Burst, window: lever.Burst,
		doc: "10 requests/s steady, bursts of 20 (hire.lever.co/developer/documentation, \"Rate limits\")",
		setup: func(n int) (http.Handler, string, func(string, atssync.Doer) atssync.Vendor, error) {
			acct, err := levertest.Load(filepath.Join("webhooks", "lever", "testdata", "sync", "lever.json"))
			if err != nil {
				return nil, "", nil, fmt.Errorf("%w (run from the repository's root)", err)
			}
			acct.Opportunities, acct.Interviews = levertest.History("bf", n, time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC), 30*time.Minute)
			return levertest.New(acct), "/v1", func(base string, doer atssync.Doer) atssync.Vendor {
				return lever.New(lever.Config{APIKey: levertest.Key, APIURL: base}, doer, time.Now)
			}, nil
		},
	},
	"greenhouse": {
		name: "greenhouse", rate: float64(greenhouse.RequestsPerWindow) / greenhouse.RateWindow.Seconds(), burst: greenhouse.Burst,
		perWindow: greenhouse.RequestsPerWindow, capWindow: greenhouse.RateWindow,
		window: greenhouse.RequestsPerWindow,
		doc:    "50 requests per 10 s (developers.greenhouse.io/harvest.html, \"Throttling\"; v3 publishes no other figure)",
		setup: func(n int) (http.Handler, string, func(string, atssync.Doer) atssync.Vendor, error) {
			api := greenhousetest.New(greenhousetest.History(n, time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC), 30*time.Minute))
			return api, "/v3", func(base string, doer atssync.Doer) atssync.Vendor {
				v, err := greenhouse.New(greenhouse.Config{ClientID: greenhousetest.ClientID, ClientSecret: greenhousetest.Secret,
					UserID: greenhousetest.UserID, APIURL: base, TokenURL: strings.TrimSuffix(base, "/v3") + "/token"}, doer, time.Now)
				if err != nil {
					panic(err) // a configuration of constants
				}
				return v
			}, nil
		},
	},
	"ashby": {
		name: "ashby", rate: ashby.RequestsPerMinute / 60.0, burst: ashby.Burst,
		perWindow: ashby.RequestsPerMinute, capWindow: time.Minute,
		// Ashby documents no burst: the fake allows one second's share at once.
		window: (ashby.RequestsPerMinute + 59) / 60,
		doc:    "1,000 requests a minute per API key (docs.ashbyhq.com, \"How do I generate an API key?\"; no burst documented: the fake allows a second's share at once)",
		setup: func(n int) (http.Handler, string, func(string, atssync.Doer) atssync.Vendor, error) {
			acct, err := ashbytest.Load(filepath.Join("webhooks", "ashby", "testdata", "sync", "ashby.json"))
			if err != nil {
				return nil, "", nil, fmt.Errorf("%w (run from the repository's root)", err)
			}
			acct.Applications, acct.History, acct.Schedules = ashbytest.History("bf", n, time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC), 30*time.Minute)
			acct.Offers = nil
			return ashbytest.New(acct), "", func(base string, doer atssync.Doer) atssync.Vendor {
				return ashby.New(ashby.Config{APIKey: ashbytest.Key, APIURL: base}, doer, time.Now)
			}, nil
		},
	},
	"workable": {
		name: "workable", rate: float64(workable.RequestsPerWindow) / workable.RateWindow.Seconds(), burst: 1,
		window: workable.RequestsPerWindow,
		doc:    "10 requests per 10 s for an account token (workable.readme.io/reference/rate-limits)",
		// At ten times its rate Workable answers 10 requests a second: 10,000
		// applications take about 17 minutes, and 1,000 at its documented rate as long.
		maxApps: 1000, maxRealApps: 100,
		setup: func(n int) (http.Handler, string, func(string, atssync.Doer) atssync.Vendor, error) {
			acct, err := workabletest.Load(filepath.Join("webhooks", "workable", "testdata", "sync", "workable.json"))
			if err != nil {
				return nil, "", nil, fmt.Errorf("%w (run from the repository's root)", err)
			}
			acct.Candidates, acct.Activities, acct.Events = workabletest.History("bf", n, time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC), 30*time.Minute)
			acct.Details = nil
			return workabletest.New(acct), workabletest.Base, func(base string, doer atssync.Doer) atssync.Vendor {
				return workable.New(workable.Config{Token: workabletest.Token, APIURL: base}, doer, time.Now)
			}, nil
		},
	},
}

// backfillApps is how many applications a row of v reads: asked, unless v bounds the
// default run below it (then bounded says so).
func backfillApps(v backfillVendor, asked int, real, unbounded bool) (n int, bounded bool) {
	limit := v.maxApps
	if real {
		limit = v.maxRealApps
	}
	if unbounded || limit <= 0 || asked <= limit {
		return asked, false
	}
	return limit, true
}

// backfillResult is one vendor's first-connect backfill.
type backfillResult struct {
	v         backfillVendor
	speedup   float64 // the pace, in times the documented rate
	apps      int
	asked     int   // the applications -backfill-apps asked for, when the vendor bounded them
	requests  int64 // the fake API answered during the backfill
	throttled int64 // of which 429s: the pace went over the fake's limit
	took      time.Duration
	cpu       time.Duration // the process's CPU time meanwhile: the service's and the fake's
	loads     [2]string     // the 1-minute load average at the start and at the end
	b         client.Backfill
}

// load1 is the 1-minute load average.
func load1() string { return strings.Fields(loadAvg() + " ")[0] }

// ideal is the least time the requests take at the pace the fake allows.
func (r *backfillResult) ideal() time.Duration {
	return time.Duration(float64(r.requests) / (r.v.rate * r.speedup) * float64(time.Second))
}

func (r *backfillResult) perApp() float64 { return float64(r.requests) / float64(r.apps) }

// atRealRate is how long the same backfill takes at the vendor's documented rate.
func (r *backfillResult) atRealRate(apps int) time.Duration {
	return time.Duration(r.perApp() * float64(apps) / r.v.rate * float64(time.Second))
}

// runBackfillSection times a first-connect backfill of each vendor and writes its section.
func runBackfillSection(ctx context.Context, o settings, runID string, progress io.Writer) error {
	var results []*backfillResult
	loadBefore := loadAvg()
	for _, name := range strings.Split(o.backfillVendors, ",") {
		v, ok := backfillVendors[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("-backfill-vendors: no fake API for %q", name)
		}
		n, bounded := backfillApps(v, o.backfillApps, false, o.backfillUnbounded)
		fmt.Fprintf(progress, "%-48s", fmt.Sprintf("backfill, %s, %s applications …", v.name, thousands(n)))
		t := time.Now()
		r, err := runBackfill(ctx, v, n, backfillSpeedup, runID, o.cpuprofile)
		if err != nil {
			return fmt.Errorf("backfill %s: %w", v.name, err)
		}
		if bounded {
			r.asked = o.backfillApps
		}
		fmt.Fprintf(progress, " %.1f s\n", time.Since(t).Seconds())
		results = append(results, r)
	}
	for _, name := range strings.Split(o.backfillVendors, ",") {
		if o.backfillRealApps <= 0 {
			break
		}
		v := backfillVendors[strings.TrimSpace(name)]
		n, bounded := backfillApps(v, o.backfillRealApps, true, o.backfillUnbounded)
		fmt.Fprintf(progress, "%-48s", fmt.Sprintf("backfill, %s, %s applications, documented pace …", v.name, thousands(n)))
		t := time.Now()
		r, err := runBackfill(ctx, v, n, 1, runID, "")
		if err != nil {
			return fmt.Errorf("backfill %s: %w", v.name, err)
		}
		if bounded {
			r.asked = o.backfillRealApps
		}
		fmt.Fprintf(progress, " %.1f s\n", time.Since(t).Seconds())
		results = append(results, r)
	}
	section := backfillSection(time.Now(), thisMachine(), loadBefore, loadAvg(), results)
	fmt.Fprintln(progress)
	fmt.Fprint(progress, section)
	if o.out != "" {
		return writeSection(o.out, "backfill", section)
	}
	return nil
}

// runBackfill serves v's fake API holding n applications, limited to speedup times
// v's rate (429 beyond), runs the service on its own embedded store syncing v at that
// pace, and times POST /v1/connectors/{vendor}/backfill to its end.
func runBackfill(ctx context.Context, v backfillVendor, n int, speedup float64, runID, cpuprofile string) (*backfillResult, error) {
	api, basePath, vendor, err := v.setup(n)
	if err != nil {
		return nil, err
	}
	var requests, throttled atomic.Int64
	limit := rate.NewLimiter(rate.Limit(v.rate*speedup), int(float64(v.window)*speedup))
	apiURL, stopAPI, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" { // OAuth, outside the API's rate limit
			api.ServeHTTP(w, r)
			return
		}
		requests.Add(1)
		if !limit.Allow() {
			throttled.Add(1)
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"message":"rate limit exceeded"}`, http.StatusTooManyRequests)
			return
		}
		api.ServeHTTP(w, r)
	}))
	if err != nil {
		return nil, err
	}
	defer stopAPI()
	doer, err := atssync.NewClient(atssync.ClientConfig{Vendor: v.name, BaseURL: apiURL + basePath,
		Rate: rate.Limit(v.rate * speedup), Burst: v.burst, PerWindow: int(float64(v.perWindow) * speedup), Window: v.capWindow})
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "goodwill-backfill-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	_, url, stop, err := startServing(ctx, map[string]string{
		"GOODWILL_DATA_DIR": dir, "GOODWILL_DB": "bench_backfill_" + runID, "GOODWILL_BOOTSTRAP_KEY": adminKey,
		"GOODWILL_ADDR": "127.0.0.1:0", "GOODWILL_SYNC_INTERVAL": "1h", "GOODWILL_SYNC_LOOKBACK": "1d",
	}, service.Options{SyncVendors: []atssync.Vendor{vendor(apiURL+basePath, doer)}})
	if err != nil {
		return nil, err
	}
	defer stop()
	c := client.New(url, adminKey, nil)

	// The first regular pass (a day of lookback: none of the history) ends first.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var cons struct {
			Connectors []struct {
				Vendor   string
				LastPass *struct{ Outcome string } `json:"last_pass"`
			}
		}
		if _, err := c.Do(ctx, http.MethodGet, "/v1/connectors", nil, &cons); err != nil {
			return nil, err
		}
		ended := false
		for _, con := range cons.Connectors {
			ended = ended || (con.Vendor == v.name && con.LastPass != nil && con.LastPass.Outcome != "running")
		}
		if ended {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the first %s pass did not end within 2 minutes", v.name)
		}
	}

	r := &backfillResult{v: v, apps: n, speedup: speedup}
	before, beforeThrottled := requests.Load(), throttled.Load()
	if cpuprofile != "" {
		f, err := os.Create(v.name + "-" + cpuprofile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	r.loads[0] = load1()
	cpu0 := cpuTime()
	start := time.Now()
	id, err := c.StartBackfill(ctx, v.name, "2025-01-01")
	if err != nil {
		return nil, err
	}
	for {
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
		if r.b, err = c.Backfill(ctx, v.name, id); err != nil {
			return nil, err
		}
		if !r.b.Running() {
			break
		}
	}
	r.took = time.Since(start)
	r.cpu, r.loads[1] = cpuTime()-cpu0, load1()
	r.requests, r.throttled = requests.Load()-before, throttled.Load()-beforeThrottled
	if r.b.State != "done" || r.b.Applications != int64(n) || r.b.Events != int64(n*backfillEvents) {
		msg := ""
		if r.b.Error != nil {
			msg = *r.b.Error
		}
		return nil, fmt.Errorf("the backfill ended %s with %d applications and %d events, want %d and %d %s",
			r.b.State, r.b.Applications, r.b.Events, n, n*backfillEvents, msg)
	}
	return r, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// backfillSection renders the backfill figures for BENCHMARKS.md.
func backfillSection(when time.Time, m machine, loadBefore, loadAfter string, rs []*backfillResult) string {
	var b strings.Builder
	b.WriteString("<!-- backfill:start -->\n## First-connect backfill: `POST /v1/connectors/{vendor}/backfill`\n\n")
	fmt.Fprintf(&b, "Run %s by `go run ./cmd/goodwill-bench` (`make bench`).\n\nMachine: %s; load average %s before the run, %s after "+
		"(other work on the machine competes for the same cores).\n\n", when.UTC().Format("2006-01-02 15:04 MST"), m, loadBefore, loadAfter)
	fmt.Fprintf(&b, "Workload: a fake of each vendor's API (the one its sync's tests use) holds applications "+
		"with %d events each (Lever, Ashby and Workable: applied, two stage changes, an interview, a rejection; Greenhouse: applied, a "+
		"stage change, an interview, an email to the candidate, a rejection) and their details, dated in 2025, and answers at "+
		"%d× the vendor's documented rate limit (429 with `Retry-After` beyond it); the service, on its own embedded "+
		"store as `goodwill serve` runs it, syncs the vendor through the runner's paced client set to that same pace, "+
		"and `POST /v1/connectors/{vendor}/backfill {\"since\": \"2025-01-01\"}` is timed until "+
		"`GET /v1/connectors/{vendor}/backfills/{id}` says `done` (polled every 100 ms), every page written. "+
		"Requests are those the fake answered meanwhile; CPU is the benchmark process's (the service and the fake "+
		"API) meanwhile, of the machine's %d cores × the time; the load average is the 1-minute one as the backfill starts and ends. Ideal is requests ÷ the fake's pace: the target is "+
		"≤ 1.2× ideal, the sync bound by the vendor, not by goodwill. The backfill reads the next page while "+
		"it writes up to four, so the time is the larger of the requests' and the writes' (each page's "+
		"interactions through the writer, the projector and the SLA engine, every clock of the history "+
		"recording its transitions without alerting). At ten times the pace the writes a second are highest for "+
		"Greenhouse (about 230 applications a second: 50 per page of 7 requests) and Ashby (166 a second). With the "+
		"page loop instrumented (once, 2026-12-07) two limits showed. A reader one request at a time never wins "+
		"back the time a loaded machine costs between requests (Greenhouse, load 8–10: 0.4 s of 48 s waiting for "+
		"writes, the rest for reads): the client may now send a few at once to catch up (Lever's documented bucket "+
		"of 20; Greenhouse 10 and Ashby a second's share, never more than their rolling window), and Ashby reads "+
		"a page's stage histories four at a time, still paced. And the writes wait for the projector, which keeps "+
		"derived state within a second of the log: Ashby waited for its writes 5.6 s of 70 s at load 3.7, 12.5 s "+
		"of 78 s at load 5–6, and as long with eight pages in flight instead of four. "+
		"The _(info)_ rows run the same at the documented pace itself, "+
		"the fake allowing the documented bursts (Lever's bucket of 20, Greenhouse's 50 per 10 s, Workable's 10 per 10 s). "+
		"Workable's rows are bounded by default (10 requests a second at ten times its rate: 10,000 applications take "+
		"17 minutes, at a tenth of Lever's writes a second); a run of all 10,000 (`-backfill-unbounded`, 2026-12-07, "+
		"load average 6.9 at its start, 10.4 at its end) took 1,146 s for 10,204 requests, 1.12× ideal.\n\n", backfillEvents, backfillSpeedup, runtime.NumCPU())
	b.WriteString("| vendor | pace | applications | events | requests | requests per application | 429s | time | ideal | time ÷ ideal | target ≤ 1.2× | CPU (service and fake) | load average, start → end |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n")
	var targets strings.Builder
	for _, r := range rs {
		ratio := r.took.Seconds() / r.ideal().Seconds()
		met := "**not met**"
		if ratio <= 1.2 {
			met = "met"
		}
		pace := fmt.Sprintf("%g× documented: %.4g requests/s", r.speedup, r.v.rate*r.speedup)
		if r.speedup == 1 {
			met = "_(info)_ " + met
		} else {
			fmt.Fprintf(&targets, "| %s at %g× its documented rate: time ≤ 1.2× ideal | %.2f× | %s |\n", r.v.name, r.speedup, ratio, met)
		}
		apps := thousands(r.apps)
		if r.asked > 0 {
			apps += fmt.Sprintf(" (bounded from %s; `-backfill-unbounded` runs them all)", thousands(r.asked))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.3f | %d | %.1f s | %.1f s | %.2f | %s | %.1f s | %s → %s |\n",
			r.v.name, pace, apps, thousands(int(r.b.Events)), thousands(int(r.requests)), r.perApp(),
			r.throttled, r.took.Seconds(), r.ideal().Seconds(), ratio, met, r.cpu.Seconds(), r.loads[0], r.loads[1])
	}
	b.WriteString("\n| target | measured | |\n|---|---|---|\n" + targets.String())
	b.WriteString("\nDocumented limits: ")
	seen := map[string]bool{}
	var docs []string
	for _, r := range rs {
		if !seen[r.v.name] {
			seen[r.v.name] = true
			docs = append(docs, r.v.name+", "+r.v.doc)
		}
	}
	b.WriteString(strings.Join(docs, "; ") + ".\n")
	b.WriteString("\nAt the documented rate, a first connect of 10,000 applications takes (requests per application × 10,000 ÷ the documented rate):\n\n")
	b.WriteString("| vendor | requests for 10,000 applications | at the documented rate |\n|---|---:|---:|\n")
	for _, r := range rs {
		if r.speedup == 1 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.v.name, thousands(int(r.perApp()*10000+0.5)), r.atRealRate(10000).Round(time.Second))
	}
	b.WriteString("<!-- backfill:end -->\n")
	return b.String()
}
