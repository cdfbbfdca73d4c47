// Package webhook delivers alert events to the receivers admins subscribe
// (POST /v1/alert-webhooks): alert.created, alert.acknowledged, alert.snoozed,
// alert.resolved and alert.escalated, as Standard Webhooks (standardwebhooks.com)
// signed with the subscription's whsec_ secret by the standard-webhooks library.
//
// The body is {"type","timestamp","data"}, data being the alert as GET /v1/alerts
// shows it to an admin, without the deliveries' addresses. Publish records one
// Delivery per event and subscription in the store before it returns; the Sender
// then posts it, and tries again after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h
// (Retries) until the receiver answers 2xx. Every attempt is recorded. Deliveries
// survive restarts, and only one replica sends (Config.Owns). A delivery is at least
// once: its webhook-id is the same on every attempt, so that receivers drop repeats.
//
// Addresses follow alerts/outbound: https only, no redirect followed, no private,
// loopback or metadata address, checked again at connect time.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/outbound"
	"github.com/goodwillhq/goodwill/interactions"
)

// Retries are the waits before each attempt after the first, as the Standard Webhooks
// guidance suggests: about a day in all.
var Retries = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

const (
	tick        = time.Second      // how often the sender may look for due deliveries
	idleLook    = time.Minute      // how often it looks anyway, alone on its store
	subsFresh   = 5 * time.Second  // how long the subscriptions read are used before reading again
	attemptTime = 15 * time.Second // one attempt at most
	workers     = 4                // deliveries sent at once
	batch       = 100              // deliveries taken per look
	kept        = 30 * 24 * time.Hour
)

// Config is what a Sender needs.
type Config struct {
	Store  *Store
	Policy outbound.Policy // GOODWILL_ALLOW_PRIVATE_WEBHOOKS
	// Owns says whether this replica sends (the one owning the first SLA partition,
	// with several replicas); nil: it does.
	Owns func() bool
	// Shared: other replicas may publish too, so the sender looks for due deliveries
	// every second (an indexed query on MongoDB). Otherwise every publish is local
	// and the sender looks only when one wakes it, when a retry it recorded comes
	// due, and every minute: on the embedded store a look scans the deliveries.
	Shared bool
	Now    func() time.Time
	Log    *slog.Logger
}

// Sender records and delivers alert events; it satisfies alerts.Events.
type Sender struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	subs     []Subscription
	subsRead time.Time
	next     time.Time // the earliest retry known to be due (zero: none)

	wake     chan struct{}
	stopping chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// New returns a Sender; Start runs it.
func New(cfg Config) *Sender {
	return &Sender{cfg: cfg, client: cfg.Policy.Client(attemptTime), wake: make(chan struct{}, 1),
		stopping: make(chan struct{}), done: make(chan struct{})}
}

// Start delivers what is due until Close, looking every second and at once after a
// local Publish.
func (s *Sender) Start() { go s.run() }

// Close stops the sender; an attempt in flight is finished and recorded first.
func (s *Sender) Close() {
	s.stopOnce.Do(func() { close(s.stopping) })
	<-s.done
}

// Subscribe creates a subscription to events (a non-empty subset of
// alerts.EventTypes; the caller validates) at u (checked by the caller with
// outbound.Policy.CheckURL) and returns it with its new secret.
func (s *Sender) Subscribe(ctx context.Context, u string, events []string) (Subscription, error) {
	key := make([]byte, 24)
	_, _ = rand.Read(key)
	sub := Subscription{
		ID: "wh_" + strings.ToLower(rand.Text()[:16]), URL: u, Events: events,
		Secret:    "whsec_" + base64.StdEncoding.EncodeToString(key),
		CreatedAt: s.cfg.Now().UTC().Truncate(time.Millisecond),
	}
	if err := s.cfg.Store.create(ctx, sub); err != nil {
		return Subscription{}, err
	}
	s.forget()
	return sub, nil
}

// Unsubscribe deletes a subscription and its deliveries; CodeNotFound when there is
// none.
func (s *Sender) Unsubscribe(ctx context.Context, id string) error {
	err := s.cfg.Store.delete(ctx, id)
	s.forget()
	return err
}

// forget drops the subscriptions read, so that the next Publish reads them again.
func (s *Sender) forget() {
	s.mu.Lock()
	s.subsRead = time.Time{}
	s.mu.Unlock()
}

// subscriptions returns the subscriptions, read again when older than subsFresh (a
// subscription made on another replica takes at most that long to apply).
func (s *Sender) subscriptions(ctx context.Context) ([]Subscription, error) {
	now := time.Now()
	s.mu.Lock()
	if !s.subsRead.IsZero() && now.Sub(s.subsRead) < subsFresh {
		defer s.mu.Unlock()
		return s.subs, nil
	}
	s.mu.Unlock()
	subs, err := s.cfg.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.subs, s.subsRead = subs, now
	s.mu.Unlock()
	return subs, nil
}

// Publish records a delivery of each event for each subscription to its type, due at
// once.
func (s *Sender) Publish(ctx context.Context, events []alerts.Event) error {
	subs, err := s.subscriptions(ctx)
	if err != nil || len(subs) == 0 {
		return err
	}
	now := s.cfg.Now().UTC().Truncate(time.Millisecond)
	var ds []Delivery
	for _, e := range events {
		var body []byte
		for _, sub := range subs {
			if !slices.Contains(sub.Events, e.Type) {
				continue
			}
			if body == nil {
				if body, err = Payload(e); err != nil {
					return err
				}
			}
			ds = append(ds, Delivery{
				ID: messageID(sub.ID, e), SubscriptionID: sub.ID, Type: e.Type, AlertID: e.Alert.ID,
				Body: string(body), State: StatePending, Attempts: []Attempt{}, NextAt: &now, CreatedAt: now,
			})
		}
	}
	if len(ds) == 0 {
		return nil
	}
	if err := s.cfg.Store.insert(ctx, ds); err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// messageID is the webhook-id of an event's delivery to a subscription: the same
// event published twice is one delivery.
func messageID(subID string, e alerts.Event) string {
	sum := sha256.Sum256([]byte(subID + "\x00" + e.Alert.ID + "\x00" + e.Type + "\x00" + strconv.FormatInt(e.At.UnixMilli(), 10)))
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

// Payload is the body of an event: {"type","timestamp","data"}, data being the alert
// as GET /v1/alerts shows it to an admin (times in the API's format), without the
// deliveries' addresses.
func Payload(e alerts.Event) ([]byte, error) {
	raw, err := json.Marshal(e.Alert)
	if err != nil {
		return nil, err
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, err
	}
	data["due_at"] = interactions.APITime(e.Alert.DueAt)
	data["created_at"] = interactions.APITime(e.Alert.CreatedAt)
	if dls, ok := data["deliveries"].([]any); ok {
		for _, dl := range dls {
			if m, ok := dl.(map[string]any); ok {
				delete(m, "to")
			}
		}
	}
	return json.Marshal(map[string]any{"type": e.Type, "timestamp": interactions.APITime(e.At), "data": data})
}

func (s *Sender) run() {
	defer close(s.done)
	timer := time.NewTimer(tick)
	defer timer.Stop()
	purgeAt := time.Now().Add(time.Minute)
	var looked time.Time // wall clock
	learned := false     // whether s.next holds the earliest pending delivery's time
	for {
		woke := false
		select {
		case <-s.stopping:
			return
		case <-timer.C:
		case <-s.wake:
			woke = true
		}
		look := woke || s.cfg.Shared || time.Since(looked) >= idleLook || s.retryDue(s.cfg.Now())
		if look && (s.cfg.Owns == nil || s.cfg.Owns()) {
			looked = time.Now()
			took := 0
			for n := batch; n == batch; took += n { // a full batch: more may be due
				select {
				case <-s.stopping:
					return
				default:
				}
				n = s.flush()
			}
			if !s.cfg.Shared && (took > 0 || !learned) {
				s.learnNext() // when the next retry is due, its own or recorded before a restart
				learned = true
			}
			if time.Now().After(purgeAt) {
				purgeAt = time.Now().Add(24 * time.Hour)
				s.purge()
			}
		}
		timer.Reset(tick)
	}
}

// retryDue says whether a retry recorded comes due at now.
func (s *Sender) retryDue(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.next.IsZero() && !now.Before(s.next)
}

// noteNext notes that a retry comes due at t.
func (s *Sender) noteNext(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next.IsZero() || t.Before(s.next) {
		s.next = t
	}
}

// learnNext reads when the earliest pending delivery is due.
func (s *Sender) learnNext() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if at, ok, err := s.cfg.Store.earliest(ctx); err == nil && ok {
		s.noteNext(at)
	}
}

// purge deletes finished deliveries older than 30 days.
func (s *Sender) purge() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := s.cfg.Store.purge(ctx, s.cfg.Now().Add(-kept)); err != nil {
		s.cfg.Log.Warn("alert webhooks: purging old deliveries failed; retrying tomorrow", "err", err)
	}
}

// flush attempts the deliveries due, up to workers at once, and returns how many it
// took.
func (s *Sender) flush() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := s.cfg.Now().UTC()
	s.mu.Lock()
	if !s.next.IsZero() && !now.Before(s.next) {
		s.next = time.Time{} // taken now; what is still pending is noted again
	}
	s.mu.Unlock()
	due, err := s.cfg.Store.due(ctx, now, batch)
	if err != nil {
		s.cfg.Log.Warn("alert webhooks: reading due deliveries failed; retrying", "err", err)
		return 0
	}
	subs, err := s.cfg.Store.List(ctx)
	if err != nil {
		s.cfg.Log.Warn("alert webhooks: reading subscriptions failed; retrying", "err", err)
		return 0
	}
	byID := map[string]Subscription{}
	for _, sub := range subs {
		byID[sub.ID] = sub
	}
	next := make(chan Delivery)
	var wg sync.WaitGroup
	for range min(workers, len(due)) {
		wg.Go(func() {
			for d := range next {
				s.attempt(ctx, d, byID)
			}
		})
	}
	for _, d := range due {
		next <- d
	}
	close(next)
	wg.Wait()
	return len(due)
}

// attempt sends one delivery and records the attempt.
func (s *Sender) attempt(ctx context.Context, d Delivery, subs map[string]Subscription) {
	sub, ok := subs[d.SubscriptionID]
	if !ok {
		return // deleted, with its deliveries
	}
	start := s.cfg.Now().UTC()
	status, err := s.post(ctx, sub, d, start)
	a := Attempt{At: start.Truncate(time.Millisecond), Status: status, DurationMS: s.cfg.Now().Sub(start).Milliseconds()}
	state, nextAt := StateDelivered, (*time.Time)(nil)
	if err != nil {
		a.Error = err.Error()
		state = StateFailed
		if n := len(d.Attempts) + 1; n <= len(Retries) {
			at := start.Add(Retries[n-1]).Truncate(time.Millisecond)
			state, nextAt = StatePending, &at
			s.noteNext(at)
		}
	}
	if err := s.cfg.Store.record(ctx, d.ID, a, state, nextAt); err != nil {
		s.cfg.Log.Warn("alert webhooks: recording an attempt failed; it is made again", "delivery", d.ID, "err", err)
		s.noteNext(start)
	}
}

// post sends a delivery, signed at now, and returns the receiver's status; an error
// unless it answered 2xx.
func (s *Sender) post(ctx context.Context, sub Subscription, d Delivery, now time.Time) (int, error) {
	wh, err := standardwebhooks.NewWebhook(sub.Secret)
	if err != nil {
		return 0, fmt.Errorf("the subscription's secret is not usable: %w", err)
	}
	sig, err := wh.Sign(d.ID, now, []byte(d.Body))
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader([]byte(d.Body)))
	if err != nil {
		return 0, fmt.Errorf("the URL is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "goodwill")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, outbound.Scrub(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		msg := fmt.Sprintf("the receiver answered HTTP %d", res.StatusCode)
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			msg += " (redirects are not followed)"
		}
		return res.StatusCode, fmt.Errorf("%s", msg)
	}
	return res.StatusCode, nil
}
