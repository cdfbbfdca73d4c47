package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/slack"
	"github.com/goodwillhq/goodwill/alerts/slack/slacktest"
)

const token = "xoxb-test-token"

// plain returns JSON without its HTML escapes (\u003c for <), to search in.
func plain(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func newClient(t *testing.T, apiURL string, timeout time.Duration) *slack.Client {
	t.Helper()
	c, err := slack.New(slack.Config{Token: token, APIURL: apiURL, QueueURL: "https://goodwill.example/queue",
		HTTPClient: &http.Client{Timeout: timeout}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fake(t *testing.T) *slacktest.Server {
	t.Helper()
	f := slacktest.New(token)
	t.Cleanup(f.Close)
	f.AddUser("U1ANN", "ann@example.com")
	f.AddUser("U2BOB", "bob@example.com")
	return f
}

var breach = alerts.Message{
	Recipient: alerts.Recipient{RecruiterID: "ann"},
	Alerts: []alerts.Item{{ID: "in-1:first_response:breached", Code: "7F3K", Level: alerts.LevelBreached,
		Candidate: "Jane <Doe>", Job: "Backend Engineer", Metric: "first_response", By: 2*time.Hour + 15*time.Minute}},
}

// TestPost: an alert goes as a DM naming the candidate, the job, what is overdue and by
// how long, with three buttons, a link to the queue, and the alert id in its metadata;
// the DM is opened once per user.
func TestPost(t *testing.T) {
	f := fake(t)
	c := newClient(t, f.APIURL(), 5*time.Second)
	ctx := context.Background()
	id, err := c.Post(ctx, "U1ANN", breach)
	if err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages("U1ANN")
	if len(msgs) != 1 || id != "DU1ANN/"+msgs[0].TS {
		t.Fatalf("id %q, messages %+v", id, msgs)
	}
	blocks := plain(t, msgs[0].Blocks)
	for _, want := range []string{"Jane &lt;Doe&gt;", "Backend Engineer", "first response", "Overdue by 2h 15m",
		`"action_id":"goodwill_ack"`, `"action_id":"goodwill_snooze_1h"`, `"action_id":"goodwill_snooze_1d"`,
		`"value":"in-1:first_response:breached"`, "https://goodwill.example/queue", "Acknowledge", "Snooze 1h", "Snooze 1d"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the blocks lack %q: %s", want, blocks)
		}
	}
	var md goslack.SlackMetadata
	if err := json.Unmarshal(msgs[0].Metadata, &md); err != nil || md.EventType != slack.MetadataEventType ||
		len(md.EventPayload["alert_ids"].([]any)) != 1 {
		t.Errorf("metadata %s (%v)", msgs[0].Metadata, err)
	}
	if !strings.Contains(msgs[0].Text, "Jane <Doe>") {
		t.Errorf("text %q", msgs[0].Text)
	}
	if _, err := c.Post(ctx, "U1ANN", breach); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls("conversations.open"); n != 1 {
		t.Errorf("conversations.open called %d times for one user", n)
	}
}

// TestFaults: Slack's failures map onto the alerts taxonomy.
func TestFaults(t *testing.T) {
	tests := []struct {
		name        string
		user        string
		method      string
		fault       slacktest.Fault
		kind        alerts.Failure
		unreachable bool
		code        string
	}{
		// 429 with Retry-After: Slack did not take it.
		{"rate limited", "U1ANN", "chat.postMessage", slacktest.Fault{Status: 429, RetryAfter: 30}, alerts.Retryable, false, ""},
		// ok:false ratelimited: the same.
		{"ratelimited", "U1ANN", "chat.postMessage", slacktest.Fault{Error: "ratelimited"}, alerts.Retryable, false, "ratelimited"},
		// A 5xx: Slack is down.
		{"503", "U1ANN", "chat.postMessage", slacktest.Fault{Status: 503}, alerts.Retryable, false, ""},
		// fatal_error on a post: it may have been posted.
		{"fatal on post", "U1ANN", "chat.postMessage", slacktest.Fault{Error: "fatal_error"}, alerts.Ambiguous, false, "fatal_error"},
		// The four codes that mean the user cannot be reached: fall back to email.
		{"channel_not_found", "U1ANN", "chat.postMessage", slacktest.Fault{Error: "channel_not_found"}, alerts.Permanent, true, "channel_not_found"},
		{"not_in_channel", "U1ANN", "chat.postMessage", slacktest.Fault{Error: "not_in_channel"}, alerts.Permanent, true, "not_in_channel"},
		{"account_inactive", "U1ANN", "chat.postMessage", slacktest.Fault{Error: "account_inactive"}, alerts.Permanent, true, "account_inactive"},
		// An unknown user: conversations.open refuses.
		{"user_not_found", "U9NOONE", "", slacktest.Fault{}, alerts.Permanent, true, "user_not_found"},
		// Refused for another reason: permanent, but the user may be reachable.
		{"invalid_blocks", "U1ANN", "chat.postMessage", slacktest.Fault{Error: "invalid_blocks"}, alerts.Permanent, false, "invalid_blocks"},
		{"missing_scope", "U1ANN", "conversations.open", slacktest.Fault{Error: "missing_scope"}, alerts.Permanent, false, "missing_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fake(t)
			if tt.method != "" {
				f.Fail(tt.method, tt.fault)
			}
			_, err := slack.Channel(newClient(t, f.APIURL(), 5*time.Second)).Send(context.Background(), tt.user, breach)
			var se *alerts.SendError
			var e *slack.Error
			if !errors.As(err, &se) || !errors.As(err, &e) {
				t.Fatalf("err %v", err)
			}
			if se.Failure != tt.kind || se.Unreachable != tt.unreachable || e.Code != tt.code {
				t.Errorf("%v: kind %v unreachable %v code %q, want %v %v %q", err, se.Failure, se.Unreachable, e.Code, tt.kind, tt.unreachable, tt.code)
			}
			if tt.fault.Status == 429 && (e.RetryAfter != 30*time.Second || se.RetryAfter != 30*time.Second) {
				t.Errorf("Retry-After %v", e.RetryAfter)
			}
		})
	}
}

// TestWrongToken: a refused token is permanent.
func TestWrongToken(t *testing.T) {
	f := fake(t)
	c, err := slack.New(slack.Config{Token: "xoxb-other", APIURL: f.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Post(context.Background(), "U1ANN", breach)
	var e *slack.Error
	if !errors.As(err, &e) || e.Kind != alerts.Permanent || e.Code != "invalid_auth" {
		t.Errorf("err %v", err)
	}
}

// TestLostAnswer: a post whose answer never comes is ambiguous, and Lookup finds the
// message by the alert id in its metadata; another alert's id finds nothing.
func TestLostAnswer(t *testing.T) {
	f := fake(t)
	hold := make(chan struct{})
	defer close(hold)
	c := newClient(t, f.APIURL(), 300*time.Millisecond)
	ctx := context.Background()
	since := time.Now()
	f.Fail("chat.postMessage", slacktest.Fault{Hold: hold})
	_, err := c.Post(ctx, "U1ANN", breach)
	if alerts.FailureOf(err) != alerts.Ambiguous {
		t.Fatalf("a lost answer: %v", err)
	}
	id, found, err := c.Lookup(ctx, "U1ANN", breach.Alerts[0].ID, since)
	if err != nil || !found || id != "DU1ANN/"+f.Messages("U1ANN")[0].TS {
		t.Errorf("lookup: %q %v %v", id, found, err)
	}
	if _, found, err := c.Lookup(ctx, "U1ANN", "in-2:first_response:breached", since); err != nil || found {
		t.Errorf("another alert found: %v %v", found, err)
	}
	if _, found, err := c.Lookup(ctx, "U2BOB", breach.Alerts[0].ID, since); err != nil || found {
		t.Errorf("found in another DM: %v %v", found, err)
	}
}

// TestLookupPages: Lookup reads further pages of the DM's history.
func TestLookupPages(t *testing.T) {
	f := fake(t)
	c := newClient(t, f.APIURL(), 5*time.Second)
	ctx := context.Background()
	since := time.Now()
	if _, err := c.Post(ctx, "U1ANN", breach); err != nil {
		t.Fatal(err)
	}
	other := breach
	other.Alerts = []alerts.Item{{ID: "other", Level: alerts.LevelWarning}}
	for range 250 {
		if _, err := c.Post(ctx, "U1ANN", other); err != nil {
			t.Fatal(err)
		}
	}
	if _, found, err := c.Lookup(ctx, "U1ANN", breach.Alerts[0].ID, since); err != nil || !found {
		t.Errorf("lookup past the first page: %v %v", found, err)
	}
}

// TestDroppedConnection: a connection dropped after the post was written is
// ambiguous; one refused before anything was written is retryable.
func TestDroppedConnection(t *testing.T) {
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "conversations.open") {
			_, _ = w.Write([]byte(`{"ok":true,"channel":{"id":"DX"}}`))
			return
		}
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	defer drop.Close()
	_, err := newClient(t, drop.URL+"/api/", 5*time.Second).Post(context.Background(), "U1ANN", breach)
	if alerts.FailureOf(err) != alerts.Ambiguous {
		t.Errorf("dropped after writing: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	_, err = newClient(t, "http://"+addr+"/api/", 5*time.Second).Post(context.Background(), "U1ANN", breach)
	if alerts.FailureOf(err) != alerts.Retryable {
		t.Errorf("refused: %v", err)
	}
}

// TestUserByEmail: a member is found by email; an unknown email is not found, without
// error; a rate limit is an error.
func TestUserByEmail(t *testing.T) {
	f := fake(t)
	c := newClient(t, f.APIURL(), 5*time.Second)
	ctx := context.Background()
	if id, found, err := c.UserByEmail(ctx, "Ann@Example.com"); err != nil || !found || id != "U1ANN" {
		t.Errorf("ann: %q %v %v", id, found, err)
	}
	if id, found, err := c.UserByEmail(ctx, "carol@example.com"); err != nil || found || id != "" {
		t.Errorf("carol: %q %v %v", id, found, err)
	}
	f.Fail("users.lookupByEmail", slacktest.Fault{Status: 429, RetryAfter: 5})
	if _, _, err := c.UserByEmail(ctx, "ann@example.com"); alerts.FailureOf(err) != alerts.Retryable {
		t.Errorf("rate limited: %v", err)
	}
}

// TestUpdateAndEphemeral: chat.update replaces the blocks; an ephemeral answer goes to
// the response_url.
func TestUpdateAndEphemeral(t *testing.T) {
	f := fake(t)
	c := newClient(t, f.APIURL(), 5*time.Second)
	ctx := context.Background()
	id, err := c.Post(ctx, "U1ANN", breach)
	if err != nil {
		t.Fatal(err)
	}
	channel, ts, _ := strings.Cut(id, "/")
	at := time.Date(2026, 11, 4, 15, 4, 0, 0, time.UTC)
	blocks := slack.Acted(slack.Blocks(breach, ""), "goodwill_actions_0", "Acknowledged", "U1ANN", at)
	if err := c.Update(ctx, channel, ts, "acknowledged", blocks); err != nil {
		t.Fatal(err)
	}
	m := f.Messages("U1ANN")[0]
	if b := plain(t, m.Blocks); m.Updated != 1 || strings.Contains(b, "goodwill_ack") ||
		!strings.Contains(b, "Acknowledged by <@U1ANN>") || !strings.Contains(b, "4 Nov 2026 15:04 UTC") {
		t.Errorf("updated %d: %s", m.Updated, m.Blocks)
	}
	if err := c.Ephemeral(ctx, f.ResponseURL("r1"), "not yours"); err != nil {
		t.Fatal(err)
	}
	e := f.Ephemerals()
	if len(e) != 1 || e[0].Body["response_type"] != "ephemeral" || e[0].Body["text"] != "not yours" || e[0].Body["replace_original"] != false {
		t.Errorf("ephemerals %+v", e)
	}
}

// TestGroupedBlocks: a grouped message lists at most 15 alerts with buttons, and
// counts the others.
func TestGroupedBlocks(t *testing.T) {
	m := alerts.Message{}
	for range 20 {
		m.Alerts = append(m.Alerts, breach.Alerts[0])
	}
	blocks := slack.Blocks(m, "https://q")
	if len(blocks) != 15*2+2 {
		t.Errorf("%d blocks", len(blocks))
	}
	if !strings.Contains(slack.Summary(m), "and 19 more") {
		t.Errorf("summary %q", slack.Summary(m))
	}
}

// TestRedact: an erasure leaves the message naming no one; a message Slack no longer
// has is a permanent failure.
func TestRedact(t *testing.T) {
	f := fake(t)
	c := newClient(t, f.APIURL(), 5*time.Second)
	ctx := context.Background()
	id, err := c.Post(ctx, "U1ANN", breach)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Redact(ctx, id); err != nil {
		t.Fatal(err)
	}
	m := f.Messages("U1ANN")[0]
	if m.Text != slack.Redacted || strings.Contains(string(m.Blocks), "Jane") {
		t.Errorf("after redaction: %q %s", m.Text, m.Blocks)
	}
	if err := c.Redact(ctx, "DU1ANN/1.999999"); alerts.FailureOf(err) != alerts.Permanent {
		t.Errorf("a message that is gone: %v", err)
	}
}
