package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// importTestApps is how many applications the lines spread over: few, so that the
// service projects them quickly.
const importTestApps = 20

// writeImportJSONL writes n interactions as JSON Lines: line i carries metadata
// {"line": i}; odd lines have their own source and external_id, even lines neither
// (their ids are derived); line bad (if any) has an unknown kind.
func writeImportJSONL(t *testing.T, path string, n, bad int) {
	t.Helper()
	var b bytes.Buffer
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	kinds := []string{"application_received", "message", "note", "stage_changed"}
	for i := 1; i <= n; i++ {
		app := fmt.Sprintf("app-%02d", i%importTestApps)
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

// TestImportCommand runs the binary: settings from GOODWILL_URL and GOODWILL_KEY,
// exit status 2 with rejected lines, 1 (fast) with a wrong key, help with examples.
func TestImportCommand(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "few.jsonl")
	writeImportJSONL(t, file, 20, 7)
	goodwill := func(key string, args ...string) (int, string, string) {
		cmd := exec.Command(binary, append([]string{"import", "--state-dir", filepath.Join(dir, "state")}, args...)...)
		cmd.Env = environ("GOODWILL_URL="+in.URL, "GOODWILL_KEY="+key)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}

	code, stdout, stderr := goodwill(servicetest.AdminKey, file)
	if code != exitRejected || stdout != file+": 19 stored, 0 duplicates, 1 rejected\n  line 7: kind: unknown kind \"bogus\"\n" {
		t.Errorf("import: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = goodwill("gw_wrong_key_0123456789abcdef0123456789abc", file)
	if code != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("wrong key: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = goodwill(servicetest.AdminKey, filepath.Join(dir, "nope.txt"))
	if code != 1 || !strings.Contains(stderr, "--format") {
		t.Errorf("unknown extension: exit %d\nstderr:\n%s", code, stderr)
	}
	code, stdout, _ = goodwill("", "--help")
	if code != 0 || !strings.Contains(stdout, "Usage:") || !strings.Contains(stdout, "goodwill import history.jsonl") {
		t.Errorf("import --help: exit %d\n%s", code, stdout)
	}
}
