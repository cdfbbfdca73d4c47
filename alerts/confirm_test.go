package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/sla"
)

// TestCommandConfirmation: an SMS ACK or SNOOZE that acts gets one short SMS back,
// counted against the day's SMS to the number; none over the limit, none when nothing
// was acted on.
func TestCommandConfirmation(t *testing.T) {
	t.Parallel()
	toAlice := func(h *harness) []sentSMS {
		var out []sentSMS
		for _, s := range h.sms.sent() {
			if s.To == alicePhone {
				out = append(out, s)
			}
		}
		return out
	}
	// breached sends alice two breaches at 1s (one grouped SMS).
	breached := func(t *testing.T) *harness {
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.fire(fired("a2", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		if n := len(toAlice(h)); n != 1 {
			t.Fatalf("%d SMS before the commands", n)
		}
		return h
	}

	t.Run("ACK and SNOOZE are confirmed", func(t *testing.T) {
		t.Parallel()
		h := breached(t)
		if _, ok, err := h.d.Command(h.ctx, "alice", "ack", h.alert(breachID("a1")).Code, 0); !ok || err != nil {
			t.Fatalf("ACK: %v %v", ok, err)
		}
		if _, ok, err := h.d.Command(h.ctx, "alice", "snooze", "", 2*time.Hour); !ok || err != nil {
			t.Fatalf("SNOOZE: %v %v", ok, err)
		}
		got := toAlice(h)[1:]
		if len(got) != 2 ||
			got[0].Body != "goodwill: acknowledged - Ada Lovelace, first response." ||
			got[1].Body != "goodwill: snoozed for 2h - Grace Hopper, first response." {
			t.Fatalf("confirmations %+v", got)
		}
		counts, err := h.store.reserveSMS(h.ctx, t0.Format(time.DateOnly), []string{alicePhone})
		if err != nil || counts[0] != 4 { // the alerts' SMS, two confirmations, and this one
			t.Fatalf("SMS counted %v, %v", counts, err)
		}
		// Nothing left to act on: no answer.
		if _, ok, _ := h.d.Command(h.ctx, "alice", "ack", "ZZZZ", 0); ok {
			t.Fatal("acted on an unknown code")
		}
		if n := len(toAlice(h)); n != 3 {
			t.Fatalf("%d SMS after a command that did nothing", n)
		}
	})

	t.Run("not over the day's limit", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.setSMSCount(alicePhone, t0, smsPerDay-1)
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second) // the day's last SMS to alice
		if _, ok, err := h.d.Command(h.ctx, "alice", "ack", "", 0); !ok || err != nil {
			t.Fatalf("ACK: %v %v", ok, err)
		}
		if n := len(toAlice(h)); n != 1 {
			t.Fatalf("%d SMS: a confirmation over the limit", n)
		}
	})

	t.Run("a log line when SMS is off", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *Config) { c.Mode = "log" })
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		if _, ok, err := h.d.Command(h.ctx, "alice", "ack", "", 0); !ok || err != nil {
			t.Fatalf("ACK: %v %v", ok, err)
		}
		if n := h.sms.numCalls(); n != 0 {
			t.Fatalf("%d SMS in log mode", n)
		}
	})
}

func TestConfirmationBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		verb, candidate, metric string
		snooze                  time.Duration
		want                    string
	}{
		{"ack", "José Núñez", "reply", 0, "goodwill: acknowledged - José Nuñez, reply."},
		{"snooze", "Ann", "interview_feedback", 90 * time.Minute, "goodwill: snoozed for 1h 30m - Ann, interview feedback."},
		{"ack", strings.Repeat("x", 100), "first_response", 0, "goodwill: acknowledged - " + strings.Repeat("x", 37) + "..., first response."},
	} {
		if got := confirmationBody(tc.verb, tc.candidate, tc.metric, tc.snooze); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.verb, tc.candidate, got, tc.want)
		}
	}
}
