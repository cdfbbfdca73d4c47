package service_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// The secrets of the webhook tests.
var (
	whSecret         = "e2e-webhook-secret"
	whStandardKey    = []byte("0123456789abcdef0123456789abcdef")
	whStandardSecret = "whsec_" + base64.StdEncoding.EncodeToString(whStandardKey)
)

// webhookEnv configures a secret for every source.
func webhookEnv() map[string]string {
	return map[string]string{
		"GOODWILL_WEBHOOK_SECRET_GREENHOUSE": whSecret,
		"GOODWILL_WEBHOOK_SECRET_LEVER":      "another-token," + whSecret,
		"GOODWILL_WEBHOOK_SECRET_ASHBY":      whSecret,
		"GOODWILL_WEBHOOK_SECRET_WORKABLE":   whSecret,
		"GOODWILL_WEBHOOK_SECRET_STANDARD":   whStandardSecret,
	}
}

func whFixture(t *testing.T, vendor, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "webhooks", vendor, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hexHMAC(secret string, msg ...[]byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range msg {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// delivery is a signed webhook request.
type delivery struct {
	body    []byte
	headers []string
}

// signDelivery signs body as source's vendor does, with secret (the Standard Webhooks
// key is derived from it), as delivery id. Lever's body gets a fresh token and
// triggeredAt = now, signed.
func signDelivery(t *testing.T, source string, body []byte, id, secret string) delivery {
	t.Helper()
	switch source {
	case "greenhouse":
		return delivery{body, []string{"Signature", "sha256 " + hexHMAC(secret, body), "Greenhouse-Event-ID", id}}
	case "ashby":
		return delivery{body, []string{"Ashby-Signature", "sha256=" + hexHMAC(secret, body)}}
	case "workable":
		return delivery{body, []string{"X-Workable-Signature", hexHMAC(secret, body)}}
	case "lever":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		at := strconv.FormatInt(time.Now().UnixMilli(), 10)
		m["token"], _ = json.Marshal(id)
		m["triggeredAt"] = json.RawMessage(at)
		m["signature"], _ = json.Marshal(hexHMAC(secret, []byte(id+at)))
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return delivery{b, nil}
	case "standard":
		key := whStandardKey
		if secret != whSecret {
			key = []byte(secret)
		}
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		sig := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		return delivery{body, []string{"webhook-id", id, "webhook-timestamp", ts, "webhook-signature", sig}}
	}
	t.Fatalf("no signer for %s", source)
	return delivery{}
}

func (d delivery) post(t *testing.T, srv *servicetest.Instance, path string) servicetest.Response {
	t.Helper()
	return srv.Do(t, http.MethodPost, path, "", d.body, d.headers...)
}

// deliveries lists the delivery log with a query ("source=lever&outcome=rejected").
func deliveries(t *testing.T, srv *servicetest.Instance, query string) []map[string]any {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/webhook-deliveries?limit=1000&"+query, servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list deliveries: %d %s", r.Status, r.Body)
	}
	var out struct{ Deliveries []map[string]any }
	r.JSON(t, &out)
	return out.Deliveries
}

// timelineHas waits (≤ 2 s) until the application's timeline shows an interaction
// with every field of want.
func timelineHas(t *testing.T, srv *servicetest.Instance, app string, want map[string]any) {
	t.Helper()
	servicetest.Eventually(t, 2*time.Second, app+"'s timeline to show "+fmt.Sprint(want), func() bool {
		r := srv.Do(t, http.MethodGet, "/v1/applications/"+url.PathEscape(app)+"/timeline", servicetest.AdminKey, nil)
		if r.Status != http.StatusOK {
			return false
		}
		var tl struct{ Interactions []map[string]any }
		r.JSON(t, &tl)
	next:
		for _, it := range tl.Interactions {
			for k, v := range want {
				if it[k] != v {
					continue next
				}
			}
			return true
		}
		return false
	})
}

// vendorCase is one source's end-to-end run.
type vendorCase struct {
	source    string
	path      string         // the URL path deliveries go to
	fixture   string         // a delivery that maps to one interaction
	app       string         // its application
	want      map[string]any // fields of the mapped interaction
	ping      string         // a ping fixture; "" when the vendor has none
	ignored   []byte         // a valid delivery goodwill does not map; nil for none
	malformed []byte         // a body that verifies but does not parse or validate
	field     string         // the field the malformed body's problem names, if any
}

var vendorCases = []vendorCase{
	{
		source: "greenhouse", path: "/webhooks/greenhouse", fixture: "candidate_stage_change.json",
		app:  "greenhouse:265293",
		want: map[string]any{"kind": "stage_changed", "source": "greenhouse", "stage": "Assessment"},
		ping: "ping.json", ignored: []byte(`{"action":"merge_candidate","payload":{}}`),
		malformed: []byte(`[]`),
	},
	{
		source: "lever", path: "/webhooks/lever", fixture: "candidateStageChange.json",
		app:  "lever:3f1a2b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b",
		want: map[string]any{"kind": "stage_changed", "source": "lever", "stage": "c3a7e5d8-1b2f-4c6a-9e0d-3f5b7a9c1e2d"},
		ping: "test.json", ignored: []byte(`{"event":"interviewUpdated","data":{"opportunityId":"o-1"}}`),
		malformed: []byte(`{"data":{"opportunityId":"o-1"}}`), // no event
	},
	{
		source: "ashby", path: "/webhooks/ashby", fixture: "candidateStageChange.json",
		app:  "ashby:e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8",
		want: map[string]any{"kind": "stage_changed", "source": "ashby"},
		ping: "ping.json", ignored: []byte(`{"action":"jobCreate","data":{}}`),
		malformed: []byte(`"not an object"`),
	},
	{
		source: "workable", path: "/webhooks/workable/candidate_moved", fixture: "candidate_moved.json",
		app:       "workable:3fc9a8",
		want:      map[string]any{"kind": "stage_changed", "source": "workable", "stage": "phone-screen"},
		ignored:   []byte(`{"id":"ev-e2e","event_type":"employee_created","data":{"id":"e-1"}}`),
		malformed: []byte(`{"id":"ev-e2e-2","event_type":"candidate_moved","data":{}}`), // no data.id
	},
	{
		source: "standard", path: "/webhooks/standard", fixture: "single.json",
		app:       "hr-app-1042",
		want:      map[string]any{"kind": "message", "source": "standard", "direction": "outbound"},
		malformed: []byte(`{"application_id":"a","candidate_id":"c","kind":"gossip","occurred_at":"2026-11-02T10:00:00Z"}`),
		field:     "kind",
	},
}

// TestWebhooks runs a delivery of every vendor through the HTTP API: signature,
// mapping, the timeline, redelivery, the delivery log; then a replay over the stored
// payloads and an erasure of one candidate's.
func TestWebhooks(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, webhookEnv(), service.Options{})

	t.Run("vendors", func(t *testing.T) {
		for _, vc := range vendorCases {
			t.Run(vc.source, func(t *testing.T) {
				t.Parallel()
				runVendor(t, srv, vc)
			})
		}
	})

	// Nothing else arrives on a route of its own.
	expectProblem(t, srv.Do(t, http.MethodPost, "/webhooks/bamboohr", "", `{}`), http.StatusNotFound, "")
	// Twilio is not configured on this server: its webhooks accept nothing.
	expectProblem(t, srv.Do(t, http.MethodPost, "/webhooks/twilio/sms", "", "From=%2B14155550100&MessageSid=SM1",
		"Content-Type", "application/x-www-form-urlencoded"), http.StatusUnauthorized, "")

	// The log is admin's, and its filters are checked.
	ingest := srv.NewKey(t, "ingest", "")
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/webhook-deliveries", ingest, nil), http.StatusForbidden, "")
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/webhook-deliveries", "", nil), http.StatusUnauthorized, "")
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/webhook-deliveries?outcome=lost", servicetest.AdminKey, nil), http.StatusBadRequest, "outcome")
	for _, d := range deliveries(t, srv, "") {
		if _, ok := d["raw_body"]; ok {
			t.Fatalf("the log lists a body: %v", d)
		}
	}
	page := srv.Do(t, http.MethodGet, "/v1/webhook-deliveries?limit=2", servicetest.AdminKey, nil)
	var p1 struct {
		Deliveries []map[string]any
		NextCursor string `json:"next_cursor"`
	}
	page.JSON(t, &p1)
	if len(p1.Deliveries) != 2 || p1.NextCursor == "" {
		t.Fatalf("first page: %s", page.Body)
	}
	page = srv.Do(t, http.MethodGet, "/v1/webhook-deliveries?limit=2&cursor="+url.QueryEscape(p1.NextCursor), servicetest.AdminKey, nil)
	var p2 struct{ Deliveries []map[string]any }
	page.JSON(t, &p2)
	if len(p2.Deliveries) == 0 || p2.Deliveries[0]["id"] == p1.Deliveries[1]["id"] {
		t.Fatalf("second page: %s", page.Body)
	}

	// A replay maps every stored payload again: the same keys, so only duplicates.
	replay := func(body any) map[string]any {
		t.Helper()
		r := srv.Do(t, http.MethodPost, "/v1/webhook-deliveries/replay", servicetest.AdminKey, body)
		if r.Status != http.StatusOK {
			t.Fatalf("replay: %d %s", r.Status, r.Body)
		}
		return r.Map(t)
	}
	n := float64(len(vendorCases))
	if got := replay(nil); got["deliveries"] != n || got["stored"] != 0.0 || got["duplicates"] != n || got["failed"] != 0.0 {
		t.Fatalf("replay of everything: %v, want %v deliveries, all duplicates", got, n)
	}
	if got := replay(map[string]any{"source": "lever", "since": "2020-01-01T00:00:00Z"}); got["deliveries"] != 1.0 || got["duplicates"] != 1.0 {
		t.Fatalf("replay of lever: %v", got)
	}
	if got := replay(map[string]any{"since": time.Now().Add(time.Hour).Format(time.RFC3339)}); got["deliveries"] != 0.0 {
		t.Fatalf("replay since an hour ahead: %v", got)
	}
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/webhook-deliveries/replay", servicetest.AdminKey, map[string]any{"source": "bamboohr"}), http.StatusBadRequest, "source")
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/webhook-deliveries/replay", servicetest.AdminKey, map[string]any{"since": "yesterday"}), http.StatusBadRequest, "since")
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/webhook-deliveries/replay", ingest, nil), http.StatusForbidden, "")
	for _, vc := range vendorCases {
		if got := countApp(t, srv, vc.app); got != 1 {
			t.Errorf("%s: %d interactions after the replays, want 1", vc.app, got)
		}
	}

	// Erasing the Greenhouse candidate blanks the payloads that concern them.
	r := srv.Do(t, http.MethodPost, "/v1/erasures", servicetest.AdminKey, map[string]string{"candidate_id": "greenhouse:265788"})
	if r.Status != http.StatusAccepted {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	id := r.Map(t)["id"].(string)
	servicetest.Eventually(t, 10*time.Second, "the erasure", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/erasures/"+id, servicetest.AdminKey, nil).Map(t)["state"] == "done"
	})
	for _, d := range deliveries(t, srv, "source=greenhouse&outcome=stored") {
		if d["erased"] != true {
			t.Errorf("the stored Greenhouse delivery is not erased: %v", d)
		}
	}
	if got := replay(map[string]any{"source": "greenhouse"}); got["deliveries"] != 0.0 {
		t.Errorf("the erased payload is still replayed: %v", got)
	}
	if got := replay(map[string]any{"source": "ashby"}); got["deliveries"] != 1.0 {
		t.Errorf("another candidate's payload was erased too: %v", got)
	}
	// A later delivery about the erased person is stored without their details, and
	// its payload is not kept.
	later := signDelivery(t, "greenhouse", whFixture(t, "greenhouse", "reject_candidate.json"), "e2e-after-erasure", whSecret)
	if r := later.post(t, srv, "/webhooks/greenhouse"); r.Status != http.StatusOK || r.Map(t)["stored"] != 1.0 {
		t.Fatalf("delivery after the erasure: %d %s", r.Status, r.Body)
	}
	if got := replay(map[string]any{"source": "greenhouse"}); got["deliveries"] != 0.0 {
		t.Errorf("the payload about an erased person was kept: %v", got)
	}
}

// runVendor is one vendor's part of TestWebhooks.
func runVendor(t *testing.T, srv *servicetest.Instance, vc vendorCase) {
	body := whFixture(t, vc.source, vc.fixture)
	id := "e2e-" + vc.source + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	// A bad signature is refused, stores nothing, and is logged as rejected.
	bad := signDelivery(t, vc.source, body, id+"-bad", "not-the-secret")
	expectProblem(t, bad.post(t, srv, vc.path), http.StatusUnauthorized, "")
	if n := countApp(t, srv, vc.app); n != 0 {
		t.Fatalf("a badly signed delivery stored %d interactions", n)
	}
	if len(deliveries(t, srv, "outcome=rejected&source="+vc.source)) != 1 {
		t.Fatalf("the rejected delivery is not in the log: %v", deliveries(t, srv, "source="+vc.source))
	}

	// A signed delivery is stored and reaches the application's timeline.
	good := signDelivery(t, vc.source, body, id, whSecret)
	r := good.post(t, srv, vc.path)
	if r.Status != http.StatusOK {
		t.Fatalf("delivery: %d %s", r.Status, r.Body)
	}
	var res struct {
		Stored, Duplicates int
		Interactions       []string
	}
	r.JSON(t, &res)
	if res.Stored != 1 || res.Duplicates != 0 || len(res.Interactions) != 1 {
		t.Fatalf("delivery answered %s", r.Body)
	}
	timelineHas(t, srv, vc.app, vc.want)

	// The same delivery again is stored once.
	again := good.post(t, srv, vc.path)
	if again.Status != http.StatusOK || again.Map(t)["duplicate"] != true {
		t.Fatalf("redelivery: %d %s", again.Status, again.Body)
	}
	if vc.source == "lever" {
		// Lever signs token + triggeredAt only: another body under them is the same
		// delivery, whatever it says.
		var m map[string]any
		if err := json.Unmarshal(good.body, &m); err != nil {
			t.Fatal(err)
		}
		m["data"] = map[string]any{"opportunityId": "lever:forged", "toStageId": "hired"}
		forged, _ := json.Marshal(m)
		if r := srv.Do(t, http.MethodPost, vc.path, "", forged); r.Status != http.StatusOK || r.Map(t)["duplicate"] != true {
			t.Fatalf("a forged body under a used token: %d %s", r.Status, r.Body)
		}
	}
	if n := countApp(t, srv, vc.app); n != 1 {
		t.Fatalf("%d interactions after a redelivery, want 1", n)
	}
	stored := deliveries(t, srv, "outcome=stored&source="+vc.source)
	if len(stored) != 1 || stored[0]["interaction_ids"].([]any)[0] != res.Interactions[0] || stored[0]["event"] == "" {
		t.Fatalf("stored deliveries: %v", stored)
	}
	if len(deliveries(t, srv, "outcome=duplicate&source="+vc.source)) == 0 {
		t.Fatalf("the redelivery is not in the log")
	}

	// A signed but malformed body is refused with 400 and logged as rejected.
	expectProblem(t, signDelivery(t, vc.source, vc.malformed, id+"-malformed", whSecret).post(t, srv, vc.path), http.StatusBadRequest, vc.field)

	// Pings and events goodwill does not map are answered 200 and store nothing.
	if vc.ping != "" {
		r := signDelivery(t, vc.source, whFixture(t, vc.source, vc.ping), id+"-ping", whSecret).post(t, srv, vc.path)
		if r.Status != http.StatusOK || r.Map(t)["ping"] != true {
			t.Fatalf("ping: %d %s", r.Status, r.Body)
		}
	}
	if vc.ignored != nil {
		r := signDelivery(t, vc.source, vc.ignored, id+"-ignored", whSecret).post(t, srv, vc.path)
		if m := r.Map(t); r.Status != http.StatusOK || m["ignored"] != true || m["reason"] == "" {
			t.Fatalf("ignored event: %d %s", r.Status, r.Body)
		}
		if len(deliveries(t, srv, "outcome=ignored&source="+vc.source)) != 1 {
			t.Fatalf("the ignored delivery is not in the log")
		}
	}
	if n := len(deliveries(t, srv, "outcome=rejected&source="+vc.source)); n != 2 {
		t.Fatalf("%d rejected deliveries in the log, want 2 (bad signature, malformed)", n)
	}
}

// TestWebhookNoSecret: a source without a secret accepts nothing, signed or not.
func TestWebhookNoSecret(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	for _, vc := range vendorCases {
		d := signDelivery(t, vc.source, whFixture(t, vc.source, vc.fixture), "e2e-nosecret", whSecret)
		expectProblem(t, d.post(t, srv, vc.path), http.StatusUnauthorized, "")
		if n := countApp(t, srv, vc.app); n != 0 {
			t.Errorf("%s: stored %d interactions without a secret", vc.source, n)
		}
	}
}

// TestWebhookRetryAfterFailure loses the store's answer to the interactions' write:
// the delivery record exists but is not stored yet, so the vendor's retry must
// complete the write instead of being answered as a duplicate.
func TestWebhookRetryAfterFailure(t *testing.T) {
	t.Parallel()
	proxy, uri := newStoreProxy(t)
	env := webhookEnv()
	env["GOODWILL_MONGODB_URI"] = uri
	srv := servicetest.Start(t, env, service.Options{})
	vc := vendorCases[0]
	d := signDelivery(t, vc.source, whFixture(t, vc.source, vc.fixture), "e2e-retry", whSecret)

	proxy.loseInsertReply.Store(true)
	first := d.post(t, srv, vc.path)
	if proxy.loseInsertReply.Load() {
		t.Fatalf("the proxy never saw the insert (answer %d %s)", first.Status, first.Body)
	}
	t.Logf("first attempt: %d %s", first.Status, first.Body)
	var r servicetest.Response
	servicetest.Eventually(t, 15*time.Second, "a retry to succeed", func() bool {
		r = d.post(t, srv, vc.path)
		return r.Status == http.StatusOK
	})
	if first.Status == http.StatusServiceUnavailable {
		if m := r.Map(t); m["duplicate"] == true || m["stored"].(float64)+m["duplicates"].(float64) != 1 {
			t.Fatalf("the retry after a 503 answered %s, want the write completed", r.Body)
		}
	}
	if n := countApp(t, srv, vc.app); n != 1 {
		t.Fatalf("%d interactions, want 1", n)
	}
	if got := deliveries(t, srv, "outcome=stored"); len(got) != 1 || len(got[0]["interaction_ids"].([]any)) != 1 {
		t.Fatalf("stored deliveries: %v", got)
	}
	timelineHas(t, srv, vc.app, vc.want)
}

// twilioSignature is X-Twilio-Signature of a form POST to rawURL.
func twilioSignature(token, rawURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(rawURL)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestTwilioWebhooks: an inbound SMS from a candidate's phone becomes an inbound
// message on their application; one from an unknown number stores nothing; bad
// signatures are refused; status callbacks are logged.
func TestTwilioWebhooks(t *testing.T) {
	t.Parallel()
	const (
		token     = "twiliotestauthtoken0123456789abc"
		publicURL = "https://goodwill.example.com"
		phone     = "+14155550142"
	)
	srv := servicetest.Start(t, map[string]string{
		"TWILIO_ACCOUNT_SID":  "AC0123456789abcdef0123456789abcdef",
		"TWILIO_AUTH_TOKEN":   token,
		"TWILIO_FROM_NUMBER":  "+15005550006",
		"GOODWILL_PUBLIC_URL": publicURL,
	}, service.Options{})
	post := func(path string, form url.Values, sig string) servicetest.Response {
		t.Helper()
		if sig == "" {
			sig = twilioSignature(token, publicURL+path, form)
		}
		return srv.Do(t, http.MethodPost, path, "", form.Encode(),
			"Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", sig)
	}
	expectTwiML := func(r servicetest.Response) {
		t.Helper()
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") ||
			!strings.Contains(string(r.Body), "<Response/>") {
			t.Fatalf("want empty TwiML, got %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	}

	// The candidate's phone becomes known through an ordinary interaction.
	seed := interaction("tw-app", "tw-1")
	seed["candidate"] = map[string]string{"name": "Ada", "phone": phone}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, seed); r.Status != http.StatusCreated {
		t.Fatalf("seed: %d %s", r.Status, r.Body)
	}
	timelineHas(t, srv, "tw-app", map[string]any{"kind": "application_received"})

	sms := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "From": {phone},
		"To": {"+15005550006"}, "Body": {"Thanks, Tuesday works for me"}}
	expectTwiML(post("/webhooks/twilio/sms", sms, ""))
	timelineHas(t, srv, "tw-app", map[string]any{"kind": "message", "direction": "inbound", "channel": "sms", "source": "twilio"})
	// Twilio's retry of the same message is stored once.
	expectTwiML(post("/webhooks/twilio/sms", sms, ""))
	if n := countApp(t, srv, "tw-app"); n != 2 {
		t.Fatalf("%d interactions, want the seed and one message", n)
	}

	// An unknown number: nothing stored, nothing sent back.
	stranger := url.Values{"MessageSid": {"SMffff"}, "From": {"+14155550999"}, "Body": {"who is this?"}}
	expectTwiML(post("/webhooks/twilio/sms", stranger, ""))
	var twilioItems struct{ Interactions []any }
	srv.Do(t, http.MethodGet, "/v1/interactions?source=twilio", servicetest.AdminKey, nil).JSON(t, &twilioItems)
	if len(twilioItems.Interactions) != 1 {
		t.Fatalf("%d interactions from Twilio, want 1", len(twilioItems.Interactions))
	}
	if ignored := deliveries(t, srv, "source=twilio&outcome=ignored"); len(ignored) != 1 {
		t.Fatalf("the unknown sender's message is not logged: %v", ignored)
	}

	// Bad or missing signatures, and a signature for another URL.
	expectProblem(t, post("/webhooks/twilio/sms", sms, "bm90IGEgc2lnbmF0dXJl"), http.StatusUnauthorized, "")
	expectProblem(t, srv.Do(t, http.MethodPost, "/webhooks/twilio/sms", "", sms.Encode(),
		"Content-Type", "application/x-www-form-urlencoded"), http.StatusUnauthorized, "")
	expectProblem(t, post("/webhooks/twilio/sms", sms, twilioSignature(token, "http://elsewhere.example.com/webhooks/twilio/sms", sms)), http.StatusUnauthorized, "")
	// A signed form without MessageSid.
	expectProblem(t, post("/webhooks/twilio/sms", url.Values{"From": {phone}, "Body": {"hi"}}, ""), http.StatusBadRequest, "")

	// Status callbacks are logged.
	status := url.Values{"MessageSid": {"SMaaaa"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	if r := post("/webhooks/twilio/status", status, ""); r.Status != http.StatusOK {
		t.Fatalf("status callback: %d %s", r.Status, r.Body)
	}
	if got := deliveries(t, srv, "source=twilio&outcome=status"); len(got) != 1 || got[0]["delivery_id"] != "SMaaaa" {
		t.Fatalf("status callbacks in the log: %v", got)
	}
	expectProblem(t, post("/webhooks/twilio/status", status, "bm90IGEgc2lnbmF0dXJl"), http.StatusUnauthorized, "")
}

// TestLeverHiredArchive: with the account's hired archive reasons configured, Lever's
// archive of a hired candidate is no rejection; without them it is.
func TestLeverHiredArchive(t *testing.T) {
	t.Parallel()
	const hiredReason = "63dd55b2-a99f-4e7b-985f-22c7bf80ab42" // the fixture's reason
	for _, tc := range []struct {
		name    string
		reasons string
		ignored bool
	}{
		{"configured", "other-reason, " + hiredReason, true}, // a hired reason: ignored
		{"not configured", "", false},                        // recorded as a rejection
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := webhookEnv()
			env["GOODWILL_LEVER_HIRED_REASONS"] = tc.reasons
			srv := servicetest.Start(t, env, service.Options{})
			d := signDelivery(t, "lever", whFixture(t, "lever", "candidateArchiveChange.json"), "tok-"+tc.name, whSecret)
			r := d.post(t, srv, "/webhooks/lever")
			if r.Status != http.StatusOK {
				t.Fatalf("post: %d %s", r.Status, r.Body)
			}
			if got := r.Map(t)["ignored"] == true; got != tc.ignored {
				t.Fatalf("ignored %v, want %v: %s", got, tc.ignored, r.Body)
			}
		})
	}
}
