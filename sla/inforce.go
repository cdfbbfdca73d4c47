package sla

import (
	"slices"
	"sync"
	"time"
)

// InForce holds the policies and the calendar in force, as the engine last loaded
// them. It exists so that the alerts pipeline (escalation delays, the zone of its
// quiet hours) and the scores roll-ups (the zone of their days) can be built before
// the engine, which hands its transitions to the one and its clocks to the other:
// the engine is given an InForce to keep current, and they are given the same one to
// read. Before the engine's Start it holds nothing: no policy, and UTC.
type InForce struct {
	mu       sync.Mutex
	policies []Policy
	calendar Calendar
	zone     *time.Location // the calendar's zone, loaded once per change
}

// NewInForce returns an empty InForce, for an engine to keep current.
func NewInForce() *InForce { return &InForce{zone: time.UTC} }

func (f *InForce) set(policies []Policy, c Calendar) {
	zone := time.UTC
	if loc, err := time.LoadLocation(c.Timezone); err == nil {
		zone = loc
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policies, f.calendar, f.zone = slices.Clone(policies), c, zone
}

// EscalateAfter returns the escalation delay of a policy in force, 0 when the policy
// is unknown or does not escalate.
func (f *InForce) EscalateAfter(policyID string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.policies {
		if p.ID == policyID {
			return p.EscalateAfter.Wall()
		}
	}
	return 0
}

// MaxEscalations returns how many times a breach of a policy in force escalates: its
// max_escalations, 1 when unset or when the policy is unknown.
func (f *InForce) MaxEscalations(policyID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.policies {
		if p.ID == policyID && p.MaxEscalations > 0 {
			return p.MaxEscalations
		}
	}
	return 1
}

// Zone returns the business calendar's time zone (UTC when it names none known).
func (f *InForce) Zone() *time.Location {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.zone
}
