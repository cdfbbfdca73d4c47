package service

import (
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
	if err := checkAPIURL("GOODWILL_ASHBY_API_URL", a.APIURL, ashby.DefaultAPIURL); err != nil {
		return err
	}
	c.AshbySync = a
	return nil
}
