package service_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// browser is a cookie-keeping client that does not follow redirects, like a browser
// seen one request at a time.
type browser struct {
	t   *testing.T
	srv *servicetest.Instance
	c   *http.Client
}

func newBrowser(t *testing.T, srv *servicetest.Instance) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, srv: srv, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is an answer to a page request, its HTML parsed.
type page struct {
	Status int
	Header http.Header
	Body   string
	Doc    *html.Node
}

// Location is the redirect's target.
func (p page) Location() string { return p.Header.Get("Location") }

func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") && (p.Status < 300 || p.Status >= 400) {
		if p.Doc, err = html.Parse(strings.NewReader(p.Body)); err != nil {
			b.t.Fatalf("%s %s: not HTML: %v", method, path, err)
		}
		checkAccessible(b.t, method+" "+path, p.Doc)
	}
	return p
}

func (b *browser) get(path string, headers ...string) page {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil, headers...)
}

func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	return b.do(http.MethodPost, path, form, headers...)
}

// cookie returns the browser's cookie of that name for path, or "".
func (b *browser) cookie(name, path string) string {
	u, _ := url.Parse(b.srv.URL + path)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// sendPage sends a browser's request without following redirects: Accept text/html,
// the form (if any) url-encoded, and the cookies by name and value only, as a browser
// sends them back. It returns the response and its body.
func sendPage(t *testing.T, srv *servicetest.Instance, method, path string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	var body io.Reader = http.NoBody
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// loginForm fetches the sign-in form (with next, if given) and returns its fields.
func (b *browser) loginForm(next string) url.Values {
	b.t.Helper()
	path := "/login"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	p := b.get(path)
	if p.Status != http.StatusOK {
		b.t.Fatalf("GET %s: %d %s", path, p.Status, p.Body)
	}
	return formFields(b.t, p.Doc, "login-form")
}

// signIn signs in with key and returns where the form led.
func (b *browser) signIn(key string) page {
	b.t.Helper()
	f := b.loginForm("")
	f.Set("api_key", key)
	return b.post("/login", f)
}

// signedIn returns a browser signed in with key.
func signedIn(t *testing.T, srv *servicetest.Instance, key string) *browser {
	t.Helper()
	b := newBrowser(t, srv)
	if p := b.signIn(key); p.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", p.Status, p.Body)
	}
	return b
}

// --- HTML helpers ---

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, name string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == name })
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func withAttr(name, value string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, name) == value }
}

func byID(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	found := findAll(doc, withAttr("id", id))
	if len(found) != 1 {
		t.Fatalf("%d elements with id %q", len(found), id)
	}
	return found[0]
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// formFields returns the named fields of a form as it would submit them.
func formFields(t *testing.T, doc *html.Node, formID string) url.Values {
	t.Helper()
	return fieldsOf(byID(t, doc, formID))
}

func fieldsOf(form *html.Node) url.Values {
	v := url.Values{}
	for _, in := range findAll(form, tag("input")) {
		if name := attr(in, "name"); name != "" {
			v.Add(name, attr(in, "value"))
		}
	}
	for _, sel := range findAll(form, tag("select")) {
		if opts := findAll(sel, tag("option")); len(opts) > 0 {
			v.Add(attr(sel, "name"), attr(opts[0], "value"))
		}
	}
	return v
}

// checkAccessible checks what a page must have for keyboards and screen readers: a
// language, a title, one h1 and no skipped heading level, a label for every visible
// field, a scope on every table header, a name on every button and link.
func checkAccessible(t *testing.T, where string, doc *html.Node) {
	t.Helper()
	if h := findAll(doc, tag("html")); len(h) != 1 || attr(h[0], "lang") == "" {
		t.Errorf("%s: no <html lang>", where)
	}
	if len(findAll(doc, tag("title"))) == 0 {
		t.Errorf("%s: no <title>", where)
	}
	level := 0
	h1 := 0
	for _, h := range findAll(doc, func(n *html.Node) bool {
		return len(n.Data) == 2 && n.Data[0] == 'h' && n.Data[1] >= '1' && n.Data[1] <= '6'
	}) {
		l := int(h.Data[1] - '0')
		if l == 1 {
			h1++
		}
		if l > level+1 {
			t.Errorf("%s: <%s> %q follows h%d", where, h.Data, textOf(h), level)
		}
		level = l
	}
	if h1 != 1 {
		t.Errorf("%s: %d <h1>", where, h1)
	}
	labels := map[string]bool{}
	for _, l := range findAll(doc, tag("label")) {
		labels[attr(l, "for")] = true
	}
	for _, f := range findAll(doc, func(n *html.Node) bool {
		return (n.Data == "input" && attr(n, "type") != "hidden") || n.Data == "select" || n.Data == "textarea"
	}) {
		if id := attr(f, "id"); id == "" || !labels[id] {
			t.Errorf("%s: field %q has no label", where, attr(f, "name"))
		}
	}
	for _, th := range findAll(doc, tag("th")) {
		if s := attr(th, "scope"); s != "col" && s != "row" {
			t.Errorf("%s: <th> %q has no scope", where, textOf(th))
		}
	}
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "button" || n.Data == "a" }) {
		if textOf(n) == "" && attr(n, "aria-label") == "" {
			t.Errorf("%s: a <%s> without a name", where, n.Data)
		}
	}
	ids := map[string]bool{}
	for _, n := range findAll(doc, func(n *html.Node) bool { return attr(n, "id") != "" }) {
		if ids[attr(n, "id")] {
			t.Errorf("%s: id %q is used twice", where, attr(n, "id"))
		}
		ids[attr(n, "id")] = true
	}
}

// setCookie returns the Set-Cookie of that name in a response.
func setCookie(t *testing.T, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// --- sign-in ---

// TestPagesLogin: the sign-in form's outcomes, its cookie, and where it leads.
func TestPagesLogin(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	keys := map[string]string{
		"admin":     servicetest.AdminKey,
		"viewer":    srv.NewKey(t, "viewer", ""),
		"recruiter": srv.NewKey(t, "recruiter", "rec-login"),
		"ingest":    srv.NewKey(t, "ingest", ""),
	}
	for _, tc := range []struct {
		name       string
		key, next  string
		form       func(url.Values) // changes the form before it is sent
		status     int
		location   string // for 303
		errorMatch string // the form's message otherwise
	}{
		// Each role lands on its page.
		{name: "viewer", key: "viewer", status: 303, location: "/dashboard"},
		{name: "admin", key: "admin", status: 303, location: "/dashboard"},
		{name: "recruiter", key: "recruiter", status: 303, location: "/queue"},
		// next is honoured when it is a path here.
		{name: "next", key: "admin", next: "/queue?recruiter=a", status: 303, location: "/queue?recruiter=a"},
		// Anything that could lead elsewhere is not.
		{name: "next other host", key: "admin", next: "//evil.example/x", status: 303, location: "/dashboard"},
		{name: "next absolute", key: "admin", next: "https://evil.example/", status: 303, location: "/dashboard"},
		{name: "next backslash", key: "admin", next: `/\evil.example`, status: 303, location: "/dashboard"},
		{name: "next tab", key: "admin", next: "/\t/evil.example", status: 303, location: "/dashboard"},
		{name: "next scheme", key: "admin", next: "javascript:alert(1)", status: 303, location: "/dashboard"},
		{name: "next sign-in", key: "viewer", next: "/login", status: 303, location: "/dashboard"},
		// A next smuggled into the form directly is checked the same way.
		{name: "next in form", key: "viewer", form: func(v url.Values) { v.Set("next", "//evil.example") }, status: 303, location: "/dashboard"},
		// Bad input shows the form again with a message.
		{name: "wrong key", key: "gw_not_a_key_0000000000000000000000000", status: 401, errorMatch: "not valid"},
		{name: "no key", key: "", status: 400, errorMatch: "Enter your API key"},
		{name: "ingest key", key: "ingest", status: 403, errorMatch: "cannot sign in"},
		// CSRF: the token must be there, and match this browser's cookie.
		{name: "no token", key: "admin", form: func(v url.Values) { v.Del("csrf_token") }, status: 403, errorMatch: "expired"},
		{name: "wrong token", key: "admin", form: func(v url.Values) { v.Set("csrf_token", strings.Repeat("0", 64)) }, status: 403, errorMatch: "expired"},
		{name: "another browser's token", key: "admin", form: func(v url.Values) {
			v.Set("csrf_token", newBrowser(t, srv).loginForm("").Get("csrf_token"))
		}, status: 403, errorMatch: "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, srv)
			f := b.loginForm(tc.next)
			if tc.next != "" && (tc.location == tc.next) != (f.Get("next") == tc.next) {
				t.Errorf("the form carries next %q", f.Get("next"))
			}
			key := tc.key
			if k, ok := keys[key]; ok {
				key = k
			}
			f.Set("api_key", key)
			if tc.form != nil {
				tc.form(f)
			}
			p := b.post("/login", f)
			if p.Status != tc.status {
				t.Fatalf("POST /login: %d, want %d: %s", p.Status, tc.status, p.Body)
			}
			session := setCookie(t, p.Header, "goodwill_session")
			if tc.status != http.StatusSeeOther {
				if session != nil {
					t.Errorf("a failed sign-in set a session: %v", session)
				}
				msg := byID(t, p.Doc, "login-error")
				if !strings.Contains(textOf(msg), tc.errorMatch) || attr(msg, "role") != "alert" {
					t.Errorf("message %q (role %q), want one with %q", textOf(msg), attr(msg, "role"), tc.errorMatch)
				}
				if key != "" && strings.Contains(p.Body, key) {
					t.Error("the form shows the key again")
				}
				if attr(byID(t, p.Doc, "api_key"), "aria-invalid") != "true" {
					t.Error("the key field is not marked invalid")
				}
				return
			}
			if p.Location() != tc.location {
				t.Errorf("redirect to %q, want %q", p.Location(), tc.location)
			}
			if session == nil {
				t.Fatal("no session cookie")
			}
			if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure ||
				session.MaxAge != int((12*time.Hour).Seconds()) {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure over http, 12 h", session)
			}
			if got := b.get(tc.location); got.Status != http.StatusOK {
				t.Errorf("GET %s after signing in: %d", tc.location, got.Status)
			}
		})
	}

	// Over HTTPS (here: a trusted proxy that says so) the cookies are Secure.
	proxied := servicetest.Start(t, map[string]string{"GOODWILL_TRUSTED_PROXIES": "127.0.0.1"}, service.Options{})
	b := newBrowser(t, proxied)
	f := b.loginForm("")
	f.Set("api_key", servicetest.AdminKey)
	p := b.post("/login", f, "X-Forwarded-Proto", "https")
	if c := setCookie(t, p.Header, "goodwill_session"); p.Status != http.StatusSeeOther || c == nil || !c.Secure {
		t.Errorf("over https: %d, cookie %+v: want Secure", p.Status, c)
	}
	// From an address that is no trusted proxy, X-Forwarded-Proto counts for nothing.
	b = newBrowser(t, srv)
	f = b.loginForm("")
	f.Set("api_key", keys["viewer"])
	p = b.post("/login", f, "X-Forwarded-Proto", "https")
	if c := setCookie(t, p.Header, "goodwill_session"); p.Status != http.StatusSeeOther || c == nil || c.Secure {
		t.Errorf("X-Forwarded-Proto from an untrusted address: %d, cookie %+v: want not Secure", p.Status, c)
	}

	// A client that is not a browser signs in without a redirect.
	b = newBrowser(t, srv)
	f = b.loginForm("")
	f.Set("api_key", keys["viewer"])
	p = b.post("/login", f, "Accept", "*/*")
	if c := setCookie(t, p.Header, "goodwill_session"); p.Status != http.StatusNoContent || c == nil {
		t.Errorf("not a browser: %d, cookie %+v", p.Status, c)
	}
	if p := b.get("/dashboard"); p.Status != http.StatusOK {
		t.Errorf("its session: %d", p.Status)
	}

	// The form's own cookie is HttpOnly and SameSite=Strict, for /login only.
	p = newBrowser(t, srv).get("/login")
	if c := setCookie(t, p.Header, "goodwill_login"); c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/login" {
		t.Errorf("login form cookie %+v", c)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
		if p.Header.Get(h) == "" {
			t.Errorf("the page has no %s", h)
		}
	}
	if p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", p.Header.Get("Cache-Control"))
	}
}

// TestPagesSession: a session ends when its key is deleted, when it expires, when it
// is tampered with, and on sign-out (which needs its CSRF token).
func TestPagesSession(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	srv := servicetest.Start(t, nil, service.Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	viewer := srv.NewKey(t, "viewer", "")

	// A page without a session goes to the sign-in form, and comes back after it.
	b := newBrowser(t, srv)
	p := b.get("/dashboard?from=2026-01-01&to=2026-01-31")
	if p.Status != http.StatusSeeOther || p.Location() != "/login?next=%2Fdashboard%3Ffrom%3D2026-01-01%26to%3D2026-01-31" {
		t.Fatalf("without a session: %d to %q", p.Status, p.Location())
	}
	f := b.loginForm("/dashboard?from=2026-01-01&to=2026-01-31")
	f.Set("api_key", viewer)
	if p := b.post("/login", f); p.Location() != "/dashboard?from=2026-01-01&to=2026-01-31" {
		t.Fatalf("after signing in: %d to %q", p.Status, p.Location())
	}
	if p := b.get("/dashboard"); p.Status != http.StatusOK {
		t.Fatalf("dashboard: %d", p.Status)
	}

	// A tampered cookie is no session.
	forged := newBrowser(t, srv)
	u, _ := url.Parse(srv.URL)
	value := b.cookie("goodwill_session", "/")
	forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "goodwill_session", Value: value[:len(value)-1] + "0", Path: "/"}})
	if value[len(value)-1] == '0' {
		forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "goodwill_session", Value: value[:len(value)-1] + "1", Path: "/"}})
	}
	if p := forged.get("/dashboard"); p.Status != http.StatusSeeOther {
		t.Errorf("a tampered session: %d", p.Status)
	}
	// Nor is one whose expiry was pushed out (the signature covers it).
	parts := strings.Split(value, ".")
	parts[1] = strconv.FormatInt(time.Now().Add(100*time.Hour).Unix(), 10)
	forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "goodwill_session", Value: strings.Join(parts, "."), Path: "/"}})
	if p := forged.get("/dashboard"); p.Status != http.StatusSeeOther {
		t.Errorf("a session with a forged expiry: %d", p.Status)
	}

	// Sign-out needs the session's token; then the session is gone.
	if p := b.post("/logout", url.Values{}); p.Status != http.StatusForbidden {
		t.Errorf("sign-out without a token: %d", p.Status)
	}
	if p := b.post("/logout", url.Values{"csrf_token": {strings.Repeat("a", 64)}}); p.Status != http.StatusForbidden {
		t.Errorf("sign-out with a wrong token: %d", p.Status)
	}
	dash := b.get("/dashboard")
	if dash.Status != http.StatusOK {
		t.Fatalf("a refused sign-out ended the session: %d", dash.Status)
	}
	other := signedIn(t, srv, viewer) // another browser of the same key
	p = b.post("/logout", formFields(t, dash.Doc, "logout-form"))
	if p.Status != http.StatusSeeOther || p.Location() != "/login?signed_out=1" {
		t.Fatalf("sign-out: %d to %q", p.Status, p.Location())
	}
	if c := setCookie(t, p.Header, "goodwill_session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out does not clear the cookie: %+v", c)
	}
	if p := b.get("/dashboard"); p.Status != http.StatusSeeOther {
		t.Errorf("after signing out: %d", p.Status)
	}
	// A copy of the signed-out cookie opens nothing either; the key's other sessions
	// go on.
	copied := newBrowser(t, srv)
	copied.c.Jar.SetCookies(u, []*http.Cookie{{Name: "goodwill_session", Value: value, Path: "/"}})
	if p := copied.get("/dashboard"); p.Status != http.StatusSeeOther {
		t.Errorf("a copy of the signed-out session's cookie: %d", p.Status)
	}
	if p := other.get("/dashboard"); p.Status != http.StatusOK {
		t.Errorf("signing out ended another session of the key: %d", p.Status)
	}
	if p := b.get("/login?signed_out=1"); !strings.Contains(textOf(byID(t, p.Doc, "login-notice")), "signed out") {
		t.Error("the sign-in form does not say the browser signed out")
	}

	// Deleting the key ends its sessions at once.
	key := srv.NewKey(t, "recruiter", "rec-session")
	b = signedIn(t, srv, key)
	if p := b.get("/queue"); p.Status != http.StatusOK {
		t.Fatalf("queue: %d", p.Status)
	}
	var list struct {
		Keys []struct{ ID, Role, RecruiterID string } `json:"keys"`
	}
	srv.Do(t, http.MethodGet, "/v1/keys", servicetest.AdminKey, nil).JSON(t, &list)
	for _, k := range list.Keys {
		if k.Role == "recruiter" {
			if r := srv.Do(t, http.MethodDelete, "/v1/keys/"+k.ID, servicetest.AdminKey, nil); r.Status != http.StatusNoContent {
				t.Fatalf("delete key: %d", r.Status)
			}
		}
	}
	p = b.get("/queue")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), "/login") {
		t.Fatalf("a deleted key's session: %d to %q", p.Status, p.Location())
	}
	if c := setCookie(t, p.Header, "goodwill_session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("the dead session's cookie is not cleared: %+v", c)
	}
	if p := b.post("/queue/ack", url.Values{"alert_id": {"x"}}); p.Status != http.StatusSeeOther {
		t.Errorf("a deleted key's session posts: %d", p.Status)
	}

	// A session lasts 12 hours.
	b = signedIn(t, srv, viewer)
	skew.Store(int64(11 * time.Hour))
	if p := b.get("/dashboard"); p.Status != http.StatusOK {
		t.Errorf("after 11 h: %d", p.Status)
	}
	skew.Store(int64(12*time.Hour + time.Minute))
	if p := b.get("/dashboard"); p.Status != http.StatusSeeOther {
		t.Errorf("after 12 h: %d", p.Status)
	}
}

// TestPagesRoleMatrix: who may see which page, by Bearer key and by session.
func TestPagesRoleMatrix(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	keys := map[string]string{
		"admin":     servicetest.AdminKey,
		"viewer":    srv.NewKey(t, "viewer", ""),
		"recruiter": srv.NewKey(t, "recruiter", "rec-matrix"),
		"ingest":    srv.NewKey(t, "ingest", ""),
		"unknown":   "gw_unknown_key_000000000000000000000000000",
		"none":      "",
	}
	sessions := map[string]*browser{}
	for _, role := range []string{"admin", "viewer", "recruiter"} {
		sessions[role] = signedIn(t, srv, keys[role])
	}
	for _, tc := range []struct {
		method, path string
		allowed      []string
	}{
		{"GET", "/dashboard", []string{"admin", "viewer", "recruiter"}},
		{"GET", "/queue", []string{"admin", "recruiter"}},
		{"POST", "/queue/ack", []string{"admin", "recruiter"}},
		{"POST", "/queue/reply", []string{"admin", "recruiter"}},
	} {
		for role, key := range keys {
			t.Run(tc.method+" "+tc.path+" as "+role+" by Bearer", func(t *testing.T) {
				b := newBrowser(t, srv)
				var headers []string
				if key != "" {
					headers = []string{"Authorization", "Bearer " + key}
				}
				var form url.Values
				if tc.method == "POST" {
					form = url.Values{"alert_id": {"nope"}, "application_id": {"nope"}, "channel": {"email"}, "nonce": {strings.Repeat("ab", 16)}}
				}
				p := b.do(tc.method, tc.path, form, headers...)
				switch {
				case role == "none":
					if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), "/login") {
						t.Fatalf("%d to %q, want the sign-in form", p.Status, p.Location())
					}
				case role == "unknown":
					if p.Status != http.StatusUnauthorized || p.Doc == nil {
						t.Fatalf("%d %s, want a 401 page", p.Status, p.Header.Get("Content-Type"))
					}
				case slices.Contains(tc.allowed, role):
					if p.Status >= 500 || p.Status == http.StatusUnauthorized || p.Status == http.StatusForbidden {
						t.Fatalf("%d, want allowed: %s", p.Status, p.Body)
					}
				default:
					if p.Status != http.StatusForbidden || p.Doc == nil {
						t.Fatalf("%d %s, want a 403 page", p.Status, p.Header.Get("Content-Type"))
					}
					if msg := textOf(byID(t, p.Doc, "error-message")); !strings.Contains(msg, role) {
						t.Errorf("the page says %q", msg)
					}
				}
			})
		}
		for role, b := range sessions {
			if tc.method != "GET" {
				continue
			}
			t.Run(tc.method+" "+tc.path+" as "+role+" by session", func(t *testing.T) {
				p := b.get(tc.path)
				want := http.StatusForbidden
				if slices.Contains(tc.allowed, role) {
					want = http.StatusOK
				}
				if p.Status != want {
					t.Fatalf("%d, want %d", p.Status, want)
				}
				// The navigation offers what the role may use.
				for _, nav := range []struct{ id, path string }{{"nav-dashboard", "/dashboard"}, {"nav-queue", "/queue"}} {
					allowed := nav.path == "/dashboard" || role != "viewer"
					if got := len(findAll(p.Doc, withAttr("id", nav.id))) == 1; got != allowed {
						t.Errorf("navigation link %s shown: %v", nav.path, got)
					}
				}
			})
		}
	}

	// A client that asks for JSON gets the API's problem documents.
	r := srv.Do(t, http.MethodGet, "/queue", keys["viewer"], nil, "Accept", "application/json")
	if r.Status != http.StatusForbidden || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("JSON client: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	// A client that is not a browser gets 401 rather than the sign-in form.
	if r := srv.Do(t, http.MethodGet, "/dashboard", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("no key, not a browser: %d", r.Status)
	}
}

// TestPagesStatic: assets are embedded and cached by their content hash.
func TestPagesStatic(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	b := newBrowser(t, srv)
	login := b.get("/login")
	var href string
	for _, l := range findAll(login.Doc, tag("link")) {
		if attr(l, "rel") == "stylesheet" {
			href = attr(l, "href")
		}
	}
	if !strings.HasPrefix(href, "/static/style.css?v=") {
		t.Fatalf("stylesheet %q", href)
	}
	p := b.get(href)
	if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(p.Header.Get("Cache-Control"), "immutable") || !strings.Contains(p.Body, ":focus-visible") {
		t.Fatalf("GET %s: %d %s %q", href, p.Status, p.Header.Get("Content-Type"), p.Header.Get("Cache-Control"))
	}
	if p := b.get("/static/style.css", "If-None-Match", p.Header.Get("ETag")); p.Status != http.StatusNotModified {
		t.Errorf("revalidation: %d", p.Status)
	}
	if p := b.get("/static/style.css?v=old"); p.Status != http.StatusOK || strings.Contains(p.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("a stale version: %d %q", p.Status, p.Header.Get("Cache-Control"))
	}
	if p := b.get("/static/nope.js"); p.Status != http.StatusNotFound {
		t.Errorf("unknown asset: %d", p.Status)
	}
}

// --- the queue ---

// queueScenario: a manager (rec-boss) with a report (rec-rep) and an outsider
// (rec-out), each with a candidate whose first response breaches in 2 s.
func queueScenario(t *testing.T) (*servicetest.Instance, map[string]string) {
	t.Helper()
	srv := servicetest.Start(t, nil, service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{
		"name": "fast", "metric": "first_response", "target": "2s", "calendar": "24x7", "warn_ratio": 0.5, "enabled": true,
	}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	for id, body := range map[string]string{
		"rec-boss": `{"name":"Bo Boss"}`,
		"rec-rep":  `{"name":"Ren Report","manager_id":"rec-boss"}`,
		"rec-out":  `{"name":"Oz Outsider"}`,
	} {
		if r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+id, servicetest.AdminKey, body); r.Status >= 300 {
			t.Fatalf("recruiter %s: %d %s", id, r.Status, r.Body)
		}
	}
	candidates := map[string]string{"q-boss": "Ada Lovelace", "q-rep": "Grace Hopper", "q-out": "Alan Turing"}
	owners := map[string]string{"q-boss": "rec-boss", "q-rep": "rec-rep", "q-out": "rec-out"}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for app, name := range candidates {
		in := interaction(app, "ext-"+app)
		in["occurred_at"] = now
		in["recruiter_id"] = owners[app]
		in["job_id"] = "job-" + app
		in["candidate"] = map[string]string{"name": name, "email": strings.ToLower(strings.Fields(name)[1]) + "@example.com"}
		in["job"] = map[string]string{"title": "Engineer " + app}
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
	}
	servicetest.Eventually(t, 10*time.Second, "three breach alerts", func() bool {
		return len(listAlerts(t, srv, "level=breached")) == 3
	})
	return srv, candidates
}

// queueRows returns the rows of a queue table by application id.
func queueRows(t *testing.T, p page, table string) map[string]*html.Node {
	t.Helper()
	out := map[string]*html.Node{}
	sec := byID(t, p.Doc, table)
	for _, tr := range findAll(sec, withAttr("data-testid", "queue-row")) {
		out[attr(tr, "data-application-id")] = tr
	}
	return out
}

func cell(t *testing.T, row *html.Node, field string) *html.Node {
	t.Helper()
	found := findAll(row, withAttr("data-field", field))
	if len(found) != 1 {
		t.Fatalf("%d cells %q in the row", len(found), field)
	}
	return found[0]
}

// TestPagesQueue: a manager's queue shows their and their report's overdue
// candidates, not others'; its forms acknowledge and log replies, with CSRF.
func TestPagesQueue(t *testing.T) {
	t.Parallel()
	srv, names := queueScenario(t)
	boss := srv.NewKey(t, "recruiter", "rec-boss")
	b := signedIn(t, srv, boss)

	p := b.get("/queue")
	if p.Status != http.StatusOK {
		t.Fatalf("queue: %d %s", p.Status, p.Body)
	}
	rows := queueRows(t, p, "overdue")
	if len(rows) != 2 || rows["q-boss"] == nil || rows["q-rep"] == nil {
		t.Fatalf("overdue rows %v, want q-boss and q-rep", rows)
	}
	if strings.Contains(p.Body, names["q-out"]) {
		t.Error("the queue shows another team's candidate")
	}
	row := rows["q-boss"]
	for field, want := range map[string]string{
		"candidate_name": names["q-boss"], "job": "Engineer q-boss", "recruiter": "Bo Boss", "metric": "First response",
	} {
		if got := textOf(cell(t, row, field)); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if s, err := strconv.Atoi(attr(cell(t, row, "overdue_seconds"), "data-value")); err != nil || s < 0 {
		t.Errorf("overdue_seconds %q", attr(cell(t, row, "overdue_seconds"), "data-value"))
	}
	alertID := attr(row, "data-alert-id")
	if alertID == "" {
		t.Fatal("the row has no alert to acknowledge")
	}

	// Acknowledge: without the token, with a wrong one, then as the form sends it.
	ack := fieldsOf(findAll(row, withAttr("data-testid", "ack-form"))[0])
	for name, mutate := range map[string]func(url.Values){
		"no token":    func(v url.Values) { v.Del("csrf_token") },
		"wrong token": func(v url.Values) { v.Set("csrf_token", strings.Repeat("0", 64)) },
	} {
		v := url.Values{}
		for k, vs := range ack {
			v[k] = slices.Clone(vs)
		}
		mutate(v)
		if p := b.post("/queue/ack", v); p.Status != http.StatusForbidden {
			t.Errorf("ack with %s: %d", name, p.Status)
		}
	}
	if a, _ := alertOf(t, srv, "q-boss", "breached"); a.State != "open" {
		t.Fatalf("the refused forms changed the alert: %s", a.State)
	}
	p = b.post("/queue/ack", ack)
	if p.Status != http.StatusSeeOther || p.Location() != "/queue?notice=acknowledged" {
		t.Fatalf("ack: %d to %q: %s", p.Status, p.Location(), p.Body)
	}
	if a, _ := alertOf(t, srv, "q-boss", "breached"); a.State != "acknowledged" {
		t.Errorf("alert %s, want acknowledged", a.State)
	}
	if w, ok := alertOf(t, srv, "q-boss", "warning"); ok && w.State != "acknowledged" && w.State != "resolved" {
		t.Errorf("the clock's warning alert is %s", w.State)
	}
	p = b.get(p.Location())
	if n := byID(t, p.Doc, "queue-notice"); !strings.Contains(textOf(n), "Acknowledged") || attr(n, "role") != "status" {
		t.Errorf("notice %q", textOf(n))
	}
	if attr(queueRows(t, p, "overdue")["q-boss"], "data-alert-id") != "" {
		t.Error("the acknowledged row still offers Acknowledge")
	}
	// Another team's alert is not found.
	out, _ := alertOf(t, srv, "q-out", "breached")
	p = b.post("/queue/ack", url.Values{"csrf_token": ack["csrf_token"], "alert_id": {out.ID}})
	if p.Status != http.StatusNotFound || !strings.Contains(textOf(byID(t, p.Doc, "queue-notice")), "not in your queue") {
		t.Errorf("another team's alert: %d", p.Status)
	}
	if a, _ := alertOf(t, srv, "q-out", "breached"); a.State != "open" {
		t.Errorf("another team's alert is %s", a.State)
	}

	// Log a reply: the token is checked, the interaction is the caller's, and the
	// clock leaves the queue.
	reply := fieldsOf(findAll(queueRows(t, p, "overdue")["q-rep"], withAttr("data-testid", "reply-form"))[0])
	reply.Set("channel", "sms")
	bad := url.Values{}
	for k, vs := range reply {
		bad[k] = slices.Clone(vs)
	}
	bad.Del("csrf_token")
	if p := b.post("/queue/reply", bad); p.Status != http.StatusForbidden {
		t.Errorf("reply without a token: %d", p.Status)
	}
	bad.Set("csrf_token", reply.Get("csrf_token"))
	bad.Set("channel", "pigeon")
	if p := b.post("/queue/reply", bad); p.Status != http.StatusBadRequest || !strings.Contains(textOf(byID(t, p.Doc, "queue-notice")), "Choose how you replied") {
		t.Errorf("reply by pigeon: %d", p.Status)
	}
	p = b.post("/queue/reply", reply)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), "/queue?notice=reply-") {
		t.Fatalf("reply: %d to %q: %s", p.Status, p.Location(), p.Body)
	}
	replies := func() []map[string]any {
		var out struct{ Interactions []map[string]any }
		srv.Do(t, http.MethodGet, "/v1/interactions?application_id=q-rep&kind=message", servicetest.AdminKey, nil).JSON(t, &out)
		return out.Interactions
	}
	got := replies()
	if len(got) != 1 || got[0]["direction"] != "outbound" || got[0]["channel"] != "sms" || got[0]["actor_id"] != "rec-boss" {
		t.Fatalf("stored replies %v", got)
	}
	servicetest.Eventually(t, 3*time.Second, "the replied row to leave the queue", func() bool {
		return queueRows(t, b.get("/queue"), "overdue")["q-rep"] == nil
	})
	// The same form sent again stores nothing more.
	if p := b.post("/queue/reply", reply); p.Location() != "/queue?notice=reply-kept" {
		t.Errorf("the form again: %d to %q", p.Status, p.Location())
	}
	if n := len(replies()); n != 1 {
		t.Errorf("%d replies after a double submit", n)
	}
	// Another team's application is not found, and nothing is stored.
	reply.Set("application_id", "q-out")
	reply.Set("nonce", strings.Repeat("cd", 16))
	if p := b.post("/queue/reply", reply); p.Status != http.StatusNotFound {
		t.Errorf("reply to another team's candidate: %d", p.Status)
	}

	// A Bearer request needs no token; admin sees every team.
	admin := newBrowser(t, srv)
	p = admin.get("/queue", "Authorization", "Bearer "+servicetest.AdminKey)
	if rows := queueRows(t, p, "overdue"); rows["q-out"] == nil {
		t.Fatalf("admin's queue %v lacks q-out", rows)
	}
	p = admin.post("/queue/ack", url.Values{"alert_id": {out.ID}}, "Authorization", "Bearer "+servicetest.AdminKey)
	if p.Status != http.StatusSeeOther {
		t.Errorf("Bearer ack: %d %s", p.Status, p.Body)
	}
	if a, _ := alertOf(t, srv, "q-out", "breached"); a.State != "acknowledged" {
		t.Errorf("Bearer ack left the alert %s", a.State)
	}
	// The filter narrows the queue.
	p = admin.get("/queue?recruiter=rec-out", "Authorization", "Bearer "+servicetest.AdminKey)
	if rows := queueRows(t, p, "overdue"); len(rows) != 1 || rows["q-out"] == nil {
		t.Errorf("filtered queue %v", rows)
	}

	// A viewer sees no candidate anywhere.
	viewer := signedIn(t, srv, srv.NewKey(t, "viewer", ""))
	for _, path := range []string{"/dashboard", "/dashboard?recruiter=rec-boss", "/queue"} {
		p := viewer.get(path)
		for _, name := range names {
			if strings.Contains(p.Body, name) || strings.Contains(p.Body, "@example.com") {
				t.Errorf("GET %s as a viewer shows %s", path, name)
			}
		}
	}
}

// --- the dashboard ---

// apiScores calls GET /v1/scores and returns its groups as JSON objects.
func apiScores(t *testing.T, srv *servicetest.Instance, key, query string) []map[string]json.RawMessage {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/scores?"+query, key, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("scores: %d %s", r.Status, r.Body)
	}
	var out struct{ Groups []map[string]json.RawMessage }
	r.JSON(t, &out)
	return out.Groups
}

// sameValue compares a page's data-value with the API's JSON value ("" is null).
func sameValue(t *testing.T, where, page string, api json.RawMessage) {
	t.Helper()
	want := string(api)
	if want == "null" {
		want = ""
	}
	if page != want {
		t.Errorf("%s: the page shows %q, the API %q", where, page, want)
	}
}

// TestPagesDashboard: the dashboard shows the numbers GET /v1/scores answers for the
// same period, per recruiter and job too; it drills down, sorts, and rejects a bad
// period with the form.
func TestPagesDashboard(t *testing.T) {
	t.Parallel()
	srv, _ := queueScenario(t)
	// One candidate is answered, late; another is rejected in silence.
	now := time.Now().UTC()
	for _, in := range []map[string]any{
		{"application_id": "q-boss", "candidate_id": "cand-q-boss", "kind": "message", "direction": "outbound", "occurred_at": now.Format(time.RFC3339Nano)},
		{"application_id": "q-out", "candidate_id": "cand-q-out", "kind": "rejected", "occurred_at": now.Format(time.RFC3339Nano)},
	} {
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
	}
	day := now.Format(time.DateOnly)
	period := "from=" + now.AddDate(0, 0, -6).Format(time.DateOnly) + "&to=" + day
	// Both events applied: only q-rep still waits for a first response.
	servicetest.Eventually(t, 15*time.Second, "scores of three applications, one pending", func() bool {
		g := apiScores(t, srv, servicetest.AdminKey, "group_by=org&"+period)
		return len(g) == 1 && string(g[0]["applications"]) == "3" && string(g[0]["first_response_pending"]) == "1"
	})
	viewer := signedIn(t, srv, srv.NewKey(t, "viewer", ""))

	compare := func(t *testing.T, p page, key, query string) {
		t.Helper()
		org := apiScores(t, srv, key, "group_by=org&"+query)
		if len(org) != 1 {
			t.Fatalf("org groups %v", org)
		}
		for _, dd := range findAll(byID(t, p.Doc, "headline"), tag("dd")) {
			f := attr(dd, "data-field")
			sameValue(t, "headline "+f, attr(dd, "data-value"), org[0][f])
		}
		var byMetric map[string]json.RawMessage
		_ = json.Unmarshal(org[0]["attainment_by_metric"], &byMetric)
		for _, td := range findAll(byID(t, p.Doc, "attainment-by-metric"), tag("td")) {
			m := strings.TrimPrefix(attr(td, "data-field"), "attainment_by_metric.")
			sameValue(t, "attainment of "+m, attr(td, "data-value"), byMetric[m])
		}
		for _, table := range []string{"recruiter", "job"} {
			groups := apiScores(t, srv, key, "group_by="+table+"&"+query)
			rows := findAll(byID(t, p.Doc, table+"s"), func(n *html.Node) bool { return n.Data == "tr" && hasAttr(n, "data-key") })
			if len(rows) != len(groups) {
				t.Errorf("%s table: %d rows, the API %d groups", table, len(rows), len(groups))
			}
			for _, g := range groups {
				var k string
				_ = json.Unmarshal(g["key"], &k)
				row := findAll(byID(t, p.Doc, table+"s"), withAttr("data-key", k))
				if len(row) != 1 {
					t.Errorf("%s %q: %d rows", table, k, len(row))
					continue
				}
				for _, td := range findAll(row[0], tag("td")) {
					f := attr(td, "data-field")
					sameValue(t, table+" "+k+" "+f, attr(td, "data-value"), g[f])
				}
			}
		}
	}

	p := viewer.get("/dashboard?" + period)
	if p.Status != http.StatusOK {
		t.Fatalf("dashboard: %d %s", p.Status, p.Body)
	}
	compare(t, p, servicetest.AdminKey, period)
	if v := attr(findAll(p.Doc, withAttr("data-field", "applications"))[0], "data-value"); v != "3" {
		t.Errorf("applications %q, want 3", v)
	}
	if v := attr(findAll(byID(t, p.Doc, "headline"), withAttr("data-field", "breaches"))[0], "data-value"); v == "0" {
		t.Error("no breach shown")
	}
	// The trend, the heat map, the funnel and the sentiment are there.
	for _, id := range []string{"trend-attainment", "trend-first-response", "trend-table", "heatmap-table", "funnel-table", "sentiment-table"} {
		byID(t, p.Doc, id)
	}
	for _, id := range []string{"trend-attainment", "trend-first-response"} {
		svg := byID(t, p.Doc, id)
		if attr(svg, "role") != "img" || len(findAll(svg, tag("title"))) == 0 {
			t.Errorf("chart %s has no role or title", id)
		}
	}
	heat := 0
	for _, td := range findAll(byID(t, p.Doc, "heatmap-table"), tag("td")) {
		n, _ := strconv.Atoi(attr(td, "data-count"))
		heat += n
	}
	if heat == 0 {
		t.Error("the heat map shows no breach")
	}
	applied := findAll(byID(t, p.Doc, "funnel-table"), withAttr("data-step", "applied"))
	if len(applied) != 1 || attr(cell(t, applied[0], "applications"), "data-value") != "3" {
		t.Error("the funnel does not start with the 3 applications")
	}
	for _, tr := range findAll(byID(t, p.Doc, "sentiment-table"), tag("tr")) {
		if hasAttr(tr, "data-cohort") && !strings.Contains(textOf(tr), "hidden (< 5 responses)") {
			t.Errorf("sentiment row %q: under 5 responses should be hidden", textOf(tr))
		}
	}

	// Drill-down: one recruiter's figures are that recruiter's group.
	links := findAll(byID(t, p.Doc, "recruiters"), func(n *html.Node) bool { return n.Data == "a" && attr(n, "class") == "drill" })
	if len(links) != 3 {
		t.Fatalf("%d drill-down links, want 3", len(links))
	}
	var drill string
	for _, a := range links {
		if strings.Contains(attr(a, "href"), "recruiter=rec-boss") {
			drill = attr(a, "href")
		}
	}
	p = viewer.get(drill)
	if p.Status != http.StatusOK || textOf(byID(t, p.Doc, "page-title")) != "Dashboard: Bo Boss" {
		t.Fatalf("drill-down %s: %d", drill, p.Status)
	}
	var boss map[string]json.RawMessage
	for _, g := range apiScores(t, srv, servicetest.AdminKey, "group_by=recruiter&"+period) {
		if string(g["key"]) == `"rec-boss"` {
			boss = g
		}
	}
	for _, dd := range findAll(byID(t, p.Doc, "headline"), tag("dd")) {
		f := attr(dd, "data-field")
		if f != "cnps" && f != "experience_score" { // survey-based figures aside, which equal too
			sameValue(t, "drill-down "+f, attr(dd, "data-value"), boss[f])
		}
	}

	// A recruiter's dashboard is their team's: the API's numbers for the same key.
	bossKey := srv.NewKey(t, "recruiter", "rec-boss")
	p = signedIn(t, srv, bossKey).get("/dashboard?" + period)
	if p.Status != http.StatusOK {
		t.Fatalf("recruiter dashboard: %d", p.Status)
	}
	compare(t, p, bossKey, period)
	if strings.Contains(p.Body, "Oz Outsider") {
		t.Error("a recruiter's dashboard shows another team")
	}
	if p := signedIn(t, srv, bossKey).get("/dashboard?recruiter=rec-out"); p.Status != http.StatusNotFound {
		t.Errorf("drilling into another team: %d", p.Status)
	}

	// Sorting by a column, and its link to reverse.
	p = viewer.get("/dashboard?" + period + "&sort=-applications")
	th := findAll(byID(t, p.Doc, "recruiters"), func(n *html.Node) bool { return n.Data == "th" && attr(n, "data-field") == "applications" })
	if len(th) != 1 || attr(th[0], "aria-sort") != "descending" {
		t.Fatalf("sorted column header %v", th)
	}
	if href := attr(byID(t, p.Doc, "sort-recruiters-applications"), "href"); !strings.Contains(href, "sort=applications") {
		t.Errorf("the sorted column links to %q, want the reverse order", href)
	}
	p = viewer.get("/dashboard?" + period + "&sort=name")
	var order []string
	for _, tr := range findAll(byID(t, p.Doc, "recruiters"), func(n *html.Node) bool { return n.Data == "tr" && hasAttr(n, "data-key") }) {
		order = append(order, attr(tr, "data-key"))
	}
	if want := []string{"rec-boss", "rec-out", "rec-rep"}; !slices.Equal(order, want) { // Bo, Oz, Ren
		t.Errorf("sorted by name: %v, want %v", order, want)
	}

	// A bad period shows the form again, saying what is wrong.
	for _, tc := range []struct{ query, field string }{
		{"from=2026-13-01", "from"},
		{"from=2026-02-01&to=2026-01-01", "from"},
		{"sort=shoe_size", "sort"},
	} {
		p := viewer.get("/dashboard?" + tc.query)
		if p.Status != http.StatusBadRequest {
			t.Errorf("%s: %d", tc.query, p.Status)
			continue
		}
		errs := byID(t, p.Doc, "form-errors")
		if attr(errs, "role") != "alert" || len(findAll(errs, withAttr("data-field", tc.field))) != 1 {
			t.Errorf("%s: errors %q", tc.query, textOf(errs))
		}
		byID(t, p.Doc, "period-form")
	}
}
