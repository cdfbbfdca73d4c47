package service_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/webhooks/workable"
)

// TestLoadConfigWorkable: the Workable sync's token, subdomain and API URL.
func TestLoadConfigWorkable(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want workable.Config
	}{
		// Nothing set: the sync is off.
		{"unset", env(), workable.Config{}},
		// A token and a subdomain turn it on; blanks and capitals are dropped.
		{"token", env("GOODWILL_WORKABLE_TOKEN", " t0k ", "GOODWILL_WORKABLE_SUBDOMAIN", " Acme "),
			workable.Config{Token: "t0k", Subdomain: "acme"}},
		// A local fake over http, its trailing slash dropped, with no subdomain.
		{"fake", env("GOODWILL_WORKABLE_TOKEN", "t", "GOODWILL_WORKABLE_API_URL", "http://127.0.0.1:8089/spi/v3/"),
			workable.Config{Token: "t", APIURL: "http://127.0.0.1:8089/spi/v3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadEnv(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.Workable); diff != "" {
				t.Errorf("Workable (-want +got):\n%s", diff)
			}
			if c.Workable.Configured() != (tc.want.Token != "") {
				t.Errorf("Configured() = %v", c.Workable.Configured())
			}
		})
	}
	for _, tc := range []struct {
		env map[string]string
		bad string // the variable the error names
	}{
		// A token without the account.
		{env("GOODWILL_WORKABLE_TOKEN", "t"), "GOODWILL_WORKABLE_SUBDOMAIN"},
		// An account without a token.
		{env("GOODWILL_WORKABLE_SUBDOMAIN", "acme"), "GOODWILL_WORKABLE_TOKEN"},
		// The whole host instead of the subdomain.
		{env("GOODWILL_WORKABLE_TOKEN", "t", "GOODWILL_WORKABLE_SUBDOMAIN", "acme.workable.com"), "GOODWILL_WORKABLE_SUBDOMAIN"},
		// Plain http off the machine: the token would travel in clear.
		{env("GOODWILL_WORKABLE_TOKEN", "t", "GOODWILL_WORKABLE_SUBDOMAIN", "acme", "GOODWILL_WORKABLE_API_URL", "http://acme.workable.com/spi/v3"), "GOODWILL_WORKABLE_API_URL"},
		// A query in the base URL.
		{env("GOODWILL_WORKABLE_TOKEN", "t", "GOODWILL_WORKABLE_API_URL", "https://acme.workable.com/spi/v3?x=1"), "GOODWILL_WORKABLE_API_URL"},
	} {
		_, err := loadEnv(tc.env)
		var ce *service.ConfigError
		if !errors.As(err, &ce) || ce.Var != tc.bad {
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.bad)
		}
	}
}
