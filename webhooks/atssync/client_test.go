package atssync

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// fakeAPI is an ATS API on loopback: answer decides each request's reply, by its
// number (1 for the first).
type fakeAPI struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func newFakeAPI(t *testing.T, answer func(n int64, w http.ResponseWriter, r *http.Request)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(f.calls.Add(1), w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// testClient is a Client of f under /v1 with fast retries.
func testClient(t *testing.T, f *fakeAPI, edit func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{Vendor: "test", BaseURL: f.srv.URL + "/v1/", Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Timeout: 2 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, c *Client, url string) (*http.Response, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body), nil
}

// TestClientRetryAfter: a 429 with Retry-After is waited out, then the request
// succeeds; the pause holds for the requests that follow, and nothing breaks.
func TestClientRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c := testClient(t, f, nil)
	start := time.Now()
	resp, body, err := get(t, c, f.srv.URL+"/v1/users")
	if err != nil || resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %v %q %v, want 200 ok", resp, body, err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("answered after %v: Retry-After 1 not waited", d)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestClientRateLimitHeaders: a window spent (X-RateLimit-Remaining: 0) delays the
// next request until X-RateLimit-Reset.
func TestClientRateLimitHeaders(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", "1")
		}
		_, _ = io.WriteString(w, "ok")
	})
	c := testClient(t, f, nil)
	if _, _, err := get(t, c, f.srv.URL+"/v1/a"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, _, err := get(t, c, f.srv.URL+"/v1/b"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("second request after %v: the spent window was not waited out", d)
	}
}

// TestClientPacing: requests go no faster than the configured rate.
func TestClientPacing(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	c := testClient(t, f, func(cfg *ClientConfig) { cfg.Rate, cfg.Burst = rate.Limit(20), 1 })
	start := time.Now()
	for range 6 {
		if _, _, err := get(t, c, f.srv.URL+"/v1/x"); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 240*time.Millisecond {
		t.Errorf("6 requests at 20/s took %v, want at least 250ms", d)
	}
}

// TestClientWindow: a burst lets requests go at once, but never more than PerWindow in
// any Window, concurrent callers included.
func TestClientWindow(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var at []time.Time
	f := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	})
	const perWindow, window = 5, 300 * time.Millisecond
	c := testClient(t, f, func(cfg *ClientConfig) {
		cfg.Rate, cfg.Burst, cfg.PerWindow, cfg.Window = rate.Limit(1000), 10, perWindow, window
	})
	start := time.Now()
	var wg sync.WaitGroup
	for range 11 {
		wg.Go(func() {
			if _, _, err := get(t, c, f.srv.URL+"/v1/x"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d < 2*window {
		t.Errorf("11 requests, at most %d every %v, took %v, want at least %v", perWindow, window, d, 2*window)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for i := perWindow; i < len(at); i++ {
		// The server sees a request a little after the client sent it: allow for that.
		if d := at[i].Sub(at[i-perWindow]); d < window-20*time.Millisecond {
			t.Errorf("requests %d and %d arrived %v apart: %d in less than %v", i-perWindow, i, d, perWindow+1, window)
		}
	}
}

// TestClientRetries5xx: server errors are retried with backoff until an answer, or
// until the attempts are spent (then the last answer is returned).
func TestClientRetries5xx(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c := testClient(t, f, nil)
	resp, body, err := get(t, c, f.srv.URL+"/v1/x")
	if err != nil || resp.StatusCode != 200 || body != "ok" || f.calls.Load() != 3 {
		t.Fatalf("got %v %q %v after %d requests, want 200 ok after 3", resp, body, err, f.calls.Load())
	}

	always := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	c = testClient(t, always, func(cfg *ClientConfig) { cfg.MaxAttempts = 3 })
	resp, _, err = get(t, c, always.srv.URL+"/v1/x")
	if err != nil || resp.StatusCode != http.StatusBadGateway || always.calls.Load() != 3 {
		t.Fatalf("got %v %v after %d requests, want 502 after 3", resp, err, always.calls.Load())
	}

	// A 4xx is the vendor's answer: not retried.
	bad := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	c = testClient(t, bad, nil)
	if resp, _, err = get(t, c, bad.srv.URL+"/v1/x"); err != nil || resp.StatusCode != 401 || bad.calls.Load() != 1 {
		t.Fatalf("got %v %v after %d requests, want 401 after 1", resp, err, bad.calls.Load())
	}
}

// TestClientTimeout: an answer slower than the timeout is abandoned and retried.
func TestClientTimeout(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c := testClient(t, f, func(cfg *ClientConfig) { cfg.Timeout = 200 * time.Millisecond })
	start := time.Now()
	resp, body, err := get(t, c, f.srv.URL+"/v1/x")
	if err != nil || resp.StatusCode != 200 || body != "ok" || f.calls.Load() != 2 {
		t.Fatalf("got %v %q %v after %d requests, want 200 ok after 2", resp, body, err, f.calls.Load())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: the slow answer was waited for", d)
	}

	// A body that trickles past the timeout counts as slow too.
	trickle := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "part")
		w.(http.Flusher).Flush()
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	c = testClient(t, trickle, func(cfg *ClientConfig) { cfg.Timeout, cfg.MaxAttempts = 200*time.Millisecond, 2 })
	if _, _, err := get(t, c, trickle.srv.URL+"/v1/x"); err == nil || trickle.calls.Load() != 2 {
		t.Errorf("trickling body: err %v after %d requests, want an error after 2", err, trickle.calls.Load())
	}
}

// TestClientBaseURL: nothing is sent outside the base URL, redirects included, and
// errors carry no query string (where credentials may be).
func TestClientBaseURL(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/redirect" {
			http.Redirect(w, r, "/admin", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c := testClient(t, f, nil)
	for _, u := range []string{
		f.srv.URL + "/v2/users",                                      // another path
		f.srv.URL + "/v1x/users",                                     // a prefix, not a folder
		f.srv.URL + "/v1/../admin",                                   // climbing out
		"http://example.invalid/v1/users",                            // another host
		strings.Replace(f.srv.URL, "http", "https", 1) + "/v1/users", // another scheme
		f.srv.URL + "/v1/redirect",                                   // redirected out
	} {
		if _, _, err := get(t, c, u); !errors.Is(err, ErrOutsideBase) {
			t.Errorf("%s: err %v, want ErrOutsideBase", u, err)
		}
	}
	if n := f.calls.Load(); n != 1 { // only the redirect's first hop
		t.Errorf("%d requests reached the server, want 1", n)
	}
	if _, _, err := get(t, c, f.srv.URL+"/v1/users?page=2"); err != nil {
		t.Errorf("under the base: %v", err)
	}

	f.srv.Close()
	_, _, err := get(t, testClient(t, f, func(cfg *ClientConfig) { cfg.MaxAttempts = 1 }), f.srv.URL+"/v1/users?api_key=s3cret")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v: want one without the query", err)
	}
}

// TestClientBodyLimit: a body over MaxBody is an error, not retried; one at the
// limit is read whole.
func TestClientBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		size := 1000
		if r.URL.Path == "/v1/big" {
			size = 1001
		}
		_, _ = io.WriteString(w, strings.Repeat("x", size))
	})
	c := testClient(t, f, func(cfg *ClientConfig) { cfg.MaxBody = 1000 })
	if _, _, err := get(t, c, f.srv.URL+"/v1/big"); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("1001 bytes: err %v, want ErrBodyTooLarge", err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (no retry)", n)
	}
	if _, body, err := get(t, c, f.srv.URL+"/v1/fits"); err != nil || len(body) != 1000 {
		t.Errorf("1000 bytes: %d read, %v", len(body), err)
	}
}
