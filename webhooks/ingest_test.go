package webhooks_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// greenhouseOnly knows one source.
type greenhouseOnly struct{}

func (greenhouseOnly) Receiver(source, _ string) (webhooks.Receiver, bool) {
	return greenhouse.Receiver{}, source == "greenhouse"
}

// writer stores interactions in memory, by idempotency key; down makes it fail.
type writer struct {
	calls int
	down  bool
	ids   map[string]string
}

func (w *writer) Write(_ context.Context, items []interactions.Interaction) ([]interactions.Interaction, error) {
	w.calls++
	if w.down {
		return nil, interactions.Unavailable("write", errors.New("down"))
	}
	out := make([]interactions.Interaction, len(items))
	for i, it := range items {
		if id, ok := w.ids[it.Key]; ok {
			it.ID, it.Duplicate = id, true
		} else {
			w.ids[it.Key] = it.ID
		}
		out[i] = it
	}
	return out, nil
}

// throttle refuses an address after limit failures.
type throttle struct {
	limit, failures int
}

func (th *throttle) Fail(string, time.Time) (time.Duration, bool) {
	th.failures++
	return 7 * time.Second, th.failures > th.limit
}

// TestIngest follows deliveries through the use case over the real delivery log:
// refusals store nothing but their log entry, a failed write leaves the record pending
// and the retry completes it, a redelivery writes nothing, and repeated bad
// signatures from one address are throttled.
func TestIngest(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	log := webhooks.NewStore(storagetest.NewDB(t))
	w := &writer{ids: map[string]string{}}
	th := &throttle{limit: 1}
	in := webhooks.NewIngest(webhooks.Config{
		Deliveries: log, Writer: w, Receivers: greenhouseOnly{}, Throttle: th,
		Secrets: map[string][]string{"greenhouse": {webhookstest.SecretA}},
		Now:     func() time.Time { return now }, Log: slog.New(slog.DiscardHandler),
	})
	body := webhookstest.ReadFixture(t, "greenhouse/testdata/candidate_stage_change.json")
	signed := func(secret, eventID string) http.Header {
		return webhookstest.Hdr("Signature", "sha256 "+webhookstest.HexMAC(secret, string(body)), "Greenhouse-Event-ID", eventID)
	}
	receive := func(source, label string, labeled bool, h http.Header) (webhooks.Result, error) {
		return in.Receive(ctx, webhooks.Request{Source: source, Label: label, Labeled: labeled, Header: h,
			Body: strings.NewReader(string(body)), ClientAddr: "192.0.2.1"})
	}
	outcome := func(key string) webhooks.Record {
		t.Helper()
		r, err := log.Get(ctx, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return r
	}

	// An unknown source and a label that cannot be one are no endpoint.
	var endpoint *webhooks.EndpointError
	if _, err := receive("bamboo", "", false, signed(webhookstest.SecretA, "e1")); !errors.As(err, &endpoint) {
		t.Fatalf("unknown source: %v, want EndpointError", err)
	}
	if _, err := receive("greenhouse", "EU", true, signed(webhookstest.SecretA, "e1")); !errors.As(err, &endpoint) {
		t.Fatalf("bad label: %v, want EndpointError", err)
	}

	// A bad signature is refused and logged as rejected; nothing is written.
	var sig *webhooks.SignatureError
	if _, err := receive("greenhouse", "", false, signed(webhookstest.SecretB, "e1")); !errors.As(err, &sig) || sig.Reason != webhooks.RejectBadSignature {
		t.Fatalf("bad signature: %v, want SignatureError bad_signature", err)
	}
	if recs, _, err := log.List(ctx, webhooks.Filter{Outcome: webhooks.OutcomeRejected, Limit: 10}); err != nil || len(recs) != 1 {
		t.Fatalf("rejected entries: %d %v, want 1", len(recs), err)
	}

	// The write fails: the record stays pending with its body.
	w.down = true
	if _, err := receive("greenhouse", "", false, signed(webhookstest.SecretA, "e1")); interactions.ErrorCode(err) != interactions.CodeUnavailable {
		t.Fatalf("write down: %v, want unavailable", err)
	}
	if r := outcome("greenhouse:e1"); r.Outcome != webhooks.OutcomePending || r.Body == "" {
		t.Fatalf("after a failed write: %+v, want pending with its body", r)
	}

	// The vendor's retry completes it.
	w.down = false
	res, err := receive("greenhouse", "", false, signed(webhookstest.SecretA, "e1"))
	if err != nil || res.Outcome != webhooks.OutcomeStored || res.Stored != 1 || len(res.InteractionIDs) != 1 {
		t.Fatalf("retry: %+v %v, want one stored", res, err)
	}
	if r := outcome("greenhouse:e1"); r.Outcome != webhooks.OutcomeStored {
		t.Fatalf("after the retry: %+v, want stored", r)
	}

	// A redelivery is a duplicate: the same ids, nothing written.
	calls := w.calls
	dup, err := receive("greenhouse", "", false, signed(webhookstest.SecretA, "e1"))
	if err != nil || dup.Outcome != webhooks.OutcomeDuplicate || len(dup.InteractionIDs) != 1 || dup.InteractionIDs[0] != res.InteractionIDs[0] || w.calls != calls {
		t.Fatalf("redelivery: %+v %v (writes %d → %d), want a duplicate of %v", dup, err, calls, w.calls, res.InteractionIDs)
	}

	// The second failure from the address is throttled, not refused.
	thr, err := receive("greenhouse", "", false, signed(webhookstest.SecretB, "e2"))
	if err != nil || !thr.Throttled || thr.RetryAfter != 7*time.Second {
		t.Fatalf("second failure: %+v %v, want throttled", thr, err)
	}
}
