// Package importer is goodwill import: it backfills interactions from JSON Lines or
// CSV files through the HTTP API of a running service, in batches, resumably, and
// reports each rejected line by its number in the file.
package importer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/client"
)

// Defaults and limits of goodwill import.
const (
	DefaultURL = "http://127.0.0.1:8080"
	// DefaultBatch is the most a request may hold: the service stores each batch as
	// one group, so fewer, larger requests cost it less per line.
	DefaultBatch = interactions.MaxBatch
	// DefaultInFlight is how many batches are sent at once: while the service stores
	// one, the importer reads the next and the network carries a third.
	DefaultInFlight = 4
	MaxInFlight     = 16
	// importMaxBody keeps a request under the service's 1 MiB body limit, with room
	// for the {"interactions":[...]} wrapper.
	importMaxBody     = 1<<20 - 1<<10
	importTries       = 5
	importReportEvery = 5 * time.Second
	// IDPrefix starts every derived external_id, so that it cannot collide with
	// an id a real system assigned.
	IDPrefix = "import:"
)

// ErrRejected is returned (after the summary is printed) when every file was read to
// its end but some lines were rejected.
var ErrRejected = errors.New("some lines were rejected")

// Options configures one run of goodwill import.
type Options struct {
	URL      string // base URL of the service
	Key      string // API key (ingest or admin role)
	Batch    int    // lines per request, 1..interactions.MaxBatch
	InFlight int    // batches sent at once, 1..MaxInFlight (0: DefaultInFlight)
	Format   string // "jsonl", "csv" or "" (by file extension)
	StateDir string // where resume state is kept
	NoResume bool   // ignore saved state and start from the first line

	Out      io.Writer // the final summary
	Log      io.Writer // progress and notices
	Terminal bool      // Log is a terminal: draw a progress bar

	UserAgent string // sent with every request; "" = Go's default

	// Tunables, fixed by the command and shortened by tests.
	Client      *http.Client
	Tries       int           // attempts per request on 5xx/429/network errors
	RetryDelay  time.Duration // first backoff; doubles per try, at most 10 s
	ReportEvery time.Duration // plain progress line period when not on a terminal
}

// Rejection is a line the service (or the importer) refused.
type Rejection struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Result is the outcome of one file.
type Result struct {
	File       string      `json:"-"`
	Stored     int         `json:"stored"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
}

// Help is the long help of goodwill import.
const Help = `Backfill interactions from JSON Lines or CSV files through the HTTP API of a
running service (POST /v1/interactions, in batches).

Formats (chosen by extension, or --format):
  .jsonl .ndjson .json   one interaction object per line, the API's schema; blank
                         lines are skipped
  .csv                   a header row of the same field names; candidate.name,
                         candidate.email, candidate.phone, job.title and
                         job.department fill the nested objects; candidate_notified
                         and referral take true/false, score a whole number,
                         metadata a JSON object; empty cells are left out

The service validates every line. A rejected line does not hold up the others: the
rest of its batch is sent again, and the summary lists each rejected line by its
number in the file.

Re-running is safe. A line without external_id gets one derived from the line's
content and its line number ("import:" and 32 hex digits), so importing the same
file again stores nothing twice, and fixing a rejected line then re-running stores
just that line. The line's source is kept as it is: without one, the service's
default source "api" applies (source and external_id together are the
idempotency key).

Batches are sent several at once (--in-flight, default 4), in the file's order; a
line whose external_id a batch still unanswered carries waits for it, so that the
first line of an idempotency key is the one stored.

An interrupted import (Ctrl-C, the service down) resumes where it stopped: the
position up to which every batch was acknowledged is kept in a state file (in
--state-dir, keyed by the file's SHA-256 and the service URL) that is removed when
the file is done; batches acknowledged after the first one that failed are sent
again, and count as duplicates then. --no-resume starts over; nothing is stored
twice either way.

Imported history does not raise alerts: the service records clocks that ran out
before it learned of them without alerting.

The requests are marked as history (X-Goodwill-History: true): the service
answers them without waiting for clocks and scores to follow, and the import ends
by asking it to complete them (POST /v1/interactions/flush), so that when it exits,
timelines, clocks and scores include every line stored.

A progress bar is drawn on a terminal, a progress line every few seconds otherwise.
The summary goes to standard output. Exit status: 0 when every line was stored or
was a duplicate, 2 when the files were read to the end but some lines were
rejected, 1 on any other failure (resume by running the same command again).`

// Example is the usage example of goodwill import.
const Example = `  export GOODWILL_URL=https://goodwill.example.com GOODWILL_KEY=gw_...
  goodwill import history.jsonl
  goodwill import --batch 200 greenhouse-export.csv lever-export.csv
  goodwill import --format jsonl --url http://127.0.0.1:8080 --key "$KEY" dump.txt`

// DefaultStateDir is the default state directory.
func DefaultStateDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "goodwill", "import")
	}
	return filepath.Join(os.TempDir(), "goodwill-import")
}

// Run imports the files one after another and prints their summaries to
// o.Out. It returns ErrRejected when all went through but some lines were
// rejected, and stops at the first other error (the summaries of the files done
// are printed first).
func Run(ctx context.Context, o Options, files []string) error {
	if err := o.check(); err != nil {
		return err
	}
	var results []Result
	var failure error
	for _, name := range files {
		res, err := importFile(ctx, o, name)
		if err != nil {
			failure = err
			break
		}
		results = append(results, res)
	}
	if failure == nil {
		// Everything is stored; wait for the clocks and scores to show it.
		if err := newImportClient(o).flush(ctx); err != nil {
			failure = fmt.Errorf("every line was sent, but the service did not confirm that clocks and scores include them: %w", err)
		}
	}
	printImportSummary(o.Out, results)
	if failure != nil {
		return failure
	}
	for _, r := range results {
		if len(r.Rejected) > 0 {
			return ErrRejected
		}
	}
	return nil
}

// check validates the options and fills in defaults.
func (o *Options) check() error {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want the service's base URL, like %s", o.URL, DefaultURL)
	}
	o.URL = strings.TrimRight(o.URL, "/")
	if o.Key == "" {
		return errors.New("no API key: set GOODWILL_KEY or pass --key (an ingest or admin key)")
	}
	if o.Batch < 1 || o.Batch > interactions.MaxBatch {
		return fmt.Errorf("--batch %d: must be from 1 to %d", o.Batch, interactions.MaxBatch)
	}
	if o.InFlight == 0 {
		o.InFlight = DefaultInFlight
	}
	if o.InFlight < 1 || o.InFlight > MaxInFlight {
		return fmt.Errorf("--in-flight %d: must be from 1 to %d", o.InFlight, MaxInFlight)
	}
	switch o.Format {
	case "", "jsonl", "csv":
	case "ndjson", "json":
		o.Format = "jsonl"
	default:
		return fmt.Errorf("--format %q: want jsonl or csv", o.Format)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = MaxInFlight // a connection kept for each batch in flight
		o.Client = &http.Client{Timeout: 2 * time.Minute, Transport: t}
	}
	if o.Tries < 1 {
		o.Tries = importTries
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 500 * time.Millisecond
	}
	if o.ReportEvery <= 0 {
		o.ReportEvery = importReportEvery
	}
	return nil
}

func printImportSummary(w io.Writer, results []Result) {
	var total Result
	for _, r := range results {
		fmt.Fprintf(w, "%s: %d stored, %d duplicates, %d rejected\n", r.File, r.Stored, r.Duplicates, len(r.Rejected))
		for _, rej := range r.Rejected {
			fmt.Fprintf(w, "  line %d: %s\n", rej.Line, rej.Message)
		}
		total.Stored += r.Stored
		total.Duplicates += r.Duplicates
		total.Rejected = append(total.Rejected, r.Rejected...)
	}
	if len(results) > 1 {
		fmt.Fprintf(w, "total: %d stored, %d duplicates, %d rejected\n", total.Stored, total.Duplicates, len(total.Rejected))
	}
}

// importFormat tells the format of a file by --format or its extension.
func importFormat(o Options, name string) (string, error) {
	if o.Format != "" {
		return o.Format, nil
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson", ".json":
		return "jsonl", nil
	case ".csv":
		return "csv", nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension: pass --format jsonl or --format csv", name)
}

// importState is what is kept between runs to resume a file.
type importState struct {
	File   string `json:"file"`
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Offset int64  `json:"offset"` // bytes of the file acknowledged
	Line   int    `json:"line"`   // physical lines acknowledged
	Result
	UpdatedAt time.Time `json:"updated_at"`
}

// importStatePath names the state file of a file's content sent to a service.
func importStatePath(dir, serviceURL, fileHash string) string {
	h := sha256.Sum256([]byte(serviceURL + "\n" + fileHash))
	return filepath.Join(dir, hex.EncodeToString(h[:16])+".json")
}

func loadImportState(path string) (importState, bool) {
	var st importState
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &st) != nil {
		return importState{}, false
	}
	return st, true
}

// save writes the state atomically (a crash leaves the old or the new state).
func (st *importState) save(path string) error {
	st.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// scanImportFile reads the file once for its SHA-256 (the resume key) and its
// number of lines (the progress bar's end).
func scanImportFile(f *os.File) (hash string, lines int, err error) {
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var last byte
	var size int64
	for {
		n, err := f.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			lines += bytes.Count(buf[:n], []byte{'\n'})
			last = buf[n-1]
			size += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	if size > 0 && last != '\n' {
		lines++
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), lines, nil
}

// importRecord is one record of input: a body to send, a local rejection, or a blank
// line to skip. End and EndLine are the byte offset and physical line count just
// after it: where a resumed run starts when it is acknowledged.
type importRecord struct {
	Line   int             // number of the line it starts on
	Body   json.RawMessage // the interaction as sent
	Reject string          // why it was refused before sending
	Skip   bool            // a blank line
	// ExternalID is the line's external_id (given or derived): lines sharing one
	// are sent in file order.
	ExternalID string
	End        int64
	EndLine    int
}

// importReader yields the records of a file one at a time, then io.EOF.
type importReader interface {
	next() (importRecord, error)
}

func importFile(ctx context.Context, o Options, name string) (Result, error) {
	res := Result{File: name}
	format, err := importFormat(o, name)
	if err != nil {
		return res, err
	}
	f, err := os.Open(name)
	if err != nil {
		return res, err
	}
	defer f.Close()
	fileHash, lines, err := scanImportFile(f)
	if err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	abs, _ := filepath.Abs(name)
	statePath := importStatePath(o.StateDir, o.URL, fileHash)
	st := importState{File: abs, URL: o.URL, SHA256: fileHash}
	if saved, ok := loadImportState(statePath); ok && !o.NoResume && saved.SHA256 == fileHash && saved.URL == o.URL {
		st.Offset, st.Line, st.Result = saved.Offset, saved.Line, saved.Result
		fmt.Fprintf(o.Log, "%s: resuming after line %d (%d stored, %d duplicates, %d rejected before)\n",
			name, st.Line, st.Stored, st.Duplicates, len(st.Rejected))
	}

	var rd importReader
	switch format {
	case "jsonl":
		rd, err = newJSONLImportReader(f, st.Offset, st.Line)
	case "csv":
		rd, err = newCSVImportReader(f, st.Offset, st.Line)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}

	prog := newImportProgress(o, name, lines, st.Line)
	defer prog.close()
	api := newImportClient(o)
	// Up to o.InFlight batches are sent at once. The state moves only over batches
	// acknowledged in file order: after a failure no batch is sent any more, those in
	// flight are waited for, and the state stops before the first batch not
	// acknowledged; a resumed run sends again what came after it (duplicates then).
	var stopped atomic.Bool      // a batch failed
	var flight []*sentBatch      // sent, oldest first
	inFlight := map[string]int{} // external_id → how many batches in flight carry it
	// complete waits for the oldest batch in flight and moves the state over it.
	complete := func() error {
		b := flight[0]
		<-b.done
		flight = flight[1:]
		for _, k := range b.keys {
			if inFlight[k]--; inFlight[k] == 0 {
				delete(inFlight, k)
			}
		}
		if b.err != nil {
			return b.err
		}
		st.Stored += b.out.Stored
		st.Duplicates += b.out.Duplicates
		st.Rejected = append(st.Rejected, b.local...)
		st.Rejected = append(st.Rejected, b.out.Rejected...)
		st.Offset, st.Line = b.end, b.endLine
		if !b.last {
			if err := st.save(statePath); err != nil {
				fmt.Fprintf(o.Log, "%s: cannot save the resume state: %v\n", name, err)
			}
		}
		prog.update(st.Line, st.Result)
		return nil
	}
	// readErr is a failure to read the file on; sendErr that of a batch, after which
	// the state does not move.
	var readErr, sendErr error
	var pending *importRecord // read, but did not fit in the last batch
	for eof := false; readErr == nil && sendErr == nil && !stopped.Load() && (!eof || pending != nil); {
		// A batch: up to o.Batch records in under importMaxBody bytes. end is where
		// the state moves once it and every batch before it are acknowledged.
		var batch []importRecord
		var local []Rejection
		var keys []string
		size := 0
		end, endLine := st.Offset, st.Line
		if len(flight) > 0 {
			end, endLine = flight[len(flight)-1].end, flight[len(flight)-1].endLine
		}
		for len(batch) < o.Batch {
			var rec importRecord
			if pending != nil {
				rec, pending = *pending, nil
			} else {
				rec, err = rd.next()
				if err == io.EOF {
					eof = true
					break
				}
				if err != nil {
					readErr = err
					break
				}
			}
			if rec.Reject == "" && !rec.Skip && len(rec.Body)+1 > importMaxBody {
				rec.Reject = fmt.Sprintf("is %d bytes as JSON: the service takes at most 1 MiB per request", len(rec.Body))
			}
			switch {
			case rec.Skip:
			case rec.Reject != "":
				local = append(local, Rejection{rec.Line, rec.Reject})
			case len(batch) > 0 && size+len(rec.Body)+1 > importMaxBody:
				pending = &rec
			default:
				batch = append(batch, rec)
				size += len(rec.Body) + 1
				if rec.ExternalID != "" {
					keys = append(keys, rec.ExternalID)
				}
			}
			if pending != nil {
				break
			}
			end, endLine = rec.End, rec.EndLine
		}
		if readErr != nil {
			break
		}
		// A line whose external_id a batch in flight carries waits for the batches
		// before it: the first line of a key is stored first, as when sent one batch
		// at a time.
		mustWait := func() bool {
			return len(flight) >= o.InFlight || slices.ContainsFunc(keys, func(k string) bool { return inFlight[k] > 0 })
		}
		for mustWait() && len(flight) > 0 && sendErr == nil {
			sendErr = complete()
		}
		if sendErr != nil {
			break
		}
		b := &sentBatch{end: end, endLine: endLine, local: local, keys: keys,
			last: eof && pending == nil, done: make(chan struct{})}
		for _, k := range keys {
			inFlight[k]++
		}
		flight = append(flight, b)
		go func() {
			defer close(b.done)
			b.out, b.err = api.sendAll(ctx, batch)
			if b.err != nil {
				stopped.Store(true)
			}
		}()
	}
	// What is in flight is acknowledged in order, up to the first batch that failed
	// (also when the file could not be read on after it).
	for len(flight) > 0 && sendErr == nil {
		sendErr = complete()
	}
	failure := readErr
	if sendErr != nil {
		failure = sendErr // its lines come before the one that could not be read
	}
	if failure != nil {
		// What is still in flight comes after the state: a resumed run sends it again.
		for _, b := range flight {
			<-b.done
		}
		if ctx.Err() != nil {
			failure = errors.New("interrupted")
		}
		if st.Line > 0 {
			return res, fmt.Errorf("%s: %w\nlines 1–%d were acknowledged: run the same command again to resume after them", name, failure, st.Line)
		}
		return res, fmt.Errorf("%s: %w", name, failure)
	}
	if err := os.Remove(statePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(o.Log, "%s: cannot remove the resume state: %v\n", name, err)
	}
	prog.finish()
	res.Stored, res.Duplicates, res.Rejected = st.Stored, st.Duplicates, st.Rejected
	slices.SortStableFunc(res.Rejected, func(a, b Rejection) int { return a.Line - b.Line })
	return res, nil
}

// sentBatch is a batch sent and the state just after it: its place in the file, the
// lines refused before sending, and once done, the service's outcome.
type sentBatch struct {
	end     int64
	endLine int
	last    bool // the file's last batch
	local   []Rejection
	keys    []string // the external_ids of its lines
	done    chan struct{}
	out     importOutcome
	err     error
}

// importExternalID derives the external_id of a line that has none from the line's
// number and content: the same file gives the same ids on every run, and editing one
// line changes only that line's id.
func importExternalID(line int, content []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", line)
	h.Write(content)
	return IDPrefix + hex.EncodeToString(h.Sum(nil)[:16])
}

// jsonlImportReader reads JSON Lines.
type jsonlImportReader struct {
	r      *bufio.Reader
	offset int64
	line   int
}

func newJSONLImportReader(f *os.File, offset int64, line int) (*jsonlImportReader, error) {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return &jsonlImportReader{r: bufio.NewReaderSize(f, 64<<10), offset: offset, line: line}, nil
}

func (j *jsonlImportReader) next() (importRecord, error) {
	raw, err := j.r.ReadBytes('\n')
	if len(raw) == 0 {
		if err == nil {
			err = io.EOF
		}
		return importRecord{}, err
	}
	if err != nil && err != io.EOF {
		return importRecord{}, err
	}
	j.offset += int64(len(raw))
	j.line++
	rec := importRecord{Line: j.line, End: j.offset, EndLine: j.line}
	content := bytes.TrimSpace(raw)
	if len(content) == 0 {
		rec.Skip = true
		return rec, nil
	}
	if content[0] == '[' && j.line == 1 {
		return rec, errors.New("line 1 starts a JSON array: the importer reads JSON Lines, one object per line (convert with: jq -c '.[]')")
	}
	if content[0] != '{' {
		rec.Reject = "is not a JSON object"
		return rec, nil
	}
	rec.Body, rec.ExternalID, rec.Reject = jsonlBody(content, j.line)
	return rec, nil
}

// jsonlBody is what is sent for a line holding a JSON object: the object, with an
// external_id derived from the line when it has none. The common case, a valid line
// not mentioning external_id at all, costs one scan: the id is put in front of its
// fields. reject says why a line cannot be sent.
func jsonlBody(content []byte, line int) (body []byte, externalID, reject string) {
	if !json.Valid(content) || bytes.Contains(content, []byte(`"external_id"`)) {
		return jsonlBodyDecoded(content, line)
	}
	externalID = importExternalID(line, content) // letters, digits and a colon: nothing to escape
	rest := bytes.TrimSpace(content[1:])         // the fields and the closing brace
	body = make([]byte, 0, len(content)+len(externalID)+20)
	body = append(body, `{"external_id":"`...)
	body = append(body, externalID...)
	body = append(body, '"')
	if rest[0] != '}' {
		body = append(body, ',')
	}
	return append(body, rest...), externalID, ""
}

// jsonlBodyDecoded is jsonlBody for any line: the object is decoded, given an
// external_id if it has none (or null, or ""), and encoded again.
func jsonlBodyDecoded(content []byte, line int) (body []byte, externalID, reject string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(content, &obj); err != nil {
		return nil, "", "is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	if id, ok := obj["external_id"]; !ok || string(id) == "null" || string(id) == `""` {
		externalID = importExternalID(line, content)
		obj["external_id"], _ = json.Marshal(externalID)
	} else if json.Unmarshal(id, &externalID) != nil {
		externalID = string(id) // not a string: the service refuses it
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, "", "is not valid JSON: " + err.Error()
	}
	return body, externalID, ""
}

// csvImportReader reads CSV with a header row of field names.
type csvImportReader struct {
	r        *csv.Reader
	header   []string
	base     int64 // file offset where r started
	baseLine int   // physical lines before r's first
}

// The CSV column types other than text.
var (
	importCSVBool   = map[string]bool{"candidate_notified": true, "referral": true}
	importCSVInt    = map[string]bool{"score": true}
	importCSVObject = map[string]bool{"metadata": true, "candidate": true, "job": true}
)

// importCSVColumns are the accepted header names: the fields of an interaction, and
// dotted names of the nested objects' fields.
var importCSVColumns = func() map[string]bool {
	cols := map[string]bool{}
	tags := func(v any, prefix string) {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
				cols[prefix+name] = true
			}
		}
	}
	tags(interactions.Input{}, "")
	tags(interactions.Person{}, "candidate.")
	tags(interactions.JobInfo{}, "job.")
	return cols
}()

func newCSVImportReader(f *os.File, offset int64, line int) (*csvImportReader, error) {
	c := &csvImportReader{}
	if _, err := f.Seek(0, io.SeekStart); err != nil { // the header row, wherever f was
		return nil, err
	}
	hr := csv.NewReader(bufio.NewReader(f))
	hr.FieldsPerRecord = -1
	header, err := hr.Read()
	if err == io.EOF {
		return nil, errors.New("empty file: a CSV import needs a header row of field names")
	}
	if err != nil {
		return nil, fmt.Errorf("header row: %w", err)
	}
	// The header row ends on the line of its last cell's start, plus the line breaks
	// inside that cell (counted before the names are trimmed).
	headerLine, _ := hr.FieldPos(len(header) - 1)
	headerLine += strings.Count(header[len(header)-1], "\n")
	seen := map[string]bool{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // a byte order mark, as spreadsheets write
		}
		h = strings.TrimSpace(h)
		header[i] = h
		switch {
		case h == "":
			return nil, fmt.Errorf("header row: column %d has no name", i+1)
		case !importCSVColumns[h]:
			return nil, fmt.Errorf("header row: unknown column %q (columns are interaction fields, plus candidate.name, candidate.email, candidate.phone, job.title, job.department)", h)
		case seen[h]:
			return nil, fmt.Errorf("header row: column %q appears twice", h)
		}
		seen[h] = true
	}
	for _, obj := range []string{"candidate", "job"} {
		if seen[obj] {
			for h := range seen {
				if strings.HasPrefix(h, obj+".") {
					return nil, fmt.Errorf("header row: columns %q and %q both set the %s", obj, h, obj)
				}
			}
		}
	}
	c.header = header
	headerEnd := hr.InputOffset()
	if offset < headerEnd {
		offset, line = headerEnd, headerLine
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	c.base, c.baseLine = offset, line
	c.r = csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	c.r.FieldsPerRecord = len(header)
	return c, nil
}

func (c *csvImportReader) next() (importRecord, error) {
	fields, err := c.r.Read()
	if err == io.EOF {
		return importRecord{}, io.EOF
	}
	if err != nil && !errors.Is(err, csv.ErrFieldCount) {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			pe.StartLine += c.baseLine
			pe.Line += c.baseLine
		}
		return importRecord{}, err
	}
	first, _ := c.r.FieldPos(0)
	last, _ := c.r.FieldPos(len(fields) - 1)
	rec := importRecord{
		Line:    c.baseLine + first,
		End:     c.base + c.r.InputOffset(),
		EndLine: c.baseLine + last + strings.Count(fields[len(fields)-1], "\n"),
	}
	if err != nil {
		rec.Reject = fmt.Sprintf("has %d cells; the header row has %d", len(fields), len(c.header))
		return rec, nil
	}
	obj := map[string]any{}
	for i, v := range fields {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		col := c.header[i]
		var val any = v
		switch {
		case importCSVBool[col]:
			if b, err := strconv.ParseBool(v); err == nil {
				val = b
			}
		case importCSVInt[col]:
			if n, err := strconv.Atoi(v); err == nil {
				val = n
			}
		case importCSVObject[col]:
			if json.Valid([]byte(v)) {
				val = json.RawMessage(v)
			}
		}
		// A value of the wrong type is sent as text: the service names the field.
		if parent, child, nested := strings.Cut(col, "."); nested {
			sub, _ := obj[parent].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				obj[parent] = sub
			}
			sub[child] = val
		} else {
			obj[col] = val
		}
	}
	if len(obj) == 0 {
		rec.Skip = true
		return rec, nil
	}
	if id, ok := obj["external_id"].(string); ok {
		rec.ExternalID = id
	} else {
		content, _ := json.Marshal(fields)
		rec.ExternalID = importExternalID(rec.Line, content)
		obj["external_id"] = rec.ExternalID
	}
	rec.Body, err = json.Marshal(obj)
	if err != nil {
		rec.Reject = err.Error()
	}
	return rec, nil
}

// importOutcome is what the service said about a batch.
type importOutcome struct {
	Stored, Duplicates int
	Rejected           []Rejection
}

func (a *importOutcome) add(b importOutcome) {
	a.Stored += b.Stored
	a.Duplicates += b.Duplicates
	a.Rejected = append(a.Rejected, b.Rejected...)
}

// importClient posts batches to POST /v1/interactions.
type importClient struct {
	o   Options
	api *client.Client
}

func newImportClient(o Options) importClient {
	api := client.New(o.URL, o.Key, o.Client)
	api.UserAgent = o.UserAgent
	// History: the service answers without waiting for derived state, which the
	// flush at the end completes.
	api.Header = http.Header{HistoryHeader: {"true"}}
	return importClient{o: o, api: api}
}

// HistoryHeader marks the importer's writes as history (CONTRACT §10).
const HistoryHeader = "X-Goodwill-History"

// flush asks the service to complete the derived state of everything imported
// (POST /v1/interactions/flush), retrying a 503 or a network error as post does.
func (c importClient) flush(ctx context.Context) error {
	endpoint := c.api.BaseURL() + "/v1/interactions/flush"
	for try := 1; ; try++ {
		err := c.api.Flush(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		var refused *client.Error
		var wait time.Duration
		switch {
		case errors.As(err, &refused) && refused.Temporary():
			wait = refused.RetryAfter
			err = fmt.Errorf("POST %s: %s", endpoint, refused)
		case refused != nil:
			return fmt.Errorf("POST %s: %s", endpoint, refused)
		default:
			err = fmt.Errorf("POST %s: %w", endpoint, err)
		}
		if try >= c.o.Tries {
			return fmt.Errorf("%w (tried %d times)", err, try)
		}
		delay := min(c.o.RetryDelay<<(try-1), 10*time.Second)
		if wait > delay && wait <= 30*time.Second {
			delay = wait
		}
		fmt.Fprintf(c.o.Log, "goodwill import: %v; retrying in %s\n", err, delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

var (
	importFieldRE  = regexp.MustCompile(`^interactions\[(\d+)\](?:\.(.+))?$`)
	importDetailRE = regexp.MustCompile(`^interactions\[(\d+)\]\.(.+)$`)
)

// sendAll sends the records until each is stored, a duplicate or rejected. Lines the
// service rejects are taken out and the rest is sent again.
func (c importClient) sendAll(ctx context.Context, recs []importRecord) (importOutcome, error) {
	var out importOutcome
	for len(recs) > 0 {
		res, refused, err := c.post(ctx, recs)
		if err != nil {
			return out, err
		}
		if refused == nil {
			stored, dups := res.Counts()
			out.Stored += stored
			out.Duplicates += dups
			return out, nil
		}
		switch refused.Status {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusForbidden:
			// Lines refused on their own: invalid, an idempotency key of another
			// application (409), a source reserved to admin keys (403).
			bad := importItemErrors(refused, len(recs))
			if bad == nil && refused.Status == http.StatusForbidden {
				return out, errors.New("the API key may not write interactions (403): use an ingest or admin key")
			}
			if bad == nil {
				return out, fmt.Errorf("the service refused the request: %s", refused)
			}
			keep := make([]importRecord, 0, len(recs))
			for i, r := range recs {
				if msg, ok := bad[i]; ok {
					out.Rejected = append(out.Rejected, Rejection{r.Line, msg})
				} else {
					keep = append(keep, r)
				}
			}
			recs = keep
		case http.StatusRequestEntityTooLarge:
			if len(recs) == 1 {
				out.Rejected = append(out.Rejected, Rejection{recs[0].Line, "is larger than the service accepts (413)"})
				return out, nil
			}
			for _, half := range [][]importRecord{recs[:len(recs)/2], recs[len(recs)/2:]} {
				o, err := c.sendAll(ctx, half)
				out.add(o)
				if err != nil {
					return out, err
				}
			}
			return out, nil
		case http.StatusUnauthorized:
			return out, errors.New("the service refused the API key (401): check --key or GOODWILL_KEY")
		default:
			return out, fmt.Errorf("the service refused the request: %s", refused)
		}
	}
	return out, nil
}

// importItemErrors maps a 400's field errors ("interactions[3].kind") or a 404's
// detail ("interactions[3].application_id: no application …") to batch indexes. It
// returns nil when some error names no item: the request as a whole was refused.
func importItemErrors(refused *client.Error, n int) map[int]string {
	p := refused.Problem
	bad := map[int]string{}
	add := func(idx, msg string) bool {
		i, err := strconv.Atoi(idx)
		if err != nil || i >= n {
			return false
		}
		if prev, ok := bad[i]; ok {
			msg = prev + "; " + msg
		}
		bad[i] = msg
		return true
	}
	if refused.Status == http.StatusNotFound {
		m := importDetailRE.FindStringSubmatch(p.Detail)
		if m == nil || !add(m[1], m[2]) {
			return nil
		}
		return bad
	}
	if len(p.Errors) == 0 {
		return nil
	}
	for _, e := range p.Errors {
		m := importFieldRE.FindStringSubmatch(e.Field)
		if m == nil {
			return nil
		}
		msg := e.Message
		if m[2] != "" {
			msg = m[2] + ": " + msg
		}
		if !add(m[1], msg) {
			return nil
		}
	}
	return bad
}

// post sends one batch, retrying network errors, 5xx and 429 with backoff. It
// returns the result of a 2xx, or the first other refusal.
func (c importClient) post(ctx context.Context, recs []importRecord) (client.Result, *client.Error, error) {
	items := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		items[i] = r.Body
	}
	endpoint := c.api.BaseURL() + "/v1/interactions"
	for try := 1; ; try++ {
		res, err := c.api.PostInteractionsJSON(ctx, items)
		if ctx.Err() != nil {
			return client.Result{}, nil, ctx.Err()
		}
		var refused *client.Error
		var wait time.Duration
		switch {
		case err == nil:
			return res, nil, nil
		case errors.As(err, &refused) && refused.Temporary():
			wait = refused.RetryAfter
			err = fmt.Errorf("POST %s: %s", endpoint, refused)
		case refused != nil:
			return client.Result{}, refused, nil
		case res.Status != 0:
			return client.Result{}, nil, err // a 2xx the importer cannot read
		default:
			err = fmt.Errorf("POST %s: %w", endpoint, err)
		}
		if try >= c.o.Tries {
			return client.Result{}, nil, fmt.Errorf("%w (tried %d times)", err, try)
		}
		delay := min(c.o.RetryDelay<<(try-1), 10*time.Second)
		if wait > delay && wait <= 30*time.Second {
			delay = wait
		}
		fmt.Fprintf(c.o.Log, "goodwill import: %v; retrying in %s\n", err, delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return client.Result{}, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// importProgress shows how far a file is: a bar on a terminal, else a line every
// o.ReportEvery.
type importProgress struct {
	o     Options
	name  string
	total int
	bar   *progressbar.ProgressBar
	last  time.Time
	done  bool
}

func newImportProgress(o Options, name string, total, start int) *importProgress {
	p := &importProgress{o: o, name: name, total: total, last: time.Now()}
	if o.Terminal && total > 0 {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(o.Log),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("lines"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(o.Log) }),
		)
		_ = p.bar.Set(start)
	}
	return p
}

func (p *importProgress) update(line int, r Result) {
	if p.bar != nil {
		_ = p.bar.Set(line)
		return
	}
	if time.Since(p.last) >= p.o.ReportEvery {
		p.last = time.Now()
		fmt.Fprintf(p.o.Log, "%s: %d/%d lines (%d stored, %d duplicates, %d rejected)\n",
			p.name, line, p.total, r.Stored, r.Duplicates, len(r.Rejected))
	}
}

func (p *importProgress) finish() {
	if p.bar != nil && !p.done {
		_ = p.bar.Finish()
	}
	p.done = true
}

// close ends an unfinished bar on its own line, so that an error starts on the next.
func (p *importProgress) close() {
	if p.bar != nil && !p.done {
		_ = p.bar.Exit()
	}
	p.done = true
}
