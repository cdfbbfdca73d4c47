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

// TestScoresSmoke runs the scores section over a few hundred applications and checks
// that every query answered, that the book counted the period's applications, and
// that the section went into the file beside the others.
func TestScoresSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	r, err := runScores(ctx, "smoke", 300, 5, 1, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.inPeriod == 0 || r.orgApplications != r.inPeriod {
		t.Errorf("the org group counts %d applications, the generator received %d in the period", r.orgApplications, r.inPeriod)
	}
	if r.interactions < 5*r.apps || r.transitions == 0 || r.start <= 0 {
		t.Errorf("%d interactions and %d transitions for %d applications", r.interactions, r.transitions, r.apps)
	}
	for _, c := range r.cases {
		if c.errors > 0 || len(c.latencies) != 5 || c.groups == 0 {
			t.Errorf("%s: %d errors (%s), %d timed, %d groups", c.what, c.errors, c.firstErr, len(c.latencies), c.groups)
		}
	}

	out := filepath.Join(dir, "BENCHMARKS.md")
	if err := os.WriteFile(out, []byte(header+"<!-- sla:start -->\nSLA numbers\n<!-- sla:end -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSection(out, "scores", scoresSection(time.Now(), thisMachine(), 5, r)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SLA numbers", "<!-- scores:start -->", "`group_by=team`", "p99 ≤ 50 ms", "<!-- scores:end -->"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, b)
		}
	}
}

// TestScoresRestartSmoke restarts the goodwill binary on a small scores store after a
// clean stop and after kill -9, and checks that each start counted the same
// applications and watched the same clocks as the first, and that the table says so.
func TestScoresRestartSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r, err := runScoresRestart(ctx, 300, 1, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.orgApps[0] == 0 || r.orgApps[1] != r.orgApps[0] || r.orgApps[2] != r.orgApps[0] {
		t.Errorf("applications counted after each start: %v", r.orgApps)
	}
	if r.first.open == 0 || r.clean.open != r.first.open || r.crash.open != r.first.open {
		t.Errorf("open clocks after each start: %d, %d, %d", r.first.open, r.clean.open, r.crash.open)
	}
	var targets strings.Builder
	table := scoresRestartTable(r, &targets) + targets.String()
	for _, want := range []string{"| first start (no checkpoint) |", "| after a clean stop (SIGTERM) |", "| after `kill -9` |", "≤ 10 s", "≤ 30 s"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}

// TestRestartTargets: the restart section states each of its targets in the table the
// summary reads, each next to its own baseline, with its verdict.
func TestRestartTargets(t *testing.T) {
	r := &restartResult{open: 100000, soonAfterStart: time.Second, soonLate: 300 * time.Millisecond,
		clean:  restartTimes{serving: time.Second, detecting: 2 * time.Second, open: 100000},
		crash:  restartTimes{serving: time.Second, detecting: 12 * time.Second, open: 100000},
		scores: &scoresRestart{apps: 100000, orgApps: [3]int{5, 5, 5}, first: restartTimes{detecting: 40 * time.Second, open: 7}, clean: restartTimes{detecting: 3 * time.Second, open: 7}, crash: restartTimes{detecting: 9 * time.Second, open: 7}},
	}
	rows := targetRows(restartSection(time.Now(), thisMachine(), r))
	want := map[string][2]string{ // baseline, verdict
		"100,000 open clocks, ready and detecting after a clean stop: ≤ 3 s":                                       {"10.7 s (4.5 s in an earlier run, before pools)", "met"},
		"100,000 open clocks, ready and detecting after `kill -9`: ≤ 10 s":                                         {"73.1 s (36.7 s in an earlier run, before pools)", "**not met**"},
		"a clock due just after the restart (1.0 s after it began) is alerted within 2 s of its deadline":          {"not measured", "met"},
		"scores bench's store, after a clean stop (100,000 applications): clocks derived and scores filled ≤ 10 s": {"39.8 s (54 s in an earlier run)", "met"},
		"scores bench's store, after `kill -9` (100,000 applications): clocks derived and scores filled ≤ 30 s":    {"68 s in an earlier run", "met"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d target rows, want %d: %+v", len(rows), len(want), rows)
	}
	for _, row := range rows {
		w, ok := want[row.label]
		if !ok || baselineOf(row) != w[0] || row.verdict != w[1] {
			t.Errorf("row %+v (baseline %q), want %v", row, baselineOf(row), w)
		}
	}
}
