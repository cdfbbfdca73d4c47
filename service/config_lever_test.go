package service_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service"
)

func loadEnv(env map[string]string) (service.Config, error) {
	return service.LoadConfig(func(name string) string { return env[name] })
}

// TestLoadConfigLeverSync: the Lever sync's key and API URL.
func TestLoadConfigLeverSync(t *testing.T) {
	const lever = "https://api.lever.co/v1"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want service.LeverSyncConfig
	}{
		// Nothing set: the sync is off; Lever's own URL.
		{"unset", env(), service.LeverSyncConfig{APIURL: lever}},
		// A key turns it on; blanks around it are dropped.
		{"key", env("GOODWILL_LEVER_API_KEY", " k3y "), service.LeverSyncConfig{APIKey: "k3y", APIURL: lever}},
		// An EU account's URL, its trailing slash dropped.
		{"eu url", env("GOODWILL_LEVER_API_KEY", "k", "GOODWILL_LEVER_API_URL", "https://api.eu.lever.co/v1/"),
			service.LeverSyncConfig{APIKey: "k", APIURL: "https://api.eu.lever.co/v1"}},
		// A local fake over http.
		{"fake", env("GOODWILL_LEVER_API_URL", "http://127.0.0.1:8089/v1"), service.LeverSyncConfig{APIURL: "http://127.0.0.1:8089/v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadEnv(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.LeverSync); diff != "" {
				t.Errorf("LeverSync (-want +got):\n%s", diff)
			}
			if c.LeverSync.Enabled() != (tc.want.APIKey != "") {
				t.Errorf("Enabled() = %v", c.LeverSync.Enabled())
			}
		})
	}
	for _, bad := range []string{"api.lever.co/v1", "ftp://api.lever.co", "https://", "https://api.lever.co/v1?x=1", "https://key@api.lever.co/v1"} {
		_, err := loadEnv(env("GOODWILL_LEVER_API_URL", bad))
		var ce *service.ConfigError
		if !errors.As(err, &ce) || ce.Var != "GOODWILL_LEVER_API_URL" {
			t.Errorf("GOODWILL_LEVER_API_URL=%q: %v, want an error naming the variable", bad, err)
		}
	}
}
