package webhooks_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// apps are the applications goodwill knows, by id: their candidates.
type apps struct {
	mu   sync.Mutex
	cand map[string]string
}

func (a *apps) CandidateOf(_ context.Context, id string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cand[id], nil
}

func (a *apps) add(id, candidate string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cand[id] = candidate
}

// counts are the connector counts added, by "<vendor> <name>".
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) AddCounts(_ context.Context, vendor string, add map[string]int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range add {
		c.n[vendor+" "+k] += v
	}
	return nil
}

func (c *counts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// keptWriter keeps what it is given; conflict refuses every write as a key of
// another application.
type keptWriter struct {
	mu       sync.Mutex
	items    []interactions.Interaction
	conflict bool
}

func (w *keptWriter) Write(_ context.Context, items []interactions.Interaction) ([]interactions.Interaction, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conflict {
		return nil, &interactions.Error{Code: interactions.CodeConflict, Message: "external_id: this idempotency key is taken by another application"}
	}
	w.items = append(w.items, items...)
	return items, nil
}

func (w *keptWriter) stored() []interactions.Interaction {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]interactions.Interaction(nil), w.items...)
}

// TestParked: an offer that names only its application takes the candidate of the
// known application; for an unknown one it is parked (answered parked, logged parked,
// counted), a redelivery stays parked, and it is written once the application arrives
// — told by the projector (Arrived) or found by the sweep; one whose application never
// comes is orphaned after ParkedFor.
func TestParked(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	log := webhooks.NewStore(storagetest.NewDB(t))
	w := &keptWriter{}
	known := &apps{cand: map[string]string{}}
	c := &counts{n: map[string]int{}}
	in := webhooks.NewIngest(webhooks.Config{
		Deliveries: log, Writer: w, Receivers: greenhouseOnly{}, Throttle: &throttle{limit: 1},
		Secrets:      map[string][]string{"greenhouse": {webhookstest.SecretA}},
		Applications: known, Counter: c,
		Now: func() time.Time {
			clock.Lock()
			defer clock.Unlock()
			return now
		},
		Log: slog.New(slog.DiscardHandler),
	})
	fixture := string(webhookstest.ReadFixture(t, "greenhouse/testdata/offer_created.json"))
	offer := func(app, event string) (webhooks.Result, error) {
		body := strings.Replace(fixture, `"application_id": 265293`, `"application_id": `+app, 1)
		return in.Receive(ctx, webhooks.Request{Source: "greenhouse", Body: strings.NewReader(body), ClientAddr: "192.0.2.1",
			Header: webhookstest.Hdr("Signature", "sha256 "+webhookstest.HexMAC(webhookstest.SecretA, body), "Greenhouse-Event-ID", event)})
	}
	record := func(key string) webhooks.Record {
		t.Helper()
		r, err := log.Get(ctx, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return r
	}
	offerOf := func(app string) (interactions.Interaction, bool) {
		for _, it := range w.stored() {
			if it.ApplicationID == app && it.Kind == interactions.KindOfferExtended {
				return it, true
			}
		}
		return interactions.Interaction{}, false
	}

	// A known application: the offer takes its candidate and is stored at once.
	known.add("greenhouse:1", "greenhouse:c1")
	if res, err := offer("1", "o1"); err != nil || res.Outcome != webhooks.OutcomeStored {
		t.Fatalf("offer of a known application: %+v, %v; want stored", res, err)
	}
	if it, ok := offerOf("greenhouse:1"); !ok || it.CandidateID != "greenhouse:c1" {
		t.Fatalf("stored %+v, want the offer with the application's candidate", w.stored())
	}

	// An unknown one: parked, and a redelivery stays parked, counted once.
	res, err := offer("2", "o2")
	if err != nil || res.Outcome != webhooks.OutcomeParked || !strings.Contains(res.Reason, "greenhouse:2") {
		t.Fatalf("offer of an unknown application: %+v, %v; want parked, naming it", res, err)
	}
	if res, err := offer("2", "o2"); err != nil || res.Outcome != webhooks.OutcomeParked {
		t.Fatalf("redelivered: %+v, %v; want parked", res, err)
	}
	if r := record("greenhouse:o2"); r.Outcome != webhooks.OutcomeParked || r.Reason == "" || r.Body == "" {
		t.Fatalf("log: %+v, want parked with a reason and its body", r)
	}
	if n := c.get("greenhouse parked"); n != 1 {
		t.Errorf("parked count %d, want 1", n)
	}
	if _, ok := offerOf("greenhouse:2"); ok {
		t.Fatal("a parked offer was written")
	}

	// The application arrives: the projector's news applies it.
	known.add("greenhouse:2", "greenhouse:c2")
	in.Arrived([]string{"greenhouse:2"})
	deadline := time.Now().Add(5 * time.Second)
	for record("greenhouse:o2").Outcome != webhooks.OutcomeStored {
		if time.Now().After(deadline) {
			t.Fatalf("the parked offer was not applied: %+v", record("greenhouse:o2"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if it, ok := offerOf("greenhouse:2"); !ok || it.CandidateID != "greenhouse:c2" {
		t.Fatalf("applied %+v, want the offer with the application's candidate", w.stored())
	}

	// Another arrives unannounced (on another replica): the sweep applies it.
	if res, _ := offer("3", "o3"); res.Outcome != webhooks.OutcomeParked {
		t.Fatalf("offer 3: %+v, want parked", res)
	}
	known.add("greenhouse:3", "greenhouse:c3")
	if err := in.SweepParked(ctx); err != nil {
		t.Fatal(err)
	}
	if r := record("greenhouse:o3"); r.Outcome != webhooks.OutcomeStored {
		t.Fatalf("after the sweep: %+v, want stored", r)
	}

	// One whose application never comes is orphaned after 7 days, not before.
	if res, _ := offer("4", "o4"); res.Outcome != webhooks.OutcomeParked {
		t.Fatalf("offer 4: %+v, want parked", res)
	}
	clock.Lock()
	now = now.Add(webhooks.DefaultParkedFor - time.Minute)
	clock.Unlock()
	if err := in.SweepParked(ctx); err != nil {
		t.Fatal(err)
	}
	if r := record("greenhouse:o4"); r.Outcome != webhooks.OutcomeParked {
		t.Fatalf("before 7 days: %+v, want still parked", r)
	}
	clock.Lock()
	now = now.Add(2 * time.Minute)
	clock.Unlock()
	if err := in.SweepParked(ctx); err != nil {
		t.Fatal(err)
	}
	if r := record("greenhouse:o4"); r.Outcome != webhooks.OutcomeOrphaned || !strings.Contains(r.Reason, "7d") {
		t.Fatalf("after 7 days: %+v, want orphaned, saying why", r)
	}
	if n := c.get("greenhouse orphaned"); n != 1 {
		t.Errorf("orphaned count %d, want 1", n)
	}
	if list, err := log.ParkedList(ctx); err != nil || len(list) != 0 {
		t.Errorf("still parked: %+v, %v; want none", list, err)
	}
}

// TestRefusedLogged: a delivery the writer refuses (409: its key belongs to another
// application) is logged as refused with the reason, without its body, not left
// pending.
func TestRefusedLogged(t *testing.T) {
	ctx := context.Background()
	log := webhooks.NewStore(storagetest.NewDB(t))
	w := &keptWriter{conflict: true}
	in := webhooks.NewIngest(webhooks.Config{
		Deliveries: log, Writer: w, Receivers: greenhouseOnly{}, Throttle: &throttle{limit: 1},
		Secrets: map[string][]string{"greenhouse": {webhookstest.SecretA}},
		Now:     func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
		Log:     slog.New(slog.DiscardHandler),
	})
	body := string(webhookstest.ReadFixture(t, "greenhouse/testdata/candidate_stage_change.json"))
	receive := func() error {
		_, err := in.Receive(ctx, webhooks.Request{Source: "greenhouse", Body: strings.NewReader(body), ClientAddr: "192.0.2.1",
			Header: webhookstest.Hdr("Signature", "sha256 "+webhookstest.HexMAC(webhookstest.SecretA, body), "Greenhouse-Event-ID", "e1")})
		return err
	}
	for i := range 2 { // the vendor's retry is refused again
		if err := receive(); interactions.ErrorCode(err) != interactions.CodeConflict {
			t.Fatalf("delivery %d: %v, want a conflict", i, err)
		}
		r, err := log.Get(ctx, "greenhouse:e1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != webhooks.OutcomeRefused || !strings.Contains(r.Reason, "another application") || r.Body != "" {
			t.Fatalf("delivery %d logged %+v, want refused with the reason and no body", i, r)
		}
	}
}
