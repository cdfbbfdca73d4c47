package service

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
)

// The server-rendered pages: /login, /dashboard and /queue (pages_*.go), their
// templates and static assets under web/. Pages take the API key as a Bearer header
// or through the session cookie /login sets (session.go); they work without
// JavaScript.

//go:embed web
var webFS embed.FS

// ctxSession is the request's session cookie value, when a session authenticated it.
const ctxSession = "session"

// staticAsset is a file under /static/: its bytes, type and content hash.
type staticAsset struct {
	body  []byte
	ctype string
	hash  string
}

var staticAssets = func() map[string]staticAsset {
	out := map[string]staticAsset{}
	err := fs.WalkDir(webFS, "web/static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "web/static/")] = staticAsset{
			body: b, ctype: mime.TypeByExtension(path.Ext(p)), hash: hex.EncodeToString(sum[:8]),
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
}()

// staticURL is an asset's URL with its content hash, so it can be cached for good.
func staticURL(name string) string {
	return "/static/" + name + "?v=" + staticAssets[name].hash
}

// pages are the templates, each the layout plus its page.
var pages = func() map[string]*template.Template {
	layout := template.Must(template.New("layout.html.tmpl").Funcs(template.FuncMap{"static": staticURL}).
		ParseFS(webFS, "web/layout.html.tmpl"))
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "dashboard", "queue", "error"} {
		out[name] = template.Must(template.Must(layout.Clone()).ParseFS(webFS, "web/"+name+".html.tmpl"))
	}
	return out
}()

// pageData is what every page's layout shows; Body is the page's own.
type pageData struct {
	Title   string
	Current string    // "dashboard" or "queue": the navigation marks it
	Key     *auth.Key // who is signed in; nil on the sign-in page
	Session bool      // signed in with a cookie: show "Sign out"
	CSRF    string    // the token of this session's forms
	Notice  string    // what the signed-in person should know (oidc.go)
	Body    any
}

// CanDashboard and CanQueue say which pages the navigation offers.
func (d pageData) CanDashboard() bool { return d.Key != nil && mayUse(d.Key.Role, dashboardRoles) }
func (d pageData) CanQueue() bool     { return d.Key != nil && mayUse(d.Key.Role, queueRoles) }

// Who may see each page.
var (
	dashboardRoles = []auth.Role{auth.RoleAdmin, auth.RoleViewer, auth.RoleRecruiter}
	queueRoles     = []auth.Role{auth.RoleAdmin, auth.RoleRecruiter}
)

func mayUse(r auth.Role, roles []auth.Role) bool { return slices.Contains(roles, r) }

// home is where a role lands after signing in.
func home(r auth.Role) string {
	if r == auth.RoleRecruiter {
		return "/queue"
	}
	return "/dashboard"
}

// newPage fills the layout's data for the request's caller.
func (s *api) newPage(c *gin.Context, title, current string, body any) pageData {
	d := pageData{Title: title, Current: current, Body: body}
	if k, ok := c.Get(ctxKey); ok {
		key := k.(auth.Key)
		d.Key = &key
	}
	if v := c.GetString(ctxSession); v != "" {
		d.Session, d.CSRF = true, s.csrfToken(v)
	}
	d.Notice = c.GetString(ctxNotice)
	return d
}

// render writes a page. Pages may show personal data: nothing caches them.
func (s *api) render(c *gin.Context, status int, name string, d pageData) {
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout.html.tmpl", d); err != nil {
		logger(c).Error("render page", "page", name, "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		buf.WriteString("<!doctype html><title>Error</title><p>The page could not be shown.")
	}
	pageHeaders(c, s.signOutOrigin())
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// pageHeaders sets a page's headers; forms may post to this site, and sign-out may
// go on to the identity provider at signOut (oidc.go), if not "".
func pageHeaders(c *gin.Context, signOut string) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'"+signOut+"; frame-ancestors 'none'; base-uri 'none'")
}

// wantsProblem reports whether the client is not a browser: a browser names
// text/html in Accept (on navigations and form posts alike) and gets pages,
// redirects and error pages; any other client gets the API's problem documents, a
// 401 instead of the sign-in form, and 204 instead of a form's redirect.
func wantsProblem(c *gin.Context) bool {
	return !strings.Contains(c.GetHeader("Accept"), "text/html")
}

// formDone answers a form that did its work: a browser goes on to location (POST,
// redirect, GET), another client gets 204.
func formDone(c *gin.Context, location string) {
	if wantsProblem(c) {
		c.Status(http.StatusNoContent)
		return
	}
	c.Redirect(http.StatusSeeOther, location)
}

// errorPage is the body of error.html.tmpl.
type errorPage struct {
	Status  int
	Message string
	SignIn  string // a link to the sign-in form, when signing in would help
	// SignInText is the link's text; empty: "Sign in with another key".
	SignInText string
}

// pageError answers a page request with an error page (or, for a client that is not
// a browser, a problem document) and stops the handler chain.
func (s *api) pageError(c *gin.Context, status int, slug, title, message string) {
	if wantsProblem(c) {
		abortProblem(c, status, slug, message)
		return
	}
	body := errorPage{Status: status, Message: message}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="goodwill"`)
		body.SignIn = loginURL(c.Request.URL.RequestURI())
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", retryAfterSeconds)
	}
	s.render(c, status, "error", s.newPage(c, title, "", body))
	c.Abort()
}

// pageThrottled is throttled for pages: it records a failed authentication from the
// request's address and, when the address has failed too often, answers 429 with
// Retry-After (an error page for a browser), aborts and reports true.
func (s *api) pageThrottled(c *gin.Context) bool {
	retryAfter, throttled := s.failures.Fail(c.ClientIP(), s.now())
	if !throttled {
		return false
	}
	c.Header("Retry-After", strconv.Itoa(int(retryAfter.Seconds())))
	s.pageError(c, http.StatusTooManyRequests, "rate-limited", "Too many attempts",
		"Too many failed sign-ins from this address. Wait a minute, then try again.")
	return true
}

// pageFail is fail for pages: the same status for the same error, as a page.
func (s *api) pageFail(c *gin.Context, err error) {
	if wantsProblem(c) {
		fail(c, err)
		return
	}
	var maxErr *http.MaxBytesError
	switch code := interactions.ErrorCode(err); {
	case errors.Is(err, auth.ErrUnauthenticated):
		s.pageError(c, http.StatusUnauthorized, "unauthenticated", "Sign in again",
			"This API key is not valid, or it was deleted.")
	case errors.As(err, &maxErr):
		s.pageError(c, http.StatusRequestEntityTooLarge, "too-large", "Too large", "The form is larger than 1 MiB.")
	case code == interactions.CodeUnavailable:
		logger(c).Warn("store unavailable", "err", err)
		s.pageError(c, http.StatusServiceUnavailable, "unavailable", "Try again shortly",
			"The store does not answer. Try again in a few seconds.")
	case code == interactions.CodeInternal:
		logger(c).Error("internal error", "err", err)
		s.pageError(c, http.StatusInternalServerError, "internal", "Something went wrong",
			"Something went wrong on our side; the request id is "+c.GetString(ctxRequestID)+".")
	default:
		var e *interactions.Error
		errors.As(err, &e)
		s.pageError(c, statusOf[code], string(code), http.StatusText(statusOf[code]), e.Message)
	}
}

// loginURL is the sign-in form that returns to next.
func loginURL(next string) string {
	if next == "" || next == "/" {
		return "/login"
	}
	return "/login?" + url.Values{"next": {next}}.Encode()
}

// localPath returns next if it is a path on this site to return to after signing
// in, and "" otherwise: no scheme, no host, no "//" or backslash that a browser
// would read as another host, no control characters, not the sign-in pages.
func localPath(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return ""
	}
	return next
}

// page authenticates a page request: a Bearer key, else the session cookie. Without
// either it sends a browser to the sign-in form (other clients get 401); a role not
// in roles gets 403. A POST of a session must carry the session's CSRF token (a
// Bearer request needs none: no browser sends that header on its own).
func (s *api) page(roles ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodPost {
			if err := c.Request.ParseForm(); err != nil {
				var maxErr *http.MaxBytesError
				if !errors.As(err, &maxErr) {
					err = interactions.Invalid(interactions.FieldError{Field: "body", Message: "is not a form: " + err.Error()})
				}
				s.pageFail(c, err)
				return
			}
		}
		var key auth.Key
		session := ""
		if h := c.GetHeader("Authorization"); h != "" {
			secret, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				s.pageFail(c, auth.ErrUnauthenticated)
				return
			}
			var err error
			if key, err = s.keys.Authenticate(ctx(c), strings.TrimSpace(secret)); err != nil {
				if errors.Is(err, auth.ErrUnauthenticated) && s.pageThrottled(c) {
					return
				}
				s.pageFail(c, err)
				return
			}
		} else {
			var err error
			key, session, err = s.sessionCaller(c)
			if c.IsAborted() { // throttled
				return
			}
			if err != nil {
				if !errors.Is(err, auth.ErrUnauthenticated) || wantsProblem(c) {
					s.pageFail(c, err)
					return
				}
				next := c.Request.URL.RequestURI()
				if c.Request.Method != http.MethodGet {
					next = c.Request.Referer()
					if u, err := url.Parse(next); err == nil {
						next = u.RequestURI()
					}
				}
				c.Redirect(http.StatusSeeOther, loginURL(localPath(next)))
				c.Abort()
				return
			}
			c.Set(ctxSession, session)
		}
		c.Set(ctxKey, key)
		if !mayUse(key.Role, roles) {
			s.pageError(c, http.StatusForbidden, "forbidden", "Not for your role",
				"The "+string(key.Role)+" role may not use this page.")
			return
		}
		if session != "" && c.Request.Method == http.MethodPost && !s.signed("csrf", session, c.PostForm(csrfField)) {
			s.pageError(c, http.StatusForbidden, "forbidden", "Form expired",
				"This form expired or did not come from goodwill. Reload the page and try again.")
			return
		}
		c.Next()
	}
}

// sessionCaller returns the key of the request's session cookie: the API key it was
// opened with, or for a person signed in through single sign-on, a key-shaped caller
// as the sign-in rules decide now (oidc.go). A cookie that is missing, forged,
// expired, signed out, names a deleted key (or a key while key sign-in is off), or a
// person the rules no longer let in gives ErrUnauthenticated (and is cleared).
//
// Only a forged cookie (one goodwill did not sign, or signed with a signing key since
// taken out of GOODWILL_SIGNING_KEY) counts as a failed authentication
// towards the address's throttle, and may abort the request with 429: an expired or
// signed-out session, or one whose key was deleted, is what any browser left open
// carries, not an attack, and must always reach the sign-in form.
func (s *api) sessionCaller(c *gin.Context) (auth.Key, string, error) {
	value, err := c.Cookie(s.cookieName(sessionCookie))
	if err != nil || value == "" {
		return auth.Key{}, "", auth.ErrUnauthenticated
	}
	hash, _, ok := s.sessionKeyHash(value, s.now())
	if !ok {
		if !s.sessionSigned(value) && s.pageThrottled(c) {
			return auth.Key{}, "", auth.ErrUnauthenticated
		}
		s.clearSession(c)
		return auth.Key{}, "", auth.ErrUnauthenticated
	}
	revoked, err := auth.NewSessions(s.store.DB).Revoked(ctx(c), sessionID(value))
	if err != nil {
		return auth.Key{}, "", err
	}
	if revoked {
		s.clearSession(c)
		return auth.Key{}, "", auth.ErrUnauthenticated
	}
	var key auth.Key
	if email, person := personEmail(hash); person && s.sso != nil {
		key, err = s.personCaller(c, email)
	} else if person || s.keySessionsOff() {
		err = auth.ErrUnauthenticated
	} else {
		key, err = s.keys.ByHash(ctx(c), hash)
	}
	if errors.Is(err, auth.ErrUnauthenticated) {
		s.clearSession(c)
	}
	return key, value, err
}

func (s *api) clearSession(c *gin.Context) {
	s.setCookie(c, sessionCookie, "", "/", -1, http.SameSiteLaxMode)
}

// --- the sign-in form ---

// loginPage is the body of login.html.tmpl.
type loginPage struct {
	Next      string
	Token     string
	Error     string
	Notice    string
	SSO       string // the link that starts single sign-on, when it is configured
	KeySignIn bool   // the form takes an API key
}

func (s *api) renderLogin(c *gin.Context, status int, next, problem string) {
	if problem != "" && wantsProblem(c) {
		slug := map[int]string{400: "invalid", 401: "unauthenticated", 403: "forbidden"}[status]
		abortProblem(c, status, slug, problem, interactions.FieldError{Field: "api_key", Message: problem})
		return
	}
	body := loginPage{Next: next, Token: s.loginToken(s.loginNonce(c)), Error: problem, KeySignIn: s.cfg.OIDC.KeySignIn}
	if s.sso != nil {
		body.SSO = oidcLoginPath
		if next != "" {
			body.SSO += "?" + url.Values{"next": {next}}.Encode()
		}
	}
	if problem == "" && c.Query("signed_out") != "" {
		body.Notice = "You are signed out."
	}
	s.render(c, status, "login", s.newPage(c, "Sign in", "", body))
}

// loginForm shows the sign-in form.
func (s *api) loginForm(c *gin.Context) {
	s.renderLogin(c, http.StatusOK, localPath(c.Query("next")), "")
}

// login checks the key of the sign-in form, opens a session and goes on to next (a
// path on this site) or the role's home page. A bad form shows the form again, with
// what is wrong.
func (s *api) login(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			s.pageFail(c, err)
			return
		}
	}
	next := localPath(c.PostForm("next"))
	if s.keySessionsOff() {
		s.renderLogin(c, http.StatusForbidden, next, "Signing in with an API key is turned off here: sign in with single sign-on.")
		return
	}
	if !s.checkLoginToken(c) {
		s.renderLogin(c, http.StatusForbidden, next,
			"This sign-in form expired (or your browser blocks cookies). Enter your key again.")
		return
	}
	secret := strings.TrimSpace(c.PostForm("api_key"))
	if secret == "" {
		s.renderLogin(c, http.StatusBadRequest, next, "Enter your API key.")
		return
	}
	key, err := s.keys.Authenticate(ctx(c), secret)
	if errors.Is(err, auth.ErrUnauthenticated) {
		if s.pageThrottled(c) {
			return
		}
		s.renderLogin(c, http.StatusUnauthorized, next,
			"That key is not valid. Check that you copied all of it (it starts with gw_), or ask an admin for a new one.")
		return
	}
	if err != nil {
		s.pageFail(c, err)
		return
	}
	if !mayUse(key.Role, dashboardRoles) && !mayUse(key.Role, queueRoles) {
		if !s.auditAs(c, audit.Key(key.ID), audit.SignInRefused, "") {
			return
		}
		s.renderLogin(c, http.StatusForbidden, next,
			"This is an "+string(key.Role)+" key: it writes interactions and cannot sign in. Use a recruiter, viewer or admin key.")
		return
	}
	session := s.newSession(key.Hash, s.now())
	if !s.auditAs(c, audit.Key(key.ID), audit.SignIn, sessionID(session)) {
		return
	}
	s.setCookie(c, sessionCookie, session, "/", int(sessionLifetime.Seconds()), http.SameSiteLaxMode)
	s.setCookie(c, loginCookie, "", "/login", -1, http.SameSiteStrictMode)
	if next == "" {
		next = home(key.Role)
	}
	formDone(c, next)
}

// logout ends the browser's session — its cookie is cleared and revoked, so that a
// copy of it opens nothing — and shows the sign-in form. A session's sign-out form
// must carry its CSRF token, so that other sites cannot sign people out.
func (s *api) logout(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			s.pageFail(c, err)
			return
		}
	}
	location := "/login?signed_out=1"
	if value, err := c.Cookie(s.cookieName(sessionCookie)); err == nil && value != "" {
		if subject, expires, ok := s.sessionKeyHash(value, s.now()); ok {
			if !s.signed("csrf", value, c.PostForm(csrfField)) {
				s.pageError(c, http.StatusForbidden, "forbidden", "Form expired",
					"This sign-out form expired or did not come from goodwill. Reload the page and try again.")
				return
			}
			if err := auth.NewSessions(s.store.DB).Revoke(ctx(c), sessionID(value), expires, s.now()); err != nil {
				s.pageFail(c, err)
				return
			}
			if email, person := personEmail(subject); person && s.sso != nil {
				if !s.auditAs(c, audit.OIDC(email), audit.SignOut, sessionID(value)) {
					return
				}
				if end := s.endSessionURL(c); end != "" {
					location = end
				}
			} else if key, err := s.keys.ByHash(ctx(c), subject); err == nil { // a deleted key's session opened nothing
				if !s.auditAs(c, audit.Key(key.ID), audit.SignOut, sessionID(value)) {
					return
				}
			}
		}
		s.clearSession(c)
	}
	s.setPathCookie(c, idTokenCookie, "", "/logout", -1)
	formDone(c, location)
}

// static serves the embedded assets. A URL with the asset's current hash (as pages
// link them) is cached for a year; any other revalidates with its ETag.
func (s *api) static(c *gin.Context) {
	a, ok := staticAssets[strings.TrimPrefix(c.Param("path"), "/")]
	if !ok {
		abortProblem(c, http.StatusNotFound, "not-found", "no such file")
		return
	}
	etag := `"` + a.hash + `"`
	c.Header("ETag", etag)
	c.Header("X-Content-Type-Options", "nosniff")
	if c.Query("v") == a.hash {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "public, max-age=0, must-revalidate")
	}
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, a.ctype, a.body)
}
