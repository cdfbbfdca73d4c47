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
	table := scoresRestartTable(r)
	for _, want := range []string{"| first start (no checkpoint) |", "| after a clean stop (SIGTERM) |", "| after `kill -9` |", "≤ 10 s", "≤ 30 s"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}
