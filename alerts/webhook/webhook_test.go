package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/outbound"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

func sampleAlert() alerts.Alert {
	due := time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.UTC)
	return alerts.Alert{ID: "i1:first_response:breached", Code: "7F3K", Level: alerts.LevelBreached, State: alerts.StateOpen,
		ApplicationID: "app-1", CandidateID: "cand-1", RecruiterID: "ann", Metric: "first_response", DueAt: due,
		CreatedAt: due.Add(time.Second),
		Deliveries: []alerts.Delivery{{Channel: "sms", To: "+14155550100", Status: "sent", Attempts: 1}}}
}

// The payload is {"type","timestamp","data"}: the alert with the API's times and
// without its deliveries' addresses.
func TestPayload(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 5, 0, time.UTC)
	b, err := Payload(alerts.Event{Type: alerts.EventCreated, At: at, Alert: sampleAlert()})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Type, Timestamp string
		Data            map[string]any
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	dl := p.Data["deliveries"].([]any)[0].(map[string]any)
	if p.Type != "alert.created" || p.Timestamp != "2026-11-20T10:00:05.000Z" || p.Data["id"] != "i1:first_response:breached" ||
		p.Data["due_at"] != "2026-11-20T10:00:00.123Z" || p.Data["created_at"] != "2026-11-20T10:00:01.123Z" ||
		dl["to"] != nil || dl["channel"] != "sms" || p.Data["owner_id"] != nil {
		t.Fatalf("payload %s", b)
	}
}

// A receiver that never answers 2xx is tried at once and then 5 s, 5 min, 30 min,
// 2 h, 5 h and 10 h after each failure, every attempt recorded with the same
// webhook-id and a valid signature; after the seventh, the delivery has failed.
func TestRetrySchedule(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	var secret string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		wh, _ := standardwebhooks.NewWebhook(secret)
		if err := wh.VerifyIgnoringTimestamp(body, r.Header); err != nil {
			t.Errorf("signature: %v", err)
		}
		ids = append(ids, r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := NewStore(storagetest.NewDB(t))
	s := New(Config{Store: store, Policy: outbound.Policy{AllowPrivate: true}, Now: clock, Log: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	sub, err := s.Subscribe(ctx, srv.URL, []string{alerts.EventCreated})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = sub.Secret
	mu.Unlock()
	if err := s.Publish(ctx, []alerts.Event{
		{Type: alerts.EventCreated, At: now, Alert: sampleAlert()},
		{Type: alerts.EventAcknowledged, At: now, Alert: sampleAlert()}, // not subscribed to
	}); err != nil {
		t.Fatal(err)
	}
	for i, wait := range append([]time.Duration{0}, Retries...) {
		mu.Lock()
		now = now.Add(wait - time.Millisecond)
		mu.Unlock()
		if n := s.flush(); n != 0 {
			t.Fatalf("attempt %d: %d deliveries due a millisecond early", i+1, n)
		}
		mu.Lock()
		now = now.Add(time.Millisecond)
		mu.Unlock()
		if n := s.flush(); n != 1 {
			t.Fatalf("attempt %d: %d deliveries due, want 1", i+1, n)
		}
		list, err := store.Deliveries(ctx, sub.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("deliveries %v %v", list, err)
		}
		d := list[0]
		if len(d.Attempts) != i+1 || d.Attempts[i].Status != http.StatusServiceUnavailable || !d.Attempts[i].At.Equal(now) {
			t.Fatalf("attempt %d recorded as %+v", i+1, d.Attempts)
		}
		switch {
		case i < len(Retries):
			if d.State != StatePending || d.NextAt == nil || !d.NextAt.Equal(now.Add(Retries[i])) {
				t.Fatalf("after attempt %d: state %s, next %v; want pending, next in %s", i+1, d.State, d.NextAt, Retries[i])
			}
		default:
			if d.State != StateFailed || d.NextAt != nil {
				t.Fatalf("after the last attempt: state %s, next %v; want failed", d.State, d.NextAt)
			}
		}
	}
	mu.Lock()
	now = now.Add(48 * time.Hour)
	mu.Unlock()
	if n := s.flush(); n != 0 {
		t.Fatalf("%d deliveries due after the last attempt", n)
	}
	if len(ids) != 7 || ids[0] != ids[6] {
		t.Fatalf("webhook-ids %v: want 7 attempts with one id", ids)
	}
}
