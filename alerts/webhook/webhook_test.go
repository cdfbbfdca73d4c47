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
		CreatedAt:  due.Add(time.Second),
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

// Alone on its store (no other replica publishes), the sender looks for deliveries
// only when woken, when a retry comes due and every minute: a publish is sent at
// once, its retry 5 s later, and a sender started over a store with a retry pending
// sends it when due, not at its next idle look.
func TestSenderAlone(t *testing.T) {
	var mu sync.Mutex
	answers := []int{http.StatusInternalServerError, http.StatusOK, http.StatusInternalServerError, http.StatusOK}
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		w.WriteHeader(answers[0])
		answers = answers[1:]
	}))
	defer srv.Close()
	store := NewStore(storagetest.NewDB(t))
	cfg := Config{Store: store, Policy: outbound.Policy{AllowPrivate: true}, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	wait := func(what string, n int) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			mu.Lock()
			got := len(times)
			mu.Unlock()
			if got >= n {
				return
			}
		}
		t.Fatalf("%s: timed out", what)
	}

	s := New(cfg)
	s.Start()
	sub, err := s.Subscribe(ctx, srv.URL, []string{alerts.EventCreated})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Publish(ctx, []alerts.Event{{Type: alerts.EventCreated, At: start, Alert: sampleAlert()}}); err != nil {
		t.Fatal(err)
	}
	wait("the first attempt", 1)
	wait("the retry", 2)
	s.Close()
	if gap := times[1].Sub(times[0]); gap < 5*time.Second || gap > 8*time.Second {
		t.Fatalf("the retry came %s after the first attempt, want 5 s", gap)
	}

	// A delivery that failed before a restart is retried when due by the next sender.
	a := sampleAlert()
	a.ID = "i2:first_response:breached"
	s = New(cfg)
	if err := s.Publish(ctx, []alerts.Event{{Type: alerts.EventCreated, At: time.Now(), Alert: a}}); err != nil {
		t.Fatal(err)
	}
	if n := s.flush(); n != 1 {
		t.Fatalf("flush took %d", n)
	}
	failedAt := time.Now()
	s = New(cfg)
	s.Start()
	defer s.Close()
	wait("the retry after a restart", 4)
	if gap := times[3].Sub(failedAt); gap < 4*time.Second || gap > 8*time.Second {
		t.Fatalf("the retry after a restart came %s after the failure, want about 5 s", gap)
	}
	// The receiver has answered; the attempt is recorded just after.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		list, err := store.Deliveries(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		done := len(list) == 2
		for _, d := range list {
			done = done && d.State == StateDelivered && len(d.Attempts) == 2
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %+v: want both delivered at their second attempt", list)
		}
	}
}
