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
	// dirty holds, by id, alerts whose pipeline fields changed since they were last
	// written to their own document: recorded in a flush document, and written by
	// fold. An alert finished meanwhile stays here until then.
	dirty map[string]Alert
}

// address is where a delivery goes: a channel and a number, email address or id.
type address struct{ channel, to string }

func newLiveSet() *liveSet {
	return &liveSet{alerts: map[string]*Alert{}, taken: map[address]uint64{}, seed: maphash.MakeSeed(),
		dirty: map[string]Alert{}}
}

// add puts an alert in the set.
func (l *liveSet) add(a Alert) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts[a.ID] = &a
}

// addNew puts in the set the alerts it does not hold yet, and marks dirty those of
// them in dirty; it returns how many it added.
func (l *liveSet) addNew(alerts []Alert, dirty map[string]bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range alerts {
		if _, ok := l.alerts[a.ID]; ok {
			continue
		}
		l.alerts[a.ID] = &a
		if dirty[a.ID] {
			l.dirty[a.ID] = a.clone()
		}
		n++
	}
	return n
}

// drop takes the alerts f accepts out of the set (their dirty changes are still
// folded).
func (l *liveSet) drop(f func(*Alert) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, a := range l.alerts {
		if f(a) {
			delete(l.alerts, id)
		}
	}
}

// markSending notes in memory that the deliveries to an address of the alerts given
// may go out, so that whatever becomes of the flush, the next attempt looks first.
func (l *liveSet) markSending(channel, to string, ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if a := l.alerts[id]; a != nil {
			if dl := a.deliveryTo(channel, to); dl != nil {
				dl.Ambiguous = true
			}
		}
	}
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
	waiting := func(dl Delivery) bool { return dl.waiting() }
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

// change applies f to the live alert id (or, when it is not live, to its dirty copy
// or else to stored, which may be nil: then there is nothing to change), counts a revision, and writes the
// result with save; a nil save marks it dirty instead, for fold to write. It returns
// the alert as changed. An error from f leaves the alert unsaved.
func (l *liveSet) change(ctx context.Context, id string, stored *Alert, f func(*Alert) error,
	save func(context.Context, *Alert) error) (Alert, error) {
	o := l.orderOf(id)
	o.Lock()
	defer o.Unlock()
	l.mu.Lock()
	a := l.alerts[id]
	if dirty, ok := l.dirty[id]; a == nil && ok {
		a = &dirty // not live any more, and newer than what is stored
	}
	if a == nil {
		a = stored
	}
	if a == nil {
		l.mu.Unlock()
		return Alert{}, errNotLive
	}
	err := f(a)
	if err == nil {
		a.Rev++
	}
	snapshot := a.clone()
	if _, dirty := l.dirty[id]; err == nil && (dirty || save == nil) {
		l.dirty[id] = snapshot.clone() // fold writes the latest
	}
	l.mu.Unlock()
	if err != nil || save == nil {
		return snapshot, err
	}
	return snapshot, save(ctx, &snapshot)
}

func (l *liveSet) orderOf(id string) *sync.Mutex {
	return &l.order[maphash.String(l.seed, id)%uint64(len(l.order))]
}

// fold writes each dirty alert with save, up to workers at once, and returns how
// many it could not write (they stay dirty).
func (l *liveSet) fold(ctx context.Context, workers int, save func(context.Context, *Alert) error) int {
	l.mu.Lock()
	ids := make([]string, 0, len(l.dirty))
	for id := range l.dirty {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	left := 0
	next := make(chan string)
	for range min(max(workers, 1), len(ids)) {
		wg.Go(func() {
			for id := range next {
				if !l.foldOne(ctx, id, save) {
					mu.Lock()
					left++
					mu.Unlock()
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	return left
}

// foldOne writes the dirty alert id, holding its order so that no change is written
// between; false when the write failed.
func (l *liveSet) foldOne(ctx context.Context, id string, save func(context.Context, *Alert) error) bool {
	o := l.orderOf(id)
	o.Lock()
	defer o.Unlock()
	l.mu.Lock()
	a, ok := l.dirty[id]
	delete(l.dirty, id)
	l.mu.Unlock()
	if !ok {
		return true
	}
	if err := save(ctx, &a); err != nil {
		l.mu.Lock()
		if _, newer := l.dirty[id]; !newer {
			l.dirty[id] = a
		}
		l.mu.Unlock()
		return false
	}
	return true
}

// dirtyCopy returns the copy of alert id waiting to be folded, if there is one.
func (l *liveSet) dirtyCopy(id string) (Alert, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.dirty[id]
	return a.clone(), ok
}
