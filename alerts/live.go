package alerts

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// liveSet is the unfinished alerts in memory, by id: what the pipeline works on, and
// what SMS replies and stopped clocks look for. The outbox (Store) is the truth; the
// set is rebuilt from it at start.
type liveSet struct {
	mu     sync.Mutex
	alerts map[string]*Alert
	// order serialises the writes of one alert (by a hash of its id): the last change
	// applied in memory is the last one stored, even when two stages change one alert
	// at once (its SMS and its email go out in parallel).
	order [64]sync.Mutex
	seed  maphash.Seed
}

func newLiveSet() *liveSet {
	return &liveSet{alerts: map[string]*Alert{}, seed: maphash.MakeSeed()}
}

// add puts an alert in the set.
func (l *liveSet) add(a Alert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts[a.ID] = &a
}

// clone returns a copy of a that shares no memory the pipeline changes.
func (a *Alert) clone() Alert {
	c := *a
	c.Deliveries = slices.Clone(a.Deliveries)
	return c
}

// get returns a copy of the live alert id.
func (l *liveSet) get(id string) (Alert, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.alerts[id]; a != nil {
		return a.clone(), true
	}
	return Alert{}, false
}

// matching returns copies of the live alerts f accepts.
func (l *liveSet) matching(f func(*Alert) bool) []Alert {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Alert
	for _, a := range l.alerts {
		if f(a) {
			out = append(out, a.clone())
		}
	}
	return out
}

// pending drops finished alerts (resolved or acknowledged) from the set and returns
// copies of those with a delivery waiting (pending or deferred) to an address where
// some delivery is due at now: what GroupStage makes batches of. It also returns the
// earliest time anything (a delivery, an escalation, the end of a snooze) comes due
// after now.
func (l *liveSet) pending(now time.Time) (out []Alert, next time.Time) {
	type address struct{ channel, to string }
	l.mu.Lock()
	defer l.mu.Unlock()
	soonest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	waiting := func(dl Delivery) bool { return dl.Status == DeliveryPending || dl.Status == DeliveryDeferred }
	due := map[address]bool{}
	for id, a := range l.alerts {
		if a.State == StateResolved || a.State == StateAcknowledged {
			delete(l.alerts, id)
			continue
		}
		// An open alert with nothing left to send stays: SMS replies (Command) and
		// stopped clocks (Stopped) still find it, as they do after a restart.
		if a.EscalateAt != nil && !a.Escalated {
			soonest(*a.EscalateAt)
		}
		if a.SnoozedUntil != nil {
			soonest(*a.SnoozedUntil)
		}
		for _, dl := range a.Deliveries {
			if waiting(dl) {
				soonest(dl.NextAt)
				if !now.Before(dl.NextAt) {
					due[address{dl.Channel, dl.To}] = true
				}
			}
		}
	}
	if len(due) == 0 {
		return nil, next
	}
	for _, a := range l.alerts {
		if slices.ContainsFunc(a.Deliveries, func(dl Delivery) bool { return waiting(dl) && due[address{dl.Channel, dl.To}] }) {
			out = append(out, a.clone())
		}
	}
	return out, next
}

// change applies f to the live alert id (or, when it is not live, to stored, which
// may be nil: then there is nothing to change) and writes the result with save. It
// returns the alert as changed. An error from f leaves the alert unsaved.
func (l *liveSet) change(ctx context.Context, id string, stored *Alert, f func(*Alert) error,
	save func(context.Context, *Alert) error) (Alert, error) {
	o := &l.order[maphash.String(l.seed, id)%uint64(len(l.order))]
	o.Lock()
	defer o.Unlock()
	l.mu.Lock()
	a := l.alerts[id]
	if a == nil {
		a = stored
	}
	if a == nil {
		l.mu.Unlock()
		return Alert{}, errNotLive
	}
	err := f(a)
	snapshot := a.clone()
	l.mu.Unlock()
	if err != nil {
		return snapshot, err
	}
	return snapshot, save(ctx, &snapshot)
}
