package alerts

import (
	"fmt"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/sla"
)

// TestLateSMSFailure: an SMS Twilio took and later reports undelivered or failed
// falls back to email once, unless the alert is acknowledged or resolved by then; the
// escalation timer starts again from the email, the first delivery that reached
// someone.
func TestLateSMSFailure(t *testing.T) {
	t.Parallel()
	const after = 10 * time.Minute
	sid := fmt.Sprintf("SM%032d", 1)
	// sent fires alice's breach (SMS only) and sends it at 1s.
	sent := func(t *testing.T) *harness {
		h := newHarness(t, nil)
		alice := smsOnly
		alice.ManagerID = "boss"
		h.put(alice)
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		if d := h.sms1("a1"); d.Status != DeliverySent || d.ProviderID != sid {
			t.Fatalf("SMS %+v", d)
		}
		return h
	}
	status := func(h *harness, at time.Duration, s string) {
		h.t.Helper()
		h.clock.Set(t0.Add(at))
		if ok, err := h.d.SMSStatus(h.ctx, sid, s, "30003"); err != nil || !ok {
			h.t.Fatalf("%s: matched %v, %v", s, ok, err)
		}
	}

	t.Run("undelivered: one email, and the timer counts from it", func(t *testing.T) {
		t.Parallel()
		h := sent(t)
		status(h, 5*time.Minute, "undelivered")
		status(h, 5*time.Minute+time.Second, "failed") // a second report of the same message
		h.flushAt(5*time.Minute + time.Second)
		h.flushAt(6 * time.Minute)
		if n := h.email.numCalls(); n != 1 {
			t.Fatalf("%d emails, want 1", n)
		}
		if got := h.email.sent()[0]; got.To != aliceEmail {
			t.Fatalf("email to %s", got.To)
		}
		a := h.alert(breachID("a1"))
		expectDeliveries(t, a, "sms "+alicePhone+" failed", "email "+aliceEmail+" sent")
		emailAt := t0.Add(5*time.Minute + time.Second)
		if a.FirstDeliveredAt == nil || !a.FirstDeliveredAt.Equal(emailAt) || a.EscalateAt == nil || !a.EscalateAt.Equal(emailAt.Add(after)) {
			t.Fatalf("timer: first delivered %v, escalate at %v", a.FirstDeliveredAt, a.EscalateAt)
		}
		h.flushAt(time.Second + after) // the SMS's old escalation time
		if _, err := h.store.Get(h.ctx, EscalationID(breachID("a1"), 1)); err == nil {
			t.Fatal("escalated from the failed SMS's time")
		}
		h.flushAt(5*time.Minute + time.Second + after)
		if _, err := h.store.Get(h.ctx, EscalationID(breachID("a1"), 1)); err != nil {
			t.Fatalf("not escalated from the email's time: %v", err)
		}
	})

	t.Run("acknowledged first: no email", func(t *testing.T) {
		t.Parallel()
		h := sent(t)
		h.clock.Set(t0.Add(2 * time.Minute))
		if _, err := h.d.Ack(h.ctx, breachID("a1")); err != nil {
			t.Fatal(err)
		}
		status(h, 5*time.Minute, "undelivered")
		h.flushAt(6 * time.Minute)
		if n := h.email.numCalls(); n != 0 {
			t.Fatalf("%d emails", n)
		}
	})

	t.Run("resolved first: no email", func(t *testing.T) {
		t.Parallel()
		h := sent(t)
		h.clock.Set(t0.Add(2 * time.Minute))
		if err := h.d.Stopped(h.ctx, []string{"clk-a1"}); err != nil {
			t.Fatal(err)
		}
		h.flushAt(3 * time.Minute)
		status(h, 5*time.Minute, "failed")
		h.flushAt(6 * time.Minute)
		if n := h.email.numCalls(); n != 0 {
			t.Fatalf("%d emails", n)
		}
	})

	t.Run("delivered: no email", func(t *testing.T) {
		t.Parallel()
		h := sent(t)
		status(h, 5*time.Minute, "delivered")
		h.flushAt(6 * time.Minute)
		if n := h.email.numCalls(); n != 0 {
			t.Fatalf("%d emails", n)
		}
	})
}

// TestSharedLateSMSFailure: a late failure reported to a replica that does not own
// the alert sends its email fallback from there, once, and the owner's record of the
// alert keeps it.
func TestSharedLateSMSFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Owns = ownsAll })
	h.put(smsOnly)
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	sid := fmt.Sprintf("SM%032d", 1)
	other := h.replica(ownsNone)
	h.clock.Set(t0.Add(5 * time.Minute))
	for _, s := range []string{"undelivered", "failed"} {
		if ok, err := other.SMSStatus(h.ctx, sid, s, "30003"); err != nil || !ok {
			t.Fatalf("%s: %v %v", s, ok, err)
		}
	}
	if n := h.email.numCalls(); n != 1 || h.email.sent()[0].To != aliceEmail {
		t.Fatalf("%d emails: %+v", n, h.email.sent())
	}
	expectDeliveries(t, h.alert(breachID("a1")), "sms "+alicePhone+" failed", "email "+aliceEmail+" sent")
	// The owner, which holds the alert without the email, keeps it when it writes.
	live, ok := h.d.live.get(breachID("a1"))
	if !ok {
		t.Fatal("the owner does not hold the alert")
	}
	if err := h.d.saveKeepingStatuses(h.ctx, &live); err != nil {
		t.Fatal(err)
	}
	expectDeliveries(t, h.alert(breachID("a1")), "sms "+alicePhone+" failed", "email "+aliceEmail+" sent")
	h.flushAt(10 * time.Minute)
	if n := h.email.numCalls(); n != 1 {
		t.Fatalf("%d emails after the owner's flush", n)
	}
}
