package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// The summary section gathers the target rows of every other section of BENCHMARKS.md
// into one table, each next to the figure measured before this round's performance
// work, so that a run shows at a glance what it met and whether anything got slower.

// baseline is a target's figure before the performance work: the `make bench` run of
// 2026-12-07 on this tree before it, and an earlier run's figure where one differs.
type baseline struct {
	section string // the section's marker name
	match   string // a piece of the target's label
	figure  string
}

// baselineRun names the run the baselines come from.
const baselineRun = "2026-12-07, before the restart, import and CPU work"

var baselines = []baseline{
	{"ingest", "50% of the raw", "21%"},
	{"ingest", "3× the naive", "0.78×"},
	{"ingest", "p99 ≤ 25 ms", "46.07 ms (load generator in the process); 24–32 ms in an earlier run"},
	{"ingest", "every request sent", "20,000 of 20,000, 0 errors"},
	{"ingest", "projector lag", "254 ms; drain 105.67 ms"},
	{"ingest", "CPU", "0.38 ms per request, load generator in the process; 0.26 ms in an earlier run"},
	{"sla", "p99 ≤ 1 s", "4.50 ms"},
	{"sla", "300 MB", "155 MB per million"},
	{"sla", "idle CPU", "0.02 %"},
	{"import", "lines/s", "3,349 lines/s (2,700 before the history path)"},
	{"import", "derived state", "30.2 s from the start for 100,000 lines"},
	{"alerts", "p99 ≤ 2 s", "1437.70 ms"},
	{"alerts", "every breach sent once", "1,000 of 1,000"},
	{"slack-alerts", "p99 ≤ 2 s", "1698.68 ms"},
	{"slack-alerts", "every breach posted once", "1,000 of 1,000"},
	{"scores", "p99 ≤ 50 ms", "worst p99 19.24 ms"},
	{"scores", "every application", "24,637 of 24,637"},
	{"backfill", "lever", "1.00"},
	{"backfill", "greenhouse", "1.01"},
	{"backfill", "ashby", "1.11"},
	{"backfill", "workable", "1.01"},
	{"restart", "scores bench's store, after a clean stop", "39.8 s (54 s in an earlier run)"},
	{"restart", "scores bench's store, after `kill -9`", "68 s in an earlier run"},
	{"restart", "after a clean stop", "10.7 s (4.5 s in an earlier run, before pools)"},
	{"restart", "after `kill -9`", "73.1 s (36.7 s in an earlier run, before pools)"},
	{"restart", "due just after", "not measured"},
}

// targetRow is one target as a section states it.
type targetRow struct {
	section, label, measured, verdict string
}

var sectionStart = regexp.MustCompile(`<!-- ([a-z0-9-]+):start -->`)

// targetRows reads every section's target table: a table whose header is
// "| target | measured | |", one target a row, the verdict last.
func targetRows(doc string) []targetRow {
	var rows []targetRow
	for _, m := range sectionStart.FindAllStringSubmatchIndex(doc, -1) {
		name := doc[m[2]:m[3]]
		if name == "summary" {
			continue
		}
		body := doc[m[1]:]
		if end := strings.Index(body, "<!-- "+name+":end -->"); end >= 0 {
			body = body[:end]
		}
		inTable := false
		for _, line := range strings.Split(body, "\n") {
			cells := tableCells(line)
			switch {
			case len(cells) >= 3 && cells[0] == "target" && cells[1] == "measured":
				inTable = true
			case !inTable || len(cells) < 3 || strings.HasPrefix(cells[0], "---"):
				if len(cells) == 0 {
					inTable = false
				}
			default:
				rows = append(rows, targetRow{section: name, label: cells[0], measured: cells[1], verdict: cells[len(cells)-1]})
			}
		}
	}
	return rows
}

// tableCells splits a Markdown table row into its trimmed cells; nil if line is not one.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil
	}
	parts := strings.Split(line[1:len(line)-1], "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// baselineOf returns the baseline figure of a target, or "—".
func baselineOf(r targetRow) string {
	for _, b := range baselines {
		if b.section == r.section && strings.Contains(strings.ToLower(r.label), strings.ToLower(b.match)) {
			return b.figure
		}
	}
	return "—"
}

// summarySection renders the summary of doc's targets.
func summarySection(when time.Time, doc string) string {
	var b strings.Builder
	b.WriteString("<!-- summary:start -->\n## Every target, next to its baseline\n\n")
	fmt.Fprintf(&b, "Gathered %s from the target tables of the sections below, which `make bench` "+
		"writes in one run (a section run alone with its `-…-only` flag rewrites only itself; each section "+
		"gives its own run's date, machine and load). Baseline: the figure of the run of %s.\n\n",
		when.UTC().Format("2006-01-02 15:04 MST"), baselineRun)
	b.WriteString("| section | target | baseline | measured | |\n|---|---|---|---|---|\n")
	met, all := 0, 0
	for _, r := range targetRows(doc) {
		all++
		if !strings.Contains(r.verdict, "not met") {
			met++
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.section, r.label, baselineOf(r), r.measured, r.verdict)
	}
	fmt.Fprintf(&b, "\n%d of %d targets met.\n<!-- summary:end -->\n", met, all)
	return b.String()
}

// writeSummary rewrites the summary section of the file at path from its other
// sections. A file without one gets it right after the header.
func writeSummary(path string, when time.Time) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(old)
	section := summarySection(when, doc)
	if strings.Contains(doc, "<!-- summary:start -->") {
		return writeSection(path, "summary", section)
	}
	at := strings.Index(doc, "\n<!-- ") + 1 // the first marker starting a line: the header quotes one
	if at == 0 {
		at = len(doc)
	}
	return os.WriteFile(path, []byte(doc[:at]+section+"\n"+doc[at:]), 0o644)
}
