package interactions

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The projector keeps derived state within a second of the 201 by bounding what waits
// for it. An interaction waits for the Apply in progress and then for its own, so each
// Apply is kept to about applyTarget: the backlog may hold what the projector applies
// in that time, measured as it runs. When the backlog is full,
// Feed waits for the projector to take it, which holds the group-commit writer and so
// the requests of its next batch: under a load the projector cannot keep up with,
// requests slow down instead of derived state falling behind.
const (
	applyTarget = 100 * time.Millisecond
	// minBacklog and startBacklog bound the budget from below and start it, before
	// the projector has measured its rate.
	minBacklog   = 200
	startBacklog = 2000
	// maxFeedWait bounds one Feed's wait, so that a projector stuck on a failing
	// store does not hold writes that the store accepts: the backlog then grows as
	// it did without a budget, up to the feed's capacity.
	maxFeedWait = 5 * time.Second
)

var projectorBacklog = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "goodwill_projector_backlog",
	Help: "Interactions stored and waiting for the projector.",
})

var projectorFeedWait = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "goodwill_projector_feed_wait_seconds",
	Help:    "Time a committed write batch waited for room in the projector's backlog before its requests were answered.",
	Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
})

// backlog counts the interactions fed to the projector and not yet taken into an
// Apply, against a budget that follows the projector's measured rate.
type backlog struct {
	mu      sync.Mutex
	pending int
	budget  int
	rate    float64       // interactions applied per second of Apply, smoothed
	taken   chan struct{} // closed when the projector next takes from the backlog
	maxWait time.Duration // maxFeedWait, but for tests

	// sendMu orders the count of what is fed with its place in the feed, so that
	// applied >= added at some moment means all fed before that moment is applied.
	sendMu  sync.Mutex
	added   uint64        // interactions fed, ever
	settled uint64        // interactions fed and applied (or found not this replica's), ever
	moved   chan struct{} // closed when settled next grows
	// settlers counts the Settle calls waiting; flushing wakes a projector holding
	// history back when one starts.
	settlers int
	flushing chan struct{}
}

func newBacklog() *backlog {
	return &backlog{budget: startBacklog, taken: make(chan struct{}), maxWait: maxFeedWait, moved: make(chan struct{}), flushing: make(chan struct{}, 1)}
}

// add waits, up to maxWait, until the backlog is under its budget, then counts n
// more. It returns how long it waited.
func (b *backlog) add(n int) time.Duration {
	start := time.Now()
	deadline := start.Add(b.maxWait)
	b.mu.Lock()
	for b.pending > 0 && b.pending+n > b.budget {
		wait := time.Until(deadline)
		if wait <= 0 {
			break
		}
		taken := b.taken
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-taken:
		case <-t.C:
		}
		t.Stop()
		b.mu.Lock()
	}
	b.pending += n
	projectorBacklog.Set(float64(b.pending))
	b.mu.Unlock()
	return time.Since(start)
}

// count counts n more without waiting for room.
func (b *backlog) count(n int) {
	b.mu.Lock()
	b.pending += n
	projectorBacklog.Set(float64(b.pending))
	b.mu.Unlock()
}

// take counts n interactions taken into an Apply and wakes the waiting Feed.
func (b *backlog) take(n int) {
	b.mu.Lock()
	b.pending = max(b.pending-n, 0)
	projectorBacklog.Set(float64(b.pending))
	close(b.taken)
	b.taken = make(chan struct{})
	b.mu.Unlock()
}

// applied records that an Apply of n interactions took d, and sets the budget to what
// the projector applies in applyTarget at its smoothed rate.
func (b *backlog) applied(n int, d time.Duration) {
	if n < minBacklog/4 || d <= 0 {
		return // a small Apply is mostly fixed costs and would understate the rate
	}
	sample := float64(n) / d.Seconds()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate == 0 {
		b.rate = sample
	} else {
		b.rate = 0.7*b.rate + 0.3*sample
	}
	b.budget = min(max(int(b.rate*applyTarget.Seconds()), minBacklog), maxApplyItems)
}

// send puts batch in ch and counts it as fed, in the order of the feed.
func (b *backlog) send(ch chan<- fedBatch, batch fedBatch) {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	b.mu.Lock()
	b.added += uint64(len(batch.items))
	b.mu.Unlock()
	ch <- batch
}

// done counts n interactions taken from the feed as applied.
func (b *backlog) done(n int) {
	b.mu.Lock()
	b.settled += uint64(n)
	close(b.moved)
	b.moved = make(chan struct{})
	b.mu.Unlock()
}

// settling reports whether a Settle waits.
func (b *backlog) settling() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.settlers > 0
}

// settle waits until everything fed before the call is applied, or ctx ends.
func (b *backlog) settle(ctx context.Context) error {
	b.mu.Lock()
	target := b.added
	if b.settled < target {
		b.settlers++
		defer func() {
			b.mu.Lock()
			b.settlers--
			b.mu.Unlock()
		}()
		select {
		case b.flushing <- struct{}{}:
		default:
		}
	}
	for b.settled < target {
		moved := b.moved
		b.mu.Unlock()
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
		b.mu.Lock()
	}
	b.mu.Unlock()
	return nil
}
