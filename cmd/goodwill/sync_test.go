package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/client"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/lever/levertest"
)

// TestSyncCommand runs goodwill sync against a server syncing a fake Lever: it starts
// a backfill and follows it to done (exit 0) with progress lines; a second sync while
// it runs follows the same backfill; --resume follows one again; a canceled backfill
// exits 1; bad flags say what is wrong.
func TestSyncCommand(t *testing.T) {
	fake := levertest.Start(t, filepath.Join("..", "..", "webhooks", "lever", "testdata", "sync", "lever.json"))
	fake.AddHistory("cli", 8, time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC), 24*time.Hour)
	release := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/opportunities" && strings.Contains(r.URL.RawQuery, "updated_at_start=1735689600000") {
			select { // the backfill's opportunities wait for the test
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	in := servicetest.Start(t, map[string]string{
		"GOODWILL_SYNC_INTERVAL": "1h",
		"GOODWILL_LEVER_API_KEY": levertest.Key,
		"GOODWILL_LEVER_API_URL": api.URL + "/v1",
	}, service.Options{})

	type result struct {
		code           int
		stdout, stderr string
	}
	start := func(args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
		cmd := exec.Command(binary, append([]string{"sync", "--poll", "50ms"}, args...)...)
		cmd.Env = environ("GOODWILL_URL="+in.URL, "GOODWILL_KEY="+servicetest.AdminKey)
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stdout, &stderr
	}
	wait := func(cmd *exec.Cmd, stdout, stderr *syncBuffer) result {
		err := cmd.Wait()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
	}
	goodwill := func(args ...string) result { return wait(start(args...)) }

	first, out1, err1 := start("--vendor", "lever", "--since", "2025-01-01")
	servicetest.Eventually(t, 20*time.Second, "the backfill running", func() bool {
		return strings.Contains(err1.String(), "lever backfill: running")
	})
	second, out2, err2 := start("--vendor", "lever", "--since", "2025-02-01")
	servicetest.Eventually(t, 20*time.Second, "the second sync following", func() bool {
		return strings.Contains(err2.String(), "already running")
	})
	close(release)
	r1 := wait(first, out1, err1)
	if r1.code != 0 || !strings.Contains(r1.stdout, " done in ") || !strings.Contains(r1.stdout, "13 applications") {
		t.Fatalf("sync: exit %d\nstdout:\n%s\nstderr:\n%s", r1.code, r1.stdout, r1.stderr)
	}
	r2 := wait(second, out2, err2)
	id := strings.Fields(strings.TrimPrefix(r1.stdout, "lever backfill "))[0]
	if r2.code != 0 || !strings.Contains(r2.stderr, id) || !strings.Contains(r2.stdout, id+" done") {
		t.Errorf("the second sync: exit %d\nstdout:\n%s\nstderr:\n%s", r2.code, r2.stdout, r2.stderr)
	}
	if r := goodwill("--vendor", "lever", "--resume", id); r.code != 0 || !strings.Contains(r.stdout, id+" done") {
		t.Errorf("--resume: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	// A canceled backfill ends sync with exit 1.
	c := client.New(in.URL, servicetest.AdminKey, nil)
	ctx := context.Background()
	blocked, err := c.StartBackfill(ctx, "lever", "2025-01-01")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelBackfill(ctx, "lever", blocked); err != nil {
		t.Fatal(err)
	}
	if r := goodwill("--vendor", "lever", "--resume", blocked); r.code != 1 || !strings.Contains(r.stderr, "canceled") {
		t.Errorf("a canceled backfill: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	for _, c := range []struct {
		args []string
		want string // in stderr, with exit 1
	}{
		{[]string{"--since", "2025-01-01"}, "--vendor is required"},
		{[]string{"--vendor", "lever"}, "--since"},
		{[]string{"--vendor", "lever", "--since", "2025-01-01", "--resume", id}, "--resume"},
		{[]string{"--vendor", "lever", "--since", "soon"}, "since: must be a date"},
		{[]string{"--vendor", "greenhouse", "--since", "2025-01-01"}, "404"},
		{[]string{"--vendor", "lever", "--resume", "0193c4a8-5f2e-7c41-9a6e-2b3c4d5e6f70"}, "404"},
	} {
		if r := goodwill(c.args...); r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("sync %v: exit %d, want 1 and %q\nstderr:\n%s", c.args, r.code, c.want, r.stderr)
		}
	}
	var help bytes.Buffer
	cmd := exec.Command(binary, "sync", "--help")
	cmd.Stdout = &help
	if err := cmd.Run(); err != nil || !strings.Contains(help.String(), "goodwill sync --vendor lever --since 2025-01-01") {
		t.Errorf("sync --help: %v\n%s", err, help.String())
	}
}
