package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/cmd/goodwill/internal/importer/importtest"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// testOptions are the options of an in-process import against base.
func testOptions(t *testing.T, base, stateDir string, out, log io.Writer) Options {
	t.Helper()
	return Options{
		URL:         base,
		Key:         servicetest.AdminKey,
		Batch:       500, // the batch counts the tests below expect
		StateDir:    stateDir,
		Out:         out,
		Log:         log,
		Tries:       3,
		RetryDelay:  time.Millisecond,
		ReportEvery: time.Hour,
	}
}

// importProxy stands between the importer and the service: it counts the batches
// and the lines (metadata.line) it forwards, answers 502 to the first failFirst
// requests and 500 to every request after the first failAfter it forwarded.
type importProxy struct {
	*httptest.Server
	failFirst int
	failAfter int // < 0: never

	// refuseLine, when set, makes every request carrying that metadata.line answer 500
	// after delay; delayLine holds the request carrying its line for delay first.
	refuseLine, delayLine int
	delay                 time.Duration

	mu        sync.Mutex
	inFlight  int   // POSTs of interactions being answered
	most      int   // the most inFlight ever was
	requests  int   // POSTs of interactions received
	forwarded int   // POSTs of interactions forwarded
	lines     []int // metadata.line of every item forwarded, in order
	live      int   // POSTs of interactions without X-Goodwill-History: true
	flushes   []int // for each POST /v1/interactions/flush, the POSTs forwarded before it
}

func newImportProxy(t *testing.T, target string, failFirst, failAfter int) *importProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &importProxy{failFirst: failFirst, failAfter: failAfter}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Method == http.MethodPost && r.URL.Path == "/v1/interactions/flush" {
			p.mu.Lock()
			p.flushes = append(p.flushes, p.forwarded)
			p.mu.Unlock()
		} else if r.Method == http.MethodPost {
			p.mu.Lock()
			p.inFlight++
			p.most = max(p.most, p.inFlight)
			p.mu.Unlock()
			defer func() {
				p.mu.Lock()
				p.inFlight--
				p.mu.Unlock()
			}()
			var carried struct {
				Interactions []struct {
					Metadata struct{ Line int }
				}
			}
			_ = json.Unmarshal(body, &carried)
			p.mu.Lock()
			refuseLine, delayLine := p.refuseLine, p.delayLine
			p.mu.Unlock()
			for _, it := range carried.Interactions {
				switch line := it.Metadata.Line; {
				case line == 0:
				case line == refuseLine:
					time.Sleep(p.delay)
					http.Error(w, "proxy refuses line", http.StatusInternalServerError)
					return
				case line == delayLine:
					time.Sleep(p.delay)
				}
			}
			if r.Header.Get(HistoryHeader) != "true" {
				p.mu.Lock()
				p.live++
				p.mu.Unlock()
			}
			p.mu.Lock()
			p.requests++
			fail := p.requests <= p.failFirst || (p.failAfter >= 0 && p.forwarded >= p.failAfter)
			status := http.StatusBadGateway
			if p.requests > p.failFirst {
				status = http.StatusInternalServerError
			}
			if !fail {
				p.forwarded++
				var batch struct {
					Interactions []struct {
						Metadata struct{ Line int }
					}
				}
				_ = json.Unmarshal(body, &batch)
				for _, it := range batch.Interactions {
					p.lines = append(p.lines, it.Metadata.Line)
				}
			}
			p.mu.Unlock()
			if fail {
				http.Error(w, "proxy says no", status)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// reset sets the proxy's failures anew and clears its counts.
func (p *importProxy) reset(failFirst, failAfter int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failFirst, p.failAfter = failFirst, failAfter
	p.requests, p.forwarded, p.lines, p.live, p.flushes = 0, 0, nil, 0, nil
}

// history returns how many POSTs of interactions lacked the history header, and
// when each flush came.
func (p *importProxy) history() (live int, flushes []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live, slices.Clone(p.flushes)
}

// mostInFlight is the most requests of interactions the proxy was answering at once.
func (p *importProxy) mostInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.most
}

func (p *importProxy) counts() (requests, forwarded int, lines []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.forwarded, slices.Clone(p.lines)
}

// importStored lists every interaction the service holds: external_id → metadata.line.
func importStored(t *testing.T, in *servicetest.Instance, query string) map[string]int {
	t.Helper()
	got := map[string]int{}
	cursor := ""
	for {
		path := "/v1/interactions?limit=1000" + query
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := in.Do(t, http.MethodGet, path, servicetest.AdminKey, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		var page struct {
			Interactions []struct {
				Source     string `json:"source"`
				ExternalID string `json:"external_id"`
				Metadata   struct{ Line int }
			} `json:"interactions"`
			NextCursor string `json:"next_cursor"`
		}
		r.JSON(t, &page)
		for _, it := range page.Interactions {
			key := it.Source + "/" + it.ExternalID
			if _, dup := got[key]; dup {
				t.Errorf("%s stored twice", key)
			}
			got[key] = it.Metadata.Line
		}
		if page.NextCursor == "" {
			return got
		}
		cursor = page.NextCursor
	}
}

// importTimelineLen is how many interactions an application's timeline holds.
func importTimelineLen(t *testing.T, in *servicetest.Instance, app string) int {
	t.Helper()
	r := in.Do(t, http.MethodGet, "/v1/applications/"+app+"/timeline", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		return 0
	}
	var tl struct {
		Interactions []json.RawMessage `json:"interactions"`
	}
	r.JSON(t, &tl)
	return len(tl.Interactions)
}

func stateFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestImport10k: an import of 10,000 lines is interrupted (the service fails after 8
// batches), resumed without resending what was acknowledged, reports its one bad line
// by number, and stores nothing new when run again.
func TestImport10k(t *testing.T) {
	const lines, bad = 10000, 4711
	in := servicetest.Start(t, nil, service.Options{})
	file := filepath.Join(t.TempDir(), "history.jsonl")
	importtest.WriteJSONL(t, file, lines, bad)
	stateDir := t.TempDir()
	ctx := context.Background()

	// 1. The service goes away after 8 batches of 500: the command fails, and says so.
	// One batch at a time, so that the 8 are the first (TestImportInFlightResume has
	// batches answered out of order).
	broken := newImportProxy(t, in.URL, 0, 8)
	var out, log bytes.Buffer
	opts := testOptions(t, broken.URL, stateDir, &out, &log)
	opts.InFlight = 1
	err := Run(ctx, opts, []string{file})
	if err == nil || !strings.Contains(err.Error(), "run the same command again to resume") || !strings.Contains(err.Error(), "500") {
		t.Fatalf("interrupted import: err = %v, want a 500 and how to resume", err)
	}
	if _, fwd, sent := broken.counts(); fwd != 8 || len(sent) != 4000 {
		t.Fatalf("interrupted import forwarded %d batches of %d lines, want 8 of 4000", fwd, len(sent))
	}
	if _, flushes := broken.history(); len(flushes) != 0 {
		t.Errorf("the interrupted import flushed (%v)", flushes)
	}
	if st := stateFiles(t, stateDir); len(st) != 1 {
		t.Fatalf("state files after the interruption: %v, want one", st)
	} else if saved, _ := loadImportState(st[0]); saved.Line != 4000 || saved.Stored != 4000 {
		t.Fatalf("saved state: line %d, %d stored; want 4000, 4000", saved.Line, saved.Stored)
	}

	// 2. Run again, the service healthy (but for one 502, retried): it resumes at line
	// 4001 and ends with every good line stored once.
	healthy := broken
	healthy.reset(1, -1)
	out.Reset()
	log.Reset()
	err = Run(ctx, testOptions(t, healthy.URL, stateDir, &out, &log), []string{file})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("resumed import: err = %v, want ErrRejected\n%s", err, log.String())
	}
	requests, _, sent := healthy.counts()
	if len(sent) == 0 || slices.Min(sent) != 4001 {
		t.Fatalf("resumed import sent lines from %v, want from 4001", slices.Min(sent))
	}
	// 12 batches for lines 4001–10000, the one with the bad line twice, one 502.
	if requests != 14 {
		t.Errorf("resumed import made %d requests, want 14", requests)
	}
	// Every batch is history, and the import ends with one flush, after the last.
	_, forwarded, _ := healthy.counts()
	if live, flushes := healthy.history(); live != 0 || len(flushes) != 1 || flushes[0] != forwarded {
		t.Errorf("%d batches without %s, flushes after %v batches; want 0, one flush after all %d", live, HistoryHeader, flushes, forwarded)
	}
	// The flush answered: the timelines hold every line stored, without waiting.
	for app := range importtest.Apps {
		id := fmt.Sprintf("app-%02d", app)
		want := lines / importtest.Apps
		if bad%importtest.Apps == app {
			want--
		}
		if got := importTimelineLen(t, in, id); got != want {
			t.Errorf("%s: timeline holds %d interactions after the import, want %d", id, got, want)
		}
	}
	if !strings.Contains(log.String(), "resuming after line 4000") || !strings.Contains(log.String(), "retrying") {
		t.Errorf("resumed import log:\n%s", log.String())
	}
	wantSummary := fmt.Sprintf("%s: 9999 stored, 0 duplicates, 1 rejected\n  line 4711: kind: unknown kind \"bogus\"\n", file)
	if out.String() != wantSummary {
		t.Errorf("resumed import summary:\n%s\nwant:\n%s", out.String(), wantSummary)
	}
	if st := stateFiles(t, stateDir); len(st) != 0 {
		t.Errorf("state files after success: %v", st)
	}

	// 3. Every good line is stored exactly once; lines without ids got derived ones.
	got := importStored(t, in, "")
	if len(got) != lines-1 {
		t.Errorf("%d interactions stored, want %d", len(got), lines-1)
	}
	seen := map[int]bool{}
	for key, line := range got {
		seen[line] = true
		want := fmt.Sprintf("hris/hris-%05d", line)
		if line%2 == 0 {
			want = "api/" + IDPrefix
		}
		if !strings.HasPrefix(key, want) {
			t.Errorf("line %d stored as %s, want %s…", line, key, want)
		}
	}
	if len(seen) != lines-1 || seen[bad] {
		t.Errorf("stored %d distinct lines (bad line stored: %v)", len(seen), seen[bad])
	}

	// 4. Run again: nothing new.
	out.Reset()
	err = Run(ctx, testOptions(t, in.URL, stateDir, &out, io.Discard), []string{file})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("re-run: err = %v", err)
	}
	wantSummary = fmt.Sprintf("%s: 0 stored, 9999 duplicates, 1 rejected\n  line 4711: kind: unknown kind \"bogus\"\n", file)
	if out.String() != wantSummary {
		t.Errorf("re-run summary:\n%s\nwant:\n%s", out.String(), wantSummary)
	}
	if n := len(importStored(t, in, "&source=api")); n != lines/2 {
		t.Errorf("after the re-run %d interactions of source api, want %d", n, lines/2)
	}
}

const importTestCSV = `application_id,candidate_id,kind,direction,channel,occurred_at,candidate.name,candidate.email,job.title,job.department,candidate_notified,score,metadata,recruiter_id
app-c1,cand-c1,application_received,,portal,2026-01-05T09:00:00Z,"Lovelace, Ada",ada@example.com,Engineer,R&D,,,"{""line"":2}",rec-1
app-c1,cand-c1,message,outbound,email,2026-01-05T10:00:00Z,,,,,true,,"{""line"":3}",rec-1
app-c1,cand-c1,survey_response,,,2026-01-05T11:00:00Z,,,,,,9,"{""line"":4}",
app-c1,cand-c1,survey_response,,,2026-01-05T12:00:00Z,,,,,,ten,"{""line"":5}",

app-c1,cand-c1,note,,,2026-01-05T13:00:00Z,,,,,,,"{""line"":7,
""text"":""two lines""}",
app-c1,cand-c1,bogus,,,2026-01-05T14:00:00Z,,,,,,,"{""line"":9}",
app-c1,cand-c1,hold,,,2026-01-05T15:00:00Z,,,,,,,"{""line"":10}",
app-c1,cand-c1,withdrawn,,,2026-01-05T16:00:00Z,,,,,,,"{""line"":11}",
`

// TestImportCSV: nested headers, booleans, numbers, JSON metadata, quoted commas and
// newlines, blank lines; bad rows reported by their line in the file; idempotent.
func TestImportCSV(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	file := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(file, []byte(importTestCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := testOptions(t, in.URL, t.TempDir(), &out, io.Discard)
	opts.Batch = 3
	err := Run(context.Background(), opts, []string{file})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v", err)
	}
	want := file + `: 5 stored, 0 duplicates, 3 rejected
  line 5: score: must be a whole number
  line 9: kind: unknown kind "bogus"
  line 10: until: is required for hold
`
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}

	r := in.Do(t, http.MethodGet, "/v1/interactions?application_id=app-c1", servicetest.AdminKey, nil)
	var page struct {
		Interactions []struct {
			Kind              string `json:"kind"`
			CandidateNotified bool   `json:"candidate_notified"`
			Score             *int   `json:"score"`
			Candidate         *struct{ Name, Email string }
			Job               *struct{ Title, Department string }
			Metadata          map[string]any `json:"metadata"`
		} `json:"interactions"`
	}
	r.JSON(t, &page)
	byLine := map[int]int{}
	for i, it := range page.Interactions {
		byLine[int(it.Metadata["line"].(float64))] = i
	}
	if !slices.Equal(slices.Sorted(maps.Keys(byLine)), []int{2, 3, 4, 7, 11}) {
		t.Fatalf("stored lines %v, want 2 3 4 7 11", slices.Sorted(maps.Keys(byLine)))
	}
	first := page.Interactions[byLine[2]]
	if first.Candidate == nil || first.Candidate.Name != "Lovelace, Ada" || first.Candidate.Email != "ada@example.com" ||
		first.Job == nil || first.Job.Title != "Engineer" || first.Job.Department != "R&D" {
		t.Errorf("line 2 stored as %+v / %+v", first.Candidate, first.Job)
	}
	if !page.Interactions[byLine[3]].CandidateNotified {
		t.Error("line 3: candidate_notified not stored")
	}
	if s := page.Interactions[byLine[4]].Score; s == nil || *s != 9 {
		t.Errorf("line 4: score %v, want 9", s)
	}
	if txt := page.Interactions[byLine[7]].Metadata["text"]; txt != "two lines" {
		t.Errorf("line 7: metadata.text %v", txt)
	}

	out.Reset()
	if err := Run(context.Background(), opts, []string{file}); !errors.Is(err, ErrRejected) {
		t.Fatalf("re-run: err = %v", err)
	}
	if !strings.HasPrefix(out.String(), file+": 0 stored, 5 duplicates, 3 rejected\n") {
		t.Errorf("re-run summary:\n%s", out.String())
	}
}

// TestImportCSVResume: a CSV import interrupted after two batches resumes after the
// rows acknowledged, with line numbers still counted from the top of the file.
func TestImportCSVResume(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	var b strings.Builder
	b.WriteString("application_id,candidate_id,kind,occurred_at,metadata\n")
	for line := 2; line <= 12; line++ {
		kind := "note"
		if line == 10 {
			kind = "bogus"
		}
		fmt.Fprintf(&b, "app-r,cand-r,%s,2026-01-05T09:%02d:00Z,\"{\"\"line\"\":%d}\"\n", kind, line, line)
	}
	file := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	broken := newImportProxy(t, in.URL, 0, 2)
	opts := testOptions(t, broken.URL, stateDir, io.Discard, io.Discard)
	opts.Batch = 3
	opts.InFlight = 1 // the two batches forwarded are the first two
	if err := Run(context.Background(), opts, []string{file}); err == nil {
		t.Fatal("interrupted import succeeded")
	}
	healthy := broken
	healthy.reset(0, -1)
	var out bytes.Buffer
	opts = testOptions(t, healthy.URL, stateDir, &out, io.Discard)
	opts.Batch = 3
	if err := Run(context.Background(), opts, []string{file}); !errors.Is(err, ErrRejected) {
		t.Fatalf("resumed import: err = %v", err)
	}
	if _, _, sent := healthy.counts(); slices.Min(sent) != 8 {
		t.Errorf("resumed import sent lines %v, want from 8", sent)
	}
	want := file + ": 10 stored, 0 duplicates, 1 rejected\n  line 10: kind: unknown kind \"bogus\"\n"
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
	if got := importStored(t, in, "&application_id=app-r"); len(got) != 10 {
		t.Errorf("%d stored, want 10", len(got))
	}
}

// TestImportLargeLines: lines of several KiB are sent in requests under the 1 MiB
// limit, whatever --batch says; a line that is not JSON is rejected locally.
func TestImportLargeLines(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	proxy := newImportProxy(t, in.URL, 0, -1)
	pad := strings.Repeat("x", 7<<10)
	var b strings.Builder
	for line := 1; line <= 300; line++ {
		if line == 150 {
			b.WriteString("{not json\n")
			continue
		}
		fmt.Fprintf(&b, `{"application_id":"app-big","candidate_id":"c","kind":"note","occurred_at":"2026-01-05T09:00:00Z","metadata":{"line":%d,"pad":%q}}`+"\n", line, pad)
	}
	file := filepath.Join(t.TempDir(), "big.ndjson")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := Run(context.Background(), testOptions(t, proxy.URL, t.TempDir(), &out, io.Discard), []string{file})
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasPrefix(out.String(), file+": 299 stored, 0 duplicates, 1 rejected\n  line 150: is not valid JSON") {
		t.Errorf("summary:\n%s", out.String())
	}
	if requests, _, _ := proxy.counts(); requests < 3 || requests > 4 {
		t.Errorf("%d requests for 2.1 MB, want 3", requests)
	}
}

// TestImportCSVHeader: a header the importer cannot map fails before anything is sent.
func TestImportCSVHeader(t *testing.T) {
	for name, header := range map[string]string{
		"unknown":   "application_id,candidate_id,kind,occurred_at,colour",
		"duplicate": "application_id,candidate_id,kind,kind,occurred_at",
		"nested":    "application_id,candidate_id,kind,occurred_at,candidate,candidate.name",
		"unnamed":   "application_id,,kind,occurred_at",
	} {
		file := filepath.Join(t.TempDir(), name+".csv")
		if err := os.WriteFile(file, []byte(header+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		opts := testOptions(t, "http://127.0.0.1:1", t.TempDir(), io.Discard, io.Discard)
		err := Run(context.Background(), opts, []string{file})
		if err == nil || !strings.Contains(err.Error(), "header row") {
			t.Errorf("%s: err = %v, want a header row error", name, err)
		}
	}
}

// TestImportRefusedLines: a line whose idempotency key belongs to another
// application (409) or whose source is reserved to admin keys (403, with an ingest
// key) is reported as rejected; the other lines are stored.
func TestImportRefusedLines(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	taken := map[string]any{"application_id": "app-first", "candidate_id": "cand-first", "kind": "note",
		"occurred_at": "2026-01-05T09:00:00Z", "source": "hris", "external_id": "taken"}
	if r := in.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, taken); r.Status != http.StatusCreated {
		t.Fatalf("seed: %d %s", r.Status, r.Body)
	}
	lines := `{"application_id":"app-i","candidate_id":"cand-i","kind":"note","occurred_at":"2026-01-05T10:00:00Z","source":"hris","external_id":"ok-1"}
{"application_id":"app-i","candidate_id":"cand-i","kind":"note","occurred_at":"2026-01-05T11:00:00Z","source":"hris","external_id":"taken"}
{"application_id":"app-i","candidate_id":"cand-i","kind":"note","occurred_at":"2026-01-05T12:00:00Z","source":"greenhouse","external_id":"gh-1"}
{"application_id":"app-i","candidate_id":"cand-i","kind":"note","occurred_at":"2026-01-05T13:00:00Z","source":"hris","external_id":"ok-2"}
`
	file := filepath.Join(t.TempDir(), "lines.jsonl")
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := testOptions(t, in.URL, t.TempDir(), &out, io.Discard)
	opts.Key = in.NewKey(t, "ingest", "")
	if err := Run(context.Background(), opts, []string{file}); !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	summary := out.String()
	if !strings.HasPrefix(summary, file+": 2 stored, 0 duplicates, 2 rejected\n") ||
		!strings.Contains(summary, "line 2: external_id:") || !strings.Contains(summary, "line 3: source:") {
		t.Errorf("summary:\n%s", summary)
	}
}

// TestImportInFlightResume: with several batches in flight, a batch that fails while
// later ones are acknowledged leaves the resume state before it, not after them; the
// resumed run sends again from the failed batch on, and every line ends up stored
// once, the ones acknowledged after the failure counted as duplicates.
func TestImportInFlightResume(t *testing.T) {
	const lines = 5000
	in := servicetest.Start(t, nil, service.Options{})
	file := filepath.Join(t.TempDir(), "history.jsonl")
	importtest.WriteJSONL(t, file, lines, 0)
	stateDir := t.TempDir()
	ctx := context.Background()

	// Batch 3 (lines 1001–1500) fails, slowly: batches 4 and later are answered first.
	broken := newImportProxy(t, in.URL, 0, -1)
	broken.refuseLine, broken.delay = 1200, 300*time.Millisecond
	opts := testOptions(t, broken.URL, stateDir, io.Discard, io.Discard)
	opts.InFlight = 4
	err := Run(ctx, opts, []string{file})
	if err == nil || !strings.Contains(err.Error(), "lines 1–1000 were acknowledged") {
		t.Fatalf("interrupted import: err = %v, want lines 1–1000 acknowledged", err)
	}
	_, _, sent := broken.counts()
	if slices.Max(sent) <= 1500 || broken.mostInFlight() < 2 {
		t.Fatalf("lines up to %d forwarded, at most %d requests at once: want batches after the failed one acknowledged", slices.Max(sent), broken.mostInFlight())
	}
	ahead := 0 // lines after the failed batch that were stored
	for _, line := range sent {
		if line > 1500 {
			ahead++
		}
	}
	if st := stateFiles(t, stateDir); len(st) != 1 {
		t.Fatalf("state files after the interruption: %v, want one", st)
	} else if saved, _ := loadImportState(st[0]); saved.Line != 1000 || saved.Stored != 1000 {
		t.Fatalf("saved state: line %d, %d stored; want 1000, 1000", saved.Line, saved.Stored)
	}

	healthy := broken // the same URL: the state is kept per service
	healthy.reset(0, -1)
	healthy.mu.Lock()
	healthy.refuseLine = 0
	healthy.mu.Unlock()
	var out bytes.Buffer
	opts = testOptions(t, healthy.URL, stateDir, &out, io.Discard)
	opts.InFlight = 4
	if err := Run(ctx, opts, []string{file}); err != nil {
		t.Fatalf("resumed import: %v", err)
	}
	if _, _, sent := healthy.counts(); slices.Min(sent) != 1001 || len(sent) != lines-1000 {
		t.Errorf("resumed import sent %d lines from %d, want %d from 1001", len(sent), slices.Min(sent), lines-1000)
	}
	want := fmt.Sprintf("%s: %d stored, %d duplicates, 0 rejected\n", file, lines-ahead, ahead)
	if out.String() != want {
		t.Errorf("resumed import summary:\n%s\nwant:\n%s", out.String(), want)
	}
	got := importStored(t, in, "")
	seen := map[int]bool{}
	for _, line := range got {
		seen[line] = true
	}
	if len(got) != lines || len(seen) != lines {
		t.Errorf("%d interactions stored for %d distinct lines, want %d", len(got), len(seen), lines)
	}
}

// TestImportInFlightKeyOrder: two lines of one idempotency key for different
// applications, in different batches: the first line is stored and the later one
// rejected, even when the first line's batch is slower than the later one's, because
// the later batch waits for those in flight carrying its key.
func TestImportInFlightKeyOrder(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	file := filepath.Join(t.TempDir(), "history.jsonl")
	importtest.WriteJSONL(t, file, 2000, 0)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	// Line 600 (app-00) takes the key of line 1 (hris, hris-00001, app-01).
	var line600 map[string]any
	if err := json.Unmarshal([]byte(rows[599]), &line600); err != nil {
		t.Fatal(err)
	}
	line600["source"], line600["external_id"] = "hris", "hris-00001"
	js, _ := json.Marshal(line600)
	rows[599] = string(js)
	if err := os.WriteFile(file, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := newImportProxy(t, in.URL, 0, -1)
	proxy.delayLine, proxy.delay = 1, 500*time.Millisecond // batch 1 answers last
	var out bytes.Buffer
	opts := testOptions(t, proxy.URL, t.TempDir(), &out, io.Discard)
	opts.InFlight = 4
	if err := Run(context.Background(), opts, []string{file}); !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(out.String(), file+": 1999 stored, 0 duplicates, 1 rejected\n  line 600: external_id:") {
		t.Errorf("summary:\n%s", out.String())
	}
	if line := importStored(t, in, "&source=hris")["hris/hris-00001"]; line != 1 {
		t.Errorf("hris-00001 stored from line %d, want 1", line)
	}
	if proxy.mostInFlight() < 2 {
		t.Errorf("at most %d requests at once, want several", proxy.mostInFlight())
	}
}

// TestImportReadFailureInFlight: a file that cannot be read on (an unterminated CSV
// quote) stops the import, but the batches in flight before it are still
// acknowledged: the state moves over every row before the bad one.
func TestImportReadFailureInFlight(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	var b strings.Builder
	b.WriteString("application_id,candidate_id,kind,occurred_at,metadata\n")
	for line := 2; line <= 21; line++ {
		fmt.Fprintf(&b, "app-f,cand-f,note,2026-01-05T09:%02d:00Z,\"{\"\"line\"\":%d}\"\n", line, line)
	}
	b.WriteString("app-f,cand-f,note,2026-01-05T10:00:00Z,\"unterminated\n")
	file := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	proxy := newImportProxy(t, in.URL, 0, -1)
	proxy.delayLine, proxy.delay = 20, 200*time.Millisecond // the last batch is still in flight
	opts := testOptions(t, proxy.URL, stateDir, io.Discard, io.Discard)
	opts.Batch, opts.InFlight = 2, 4
	err := Run(context.Background(), opts, []string{file})
	if err == nil || !strings.Contains(err.Error(), "lines 1–21 were acknowledged") {
		t.Fatalf("err = %v, want a read error after lines 1–21", err)
	}
	if st := stateFiles(t, stateDir); len(st) != 1 {
		t.Fatalf("state files: %v, want one", st)
	} else if saved, _ := loadImportState(st[0]); saved.Line != 21 || saved.Stored != 20 {
		t.Errorf("saved state: line %d, %d stored; want 21, 20", saved.Line, saved.Stored)
	}
}

// TestImportDefaultBatch: by default a batch holds as many lines as the API takes in
// one request (1,000), the last batch what remains.
func TestImportDefaultBatch(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	file := filepath.Join(t.TempDir(), "history.jsonl")
	importtest.WriteJSONL(t, file, 2500, 0)
	proxy := newImportProxy(t, in.URL, 0, -1)
	var out, log bytes.Buffer
	opts := testOptions(t, proxy.URL, t.TempDir(), &out, &log)
	opts.Batch, opts.InFlight = DefaultBatch, 1
	if err := Run(context.Background(), opts, []string{file}); err != nil {
		t.Fatalf("import: %v\n%s", err, log.String())
	}
	if _, forwarded, sent := proxy.counts(); forwarded != 3 || len(sent) != 2500 {
		t.Errorf("forwarded %d batches of %d lines, want 3 of 2,500", forwarded, len(sent))
	}
}
