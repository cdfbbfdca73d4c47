// Package importtest writes the files the tests of goodwill import read.
package importtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// Apps is how many applications the lines of WriteJSONL spread over: few, so that the
// service projects them quickly.
const Apps = 20

// WriteJSONL writes n interactions as JSON Lines: line i carries metadata
// {"line": i}; odd lines have their own source and external_id, even lines neither
// (their ids are derived); line bad (if any) has an unknown kind.
func WriteJSONL(t testing.TB, path string, n, bad int) {
	t.Helper()
	var b bytes.Buffer
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	kinds := []string{"application_received", "message", "note", "stage_changed"}
	for i := 1; i <= n; i++ {
		app := fmt.Sprintf("app-%02d", i%Apps)
		it := map[string]any{
			"application_id": app,
			"candidate_id":   "cand-" + app,
			"kind":           kinds[i%len(kinds)],
			"occurred_at":    start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
			"recruiter_id":   "rec-1",
			"metadata":       map[string]any{"line": i},
		}
		switch it["kind"] {
		case "message":
			it["direction"], it["channel"] = "outbound", "email"
		case "stage_changed":
			it["stage"] = "screen"
		}
		if i%2 == 1 {
			it["source"], it["external_id"] = "hris", fmt.Sprintf("hris-%05d", i)
		}
		if i == bad {
			it["kind"] = "bogus"
		}
		js, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(js)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
