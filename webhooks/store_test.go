package webhooks_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
	"github.com/goodwillhq/goodwill/webhooks"
)

func TestDeliveryKey(t *testing.T) {
	body := []byte(`{"action":"ping"}`)
	hashed := webhooks.DeliveryKey("ashby", "", body)
	for _, c := range []struct {
		name string
		got  string
		same bool
	}{
		// The vendor's id names the delivery, whatever the body.
		{"vendor id", webhooks.DeliveryKey("lever", "tok:123", body), false},
		// The same content from the same source is the same delivery.
		{"same content", webhooks.DeliveryKey("ashby", "", []byte(`{"action":"ping"}`)), true},
		// Another body is another delivery.
		{"other body", webhooks.DeliveryKey("ashby", "", []byte(`{"action":"pong"}`)), false},
		// The same body from another source is another delivery.
		{"other source", webhooks.DeliveryKey("workable", "", body), false},
	} {
		if (c.got == hashed) != c.same {
			t.Errorf("%s: %q vs %q, want same=%v", c.name, c.got, hashed, c.same)
		}
	}
	if got := webhooks.DeliveryKey("lever", "tok:123", nil); got != "lever:tok:123" {
		t.Errorf("key with a vendor id: %q", got)
	}
	if !strings.HasPrefix(hashed, "ashby:sha256:") {
		t.Errorf("key without a vendor id: %q", hashed)
	}
}

func TestKeptHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Bearer secret")
	h.Set("Cookie", "session=1")
	h.Set("Signature", "sha256 abc")
	h.Set("webhook-id", "msg_1")
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", strings.Repeat("x", 5000))
	got := webhooks.KeptHeaders(h)
	want := map[string]string{
		"Signature": "sha256 abc", "Webhook-Id": "msg_1", "Content-Type": "application/json",
		"User-Agent": strings.Repeat("x", 1024),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("kept headers (-want +got):\n%s", d)
	}
	if r := (webhooks.Record{Headers: got}); r.Header().Get("webhook-id") != "msg_1" {
		t.Errorf("Record.Header lost webhook-id: %v", r.Header())
	}
}

func TestStoreLog(t *testing.T) {
	ctx := context.Background()
	s := webhooks.NewStore(storagetest.NewDB(t))
	if err := s.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureIndexes(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

	first := webhooks.Record{Key: "greenhouse:e1", Source: "greenhouse", Event: "candidate_stage_change",
		DeliveryID: "e1", ReceivedAt: t0, Outcome: webhooks.OutcomePending, Body: `{"a":1}`,
		CandidateIDs: []string{"greenhouse:c1"}}
	got, existed, err := s.Insert(ctx, first)
	if err != nil || existed || got.ID == "" {
		t.Fatalf("Insert: %+v %v %v", got, existed, err)
	}
	// A redelivery collides and returns the first record.
	again, existed, err := s.Insert(ctx, webhooks.Record{Key: "greenhouse:e1", Source: "greenhouse", ReceivedAt: t0.Add(time.Minute), Body: "other"})
	if err != nil || !existed || again.ID != got.ID || again.Body != `{"a":1}` {
		t.Fatalf("second Insert: %+v %v %v", again, existed, err)
	}
	if err := s.Finish(ctx, "greenhouse:e1", webhooks.OutcomeStored, []string{"i1"}, 1, 0, false); err != nil {
		t.Fatal(err)
	}
	// Log entries never collide.
	for i := range 2 {
		if err := s.Log(ctx, webhooks.Record{Key: "ignored", Source: "lever", ReceivedAt: t0.Add(time.Duration(i+1) * time.Second),
			Outcome: webhooks.OutcomeRejected, Reason: "bad signature"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Insert(ctx, webhooks.Record{Key: "ashby:e2", Source: "ashby", ReceivedAt: t0.Add(time.Hour),
		Outcome: webhooks.OutcomeStored, Body: `{"b":2}`, CandidateIDs: []string{"ashby:c2"}}); err != nil {
		t.Fatal(err)
	}

	// Newest first, without bodies, filtered, in pages.
	all, next, err := s.List(ctx, webhooks.Filter{Limit: 100})
	if err != nil || next != "" || len(all) != 4 {
		t.Fatalf("List: %d %q %v", len(all), next, err)
	}
	if all[0].Source != "ashby" || all[3].Key != "greenhouse:e1" || all[3].Outcome != webhooks.OutcomeStored ||
		all[3].InteractionIDs[0] != "i1" {
		t.Fatalf("List order or content: %+v", all)
	}
	for _, r := range all {
		if r.Body != "" {
			t.Fatalf("List returned a body: %+v", r)
		}
	}
	rejected, _, err := s.List(ctx, webhooks.Filter{Source: "lever", Outcome: webhooks.OutcomeRejected, Limit: 100})
	if err != nil || len(rejected) != 2 {
		t.Fatalf("List rejected: %d %v", len(rejected), err)
	}
	var paged []string
	f := webhooks.Filter{Limit: 3}
	for {
		page, next, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			paged = append(paged, r.ID)
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	var ids []string
	for _, r := range all {
		ids = append(ids, r.ID)
	}
	if d := cmp.Diff(ids, paged); d != "" {
		t.Errorf("pages (-all +paged):\n%s", d)
	}
	if _, _, err := s.List(ctx, webhooks.Filter{Limit: 1, Cursor: "nope"}); interactions.ErrorCode(err) != interactions.CodeInvalid {
		t.Errorf("a bad cursor: %v", err)
	}

	// Bodies, oldest first, by source and time; erasure blanks those of a candidate.
	bodies := func(source string, since time.Time) []string {
		t.Helper()
		var out []string
		if err := s.EachBody(ctx, source, since, func(r webhooks.Record) error {
			out = append(out, r.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if d := cmp.Diff([]string{"greenhouse:e1", "ashby:e2"}, bodies("", time.Time{})); d != "" {
		t.Errorf("bodies (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"ashby:e2"}, bodies("", t0.Add(time.Minute))); d != "" {
		t.Errorf("bodies since (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"greenhouse:e1"}, bodies("greenhouse", time.Time{})); d != "" {
		t.Errorf("greenhouse bodies (-want +got):\n%s", d)
	}
	target := interactions.ErasureTarget{CandidateIDs: []string{"greenhouse:c1"}}
	for range 2 { // idempotent
		if err := s.Erase(ctx, target); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]string{"ashby:e2"}, bodies("", time.Time{})); d != "" {
		t.Errorf("bodies after erasure (-want +got):\n%s", d)
	}
	erased, err := s.Get(ctx, "greenhouse:e1")
	if err != nil || erased.Body != "" || !erased.Erased || erased.Outcome != webhooks.OutcomeStored {
		t.Fatalf("erased record: %+v %v", erased, err)
	}
	if _, err := s.Get(ctx, "nope"); interactions.ErrorCode(err) != interactions.CodeNotFound {
		t.Errorf("Get of a missing key: %v", err)
	}
}
