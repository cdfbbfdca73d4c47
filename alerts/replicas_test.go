package alerts

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/sla"
)

// Several replicas on one store: each dispatcher sends the alerts of the partitions it
// owns; people act through any replica.

// owned is a set of partitions a test hands to a dispatcher, as the lease manager
// would.
type owned struct {
	mu sync.Mutex
	in map[int]bool
}

func ownsAll(string) bool  { return true }
func ownsNone(string) bool { return false }

func (o *owned) owns(applicationID string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.in[interactions.Partition(applicationID)]
}

func (o *owned) set(partitions []int, own bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.in == nil {
		o.in = map[int]bool{}
	}
	for _, p := range partitions {
		o.in[p] = own
	}
}

// replica returns another dispatcher on the harness's store (and its fake providers),
// owning what owns says, started (its run loop stopped at once, so that the test
// drives flush by hand).
func (h *harness) replica(owns func(string) bool) *Dispatcher {
	h.t.Helper()
	cfg := h.cfg
	cfg.Owns = owns
	d := New(cfg)
	if err := d.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	d.Close()
	return d
}

// flushOn sets the clock to t0+at and runs d's pipeline once.
func (h *harness) flushOn(d *Dispatcher, at time.Duration) {
	h.clock.Set(t0.Add(at))
	d.flush()
}

// TestSharedAcks: an acknowledgement or snooze received by a replica that does not
// own the alert is written to the store, and the owner reads it before it sends or
// escalates.
func TestSharedAcks(t *testing.T) {
	t.Parallel()
	const sentAt, after = time.Second, 10 * time.Minute
	tests := []struct {
		name      string
		act       func(h *harness, other *Dispatcher) // through the replica that does not own the alert
		actAt     time.Duration
		sms       int           // SMS sent by the owner in the end
		escalated time.Duration // when the owner escalates; 0: never
	}{
		// Nobody acts: the owner escalates after escalate_after.
		{name: "no ack", sms: 2, escalated: sentAt + after},
		// Acknowledged through the other replica after the breach went out: no escalation.
		{name: "ack", actAt: sentAt, sms: 1, act: func(h *harness, o *Dispatcher) {
			if _, err := o.Ack(h.ctx, breachID("a1")); err != nil {
				h.t.Fatal(err)
			}
		}},
		// Acknowledged before the grouping window ended: not even sent.
		{name: "ack before the send", actAt: 500 * time.Millisecond, sms: 0, act: func(h *harness, o *Dispatcher) {
			if _, err := o.Ack(h.ctx, breachID("a1")); err != nil {
				h.t.Fatal(err)
			}
		}},
		// Snoozed for an hour: escalation waits for the snooze to end.
		{name: "snooze", actAt: sentAt, sms: 2, escalated: sentAt + time.Hour, act: func(h *harness, o *Dispatcher) {
			if _, err := o.Snooze(h.ctx, breachID("a1"), time.Hour); err != nil {
				h.t.Fatal(err)
			}
		}},
		// Acknowledged by an SMS reply that reached the other replica (which confirms
		// it by SMS).
		{name: "SMS reply", actAt: sentAt, sms: 2, act: func(h *harness, o *Dispatcher) {
			if _, ok, err := o.Command(h.ctx, "alice", "ack", "", 0); !ok || err != nil {
				h.t.Fatalf("reply: %v, %v", ok, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.Owns = ownsAll })
			h.put(directory.Recruiter{ID: "alice", Phone: alicePhone, ManagerID: "boss", Channels: directory.Channels{Breached: []string{"sms"}}})
			other := h.replica(ownsNone)
			h.fire(fired("a1", "alice", sla.StateBreached))
			if tt.actAt >= sentAt {
				h.flushAt(sentAt)
			}
			if tt.act != nil {
				h.clock.Set(t0.Add(tt.actAt))
				tt.act(h, other)
			}
			for _, at := range []time.Duration{sentAt, sentAt + after, sentAt + time.Hour, sentAt + time.Hour + time.Second, 2 * time.Hour} {
				h.flushAt(at)
				other.flush() // the other replica sends and escalates nothing
				_, err := h.store.Get(h.ctx, EscalationID(breachID("a1"), 1))
				if escalated := err == nil; escalated != (tt.escalated != 0 && at >= tt.escalated) {
					t.Fatalf("at +%s: escalated %v", at, escalated)
				}
			}
			if n := h.sms.numCalls(); n != tt.sms {
				t.Fatalf("%d SMS, want %d: %+v", n, tt.sms, h.sms.sent())
			}
		})
	}
}

// partitioned returns n applications, each in its own partition, and those
// partitions.
func partitioned(n int) (apps []string, partitions []int) {
	seen := map[int]bool{}
	for i := 0; len(apps) < n; i++ {
		app := fmt.Sprintf("p%d", i)
		if p := interactions.Partition(app); !seen[p] {
			seen[p] = true
			apps, partitions = append(apps, app), append(partitions, p)
		}
	}
	return apps, partitions
}

// TestSharedPartitions: a dispatcher takes over the pending alerts of the partitions
// it acquires, and lets go of those it loses.
func TestSharedPartitions(t *testing.T) {
	t.Parallel()
	apps, partitions := partitioned(2)
	setup := func(t *testing.T) (*harness, *owned, *Dispatcher) {
		h := newHarness(t, func(c *Config) { c.Owns = ownsAll })
		for i, app := range apps {
			id := "rec-" + app
			h.put(directory.Recruiter{ID: id, Phone: fmt.Sprintf("+1415555%04d", 3000+i), Channels: directory.Channels{Breached: []string{"sms"}}})
			h.fire(fired(app, id, sla.StateBreached)) // the first owner stops before sending
		}
		o := &owned{}
		return h, o, h.replica(o.owns)
	}
	sentTo := func(h *harness) []string {
		var to []string
		for _, s := range h.sms.sent() {
			to = append(to, s.To)
		}
		return to
	}

	t.Run("acquired", func(t *testing.T) {
		t.Parallel()
		h, o, next := setup(t)
		h.flushOn(next, 2*time.Second)
		if n := h.sms.numCalls(); n != 0 {
			t.Fatalf("%d SMS sent before the partitions were acquired", n)
		}
		o.set(partitions[:1], true)
		if err := next.Acquired(h.ctx, partitions[:1]); err != nil {
			t.Fatal(err)
		}
		h.flushOn(next, 3*time.Second)
		if to := sentTo(h); len(to) != 1 || to[0] != "+14155553000" {
			t.Fatalf("SMS to %v, want the first application's recruiter only", to)
		}
		// Acquired again (a lease renewed and re-reported): nothing twice.
		if err := next.Acquired(h.ctx, partitions[:1]); err != nil {
			t.Fatal(err)
		}
		h.flushOn(next, time.Minute)
		if n := h.sms.numCalls(); n != 1 {
			t.Fatalf("%d SMS after a second Acquired", n)
		}
	})

	t.Run("lost", func(t *testing.T) {
		t.Parallel()
		h, o, next := setup(t)
		o.set(partitions, true)
		if err := next.Acquired(h.ctx, partitions); err != nil {
			t.Fatal(err)
		}
		o.set(partitions[1:], false)
		next.Lost(partitions[1:])
		h.flushOn(next, 2*time.Second)
		if to := sentTo(h); len(to) != 1 || to[0] != "+14155553000" {
			t.Fatalf("SMS to %v, want the first application's recruiter only", to)
		}
	})

	t.Run("a send in flight at the previous owner is looked up, not repeated", func(t *testing.T) {
		t.Parallel()
		h, o, next := setup(t)
		held := make(chan struct{})
		h.sms.holds = map[string]chan struct{}{"+14155553000": held}
		h.clock.Set(t0.Add(time.Second))
		done := make(chan struct{})
		go func() { // the first owner never hears back from Twilio: its lease lapses
			defer close(done)
			h.d.flush()
		}()
		t.Cleanup(func() { close(held); <-done })
		deadline := time.Now().Add(5 * time.Second)
		for len(h.sms.sent()) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("%d SMS sent", len(h.sms.sent()))
			}
			time.Sleep(5 * time.Millisecond)
		}
		o.set(partitions, true)
		if err := next.Acquired(h.ctx, partitions); err != nil {
			t.Fatal(err)
		}
		h.flushOn(next, time.Minute)
		// Both were noted as sending by the flush that never ended: both are looked
		// up, found, and not sent again.
		if n := h.sms.numCalls(); n != 2 || len(h.sms.lookups) != 2 {
			t.Fatalf("%d SMS, %d lookups: want both looked up and nothing sent again", n, len(h.sms.lookups))
		}
		if d := h.sms1Of(breachID(apps[0])); d.Status != DeliverySent {
			t.Fatalf("the held SMS is recorded as %+v", d)
		}
	})
}

// sms1Of returns the SMS delivery of an alert as stored.
func (h *harness) sms1Of(id string) Delivery {
	h.t.Helper()
	for _, d := range h.alert(id).Deliveries {
		if d.Channel == "sms" {
			return d
		}
	}
	h.t.Fatalf("alert %s has no SMS delivery", id)
	return Delivery{}
}

// TestSharedStatusCallback: a Twilio status callback that reaches a replica other
// than the owner, before the owner wrote its record of the send, is kept: the owner's
// write adopts the final status.
func TestSharedStatusCallback(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Owns = ownsAll })
	h.put(directory.Recruiter{ID: "alice", Phone: alicePhone, Channels: directory.Channels{Breached: []string{"sms"}}})
	other := h.replica(ownsNone)
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	sid := fmt.Sprintf("SM%032d", 1)
	if ok, err := other.SMSStatus(h.ctx, sid, "delivered", ""); !ok || err != nil {
		t.Fatalf("the other replica's callback: matched %v, %v", ok, err)
	}
	h.d.fold() // the owner writes its record of the send
	if d := h.sms1("a1"); d.Status != DeliveryDelivered || d.ProviderID != sid {
		t.Fatalf("after the owner's write: %+v, want delivered as %s", d, sid)
	}
}
