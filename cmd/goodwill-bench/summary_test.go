package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSummary gathers every section's target rows, next to their baselines, into a
// summary placed after the header, and rewrites it in place on the next run.
func TestSummary(t *testing.T) {
	doc := header + "<!-- ingest:start -->\n## Ingest\n\n| column | x |\n|---|---|\n| goodwill | 1 |\n\n" +
		"| target | measured | |\n|---|---|---|\n| p99 ≤ 25 ms at 64 concurrent clients | 30.00 ms | **not met** |\n" +
		"| every request sent and answered 201 | 10 of 10 | met |\n<!-- ingest:end -->\n\n" +
		"<!-- restart:start -->\n## Restart\n\n| target | measured | |\n|---|---|---|\n" +
		"| 100,000 open clocks, ready and detecting after a clean stop: ≤ 3 s | 2.1 s | met |\n\nnot a row | x |\n<!-- restart:end -->\n"
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := writeSummary(path, time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Count(s, "<!-- summary:start -->") != 1 || strings.Index(s, "<!-- summary:start -->") > strings.Index(s, "<!-- ingest:start -->") ||
		!strings.HasPrefix(s, header) {
		t.Fatalf("the summary is not once, before the sections:\n%s", s)
	}
	for _, want := range []string{
		"| ingest | p99 ≤ 25 ms at 64 concurrent clients | 46.07 ms (load generator in the process); 24–32 ms in an earlier run | 30.00 ms | **not met** |",
		"| ingest | every request sent and answered 201 | 20,000 of 20,000, 0 errors | 10 of 10 | met |",
		"| restart | 100,000 open clocks, ready and detecting after a clean stop: ≤ 3 s | 10.7 s (4.5 s in an earlier run, before pools) | 2.1 s | met |",
		"2 of 3 targets met.",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "| column |") && strings.Contains(s[strings.Index(s, "<!-- summary:start -->"):strings.Index(s, "<!-- summary:end -->")], "goodwill | 1") {
		t.Errorf("a table without targets reached the summary:\n%s", s)
	}
}
