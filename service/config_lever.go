package service

import (
	"net/url"
	"strings"
)

// LeverSyncConfig is what the Lever sync (webhooks/lever) reads Lever's API with. It
// is on when APIKey is set.
type LeverSyncConfig struct {
	APIKey string // GOODWILL_LEVER_API_KEY: Basic auth, the key as user name
	// APIURL is GOODWILL_LEVER_API_URL without a trailing slash: Lever's
	// https://api.lever.co/v1 by default, https://api.eu.lever.co/v1 for EU accounts;
	// tests point it at a fake.
	APIURL string
}

// Enabled reports whether the Lever sync is configured.
func (l LeverSyncConfig) Enabled() bool { return l.APIKey != "" }

// loadLeverSync reads GOODWILL_LEVER_API_KEY and GOODWILL_LEVER_API_URL into
// c.LeverSync.
func loadLeverSync(c *Config, get func(name, def string) string) error {
	l := LeverSyncConfig{
		APIKey: strings.TrimSpace(get("GOODWILL_LEVER_API_KEY", "")),
		APIURL: strings.TrimRight(strings.TrimSpace(get("GOODWILL_LEVER_API_URL", "https://api.lever.co/v1")), "/"),
	}
	if err := checkAPIURL("GOODWILL_LEVER_API_URL", l.APIURL, "https://api.lever.co/v1"); err != nil {
		return err
	}
	c.LeverSync = l
	return nil
}

// checkAPIURL returns a *ConfigError for the variable name unless v is an http(s) URL
// with a host and no query, fragment or user info, such as like (a vendor's API
// root, which tests point at a fake).
func checkAPIURL(name, v, like string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return &ConfigError{Var: name, Msg: "\"" + v + "\" is not an http(s) URL like " + like}
	}
	return nil
}
