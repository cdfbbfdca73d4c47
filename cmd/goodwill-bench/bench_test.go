package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the load generator the harness starts in
// another process (it re-executes its own executable).
func TestMain(m *testing.M) {
	if runGeneratorChild() {
		return
	}
	os.Exit(m.Run())
}

// TestBenchSmoke runs the whole harness with tiny numbers and checks that it writes
// its section with the three columns, in place of an old one, next to other sections.
func TestBenchSmoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	old := header + markStart + "\nold numbers\n" + markEnd + "\n\n<!-- sla:start -->\nSLA numbers\n<!-- sla:end -->\n"
	if err := os.WriteFile(out, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o := settings{out: out, requests: 200, clients: 8, apps: 50, batch: 100, ops: 3, projDocs: 100, drainTimeout: 30 * time.Second, loadTimeout: 30 * time.Second, seed: 1}
	r, err := run(ctx, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.goodwill.Errors != 0 || r.naive.Errors != 0 {
		t.Errorf("errors: goodwill %d (%s), naive %d (%s)", r.goodwill.Errors, r.goodwill.FirstError, r.naive.Errors, r.naive.FirstError)
	}
	// The rows with the load generator in another process: every request answered,
	// the service's CPU measured apart from the generator's.
	for _, x := range []*result{r.goodwillX, r.floorX} {
		if x == nil || !x.external || x.Errors != 0 || x.Count != o.requests || len(x.Latencies) != o.requests || x.CPU <= 0 || x.GeneratorCPU <= 0 {
			t.Errorf("run with the load generator in another process: %+v", x)
		}
	}
	if r.projX == nil || !r.projX.CaughtUp || r.projX.Allocated == 0 {
		t.Errorf("derived state of the run with the load generator in another process: %+v", r.projX)
	}
	if r.proj.Timelines != r.proj.TimelinesOf {
		t.Errorf("%d of %d sampled timelines complete", r.proj.Timelines, r.proj.TimelinesOf)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"**goodwill**", "naive (one InsertOne per request)", "raw InsertMany ceiling", "SLA numbers", "Projector lag", "goodwill ÷ naive", "projector `Apply` alone", "FindOne {_id} hit", "HTTP floor", "A bound from this run",
		"**goodwill**, load generator in another process", "HTTP floor, load generator in another process",
		"ms per request under live ingest, load generator in another process", "The service alone, with the load generator in another process", "KB of Go heap allocated per request"} {
		if !strings.Contains(s, want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "old numbers") || strings.Count(s, markStart) != 1 {
		t.Errorf("the old section was not replaced:\n%s", s)
	}
}

// TestParseProm checks the exposition parser and the histogram quantile.
func TestParseProm(t *testing.T) {
	s, err := parseProm(strings.NewReader(`# HELP x_seconds help
# TYPE x_seconds histogram
x_seconds_bucket{le="0.1"} 50
x_seconds_bucket{le="0.2"} 90
x_seconds_bucket{le="+Inf"} 100
x_seconds_sum 12
x_seconds_count 100
up 1
`))
	if err != nil {
		t.Fatal(err)
	}
	h := s.histogram("x_seconds")
	if len(h.Buckets) != 3 || h.Count != 100 || s["up"] != 1 {
		t.Fatalf("parsed %+v, up %v", h, s["up"])
	}
	if q := h.Quantile(0.5); q != 0.1 {
		t.Errorf("p50 = %v, want 0.1", q)
	}
	if q := h.Quantile(0.7); q < 0.149 || q > 0.151 {
		t.Errorf("p70 = %v, want 0.15", q)
	}
	if q := h.Quantile(0.99); q != 0.2 {
		t.Errorf("p99 = %v, want 0.2 (the largest finite bound)", q)
	}
}

// TestSLASmoke runs the SLA scheduler section with a few thousand clocks and checks
// that every breach was detected and the section written beside the others.
func TestSLASmoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(out, []byte(header+markStart+"\ningest numbers\n"+markEnd+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o := settings{out: out, slaSizes: "2000", slaDue: 50, slaOnly: true}
	if _, err := run(ctx, o, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"ingest numbers", "<!-- sla:start -->", "| 2,000 |", "| 50 |", "idle CPU"} {
		if !strings.Contains(s, want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, s)
		}
	}
}

// TestImportSmoke times goodwill import on a small file and checks its section.
func TestImportSmoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The harness builds ./cmd/goodwill from the repository's root.
	t.Chdir("../..")
	o := settings{out: out, importLines: 500, importOnly: true}
	if _, err := run(ctx, o, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!-- import:start -->", "history.jsonl: 500 stored", "0 stored, 500 duplicates"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, b)
		}
	}
}

// TestBound: the bound spreads the CPU per item of the floor, the raw ceiling and the
// projector over the machine's CPUs, and is left out without the rows it needs.
func TestBound(t *testing.T) {
	row := func(n int, cpu time.Duration, elapsed time.Duration) *result {
		return &result{Count: n, CPU: cpu, Elapsed: elapsed}
	}
	r := &report{
		machine: machine{CPUs: 2},
		floor:   row(1000, 100*time.Millisecond, time.Second), // 100 µs per request
		raw:     row(1000, 50*time.Millisecond, 100*time.Millisecond),
		naive:   row(1000, time.Second, time.Second),
		// 250 µs per interaction: 2 CPUs / 400 µs = 5,000/s; without it 2 / 150 µs = 13,333/s.
		projAlone: row(1000, 250*time.Millisecond, time.Second),
	}
	got := r.bound()
	for _, want := range []string{"100 µs per request", "50 µs per document", "250 µs per interaction",
		"**5,000 requests/s: 50% of the raw ceiling and 5.00× the naive column**", "13,333 requests/s (133%, 13.33×)"} {
		if !strings.Contains(got, want) {
			t.Errorf("bound lacks %q:\n%s", want, got)
		}
	}
	r.projAlone = nil
	if got := r.bound(); got != "" {
		t.Errorf("bound without the projector row: %q", got)
	}
}

// TestServiceBound: the service's bound adds the CPU per item of the floor's serving
// side, the raw ceiling and the projector, and compares it with the target.
func TestServiceBound(t *testing.T) {
	row := func(n int, cpu time.Duration) *result { return &result{Count: n, CPU: cpu, Elapsed: time.Second} }
	r := &report{
		opts:      settings{clients: 64},
		machine:   machine{CPUs: 2},
		floorX:    row(1000, 40*time.Millisecond),  // 40 µs per request
		raw:       row(1000, 50*time.Millisecond),  // 50 µs per document
		projAlone: row(1000, 200*time.Millisecond), // 200 µs per interaction
		goodwillX: &result{Count: 1000, GeneratorCPU: 30 * time.Millisecond},
		projX:     &projection{CPU: 350 * time.Millisecond, CaughtUp: true},
	}
	got := r.serviceBound()
	for _, want := range []string{"used 350 µs of CPU per request", "load generator 30 µs per request",
		"costs 40 µs per request", "50 µs per document", "200 µs per interaction", "needs 290 µs",
		"**1.81× the target of 160 µs: the target cannot be met on this machine**", "three, 60 µs, is what the rest costs",
		"the mean latency is at least 64 × 350 µs ÷ 2 CPUs = 11.20 ms", "at the target's 160 µs it would be 5.12 ms"} {
		if !strings.Contains(got, want) {
			t.Errorf("bound lacks %q:\n%s", want, got)
		}
	}
	r.projAlone = row(1000, 50*time.Millisecond)
	if got := r.serviceBound(); !strings.Contains(got, "within the target of 160 µs, which leaves 20 µs per request for the rest") {
		t.Errorf("bound within the target: %s", got)
	}
	r.floorX = nil
	if got := r.serviceBound(); got != "" {
		t.Errorf("bound without the floor's serving side: %q", got)
	}
}

// TestMedianImport: the import section reports the run of the median rate, the slower
// of the middle two for an even count, and lists every run's rate in run order.
func TestMedianImport(t *testing.T) {
	run := func(secs float64) *importResult {
		return &importResult{lines: 100000, first: time.Duration(secs * float64(time.Second)), derived: time.Duration(secs * float64(time.Second))}
	}
	for _, tc := range []struct {
		secs []float64
		want float64
	}{
		{[]float64{10}, 10},
		{[]float64{9, 11, 10}, 10},
		{[]float64{12, 8, 10, 9}, 10}, // rates 8,333 12,500 10,000 11,111: the slower middle one
	} {
		var runs []*importResult
		for _, s := range tc.secs {
			runs = append(runs, run(s))
		}
		if got := medianImport(runs).first.Seconds(); got != tc.want {
			t.Errorf("runs of %v s: median run %v s, want %v s", tc.secs, got, tc.want)
		}
	}
	section := importSection(time.Now(), machine{CPUs: 2}, []*importResult{run(12.5), run(10), run(8)})
	for _, want := range []string{"in this order: 8,000, 10,000, 12,500 lines/s", "| first import | 100,000 | 10.0 s | 10,000 |"} {
		if !strings.Contains(section, want) {
			t.Errorf("the section lacks %q:\n%s", want, section)
		}
	}
}
