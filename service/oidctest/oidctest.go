// Package oidctest is an OpenID Connect provider for tests: discovery, a JWKS, an
// authorization endpoint with a small sign-in page a browser can fill in, a token
// endpoint that checks the client secret and PKCE (S256), and an end-session
// endpoint. It runs in-process on loopback and signs ID tokens with RS256.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Client id and secret the provider knows.
const (
	ClientID     = "goodwill-test"
	ClientSecret = "goodwill-test-secret"
)

// Provider is a running test identity provider.
type Provider struct {
	// URL is the issuer: discovery is at URL + "/.well-known/openid-configuration".
	URL string
	// RedirectURL, when set, is the only redirect_uri accepted.
	RedirectURL string
	// Tamper, when set, edits the claims of each ID token before it is signed (a
	// wrong nonce, another audience…).
	Tamper func(claims map[string]any)

	srv    *httptest.Server
	signer jose.Signer
	jwks   jose.JSONWebKeySet

	mu          sync.Mutex
	grants      map[string]grant // by code
	endSessions []url.Values
}

// grant is an authorization code waiting to be redeemed.
type grant struct {
	redirectURI, challenge, nonce, email string
	verified                             bool
	expires                              time.Time
}

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

// Start runs a provider until t ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test-key"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{signer: signer, grants: map[string]grant{},
		jwks: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "test-key", Algorithm: "RS256", Use: "sig"}}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, p.jwks) })
	mux.HandleFunc("GET /authorize", p.authorizePage)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /end_session", p.endSession)
	p.srv = httptest.NewServer(mux)
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"end_session_endpoint":                  p.URL + "/end_session",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

// checkAuthorize validates an authorization request.
func (p *Provider) checkAuthorize(q url.Values) error {
	switch {
	case q.Get("response_type") != "code":
		return errors.New("response_type must be code")
	case q.Get("client_id") != ClientID:
		return errors.New("unknown client_id")
	case q.Get("redirect_uri") == "" || (p.RedirectURL != "" && q.Get("redirect_uri") != p.RedirectURL):
		return fmt.Errorf("redirect_uri %q is not registered", q.Get("redirect_uri"))
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		return errors.New("PKCE with S256 is required")
	case q.Get("state") == "" || q.Get("nonce") == "":
		return errors.New("state and nonce are required")
	}
	return nil
}

var page = template.Must(template.New("").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head>
<body><h1>Test identity provider</h1>
<form method="post" action="/authorize" id="idp-form">
{{range $k, $v := .}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">
{{end}}<label for="email">Email</label> <input id="email" name="email" type="email" required>
<label><input type="checkbox" id="email_verified" name="email_verified" value="true" checked> Email verified</label>
<button type="submit" id="idp-sign-in">Sign in</button>
</form></body></html>`))

// authorizePage shows the sign-in form for an authorization request.
func (p *Provider) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := p.checkAuthorize(q); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	keep := url.Values{}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "code_challenge", "code_challenge_method", "state", "nonce"} {
		keep.Set(k, q.Get(k))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, keep)
}

// authorize takes the sign-in form and sends the browser back with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	loc, err := p.Approve(r.PostForm, r.PostForm.Get("email"), r.PostForm.Get("email_verified") == "true")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// Approve signs in the person with this email for the authorization request q (the
// query of the authorization URL) and returns where the browser goes next: the
// redirect URI with a code and the state.
func (p *Provider) Approve(q url.Values, email string, verified bool) (string, error) {
	if err := p.checkAuthorize(q); err != nil {
		return "", err
	}
	code := random()
	p.mu.Lock()
	p.grants[code] = grant{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce"),
		email: email, verified: verified, expires: time.Now().Add(time.Minute)}
	p.mu.Unlock()
	u, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		return "", err
	}
	back := u.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	u.RawQuery = back.Encode()
	return u.String(), nil
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// token redeems a code: the client must authenticate with its secret and present
// the PKCE verifier of the code's challenge.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	bad := func(code, desc string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		bad("invalid_request", err.Error())
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		bad("unsupported_grant_type", "")
		return
	}
	p.mu.Lock()
	g, found := p.grants[r.PostForm.Get("code")]
	delete(p.grants, r.PostForm.Get("code")) // one use
	p.mu.Unlock()
	if !found || time.Now().After(g.expires) || r.PostForm.Get("redirect_uri") != g.redirectURI {
		bad("invalid_grant", "unknown, used or expired code, or another redirect_uri")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		bad("invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": p.URL, "sub": "sub-" + g.email, "aud": ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": g.nonce, "email": g.email, "email_verified": g.verified,
	}
	if p.Tamper != nil {
		p.Tamper(claims)
	}
	payload, _ := json.Marshal(claims)
	obj, err := p.signer.Sign(payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	idToken, _ := obj.CompactSerialize()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": random(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken,
	})
}

// endSession records an RP-initiated sign-out and sends the browser back.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.endSessions = append(p.endSessions, q)
	p.mu.Unlock()
	if back := q.Get("post_logout_redirect_uri"); back != "" {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><title>Signed out</title><h1>Signed out</h1>")
}

// EndSessions returns the sign-outs received so far, each as its query.
func (p *Provider) EndSessions() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.endSessions...)
}

// Env is the goodwill configuration that uses this provider.
func (p *Provider) Env() map[string]string {
	return map[string]string{
		"GOODWILL_OIDC_ISSUER":        p.URL,
		"GOODWILL_OIDC_CLIENT_ID":     ClientID,
		"GOODWILL_OIDC_CLIENT_SECRET": ClientSecret,
	}
}
