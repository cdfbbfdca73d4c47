package service

import (
	"net/url"
	"strings"

	"github.com/goodwillhq/goodwill/webhooks/ashby"
)

// AshbySyncConfig is what the Ashby sync (webhooks/ashby) reads Ashby's API with. It
// is on when APIKey is set.
type AshbySyncConfig struct {
	APIKey string // GOODWILL_ASHBY_API_KEY: Basic auth, the key as user name
	// APIURL is GOODWILL_ASHBY_API_URL without a trailing slash: Ashby's
	// https://api.ashbyhq.com by default; tests point it at a fake.
	APIURL string
}

// Enabled reports whether the Ashby sync is configured.
func (a AshbySyncConfig) Enabled() bool { return a.APIKey != "" }

// loadAshbySync reads GOODWILL_ASHBY_API_KEY and GOODWILL_ASHBY_API_URL into
// c.AshbySync.
func loadAshbySync(c *Config, get func(name, def string) string) error {
	a := AshbySyncConfig{
		APIKey: strings.TrimSpace(get("GOODWILL_ASHBY_API_KEY", "")),
		APIURL: strings.TrimRight(strings.TrimSpace(get("GOODWILL_ASHBY_API_URL", ashby.DefaultAPIURL)), "/"),
	}
	u, err := url.Parse(a.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return &ConfigError{Var: "GOODWILL_ASHBY_API_URL", Msg: "\"" + a.APIURL + "\" is not an http(s) URL like " + ashby.DefaultAPIURL}
	}
	c.AshbySync = a
	return nil
}
