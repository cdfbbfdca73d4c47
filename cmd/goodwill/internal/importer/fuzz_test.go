package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readImportRecords reads every record of a reader, up to max (a reader that yields
// more does not end), and the error that ended it (nil at io.EOF).
func readImportRecords(t *testing.T, rd importReader, max int) ([]importRecord, error) {
	t.Helper()
	var out []importRecord
	for {
		rec, err := rd.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, rec)
		if len(out) > max {
			t.Fatalf("more than %d records from %d bytes: the reader does not end", max, max)
		}
	}
}

// physicalLine is the number of the line holding the last byte before end: the line
// a record ending at end ends on.
func physicalLine(data []byte, end int64) int {
	n := bytes.Count(data[:end], []byte("\n"))
	if end > 0 && data[end-1] != '\n' {
		n++
	}
	return n
}

// FuzzImportReader feeds goodwill import's JSON Lines and CSV readers arbitrary files.
// Records come in file order, each one of skip, local rejection or a JSON object to
// send with a non-empty external_id; their line numbers are the file's physical lines;
// and a run resumed after any record (from the offset and line kept in the state
// file) reads exactly the records that follow, with the same external ids, so that a
// resumed import stores nothing twice.
func FuzzImportReader(f *testing.F) {
	for _, s := range []string{
		`{"application_id":"a1","candidate_id":"c1","kind":"application_received","occurred_at":"2026-01-05T10:00:00Z"}` + "\n" +
			`{"application_id":"a1","candidate_id":"c1","kind":"message","direction":"outbound","external_id":"m-1","occurred_at":"2026-01-06T10:00:00Z"}` + "\n",
		"\n\n{\"kind\":\"note\"}\r\n  \n{\"external_id\":\"\"}\n{\"external_id\":null}\n{\"external_id\":7}",
		"not json\n{broken\n[1,2]\n\"str\"\n{\"a\":1}x\n{}",
		`[{"kind":"note"}]`,
		"{\"metadata\":{\"text\":\"caf\u00e9 \u2603\"}}\n\xff\xfe{}\n",
		"",
	} {
		f.Add([]byte(s), false)
	}
	for _, s := range []string{
		"application_id,candidate_id,kind,occurred_at,candidate.name,candidate.email\n" +
			"a1,c1,application_received,2026-01-05T10:00:00Z,Grace Hopper,grace@example.org\n" +
			"a1,c1,note,2026-01-06T10:00:00Z,,\n",
		"\uFEFFkind,external_id,score,referral,candidate_notified,metadata\r\nsurvey_response,s-1,9,true,yes,\"{\"\"a\"\":1}\"\r\n,,,,,\r\nnote,,x,maybe,,{bad\r\n",
		"kind,metadata\n\"note\",\"multi\nline\ntext\"\n\n\nnote,\"{}\"\nnote\nnote,a,b\n",
		"kind,\"job_id\n\"\nnote,j1\n",
		"kind,candidate,candidate.name\nnote,{},x\n",
		"kind,kind\n", "kind,colour\n", ",kind\n", "\"kind\nnote", "kind\n\"unterminated\n", "",
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, isCSV bool) {
		path := filepath.Join(t.TempDir(), "in")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		open := func(offset int64, line int) (importReader, error) {
			if isCSV {
				return newCSVImportReader(file, offset, line)
			}
			return newJSONLImportReader(file, offset, line)
		}
		rd, err := open(0, 0)
		if err != nil {
			if !isCSV {
				t.Fatalf("the JSON Lines reader refused to start: %v", err)
			}
			return // a bad header row: the import stops with its reason
		}
		max := len(data) + 1
		recs, readErr := readImportRecords(t, rd, max)

		var prevEnd int64
		prevLine := 0
		for i, rec := range recs {
			where := func() string { return string(data[prevEnd:rec.End]) }
			if rec.End <= prevEnd || rec.End > int64(len(data)) {
				t.Fatalf("record %d ends at byte %d, after %d, of %d", i, rec.End, prevEnd, len(data))
			}
			if rec.Line <= prevLine || rec.Line > rec.EndLine {
				t.Fatalf("record %d %q: lines %d–%d after line %d", i, where(), rec.Line, rec.EndLine, prevLine)
			}
			if want := physicalLine(data, rec.End); rec.EndLine != want {
				t.Fatalf("record %d %q ends on line %d, said %d", i, where(), want, rec.EndLine)
			}
			kinds := 0
			if rec.Skip {
				kinds++
			}
			if rec.Reject != "" {
				kinds++
			}
			if rec.Body != nil {
				kinds++
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(rec.Body, &obj); err != nil {
					t.Fatalf("record %d %q: body %s is not a JSON object: %v", i, where(), rec.Body, err)
				}
				if id := string(obj["external_id"]); id == "" || id == "null" || id == `""` {
					t.Fatalf("record %d %q: body %s has no external_id", i, where(), rec.Body)
				}
				if !isCSV {
					// The body means what the line, decoded and given its id, means.
					content := bytes.TrimSpace(data[prevEnd:rec.End])
					decoded, id, _ := jsonlBodyDecoded(content, rec.Line)
					var got, want any
					if json.Unmarshal(rec.Body, &got) != nil || json.Unmarshal(decoded, &want) != nil || !reflect.DeepEqual(got, want) || rec.ExternalID != id {
						t.Fatalf("record %d %q: body %s (id %q), decoded %s (id %q)", i, where(), rec.Body, rec.ExternalID, decoded, id)
					}
				}
				if isCSV {
					for k := range obj {
						if !importCSVColumns[k] && k != "candidate" && k != "job" {
							t.Fatalf("record %d: body %s has a field %q no column names", i, rec.Body, k)
						}
					}
				}
			}
			if kinds != 1 {
				t.Fatalf("record %d %q is %d of skip, reject and body: %+v", i, where(), kinds, rec)
			}
			prevEnd, prevLine = rec.End, rec.EndLine
		}
		if readErr == nil && len(recs) > 0 && !isCSV && prevEnd != int64(len(data)) {
			t.Fatalf("the JSON Lines records end at byte %d of %d", prevEnd, len(data))
		}

		// A run resumed after the first, a middle and the last record reads the rest
		// as the first run did.
		for _, k := range []int{0, len(recs) / 2, len(recs) - 1} {
			if len(recs) == 0 {
				break
			}
			rd, err := open(recs[k].End, recs[k].EndLine)
			if err != nil {
				t.Fatalf("resuming after record %d: %v", k, err)
			}
			rest, err := readImportRecords(t, rd, max)
			if (err == nil) != (readErr == nil) {
				t.Fatalf("resumed after record %d: ended with %v, the first run with %v", k, err, readErr)
			}
			want := recs[k+1:]
			if len(rest) != len(want) {
				t.Fatalf("resumed after record %d: %d records, the first run %d", k, len(rest), len(want))
			}
			for i := range rest {
				a, b := rest[i], want[i]
				if a.Line != b.Line || a.End != b.End || a.EndLine != b.EndLine || a.Skip != b.Skip ||
					!bytes.Equal(a.Body, b.Body) || strings.TrimSpace(a.Reject) != strings.TrimSpace(b.Reject) {
					t.Fatalf("resumed after record %d, record %d is %+v; the first run read %+v", k, k+1+i, a, b)
				}
			}
		}
	})
}
