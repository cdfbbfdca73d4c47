package service

import (
	"net/url"
	"strconv"

	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
)

// loadGreenhouse reads the Greenhouse Harvest v3 credential the ATS sync uses
// (README "Connecting your ATS"): a client id and secret from Greenhouse's Dev Center,
// the user the token acts as, and where the API and its token endpoint are. The sync
// of Greenhouse is on when the client id is set.
func loadGreenhouse(c *Config, get func(name, def string) string) error {
	bad := func(name, msg string) error { return &ConfigError{Var: name, Msg: msg} }
	g := greenhouse.Config{
		ClientID:     get("GOODWILL_GREENHOUSE_CLIENT_ID", ""),
		ClientSecret: get("GOODWILL_GREENHOUSE_CLIENT_SECRET", ""),
		UserID:       get("GOODWILL_GREENHOUSE_USER_ID", ""),
		APIURL:       get("GOODWILL_GREENHOUSE_API_URL", greenhouse.DefaultAPIURL),
		TokenURL:     get("GOODWILL_GREENHOUSE_TOKEN_URL", greenhouse.DefaultTokenURL),
	}
	switch {
	case g.ClientID == "" && (g.ClientSecret != "" || g.UserID != ""):
		return bad("GOODWILL_GREENHOUSE_CLIENT_ID", "is required with GOODWILL_GREENHOUSE_CLIENT_SECRET and GOODWILL_GREENHOUSE_USER_ID: the Harvest v3 credential's client id")
	case g.ClientID != "" && g.ClientSecret == "":
		return bad("GOODWILL_GREENHOUSE_CLIENT_SECRET", "is required with GOODWILL_GREENHOUSE_CLIENT_ID")
	}
	if g.UserID != "" {
		if n, err := strconv.ParseUint(g.UserID, 10, 64); err != nil || n == 0 {
			return bad("GOODWILL_GREENHOUSE_USER_ID", "must be the numeric id of a Greenhouse user (the number in app.greenhouse.io/account/users/<id>)")
		}
	}
	for name, v := range map[string]string{"GOODWILL_GREENHOUSE_API_URL": g.APIURL, "GOODWILL_GREENHOUSE_TOKEN_URL": g.TokenURL} {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
			(u.Scheme != "https" && (u.Scheme != "http" || !loopbackHost(u.Hostname()))) {
			return bad(name, "must be an https URL (http only on localhost)")
		}
	}
	c.Greenhouse = g
	return nil
}
