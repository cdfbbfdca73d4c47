package service

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/goodwillhq/goodwill/webhooks/workable"
)

// subdomainRE is a Workable account's subdomain: <subdomain>.workable.com.
var subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// loadWorkable reads the Workable account the ATS sync reads (docs/connecting-your-ats.md,
// "Workable"): an account token (GOODWILL_WORKABLE_TOKEN), the account's subdomain
// (GOODWILL_WORKABLE_SUBDOMAIN) and where its API is (GOODWILL_WORKABLE_API_URL,
// https://<subdomain>.workable.com/spi/v3 by default). The sync of Workable is on when
// the token is set.
func loadWorkable(c *Config, get func(name, def string) string) error {
	bad := func(name, msg string) error { return &ConfigError{Var: name, Msg: msg} }
	w := workable.Config{
		Token:     strings.TrimSpace(get("GOODWILL_WORKABLE_TOKEN", "")),
		Subdomain: strings.ToLower(strings.TrimSpace(get("GOODWILL_WORKABLE_SUBDOMAIN", ""))),
		APIURL:    strings.TrimRight(strings.TrimSpace(get("GOODWILL_WORKABLE_API_URL", "")), "/"),
	}
	switch {
	case w.Subdomain != "" && !subdomainRE.MatchString(w.Subdomain):
		return bad("GOODWILL_WORKABLE_SUBDOMAIN", "must be the account's subdomain, the acme of acme.workable.com")
	case w.Token != "" && w.Subdomain == "" && w.APIURL == "":
		return bad("GOODWILL_WORKABLE_SUBDOMAIN", "is required with GOODWILL_WORKABLE_TOKEN: the acme of acme.workable.com")
	case w.Token == "" && (w.Subdomain != "" || w.APIURL != ""):
		return bad("GOODWILL_WORKABLE_TOKEN", "is required with GOODWILL_WORKABLE_SUBDOMAIN and GOODWILL_WORKABLE_API_URL: an account token from Settings → Integrations → Apps")
	}
	if w.APIURL != "" {
		u, err := url.Parse(w.APIURL)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
			(u.Scheme != "https" && (u.Scheme != "http" || !loopbackHost(u.Hostname()))) {
			return bad("GOODWILL_WORKABLE_API_URL", "must be an https URL like https://acme.workable.com/spi/v3 (http only on localhost)")
		}
	}
	c.Workable = w
	return nil
}
