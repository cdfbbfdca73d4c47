package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/service"
)

// importResult is one `goodwill import` run.
type importResult struct {
	lines    int
	first    time.Duration // storing everything
	derived  time.Duration // from the first run's start until derived state reflected every line
	rerun    time.Duration // the same file again: every line a duplicate
	summary  string        // the first run's summary line
	summary2 string
	// CPU time of the first run: the service (this process) and the importer.
	serviceCPU, importerCPU time.Duration
	load                    [2]string // load averages before and after the first run
}

// runImport times the real `goodwill import` binary sending a generated JSON Lines file
// of n interactions (over n/10 applications, history a month old) to a service on its
// own embedded store, as `goodwill serve` runs by default, and then the same file again.
// cpuprofile, if set, names the file of a CPU profile of the service during the first
// import.
func runImport(ctx context.Context, runID string, n int, cpuprofile string, progress io.Writer) (*importResult, error) {
	dir, err := os.MkdirTemp("", "goodwill-import-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin, err := buildGoodwill(ctx, "", dir, progress)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "history.jsonl")
	if err := writeHistory(file, n); err != nil {
		return nil, err
	}

	vars := map[string]string{
		"GOODWILL_DATA_DIR": filepath.Join(dir, "data"), "GOODWILL_DB": "bench_import_" + runID,
		"GOODWILL_BOOTSTRAP_KEY": adminKey, "GOODWILL_ADDR": "127.0.0.1:0",
	}
	_, url, stop, err := startServing(ctx, vars, service.Options{})
	if err != nil {
		return nil, err
	}
	defer stop()

	var importerCPU time.Duration
	importOnce := func() (time.Duration, string, error) {
		cmd := exec.CommandContext(ctx, bin, "import", "--state-dir", filepath.Join(dir, "state"), file)
		cmd.Env = append(os.Environ(), "GOODWILL_URL="+url, "GOODWILL_KEY="+adminKey)
		start := time.Now()
		out, err := cmd.Output()
		took := time.Since(start)
		if cmd.ProcessState != nil {
			importerCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		if err != nil {
			return took, "", fmt.Errorf("goodwill import: %w: %s", err, out)
		}
		return took, strings.ReplaceAll(lastLine(string(out)), file, filepath.Base(file)), nil
	}
	client := newClient(1)
	defer client.CloseIdleConnections()
	before, err := scrape(ctx, client, url+"/metrics")
	if err != nil {
		return nil, err
	}
	r := &importResult{lines: n}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	r.load[0] = loadAvg()
	cpu0 := cpuTime()
	start := time.Now()
	if r.first, r.summary, err = importOnce(); err != nil {
		return nil, err
	}
	r.serviceCPU, r.importerCPU = cpuTime()-cpu0, importerCPU
	r.load[1] = loadAvg()
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if !regexp.MustCompile(fmt.Sprintf(`\b%d stored`, n)).MatchString(r.summary) {
		return nil, fmt.Errorf("the import did not store every line: %s", r.summary)
	}
	// Derived state: until the projector has applied every line.
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		now, err := scrape(ctx, client, url+"/metrics")
		if err != nil {
			return nil, err
		}
		if now["goodwill_projector_applied_total"]-before["goodwill_projector_applied_total"] >= float64(n) {
			r.derived = time.Since(start)
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the projector had not applied the import 5 minutes after it ended")
		}
	}
	if r.rerun, r.summary2, err = importOnce(); err != nil {
		return nil, err
	}
	return r, nil
}

// writeHistory writes n interactions over n/10 applications, a month old, as JSON Lines.
func writeHistory(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	base := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	apps := max(n/10, 1)
	kinds := []string{`"kind":"message","direction":"outbound"`, `"kind":"message","direction":"inbound"`, `"kind":"stage_changed","stage":"onsite"`, `"kind":"note"`}
	for i := range n {
		app := i % apps
		kind := `"kind":"application_received","candidate":{"name":"Candidate ` + fmt.Sprint(app) + `"}`
		if i >= apps {
			kind = kinds[i%len(kinds)]
		}
		fmt.Fprintf(w, `{"application_id":"imp-%d","candidate_id":"c-%d","occurred_at":"%s",%s}`+"\n",
			app, app, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), kind)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// rate is the first import's lines per second.
func (r *importResult) rate() float64 { return float64(r.lines) / r.first.Seconds() }

// medianImport is the run of the median first-import rate (of an even number, the
// slower of the middle two).
func medianImport(runs []*importResult) *importResult {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b *importResult) int { return cmp.Compare(a.rate(), b.rate()) })
	return sorted[(len(sorted)-1)/2]
}

// importSection renders the import figures for BENCHMARKS.md from the median of runs
// (at least one), listing every run's rate.
func importSection(when time.Time, m machine, runs []*importResult) string {
	r := medianImport(runs)
	var b strings.Builder
	b.WriteString("<!-- import:start -->\n## `goodwill import`: backfilling history\n\n")
	fmt.Fprintf(&b, "Run %s by `go run ./cmd/goodwill-bench` (`make bench`).\n\nMachine: %s; load average %s before the first "+
		"import, %s after it (other work on the machine competes for the same cores).\n\n", when.UTC().Format("2006-01-02 15:04 MST"), m, r.load[0], r.load[1])
	fmt.Fprintf(&b, "Workload: the real `goodwill import` binary sends a generated JSON Lines file of %s interactions "+
		"(%s applications, a month of history, no `external_id`: the importer derives one per line) to a service on "+
		"its own embedded store, as `goodwill serve` runs by default, over loopback, in batches of 1,000, four in flight (the importer's defaults); then the same "+
		"file again, where every line is a duplicate. Every clock of a month-old history is overdue on arrival, so the "+
		"SLA engine records its transitions (without alerting) as the lines are applied. The importer marks its batches as "+
		"history (`X-Goodwill-History: true`): the service answers them once stored, and its projector folds what waits "+
		"into few large Applies; the import ends with `POST /v1/interactions/flush`, which answers once derived state "+
		"includes every line, so the import's time includes deriving it.\n\n",
		thousands(r.lines), thousands(max(r.lines/10, 1)))
	if len(runs) > 1 {
		rates := make([]string, len(runs))
		for i, run := range runs {
			rates[i] = thousands(int(run.rate()))
		}
		fmt.Fprintf(&b, "The first import ran %d times, each on a fresh service and store, in this order: %s lines/s. "+
			"The tables are the median run's.\n\n", len(runs), strings.Join(rates, ", "))
	}
	b.WriteString("| run | lines | time | lines/s | summary |\n|---|---:|---:|---:|---|\n")
	fmt.Fprintf(&b, "| first import | %s | %.1f s | %s | %s |\n", thousands(r.lines), r.first.Seconds(), thousands(int(float64(r.lines)/r.first.Seconds())), r.summary)
	fmt.Fprintf(&b, "| … derived state complete (clocks, transitions, scores) | %s | %.1f s | %s | from the first run's start |\n",
		thousands(r.lines), r.derived.Seconds(), thousands(int(float64(r.lines)/r.derived.Seconds())))
	fmt.Fprintf(&b, "| re-run (idempotent) | %s | %.1f s | %s | %s |\n", thousands(r.lines), r.rerun.Seconds(), thousands(int(float64(r.lines)/r.rerun.Seconds())), r.summary2)
	perLine := float64((r.serviceCPU + r.importerCPU).Microseconds()) / float64(r.lines)
	fmt.Fprintf(&b, "\nCPU of the first import: %.1f s in the service, %.1f s in the importer, %.0f µs per line in all: "+
		"at that cost the machine's %d cores, all to the import, would take at most %s lines/s.\n",
		r.serviceCPU.Seconds(), r.importerCPU.Seconds(), perLine, runtime.NumCPU(), thousands(int(float64(runtime.NumCPU())*1e6/perLine)))
	rate := r.rate()
	after := r.derived - r.first
	b.WriteString("\n| target | measured | |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| first import ≥ 10,000 lines/s, derived state included | %s lines/s | %s |\n", thousands(int(rate)), verdict(rate >= 10000))
	fmt.Fprintf(&b, "| derived state complete within 1 s of the import's end | %.1f s after it (%.1f s from the start) | %s |\n",
		max(after, 0).Seconds(), r.derived.Seconds(), verdict(after <= time.Second))
	b.WriteString("<!-- import:end -->\n")
	return b.String()
}

// verdict is a target row's last cell.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}
