package service_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service"
)

// TestLoadConfigSlack: the Slack app's token, signing secret and API URL.
func TestLoadConfigSlack(t *testing.T) {
	const api = "https://slack.com/api/"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want service.SlackConfig
	}{
		// Nothing set: Slack is off.
		{"unset", env(), service.SlackConfig{APIURL: api}},
		// Token and secret turn it on.
		{"on", env("GOODWILL_SLACK_BOT_TOKEN", " xoxb-1-2 ", "GOODWILL_SLACK_SIGNING_SECRET", "s3", "GOODWILL_PUBLIC_URL", "https://gw.example.com"),
			service.SlackConfig{BotToken: "xoxb-1-2", SigningSecret: "s3", APIURL: api}},
		// A fake's URL gets its trailing slash.
		{"fake", env("GOODWILL_SLACK_API_URL", "http://127.0.0.1:8089/api"), service.SlackConfig{APIURL: "http://127.0.0.1:8089/api/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadEnv(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.Slack); diff != "" {
				t.Errorf("Slack (-want +got):\n%s", diff)
			}
			if c.Slack.Enabled() != (tc.want.BotToken != "") {
				t.Errorf("Enabled() = %v", c.Slack.Enabled())
			}
		})
	}
	for _, tc := range []struct {
		env map[string]string
		bad string // the variable named
	}{
		{env("GOODWILL_SLACK_BOT_TOKEN", "xoxb-1"), "GOODWILL_SLACK_SIGNING_SECRET"},
		// The messages link to the queue, and Slack's interactivity URL is public.
		{env("GOODWILL_SLACK_BOT_TOKEN", "xoxb-1", "GOODWILL_SLACK_SIGNING_SECRET", "s"), "GOODWILL_PUBLIC_URL"},
		{env("GOODWILL_SLACK_SIGNING_SECRET", "s"), "GOODWILL_SLACK_BOT_TOKEN"},
		{env("GOODWILL_SLACK_BOT_TOKEN", "xoxb 1", "GOODWILL_SLACK_SIGNING_SECRET", "s", "GOODWILL_PUBLIC_URL", "https://gw.example.com"), "GOODWILL_SLACK_BOT_TOKEN"},
		{env("GOODWILL_SLACK_API_URL", "slack.com/api"), "GOODWILL_SLACK_API_URL"},
		{env("GOODWILL_SLACK_API_URL", "https://x@slack.com/api/"), "GOODWILL_SLACK_API_URL"},
	} {
		_, err := loadEnv(tc.env)
		var ce *service.ConfigError
		if !errors.As(err, &ce) || ce.Var != tc.bad {
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.bad)
		}
	}
}
