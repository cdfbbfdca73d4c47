package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
)

// Single sign-on through the organisation's OpenID Connect provider.
//
// GET /login/oidc starts an authorization code flow with PKCE (S256), a state and a
// nonce, kept in a signed cookie of the browser that started it (oidcLoginCookie);
// /login/oidc/callback checks the state, redeems the code with the PKCE verifier and
// the client secret, verifies the ID token (signature, issuer, audience, expiry) and
// its nonce, and accepts only a verified email address.
//
// A person's session is tied to their email, not to a role: its cookie is the same
// signed "<subject>.<expiry>.<nonce>.<signature>" as a key's session (session.go),
// with subject "o-" + base64url(email). Who the person is — admin, one recruiter, or
// viewer (whoIs) — is decided again on every request, from GOODWILL_OIDC_ADMINS,
// the recruiters directory (read again when older than directoryMaxAge) and
// GOODWILL_OIDC_ALLOWED_DOMAINS, so a change ends rights within a minute. Signing
// out revokes the cookie as for a key (auth.Sessions), and ends the session at the
// provider when it has an end_session_endpoint.

const (
	oidcLoginCookie   = "goodwill_oidc"
	oidcLoginPath     = "/login/oidc"
	oidcLoginLifetime = 10 * time.Minute
	// idTokenCookie keeps the ID token for the provider's sign-out (id_token_hint);
	// only /logout receives it.
	idTokenCookie = "goodwill_id_token"
	// personPrefix starts the subject of a person's session.
	personPrefix = "o-"
	// directoryMaxAge bounds how old the copy of the recruiters directory may be when
	// a person's role is decided: a change made through another replica (or the ATS
	// sync) counts within it.
	directoryMaxAge = 30 * time.Second
	// ctxNotice is a notice every page of the request shows (pageData.Notice).
	ctxNotice = "notice"
)

// sso is the client side of single sign-on: the provider, discovered in the
// background at start and on use until it succeeds, so that an unreachable provider
// does not stop goodwill from starting and key sign-in keeps working.
type sso struct {
	cfg    OIDCConfig
	client *http.Client

	mu         sync.Mutex // held while discovering
	provider   *oidc.Provider
	endSession string // the provider's end_session_endpoint, if any
	// signOut is " " and the origin of endSession, once discovered (signOutOrigin);
	// read without waiting for a discovery in progress.
	signOut atomic.Pointer[string]
}

// oidcProvider returns the discovered provider.
func (s *api) oidcProvider(ctx context.Context) (*oidc.Provider, string, error) {
	o := s.sso
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, o.endSession, nil
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.client), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, o.cfg.Issuer)
	if err != nil {
		return nil, "", interactions.Unavailable("discover the identity provider", err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	o.provider, o.endSession = p, extra.EndSession
	origin := ""
	if u, err := url.Parse(extra.EndSession); err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http") &&
		!strings.ContainsAny(u.Host, " ;,'\"") { // it goes into the pages' Content-Security-Policy
		origin = " " + u.Scheme + "://" + u.Host
	}
	o.signOut.Store(&origin)
	return p, o.endSession, nil
}

// oauth2Config is the client registration at the provider.
func (s *api) oauth2Config(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     s.cfg.OIDC.ClientID,
		ClientSecret: s.cfg.OIDC.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  s.cfg.PublicURL + oidcLoginPath + "/callback",
		Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
	}
}

// setPathCookie sets an HttpOnly, SameSite=Lax cookie that only path needs: the
// flow's state (for the callback) and the ID token (for /logout, a few KB that other
// requests need not carry). With an https public URL it is named "__Secure-" + name
// and Secure: unlike a __Host- cookie (setCookie) it may keep its path. Lax, since
// the provider sends the browser back with a top-level GET from its own site.
func (s *api) setPathCookie(c *gin.Context, name, value, path string, maxAge int) {
	secure := s.https(c)
	if s.hostCookies() {
		name, secure = securePrefix+name, true
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// pathCookie reads a cookie set by setPathCookie.
func (s *api) pathCookie(c *gin.Context, name string) (string, error) {
	if s.hostCookies() {
		name = securePrefix + name
	}
	return c.Cookie(name)
}

// securePrefix names the cookies of setPathCookie over https.
const securePrefix = "__Secure-"

// oidcLogin is what the login cookie keeps between the start and the callback.
type oidcLogin struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"` // PKCE
	Next     string `json:"x,omitempty"`
	Expires  int64  `json:"e"`
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcStart sends the browser to the provider's sign-in page.
func (s *api) oidcStart(c *gin.Context) {
	p, _, err := s.oidcProvider(ctx(c))
	if err != nil {
		s.providerDown(c, err)
		return
	}
	st := oidcLogin{
		State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Next: localPath(c.Query("next")), Expires: s.now().Add(oidcLoginLifetime).Unix(),
	}
	b, _ := json.Marshal(st)
	payload := base64.RawURLEncoding.EncodeToString(b)
	// Lax: the provider sends the browser back with a top-level GET from its own site.
	s.setPathCookie(c, oidcLoginCookie, payload+"."+sign(s.signingKeys[0], "oidc-login", payload),
		oidcLoginPath, int(oidcLoginLifetime/time.Second))
	loc := s.oauth2Config(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	c.Header("Location", loc) // a client that is not a browser gets 204 with it
	formDone(c, loc)
}

// providerDown answers 503 when the identity provider's discovery fails.
func (s *api) providerDown(c *gin.Context, err error) {
	logger(c).Warn("sign-in: the identity provider does not answer", "issuer", s.cfg.OIDC.Issuer, "err", err)
	s.pageError(c, http.StatusServiceUnavailable, "unavailable", "Try again shortly",
		"Your identity provider does not answer. Try again in a minute.")
}

// readOIDCLogin returns the login cookie's content if it is signed and current.
func (s *api) readOIDCLogin(c *gin.Context) (oidcLogin, bool) {
	v, err := s.pathCookie(c, oidcLoginCookie)
	if err != nil {
		return oidcLogin{}, false
	}
	payload, sig, ok := strings.Cut(v, ".")
	if !ok || !s.signed("oidc-login", payload, sig) {
		return oidcLogin{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var st oidcLogin
	if err != nil || json.Unmarshal(b, &st) != nil || s.now().Unix() >= st.Expires || st.State == "" {
		return oidcLogin{}, false
	}
	return st, true
}

// idClaims are the ID token's claims goodwill reads.
type idClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"` // true; some providers send "true"
}

func (cl idClaims) verified() bool {
	return cl.EmailVerified == true || cl.EmailVerified == "true"
}

// oidcCallback ends the flow: on success it opens the person's session and goes on
// to the page they asked for, or their role's home page.
func (s *api) oidcCallback(c *gin.Context) {
	st, ok := s.readOIDCLogin(c)
	s.setPathCookie(c, oidcLoginCookie, "", oidcLoginPath, -1) // one use
	if e := c.Query("error"); e != "" {
		msg := "Your identity provider did not sign you in (" + e + ")."
		if d := c.Query("error_description"); d != "" {
			msg = "Your identity provider did not sign you in: " + d
		}
		s.refuse(c, http.StatusForbidden, "", msg)
		return
	}
	if !ok || subtle.ConstantTimeCompare([]byte(st.State), []byte(c.Query("state"))) != 1 {
		s.refuse(c, http.StatusBadRequest, "",
			"This sign-in did not start in this browser, or took longer than 10 minutes. Start again.")
		return
	}
	p, _, err := s.oidcProvider(ctx(c))
	if err != nil {
		s.providerDown(c, err)
		return
	}
	octx, cancel := context.WithTimeout(oidc.ClientContext(ctx(c), s.sso.client), 20*time.Second)
	defer cancel()
	tok, err := s.oauth2Config(p).Exchange(octx, c.Query("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		logger(c).Warn("sign-in: the identity provider refused the code", "err", err)
		s.refuse(c, http.StatusBadGateway, "", "Your identity provider did not confirm the sign-in. Start again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: s.cfg.OIDC.ClientID, Now: s.now}).Verify(octx, raw)
	if err != nil {
		logger(c).Warn("sign-in: ID token not valid", "err", err)
		s.refuse(c, http.StatusForbidden, "", "Your identity provider's answer could not be verified. Start again.")
		return
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		s.refuse(c, http.StatusForbidden, "", "Your identity provider's answer could not be read.")
		return
	}
	email := strings.ToLower(strings.TrimSpace(claims.Email))
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		s.refuse(c, http.StatusForbidden, email, "Your identity provider's answer was not meant for this sign-in. Start again.")
		return
	}
	switch {
	case email == "" || len(email) > 254 || !strings.Contains(email, "@"):
		s.refuse(c, http.StatusForbidden, "", "Your identity provider did not say your email address: "+
			"goodwill needs it (the email scope) to know who you are.")
		return
	case !claims.verified():
		s.refuse(c, http.StatusForbidden, email, "goodwill accepts only an email address your identity provider "+
			"has verified, and "+email+" is not.")
		return
	}
	who, err := s.whoIs(ctx(c), email)
	if err != nil {
		s.pageFail(c, err)
		return
	}
	if who.Role == "" {
		s.refuse(c, http.StatusForbidden, email, email+" may not use goodwill here: it is not an admin, not the email of an "+
			"active recruiter, and not in a domain allowed to sign in. Ask a goodwill admin if you should have access.")
		return
	}
	session := s.newPersonSession(email, s.now())
	if !s.auditAs(c, audit.OIDC(email), audit.SignIn, sessionID(session)) {
		return // no session opens that the trail does not show
	}
	s.setCookie(c, sessionCookie, session, "/", int(sessionLifetime.Seconds()), http.SameSiteLaxMode)
	if len(raw) < 3500 { // a cookie holds about 4 KB
		s.setPathCookie(c, idTokenCookie, raw, "/logout", int(sessionLifetime.Seconds()))
	}
	next := st.Next
	if next == "" {
		next = home(who.Role)
	}
	c.Header("Location", next)
	formDone(c, next)
}

// refuse ends a sign-in that failed with a page saying why, and records the refusal
// when the person is known.
func (s *api) refuse(c *gin.Context, status int, email, message string) {
	if email != "" && !s.auditAs(c, audit.OIDC(email), audit.SignInRefused, "") {
		return
	}
	slug := map[int]string{http.StatusBadRequest: "invalid", http.StatusBadGateway: "bad_gateway"}[status]
	if slug == "" {
		slug = "forbidden"
	}
	if wantsProblem(c) {
		abortProblem(c, status, slug, message)
		return
	}
	s.render(c, status, "error", s.newPage(c, "Not signed in", "", errorPage{
		Status: status, Message: message, SignIn: "/login", SignInText: "Sign in again, or as someone else",
	}))
	c.Abort()
}

// identity is who a person is now.
type identity struct {
	Role        auth.Role // "" when the person may not sign in
	RecruiterID string    // for the recruiter role
	Shared      []string  // the active recruiters sharing the person's email, when several do
}

// whoIs applies the sign-in rules to a verified email; the first that matches wins:
// an email of GOODWILL_OIDC_ADMINS is admin; the email of exactly one active
// recruiter is that recruiter (of several, a viewer, told which entries to merge);
// an email in GOODWILL_OIDC_ALLOWED_DOMAINS is a viewer; anyone else is no one.
func (s *api) whoIs(ctx context.Context, email string) (identity, error) {
	email = strings.ToLower(email)
	if slices.Contains(s.cfg.OIDC.Admins, email) {
		return identity{Role: auth.RoleAdmin}, nil
	}
	recs, err := s.directory.ByEmail(ctx, email, s.now(), directoryMaxAge)
	if err != nil {
		return identity{}, err
	}
	recs = slices.DeleteFunc(recs, func(r directory.Recruiter) bool { return !r.IsActive() })
	switch len(recs) {
	case 0:
	case 1:
		return identity{Role: auth.RoleRecruiter, RecruiterID: recs[0].ID}, nil
	default:
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		return identity{Role: auth.RoleViewer, Shared: ids}, nil
	}
	if _, domain, ok := strings.Cut(email, "@"); ok && slices.Contains(s.cfg.OIDC.Domains, domain) {
		return identity{Role: auth.RoleViewer}, nil
	}
	return identity{}, nil
}

// newPersonSession returns the cookie value of a session for the person with this
// email (see session.go for the format).
func (s *api) newPersonSession(email string, now time.Time) string {
	payload := personPrefix + base64.RawURLEncoding.EncodeToString([]byte(email)) + "." +
		strconv.FormatInt(now.Add(sessionLifetime).Unix(), 10) + "." + newNonce()
	return payload + "." + sign(s.signingKeys[0], "session", payload)
}

// personEmail returns the email a session's subject names, if it is a person's.
func personEmail(subject string) (string, bool) {
	enc, ok := strings.CutPrefix(subject, personPrefix)
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}

// personCaller returns the key-shaped caller of a person's session as the rules
// decide now, or ErrUnauthenticated when they no longer let the person in. A
// recruiter whose email other active recruiters share gets a notice on every page.
func (s *api) personCaller(c *gin.Context, email string) (auth.Key, error) {
	who, err := s.whoIs(ctx(c), email)
	if err != nil {
		return auth.Key{}, err
	}
	if who.Role == "" {
		logger(c).Info("sso: session ended, the person no longer may sign in", "actor", "oidc:"+email)
		return auth.Key{}, auth.ErrUnauthenticated
	}
	if len(who.Shared) > 0 {
		c.Set(ctxNotice, fmt.Sprintf("Your email %s is on several recruiters (%s), so you see what a viewer sees. "+
			"An admin should merge these entries, or mark all but one inactive, for you to get your queue.",
			email, strings.Join(who.Shared, ", ")))
	}
	return auth.Key{ID: "oidc:" + email, Name: email, Role: who.Role, RecruiterID: who.RecruiterID, Person: email}, nil
}

// endSessionURL is where a person's browser goes after signing out here: the
// provider's end_session_endpoint, to end the session there too, coming back to the
// sign-in page; "" when the provider has none.
func (s *api) endSessionURL(c *gin.Context) string {
	_, end, err := s.oidcProvider(ctx(c))
	if err != nil || end == "" {
		return ""
	}
	u, err := url.Parse(end)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", s.cfg.OIDC.ClientID)
	q.Set("post_logout_redirect_uri", s.cfg.PublicURL+"/login?signed_out=1")
	if t, err := s.pathCookie(c, idTokenCookie); err == nil && t != "" {
		q.Set("id_token_hint", t)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// signOutOrigin is " " and the origin of the provider's end_session_endpoint, when
// it is known: the sign-out form redirects there, and a page's CSP form-action must
// allow it.
func (s *api) signOutOrigin() string {
	if s.sso == nil {
		return ""
	}
	if o := s.sso.signOut.Load(); o != nil {
		return *o
	}
	return ""
}

// keySessionsOff reports whether key sign-in is off, so a key's session opens nothing.
func (s *api) keySessionsOff() bool { return !s.cfg.OIDC.KeySignIn }

// ssoOnly answers 404 on the single sign-on routes when it is not configured.
func (s *api) ssoOnly(c *gin.Context) {
	if s.sso == nil {
		s.pageError(c, http.StatusNotFound, "not_found", "Single sign-on is off",
			"Single sign-on is not configured here: sign in with an API key.")
	}
}
