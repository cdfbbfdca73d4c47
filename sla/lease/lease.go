package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

var (
	partitionsOwned = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "goodwill_lease_partitions_owned",
		Help: "Partitions of SLA and alert work this replica owns.",
	})
	ownershipChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_lease_ownership_changes_total",
		Help: "Partitions this replica acquired or lost.",
	}, []string{"change"})
)

// Collectors returns the package's Prometheus collectors, for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{partitionsOwned, ownershipChanges}
}

// DefaultTTL is the lease time when Config.TTL is 0.
const DefaultTTL = 10 * time.Second

// Collection returns the collection of db that holds the partition leases, for
// Config.Collection. This package is the only one that reads or writes it.
func Collection(db *mongo.Database) *mongo.Collection { return db.Collection("leases") }

// Config configures a Manager.
type Config struct {
	Collection *mongo.Collection // holds one document per partition and one heartbeat per live replica
	Replica    string            // this process's unique id (the caller passes hostname + random suffix)
	Partitions int               // number of partitions (interactions.Partitions)
	TTL        time.Duration     // lease time; 0 means 10 s. Renewed every TTL/3.
	Now        func() time.Time  // the clock; time.Now if nil
	Log        *slog.Logger
}

// Holder is what acts on the partitions this replica holds: in goodwill the
// projector, the SLA engine and the alerts pipeline. It is given to Start rather than
// to New because it is built after the Manager: those parts ask the Manager's Owns
// which applications are theirs.
type Holder struct {
	// Mark, if set, gives the value stored with every lease this replica holds, at
	// each renewal and at release.
	Mark func() int64
	// Changed are called serially from the manager's goroutine (and from Start and
	// Close) for every non-empty change, in the order of the changes, each change to
	// them in order. One may take time (a separate goroutine renews the leases
	// meanwhile), but partitions it is told about may be lost again meanwhile: Owns is
	// the truth. Partitions given up to make room for another replica are released in
	// the store only after they return, with the Mark read then.
	Changed []func(ctx context.Context, c Change)
}

// Taken is a partition this replica just acquired, with the Mark its previous owner
// stored last (0 if none).
type Taken struct {
	Partition int
	Mark      int64
}

// Change is one step of ownership change. Both lists are sorted by partition; a
// partition appears in at most one of them.
type Change struct {
	Acquired []Taken
	Lost     []int
}

func (c Change) empty() bool { return len(c.Acquired) == 0 && len(c.Lost) == 0 }

// Manager holds this replica's partition leases. See the package documentation.
type Manager struct {
	coll       *mongo.Collection
	replica    string
	partitions int
	ttl        time.Duration
	interval   time.Duration // between renewals
	margin     time.Duration // the owner's lease ends this much before the stored expiry
	now        func() time.Time
	log        *slog.Logger
	mark       func() int64
	fs         []func(ctx context.Context, c Change)

	// deadline[p] is the end of this replica's lease on p in Unix nanoseconds on its
	// clock, 0 when not held. Owns reads it without locking.
	deadline []atomic.Int64

	// Only the goroutine that renews (or Start and Close while it does not run) uses held.
	held map[int]bool
	// unconfirmed holds the expiry (Unix ms) this replica wrote to leases it tried to
	// take when reading the result failed; the next pass adopts those it finds written.
	unconfirmed map[int]int64

	mu        sync.Mutex
	running   bool
	releasing map[int]bool // given up, not yet released in the store
	queue     []notice     // changes for the notifying goroutine
	queueEnd  bool         // no more notices will come
	wake      chan struct{}
	quit      chan struct{} // closed to stop the loop
	loopDone  chan struct{}
	notesDone chan struct{}
}

// notice is a change to report and then the partitions to release in the store.
type notice struct {
	change  Change
	release []int
}

// New returns a Manager for cfg; nothing happens until Start.
func New(cfg Config) *Manager {
	m := &Manager{
		coll:        cfg.Collection,
		replica:     cfg.Replica,
		partitions:  cfg.Partitions,
		ttl:         cfg.TTL,
		now:         cfg.Now,
		log:         cfg.Log,
		held:        map[int]bool{},
		unconfirmed: map[int]int64{},
		releasing:   map[int]bool{},
		wake:        make(chan struct{}, 1),
	}
	if m.ttl <= 0 {
		m.ttl = DefaultTTL
	}
	m.interval = m.ttl / 3
	m.margin = m.ttl / 4
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.partitions > 0 {
		m.deadline = make([]atomic.Int64, m.partitions)
	}
	return m
}

// Start writes this replica's heartbeat, takes its fair share of partitions at once (so
// a single replica owns all of them when Start returns), reports that first Change, and
// then runs the renewal loop until Close. ctx serves Start's own writes and the first
// report; the loop keeps its values but not its cancellation. On error nothing is held
// and Start may be called again. h acts on the leases from then on.
func (m *Manager) Start(ctx context.Context, h Holder) error {
	switch {
	case m.coll == nil:
		return errors.New("lease: no collection")
	case m.replica == "":
		return errors.New("lease: no replica id")
	case m.partitions <= 0:
		return errors.New("lease: no partitions")
	}
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("lease: already started")
	}
	m.running = true
	m.mu.Unlock()
	m.mark, m.fs = h.Mark, h.Changed // read only by Start, Close and the goroutines Start runs

	c, release, err := m.pass(ctx, 0)
	if err != nil {
		held := sortedKeys(m.held)
		for _, p := range held {
			m.drop(p)
		}
		for p := range m.unconfirmed {
			held = append(held, p)
		}
		_ = m.releaseInStore(ctx, slices.Concat(release, held))
		clear(m.releasing)
		clear(m.unconfirmed)
		_, _ = m.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: replicaDocID(m.replica)}})
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
		return fmt.Errorf("lease: start: %w", err)
	}
	// The first pass holds nothing to give up, so release is empty.
	m.report(ctx, c)

	m.mu.Lock()
	m.quit = make(chan struct{})
	m.queue, m.queueEnd = nil, false
	m.loopDone = make(chan struct{})
	m.notesDone = make(chan struct{})
	m.mu.Unlock()
	go m.loop(context.WithoutCancel(ctx), m.quit)
	go m.notify(context.WithoutCancel(ctx))
	return nil
}

// Owns reports, without locking or I/O, whether this replica owns partition p now.
func (m *Manager) Owns(p int) bool {
	if p < 0 || p >= len(m.deadline) {
		return false
	}
	return m.now().UnixNano() < m.deadline[p].Load()
}

// Owned returns the owned partitions, sorted.
func (m *Manager) Owned() []int {
	now := m.now().UnixNano()
	var ps []int
	for p := range m.deadline {
		if now < m.deadline[p].Load() {
			ps = append(ps, p)
		}
	}
	return ps
}

// Close stops the loop, reports every owned partition as Lost, releases the leases in
// the store (so another replica takes them at its next renewal rather than after the
// TTL) and removes the heartbeat. A lease it cannot release expires after the TTL.
func (m *Manager) Close(ctx context.Context) error {
	if !m.stop() {
		return nil
	}
	lost := sortedKeys(m.held)
	for _, p := range lost {
		m.drop(p)
	}
	if len(lost) > 0 {
		c := Change{Lost: lost}
		m.logChange(c)
		for _, f := range m.fs {
			f(ctx, c)
		}
	}
	m.mu.Lock()
	release := slices.Concat(lost, sortedKeys(m.releasing))
	clear(m.releasing)
	m.mu.Unlock()
	for p := range m.unconfirmed {
		release = append(release, p)
	}
	clear(m.unconfirmed)
	err := m.releaseInStore(ctx, release)
	if _, derr := m.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: replicaDocID(m.replica)}}); derr != nil {
		err = errors.Join(err, fmt.Errorf("remove heartbeat: %w", derr))
	}
	if err != nil {
		return fmt.Errorf("lease: close: %w", err)
	}
	return nil
}

// stop ends the loop and the notifying goroutine (after it has delivered every queued
// change) without giving up anything: the leases stay in the store until they expire,
// as if the process had died. It reports whether the manager was running.
func (m *Manager) stop() bool {
	m.mu.Lock()
	if !m.running || m.quit == nil {
		m.mu.Unlock()
		return false
	}
	m.running = false
	quit, loopDone, notesDone := m.quit, m.loopDone, m.notesDone
	m.quit = nil
	m.mu.Unlock()

	close(quit)
	<-loopDone
	m.mu.Lock()
	m.queueEnd = true
	m.mu.Unlock()
	m.signal()
	<-notesDone
	return true
}

// loop renews every interval and reports a lease lost as soon as its deadline passes,
// until quit is closed. A pass under way when quit closes ends first, so no write of
// it lands after Close's release.
func (m *Manager) loop(ctx context.Context, quit <-chan struct{}) {
	defer close(m.loopDone)
	next := time.Now().Add(m.interval)
	for {
		wait := time.Until(next)
		if d, ok := m.earliestDeadline(); ok {
			wait = min(wait, time.Duration(d-m.now().UnixNano()))
		}
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-quit:
			timer.Stop()
			return
		case <-timer.C:
		}
		m.enqueue(m.expire(), nil)
		if time.Now().Before(next) {
			continue
		}
		next = next.Add(m.interval)
		if now := time.Now(); next.Before(now) {
			next = now.Add(m.interval)
		}

		c, release, err := m.pass(ctx, m.ttl/2)
		if err != nil {
			m.log.Warn("partition lease renewal failed", "err", err, "owned", len(m.held), "replica", m.replica)
		}
		m.enqueue(c, release)
	}
}

// notify delivers queued changes in order, then releases what was given up, until stop.
func (m *Manager) notify(ctx context.Context) {
	defer close(m.notesDone)
	for {
		m.mu.Lock()
		batch, end := m.queue, m.queueEnd
		m.queue = nil
		m.mu.Unlock()
		for _, n := range batch {
			for _, f := range m.fs {
				f(ctx, n.change)
			}
			if len(n.release) == 0 {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, m.ttl/2)
			if err := m.releaseInStore(rctx, n.release); err != nil {
				m.log.Warn("partition lease release failed; the leases expire instead", "err", err, "replica", m.replica)
			}
			cancel()
			m.mu.Lock()
			for _, p := range n.release {
				delete(m.releasing, p)
			}
			m.mu.Unlock()
		}
		if len(batch) > 0 {
			continue
		}
		if end {
			return
		}
		<-m.wake
	}
}

// enqueue logs c and hands it to the notifying goroutine.
func (m *Manager) enqueue(c Change, release []int) {
	if c.empty() {
		return
	}
	m.logChange(c)
	m.mu.Lock()
	m.queue = append(m.queue, notice{change: c, release: release})
	m.mu.Unlock()
	m.signal()
}

func (m *Manager) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// report logs c and delivers it at once (Start, before the goroutines run).
func (m *Manager) report(ctx context.Context, c Change) {
	if c.empty() {
		return
	}
	m.logChange(c)
	for _, f := range m.fs {
		f(ctx, c)
	}
}

func (m *Manager) logChange(c Change) {
	acquired := make([]int, len(c.Acquired))
	for i, t := range c.Acquired {
		acquired[i] = t.Partition
	}
	ownershipChanges.WithLabelValues("acquired").Add(float64(len(c.Acquired)))
	ownershipChanges.WithLabelValues("lost").Add(float64(len(c.Lost)))
	m.log.Info("partition ownership changed", "replica", m.replica,
		"acquired", acquired, "lost", c.Lost, "owned", len(m.held))
}

// expire gives up every held lease whose deadline has passed.
func (m *Manager) expire() Change {
	now := m.now().UnixNano()
	var c Change
	for _, p := range sortedKeys(m.held) {
		if now >= m.deadline[p].Load() {
			m.drop(p)
			c.Lost = append(c.Lost, p)
		}
	}
	return c
}

func (m *Manager) earliestDeadline() (int64, bool) {
	var d int64
	ok := false
	for p := range m.held {
		if v := m.deadline[p].Load(); !ok || v < d {
			d, ok = v, true
		}
	}
	return d, ok
}

// drop stops owning p: Owns(p) is false when it returns.
func (m *Manager) drop(p int) {
	m.deadline[p].Store(0)
	delete(m.held, p)
	partitionsOwned.Dec()
}

// hold starts owning p until valid (Unix nanoseconds).
func (m *Manager) hold(p int, valid int64) {
	m.held[p] = true
	m.deadline[p].Store(valid)
	partitionsOwned.Inc()
}

// pass renews the heartbeat and the held leases, then gives up or takes partitions
// towards the fair share. Each of the two steps may last timeout (0: as long as ctx
// lets it). The change and the partitions to release are returned even with an error:
// they happened before it.
func (m *Manager) pass(ctx context.Context, timeout time.Duration) (Change, []int, error) {
	now := m.now()
	var c Change
	docs, err := m.renewAll(ctx, timeout, now)
	if err != nil {
		return c, nil, err
	}
	stored := map[int]leaseDoc{}
	for _, d := range docs {
		if d.Kind == kindPartition && d.Partition >= 0 && d.Partition < m.partitions {
			stored[d.Partition] = d
		}
	}
	expires := now.Add(m.ttl)
	for _, p := range sortedKeys(m.held) {
		d := stored[p]
		// A renewal confirmed after the lease's deadline does not count: another replica
		// may have read the lease as expired before the renewal landed, and taken it.
		// Confirmed in time, the renewal was written before the old expiry, so any
		// replica reading the lease after that expiry sees it renewed.
		if d.Owner != m.replica || d.Expires.UnixMilli() != expires.UnixMilli() ||
			m.now().UnixNano() >= m.deadline[p].Load() {
			m.drop(p)
			c.Lost = append(c.Lost, p)
			continue
		}
		m.deadline[p].Store(expires.Add(-m.margin).UnixNano())
	}
	lostNow := slices.Clone(c.Lost)

	live := 0
	for _, d := range docs {
		switch {
		case d.Kind == kindReplica && (d.Owner == m.replica || d.Expires.After(now)):
			live++
		case d.Kind == kindReplica && now.Sub(d.Expires) > 10*m.ttl, // long dead
			d.Kind == kindClaim && now.Sub(d.Expires) > m.ttl: // left behind by a failed take
			m.forget(ctx, d)
		}
	}
	target := share(m.partitions, live)

	var release []int
	if excess := len(m.held) - target; excess > 0 {
		shed := sortedKeys(m.held)
		rand.Shuffle(len(shed), func(i, j int) { shed[i], shed[j] = shed[j], shed[i] })
		release = shed[:excess]
		slices.Sort(release)
		m.mu.Lock()
		for _, p := range release {
			m.releasing[p] = true
		}
		m.mu.Unlock()
		for _, p := range release {
			m.drop(p)
		}
		c.Lost = append(c.Lost, release...)
		slices.Sort(c.Lost)
	}

	// Takes whose result was not read are confirmed now if the store shows them.
	for p, ms := range m.unconfirmed {
		d, ok := stored[p]
		valid := time.UnixMilli(ms).Add(-m.margin).UnixNano()
		if ok && !m.held[p] && d.Owner == m.replica && d.Expires.UnixMilli() == ms && m.now().UnixNano() < valid {
			m.hold(p, valid)
			c.Acquired = append(c.Acquired, Taken{Partition: p, Mark: d.Mark}) // a take keeps the mark
		}
	}
	clear(m.unconfirmed)

	if len(m.held) < target {
		m.mu.Lock()
		var candidates []int
		for p := range m.partitions {
			d, ok := stored[p]
			// A lease still naming this replica is nobody else's: one lost to a
			// store outage is taken again at once, without waiting for its expiry.
			free := !ok || d.Owner == "" || d.Owner == m.replica || !d.Expires.After(now)
			if free && !m.held[p] && !m.releasing[p] && !slices.Contains(lostNow, p) {
				candidates = append(candidates, p)
			}
		}
		m.mu.Unlock()
		rand.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
		candidates = candidates[:min(len(candidates), target-len(m.held))]
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		// The leases start at this write, not at the start of the pass.
		expires := m.now().Add(m.ttl)
		taken, err := m.take(ctx, candidates, stored, expires)
		for _, t := range taken {
			m.hold(t.Partition, expires.Add(-m.margin).UnixNano())
		}
		c.Acquired = append(c.Acquired, taken...)
		sortAcquired(c.Acquired)
		if err != nil {
			for _, p := range candidates {
				if !m.held[p] {
					m.unconfirmed[p] = expires.UnixMilli()
				}
			}
			return c, release, fmt.Errorf("take partitions: %w", err)
		}
	}
	sortAcquired(c.Acquired)
	return c, release, nil
}

// share is how many partitions each of live replicas aims at: ceil(partitions / live).
func share(partitions, live int) int {
	live = max(live, 1)
	return (partitions + live - 1) / live
}

func sortAcquired(ts []Taken) {
	slices.SortFunc(ts, func(a, b Taken) int { return a.Partition - b.Partition })
}

// renewAll renews the heartbeat and the held leases to now + TTL, then reads every
// lease and heartbeat.
func (m *Manager) renewAll(ctx context.Context, timeout time.Duration, now time.Time) ([]leaseDoc, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	expires := now.Add(m.ttl)
	if err := m.beat(ctx, expires); err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	if len(m.held) > 0 {
		var mark *int64
		if m.mark != nil {
			v := m.mark()
			mark = &v
		}
		if err := m.renew(ctx, sortedKeys(m.held), expires, mark); err != nil {
			return nil, fmt.Errorf("renew: %w", err)
		}
	}
	docs, err := m.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	return docs, nil
}

func sortedKeys(s map[int]bool) []int {
	ps := make([]int, 0, len(s))
	for p := range s {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}
