package service_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service"
)

// TestLoadConfigAshbySync: the Ashby sync's key and API URL.
func TestLoadConfigAshbySync(t *testing.T) {
	const ashby = "https://api.ashbyhq.com"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want service.AshbySyncConfig
	}{
		// Nothing set: the sync is off; Ashby's own URL.
		{"unset", env(), service.AshbySyncConfig{APIURL: ashby}},
		// A key turns it on; blanks around it are dropped.
		{"key", env("GOODWILL_ASHBY_API_KEY", " k3y "), service.AshbySyncConfig{APIKey: "k3y", APIURL: ashby}},
		// A trailing slash is dropped.
		{"slash", env("GOODWILL_ASHBY_API_KEY", "k", "GOODWILL_ASHBY_API_URL", "https://api.ashbyhq.com/"),
			service.AshbySyncConfig{APIKey: "k", APIURL: ashby}},
		// A local fake over http.
		{"fake", env("GOODWILL_ASHBY_API_URL", "http://127.0.0.1:8089"), service.AshbySyncConfig{APIURL: "http://127.0.0.1:8089"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadEnv(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.AshbySync); diff != "" {
				t.Errorf("AshbySync (-want +got):\n%s", diff)
			}
			if c.AshbySync.Enabled() != (tc.want.APIKey != "") {
				t.Errorf("Enabled() = %v", c.AshbySync.Enabled())
			}
		})
	}
	for _, bad := range []string{"api.ashbyhq.com", "ftp://api.ashbyhq.com", "https://", "https://api.ashbyhq.com?x=1", "https://key@api.ashbyhq.com"} {
		_, err := loadEnv(env("GOODWILL_ASHBY_API_URL", bad))
		var ce *service.ConfigError
		if !errors.As(err, &ce) || ce.Var != "GOODWILL_ASHBY_API_URL" {
			t.Errorf("GOODWILL_ASHBY_API_URL=%q: %v, want an error naming the variable", bad, err)
		}
	}
}
