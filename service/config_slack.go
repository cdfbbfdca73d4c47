package service

import (
	"strings"

	slackalerts "github.com/goodwillhq/goodwill/alerts/slack"
)

// SlackConfig is the Slack app alerts are sent with (alerts/slack): on when BotToken
// is set, and then SigningSecret, which signs the clicks on its buttons, is required.
type SlackConfig struct {
	BotToken      string // GOODWILL_SLACK_BOT_TOKEN, "xoxb-…"
	SigningSecret string // GOODWILL_SLACK_SIGNING_SECRET
	// APIURL is GOODWILL_SLACK_API_URL, with a trailing slash: Slack's Web API by
	// default; tests point it at a fake.
	APIURL string
}

// Enabled reports whether the slack channel is configured.
func (s SlackConfig) Enabled() bool { return s.BotToken != "" }

// slackSettings are the Slack settings, in the order of docs/configuration.md.
var slackSettings = []Setting{
	{"GOODWILL_SLACK_BOT_TOKEN", ""},
	{"GOODWILL_SLACK_SIGNING_SECRET", ""},
	{"GOODWILL_SLACK_API_URL", slackalerts.DefaultAPIURL},
}

// loadSlack reads the Slack settings into c.Slack.
func loadSlack(c *Config, get func(name, def string) string) error {
	s := SlackConfig{
		BotToken:      strings.TrimSpace(get("GOODWILL_SLACK_BOT_TOKEN", "")),
		SigningSecret: strings.TrimSpace(get("GOODWILL_SLACK_SIGNING_SECRET", "")),
		APIURL:        strings.TrimSpace(get("GOODWILL_SLACK_API_URL", slackalerts.DefaultAPIURL)),
	}
	if !strings.HasSuffix(s.APIURL, "/") {
		s.APIURL += "/"
	}
	if err := checkAPIURL("GOODWILL_SLACK_API_URL", s.APIURL, "https://slack.com/api/"); err != nil {
		return err
	}
	switch {
	case s.BotToken != "" && strings.ContainsAny(s.BotToken, " \t\r\n"):
		return &ConfigError{Var: "GOODWILL_SLACK_BOT_TOKEN", Msg: "must be the bot token as Slack shows it (xoxb-…), without white space"}
	case s.BotToken != "" && s.SigningSecret == "":
		return &ConfigError{Var: "GOODWILL_SLACK_SIGNING_SECRET", Msg: "is required with GOODWILL_SLACK_BOT_TOKEN: it checks the clicks on the alerts' buttons"}
	case s.BotToken == "" && s.SigningSecret != "":
		return &ConfigError{Var: "GOODWILL_SLACK_BOT_TOKEN", Msg: "is required with GOODWILL_SLACK_SIGNING_SECRET"}
	}
	c.Slack = s
	return nil
}
