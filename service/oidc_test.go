package service_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/oidctest"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// Single sign-on against the in-process provider of oidctest: the flow's checks
// (state, nonce, PKCE, verified email), who a person becomes, and how a session
// follows changes to the rules and ends.

// startSSO runs a provider and a server that signs people in through it: admin
// boss@example.com, viewers from example.com, and env on top.
func startSSO(t *testing.T, env map[string]string) (*servicetest.Instance, *oidctest.Provider) {
	t.Helper()
	idp := oidctest.Start(t)
	vars := idp.Env()
	vars["GOODWILL_PUBLIC_URL"] = servicetest.SelfURL
	vars["GOODWILL_OIDC_ADMINS"] = "boss@example.com"
	vars["GOODWILL_OIDC_ALLOWED_DOMAINS"] = "example.com"
	for k, v := range env {
		vars[k] = v
	}
	srv := servicetest.Start(t, vars, service.Options{})
	idp.RedirectURL = srv.URL + "/login/oidc/callback"
	return srv, idp
}

// ssoStart opens /login/oidc (with next, if given) and returns the query of the
// provider's authorization URL it redirects to.
func (b *browser) ssoStart(idp *oidctest.Provider, next string) url.Values {
	b.t.Helper()
	path := "/login/oidc"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	p := b.get(path)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), idp.URL+"/authorize?") {
		b.t.Fatalf("GET %s: %d to %q, want a redirect to the provider", path, p.Status, p.Location())
	}
	u, _ := url.Parse(p.Location())
	return u.Query()
}

// callback follows the provider's redirect back to goodwill.
func (b *browser) callback(loc string) page {
	b.t.Helper()
	path, ok := strings.CutPrefix(loc, b.srv.URL)
	if !ok {
		b.t.Fatalf("the provider sends the browser to %q, not to goodwill", loc)
	}
	return b.get(path)
}

// ssoSignIn goes through the whole flow as the person with this email and returns
// the callback's answer.
func (b *browser) ssoSignIn(idp *oidctest.Provider, email string, verified bool) page {
	b.t.Helper()
	loc, err := idp.Approve(b.ssoStart(idp, ""), email, verified)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.callback(loc)
}

// role is the role the page shows as signed in, "" when none.
func role(t *testing.T, p page) string {
	t.Helper()
	if p.Doc == nil {
		return ""
	}
	found := findAll(p.Doc, withAttr("id", "signed-in-as"))
	if len(found) == 0 {
		return ""
	}
	return attr(found[0], "data-role")
}

func TestSSODiscovery(t *testing.T) {
	srv, idp := startSSO(t, nil)
	b := newBrowser(t, srv)

	// The sign-in page offers single sign-on first, the key form after it.
	p := b.get("/login?next=%2Fqueue")
	sso := byID(t, p.Doc, "sso-sign-in")
	if got := attr(sso, "href"); got != "/login/oidc?next=%2Fqueue" {
		t.Errorf("SSO link = %q", got)
	}
	if !strings.Contains(p.Body, "sso-sign-in") || strings.Index(p.Body, "sso-sign-in") > strings.Index(p.Body, "login-form") {
		t.Errorf("the sign-in page does not offer single sign-on before the key form")
	}

	// The start redirects to the authorization endpoint of the provider's discovery
	// document: code flow, PKCE S256, state and nonce, back to the public URL.
	q := b.ssoStart(idp, "/queue")
	want := map[string]string{
		"client_id": oidctest.ClientID, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": srv.URL + "/login/oidc/callback",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("authorization %s = %q, want %q", k, q.Get(k), v)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 32 {
			t.Errorf("authorization %s = %q, want a random value", k, q.Get(k))
		}
	}
	if !strings.Contains(" "+q.Get("scope")+" ", " openid ") || !strings.Contains(q.Get("scope"), "email") {
		t.Errorf("scope = %q, want openid and email", q.Get("scope"))
	}
	// The flow's secrets stay in this browser, HttpOnly, for the callback only.
	if b.cookie("goodwill_oidc", "/login/oidc/callback") == "" || b.cookie("goodwill_oidc", "/dashboard") != "" {
		t.Errorf("the flow's cookie is not kept for /login/oidc alone")
	}
	// It returns to the page asked for.
	loc, err := idp.Approve(q, "boss@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	if p := b.callback(loc); p.Status != http.StatusSeeOther || p.Location() != "/queue" {
		t.Errorf("callback: %d to %q, want /queue", p.Status, p.Location())
	}

	// A provider that cannot be reached: goodwill starts all the same, single sign-on
	// says to try again, and keys still sign in.
	down := servicetest.Start(t, map[string]string{
		"GOODWILL_OIDC_ISSUER": "http://127.0.0.1:1", "GOODWILL_OIDC_CLIENT_ID": "x", "GOODWILL_OIDC_CLIENT_SECRET": "y",
		"GOODWILL_PUBLIC_URL": servicetest.SelfURL,
	}, service.Options{})
	db := newBrowser(t, down)
	if p := db.get("/login/oidc"); p.Status != http.StatusServiceUnavailable {
		t.Errorf("SSO with the provider down: %d, want 503", p.Status)
	}
	if p := db.signIn(servicetest.AdminKey); p.Status != http.StatusSeeOther {
		t.Errorf("key sign-in with the provider down: %d", p.Status)
	}

	// Without single sign-on configured, its routes are not there.
	plain := newBrowser(t, servicetest.Start(t, nil, service.Options{}))
	if p := plain.get("/login/oidc"); p.Status != http.StatusNotFound {
		t.Errorf("/login/oidc without SSO: %d, want 404", p.Status)
	}
	if p := plain.get("/login"); len(findAll(p.Doc, withAttr("id", "sso-sign-in"))) != 0 {
		t.Errorf("the sign-in page offers SSO that is not configured")
	}
}

func TestSSOWhoIsWho(t *testing.T) {
	srv, idp := startSSO(t, nil)
	put := func(id, body string) {
		t.Helper()
		if r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+id, servicetest.AdminKey, body); r.Status >= 300 {
			t.Fatalf("PUT %s: %d %s", id, r.Status, r.Body)
		}
	}
	put("rec-ann", `{"name":"Ann","email":"Ann@Corp.test"}`)
	put("rec-dup1", `{"name":"Dup one","email":"dup@corp.test"}`)
	put("rec-dup2", `{"name":"Dup two","email":"DUP@corp.test"}`)
	put("rec-dup3", `{"name":"Dup gone","email":"dup@corp.test","active":false}`)
	put("rec-old", `{"name":"Old","email":"old@corp.test","active":false}`)
	put("rec-boss", `{"name":"Boss as recruiter","email":"boss@example.com"}`)

	tests := []struct {
		name     string
		email    string
		verified bool
		status   int    // of the callback
		home     string // where it leads, when signed in
		role     string // what /dashboard shows
		queue    int    // status of /queue
	}{
		// An admin, whatever the case of the address, before the recruiter rule.
		{"admin", "Boss@Example.com", true, http.StatusSeeOther, "/dashboard", "admin", http.StatusOK},
		// The email of one active recruiter: that recruiter, on its queue.
		{"recruiter", "ann@corp.test", true, http.StatusSeeOther, "/queue", "recruiter", http.StatusOK},
		// An allowed domain: a viewer, who has no queue.
		{"viewer", "carl@example.com", true, http.StatusSeeOther, "/dashboard", "viewer", http.StatusForbidden},
		// Several active recruiters share the email: a viewer.
		{"shared email", "dup@corp.test", true, http.StatusSeeOther, "/dashboard", "viewer", http.StatusForbidden},
		// A stranger: refused.
		{"unknown domain", "eve@elsewhere.test", true, http.StatusForbidden, "", "", 0},
		// An inactive recruiter signs in as no one (its domain is not allowed).
		{"inactive recruiter", "old@corp.test", true, http.StatusForbidden, "", "", 0},
		// An address the provider has not verified, even an admin's: refused.
		{"unverified", "boss@example.com", false, http.StatusForbidden, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, srv)
			p := b.ssoSignIn(idp, tt.email, tt.verified)
			if p.Status != tt.status {
				t.Fatalf("callback: %d %s, want %d", p.Status, p.Body, tt.status)
			}
			if tt.status != http.StatusSeeOther {
				if msg := textOf(byID(t, p.Doc, "error-message")); !strings.Contains(msg, strings.ToLower(tt.email)) {
					t.Errorf("the refusal does not say who was refused: %q", msg)
				}
				if b.cookie("goodwill_session", "/") != "" {
					t.Errorf("a refused person got a session")
				}
				if p := b.get("/dashboard"); p.Status != http.StatusSeeOther {
					t.Errorf("/dashboard after a refusal: %d, want the sign-in form", p.Status)
				}
				return
			}
			if p.Location() != tt.home {
				t.Errorf("signed in to %q, want %q", p.Location(), tt.home)
			}
			d := b.get("/dashboard")
			if got := role(t, d); d.Status != http.StatusOK || got != tt.role {
				t.Errorf("/dashboard: %d as %q, want 200 as %q", d.Status, got, tt.role)
			}
			if got := textOf(byID(t, d.Doc, "signed-in-as")); !strings.Contains(got, strings.ToLower(tt.email)) {
				t.Errorf("signed in as %q, want %s", got, tt.email)
			}
			if q := b.get("/queue"); q.Status != tt.queue {
				t.Errorf("/queue: %d, want %d", q.Status, tt.queue)
			}
			notices := findAll(d.Doc, withAttr("id", "identity-notice"))
			if tt.name == "shared email" {
				if len(notices) != 1 || !strings.Contains(textOf(notices[0]), "rec-dup1, rec-dup2") || strings.Contains(textOf(notices[0]), "rec-dup3") {
					t.Errorf("the shared email's page does not name the active entries to merge: %v", notices)
				}
			} else if len(notices) != 0 {
				t.Errorf("unexpected notice: %s", textOf(notices[0]))
			}
		})
	}

	// The recruiter's queue is its own: of two overdue candidates, Ann sees hers.
	for app, owner := range map[string]string{"sso-ann": "rec-ann", "sso-boss": "rec-boss"} {
		in := interaction(app, "ext-"+app)
		in["occurred_at"] = time.Now().UTC().AddDate(0, 0, -10).Format(time.RFC3339)
		in["recruiter_id"] = owner
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
	}
	admin := newBrowser(t, srv)
	servicetest.Eventually(t, 10*time.Second, "both overdue", func() bool {
		return len(queueRows(t, admin.get("/queue", "Authorization", "Bearer "+servicetest.AdminKey), "overdue")) == 2
	})
	b := newBrowser(t, srv)
	b.ssoSignIn(idp, "ann@corp.test", true)
	rows := queueRows(t, b.get("/queue"), "overdue")
	if len(rows) != 1 || rows["sso-ann"] == nil {
		t.Errorf("ann's queue shows %v, want sso-ann alone", rows)
	}

	// Refusals create nothing: no recruiter, no key.
	var recs struct{ Recruiters []map[string]any }
	srv.Do(t, http.MethodGet, "/v1/recruiters", servicetest.AdminKey, "").JSON(t, &recs)
	if len(recs.Recruiters) != 6 {
		t.Errorf("%d recruiters after the sign-ins, want the 6 put", len(recs.Recruiters))
	}
	var keys struct{ Keys []map[string]any }
	srv.Do(t, http.MethodGet, "/v1/keys", servicetest.AdminKey, "").JSON(t, &keys)
	if len(keys.Keys) != 1 {
		t.Errorf("%d keys after the sign-ins, want the bootstrap key alone", len(keys.Keys))
	}
}

func TestSSOFlowChecks(t *testing.T) {
	srv, idp := startSSO(t, nil)

	t.Run("bad state", func(t *testing.T) {
		b := newBrowser(t, srv)
		q := b.ssoStart(idp, "")
		q.Set("state", "forged-"+q.Get("state"))
		loc, err := idp.Approve(q, "boss@example.com", true)
		if err != nil {
			t.Fatal(err)
		}
		if p := b.callback(loc); p.Status != http.StatusBadRequest || b.cookie("goodwill_session", "/") != "" {
			t.Errorf("callback with a forged state: %d, session %v; want 400 and none", p.Status, b.cookie("goodwill_session", "/") != "")
		}
	})

	t.Run("another browser", func(t *testing.T) {
		// A code obtained in one browser and replayed in another (login CSRF): that
		// browser has no flow cookie.
		b, other := newBrowser(t, srv), newBrowser(t, srv)
		loc, err := idp.Approve(b.ssoStart(idp, ""), "boss@example.com", true)
		if err != nil {
			t.Fatal(err)
		}
		if p := other.callback(loc); p.Status != http.StatusBadRequest || other.cookie("goodwill_session", "/") != "" {
			t.Errorf("callback in another browser: %d; want 400 and no session", p.Status)
		}
	})

	t.Run("replayed callback", func(t *testing.T) {
		b := newBrowser(t, srv)
		loc, err := idp.Approve(b.ssoStart(idp, ""), "boss@example.com", true)
		if err != nil {
			t.Fatal(err)
		}
		if p := b.callback(loc); p.Status != http.StatusSeeOther {
			t.Fatalf("callback: %d", p.Status)
		}
		if p := b.callback(loc); p.Status != http.StatusBadRequest {
			t.Errorf("the same callback again: %d, want 400 (the flow's cookie is spent)", p.Status)
		}
	})

	tamper := []struct {
		name   string
		change func(map[string]any)
	}{
		// An ID token minted for another sign-in.
		{"bad nonce", func(c map[string]any) { c["nonce"] = "another-sign-in" }},
		// An ID token for another client.
		{"bad audience", func(c map[string]any) { c["aud"] = "another-client" }},
		// An ID token from another issuer.
		{"bad issuer", func(c map[string]any) { c["iss"] = "https://evil.example.com" }},
		// An expired ID token.
		{"expired", func(c map[string]any) { c["exp"] = int64(1) }},
		// email_verified as false.
		{"email not verified", func(c map[string]any) { c["email_verified"] = false }},
		// No email at all (the email scope refused).
		{"no email", func(c map[string]any) { delete(c, "email") }},
		// No email_verified claim at all.
		{"no email_verified", func(c map[string]any) { delete(c, "email_verified") }},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			idp.Tamper = tt.change
			defer func() { idp.Tamper = nil }()
			b := newBrowser(t, srv)
			if p := b.ssoSignIn(idp, "boss@example.com", true); p.Status != http.StatusForbidden || b.cookie("goodwill_session", "/") != "" {
				t.Errorf("callback: %d, session %v; want 403 and none", p.Status, b.cookie("goodwill_session", "/") != "")
			}
		})
	}

	t.Run("refused at the provider", func(t *testing.T) {
		b := newBrowser(t, srv)
		q := b.ssoStart(idp, "")
		p := b.get("/login/oidc/callback?" + url.Values{"error": {"access_denied"}, "state": {q.Get("state")}}.Encode())
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "access_denied") {
			t.Errorf("provider error: %d %s", p.Status, p.Body)
		}
	})
}

func TestSSOSessionFollowsTheRules(t *testing.T) {
	srv, idp := startSSO(t, nil)
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/rec-ann", servicetest.AdminKey, `{"name":"Ann","email":"ann@corp.test"}`); r.Status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	ann, boss := newBrowser(t, srv), newBrowser(t, srv)
	ann.ssoSignIn(idp, "ann@corp.test", true)
	boss.ssoSignIn(idp, "boss@example.com", true)
	if p := ann.get("/queue"); p.Status != http.StatusOK || role(t, p) != "recruiter" {
		t.Fatalf("ann's queue: %d as %q", p.Status, role(t, p))
	}

	// Deactivating the recruiter ends her session at her next request.
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/rec-ann", servicetest.AdminKey, `{"name":"Ann","email":"ann@corp.test","active":false}`); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if p := ann.get("/queue"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), "/login") {
		t.Errorf("ann's queue after deactivation: %d to %q, want the sign-in form", p.Status, p.Location())
	}
	// Active again: a fresh sign-in works, the old session stays ended.
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/rec-ann", servicetest.AdminKey, `{"name":"Ann","email":"ann@corp.test"}`); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}

	// Removing boss from the admin list (a restart with the new list): still in an
	// allowed domain, boss is a viewer at the next request, with no queue.
	if p := boss.get("/queue"); p.Status != http.StatusOK || role(t, p) != "admin" {
		t.Fatalf("boss's queue: %d as %q", p.Status, role(t, p))
	}
	srv.Config.OIDC.Admins = nil
	srv.Restart(t)
	idp.RedirectURL = srv.URL + "/login/oidc/callback"
	if p := boss.get("/queue"); p.Status != http.StatusForbidden {
		t.Errorf("boss's queue once no longer admin: %d, want 403", p.Status)
	}
	if p := boss.get("/dashboard"); p.Status != http.StatusOK || role(t, p) != "viewer" {
		t.Errorf("boss's dashboard once no longer admin: %d as %q, want viewer", p.Status, role(t, p))
	}
	// And with the domain no longer allowed either, the session ends.
	srv.Config.OIDC.Domains = nil
	srv.Restart(t)
	if p := boss.get("/dashboard"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), "/login") {
		t.Errorf("boss's dashboard once neither admin nor allowed: %d to %q, want the sign-in form", p.Status, p.Location())
	}
}

func TestSSOSignOut(t *testing.T) {
	srv, idp := startSSO(t, nil)
	b := newBrowser(t, srv)
	b.ssoSignIn(idp, "boss@example.com", true)
	stolen := b.cookie("goodwill_session", "/")
	d := b.get("/dashboard")
	form := formFields(t, d.Doc, "logout-form")

	p := b.post("/logout", form)
	end, _ := url.Parse(p.Location())
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), idp.URL+"/end_session?") {
		t.Fatalf("sign-out: %d to %q, want the provider's end_session_endpoint", p.Status, p.Location())
	}
	q := end.Query()
	if q.Get("client_id") != oidctest.ClientID || q.Get("post_logout_redirect_uri") != srv.URL+"/login?signed_out=1" || q.Get("id_token_hint") == "" {
		t.Errorf("end-session query = %v", q)
	}
	if b.cookie("goodwill_session", "/") != "" {
		t.Errorf("the session cookie survived sign-out")
	}

	// A copy of the cookie opens nothing.
	thief := newBrowser(t, srv)
	u, _ := url.Parse(srv.URL)
	thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: "goodwill_session", Value: stolen, Path: "/"}})
	if p := thief.get("/dashboard"); p.Status != http.StatusSeeOther {
		t.Errorf("a copy of a signed-out cookie: %d, want the sign-in form", p.Status)
	}
}

func TestKeySignInOff(t *testing.T) {
	srv, idp := startSSO(t, nil)
	keyed := signedIn(t, srv, servicetest.AdminKey) // a key session opened while allowed

	srv.Config.OIDC.KeySignIn = false
	srv.Restart(t)
	idp.RedirectURL = srv.URL + "/login/oidc/callback"
	b := newBrowser(t, srv)
	p := b.get("/login")
	if len(findAll(p.Doc, withAttr("id", "login-form"))) != 0 || len(findAll(p.Doc, withAttr("id", "sso-sign-in"))) != 1 {
		t.Errorf("with key sign-in off, the sign-in page still offers the key form, or not SSO")
	}
	if p := b.post("/login", url.Values{"api_key": {servicetest.AdminKey}}); p.Status != http.StatusForbidden {
		t.Errorf("POST /login with key sign-in off: %d, want 403", p.Status)
	}
	keyed.srv = srv
	if p := keyed.get("/dashboard"); p.Status != http.StatusSeeOther {
		t.Errorf("a key session with key sign-in off: %d, want the sign-in form", p.Status)
	}
	// Automation keeps its Bearer key, and people their single sign-on.
	if p := b.get("/dashboard", "Authorization", "Bearer "+servicetest.AdminKey); p.Status != http.StatusOK {
		t.Errorf("Bearer key with key sign-in off: %d", p.Status)
	}
	if p := b.ssoSignIn(idp, "boss@example.com", true); p.Status != http.StatusSeeOther {
		t.Errorf("SSO with key sign-in off: %d", p.Status)
	}
}

// FuzzSSOCookies: whatever a browser sends as the flow's cookie, the callback's query
// or the session cookie, nothing signs anyone in and nothing fails on our side.
func FuzzSSOCookies(f *testing.F) {
	f.Add("", "", "", "")
	f.Add("eyJzIjoiYSIsIm4iOiJiIiwidiI6ImMiLCJlIjo5OTk5OTk5OTk5fQ.00", "a", "code", "o-Ym9zc0BleGFtcGxlLmNvbQ.9999999999.00.00")
	f.Add("x.y.z", "state", "", "o-.1.2.3")
	f.Add("%%%", "\x00", "..", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.9999999999.n.sig")
	idp := oidctest.Start(f)
	vars := idp.Env()
	vars["GOODWILL_PUBLIC_URL"] = servicetest.SelfURL
	vars["GOODWILL_OIDC_ALLOWED_DOMAINS"] = "example.com"
	srv := servicetest.Start(f, vars, service.Options{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, flow, state, code, session string) {
		send := func(path, cookie, value string) *http.Response {
			req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/html")
			req.Header.Set("Cookie", cookie+"="+value) // as sent, unchecked
			res, err := client.Do(req)
			if err != nil {
				t.Skip("no browser sends that:", err) // e.g. a control character in the cookie
			}
			res.Body.Close()
			return res
		}
		q := url.Values{"state": {state}, "code": {code}}.Encode()
		res := send("/login/oidc/callback?"+q, "goodwill_oidc", flow)
		if res.StatusCode < 400 || res.StatusCode >= 500 || setCookie(t, res.Header, "goodwill_session") != nil && setCookie(t, res.Header, "goodwill_session").MaxAge >= 0 {
			t.Errorf("callback with flow %q state %q code %q: %d", flow, state, code, res.StatusCode)
		}
		if res := send("/dashboard", "goodwill_session", session); res.StatusCode != http.StatusSeeOther {
			t.Errorf("/dashboard with session %q: %d, want the sign-in form", session, res.StatusCode)
		}
	})
}

// auditActions lists the actions of the audit trail's entries by actor, oldest first.
func auditActions(t *testing.T, srv *servicetest.Instance, actor string) []string {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/audit?actor="+url.QueryEscape(actor), servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("audit: %d %s", r.Status, r.Body)
	}
	var out struct {
		Entries []struct{ Action, Actor, Target string }
	}
	r.JSON(t, &out)
	var actions []string
	for i := len(out.Entries) - 1; i >= 0; i-- { // the trail answers newest first
		actions = append(actions, out.Entries[i].Action)
	}
	return actions
}

// TestSSOAudit: sign-ins, refusals and sign-outs, and what a person does on the
// pages, go to the audit trail as theirs: actor oidc:<email>.
func TestSSOAudit(t *testing.T) {
	srv, idp := startSSO(t, nil)
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{
		"name": "fast", "metric": "first_response", "target": "2s", "calendar": "24x7", "warn_ratio": 0.5, "enabled": true,
	}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/rec-ann", servicetest.AdminKey, `{"name":"Ann","email":"ann@corp.test"}`); r.Status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	in := interaction("audit-ann", "ext-audit-ann")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "rec-ann"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 10*time.Second, "a breach alert", func() bool {
		return len(listAlerts(t, srv, "level=breached")) == 1
	})

	// Ann signs in, acknowledges from her queue, and signs out.
	ann := newBrowser(t, srv)
	if p := ann.ssoSignIn(idp, "Ann@Corp.test", true); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", p.Status)
	}
	q := ann.get("/queue")
	forms := findAll(q.Doc, withAttr("data-testid", "ack-form"))
	if len(forms) != 1 {
		t.Fatalf("%d acknowledge forms on ann's queue, want 1", len(forms))
	}
	if p := ann.post("/queue/ack", fieldsOf(forms[0])); p.Status != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d %s", p.Status, p.Body)
	}
	if p := ann.post("/logout", formFields(t, ann.get("/dashboard").Doc, "logout-form")); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.Status)
	}
	// (The acknowledgement covers the clock's warning and breach alerts: one entry each.)
	got := strings.Join(auditActions(t, srv, "oidc:ann@corp.test"), ",")
	if got != "signin,alert.acknowledged,signout" && got != "signin,alert.acknowledged,alert.acknowledged,signout" {
		t.Errorf("ann's trail = %v, want signin, her acknowledgements, signout", got)
	}

	// A stranger's refusal is recorded; nothing else is.
	newBrowser(t, srv).ssoSignIn(idp, "eve@elsewhere.test", true)
	if got := auditActions(t, srv, "oidc:eve@elsewhere.test"); strings.Join(got, ",") != "signin.refused" {
		t.Errorf("the stranger's trail = %v, want one refusal", got)
	}
}

// TestSSOOverHTTPS: with an https public URL, the session is __Host-goodwill_session
// as for a key, and the flow's and the ID token's cookies are __Secure-, Secure, and
// keep their paths; the whole flow works with them.
func TestSSOOverHTTPS(t *testing.T) {
	idp := oidctest.Start(t)
	vars := idp.Env()
	vars["GOODWILL_PUBLIC_URL"] = "https://goodwill.example.com"
	vars["GOODWILL_OIDC_ADMINS"] = "boss@example.com"
	srv := servicetest.Start(t, vars, service.Options{})
	send := func(method, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		res, _ := sendPage(t, srv, method, path, form, cookies...)
		return res
	}
	cookie := func(res *http.Response, name, path string) *http.Cookie {
		t.Helper()
		c := setCookie(t, res.Header, name)
		if c == nil {
			t.Fatalf("no %s cookie set (%v)", name, res.Header.Values("Set-Cookie"))
		}
		if !c.Secure || c.Path != path || !c.HttpOnly {
			t.Errorf("%s: %+v, want Secure, HttpOnly, Path=%s", name, c, path)
		}
		return c
	}

	res := send(http.MethodGet, "/login/oidc", nil)
	flow := cookie(res, "__Secure-goodwill_oidc", "/login/oidc")
	authz, _ := url.Parse(res.Header.Get("Location"))
	if got := authz.Query().Get("redirect_uri"); got != "https://goodwill.example.com/login/oidc/callback" {
		t.Errorf("redirect_uri = %q", got)
	}
	back, err := idp.Approve(authz.Query(), "boss@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(back, "https://goodwill.example.com")
	res = send(http.MethodGet, path, nil, flow)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", res.StatusCode)
	}
	session := cookie(res, "__Host-goodwill_session", "/")
	idToken := cookie(res, "__Secure-goodwill_id_token", "/logout")
	if res := send(http.MethodGet, "/dashboard", nil, session); res.StatusCode != http.StatusOK {
		t.Errorf("dashboard with the session: %d", res.StatusCode)
	}
	// Without the flow's cookie (under its bare name, say) the callback refuses.
	loc, _ := idp.Approve(authz.Query(), "boss@example.com", true)
	if res := send(http.MethodGet, strings.TrimPrefix(loc, "https://goodwill.example.com"), nil,
		&http.Cookie{Name: "goodwill_oidc", Value: flow.Value}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("callback with the bare cookie: %d, want 400", res.StatusCode)
	}
	// Sign-out passes the ID token to the provider.
	res = send(http.MethodPost, "/logout", url.Values{"csrf_token": {csrfOf(t, srv, session)}}, session, idToken)
	end, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || end.Query().Get("id_token_hint") != idToken.Value {
		t.Errorf("sign-out: %d to %s, want the provider with the ID token", res.StatusCode, end)
	}
}

// csrfOf reads the CSRF token of the sign-out form of a session's dashboard.
func csrfOf(t *testing.T, srv *servicetest.Instance, session *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/dashboard", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := html.Parse(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return formFields(t, doc, "logout-form").Get("csrf_token")
}
