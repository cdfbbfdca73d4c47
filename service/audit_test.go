package service_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// auditEntry is an entry of GET /v1/audit.
type auditEntry struct {
	ID, At, Actor, Action, Target, IP string
}

type auditPage struct {
	Entries    []auditEntry `json:"entries"`
	NextCursor string       `json:"next_cursor"`
}

// getAudit lists the trail with the admin key and the query.
func getAudit(t *testing.T, srv *servicetest.Instance, query string) auditPage {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/audit?"+query, servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/audit?%s: %d %s", query, r.Status, r.Body)
	}
	var p auditPage
	r.JSON(t, &p)
	return p
}

// createKey creates a key with the admin key and returns its id and secret.
func createKey(t *testing.T, srv *servicetest.Instance, name, role, recruiterID string) (id, secret string) {
	t.Helper()
	body := map[string]string{"name": name, "role": role}
	if recruiterID != "" {
		body["recruiter_id"] = recruiterID
	}
	r := srv.Do(t, http.MethodPost, "/v1/keys", servicetest.AdminKey, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var k struct{ ID, Key string }
	r.JSON(t, &k)
	return k.ID, k.Key
}

// adminKeyID is the id of the bootstrap admin key, the only key of a fresh server.
func adminKeyID(t *testing.T, srv *servicetest.Instance) string {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/keys", servicetest.AdminKey, nil)
	var out struct{ Keys []struct{ ID, Role string } }
	r.JSON(t, &out)
	for _, k := range out.Keys {
		if k.Role == "admin" {
			return k.ID
		}
	}
	t.Fatalf("no admin key in %s", r.Body)
	return ""
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestAuditTrail: every audited action — keys, policies, calendar, recruiters, alert
// acknowledgements and snoozes by every path (API, queue page, signed link, SMS
// reply), erasures, replays, sign-ins and sign-outs — appears in GET /v1/audit with
// its actor, action, target and client address, newest first; the trail names no
// candidate; only admin keys may read it.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	const signingKey = "audit-test-signing-key-0123456789abcdef"
	tw := newFakeTwilioAPI(t)
	srv := servicetest.Start(t, fakeTwilioEnv(tw, map[string]string{
		"GOODWILL_SIGNING_KEY": signingKey,
	}), service.Options{})
	admin := "key:" + adminKeyID(t, srv)
	do := func(method, path, key string, body any, want int, headers ...string) servicetest.Response {
		t.Helper()
		r := srv.Do(t, method, path, key, body, headers...)
		if r.Status != want {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r
	}
	type want struct{ actor, action, target string }
	var wants []want

	// Keys.
	aliceKeyID, aliceKey := createKey(t, srv, "alice", "recruiter", "alice")
	ingestKeyID, ingestKey := createKey(t, srv, "ats", "ingest", "")
	viewerKeyID, viewerKey := createKey(t, srv, "board", "viewer", "")
	wants = append(wants, want{admin, "key.created", aliceKeyID}, want{admin, "key.created", ingestKeyID}, want{admin, "key.created", viewerKeyID})

	// Policies, the calendar, recruiters.
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} // the test may run on a weekend
	do(http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{"name": "fast", "metric": "first_response",
		"target": "1s", "calendar": "24x7", "warn_ratio": 1, "escalate_after": "1d", "enabled": true}, http.StatusOK)
	do(http.MethodPut, "/v1/sla/policies/referrals", servicetest.AdminKey, map[string]any{"name": "referrals", "metric": "reply",
		"target": "4h", "calendar": "business", "scope": map[string]any{"referral": true}, "enabled": true}, http.StatusOK)
	do(http.MethodDelete, "/v1/sla/policies/referrals", servicetest.AdminKey, nil, http.StatusNoContent)
	cal := do(http.MethodGet, "/v1/calendar", servicetest.AdminKey, nil, http.StatusOK)
	do(http.MethodPut, "/v1/calendar", servicetest.AdminKey, cal.Body, http.StatusOK)
	const alicePhone = "+14155550141"
	do(http.MethodPut, "/v1/recruiters/alice", servicetest.AdminKey, map[string]any{"name": "Alice Example", "email": "alice@example.com",
		"phone": alicePhone, "working_days": everyDay}, http.StatusCreated)
	wants = append(wants, want{admin, "policy.changed", "first_response"}, want{admin, "policy.changed", "referrals"},
		want{admin, "policy.deleted", "referrals"}, want{admin, "calendar.changed", "calendar"}, want{admin, "recruiter.changed", "alice"})

	// Five candidates whose first response breaches at once: one alert each.
	candidates := map[string][3]string{ // application → name, email, phone
		"au-1": {"Grace Hopper", "grace.hopper@example.org", "+14155550151"},
		"au-2": {"Katherine Johnson", "katherine.johnson@example.org", "+14155550152"},
		"au-3": {"Ada Lovelace", "ada.lovelace@example.org", "+14155550153"},
		"au-4": {"Alan Turing", "alan.turing@example.org", "+14155550154"},
		"au-5": {"Edsger Dijkstra", "edsger.dijkstra@example.org", "+14155550155"},
	}
	for app, c := range candidates {
		in := interaction(app, app+"-received")
		in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
		in["recruiter_id"] = "alice"
		in["candidate"] = map[string]string{"name": c[0], "email": c[1], "phone": c[2]}
		do(http.MethodPost, "/v1/interactions", servicetest.AdminKey, in, http.StatusCreated)
	}
	alertIDs := map[string]alertJSON{}
	servicetest.Eventually(t, 15*time.Second, "five breach alerts", func() bool {
		for _, a := range listAlerts(t, srv, "level=breached") {
			alertIDs[a.ApplicationID] = a
		}
		return len(alertIDs) == 5
	})

	// 1. The API: alice acknowledges with her key, the admin snoozes.
	do(http.MethodPost, "/v1/alerts/"+url.PathEscape(alertIDs["au-1"].ID)+"/ack", aliceKey, nil, http.StatusOK)
	do(http.MethodPost, "/v1/alerts/"+url.PathEscape(alertIDs["au-2"].ID)+"/snooze", servicetest.AdminKey, `{"for":"2h"}`, http.StatusOK)
	wants = append(wants, want{"key:" + aliceKeyID, "alert.acknowledged", alertIDs["au-1"].ID},
		want{admin, "alert.snoozed", alertIDs["au-2"].ID})

	// 2. The queue page, with alice's key.
	form := url.Values{"alert_id": {alertIDs["au-3"].ID}}
	r := srv.Do(t, http.MethodPost, "/queue/ack", aliceKey, form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusNoContent {
		t.Fatalf("queue ack: %d %s", r.Status, r.Body)
	}
	wants = append(wants, want{"key:" + aliceKeyID, "alert.acknowledged", alertIDs["au-3"].ID})

	// 3. The signed link of the alert's message: its recipient acknowledges.
	id4 := alertIDs["au-4"].ID
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	mac := hmac.New(sha256.New, []byte(signingKey))
	mac.Write([]byte("alert-ack\x00" + id4 + "\x00" + exp))
	link := url.Values{"exp": {exp}, "sig": {hex.EncodeToString(mac.Sum(nil))}}
	do(http.MethodPost, "/alerts/"+url.PathEscape(id4)+"/ack", "", link.Encode(), http.StatusOK, "Content-Type", "application/x-www-form-urlencoded")
	wants = append(wants, want{"recruiter:alice", "alert.acknowledged", id4})

	// 4. An SMS reply from alice's phone.
	sms := url.Values{"MessageSid": {"SM" + strings.Repeat("cd", 16)}, "From": {alicePhone}, "To": {alertsFrom},
		"Body": {"ACK " + alertIDs["au-5"].Code}}
	do(http.MethodPost, "/webhooks/twilio/sms", "", sms.Encode(), http.StatusOK, "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", twilioSignature(alertsToken, alertsPublicURL+"/webhooks/twilio/sms", sms))
	wants = append(wants, want{"recruiter:alice", "alert.acknowledged", alertIDs["au-5"].ID})
	sms = url.Values{"MessageSid": {"SM" + strings.Repeat("ef", 16)}, "From": {alicePhone}, "To": {alertsFrom},
		"Body": {"SNOOZE 3h " + alertIDs["au-2"].Code}}
	do(http.MethodPost, "/webhooks/twilio/sms", "", sms.Encode(), http.StatusOK, "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", twilioSignature(alertsToken, alertsPublicURL+"/webhooks/twilio/sms", sms))
	wants = append(wants, want{"recruiter:alice", "alert.snoozed", alertIDs["au-2"].ID})
	for _, app := range []string{"au-1", "au-3", "au-4", "au-5"} {
		if a, _ := alertOf(t, srv, app, "breached"); a.State != "acknowledged" {
			t.Fatalf("alert of %s: %+v", app, a)
		}
	}

	// Erasures by email and by phone: the target is the erasure's id.
	var erasure struct{ ID string }
	do(http.MethodPost, "/v1/erasures", servicetest.AdminKey, map[string]string{"email": candidates["au-1"][1]}, http.StatusAccepted).JSON(t, &erasure)
	wants = append(wants, want{admin, "erasure.requested", erasure.ID})
	do(http.MethodPost, "/v1/erasures", servicetest.AdminKey, map[string]string{"phone": candidates["au-2"][2]}, http.StatusAccepted).JSON(t, &erasure)
	wants = append(wants, want{admin, "erasure.requested", erasure.ID})

	// A replay of the webhook delivery log.
	do(http.MethodPost, "/v1/webhook-deliveries/replay", servicetest.AdminKey, `{"source":"greenhouse"}`, http.StatusOK)
	wants = append(wants, want{admin, "replay.requested", "greenhouse"})

	// The sign-in form: alice signs in and out; the ingest key is refused.
	b := signedIn(t, srv, aliceKey)
	// The server's public URL is https (Twilio signs against it): its cookies are __Host-.
	session := hexSHA256(b.cookie("__Host-goodwill_session", "/"))
	dash := b.get("/dashboard")
	if p := b.post("/logout", formFields(t, dash.Doc, "logout-form")); p.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d %s", p.Status, p.Body)
	}
	if p := newBrowser(t, srv).signIn(ingestKey); p.Status != http.StatusForbidden {
		t.Fatalf("ingest sign-in: %d %s", p.Status, p.Body)
	}
	wants = append(wants, want{"key:" + aliceKeyID, "signin", session}, want{"key:" + aliceKeyID, "signout", session},
		want{"key:" + ingestKeyID, "signin.refused", ""})

	// And a key deleted.
	do(http.MethodDelete, "/v1/keys/"+ingestKeyID, servicetest.AdminKey, nil, http.StatusNoContent)
	wants = append(wants, want{admin, "key.deleted", ingestKeyID})

	raw := srv.Do(t, http.MethodGet, "/v1/audit", servicetest.AdminKey, nil)
	page := getAudit(t, srv, "")
	if page.NextCursor != "" {
		t.Errorf("next_cursor %q on a page holding everything", page.NextCursor)
	}
	got := map[want]int{}
	for i, e := range page.Entries {
		got[want{e.Actor, e.Action, e.Target}]++
		at, err := time.Parse(time.RFC3339, e.At)
		if err != nil || e.ID == "" || e.IP != "127.0.0.1" {
			t.Errorf("entry %+v: want an id, an RFC 3339 time and ip 127.0.0.1", e)
		}
		if i > 0 {
			prev := page.Entries[i-1]
			prevAt, _ := time.Parse(time.RFC3339, prev.At)
			if e.ID >= prev.ID || at.After(prevAt) {
				t.Errorf("entry %d %+v after %+v: want newest first", i, e, prev)
			}
		}
	}
	for _, w := range wants {
		if got[w] == 0 {
			t.Errorf("no entry %+v in the trail:\n%s", w, raw.Body)
		}
	}
	// The newest entry is the last action.
	if len(page.Entries) == 0 || page.Entries[0].Action != "key.deleted" {
		t.Errorf("newest entry %+v, want key.deleted", page.Entries)
	}
	// No candidate's name, email address or phone number.
	for _, c := range candidates {
		for _, v := range c {
			if strings.Contains(strings.ToLower(string(raw.Body)), strings.ToLower(v)) {
				t.Errorf("the trail names %q:\n%s", v, raw.Body)
			}
		}
	}

	// Only admin keys read it.
	for _, key := range []string{aliceKey, viewerKey} {
		if r := srv.Do(t, http.MethodGet, "/v1/audit", key, nil); r.Status != http.StatusForbidden {
			t.Errorf("GET /v1/audit with a non-admin key: %d %s", r.Status, r.Body)
		}
	}
	if r := srv.Do(t, http.MethodGet, "/v1/audit", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("GET /v1/audit without a key: %d", r.Status)
	}
}

// TestAuditPagingAndFilters: limit and cursor walk the whole trail once, newest first;
// actor, action and since filter it; bad parameters are 400s naming the field.
func TestAuditPagingAndFilters(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now.Store(start.UnixNano())
	srv := servicetest.Start(t, nil, service.Options{Now: func() time.Time { return time.Unix(0, now.Load()).UTC() }})
	admin := "key:" + adminKeyID(t, srv)

	// Seven keys created a minute apart; two deleted by a second admin key.
	var ids []string
	for i := range 7 {
		id, _ := createKey(t, srv, "k"+strconv.Itoa(i), "ingest", "")
		ids = append(ids, id)
		now.Add(int64(time.Minute))
	}
	otherID, otherKey := createKey(t, srv, "second admin", "admin", "")
	for _, id := range ids[:2] {
		if r := srv.Do(t, http.MethodDelete, "/v1/keys/"+id, otherKey, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
	}
	const total = 7 + 1 + 2

	// Pages of three: every entry once, newest first, and no cursor after the last.
	var all []auditEntry
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatal("the cursor does not end")
		}
		q := "limit=3"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := getAudit(t, srv, q)
		if len(p.Entries) > 3 || (p.NextCursor != "" && len(p.Entries) != 3) {
			t.Fatalf("page %d: %d entries, next %q", pages, len(p.Entries), p.NextCursor)
		}
		all = append(all, p.Entries...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) != total {
		t.Fatalf("%d entries over the pages, want %d: %+v", len(all), total, all)
	}
	seen := map[string]bool{}
	for i, e := range all {
		if seen[e.ID] {
			t.Errorf("entry %s twice", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && (e.ID >= all[i-1].ID || e.At > all[i-1].At) {
			t.Errorf("entry %d %+v after %+v: want newest first", i, e, all[i-1])
		}
	}
	if all[total-1].Target != ids[0] || all[total-1].At != "2026-03-02T10:00:00.000Z" {
		t.Errorf("oldest entry %+v: want the first key's creation at the injected time", all[total-1])
	}

	for _, tc := range []struct {
		name, query string
		want        []string // targets, newest first
	}{
		// By action.
		{"action", "action=key.deleted", []string{ids[1], ids[0]}},
		// By actor: the second admin key's deletions only.
		{"actor", "actor=" + url.QueryEscape("key:"+otherID), []string{ids[1], ids[0]}},
		// By time: entries at or after since.
		{"since", "action=key.created&since=" + url.QueryEscape(start.Add(5*time.Minute).Format(time.RFC3339)), []string{otherID, ids[6], ids[5]}},
		// Filters combine, and the limit applies after them.
		{"combined", "actor=" + url.QueryEscape(admin) + "&action=key.created&limit=2", []string{otherID, ids[6]}},
		// An actor with nothing recorded.
		{"nobody", "actor=recruiter:nobody", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := getAudit(t, srv, tc.query)
			var got []string
			for _, e := range p.Entries {
				got = append(got, e.Target)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("targets %v, want %v", got, tc.want)
			}
		})
	}

	for _, tc := range []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=ten", "limit"},
		{"action=key.exploded", "action"},
		{"actor=alice", "actor"},
		{"since=yesterday", "since"},
		{"cursor=not-a-cursor", "cursor"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			expectProblem(t, srv.Do(t, http.MethodGet, "/v1/audit?"+tc.query, servicetest.AdminKey, nil), http.StatusBadRequest, tc.field)
		})
	}
}

// TestAuditPurge: entries are kept two years; the purge job deletes older ones and
// keeps the rest.
func TestAuditPurge(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	start := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	now.Store(start.UnixNano())
	srv := servicetest.Start(t, nil, service.Options{Now: func() time.Time { return time.Unix(0, now.Load()).UTC() }})
	purge := func() int64 {
		t.Helper()
		n, err := srv.Server.PurgeAudit(t.Context())
		if err != nil {
			t.Fatalf("purge: %v", err)
		}
		return n
	}
	oldID, _ := createKey(t, srv, "old", "ingest", "")
	now.Store(start.Add(400 * 24 * time.Hour).UnixNano())
	newID, _ := createKey(t, srv, "new", "ingest", "")

	// Just under two years after the first entry: nothing goes.
	now.Store(start.Add(730*24*time.Hour - time.Minute).UnixNano())
	if n := purge(); n != 0 {
		t.Fatalf("purged %d entries younger than two years", n)
	}
	// Just over: the first entry goes, the second stays.
	now.Store(start.Add(730*24*time.Hour + time.Minute).UnixNano())
	if n := purge(); n != 1 {
		t.Fatalf("purged %d entries, want 1", n)
	}
	p := getAudit(t, srv, "")
	if len(p.Entries) != 1 || p.Entries[0].Target != newID {
		t.Fatalf("after the purge: %+v; want only the creation of %s (not %s)", p.Entries, newID, oldID)
	}
}

// TestAuditRecordingFails: when its entry cannot be written, an action is done but
// answers 503 with Retry-After, so the caller knows its trail is missing; a sign-in
// opens no session.
func TestAuditRecordingFails(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	_, recruiterKey := createKey(t, srv, "alice", "recruiter", "alice")

	// A unique index on the actor makes every later entry of an actor fail to insert:
	// the store refuses the write as it would when unreachable, and nothing else changes.
	client, err := mongo.Connect(options.Client().ApplyURI(srv.Config.MongoDBURI))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	if _, err := client.Database(srv.Config.DB).Collection("audit").Indexes().CreateOne(t.Context(),
		mongo.IndexModel{Keys: bson.D{{Key: "actor", Value: 1}}, Options: options.Index().SetUnique(true)}); err != nil {
		t.Fatal(err)
	}

	// The admin's first entry (alice's key) is in; the next key is created, answered 503.
	r := srv.Do(t, http.MethodPost, "/v1/keys", servicetest.AdminKey, map[string]string{"name": "ats", "role": "ingest"})
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("create key with the trail failing: %d %s", r.Status, r.Body)
	}
	var keys struct{ Keys []struct{ Name string } }
	srv.Do(t, http.MethodGet, "/v1/keys", servicetest.AdminKey, nil).JSON(t, &keys)
	if len(keys.Keys) != 3 {
		t.Fatalf("keys %+v: want the admin's, alice's and the one answered 503", keys.Keys)
	}

	// alice signs in once (her first entry), then not again: 503 and no session.
	signedIn(t, srv, recruiterKey)
	b := newBrowser(t, srv)
	if p := b.signIn(recruiterKey); p.Status != http.StatusServiceUnavailable {
		t.Fatalf("second sign-in with the trail failing: %d %s", p.Status, p.Body)
	}
	if c := b.cookie("__Host-goodwill_session", "/") + b.cookie("goodwill_session", "/"); c != "" {
		t.Fatalf("a session cookie was set: %q", c)
	}
	if n := len(getAudit(t, srv, "").Entries); n != 2 {
		t.Fatalf("%d entries, want the two that went in", n)
	}
}
