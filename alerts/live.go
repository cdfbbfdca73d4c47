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
	// taken holds the addresses being sent to, with the flight (a flush) that took
	// them: no other flight takes an address before its batch is recorded, so that
	// nothing goes out twice and a slow send holds up only its own address.
	taken   map[address]uint64
	flights uint64
	// order serialises the writes of one alert (by a hash of its id): the last change
	// applied in memory is the last one stored, even when two stages change one alert
	// at once (its SMS and its email go out in parallel).
	order [64]sync.Mutex
	seed  maphash.Seed
}

// address is where a delivery goes: a channel and a number, email address or id.
type address struct{ channel, to string }

func newLiveSet() *liveSet {
	return &liveSet{alerts: map[string]*Alert{}, taken: map[address]uint64{}, seed: maphash.MakeSeed()}
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

// take drops finished alerts (resolved or acknowledged) from the set and takes, for a
// new flight, the addresses where some waiting (pending or deferred) delivery is due
// at now and that no other flight has taken. It returns copies of the alerts with a
// waiting delivery to those addresses, carrying no waiting delivery to any other
// address: what GroupStage makes batches of. It also returns the earliest time
// anything (a delivery, an escalation, the end of a snooze) comes due after now.
// The caller releases the flight's addresses when they are done with.
func (l *liveSet) take(now time.Time) (out []Alert, flight uint64, next time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	soonest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	waiting := func(dl Delivery) bool { return dl.Status == DeliveryPending || dl.Status == DeliveryDeferred }
	l.flights++
	flight = l.flights
	mine := func(dl Delivery) bool { return l.taken[address{dl.Channel, dl.To}] == flight }
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
			if !waiting(dl) {
				continue
			}
			soonest(dl.NextAt)
			if k := (address{dl.Channel, dl.To}); !now.Before(dl.NextAt) && l.taken[k] == 0 {
				l.taken[k] = flight
			}
		}
	}
	for _, a := range l.alerts {
		if !slices.ContainsFunc(a.Deliveries, func(dl Delivery) bool { return waiting(dl) && mine(dl) }) {
			continue
		}
		c := *a
		c.Deliveries = slices.DeleteFunc(slices.Clone(a.Deliveries), func(dl Delivery) bool { return waiting(dl) && !mine(dl) })
		out = append(out, c)
	}
	return out, flight, next
}

// release gives back the addresses flight took: those named, or all of them.
func (l *liveSet) release(flight uint64, only ...address) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if only == nil {
		for k, f := range l.taken {
			if f == flight {
				delete(l.taken, k)
			}
		}
	}
	for _, k := range only {
		if l.taken[k] == flight {
			delete(l.taken, k)
		}
	}
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
