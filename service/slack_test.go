package service_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/alerts/email/mailtest"
	slackalerts "github.com/goodwillhq/goodwill/alerts/slack"
	"github.com/goodwillhq/goodwill/alerts/slack/slacktest"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

const (
	slackToken  = "xoxb-1-goodwill-test"
	slackSecret = "a-signing-secret-of-the-app"
)

// newFakeSlack starts a fake Slack workspace whose members are alice, boss (alice's
// manager in the tests) and eve.
func newFakeSlack(t *testing.T) *slacktest.Server {
	t.Helper()
	f := slacktest.New(slackToken)
	t.Cleanup(f.Close)
	f.AddUser("U0ALICE", "alice@example.com")
	f.AddUser("U0BOSS", "boss@example.com")
	f.AddUser("U0EVE", "eve@example.com")
	return f
}

func fakeSlackEnv(f *slacktest.Server, more map[string]string) map[string]string {
	env := map[string]string{
		"GOODWILL_SLACK_BOT_TOKEN":      slackToken,
		"GOODWILL_SLACK_SIGNING_SECRET": slackSecret,
		"GOODWILL_SLACK_API_URL":        f.APIURL(),
		"GOODWILL_PUBLIC_URL":           alertsPublicURL,
	}
	maps.Copy(env, more)
	return env
}

// click posts a click to the interactions route, signed with secret at the moment at.
func click(t *testing.T, srv *servicetest.Instance, body []byte, secret string, at time.Time) servicetest.Response {
	t.Helper()
	h := slacktest.Signed(secret, body, at)
	return srv.Do(t, http.MethodPost, "/webhooks/slack/interactions", "", body,
		"Content-Type", h.Get("Content-Type"), "X-Slack-Request-Timestamp", h.Get("X-Slack-Request-Timestamp"),
		"X-Slack-Signature", h.Get("X-Slack-Signature"))
}

// alertState returns the state of the alert with that id.
func alertState(t *testing.T, srv *servicetest.Instance, id string) string {
	t.Helper()
	for _, a := range listAlerts(t, srv, "") {
		if a.ID == id {
			return a.State
		}
	}
	t.Fatalf("no alert %s", id)
	return ""
}

// TestSlackAlerts: a breach arrives as a Slack DM naming the candidate and the job,
// with buttons; forged, stale and someone else's clicks change nothing; the manager
// snoozes and the recipient acknowledges, each answered at once, recorded in the audit
// trail, and the message updated to say who did it.
func TestSlackAlerts(t *testing.T) {
	t.Parallel()
	sl := newFakeSlack(t)
	srv := servicetest.Start(t, fakeSlackEnv(sl, nil), service.Options{})
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	put := func(id string, body map[string]any) map[string]any {
		t.Helper()
		body["working_days"] = everyDay
		r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+id, servicetest.AdminKey, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", id, r.Status, r.Body)
		}
		return r.Map(t)
	}
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{"name": "fast",
		"metric": "first_response", "target": "2s", "calendar": "24x7", "warn_ratio": 1, "enabled": true}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	// The recruiters' Slack users are looked up by email when they are saved.
	alice := put("alice", map[string]any{"name": "Alice", "email": "alice@example.com", "manager_id": "boss",
		"channels": map[string]any{"breached": []string{"slack"}}})
	if alice["slack_user_id"] != "U0ALICE" {
		t.Fatalf("alice %v", alice)
	}
	put("boss", map[string]any{"name": "Boss", "email": "boss@example.com"})
	put("eve", map[string]any{"name": "Eve", "email": "eve@example.com"})
	lookups := sl.Calls("users.lookupByEmail")

	in := interaction("sl-1", "sl-1-received")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["candidate"] = map[string]string{"name": "Grace Hopper"}
	in["recruiter_id"] = "alice"
	in["job_id"] = "job-sl-1"
	in["job"] = map[string]string{"title": "Staff Engineer"}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 15*time.Second, "the Slack DM", func() bool { return len(sl.Messages("U0ALICE")) == 1 })
	msg := sl.Messages("U0ALICE")[0]
	blocks := string(msg.Blocks)
	for _, want := range []string{"Grace Hopper", "Staff Engineer", "first response", "goodwill_ack", "goodwill_snooze_1h",
		"goodwill_snooze_1d", alertsPublicURL + "/queue"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the DM lacks %q: %s", want, blocks)
		}
	}
	if n := sl.Calls("users.lookupByEmail"); n != lookups {
		t.Errorf("%d Slack user lookups at send time", n-lookups)
	}
	breach, ok := alertOf(t, srv, "sl-1", "breached")
	if !ok {
		t.Fatal("no breach alert")
	}
	servicetest.Eventually(t, 5*time.Second, "the delivery recorded", func() bool {
		breach, _ = alertOf(t, srv, "sl-1", "breached")
		return len(breach.Deliveries) == 1 && breach.Deliveries[0].Status == "sent"
	})
	if d := breach.Deliveries[0]; d.Channel != "slack" || d.To != "U0ALICE" || d.ProviderID != "DU0ALICE/"+msg.TS {
		t.Fatalf("delivery %+v", d)
	}

	now := time.Now()
	// A forged click (another secret), and one signed 6 minutes ago: 401, nothing happens.
	ack := sl.Click(msg, "U0ALICE", slackalerts.ActionAck, breach.ID, "alice-ack")
	if r := click(t, srv, ack, "not-the-secret", now); r.Status != http.StatusUnauthorized {
		t.Fatalf("forged: %d %s", r.Status, r.Body)
	}
	if r := click(t, srv, ack, slackSecret, now.Add(-6*time.Minute)); r.Status != http.StatusUnauthorized {
		t.Fatalf("stale: %d %s", r.Status, r.Body)
	}
	// Eve is not alice nor above her: told so, only her.
	if r := click(t, srv, sl.Click(msg, "U0EVE", slackalerts.ActionAck, breach.ID, "eve"), slackSecret, now); r.Status != http.StatusOK {
		t.Fatalf("eve: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 5*time.Second, "eve's answer", func() bool { return len(sl.Ephemerals()) == 1 })
	if e := sl.Ephemerals()[0]; e.ID != "eve" || !strings.Contains(e.Body["text"].(string), "not yours") || e.Body["response_type"] != "ephemeral" {
		t.Errorf("eve was told %+v", e)
	}
	if st := alertState(t, srv, breach.ID); st != "open" || sl.Messages("U0ALICE")[0].Updated != 0 {
		t.Fatalf("after forged, stale and eve's clicks: %s, updated %d", st, sl.Messages("U0ALICE")[0].Updated)
	}

	// Boss, alice's manager, snoozes it for an hour.
	if r := click(t, srv, sl.Click(msg, "U0BOSS", slackalerts.ActionSnooze1h, breach.ID, "boss"), slackSecret, now); r.Status != http.StatusOK {
		t.Fatalf("boss: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 5*time.Second, "the snooze", func() bool { return sl.Messages("U0ALICE")[0].Updated == 1 })
	if st := alertState(t, srv, breach.ID); st != "snoozed" {
		t.Fatalf("after boss's snooze: %s", st)
	}
	if b := string(sl.Messages("U0ALICE")[0].Blocks); !strings.Contains(b, `Snoozed for 1h by \u003c@U0BOSS\u003e`) {
		t.Errorf("updated to %s", b)
	}

	// Alice acknowledges; Slack's chat.update is slow, and the click is answered first.
	hold := make(chan struct{})
	sl.Fail("chat.update", slacktest.Fault{Hold: hold})
	msg = sl.Messages("U0ALICE")[0]
	start := time.Now()
	r := click(t, srv, sl.Click(msg, "U0ALICE", slackalerts.ActionAck, breach.ID, "alice"), slackSecret, now)
	if r.Status != http.StatusOK || time.Since(start) > 3*time.Second {
		t.Fatalf("alice: %d after %v", r.Status, time.Since(start))
	}
	servicetest.Eventually(t, 5*time.Second, "the acknowledgement", func() bool { return alertState(t, srv, breach.ID) == "acknowledged" })
	if sl.Messages("U0ALICE")[0].Updated != 1 {
		t.Fatal("the message was updated before Slack answered")
	}
	close(hold)
	servicetest.Eventually(t, 5*time.Second, "the updated message", func() bool { return sl.Messages("U0ALICE")[0].Updated == 2 })
	b := sl.Messages("U0ALICE")[0].Blocks
	var plain bytes.Buffer
	_ = json.Compact(&plain, b)
	if !strings.Contains(plain.String(), `Acknowledged by \u003c@U0ALICE\u003e`) {
		t.Errorf("updated to %s", b)
	}

	// The audit trail has both clicks, by the recruiters who clicked.
	for actor, action := range map[string]string{"recruiter:alice": "alert.acknowledged", "recruiter:boss": "alert.snoozed"} {
		p := getAudit(t, srv, "actor="+actor)
		if len(p.Entries) != 1 || p.Entries[0].Action != action || p.Entries[0].Target != breach.ID {
			t.Errorf("%s: %+v", actor, p.Entries)
		}
	}
	if p := getAudit(t, srv, "actor=recruiter:eve"); len(p.Entries) != 0 {
		t.Errorf("eve: %+v", p.Entries)
	}
}

// TestSlackInteractionsRefused: without Slack configured, or with a body that is not
// signed, the route answers 401; a signed payload that is not a click is answered and
// ignored; a signed body that is no payload is 400.
func TestSlackInteractionsRefused(t *testing.T) {
	t.Parallel()
	off := servicetest.Start(t, nil, service.Options{})
	body := []byte("payload=%7B%7D")
	if r := click(t, off, body, slackSecret, time.Now()); r.Status != http.StatusUnauthorized {
		t.Errorf("Slack off: %d %s", r.Status, r.Body)
	}
	sl := newFakeSlack(t)
	srv := servicetest.Start(t, fakeSlackEnv(sl, nil), service.Options{})
	if r := srv.Do(t, http.MethodPost, "/webhooks/slack/interactions", "", body); r.Status != http.StatusUnauthorized {
		t.Errorf("unsigned: %d %s", r.Status, r.Body)
	}
	if r := click(t, srv, []byte(`payload={"type":"view_closed","user":{"id":"U0ALICE"}}`), slackSecret, time.Now()); r.Status != http.StatusOK {
		t.Errorf("another interaction: %d %s", r.Status, r.Body)
	}
	if r := click(t, srv, []byte("hello"), slackSecret, time.Now()); r.Status != http.StatusBadRequest {
		t.Errorf("no payload: %d %s", r.Status, r.Body)
	}
}

// TestSlackUserCheck: a recruiter's slack_user_id must be the Slack user its email
// finds; the field is named when it is not.
func TestSlackUserCheck(t *testing.T) {
	t.Parallel()
	sl := newFakeSlack(t)
	srv := servicetest.Start(t, fakeSlackEnv(sl, nil), service.Options{})
	tests := []struct {
		name   string
		body   map[string]any
		status int
		slack  string // the slack_user_id stored
	}{
		// Looked up by email.
		{"looked up", map[string]any{"email": "alice@example.com"}, http.StatusCreated, "U0ALICE"},
		// Given by hand, and the one Slack finds.
		{"matching", map[string]any{"email": "alice@example.com", "slack_user_id": "U0ALICE"}, http.StatusCreated, "U0ALICE"},
		// Someone else's Slack user.
		{"someone else's", map[string]any{"email": "alice@example.com", "slack_user_id": "U0EVE"}, http.StatusConflict, ""},
		// An email Slack does not know, with a Slack user given.
		{"unknown email", map[string]any{"email": "zed@example.com", "slack_user_id": "U0EVE"}, http.StatusConflict, ""},
		// An email Slack does not know, no Slack user: saved without.
		{"no Slack user", map[string]any{"email": "zed@example.com"}, http.StatusCreated, ""},
		// No email to check against.
		{"no email", map[string]any{"slack_user_id": "U0ALICE"}, http.StatusBadRequest, ""},
		// Not a Slack user id.
		{"malformed", map[string]any{"email": "alice@example.com", "slack_user_id": "alice"}, http.StatusBadRequest, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["name"] = "R"
			tt.body["channels"] = map[string]any{"breached": []string{"slack", "email"}}
			r := srv.Do(t, http.MethodPut, "/v1/recruiters/r"+string(rune('a'+i)), servicetest.AdminKey, tt.body)
			if r.Status != tt.status {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if tt.status != http.StatusCreated {
				expectProblem(t, r, tt.status, "slack_user_id")
				return
			}
			if got, _ := r.Map(t)["slack_user_id"].(string); got != tt.slack {
				t.Errorf("slack_user_id %q, want %q", got, tt.slack)
			}
		})
	}
	// Slack cannot answer: a hand-set user cannot be checked (503); without one the
	// entry is saved, and looked up later.
	sl.Fail("users.lookupByEmail", slacktest.Fault{Status: 429, RetryAfter: 30}, slacktest.Fault{Status: 429, RetryAfter: 30})
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/busy", servicetest.AdminKey,
		map[string]any{"name": "B", "email": "alice@example.com", "slack_user_id": "U0ALICE"}); r.Status != http.StatusServiceUnavailable {
		t.Errorf("rate limited, hand-set: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/busy", servicetest.AdminKey,
		map[string]any{"name": "B", "email": "alice@example.com"}); r.Status != http.StatusCreated || r.Map(t)["slack_user_id"] != nil {
		t.Errorf("rate limited, looked up: %d %s", r.Status, r.Body)
	}
}

// TestSlackFallsBackToEmail: a Slack user who was deactivated cannot get the DM
// (account_inactive): the alert goes by email instead.
func TestSlackFallsBackToEmail(t *testing.T) {
	t.Parallel()
	sl := newFakeSlack(t)
	mailbox := mailtest.Start(t, nil)
	srv := servicetest.Start(t, fakeSlackEnv(sl, map[string]string{
		"GOODWILL_SMTP_URL": mailbox.URL(), "GOODWILL_EMAIL_FROM": "alerts@goodwill.example.com",
	}), service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{"name": "fast",
		"metric": "first_response", "target": "2s", "calendar": "24x7", "warn_ratio": 1, "enabled": true}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/alice", servicetest.AdminKey, map[string]any{"name": "Alice",
		"email": "alice@example.com", "channels": map[string]any{"breached": []string{"slack"}},
		"working_days": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}); r.Status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	sl.Fail("chat.postMessage", slacktest.Fault{Error: "account_inactive"})
	in := interaction("fb-1", "fb-1-received")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "alice"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 15*time.Second, "the fallback email", func() bool { return len(mailbox.Messages()) == 1 })
	servicetest.Eventually(t, 5*time.Second, "the deliveries recorded", func() bool {
		a, _ := alertOf(t, srv, "fb-1", "breached")
		return len(a.Deliveries) == 2 && a.Deliveries[0].Status == "failed" && a.Deliveries[1].Channel == "email" &&
			a.Deliveries[1].Status == "sent" && strings.Contains(a.Deliveries[0].Error, "account_inactive")
	})
	if n := len(sl.Messages("U0ALICE")); n != 0 {
		t.Errorf("%d DMs", n)
	}
}

// TestSlackUsersFromSync: each pass of the ATS sync looks up the Slack users of the
// ATS's users whose email is new, once: a second pass asks Slack nothing.
func TestSlackUsersFromSync(t *testing.T) {
	t.Parallel()
	sl := newFakeSlack(t)
	v := &syncVendor{name: "lever", users: []atssync.User{
		{ID: "lever:u1", Name: "Alice", Email: "alice@example.com", Active: true},
		{ID: "lever:u2", Name: "Zed", Email: "zed@example.com", Active: true},
	}}
	env := fakeSlackEnv(sl, map[string]string{"GOODWILL_SYNC_INTERVAL": "1s"})
	srv := servicetest.Start(t, env, service.Options{SyncVendors: []atssync.Vendor{v}})
	servicetest.Eventually(t, 10*time.Second, "alice's Slack user", func() bool {
		r := srv.Do(t, http.MethodGet, "/v1/recruiters/lever:u1", servicetest.AdminKey, nil)
		return r.Status == http.StatusOK && r.Map(t)["slack_user_id"] == "U0ALICE"
	})
	passes := v.passCount()
	servicetest.Eventually(t, 10*time.Second, "two more passes", func() bool { return v.passCount() >= passes+2 })
	if n := sl.Calls("users.lookupByEmail"); n != 2 {
		t.Errorf("%d lookups for two users over several passes", n)
	}
}

// TestSlackLostAnswer: a DM posted whose answer never came back is looked up in the DM
// by its alert id before any resend: one message, recorded as sent, whose button
// acknowledges the alert.
func TestSlackLostAnswer(t *testing.T) {
	t.Parallel()
	sl := newFakeSlack(t)
	srv := servicetest.Start(t, fakeSlackEnv(sl, nil), service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{"name": "fast",
		"metric": "first_response", "target": "2s", "calendar": "24x7", "warn_ratio": 1, "enabled": true}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/alice", servicetest.AdminKey, map[string]any{"name": "Alice",
		"email": "alice@example.com", "channels": map[string]any{"breached": []string{"slack"}},
		"working_days": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}); r.Status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	sl.Fail("chat.postMessage", slacktest.Fault{Lost: true})
	in := interaction("lost-1", "lost-1-received")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "alice"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	var a alertJSON
	servicetest.Eventually(t, 15*time.Second, "the delivery found and recorded as sent", func() bool {
		a, _ = alertOf(t, srv, "lost-1", "breached")
		return len(a.Deliveries) == 1 && a.Deliveries[0].Status == "sent"
	})
	msgs := sl.Messages("U0ALICE")
	if len(msgs) != 1 || sl.Calls("chat.postMessage") != 1 || sl.Calls("conversations.history") == 0 ||
		a.Deliveries[0].ProviderID != "DU0ALICE/"+msgs[0].TS || a.Deliveries[0].Attempts != 2 {
		t.Fatalf("%d messages, %d posts, %d history reads; delivery %+v", len(msgs), sl.Calls("chat.postMessage"),
			sl.Calls("conversations.history"), a.Deliveries[0])
	}
	if r := click(t, srv, sl.Click(msgs[0], "U0ALICE", slackalerts.ActionAck, a.ID, "a"), slackSecret, time.Now()); r.Status != http.StatusOK {
		t.Fatalf("click: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 5*time.Second, "the acknowledgement", func() bool { return alertState(t, srv, a.ID) == "acknowledged" })
}

// TestSlackUserPatchMe: a recruiter's own PATCH /v1/me goes through the same check of
// the Slack user; a change that leaves it alone asks Slack nothing.
func TestSlackUserPatchMe(t *testing.T) {
	t.Parallel()
	sl := newFakeSlack(t)
	srv := servicetest.Start(t, fakeSlackEnv(sl, nil), service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/alice", servicetest.AdminKey,
		map[string]any{"name": "Alice", "email": "alice@example.com"}); r.Status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	key := srv.NewKey(t, "recruiter", "alice")
	lookups := sl.Calls("users.lookupByEmail")
	r := patchMe(t, srv, key, `{"slack_user_id": "U0EVE"}`)
	expectProblem(t, r, http.StatusConflict, "slack_user_id")
	r = patchMe(t, srv, key, `{"quiet_hours": {"start": "20:00", "end": "08:00"}}`)
	if r.Status != http.StatusOK || r.Map(t)["slack_user_id"] != "U0ALICE" {
		t.Fatalf("quiet hours: %d %s", r.Status, r.Body)
	}
	if n := sl.Calls("users.lookupByEmail") - lookups; n != 1 {
		t.Errorf("%d lookups, want 1 (the Slack user changed once)", n)
	}
}
