package service

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Browser sessions and CSRF protection for the pages (pages.go).
//
// A session cookie is "<key hash>.<expiry>.<nonce>.<signature>": the stored hash (the
// _id) of the API key it was opened with, its expiry in Unix seconds, a random nonce
// that makes each session its own, and an HMAC-SHA256 of the three under the signing
// key. Every request looks the key up by that hash, so deleting a key ends its
// sessions at once; signing out records the session as revoked (auth.Sessions), so a
// copy of its cookie opens nothing either. Forms of a session carry the token
// HMAC(signing key, "csrf|" + cookie value); the sign-in form, which has no session
// yet, carries HMAC(signing key, "login-csrf|" + nonce) for a random nonce kept in a
// cookie of its own (a signed double submit).
//
// When the public URL is https the cookies carry the __Host- prefix: browsers then
// take them only with Secure, Path=/ and no Domain, over https, so that neither a
// sibling subdomain nor a plain-http page can plant or overwrite them. Over plain
// http (make run) they keep their bare names, which browsers accept there.

const (
	sessionCookie     = "goodwill_session"
	loginCookie       = "goodwill_login"
	hostPrefix        = "__Host-"
	sessionLifetime   = 12 * time.Hour
	loginFormLifetime = 2 * time.Hour
	csrfField         = "csrf_token"
)

// sign returns hex HMAC-SHA256 of purpose|msg under key.
func sign(key []byte, purpose, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose + "|" + msg))
	return hex.EncodeToString(m.Sum(nil))
}

// signed reports whether sig signs purpose|msg under any signing key, so that a
// rotation (a new key first) keeps sessions opened before it.
func (s *api) signed(purpose, msg, sig string) bool {
	if sig == "" {
		return false
	}
	for _, k := range s.signingKeys {
		if hmac.Equal([]byte(sign(k, purpose, msg)), []byte(sig)) {
			return true
		}
	}
	return false
}

// newSession returns the cookie value of a session for the key with this hash.
func (s *api) newSession(keyHash string, now time.Time) string {
	payload := keyHash + "." + strconv.FormatInt(now.Add(sessionLifetime).Unix(), 10) + "." + newNonce()
	return payload + "." + sign(s.signingKeys[0], "session", payload)
}

// sessionKeyHash returns the key hash a session cookie names and the session's
// expiry, if its signature is good and it has not expired.
func (s *api) sessionKeyHash(value string, now time.Time) (string, time.Time, bool) {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return "", time.Time{}, false
	}
	payload, sig := value[:i], value[i+1:]
	if !s.signed("session", payload, sig) {
		return "", time.Time{}, false
	}
	parts := strings.Split(payload, ".")
	if len(parts) < 2 {
		return "", time.Time{}, false
	}
	t, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now.Unix() >= t {
		return "", time.Time{}, false
	}
	return parts[0], time.Unix(t, 0), true
}

// sessionSigned reports whether goodwill signed this session cookie, whether or not
// it has expired since.
func (s *api) sessionSigned(value string) bool {
	i := strings.LastIndexByte(value, '.')
	return i >= 0 && s.signed("session", value[:i], value[i+1:])
}

// sessionID names a session in the store without its cookie, which would open it.
func sessionID(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// csrfToken is the token the forms of a session carry.
func (s *api) csrfToken(session string) string {
	return sign(s.signingKeys[0], "csrf", session)
}

// loginToken is the token of the sign-in form whose cookie holds nonce.
func (s *api) loginToken(nonce string) string {
	return sign(s.signingKeys[0], "login-csrf", nonce)
}

// loginNonce returns the nonce of the sign-in form's cookie, or a fresh one (set in
// the cookie) when there is none.
func (s *api) loginNonce(c *gin.Context) string {
	if v, err := c.Cookie(s.cookieName(loginCookie)); err == nil && len(v) == 32 {
		if _, err := hex.DecodeString(v); err == nil {
			return v
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	nonce := hex.EncodeToString(b)
	s.setCookie(c, loginCookie, nonce, "/login", int(loginFormLifetime/time.Second), http.SameSiteStrictMode)
	return nonce
}

// checkLoginToken verifies the sign-in form's token against its cookie.
func (s *api) checkLoginToken(c *gin.Context) bool {
	nonce, err := c.Cookie(s.cookieName(loginCookie))
	return err == nil && nonce != "" && s.signed("login-csrf", nonce, c.PostForm(csrfField))
}

// hostCookies reports whether cookies carry the __Host- prefix: when the public URL
// is https.
func (s *api) hostCookies() bool {
	return strings.HasPrefix(s.cfg.PublicURL, "https://")
}

// cookieName is the name a cookie goes by: with the __Host- prefix over https.
func (s *api) cookieName(name string) string {
	if s.hostCookies() {
		return hostPrefix + name
	}
	return name
}

// setCookie sets an HttpOnly cookie, Secure when the request came over HTTPS or the
// public URL is HTTPS. maxAge < 0 deletes it. With __Host- cookies (an https public
// URL) the name takes the prefix and the path is "/", as the prefix requires.
func (s *api) setCookie(c *gin.Context, name, value, path string, maxAge int, sameSite http.SameSite) {
	if s.hostCookies() {
		name, path = hostPrefix+name, "/"
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.https(c), SameSite: sameSite,
	})
}

// https reports whether the browser reached us over HTTPS: directly, through a
// trusted proxy (GOODWILL_TRUSTED_PROXIES) that says so in X-Forwarded-Proto, or as
// the public URL promises. X-Forwarded-Proto from any other address is ignored.
func (s *api) https(c *gin.Context) bool {
	return c.Request.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://") ||
		(s.fromTrustedProxy(c) && strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https"))
}

// fromTrustedProxy reports whether the request's peer is in GOODWILL_TRUSTED_PROXIES.
func (s *api) fromTrustedProxy(c *gin.Context) bool {
	if len(s.proxies) == 0 {
		return false
	}
	addr, err := netip.ParseAddr(c.RemoteIP())
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range s.proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
