package service

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
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

const (
	sessionCookie     = "goodwill_session"
	loginCookie       = "goodwill_login"
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
func (s *Server) signed(purpose, msg, sig string) bool {
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
func (s *Server) newSession(keyHash string, now time.Time) string {
	payload := keyHash + "." + strconv.FormatInt(now.Add(sessionLifetime).Unix(), 10) + "." + newNonce()
	return payload + "." + sign(s.signingKeys[0], "session", payload)
}

// sessionKeyHash returns the key hash a session cookie names and the session's
// expiry, if its signature is good and it has not expired.
func (s *Server) sessionKeyHash(value string, now time.Time) (string, time.Time, bool) {
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

// sessionID names a session in the store without its cookie, which would open it.
func sessionID(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// csrfToken is the token the forms of a session carry.
func (s *Server) csrfToken(session string) string {
	return sign(s.signingKeys[0], "csrf", session)
}

// loginToken is the token of the sign-in form whose cookie holds nonce.
func (s *Server) loginToken(nonce string) string {
	return sign(s.signingKeys[0], "login-csrf", nonce)
}

// loginNonce returns the nonce of the sign-in form's cookie, or a fresh one (set in
// the cookie) when there is none.
func (s *Server) loginNonce(c *gin.Context) string {
	if v, err := c.Cookie(loginCookie); err == nil && len(v) == 32 {
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
func (s *Server) checkLoginToken(c *gin.Context) bool {
	nonce, err := c.Cookie(loginCookie)
	return err == nil && nonce != "" && s.signed("login-csrf", nonce, c.PostForm(csrfField))
}

// setCookie sets an HttpOnly cookie, Secure when the request came over HTTPS or the
// public URL is HTTPS. maxAge < 0 deletes it.
func (s *Server) setCookie(c *gin.Context, name, value, path string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.https(c), SameSite: sameSite,
	})
}

// https reports whether the browser reached us over HTTPS (directly, through a proxy
// that says so, or as the public URL promises).
func (s *Server) https(c *gin.Context) bool {
	return c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") ||
		strings.HasPrefix(s.cfg.PublicURL, "https://")
}
