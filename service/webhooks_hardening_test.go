package service_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// signStandardAt signs a Standard Webhooks delivery with the test key at a given time.
func signStandardAt(body []byte, id string, at time.Time) delivery {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, whStandardKey)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	sig := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	return delivery{body, []string{"webhook-id", id, "webhook-timestamp", ts, "webhook-signature", sig}}
}

// badGreenhouse is a Greenhouse delivery with a wrong signature.
func badGreenhouse(t *testing.T) delivery {
	return signDelivery(t, "greenhouse", whFixture(t, "greenhouse", "candidate_stage_change.json"), "e2e-bad", "not-the-secret")
}

// rejectedMetric reads goodwill_webhook_deliveries_rejected_total{source,reason} from
// /metrics; -1 when the series is not there.
func rejectedMetric(t *testing.T, srv *servicetest.Instance, source, reason string) float64 {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/metrics", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("metrics: %d", r.Status)
	}
	re := regexp.MustCompile(`(?m)^goodwill_webhook_deliveries_rejected_total\{reason="` + reason + `",source="` + source + `"\} (\S+)$`)
	m := re.FindSubmatch(r.Body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestWebhookLabels: a label that is not 1–64 of [a-z0-9_-] is 404 before the
// signature is looked at, with or without a secret, and nothing of the request is
// stored; a good label is accepted.
func TestWebhookLabels(t *testing.T) {
	t.Parallel()
	withSecrets := servicetest.Start(t, webhookEnv(), service.Options{})
	noSecrets := servicetest.Start(t, nil, service.Options{})
	vc := vendorCases[0] // greenhouse
	body := whFixture(t, vc.source, vc.fixture)
	for _, label := range []string{
		strings.Repeat("a", 65), // too long
		"Acme",                  // upper case
		"acme.eu",               // a dot
		"acme%20eu",             // a space
		"%C3%A9t%C3%A9",         // not ASCII
	} {
		for name, srv := range map[string]*servicetest.Instance{"secret": withSecrets, "no secret": noSecrets} {
			d := signDelivery(t, vc.source, body, "e2e-label", whSecret)
			expectProblem(t, d.post(t, srv, "/webhooks/greenhouse/"+label), http.StatusNotFound, "")
			expectProblem(t, badGreenhouse(t).post(t, srv, "/webhooks/greenhouse/"+label), http.StatusNotFound, "")
			expectProblem(t, d.post(t, srv, "/webhooks/workable/"+label), http.StatusNotFound, "")
			if got := deliveries(t, srv, ""); len(got) != 0 {
				t.Fatalf("%s, label %q: the delivery log holds %v", name, label, got)
			}
		}
	}
	if n := countApp(t, withSecrets, vc.app); n != 0 {
		t.Fatalf("%d interactions stored through bad labels", n)
	}
	label := strings.Repeat("a", 60) + "_-09"
	d := signDelivery(t, vc.source, body, "e2e-label", whSecret)
	if r := d.post(t, withSecrets, "/webhooks/greenhouse/"+label); r.Status != http.StatusOK {
		t.Fatalf("a 64-character label: %d %s", r.Status, r.Body)
	}
	if got := deliveries(t, withSecrets, "outcome=stored"); len(got) != 1 || got[0]["label"] != label {
		t.Fatalf("stored deliveries %v", got)
	}
}

// TestWebhookRejectionMetric: every reason of refusal shows on /metrics, by source.
func TestWebhookRejectionMetric(t *testing.T) {
	t.Parallel()
	env := map[string]string{ // ashby has no secret
		"GOODWILL_WEBHOOK_SECRET_GREENHOUSE": whSecret,
		"GOODWILL_WEBHOOK_SECRET_STANDARD":   whStandardSecret,
	}
	srv := servicetest.Start(t, env, service.Options{})
	type series struct{ source, reason string }
	cases := []struct {
		series series
		send   func() servicetest.Response
		status int
	}{
		// A source without a secret.
		{series{"ashby", "no_secret"}, func() servicetest.Response {
			return signDelivery(t, "ashby", whFixture(t, "ashby", "applicationSubmit.json"), "x", whSecret).post(t, srv, "/webhooks/ashby")
		}, http.StatusUnauthorized},
		// A signature that does not match.
		{series{"greenhouse", "bad_signature"}, func() servicetest.Response { return badGreenhouse(t).post(t, srv, "/webhooks/greenhouse") }, http.StatusUnauthorized},
		// A signed timestamp ten minutes old.
		{series{"standard", "stale"}, func() servicetest.Response {
			return signStandardAt([]byte(`{}`), "msg-stale", time.Now().Add(-10*time.Minute)).post(t, srv, "/webhooks/standard")
		}, http.StatusUnauthorized},
		// Signed, but not a Greenhouse payload.
		{series{"greenhouse", "malformed"}, func() servicetest.Response {
			return signDelivery(t, "greenhouse", []byte(`[]`), "e2e-malformed", whSecret).post(t, srv, "/webhooks/greenhouse")
		}, http.StatusBadRequest},
		// A label that is not one.
		{series{"greenhouse", "bad_label"}, func() servicetest.Response { return badGreenhouse(t).post(t, srv, "/webhooks/greenhouse/NOT-A-LABEL") }, http.StatusNotFound},
	}
	for _, tc := range cases {
		before := rejectedMetric(t, srv, tc.series.source, tc.series.reason)
		if before < 0 {
			t.Fatalf("%v: no series on /metrics before any rejection", tc.series)
		}
		if r := tc.send(); r.Status != tc.status {
			t.Fatalf("%v: %d %s, want %d", tc.series, r.Status, r.Body, tc.status)
		}
		if after := rejectedMetric(t, srv, tc.series.source, tc.series.reason); after < before+1 {
			t.Fatalf("%v: the counter went from %v to %v", tc.series, before, after)
		}
	}
	// rate_limited: see TestWebhookFailureThrottle.
	if rejectedMetric(t, srv, "twilio", "rate_limited") < 0 {
		t.Fatal("no rate_limited series for twilio")
	}
}

// TestWebhookRejectionLog: the delivery log keeps at most one rejection per source and
// reason per minute, whatever the number of refused requests.
func TestWebhookRejectionLog(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	srv := servicetest.Start(t, webhookEnv(), service.Options{Now: func() time.Time {
		return time.Now().Add(time.Duration(skew.Load()))
	}})
	// Start at the beginning of a minute, so that the burst below stays within it.
	now := time.Now()
	skew.Store(int64(now.Truncate(time.Minute).Add(time.Minute).Sub(now)))
	malformed := signDelivery(t, "greenhouse", []byte(`[]`), "e2e-malformed", whSecret)
	for range 5 {
		expectProblem(t, badGreenhouse(t).post(t, srv, "/webhooks/greenhouse"), http.StatusUnauthorized, "")
		expectProblem(t, malformed.post(t, srv, "/webhooks/greenhouse"), http.StatusBadRequest, "")
		expectProblem(t, badGreenhouse(t).post(t, srv, "/webhooks/lever"), http.StatusUnauthorized, "")
	}
	count := func() map[string]int {
		n := map[string]int{}
		for _, d := range deliveries(t, srv, "outcome=rejected") {
			n[fmt.Sprint(d["source"], " ", d["rejection"])]++
		}
		return n
	}
	want := map[string]int{"greenhouse bad_signature": 1, "greenhouse malformed": 1, "lever bad_signature": 1}
	if got := count(); !mapsEqual(got, want) {
		t.Fatalf("rejections in the log %v, want %v", got, want)
	}
	// The next minute logs again.
	skew.Add(int64(time.Minute))
	expectProblem(t, badGreenhouse(t).post(t, srv, "/webhooks/greenhouse"), http.StatusUnauthorized, "")
	want["greenhouse bad_signature"] = 2
	if got := count(); !mapsEqual(got, want) {
		t.Fatalf("rejections in the log a minute later %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestDeliveryLogExpiry: delivery records and raw bodies are purged after
// GOODWILL_DELIVERY_LOG_RETENTION (default 30d); replay works within that window.
func TestDeliveryLogExpiry(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	env := webhookEnv()
	env["GOODWILL_ALERTS"] = "off"
	srv := servicetest.Start(t, env, service.Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	vc := vendorCases[0]
	if r := signDelivery(t, vc.source, whFixture(t, vc.source, vc.fixture), "e2e-expiry", whSecret).post(t, srv, vc.path); r.Status != http.StatusOK {
		t.Fatalf("delivery: %d %s", r.Status, r.Body)
	}
	expectProblem(t, badGreenhouse(t).post(t, srv, "/webhooks/greenhouse"), http.StatusUnauthorized, "")
	replay := func() map[string]any {
		t.Helper()
		r := srv.Do(t, http.MethodPost, "/v1/webhook-deliveries/replay", servicetest.AdminKey, map[string]any{})
		if r.Status != http.StatusOK {
			t.Fatalf("replay: %d %s", r.Status, r.Body)
		}
		return r.Map(t)
	}
	purge := func() {
		t.Helper()
		if _, err := srv.Server.PurgeDeliveryLog(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	// 29 days later: kept, and replayable.
	skew.Store(int64(29 * 24 * time.Hour))
	purge()
	if got := deliveries(t, srv, ""); len(got) != 2 {
		t.Fatalf("after 29 days the log holds %d records, want 2: %v", len(got), got)
	}
	if r := replay(); r["deliveries"] != float64(1) || r["failed"] != float64(0) {
		t.Fatalf("replay within the window: %v", r)
	}

	// 31 days later: records and bodies are gone; the interactions stay.
	skew.Store(int64(31 * 24 * time.Hour))
	purge()
	if got := deliveries(t, srv, ""); len(got) != 0 {
		t.Fatalf("after 31 days the log holds %v", got)
	}
	if r := replay(); r["deliveries"] != float64(0) {
		t.Fatalf("replay after the window: %v", r)
	}
	if n := countApp(t, srv, vc.app); n != 1 {
		t.Fatalf("%d interactions, want the delivery's one", n)
	}
}

// TestStandardReservedSource: a Standard Webhooks item may not name a reserved source
// other than "standard" (400, nothing stored); its own systems' names are fine.
func TestStandardReservedSource(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, webhookEnv(), service.Options{})
	item := func(app, source string) map[string]any {
		in := interaction(app, "")
		if source != "" {
			in["source"] = source
		}
		return in
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string // "" for accepted
	}{
		{"greenhouse", item("std-r1", "greenhouse"), "source"},                                                                               // a vendor's name
		{"twilio in a batch", map[string]any{"interactions": []any{item("std-r2", ""), item("std-r2", "twilio")}}, "interactions[1].source"}, // one item of a batch
		{"sync", item("std-r3", "sync"), "source"},                                                                                           // the ATS sync's name
		{"standard", item("std-r4", "standard"), ""},                                                                                         // its own name
		{"own system", item("std-r5", "acme-crm"), ""},                                                                                       // a name of the sender's own
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(mustJSON(t, tc.body))
			r := signStandardAt(body, "msg-"+strings.ReplaceAll(tc.name, " ", "-"), time.Now()).post(t, srv, "/webhooks/standard")
			if tc.field == "" {
				if r.Status != http.StatusOK {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				return
			}
			expectProblem(t, r, http.StatusBadRequest, tc.field)
		})
	}
	for _, app := range []string{"std-r1", "std-r2", "std-r3"} {
		if n := countApp(t, srv, app); n != 0 {
			t.Errorf("%s: %d interactions stored", app, n)
		}
	}
}

// TestWebhookFailureThrottle: more than 20 failed signature checks a minute from one
// address get 429 with Retry-After, on every webhook route; a valid signature from the
// same address still passes.
func TestWebhookFailureThrottle(t *testing.T) {
	t.Parallel()
	const token = "throttletwiliotoken0123456789"
	env := webhookEnv()
	env["TWILIO_ACCOUNT_SID"] = "AC0123456789abcdef0123456789abcdef"
	env["TWILIO_AUTH_TOKEN"] = token
	env["TWILIO_FROM_NUMBER"] = "+15005550006"
	env["GOODWILL_PUBLIC_URL"] = "https://goodwill.example.com"
	srv := servicetest.Start(t, env, service.Options{})
	limitedBefore := rejectedMetric(t, srv, "greenhouse", "rate_limited")

	for i := range 20 {
		if r := badGreenhouse(t).post(t, srv, "/webhooks/greenhouse"); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := badGreenhouse(t).post(t, srv, "/webhooks/greenhouse")
	expectProblem(t, r, http.StatusTooManyRequests, "")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if after := rejectedMetric(t, srv, "greenhouse", "rate_limited"); after < limitedBefore+1 {
		t.Fatalf("rate_limited went from %v to %v", limitedBefore, after)
	}
	// Every webhook route refuses the address's failures now.
	expectProblem(t, signDelivery(t, "lever", whFixture(t, "lever", "candidateStageChange.json"), "tok", "bad").post(t, srv, "/webhooks/lever"), http.StatusTooManyRequests, "")
	expectProblem(t, signStandardAt([]byte(`{}`), "msg-old", time.Now().Add(-time.Hour)).post(t, srv, "/webhooks/standard"), http.StatusTooManyRequests, "")
	form := url.Values{"MessageSid": {"SMthrottle"}, "From": {"+14155550100"}, "Body": {"hi"}}
	for _, path := range []string{"/webhooks/twilio/sms", "/webhooks/twilio/status"} {
		r := srv.Do(t, http.MethodPost, path, "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", "bm9wZQ==")
		expectProblem(t, r, http.StatusTooManyRequests, "")
	}
	if got := deliveries(t, srv, "outcome=rejected&source=greenhouse"); len(got) != 2 {
		t.Fatalf("greenhouse rejections in the log: %v, want one bad_signature and one rate_limited", got)
	}

	// A valid signature from the same address passes, for a vendor and for Twilio.
	vc := vendorCases[0]
	if r := signDelivery(t, vc.source, whFixture(t, vc.source, vc.fixture), "e2e-throttle", whSecret).post(t, srv, vc.path); r.Status != http.StatusOK {
		t.Fatalf("a valid delivery while throttled: %d %s", r.Status, r.Body)
	}
	status := url.Values{"MessageSid": {"SMthrottle"}, "MessageStatus": {"delivered"}}
	r = srv.Do(t, http.MethodPost, "/webhooks/twilio/status", "", status.Encode(), "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", twilioSignature(token, "https://goodwill.example.com/webhooks/twilio/status", status))
	if r.Status != http.StatusOK {
		t.Fatalf("a valid Twilio callback while throttled: %d %s", r.Status, r.Body)
	}
}

// TestTwilioCallbacksActOnce: an inbound SMS acts once per MessageSid, a status
// callback once per (MessageSid, MessageStatus): a replayed signed request is answered
// 200 and does nothing, while the next status of the same message still acts.
func TestTwilioCallbacksActOnce(t *testing.T) {
	t.Parallel()
	const alicePhone = "+14155550161"
	tw := newFakeTwilioAPI(t)
	srv := servicetest.Start(t, fakeTwilioEnv(tw, nil), service.Options{})
	put := func(path string, body any) {
		t.Helper()
		if r := srv.Do(t, http.MethodPut, path, servicetest.AdminKey, body); r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	put("/v1/sla/policies/first_response", map[string]any{"name": "fast", "metric": "first_response", "target": "1s",
		"calendar": "24x7", "warn_ratio": 1, "enabled": true})
	put("/v1/recruiters/alice", map[string]any{"name": "Alice", "phone": alicePhone,
		"channels": map[string]any{"breached": []string{"sms"}}, "working_days": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}})
	for _, app := range []string{"once-1", "once-2"} {
		in := interaction(app, app+"-received")
		in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
		in["recruiter_id"] = "alice"
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
	}
	var sid string // the SMS that carried a breach
	servicetest.Eventually(t, 15*time.Second, "two breaches, sent by SMS", func() bool {
		alerts := listAlerts(t, srv, "level=breached")
		sent := 0
		for _, a := range alerts {
			for _, d := range a.Deliveries {
				if d.Channel == "sms" && d.ProviderID != "" {
					sent++
					sid = d.ProviderID
				}
			}
		}
		return len(alerts) == 2 && sent == 2
	})
	post := func(path string, form url.Values) {
		t.Helper()
		r := srv.Do(t, http.MethodPost, path, "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded",
			"X-Twilio-Signature", twilioSignature(alertsToken, alertsPublicURL+path, form))
		if r.Status != http.StatusOK {
			t.Fatalf("POST %s %v: %d %s", path, form, r.Status, r.Body)
		}
	}
	smsStatus := func() string {
		t.Helper()
		for _, a := range listAlerts(t, srv, "level=breached") {
			for _, d := range a.Deliveries {
				if d.ProviderID == sid {
					return d.Status
				}
			}
		}
		t.Fatalf("no delivery of %s", sid)
		return ""
	}

	// Status callbacks: undelivered, then delivered; a replay of the first changes nothing.
	undelivered := url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	post("/webhooks/twilio/status", undelivered)
	if got := smsStatus(); got != "failed" {
		t.Fatalf("after undelivered: %s", got)
	}
	post("/webhooks/twilio/status", url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}})
	if got := smsStatus(); got != "delivered" {
		t.Fatalf("after delivered: %s", got)
	}
	post("/webhooks/twilio/status", undelivered)
	if got := smsStatus(); got != "delivered" {
		t.Fatalf("a replayed status callback acted again: %s", got)
	}

	// Inbound SMS: ACK acknowledges the latest alert; its replay does not acknowledge
	// the other one; a new message does.
	acked := func() int {
		n := 0
		for _, a := range listAlerts(t, srv, "level=breached") {
			if a.State == "acknowledged" {
				n++
			}
		}
		return n
	}
	ack := url.Values{"MessageSid": {"SM" + strings.Repeat("0a", 16)}, "From": {alicePhone}, "To": {alertsFrom}, "Body": {"ACK"}}
	post("/webhooks/twilio/sms", ack)
	if n := acked(); n != 1 {
		t.Fatalf("%d alerts acknowledged after ACK, want 1", n)
	}
	post("/webhooks/twilio/sms", ack)
	if n := acked(); n != 1 {
		t.Fatalf("%d alerts acknowledged after the ACK's replay, want 1", n)
	}
	ack.Set("MessageSid", "SM"+strings.Repeat("0b", 16))
	post("/webhooks/twilio/sms", ack)
	if n := acked(); n != 2 {
		t.Fatalf("%d alerts acknowledged after a second ACK, want 2", n)
	}
}
