package alerts

import (
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/sla"
)

const (
	bigbossPhone = "+14155550105"
	ceoPhone     = "+14155550106"
)

// chainHarness is a harness whose policy "first_response" escalates after 10 minutes
// up to most times, over the chain alice → boss → bigboss → ceo.
func chainHarness(t *testing.T, most int) *harness {
	t.Helper()
	h := newHarness(t, func(c *Config) { c.MaxEscalations = func(string) int { return most } })
	h.put(directory.Recruiter{ID: "boss", Name: "Boss", Phone: bossPhone, ManagerID: "bigboss"})
	h.put(directory.Recruiter{ID: "bigboss", Name: "Big Boss", Phone: bigbossPhone, ManagerID: "ceo"})
	h.put(directory.Recruiter{ID: "ceo", Name: "CEO", Phone: ceoPhone})
	return h
}

// climb fires alice's breach at t0 and flushes at each of the moments given (offsets
// from t0), returning the escalations that exist afterwards by level.
func (h *harness) climb(at ...time.Duration) map[int]Alert {
	h.t.Helper()
	h.fire(fired("a1", "alice", sla.StateBreached))
	for _, d := range at {
		h.flushAt(d)
	}
	return h.escalations()
}

func (h *harness) escalations() map[int]Alert {
	h.t.Helper()
	out := map[int]Alert{}
	for _, a := range h.all() {
		if a.Level == LevelEscalated {
			if _, dup := out[a.EscalationLevel]; dup {
				h.t.Fatalf("two escalations at level %d", a.EscalationLevel)
			}
			out[a.EscalationLevel] = a
		}
	}
	return out
}

func TestEscalationChain(t *testing.T) {
	t.Parallel()
	const after = 10 * time.Minute
	// The breach goes out at 1s; each escalation is created escalate_after after its
	// alert went out, and goes out a second later (its grouping window).
	level1 := time.Second + after          // level 1 created
	level2 := level1 + time.Second + after // level 2 created
	level3 := level2 + time.Second + after
	steps := []time.Duration{time.Second, level1, level1 + time.Second, level2, level2 + time.Second}

	t.Run("three levels, acknowledged at level 2", func(t *testing.T) {
		t.Parallel()
		h := chainHarness(t, 3)
		esc := h.climb(steps...)
		if len(esc) != 2 {
			t.Fatalf("escalations %v", esc)
		}
		want := map[int]string{1: "boss", 2: "bigboss"}
		for n, who := range want {
			a := esc[n]
			if a.RecruiterID != who || a.OwnerID != "alice" || a.ID != EscalationID(breachID("a1"), n) || a.FirstDeliveredAt == nil {
				t.Fatalf("level %d: %+v", n, a)
			}
		}
		if esc[1].Code == esc[2].Code {
			t.Fatal("two levels share a code")
		}
		if b := h.alert(breachID("a1")); b.EscalationLevel != 0 || !b.Escalated {
			t.Fatalf("breach %+v", b)
		}
		// bigboss acknowledges: the chain stops there.
		h.clock.Set(t0.Add(level2 + time.Minute))
		if _, err := h.d.Ack(h.ctx, esc[2].ID); err != nil {
			t.Fatal(err)
		}
		h.flushAt(level3)
		h.restart()
		h.flushAt(level3 + time.Hour)
		if esc := h.escalations(); len(esc) != 2 {
			t.Fatalf("after the ack at level 2: %v", esc)
		}
		ceo := 0
		for _, s := range h.sms.sent() {
			if s.To == ceoPhone {
				ceo++
			}
		}
		if ceo != 0 {
			t.Fatalf("%d SMS to the top of the chain", ceo)
		}
	})

	t.Run("unacknowledged, it reaches level 3", func(t *testing.T) {
		t.Parallel()
		h := chainHarness(t, 3)
		esc := h.climb(append(steps, level3, level3+time.Second, 2*level3)...)
		if len(esc) != 3 || esc[3].RecruiterID != "ceo" || esc[3].EscalateAt != nil {
			t.Fatalf("escalations %v", esc)
		}
	})

	t.Run("max_escalations 2 climbs two managers", func(t *testing.T) {
		t.Parallel()
		h := chainHarness(t, 2)
		esc := h.climb(append(steps, level3, level3+time.Second, 2*level3)...)
		if len(esc) != 2 || esc[1].RecruiterID != "boss" || esc[2].RecruiterID != "bigboss" {
			t.Fatalf("escalations %v", esc)
		}
		if esc[2].EscalateAt != nil {
			t.Fatalf("the last level has an escalation time: %+v", esc[2])
		}
	})

	t.Run("an acknowledgement of the breach stops the chain", func(t *testing.T) {
		t.Parallel()
		h := chainHarness(t, 3)
		esc := h.climb(time.Second, level1, level1+time.Second)
		if len(esc) != 1 {
			t.Fatalf("escalations %v", esc)
		}
		h.clock.Set(t0.Add(level1 + time.Minute))
		if _, err := h.d.Ack(h.ctx, breachID("a1")); err != nil {
			t.Fatal(err)
		}
		h.flushAt(level2)
		h.flushAt(level3)
		if esc := h.escalations(); len(esc) != 1 {
			t.Fatalf("after the ack of the breach: %v", esc)
		}
	})

	t.Run("it stops at the top of the chain", func(t *testing.T) {
		t.Parallel()
		h := chainHarness(t, 5)
		h.put(directory.Recruiter{ID: "bigboss", Name: "Big Boss", Phone: bigbossPhone})
		esc := h.climb(append(steps, level3, level3+time.Second, 2*level3)...)
		if len(esc) != 2 {
			t.Fatalf("escalations %v", esc)
		}
	})

	t.Run("a loop in the chain ends it", func(t *testing.T) {
		t.Parallel()
		h := chainHarness(t, 5)
		h.put(directory.Recruiter{ID: "bigboss", Name: "Big Boss", Phone: bigbossPhone, ManagerID: "alice"})
		esc := h.climb(append(steps, level3, level3+time.Second, 2*level3)...)
		if len(esc) != 2 {
			t.Fatalf("escalations %v", esc)
		}
	})
}
