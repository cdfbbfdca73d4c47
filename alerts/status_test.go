package alerts

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/sla"
)

// TestSMSStatus: a status callback finds the alerts of a message by its MessageSid
// (the mapping written when Twilio accepted it) and records the outcome on the SMS
// delivery of each.
func TestSMSStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.put(directory.Recruiter{ID: "alice", Phone: alicePhone, Channels: directory.Channels{Breached: []string{"sms"}}})
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.fire(fired("a2", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	sid := fmt.Sprintf("SM%032d", 1)
	m, ok, err := h.store.message(h.ctx, sid)
	if err != nil || !ok {
		t.Fatalf("no mapping for %s: %v", sid, err)
	}
	if want := []string{breachID("a1"), breachID("a2")}; !cmp.Equal(m.AlertIDs, want) && !cmp.Equal(m.AlertIDs, []string{want[1], want[0]}) {
		t.Fatalf("mapping %+v, want the two alerts of the grouped message", m)
	}
	for _, tc := range []struct {
		sid, status, code string
		matched           bool
		want              string
		err               string
	}{
		{sid, "sent", "", false, DeliverySent, ""},                           // intermediate statuses change nothing
		{sid, "delivered", "", true, DeliveryDelivered, ""},                  // delivered
		{sid, "undelivered", "30003", true, DeliveryFailed, "(error 30003)"}, // the handset was unreachable
		{"SM9", "delivered", "", false, DeliveryFailed, "(error 30003)"},     // another message: no match
	} {
		ok, err := h.d.SMSStatus(h.ctx, tc.sid, tc.status, tc.code)
		if err != nil || ok != tc.matched {
			t.Fatalf("%s %s: matched %v, %v", tc.sid, tc.status, ok, err)
		}
		h.d.fold()
		for _, app := range []string{"a1", "a2"} {
			if d := h.sms1(app); d.Status != tc.want || (tc.err != "" && !strings.Contains(d.Error, tc.err)) {
				t.Fatalf("%s %s: %s's delivery %+v", tc.sid, tc.status, app, d)
			}
		}
	}
}

// TestSMSStatusBeforeMappings: messages sent before the mappings existed are still
// found, among the alerts' deliveries, for a week after the first start that maps
// them; a store that had none never looks there.
func TestSMSStatusBeforeMappings(t *testing.T) {
	t.Parallel()
	old := func(h *harness, sid string) {
		h.t.Helper()
		a := testAlert("old", LevelBreached, 0, Delivery{Channel: "sms", To: alicePhone, Status: DeliverySent, Attempts: 1, ProviderID: sid})
		a.State = StateAcknowledged // finished: not in memory
		if _, err := h.store.create(h.ctx, []Alert{a}); err != nil {
			h.t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		before  bool          // the alert was stored before the first start
		at      time.Duration // when the callback comes, after the start
		matched bool
	}{
		// Sent before the upgrade: found by the deliveries' provider_id.
		{name: "legacy", before: true, at: time.Hour, matched: true},
		// Twilio reports within hours; after a week, nothing is looked for.
		{name: "legacy, a week later", before: true, at: 8 * 24 * time.Hour},
		// A store without such messages never scans the alerts for an unknown one.
		{name: "no legacy", at: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			if tt.before {
				old(h, "SMold")
			}
			h.restart() // the first start of this version notes since when messages are mapped
			if !tt.before {
				old(h, "SMold") // written without a mapping: not found
			}
			h.clock.Set(t0.Add(tt.at))
			ok, err := h.d.SMSStatus(h.ctx, "SMold", "delivered", "")
			if err != nil || ok != tt.matched {
				t.Fatalf("matched %v, %v", ok, err)
			}
			want := DeliverySent
			if tt.matched {
				want = DeliveryDelivered
			}
			if got := h.alert(testAlert("old", LevelBreached, 0).ID).Deliveries[0].Status; got != want {
				t.Fatalf("status %s, want %s", got, want)
			}
		})
	}
}

// TestSMSStatusErased: an erasure deletes the mappings of the SMS sent about the person.
func TestSMSStatusErased(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	sid := h.sms1("a1").ProviderID
	if _, ok, _ := h.store.message(h.ctx, sid); !ok {
		t.Fatal("no mapping before the erasure")
	}
	if err := h.d.Erase(h.ctx, interactions.ErasureTarget{CandidateIDs: []string{"cand-a1"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := h.store.message(h.ctx, sid); ok || err != nil {
		t.Fatalf("the mapping of %s is still there (%v)", sid, err)
	}
}

// TestPurgeMessages: mappings of SMS older than messagesKept are deleted, the newer
// ones and the note of since when SMS are mapped are kept.
func TestPurgeMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	if _, _, err := h.store.mappedSince(h.ctx, now.Add(-90*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	old := smsMessage{SID: "SMold", To: alicePhone, AlertIDs: []string{"x"}, At: now.Add(-messagesKept - time.Hour)}
	recent := smsMessage{SID: "SMrecent", To: alicePhone, AlertIDs: []string{"y"}, At: now.Add(-messagesKept + time.Hour)}
	if err := h.store.recorded(h.ctx, "f1", "test", now, false, nil, []smsMessage{old, recent}); err != nil {
		t.Fatal(err)
	}
	n, err := h.store.purgeMessages(h.ctx, now.Add(-messagesKept))
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want 1", n, err)
	}
	for sid, want := range map[string]bool{"SMold": false, "SMrecent": true} {
		if _, ok, err := h.store.message(h.ctx, sid); ok != want || err != nil {
			t.Errorf("%s kept %v (%v), want %v", sid, ok, err, want)
		}
	}
	if _, _, err := h.store.mappedSince(h.ctx, now); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ID string `bson:"_id"`
	}
	if err := h.store.messages.FindOne(h.ctx, map[string]string{"_id": mappedSinceID}).Decode(&doc); err != nil {
		t.Errorf("the note of since when SMS are mapped was purged: %v", err)
	}
}
