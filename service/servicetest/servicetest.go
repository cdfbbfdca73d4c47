// Package servicetest starts a real goodwill server for tests: the same service.New
// the binary runs, on its own database of the test store, behind an httptest server.
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// AdminKey is the bootstrap admin key of every test server.
const AdminKey = "gw_test_admin_key_0123456789abcdef0123456789"

// Instance is a running test server.
type Instance struct {
	URL    string
	Server *service.Server
	Config service.Config
	HTTP   *httptest.Server

	opts    service.Options
	stopped bool
}

// SelfURL, as GOODWILL_PUBLIC_URL, stands for the test server's own URL (known only
// once it listens): what single sign-on's redirect URL needs.
const SelfURL = "http://servicetest.invalid"

// Start runs a server on a fresh database. env adds or overrides GOODWILL_* variables;
// opts sets the clock. The server stops when t ends.
func Start(t testing.TB, env map[string]string, opts service.Options) *Instance {
	t.Helper()
	vars := map[string]string{
		"GOODWILL_MONGODB_URI":   storagetest.URI(t),
		"GOODWILL_DB":            storagetest.DBName(t),
		"GOODWILL_BOOTSTRAP_KEY": AdminKey,
		"GOODWILL_ADDR":          "127.0.0.1:0",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := service.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return StartConfig(t, cfg, opts)
}

// StartConfig runs a server with a complete configuration.
func StartConfig(t testing.TB, cfg service.Config, opts service.Options) *Instance {
	t.Helper()
	in := launch(t, cfg, opts, true)
	t.Cleanup(func() { in.stop(t) })
	return in
}

// launch starts a server; with detecting, it returns once the SLA engine has every
// open clock in its schedule, as tests of a restarted store expect.
func launch(t testing.TB, cfg service.Config, opts service.Options, detecting bool) *Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	level := slog.LevelWarn
	if os.Getenv("GOODWILL_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	hs := httptest.NewUnstartedServer(nil)
	given := cfg
	if cfg.PublicURL == SelfURL {
		cfg.PublicURL = "http://" + hs.Listener.Addr().String()
	}
	s, err := service.New(ctx, cfg, log, opts)
	if err != nil {
		hs.Close()
		t.Fatalf("start server: %v", err)
	}
	hs.Config.Handler = s.Handler()
	hs.Start()
	for detecting && !s.Detecting() {
		if ctx.Err() != nil {
			hs.Close()
			_ = s.Close(context.Background())
			t.Fatalf("start server: the SLA engine did not rebuild its clocks within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &Instance{URL: hs.URL, Server: s, Config: given, HTTP: hs, opts: opts}
}

func (in *Instance) stop(t testing.TB) {
	if in.stopped {
		return
	}
	in.stopped = true
	in.HTTP.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := in.Server.Close(ctx); err != nil {
		t.Errorf("close server: %v", err)
	}
}

// Restart stops the server gracefully and starts a new one on the same database,
// as a redeploy would. The URL changes.
func (in *Instance) Restart(t testing.TB) {
	t.Helper()
	in.RestartAfter(t, func() {})
}

// RestartAfter is Restart calling between while the server is stopped, its store
// closed: a test may open the store then to look at or change what a stop left.
func (in *Instance) RestartAfter(t testing.TB, between func()) {
	t.Helper()
	in.stop(t)
	between()
	*in = *launch(t, in.Config, in.opts, true)
}

// RestartServing is Restart returning as soon as the new server answers, while its
// SLA engine may still be rebuilding the open clocks (/readyz says "detecting": false).
func (in *Instance) RestartServing(t testing.TB) {
	t.Helper()
	in.stop(t)
	*in = *launch(t, in.Config, in.opts, false)
}

// Response is an HTTP answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it cannot.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Do sends a request with the key (if any) and a body: []byte and string go as they
// are, anything else as JSON.
func (in *Instance) Do(t testing.TB, method, path, key string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, in.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// NewKey creates a key with the admin key and returns its secret.
func (in *Instance) NewKey(t testing.TB, role, recruiterID string) string {
	t.Helper()
	body := map[string]string{"name": role + " key", "role": role}
	if recruiterID != "" {
		body["recruiter_id"] = recruiterID
	}
	r := in.Do(t, http.MethodPost, "/v1/keys", AdminKey, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var k struct{ Key string }
	r.JSON(t, &k)
	return k.Key
}

// minWait is the least Eventually waits. How fast goodwill gets somewhere is measured
// by the benchmarks (make bench), not here: a wait only bounds how long a test hangs,
// and a loaded CI machine running every package at once needs several seconds at times.
const minWait = 15 * time.Second

// Eventually retries f until it returns true or the timeout (at least minWait) passes.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	timeout = max(timeout, minWait)
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
