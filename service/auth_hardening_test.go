package service_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// badKey is a well-formed key that no one has.
const badKey = "gw_not_a_key_of_anyone_0000000000000000000000"

// want429 checks a throttled answer: 429 with a whole number of seconds to wait.
func want429(t *testing.T, what string, status int, h http.Header) {
	t.Helper()
	if status != http.StatusTooManyRequests {
		t.Fatalf("%s: %d, want 429", what, status)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("%s: Retry-After %q, want whole seconds", what, h.Get("Retry-After"))
	}
}

// TestBearerFloodThrottled: an address sending more than 20 unknown keys a minute
// gets 429 with Retry-After; a valid key from the same address still gets its answer.
func TestBearerFloodThrottled(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	viewer := srv.NewKey(t, "admin", "")
	for i := 1; i <= 20; i++ {
		if r := srv.Do(t, http.MethodGet, "/v1/keys", badKey, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("bad key %d: %d, want 401", i, r.Status)
		}
	}
	r := srv.Do(t, http.MethodGet, "/v1/keys", badKey, nil)
	want429(t, "bad key 21", r.Status, r.Header)
	if r := srv.Do(t, http.MethodGet, "/v1/keys", viewer, nil); r.Status != http.StatusOK {
		t.Errorf("a valid key from the throttled address: %d, want 200", r.Status)
	}
}

// TestSignInFloodThrottled: failed sign-ins at POST /login, forged session cookies
// and bad Bearer keys on pages count towards the same throttle; an expired session
// cookie does not (a browser left open carries one).
func TestSignInFloodThrottled(t *testing.T) {
	t.Parallel()

	t.Run("sign-in form", func(t *testing.T) {
		t.Parallel()
		srv := servicetest.Start(t, nil, service.Options{})
		viewer := srv.NewKey(t, "viewer", "")
		b := newBrowser(t, srv)
		f := b.loginForm("")
		f.Set("api_key", badKey)
		for i := 1; i <= 20; i++ {
			if p := b.post("/login", f); p.Status != http.StatusUnauthorized {
				t.Fatalf("failed sign-in %d: %d, want 401", i, p.Status)
			}
		}
		p := b.post("/login", f)
		want429(t, "failed sign-in 21", p.Status, p.Header)
		if !strings.Contains(p.Body, "Too many") {
			t.Errorf("the browser's 429 page does not say why:\n%s", p.Body)
		}
		// A client that is not a browser gets a problem document.
		r := b.post("/login", f, "Accept", "*/*")
		want429(t, "not a browser", r.Status, r.Header)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("not a browser: Content-Type %q, want a problem document", ct)
		}
		// The right key still signs in.
		f.Set("api_key", viewer)
		if p := b.post("/login", f); p.Status != http.StatusSeeOther {
			t.Errorf("a valid sign-in from the throttled address: %d, want 303", p.Status)
		}
	})

	t.Run("bearer on pages", func(t *testing.T) {
		t.Parallel()
		srv := servicetest.Start(t, nil, service.Options{})
		for i := 1; i <= 20; i++ {
			if r := srv.Do(t, http.MethodGet, "/dashboard", badKey, nil); r.Status != http.StatusUnauthorized {
				t.Fatalf("bad key %d: %d, want 401", i, r.Status)
			}
		}
		r := srv.Do(t, http.MethodGet, "/dashboard", badKey, nil)
		want429(t, "bad key 21", r.Status, r.Header)
		if r := srv.Do(t, http.MethodGet, "/dashboard", servicetest.AdminKey, nil); r.Status != http.StatusOK {
			t.Errorf("a valid key from the throttled address: %d, want 200", r.Status)
		}
	})

	t.Run("session cookies", func(t *testing.T) {
		t.Parallel()
		var skew atomic.Int64
		srv := servicetest.Start(t, nil, service.Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
		viewer := srv.NewKey(t, "viewer", "")
		b := newBrowser(t, srv)
		f := b.loginForm("")
		f.Set("api_key", viewer)
		if p := b.post("/login", f); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		session := b.cookie("goodwill_session", "/")
		get := func(value string) (int, http.Header) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/dashboard", nil)
			req.Header.Set("Accept", "text/html")
			req.AddCookie(&http.Cookie{Name: "goodwill_session", Value: value})
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode, res.Header
		}
		// An expired session, however often, goes to the sign-in form.
		skew.Store(int64(13 * time.Hour))
		for i := 1; i <= 25; i++ {
			if status, _ := get(session); status != http.StatusSeeOther {
				t.Fatalf("expired session %d: %d, want 303 to the sign-in form", i, status)
			}
		}
		skew.Store(0)
		// Forged ones count: the 21st is refused.
		forged := session[:strings.LastIndexByte(session, '.')+1] + strings.Repeat("0", 64)
		for i := 1; i <= 20; i++ {
			if status, _ := get(forged); status != http.StatusSeeOther {
				t.Fatalf("forged session %d: %d, want 303", i, status)
			}
		}
		status, h := get(forged)
		want429(t, "forged session 21", status, h)
		// The real session still opens the page.
		if status, _ := get(session); status != http.StatusOK {
			t.Errorf("a valid session from the throttled address: %d, want 200", status)
		}
	})
}

// TestForwardedHeadersTrust: X-Forwarded-For and X-Forwarded-Proto count only from
// the addresses in GOODWILL_TRUSTED_PROXIES (none by default).
func TestForwardedHeadersTrust(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		proxies string // GOODWILL_TRUSTED_PROXIES; the test client is 127.0.0.1
		trusted bool
	}{
		// The default: no proxy is trusted.
		{"default", "", false},
		// Proxies elsewhere: this client is not one of them.
		{"other proxies", "10.0.0.0/8,fd00::/8", false},
		// This client is a trusted proxy.
		{"loopback trusted", "10.0.0.0/8, 127.0.0.0/8", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := servicetest.Start(t, map[string]string{"GOODWILL_TRUSTED_PROXIES": tc.proxies}, service.Options{})

			// X-Forwarded-Proto: https makes the cookies Secure only from a trusted proxy.
			b := newBrowser(t, srv)
			f := b.loginForm("")
			f.Set("api_key", servicetest.AdminKey)
			p := b.post("/login", f, "X-Forwarded-Proto", "https")
			c := setCookie(t, p.Header, "goodwill_session")
			if p.Status != http.StatusSeeOther || c == nil {
				t.Fatalf("sign in: %d, cookie %v", p.Status, c)
			}
			if c.Secure != tc.trusted {
				t.Errorf("X-Forwarded-Proto: https: session cookie Secure=%v, want %v", c.Secure, tc.trusted)
			}

			// X-Forwarded-For names the client only from a trusted proxy: 25 bad keys
			// "from" 25 addresses are 25 clients behind it, or one flooding client.
			throttled := false
			for i := 1; i <= 25; i++ {
				r := srv.Do(t, http.MethodGet, "/v1/keys", badKey, nil, "X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
				throttled = throttled || r.Status == http.StatusTooManyRequests
			}
			if throttled == tc.trusted {
				t.Errorf("25 bad keys with 25 X-Forwarded-For addresses: throttled=%v, want %v", throttled, !tc.trusted)
			}
			if tc.trusted {
				// Behind the proxy, one client flooding is throttled on its own.
				for i := 1; i <= 20; i++ {
					srv.Do(t, http.MethodGet, "/v1/keys", badKey, nil, "X-Forwarded-For", "198.51.100.7")
				}
				r := srv.Do(t, http.MethodGet, "/v1/keys", badKey, nil, "X-Forwarded-For", "198.51.100.7")
				want429(t, "one forwarded client's 21st bad key", r.Status, r.Header)
				r = srv.Do(t, http.MethodGet, "/v1/keys", badKey, nil, "X-Forwarded-For", "198.51.100.8")
				if r.Status != http.StatusUnauthorized {
					t.Errorf("another client behind the proxy: %d, want 401", r.Status)
				}
			}
		})
	}
}

// TestHostCookiesOverHTTPS: with an https public URL the cookies are
// __Host-goodwill_session and __Host-goodwill_login, Secure, Path=/; over plain http
// they keep their bare names.
func TestHostCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, map[string]string{"GOODWILL_PUBLIC_URL": "https://goodwill.example.com"}, service.Options{})
	send := func(method, path string, body url.Values, cookies ...*http.Cookie) (*http.Response, string) {
		t.Helper()
		return sendPage(t, srv, method, path, body, cookies...)
	}
	hostCookie := func(h http.Header, name string) *http.Cookie {
		t.Helper()
		c := setCookie(t, h, name)
		if c == nil {
			t.Fatalf("no %s cookie set", name)
		}
		if !c.Secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly {
			t.Errorf("%s: %+v, want Secure, Path=/, no Domain, HttpOnly", name, c)
		}
		return c
	}

	res, body := send(http.MethodGet, "/login", nil)
	login := hostCookie(res.Header, "__Host-goodwill_login")
	if setCookie(t, res.Header, "goodwill_login") != nil {
		t.Error("the bare goodwill_login cookie is set too")
	}
	m := regexp.MustCompile(`name="csrf_token" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", body)
	}
	res, _ = send(http.MethodPost, "/login", url.Values{"api_key": {servicetest.AdminKey}, "csrf_token": {m[1]}}, login)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	session := hostCookie(res.Header, "__Host-goodwill_session")
	if cleared := setCookie(t, res.Header, "__Host-goodwill_login"); cleared == nil || cleared.MaxAge >= 0 || cleared.Path != "/" {
		t.Errorf("the sign-in form's cookie is not cleared at Path=/: %+v", cleared)
	}
	if res, _ := send(http.MethodGet, "/dashboard", nil, session); res.StatusCode != http.StatusOK {
		t.Errorf("the __Host- session: %d, want 200", res.StatusCode)
	}
	// The bare name opens nothing here.
	if res, _ := send(http.MethodGet, "/dashboard", nil, &http.Cookie{Name: "goodwill_session", Value: session.Value}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the session under its bare name: %d, want 303 to the sign-in form", res.StatusCode)
	}

	// Over http the names are bare.
	plain := servicetest.Start(t, nil, service.Options{})
	p := newBrowser(t, plain).get("/login")
	if setCookie(t, p.Header, "goodwill_login") == nil || setCookie(t, p.Header, "__Host-goodwill_login") != nil {
		t.Errorf("over http: cookies %v, want goodwill_login", p.Header.Values("Set-Cookie"))
	}
}

// syncBuffer is a log sink that tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBootstrapKeyDeletedStaysDeleted: a bootstrap key deleted through the API does
// not come back when the service restarts with the same GOODWILL_BOOTSTRAP_KEY; each
// start logs a warning that it names a deleted key.
func TestBootstrapKeyDeletedStaysDeleted(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"GOODWILL_MONGODB_URI":   storagetest.URI(t),
		"GOODWILL_DB":            storagetest.DBName(t),
		"GOODWILL_BOOTSTRAP_KEY": servicetest.AdminKey,
		"GOODWILL_ADDR":          "127.0.0.1:0",
	}
	cfg, err := service.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	// start runs the service and returns its URL, its log and a function to stop it.
	start := func() (string, *syncBuffer, func()) {
		t.Helper()
		logs := &syncBuffer{}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := service.New(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})), service.Options{})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		hs := httptest.NewServer(s.Handler())
		return hs.URL, logs, func() {
			hs.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Close(ctx); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	}
	base, logs, stop := start()
	in := &servicetest.Instance{URL: base}
	other := in.NewKey(t, "admin", "") // a second admin, to delete the first with
	var keys struct {
		Keys []struct{ ID, Name string }
	}
	in.Do(t, http.MethodGet, "/v1/keys", other, nil).JSON(t, &keys)
	var bootstrapID string
	for _, k := range keys.Keys {
		if k.Name == "bootstrap" {
			bootstrapID = k.ID
		}
	}
	if bootstrapID == "" {
		t.Fatalf("no bootstrap key among %+v", keys.Keys)
	}
	if r := in.Do(t, http.MethodDelete, "/v1/keys/"+bootstrapID, other, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete the bootstrap key: %d %s", r.Status, r.Body)
	}
	if strings.Contains(logs.String(), "GOODWILL_BOOTSTRAP_KEY") {
		t.Errorf("the first start warned about the bootstrap key:\n%s", logs)
	}
	stop()

	for restart := 1; restart <= 2; restart++ {
		base, logs, stop := start()
		in := &servicetest.Instance{URL: base}
		if r := in.Do(t, http.MethodGet, "/v1/keys", servicetest.AdminKey, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("restart %d: the deleted bootstrap key answers %d, want 401", restart, r.Status)
		}
		if r := in.Do(t, http.MethodGet, "/v1/keys", other, nil); r.Status != http.StatusOK {
			t.Errorf("restart %d: the other admin key answers %d", restart, r.Status)
		}
		if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "GOODWILL_BOOTSTRAP_KEY names a deleted key") {
			t.Errorf("restart %d: no warning about the deleted bootstrap key; log:\n%s", restart, l)
		}
		stop()
	}
}
