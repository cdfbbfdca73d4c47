// Command goodwill-bench is the ingest benchmark behind `make bench`. In one run, on
// the embedded store (FerretDB on SQLite, started in temporary directories with the
// same settings: one for the service, as `goodwill serve` runs it, and one with a
// separate database for each other column), it measures:
//
//   - goodwill: the real service (service.New, its group-commit writer and projector)
//     behind a net/http server on a loopback port, driven by a Go load generator of
//     concurrent keep-alive clients posting single interactions; then how long the
//     projector takes to reflect them all, and its lag histogram from /metrics; and
//     again with the load generator in another process (this executable started
//     again, generator.go), for the service's own CPU per request and p99;
//   - naive: a minimal handler decoding the same JSON and doing one InsertOne per
//     request, driven the same way;
//   - the raw InsertMany ceiling: the same documents inserted with sequential
//     InsertMany batches, no HTTP;
//
// and, for diagnosis, InsertMany without secondary indexes and the projector's Apply
// alone. It prints the table and writes its section of BENCHMARKS.md (between
// <!-- ingest:start --> and <!-- ingest:end -->), leaving other sections alone. Its
// other sections (the SLA scheduler, goodwill import, scores: scores.go, the
// first-connect backfill: backfill.go, restarts: restart.go) write theirs.
//
// Usage:
//
//	go run ./cmd/goodwill-bench [-out BENCHMARKS.md] [-requests 20000] [-clients 64] [-apps 5000] [-quick] [-cpuprofile file]
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/service/storage"
)

// settings are the harness's flags.
type settings struct {
	out          string
	requests     int
	clients      int
	apps         int
	batch        int
	quick        bool
	cpuprofile   string
	memprofile   string
	ops          int // calls per store primitive timed; 0 skips
	projDocs     int // documents for the projector-alone row; 0 skips
	drainTimeout time.Duration
	loadTimeout  time.Duration
	seed         uint64
	backlog      bool   // the workload's events are a month old: every clock overdue
	slaSizes     string // open clocks per SLA scheduler run, comma-separated; "" skips
	slaDue       int    // clocks that breach during each SLA run
	slaOnly      bool
	importLines  int // lines of the goodwill import section; 0 skips
	importRuns   int // first imports, each on a fresh service and store; the section shows the median
	importOnly   bool
	set          map[string]string // flags given explicitly, for the report

	// The alerts section (alerts.go).
	alertBreaches int // simultaneous breaches; 0 skips
	alertsOnly    bool
	slackBreaches int // simultaneous breaches to Slack users; 0 skips
	slackOnly     bool
	// The email dropbox section (mail.go).
	mailMessages int // 0 skips
	mailClients  int
	mailOnly     bool

	// The scores section (scores.go).
	scoresApps     int // applications, about ten interactions each; 0 skips
	scoresRequests int // GET /v1/scores per query
	scoresOnly     bool

	// The first-connect backfill section (backfill.go).
	backfillApps     int    // applications per vendor; 0 skips
	backfillVendors  string // comma-separated
	backfillOnly     bool
	backfillRealApps int // applications per vendor of the rows at the documented pace; 0 skips
	// backfillUnbounded runs every vendor at backfillApps and backfillRealApps, Workable
	// too (its rows are bounded by default: 10,000 applications take 17 minutes).
	backfillUnbounded bool

	// The restart section (restart.go).
	restartClocks int    // open clocks; 0 skips
	restartBinary string // a goodwill binary to measure instead of one built from the tree
	restartOnly   bool
}

// flagsString renders the explicitly given flags (other than -out).
func (o settings) flagsString() string {
	var b strings.Builder
	for _, name := range []string{"quick", "requests", "clients", "apps", "batch", "seed", "backlog"} {
		if v, ok := o.set[name]; ok {
			if name == "quick" || name == "backlog" { // booleans
				if v == "true" {
					b.WriteString(" -" + name)
				}
				continue
			}
			fmt.Fprintf(&b, " -%s %s", name, v)
		}
	}
	return b.String()
}

func main() {
	if runGeneratorChild() {
		return
	}
	var o settings
	flag.StringVar(&o.out, "out", "", "write the results into this Markdown file (its ingest section)")
	flag.IntVar(&o.requests, "requests", 20000, "single-interaction POSTs (and documents for the raw ceiling)")
	flag.IntVar(&o.clients, "clients", 64, "concurrent HTTP clients")
	flag.IntVar(&o.apps, "apps", 5000, "distinct applications")
	flag.IntVar(&o.batch, "batch", 500, "documents per InsertMany for the raw ceiling and the projector-alone row")
	flag.BoolVar(&o.quick, "quick", false, "a smoke run: 2,000 requests from 16 clients over 500 applications, and scores over 2,000 applications, unless set")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the goodwill column with the load generator in another process (the service alone: load and projector drain) to this file (-backfill-only: of each backfill, to <vendor>-<file>; -import-only: of the service during the first import)")
	flag.StringVar(&o.memprofile, "memprofile", "", "write the allocations profile of the process at the start of the goodwill column with the load generator in another process to <file>.base, and at its end (derived state caught up) to this file: `go tool pprof -sample_index alloc_space -base <file>.base <file>` shows what the service allocated")
	flag.IntVar(&o.ops, "ops", 30, "calls per store primitive in the store-primitives table (0 skips it)")
	flag.IntVar(&o.projDocs, "projector-docs", 20000, "documents the projector-alone row applies, at most the workload's (0 skips it)")
	flag.DurationVar(&o.loadTimeout, "load-timeout", 3*time.Minute, "stop sending new requests after this long (a column that slow reports what it sent)")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 2*time.Minute, "how long to wait for the projector to catch up after the load")
	flag.Uint64Var(&o.seed, "seed", 1, "workload random seed")
	flag.BoolVar(&o.backlog, "backlog", false, "post a month-old backlog instead of live events: every clock is overdue on arrival, and its transitions are recorded without alerting")
	flag.StringVar(&o.slaSizes, "sla", "100000,1000000", "open clocks for the SLA scheduler section, comma-separated (empty skips it)")
	flag.IntVar(&o.slaDue, "sla-due", 1000, "clocks that breach during the SLA scheduler measurement")
	flag.BoolVar(&o.slaOnly, "sla-only", false, "run only the SLA scheduler section")
	flag.IntVar(&o.importLines, "import-lines", 100000, "lines for the goodwill import section (0 skips it)")
	flag.IntVar(&o.importRuns, "import-runs", 3, "runs of the goodwill import section, each on a fresh service and store: the section shows the median run by lines/s, and lists every run's rate")
	flag.BoolVar(&o.importOnly, "import-only", false, "run only the goodwill import section")
	flag.IntVar(&o.alertBreaches, "alerts", 1000, "simultaneous breaches for the alerts section (0 skips it; -quick: 100 unless set)")
	flag.BoolVar(&o.alertsOnly, "alerts-only", false, "run only the alerts section (-cpuprofile then profiles its breaches)")
	flag.IntVar(&o.slackBreaches, "slack-alerts", 1000, "simultaneous breaches for the Slack alerts section (0 skips it; -quick: 100 unless set)")
	flag.BoolVar(&o.slackOnly, "slack-alerts-only", false, "run only the Slack alerts section (-cpuprofile then profiles its breaches)")
	flag.IntVar(&o.mailMessages, "mail", 1000, "messages per run of the email dropbox section (0 skips it; -quick: 500 unless set)")
	flag.IntVar(&o.mailClients, "mail-clients", 8, "SMTP connections at once in the email dropbox section's concurrent runs")
	flag.BoolVar(&o.mailOnly, "mail-only", false, "run only the email dropbox section")
	flag.IntVar(&o.scoresApps, "scores-apps", 100000, "applications of the scores section, about ten interactions each (0 skips it)")
	flag.IntVar(&o.scoresRequests, "scores-requests", 200, "GET /v1/scores per query in the scores section")
	flag.BoolVar(&o.scoresOnly, "scores-only", false, "run only the scores section")
	flag.IntVar(&o.backfillApps, "backfill-apps", 10000, "applications per vendor of the first-connect backfill section (0 skips it; -quick: 1,000 unless set)")
	flag.StringVar(&o.backfillVendors, "backfill-vendors", "lever,greenhouse,ashby,workable", "vendors of the backfill section, comma-separated")
	flag.BoolVar(&o.backfillOnly, "backfill-only", false, "run only the first-connect backfill section")
	flag.IntVar(&o.backfillRealApps, "backfill-real-apps", 1000, "applications per vendor of the backfill rows at the documented pace (0 skips them)")
	flag.BoolVar(&o.backfillUnbounded, "backfill-unbounded", false, "backfill Workable's -backfill-apps and -backfill-real-apps too (by default 1,000 and 100: at 10 requests/s, 10,000 applications take 17 minutes)")
	flag.IntVar(&o.restartClocks, "restart", 100000, "open clocks of the restart section (0 skips it; -quick: 10,000 unless set)")
	flag.StringVar(&o.restartBinary, "restart-binary", "", "the goodwill binary the restart section measures (default: built from this tree)")
	flag.BoolVar(&o.restartOnly, "restart-only", false, "run only the restart section")
	flag.Parse()
	o.set = map[string]string{}
	flag.Visit(func(f *flag.Flag) { o.set[f.Name] = f.Value.String() })
	if _, ok := o.set["alerts"]; o.quick && !ok {
		o.alertBreaches = 100
	}
	if _, ok := o.set["slack-alerts"]; o.quick && !ok {
		o.slackBreaches = 100
	}
	if _, ok := o.set["restart"]; o.quick && !ok {
		o.restartClocks = 10000
	}
	if _, ok := o.set["mail"]; o.quick && !ok {
		o.mailMessages = 500
	}
	if o.quick {
		for name, v := range map[string]*int{"requests": &o.requests, "clients": &o.clients, "apps": &o.apps, "scores-apps": &o.scoresApps, "scores-requests": &o.scoresRequests, "backfill-apps": &o.backfillApps} {
			if _, ok := o.set[name]; !ok {
				*v = map[string]int{"requests": 2000, "clients": 16, "apps": 500, "scores-apps": 2000, "scores-requests": 50, "backfill-apps": 1000}[name]
			}
		}
	}
	if o.requests < 1 || o.clients < 1 || o.apps < 1 || o.batch < 1 {
		fmt.Fprintln(os.Stderr, "goodwill-bench: -requests, -clients, -apps and -batch must be positive")
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if _, err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "goodwill-bench:", err)
		os.Exit(1)
	}
	if o.out != "" {
		if err := writeSummary(o.out, time.Now()); err != nil {
			fmt.Fprintln(os.Stderr, "goodwill-bench: the summary:", err)
			os.Exit(1)
		}
	}
}

// run runs every column, prints the section and writes it to o.out (if set).
func run(ctx context.Context, o settings, progress io.Writer) (*report, error) {
	dir, err := os.MkdirTemp("", "goodwill-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	store, err := openReady(ctx, dir, "bench")
	if err != nil {
		return nil, err
	}
	defer store.Close(context.Background())

	var id [4]byte
	_, _ = rand.Read(id[:])
	if err := store.Detect(ctx); err != nil {
		return nil, err
	}
	// Every column writes into collections of the shape goodwill keeps on this store:
	// on FerretDB without secondary indexes, which it never uses for queries.
	b := &bench{opts: o, store: store, runID: hex.EncodeToString(id[:]), log: progress, indexes: !store.FerretDB}
	if o.slaOnly {
		return nil, runSLASection(ctx, o, store, b.runID, progress)
	}
	if o.importOnly {
		return nil, runImportSection(ctx, o, store, b.runID, progress)
	}
	if o.alertsOnly {
		return nil, runAlertsSection(ctx, o, store, b.runID, progress)
	}
	if o.slackOnly {
		return nil, runSlackAlertsSection(ctx, o, progress)
	}
	if o.mailOnly {
		return nil, runMailSection(ctx, o, progress)
	}
	if o.scoresOnly {
		return nil, runScoresSection(ctx, o, store, b.runID, progress)
	}
	if o.backfillOnly {
		return nil, runBackfillSection(ctx, o, b.runID, progress)
	}
	if o.restartOnly {
		return nil, runRestartSection(ctx, o, progress)
	}
	b.work = newWorkload(o.requests, o.apps, b.runID, o.seed, o.backlog)
	if b.docs, err = b.work.documents(); err != nil {
		return nil, err
	}
	r := &report{opts: o, when: time.Now(), machine: thisMachine(), work: b.work, loadBefore: loadAvg()}
	step := func(name string) func() {
		fmt.Fprintf(progress, "%-48s", name+" …")
		t := time.Now()
		return func() { fmt.Fprintf(progress, " %.1f s\n", time.Since(t).Seconds()) }
	}

	done := step("raw InsertMany ceiling")
	if r.raw, err = b.runRaw(ctx, "raw", b.indexes); err != nil {
		return nil, err
	}
	done()
	done = step("raw InsertMany, other index shape")
	noIdx, err := b.runRaw(ctx, "rawnoidx", !b.indexes)
	if err != nil {
		return nil, err
	}
	noIdx.Column = fmt.Sprintf("raw InsertMany, _id index only (%d per batch)", o.batch)
	if !b.indexes {
		noIdx.Column = fmt.Sprintf("raw InsertMany with the secondary indexes goodwill keeps on MongoDB (%d per batch)", o.batch)
	}
	done()
	r.info = append(r.info, noIdx)
	if o.projDocs > 0 {
		done = step("projector Apply alone")
		proj, err := b.runProjector(ctx, min(o.projDocs, len(b.docs)))
		if err != nil {
			return nil, err
		}
		proj.Column = fmt.Sprintf("projector `Apply` alone: the first %s documents (%s applications), %d per batch, sequential, no HTTP",
			thousands(proj.Count), thousands(proj.apps), o.batch)
		r.info = append(r.info, proj)
		r.projAlone = proj
		done()
	}
	if o.ops > 0 {
		done = step("store primitives")
		if r.ops, err = b.runOps(ctx, b.work.apps, o.ops); err != nil {
			return nil, err
		}
		done()
	}
	done = step("naive InsertOne per request")
	if r.naive, err = b.runNaive(ctx); err != nil {
		return nil, err
	}
	done()
	done = step("HTTP floor (nothing stored)")
	if r.floor, err = b.runFloor(ctx, false); err != nil {
		return nil, err
	}
	done()
	done = step("HTTP floor, load generator in another process")
	if r.floorX, err = b.runFloor(ctx, true); err != nil {
		return nil, err
	}
	done()
	done = step("goodwill")
	if r.goodwill, r.proj, err = b.runGoodwill(ctx, false); err != nil {
		return nil, err
	}
	done()
	done = step("goodwill, load generator in another process")
	if r.goodwillX, r.projX, err = b.runGoodwill(ctx, true); err != nil {
		return nil, err
	}
	done()

	r.loadAfter = loadAvg()
	section := r.section()
	fmt.Fprintln(progress)
	fmt.Fprint(progress, section)
	if o.out != "" {
		if err := writeSection(o.out, "ingest", section); err != nil {
			return nil, err
		}
	}
	if o.slaSizes != "" {
		if err := runSLASection(ctx, o, store, b.runID, progress); err != nil {
			return nil, err
		}
	}
	if o.importLines > 0 {
		if err := runImportSection(ctx, o, store, b.runID, progress); err != nil {
			return nil, err
		}
	}
	if o.alertBreaches > 0 {
		if err := runAlertsSection(ctx, o, store, b.runID, progress); err != nil {
			return nil, err
		}
	}
	if o.slackBreaches > 0 {
		if err := runSlackAlertsSection(ctx, o, progress); err != nil {
			return nil, err
		}
	}
	if o.scoresApps > 0 {
		if err := runScoresSection(ctx, o, store, b.runID, progress); err != nil {
			return nil, err
		}
	}
	if o.backfillApps > 0 {
		if err := runBackfillSection(ctx, o, b.runID, progress); err != nil {
			return nil, err
		}
	}
	if o.mailMessages > 0 {
		if err := runMailSection(ctx, o, progress); err != nil {
			return nil, err
		}
	}
	if o.restartClocks > 0 {
		if err := runRestartSection(ctx, o, progress); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// runImportSection times goodwill import o.importRuns times, each on a fresh service
// and store (the first with the CPU profile, if asked for), and writes its section
// from the median run: a single run of a 10-second import on a shared machine moves by
// a tenth from one minute to the next.
func runImportSection(ctx context.Context, o settings, store *storage.Store, runID string, progress io.Writer) error {
	runs := max(o.importRuns, 1)
	fmt.Fprintf(progress, "%-48s", fmt.Sprintf("goodwill import, %s lines, %d runs …", thousands(o.importLines), runs))
	t := time.Now()
	var results []*importResult
	for i := range runs {
		profile := o.cpuprofile
		if i > 0 {
			profile = ""
		}
		r, err := runImport(ctx, fmt.Sprintf("%s_%d", runID, i), o.importLines, profile, progress)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	return publish(o, progress, t, "import", importSection(time.Now(), thisMachine(), results), "")
}

// runSLASection measures the SLA scheduler at each size and writes its section.
func runSLASection(ctx context.Context, o settings, store *storage.Store, runID string, progress io.Writer) error {
	var results []*slaResult
	for _, f := range strings.Split(o.slaSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < o.slaDue {
			return fmt.Errorf("-sla: %q is not a number of clocks of at least -sla-due", f)
		}
		fmt.Fprintf(progress, "%-48s", fmt.Sprintf("SLA scheduler, %s open clocks …", thousands(n)))
		t := time.Now()
		r, err := runSLA(ctx, store, runID, n, o.slaDue)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, " %.1f s\n", time.Since(t).Seconds())
		results = append(results, r)
	}
	section := slaSection(time.Now(), thisMachine(), o.slaDue, results)
	fmt.Fprintln(progress)
	fmt.Fprint(progress, section)
	if o.out != "" {
		return writeSection(o.out, "sla", section)
	}
	return nil
}
