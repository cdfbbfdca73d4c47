package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goodwillhq/goodwill/cmd/goodwill/internal/importer/importtest"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestImportCommand runs the binary: settings from GOODWILL_URL and GOODWILL_KEY,
// exit status 2 with rejected lines, 1 (fast) with a wrong key, help with examples.
func TestImportCommand(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "few.jsonl")
	importtest.WriteJSONL(t, file, 20, 7)
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
