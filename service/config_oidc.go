package service

import (
	"net"
	"net/mail"
	"net/url"
	"strings"
)

// OIDCConfig turns on signing in through the organisation's identity provider
// (OpenID Connect, oidc.go). It is on when Issuer is set.
type OIDCConfig struct {
	Issuer       string   // GOODWILL_OIDC_ISSUER
	ClientID     string   // GOODWILL_OIDC_CLIENT_ID
	ClientSecret string   // GOODWILL_OIDC_CLIENT_SECRET
	Admins       []string // GOODWILL_OIDC_ADMINS: emails, lower-cased
	Domains      []string // GOODWILL_OIDC_ALLOWED_DOMAINS: lower-cased, without "@"
	// KeySignIn is false when GOODWILL_KEY_SIGNIN=off: the sign-in form takes no API
	// key, and sessions opened with one end. Pages still take a Bearer key.
	KeySignIn bool
}

// Enabled reports whether single sign-on is configured.
func (o OIDCConfig) Enabled() bool { return o.Issuer != "" }

// loadOIDC reads the GOODWILL_OIDC_* variables and GOODWILL_KEY_SIGNIN into c.OIDC.
// It runs before c.PublicURL gets its default: with single sign-on, the public URL
// must be given, since the provider redirects browsers to it.
func loadOIDC(c *Config, get func(name, def string) string) error {
	bad := func(name, msg string) error { return &ConfigError{Var: name, Msg: msg} }
	o := OIDCConfig{
		Issuer:       get("GOODWILL_OIDC_ISSUER", ""), // as the provider spells it: its discovery must match
		ClientID:     get("GOODWILL_OIDC_CLIENT_ID", ""),
		ClientSecret: get("GOODWILL_OIDC_CLIENT_SECRET", ""),
	}
	for _, e := range strings.Split(get("GOODWILL_OIDC_ADMINS", ""), ",") {
		if e = strings.ToLower(strings.TrimSpace(e)); e == "" {
			continue
		}
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			return bad("GOODWILL_OIDC_ADMINS", "\""+e+"\" is not an email address like ann@example.com")
		}
		o.Admins = append(o.Admins, e)
	}
	for _, d := range strings.Split(get("GOODWILL_OIDC_ALLOWED_DOMAINS", ""), ",") {
		if d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@"); d == "" {
			continue
		}
		if strings.ContainsAny(d, "@/: ") || !strings.Contains(d, ".") {
			return bad("GOODWILL_OIDC_ALLOWED_DOMAINS", "\""+d+"\" is not a domain like example.com")
		}
		o.Domains = append(o.Domains, d)
	}
	switch get("GOODWILL_KEY_SIGNIN", "on") {
	case "on":
		o.KeySignIn = true
	case "off":
	default:
		return bad("GOODWILL_KEY_SIGNIN", "must be on or off")
	}
	switch {
	case o.Issuer == "" && (o.ClientID != "" || o.ClientSecret != "" || len(o.Admins) > 0 || len(o.Domains) > 0):
		return bad("GOODWILL_OIDC_ISSUER", "is required with the other GOODWILL_OIDC_* variables: the URL of your identity provider")
	case o.Issuer == "":
		if !o.KeySignIn {
			return bad("GOODWILL_KEY_SIGNIN", "off needs single sign-on (GOODWILL_OIDC_ISSUER…): otherwise nobody could sign in")
		}
		c.OIDC = o
		return nil
	case o.ClientID == "":
		return bad("GOODWILL_OIDC_CLIENT_ID", "is required with GOODWILL_OIDC_ISSUER")
	case o.ClientSecret == "":
		return bad("GOODWILL_OIDC_CLIENT_SECRET", "is required with GOODWILL_OIDC_ISSUER")
	case c.PublicURL == "":
		return bad("GOODWILL_PUBLIC_URL", "is required with GOODWILL_OIDC_ISSUER: the identity provider sends people back to GOODWILL_PUBLIC_URL/login/oidc/callback")
	}
	u, err := url.Parse(o.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
		(u.Scheme != "https" && (u.Scheme != "http" || !loopbackHost(u.Hostname()))) {
		return bad("GOODWILL_OIDC_ISSUER", "must be an https URL like https://accounts.example.com (http only on localhost)")
	}
	c.OIDC = o
	return nil
}

// loopbackHost reports whether host is localhost or a loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
