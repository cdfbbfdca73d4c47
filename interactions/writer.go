package interactions

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the write path.
var (
	batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "goodwill_write_batch_size",
		Help:    "Interactions per group-commit InsertMany.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
	})
	batchSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "goodwill_write_batch_seconds",
		Help:    "Time of one group-commit InsertMany.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_store_errors_total",
		Help: "Store operations that failed, by operation.",
	}, []string{"op"})
)

func init() {
	for _, op := range []string{"insert", "project"} {
		storeErrors.WithLabelValues(op) // exported as 0 before the first error
	}
}

// Collectors returns the package's Prometheus collectors, for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{batchSize, batchSeconds, storeErrors, projectorLag, projectorApplied, projectorSeconds, projectorBacklog, projectorFeedWait}
}

// ErrClosed is returned by Write after Close.
var ErrClosed = Errorf(CodeUnavailable, "the service is shutting down; retry later")

// Writer is the group-commit writer: concurrent Writes are coalesced into one unordered
// InsertMany of up to MaxWriteBatch interactions, taken as they wait while the previous
// batch is written. Each Write gets its own result, and returns only after its batch is
// acknowledged by the store.
type Writer struct {
	store    *Store
	guard    *Tombstones
	onCommit func([]Interaction)
	reqs     chan *writeReq

	mu     sync.RWMutex
	closed bool
	done   chan struct{}

	susMu       sync.Mutex
	suspects    []Interaction // of failed writes, possibly stored
	dropped     bool          // suspects were dropped: only a catch-up finds them
	reconciling bool
}

// MaxWriteBatch bounds one InsertMany.
const MaxWriteBatch = 1000

type writeReq struct {
	items   []Interaction
	results []insertResult
	err     error
	done    chan struct{}
}

// NewWriter returns a writer over store. guard strips the personal data of erased
// people before anything is written; onCommit receives every newly stored batch (the
// projector's feed) and must not block for long.
func NewWriter(store *Store, guard *Tombstones, onCommit func([]Interaction)) *Writer {
	w := &Writer{
		store:    store,
		guard:    guard,
		onCommit: onCommit,
		reqs:     make(chan *writeReq, 4096),
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// Write stores items and returns, in order, each stored interaction or, for an
// idempotency key already stored, the original with Duplicate set. On a store failure
// it returns a CodeUnavailable error; items written before the failure stay written,
// and repeating the call completes the rest without duplicates.
func (w *Writer) Write(ctx context.Context, items []Interaction) ([]Interaction, error) {
	req := &writeReq{items: items, done: make(chan struct{})}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return nil, ErrClosed
	}
	w.reqs <- req
	w.mu.RUnlock()
	<-req.done // the batch is written or failed; a caller's cancellation does not undo it
	if req.err != nil {
		return nil, req.err
	}
	// An original may be the remains of a write whose answer was lost; the reconciler
	// (see suspect) hands those on, so duplicates cost no projector work here.
	out := make([]Interaction, len(items))
	var dups []int
	var keys []string
	for i, r := range req.results {
		if r == inserted {
			out[i] = items[i]
		} else {
			dups, keys = append(dups, i), append(keys, items[i].Key)
		}
	}
	if len(dups) == 0 {
		return out, nil
	}
	originals, err := w.store.ByKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, i := range dups {
		orig, ok := originals[items[i].Key]
		if !ok {
			return nil, Errorf(CodeNotFound, "no interaction %q", items[i].Key)
		}
		orig.Duplicate = true
		out[i] = orig
	}
	return out, nil
}

// Close stops accepting writes, writes what is waiting, and returns when the last
// batch is done or ctx ends.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) run() {
	defer close(w.done)
	for first := range w.reqs {
		batch := []*writeReq{first}
		n := len(first.items)
	gather:
		for n < MaxWriteBatch {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
				n += len(r.items)
			default:
				break gather
			}
		}
		w.commit(batch, n)
	}
}

// commit writes one batch and answers its requests.
func (w *Writer) commit(batch []*writeReq, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	items := make([]Interaction, 0, n)
	for _, r := range batch {
		items = append(items, r.items...)
	}
	err := w.guard.Strip(ctx, items)
	if err == nil && w.store.Shared {
		err = w.store.number(ctx, items)
	}
	var results []insertResult
	if err == nil {
		start := time.Now()
		results, err = w.store.insert(ctx, items)
		batchSeconds.Observe(time.Since(start).Seconds())
		batchSize.Observe(float64(len(items)))
	}
	if err != nil {
		storeErrors.WithLabelValues("insert").Inc()
		w.suspect(items, results)
		err = Unavailable("write interactions", err)
	}
	var stored []Interaction
	for i, res := range results {
		if res == inserted {
			stored = append(stored, items[i])
		}
	}
	if len(stored) > 0 && w.onCommit != nil {
		w.onCommit(stored)
	}
	off := 0
	for _, r := range batch {
		k := len(r.items)
		copy(r.items, items[off:off+k]) // the stripped versions are what was stored
		if err != nil && failedAny(results, off, k) {
			r.err = err
		} else {
			r.results = results[off : off+k]
		}
		off += k
		close(r.done)
	}
}

// maxSuspects bounds how many interactions of failed writes are remembered.
const maxSuspects = 100000

// suspect remembers the items of a failed write: the store may have written them and
// lost only its answer. A reconciler hands on those that turn out to be stored, once
// the store answers again, so that derived state never misses them.
func (w *Writer) suspect(items []Interaction, results []insertResult) {
	var unsure []Interaction
	for i := range items {
		if results == nil || results[i] == failed {
			unsure = append(unsure, items[i])
		}
	}
	w.susMu.Lock()
	defer w.susMu.Unlock()
	if len(w.suspects)+len(unsure) > maxSuspects {
		w.dropped = true
		return // the next start's catch-up repairs what is dropped here
	}
	w.suspects = append(w.suspects, unsure...)
	if !w.reconciling {
		w.reconciling = true
		go w.reconcile()
	}
}

// Unsure reports whether some failed write may have been stored without its batch
// reaching onCommit yet.
func (w *Writer) Unsure() bool {
	w.susMu.Lock()
	defer w.susMu.Unlock()
	return w.dropped || w.reconciling || len(w.suspects) > 0
}

// reconcile looks up suspected items by key until the store answers for each.
func (w *Writer) reconcile() {
	backoff := 200 * time.Millisecond
	for {
		w.susMu.Lock()
		batch := w.suspects
		w.suspects = nil
		if len(batch) == 0 {
			w.reconciling = false
			w.susMu.Unlock()
			return
		}
		w.susMu.Unlock()
		keys := make([]string, len(batch))
		for i, it := range batch {
			keys[i] = it.Key
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		stored, err := w.store.ByKeys(ctx, keys)
		cancel()
		var retry, found []Interaction
		for _, it := range batch {
			switch got, ok := stored[it.Key]; {
			case err != nil:
				retry = append(retry, it)
			case ok:
				found = append(found, got)
			}
		}
		if len(found) > 0 && w.onCommit != nil {
			w.onCommit(found)
		}
		if len(retry) > 0 {
			w.susMu.Lock()
			w.suspects = append(w.suspects, retry...)
			w.susMu.Unlock()
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// failedAny reports whether any of results[off:off+k] failed; with no results at all
// (the write never happened) everything failed.
func failedAny(results []insertResult, off, k int) bool {
	if results == nil {
		return true
	}
	for _, r := range results[off : off+k] {
		if r == failed {
			return true
		}
	}
	return false
}
