package service_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// hookEvent is one event a receiver took, its signature verified.
type hookEvent struct {
	ID   string // webhook-id
	Type string
	Data map[string]any
}

// hookReceiver is a local receiver of outgoing alert webhooks: it verifies each
// delivery's Standard Webhooks signature with the secret it is given, and answers
// with the statuses it is told to (then 200).
type hookReceiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	failures []int // answers to give first
	events   []hookEvent
	attempts int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{t: t}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if len(h.failures) > 0 {
		w.WriteHeader(h.failures[0])
		h.failures = h.failures[1:]
		return
	}
	wh, err := standardwebhooks.NewWebhook(h.secret)
	if err != nil {
		h.t.Errorf("receiver: secret %q: %v", h.secret, err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if err := wh.Verify(body, r.Header); err != nil {
		h.t.Errorf("receiver: the signature does not verify: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Type == "" || e.Data == nil {
		h.t.Errorf("receiver: body %s: %v", body, err)
	}
	if _, err := time.Parse(time.RFC3339, e.Timestamp); err != nil {
		h.t.Errorf("receiver: timestamp %q", e.Timestamp)
	}
	h.events = append(h.events, hookEvent{ID: r.Header.Get("webhook-id"), Type: e.Type, Data: e.Data})
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) setSecret(s string) {
	h.mu.Lock()
	h.secret = s
	h.mu.Unlock()
}

func (h *hookReceiver) got() []hookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookEvent(nil), h.events...)
}

// eventOf returns the first event of a type about an alert of the application.
func (h *hookReceiver) eventOf(typ, app string) (hookEvent, bool) {
	for _, e := range h.got() {
		if e.Type == typ && e.Data["application_id"] == app {
			return e, true
		}
	}
	return hookEvent{}, false
}

// subscribe creates an alert webhook and gives the receiver its secret.
func subscribe(t *testing.T, srv *servicetest.Instance, h *hookReceiver, events ...string) map[string]any {
	t.Helper()
	r := srv.Do(t, http.MethodPost, "/v1/alert-webhooks", servicetest.AdminKey, map[string]any{"url": h.srv.URL + "/hooks", "events": events})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	m := r.Map(t)
	secret, _ := m["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || m["id"] == "" || m["url"] != h.srv.URL+"/hooks" {
		t.Fatalf("subscription %v", m)
	}
	h.setSecret(secret)
	return m
}

// breachSoon sets first_response to breach 2 s after an application arrives, and
// makes a recruiter (alerts to the log channel: no SMS or SMTP is configured).
func breachSoon(t *testing.T, srv *servicetest.Instance, recruiter map[string]any) {
	t.Helper()
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{
		"name": "fast", "metric": "first_response", "target": "2s", "calendar": "24x7", "warn_ratio": 1, "enabled": true,
	}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	recruiter["working_days"] = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/ann", servicetest.AdminKey, recruiter); r.Status != http.StatusCreated {
		t.Fatalf("recruiter: %d %s", r.Status, r.Body)
	}
}

func applyFor(t *testing.T, srv *servicetest.Instance, app string) {
	t.Helper()
	in := interaction(app, app+"-received")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "ann"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
}

type hookDelivery struct {
	ID, Type, State string
	AlertID         string `json:"alert_id"`
	NextAttemptAt   string `json:"next_attempt_at"`
	Attempts        []struct {
		At     string
		Status int
		Error  string
	}
}

func hookDeliveries(t *testing.T, srv *servicetest.Instance, id string) []hookDelivery {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/alert-webhooks/"+id+"/deliveries", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("deliveries: %d %s", r.Status, r.Body)
	}
	var out struct{ Deliveries []hookDelivery }
	r.JSON(t, &out)
	return out.Deliveries
}

// TestAlertWebhooksEndToEnd: a subscribed receiver gets a signed alert.created for a
// breach, with the alert as the API lists it but no delivery addresses, then
// alert.acknowledged; the deliveries list shows each attempt. The subscription list
// never shows the secret; a deleted subscription is gone.
func TestAlertWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHookReceiver(t)
	srv := servicetest.Start(t, map[string]string{"GOODWILL_ALLOW_PRIVATE_WEBHOOKS": "on"}, service.Options{})
	sub := subscribe(t, srv, h, "alert.created", "alert.acknowledged")
	id := sub["id"].(string)

	r := srv.Do(t, http.MethodGet, "/v1/alert-webhooks", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), "whsec_") || !strings.Contains(string(r.Body), id) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodGet, "/v1/alert-webhooks", srv.NewKey(t, "recruiter", "ann"), nil); r.Status != http.StatusForbidden {
		t.Fatalf("a recruiter key lists alert webhooks: %d", r.Status)
	}

	breachSoon(t, srv, map[string]any{"name": "Ann", "email": "ann@example.com",
		"channels": map[string]any{"breached": []string{"email"}}})
	applyFor(t, srv, "wh-1")
	var created hookEvent
	servicetest.Eventually(t, 15*time.Second, "a signed alert.created", func() bool {
		var ok bool
		created, ok = h.eventOf("alert.created", "wh-1")
		return ok
	})
	alert, ok := alertOf(t, srv, "wh-1", "breached")
	if !ok {
		t.Fatal("no breach alert")
	}
	if created.Data["id"] != alert.ID || created.Data["level"] != "breached" || created.Data["recruiter_id"] != "ann" ||
		created.Data["due_at"] != alert.DueAt || created.Data["created_at"] != alert.CreatedAt || !strings.HasPrefix(created.ID, "msg_") {
		t.Fatalf("alert.created %+v, alert %+v", created, alert)
	}
	dls, _ := created.Data["deliveries"].([]any)
	if len(dls) != 1 {
		t.Fatalf("deliveries in the event: %v", created.Data["deliveries"])
	}
	if d := dls[0].(map[string]any); d["channel"] != "log" || d["to"] != nil {
		t.Fatalf("the event's delivery %v: want the log channel, without its address", d)
	}

	if r := srv.Do(t, http.MethodPost, "/v1/alerts/"+alert.ID+"/ack", servicetest.AdminKey, nil); r.Status != http.StatusOK {
		t.Fatalf("ack: %d %s", r.Status, r.Body)
	}
	var acked hookEvent
	servicetest.Eventually(t, 15*time.Second, "a signed alert.acknowledged", func() bool {
		acked, ok = h.eventOf("alert.acknowledged", "wh-1")
		return ok
	})
	if acked.Data["id"] != alert.ID || acked.Data["state"] != "acknowledged" || acked.ID == created.ID {
		t.Fatalf("alert.acknowledged %+v", acked)
	}
	// Acknowledging again changes nothing, and tells nobody.
	srv.Do(t, http.MethodPost, "/v1/alerts/"+alert.ID+"/ack", servicetest.AdminKey, nil)

	var list []hookDelivery
	servicetest.Eventually(t, 5*time.Second, "two delivered deliveries", func() bool {
		list = hookDeliveries(t, srv, id)
		return len(list) == 2 && list[0].State == "delivered" && list[1].State == "delivered"
	})
	if list[0].Type != "alert.acknowledged" || list[1].Type != "alert.created" || list[1].AlertID != alert.ID ||
		len(list[1].Attempts) != 1 || list[1].Attempts[0].Status != http.StatusNoContent || list[1].ID != created.ID {
		t.Fatalf("deliveries %+v", list)
	}
	time.Sleep(1500 * time.Millisecond) // time for a wrong second acknowledgement event
	if n := len(h.got()); n != 2 {
		t.Fatalf("the receiver got %d events, want 2: %+v", n, h.got())
	}

	if r := srv.Do(t, http.MethodDelete, "/v1/alert-webhooks/"+id, servicetest.AdminKey, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/alert-webhooks/"+id+"/deliveries", servicetest.AdminKey, nil), http.StatusNotFound, "")
	expectProblem(t, srv.Do(t, http.MethodDelete, "/v1/alert-webhooks/"+id, servicetest.AdminKey, nil), http.StatusNotFound, "")
}

// TestAlertWebhookRetries: a failed attempt is recorded and tried again 5 s later,
// after a restart too, with the same webhook-id.
func TestAlertWebhookRetries(t *testing.T) {
	t.Parallel()
	h := newHookReceiver(t)
	h.failures = []int{http.StatusInternalServerError}
	srv := servicetest.Start(t, map[string]string{"GOODWILL_ALLOW_PRIVATE_WEBHOOKS": "on"}, service.Options{})
	id := subscribe(t, srv, h, "alert.created")["id"].(string)
	breachSoon(t, srv, map[string]any{"name": "Ann"})
	applyFor(t, srv, "wh-retry")

	var list []hookDelivery
	servicetest.Eventually(t, 15*time.Second, "a failed first attempt", func() bool {
		list = hookDeliveries(t, srv, id)
		return len(list) == 1 && len(list[0].Attempts) == 1
	})
	d := list[0]
	first, err := time.Parse(time.RFC3339, d.Attempts[0].At)
	if err != nil {
		t.Fatal(err)
	}
	next, err := time.Parse(time.RFC3339, d.NextAttemptAt)
	if err != nil || d.State != "pending" || d.Attempts[0].Status != http.StatusInternalServerError ||
		!strings.Contains(d.Attempts[0].Error, "500") || next.Sub(first) != 5*time.Second {
		t.Fatalf("delivery %+v: want pending, the 500 recorded, and the next attempt 5 s after the first", d)
	}

	srv.Restart(t) // the retry is in the store, not in memory
	servicetest.Eventually(t, 20*time.Second, "the retry delivered", func() bool {
		list = hookDeliveries(t, srv, id)
		return len(list) == 1 && list[0].State == "delivered"
	})
	d = list[0]
	second, _ := time.Parse(time.RFC3339, d.Attempts[1].At)
	if len(d.Attempts) != 2 || d.Attempts[1].Status != http.StatusNoContent || second.Sub(first) < 5*time.Second || d.NextAttemptAt != "" {
		t.Fatalf("delivery %+v: want a second, successful attempt at least 5 s after the first", d)
	}
	if got := h.got(); len(got) != 1 || got[0].ID != d.ID || got[0].Type != "alert.created" {
		t.Fatalf("the receiver got %+v", got)
	}
}

// TestAlertWebhookAddressRules: with GOODWILL_ALLOW_PRIVATE_WEBHOOKS off, a
// subscription must be https and may not point at loopback, private, link-local,
// CGNAT, unique local, IPv4-mapped or metadata addresses, by address or by a name
// that resolves to one. Each refusal is a 400 naming the field.
func TestAlertWebhookAddressRules(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"http", map[string]any{"url": "http://93.184.215.14/hooks", "events": []string{"alert.created"}}, "url"},
		{"loopback", map[string]any{"url": "https://127.0.0.1/hooks", "events": []string{"alert.created"}}, "url"},
		{"a name resolving to loopback", map[string]any{"url": "https://localhost:8443/hooks", "events": []string{"alert.created"}}, "url"},
		{"private", map[string]any{"url": "https://10.0.0.7/hooks", "events": []string{"alert.created"}}, "url"},
		{"link-local metadata", map[string]any{"url": "https://169.254.169.254/latest", "events": []string{"alert.created"}}, "url"},
		{"CGNAT", map[string]any{"url": "https://100.64.1.1/hooks", "events": []string{"alert.created"}}, "url"},
		{"IPv6 unique local", map[string]any{"url": "https://[fd12::1]/hooks", "events": []string{"alert.created"}}, "url"},
		{"IPv4-mapped", map[string]any{"url": "https://[::ffff:10.0.0.1]/hooks", "events": []string{"alert.created"}}, "url"},
		{"no URL", map[string]any{"events": []string{"alert.created"}}, "url"},
		{"no events", map[string]any{"url": "https://93.184.215.14/hooks"}, "events"},
		{"an unknown event", map[string]any{"url": "https://93.184.215.14/hooks", "events": []string{"alert.created", "alert.exploded"}}, "events[1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			expectProblem(t, srv.Do(t, http.MethodPost, "/v1/alert-webhooks", servicetest.AdminKey, c.body), http.StatusBadRequest, c.field)
		})
	}
	// A public address is accepted (nothing is sent until an alert).
	r := srv.Do(t, http.MethodPost, "/v1/alert-webhooks", servicetest.AdminKey, map[string]any{"url": "https://93.184.215.14/hooks", "events": []string{"alert.resolved"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("public address: %d %s", r.Status, r.Body)
	}
}
