package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service/client"
)

// binary is the goodwill executable TestMain builds.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if !needBinary() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "goodwill-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "goodwill")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build goodwill:", err)
		return 1
	}
	return m.Run()
}

// needBinary reports whether tests may run: not when they are only listed (make fuzz
// lists the fuzz targets of every package) nor in the worker processes of -fuzz, which
// each run TestMain again and only ever call the fuzz function.
func needBinary() bool {
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return false
	}
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return false
	}
	return true
}

// adminKey is the bootstrap key of every process the tests start: gw_ and 40 characters.
const adminKey = "gw_" + "0123456789abcdefghijklmnopqrstuvwxyzABCD"

// syncBuffer is a bytes.Buffer safe for a process to write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// environ is the test process's environment without goodwill's own settings, plus
// kv ("NAME=value").
func environ(kv ...string) []string {
	var out []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "GOODWILL_") || strings.HasPrefix(e, "TWILIO_") || strings.HasPrefix(e, "OTEL_") {
			continue
		}
		out = append(out, e)
	}
	return append(out, kv...)
}

// freeAddr returns a loopback address with a port nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// proc is a running `goodwill serve`.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, once done
}

// serve starts `goodwill serve` on the embedded store in dataDir and waits until
// /readyz answers 200. The process is killed when the test ends if still running.
func serve(t *testing.T, dataDir string, env ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = environ(append([]string{
		"GOODWILL_ADDR=" + addr,
		"GOODWILL_DATA_DIR=" + dataDir,
		"GOODWILL_BOOTSTRAP_KEY=" + adminKey,
	}, env...)...)
	p := &proc{t: t, cmd: cmd, url: "http://" + addr, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.stderr
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("goodwill serve (%s) stderr:\n%s", addr, p.stderr)
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("goodwill serve exited before it was ready: %v\n%s", p.err, p.stderr)
		default:
		}
		if res, err := client.Get(p.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("goodwill serve not ready after 60 s:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits up to d for the process to exit and returns its exit code, or fails.
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("goodwill serve still running %s after being told to stop", d)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	default:
		p.t.Fatalf("wait: %v", p.err)
		return -1
	}
}

// candidate returns the contact details posted for interaction n: distinctive values
// the logs are searched for.
func candidate(n int) *client.Person {
	return &client.Person{
		Name:  fmt.Sprintf("Zelda Quixotefield %d", n),
		Email: fmt.Sprintf("zelda.quixotefield.%d@candidates.example", n),
		Phone: fmt.Sprintf("+1415555%04d", n%10000),
	}
}

// contactMarkers are substrings of every candidate() value.
var contactMarkers = []string{"Quixotefield", "quixotefield", "candidates.example", "+1415555"}

// interaction is the body of interaction n of application app. Every fourth one
// carries the candidate's contact details (each costs the projector several upserts,
// and a restart re-applies the recent log before serving).
func interaction(app string, n int, prefix string) client.Interaction {
	it := client.Interaction{
		ApplicationID: app,
		CandidateID:   "cand-" + app,
		Kind:          "message",
		Direction:     "outbound",
		Channel:       "email",
		OccurredAt:    time.Now().UTC().Add(-time.Hour),
		Source:        "proctest",
		ExternalID:    fmt.Sprintf("%s-%06d", prefix, n),
		RecruiterID:   "rec-1",
	}
	if n%4 == 0 {
		it.Candidate = candidate(n)
	}
	return it
}

// ack is an interaction the service answered 201 for.
type ack struct {
	ID  string
	App string
}

// postResult is a POST's outcome: status 0 means no answer.
type postResult struct {
	status int
	id     string
	dup    bool
}

func post(c *client.Client, it client.Interaction) postResult {
	res, err := c.PostInteraction(context.Background(), it)
	var refused *client.Error
	switch {
	case err == nil:
		return postResult{status: res.Status, id: res.Interactions[0].ID, dup: res.Interactions[0].Duplicate}
	case errors.As(err, &refused):
		return postResult{status: refused.Status}
	default:
		return postResult{} // no answer, or one that does not decode
	}
}

// load has `clients` clients post single interactions (spread over `apps`
// applications) until stop is closed or the service stops answering; it returns
// every interaction answered 201, by external id.
func load(t *testing.T, base string, clients, apps int, prefix string, stop <-chan struct{}) map[string]ack {
	t.Helper()
	var (
		mu    sync.Mutex
		acked = map[string]ack{}
		next  atomic.Int64
		wg    sync.WaitGroup
		other atomic.Int64
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := api(base)
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := int(next.Add(1))
				app := fmt.Sprintf("%s-app-%02d", prefix, n%apps)
				it := interaction(app, n, prefix)
				r := post(c, it)
				switch r.status {
				case http.StatusCreated:
					mu.Lock()
					acked[it.ExternalID] = ack{ID: r.id, App: app}
					mu.Unlock()
				case 0:
					return // the service is gone
				case http.StatusServiceUnavailable:
					// shutting down: not acknowledged
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := other.Load(); n > 0 {
		t.Errorf("%d posts answered neither 201 nor 503", n)
	}
	return acked
}

// api is a client of a process the tests started, with the admin key.
func api(base string) *client.Client {
	return client.New(base, adminKey, &http.Client{Timeout: 10 * time.Second})
}

// apiDo sends a request with the admin key (in as JSON unless nil) and decodes a 2xx
// answer into out (unless nil). It returns the status, 0 when nothing answered, and
// the client's error (a *client.Error names the service's problem).
func apiDo(t *testing.T, method, base, path string, in, out any) (int, error) {
	t.Helper()
	status, err := api(base).Do(context.Background(), method, path, in, out)
	var refused *client.Error
	switch {
	case errors.As(err, &refused):
		return refused.Status, err
	case err != nil && status != 0:
		t.Fatalf("%s %s: %v", method, path, err) // a 2xx that does not decode
	}
	return status, err
}

// apiGet GETs path with the admin key and decodes a 200 answer into v.
func apiGet(t *testing.T, base, path string, v any) int {
	t.Helper()
	st, err := apiDo(t, http.MethodGet, base, path, nil, v)
	if st == 0 {
		t.Fatalf("GET %s: %v", path, err)
	}
	return st
}

// stored pages through every stored interaction and returns them by external id.
// A stored duplicate of an external id fails the test.
func stored(t *testing.T, base string) map[string]ack {
	t.Helper()
	out := map[string]ack{}
	cursor := ""
	for {
		var page struct {
			Interactions []struct {
				ID            string `json:"id"`
				ApplicationID string `json:"application_id"`
				ExternalID    string `json:"external_id"`
			} `json:"interactions"`
			NextCursor string `json:"next_cursor"`
		}
		path := "/v1/interactions?limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if st := apiGet(t, base, path, &page); st != http.StatusOK {
			t.Fatalf("GET %s: %d", path, st)
		}
		for _, it := range page.Interactions {
			if prev, ok := out[it.ExternalID]; ok {
				t.Errorf("external id %s stored twice: %s and %s", it.ExternalID, prev.ID, it.ID)
			}
			out[it.ExternalID] = ack{ID: it.ID, App: it.ApplicationID}
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// checkAcknowledged checks that every acknowledged interaction is stored with the id
// it was acknowledged with, and returns the stored interactions.
func checkAcknowledged(t *testing.T, base string, acked map[string]ack) map[string]ack {
	t.Helper()
	got := stored(t, base)
	missing := 0
	for ext, a := range acked {
		s, ok := got[ext]
		switch {
		case !ok:
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged interaction %s (%s) is lost", ext, a.ID)
			}
		case s != a:
			t.Errorf("interaction %s stored as %+v, acknowledged as %+v", ext, s, a)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged interactions are lost", missing, len(acked))
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(got))
	return got
}

// checkTimelines polls each application's timeline until it lists exactly its stored
// interactions (the projector caught up), for up to 10 s in all.
func checkTimelines(t *testing.T, base string, got map[string]ack) {
	t.Helper()
	want := map[string][]string{}
	for ext, a := range got {
		want[a.App] = append(want[a.App], ext)
	}
	deadline := time.Now().Add(10 * time.Second)
	for app, exts := range want {
		slices.Sort(exts)
		var have []string
		for {
			var tl struct {
				Application struct {
					Interactions int `json:"interactions"`
				} `json:"application"`
				Interactions []struct {
					ExternalID string `json:"external_id"`
				} `json:"interactions"`
			}
			have = nil
			if apiGet(t, base, "/v1/applications/"+url.PathEscape(app)+"/timeline", &tl) == http.StatusOK {
				for _, it := range tl.Interactions {
					have = append(have, it.ExternalID)
				}
				slices.Sort(have)
				if tl.Application.Interactions != len(tl.Interactions) {
					have = append(have, fmt.Sprintf("(application counts %d)", tl.Application.Interactions))
				}
			}
			if cmp.Equal(exts, have) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if diff := cmp.Diff(exts, have); diff != "" {
			t.Errorf("timeline of %s (-stored +timeline):\n%s", app, diff)
		}
	}
}

// checkLogs checks that every line of a process's stderr is a JSON object and that
// no candidate contact detail appears in it.
func checkLogs(t *testing.T, name, stderr string) {
	t.Helper()
	lines := 0
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lines++
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("%s: log line is not a JSON object: %q", name, line)
		}
	}
	if lines == 0 {
		t.Errorf("%s: no log lines at all", name)
	}
	for _, m := range contactMarkers {
		if i := strings.Index(stderr, m); i >= 0 {
			t.Errorf("%s: the log contains a candidate's contact detail (%q): …%s…", name, m, stderr[max(0, i-80):min(len(stderr), i+80)])
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("goodwill version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "goodwill ") {
		t.Errorf("goodwill version printed %q, want \"goodwill <version>\"", out)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"version", "--help"}} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err != nil {
			t.Errorf("goodwill %s: %v\n%s", strings.Join(args, " "), err, out)
			continue
		}
		if !strings.Contains(string(out), "Usage:") {
			t.Errorf("goodwill %s printed no usage:\n%s", strings.Join(args, " "), out)
		}
	}
}

func TestServeBadConfigExits(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name    string
		env     []string
		wantVar string // the variable the message must name
	}{
		// A time zone that does not exist.
		{"timezone", []string{"GOODWILL_TIMEZONE=Mars/Olympus"}, "GOODWILL_TIMEZONE"},
		// An alerts mode that does not exist.
		{"alerts", []string{"GOODWILL_ALERTS=loud"}, "GOODWILL_ALERTS"},
		// A bootstrap key too short to be safe.
		{"bootstrap key", []string{"GOODWILL_BOOTSTRAP_KEY=gw_short"}, "GOODWILL_BOOTSTRAP_KEY"},
		// SMTP without the public URL its links need.
		{"public url", []string{"GOODWILL_SMTP_URL=smtp://mail.example.com:587", "GOODWILL_EMAIL_FROM=gw@example.com"}, "GOODWILL_PUBLIC_URL"},
		// An address something else already listens on.
		{"address in use", []string{"GOODWILL_ADDR=" + busy.Addr().String()}, "GOODWILL_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "serve")
			cmd.Env = environ(append([]string{"GOODWILL_DATA_DIR=" + t.TempDir(), "GOODWILL_ADDR=" + freeAddr(t)}, tt.env...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
				t.Fatalf("goodwill serve = %v, want a non-zero exit\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantVar) {
				t.Errorf("stderr does not name %s:\n%s", tt.wantVar, stderr.String())
			}
		})
	}
}

// TestKill9KeepsAcknowledgedWrites kills the process with SIGKILL while clients
// write: after a restart every interaction answered 201 is there, once, and derived
// state has caught up with the log.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	p := serve(t, dir)

	// The embedded store serves one process: a second one on the same directory stops.
	second := exec.Command(binary, "serve")
	second.Env = environ("GOODWILL_DATA_DIR="+dir, "GOODWILL_ADDR="+freeAddr(t))
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "GOODWILL_DATA_DIR") {
		t.Errorf("a second goodwill serve on the same data directory: %v, want an error naming GOODWILL_DATA_DIR\n%s", err, out)
	}

	stop := make(chan struct{})
	result := make(chan map[string]ack)
	go func() { result <- load(t, p.url, 16, 50, "k9", stop) }()
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	acked := <-result
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}

	p2 := serve(t, dir)
	got := checkAcknowledged(t, p2.url, acked)

	// Re-posting an acknowledged interaction is a duplicate of the original.
	c := api(p2.url)
	n := 0
	for ext, a := range acked {
		if n++; n > 5 {
			break
		}
		num, err := strconv.Atoi(strings.TrimPrefix(ext, "k9-"))
		if err != nil {
			t.Fatal(err)
		}
		r := post(c, interaction(a.App, num, "k9"))
		if r.status != http.StatusOK || !r.dup || r.id != a.ID {
			t.Errorf("re-post of %s: status %d duplicate %v id %s, want 200 duplicate %s", ext, r.status, r.dup, r.id, a.ID)
		}
	}

	checkTimelines(t, p2.url, got)
	checkLogs(t, "after kill -9", p.stderr.String())
	checkLogs(t, "restart", p2.stderr.String())
}

// TestSIGTERMDrains stops the process with SIGTERM while writes are in flight: it
// exits 0 within 10 s, and every write answered 201 is there after a restart.
func TestSIGTERMDrains(t *testing.T) {
	dir := t.TempDir()
	p := serve(t, dir)

	stop := make(chan struct{})
	result := make(chan map[string]ack)
	go func() { result <- load(t, p.url, 16, 20, "term", stop) }()
	time.Sleep(500 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signaled := time.Now()
	code := p.wait(10 * time.Second)
	t.Logf("exited %d, %s after SIGTERM", code, time.Since(signaled).Round(time.Millisecond))
	close(stop)
	acked := <-result
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, p.stderr)
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", p.stderr)
	}

	p2 := serve(t, dir)
	got := checkAcknowledged(t, p2.url, acked)
	checkTimelines(t, p2.url, got)
	checkLogs(t, "before SIGTERM", p.stderr.String())
	checkLogs(t, "restart", p2.stderr.String())
}
