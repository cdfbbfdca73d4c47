package slack_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/alerts/slack"
	"github.com/goodwillhq/goodwill/alerts/slack/slacktest"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// TestVerify: only a request signed with the app's secret, within 5 minutes of now,
// is Slack's.
func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte("payload=%7B%7D")
	tests := []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		// Signed now: good.
		{"good", slacktest.Signed(secret, body, now), body, nil},
		// Signed 4 minutes ago: still good.
		{"recent", slacktest.Signed(secret, body, now.Add(-4*time.Minute)), body, nil},
		// Another secret: forged.
		{"forged", slacktest.Signed("not the secret", body, now), body, slack.ErrBadSignature},
		// The body changed after signing.
		{"tampered", slacktest.Signed(secret, body, now), []byte("payload=%7B%7D%20"), slack.ErrBadSignature},
		// Six minutes old: a replay.
		{"old", slacktest.Signed(secret, body, now.Add(-6*time.Minute)), body, slack.ErrStale},
		// From the future.
		{"future", slacktest.Signed(secret, body, now.Add(6*time.Minute)), body, slack.ErrStale},
		// No headers.
		{"unsigned", http.Header{}, body, slack.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := slack.Verify(tt.h, tt.body, secret, now); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	// The timestamp is part of what is signed: moving it forward breaks the signature.
	h := slacktest.Signed(secret, body, now.Add(-6*time.Minute))
	h.Set("X-Slack-Request-Timestamp", "1800000000")
	if err := slack.Verify(h, body, secret, now); !errors.Is(err, slack.ErrBadSignature) {
		t.Errorf("a refreshed timestamp: %v", err)
	}
	if err := slack.Verify(slacktest.Signed("", body, now), body, "", now); !errors.Is(err, slack.ErrBadSignature) {
		t.Errorf("no secret configured: %v", err)
	}
}

// TestParseClick: the fake's clicks on each button parse to their verb and alert.
func TestParseClick(t *testing.T) {
	f := fake(t)
	c := newClient(t, f.APIURL(), 5*time.Second)
	if _, err := c.Post(context.Background(), "U1ANN", breach); err != nil {
		t.Fatal(err)
	}
	m := f.Messages("U1ANN")[0]
	for _, tt := range []struct {
		action, verb string
		dur          time.Duration
	}{{slack.ActionAck, slack.VerbAck, 0}, {slack.ActionSnooze1h, slack.VerbSnooze, time.Hour}, {slack.ActionSnooze1d, slack.VerbSnooze, 24 * time.Hour}} {
		click, err := slack.ParseClick(f.Click(m, "U2BOB", tt.action, breach.Alerts[0].ID, "r"))
		if err != nil {
			t.Fatal(err)
		}
		if click.Verb != tt.verb || click.For != tt.dur || click.UserID != "U2BOB" || click.AlertID != breach.Alerts[0].ID ||
			click.ChannelID != "DU1ANN" || click.MessageTS != m.TS || click.BlockID != "goodwill_actions_0" ||
			click.ResponseURL != f.ResponseURL("r") || len(click.Blocks) != 3 {
			t.Errorf("%s: %+v", tt.action, click)
		}
	}
	if _, err := slack.ParseClick(f.Click(m, "U2BOB", "other_button", "x", "r")); !errors.Is(err, slack.ErrNotAClick) {
		t.Errorf("another button: %v", err)
	}
	if _, err := slack.ParseClick([]byte("payload=%7B%22type%22%3A%22view_submission%22%7D")); !errors.Is(err, slack.ErrNotAClick) {
		t.Errorf("a view submission: %v", err)
	}
	for _, bad := range []string{"", "payload=", "payload=not-json", "%zz"} {
		if _, err := slack.ParseClick([]byte(bad)); err == nil || errors.Is(err, slack.ErrNotAClick) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// FuzzParseClick: no payload panics the parser, and a click always names a user, an
// alert and a verb.
func FuzzParseClick(f *testing.F) {
	srv := slacktest.New(token)
	defer srv.Close()
	f.Add(srv.Click(slacktest.Message{Channel: "DU1", TS: "1.000001", Blocks: []byte(`[{"type":"actions","block_id":"b","elements":[{"type":"button","action_id":"goodwill_ack","value":"a1"}]}]`)},
		"U1", slack.ActionAck, "a1", "r"))
	f.Add([]byte("payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%5D%7D"))
	f.Add([]byte("payload=null"))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := slack.ParseClick(body)
		if err == nil && (c.UserID == "" || c.AlertID == "" || (c.Verb != slack.VerbAck && c.Verb != slack.VerbSnooze)) {
			t.Errorf("an incomplete click: %+v", c)
		}
	})
}
