package interactions

import (
	"context"
	"maps"
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
// acknowledged by the store. Batches are inserted one after the other, in order; the
// idempotency keys of the next are looked up while the last is inserted.
type Writer struct {
	store     *Store
	guard     *Tombstones
	onCommit  func([]Interaction)
	onHistory func([]Interaction)
	reqs      chan *writeReq

	mu     sync.RWMutex
	closed bool
	done   chan struct{}

	susMu       sync.Mutex
	suspects    []Interaction // keys of failed writes, possibly stored
	dropped     bool          // suspects were dropped: only a catch-up finds them
	reconciling bool

	recent recentEvents // events stored lately, for WriteEvents

	// beforeInsert, when set (by tests, before the first write), runs before each
	// group's InsertMany.
	beforeInsert func()
}

// MaxWriteBatch bounds one InsertMany.
const MaxWriteBatch = 1000

type writeReq struct {
	items []Interaction
	batch bool // name fields as in a batch: "interactions[i].external_id"
	// dedupe: leave out the items that repeat an event held already (WriteEvents).
	dedupe bool
	// history: the caller accepts that derived state lags the answer (WriteHistory).
	history bool
	// results and known are set when the request's items were written or found
	// stored before (known: the originals, by key); err when the request failed.
	results []insertResult
	known   map[string]Interaction
	err     error
	done    chan struct{}
}

// WriterConfig is what a writer is built from.
type WriterConfig struct {
	Store *Store
	// Guard strips the personal data of erased people before anything is written.
	Guard *Tombstones
	// OnCommit receives every newly stored batch (the projector's feed, Feed.Add) and
	// must not block for long.
	OnCommit func([]Interaction)
	// OnHistory, when set, receives instead of OnCommit the batches made only of
	// WriteHistory's items (the feed's AddHistory, which does not wait for the
	// projector).
	OnHistory func([]Interaction)
}

// NewWriter returns a writer over cfg.Store.
func NewWriter(cfg WriterConfig) *Writer {
	w := &Writer{
		store:     cfg.Store,
		guard:     cfg.Guard,
		onCommit:  cfg.OnCommit,
		onHistory: cfg.OnHistory,
		reqs:      make(chan *writeReq, 4096),
		done:      make(chan struct{}),
	}
	go w.run()
	return w
}

// Write stores items and returns, in order, each stored interaction or, for an
// idempotency key already stored, the original with Duplicate set. On a store failure
// it returns a CodeUnavailable error; items written before the failure stay written,
// and repeating the call completes the rest without duplicates.
//
// An idempotency key is bound to the application of the interaction first stored
// with it: an item that repeats a key stored (or used earlier in the same write) for
// another application fails the whole call with CodeConflict naming its
// external_id, and, for a call of several items, nothing of it is written — the keys
// are checked before the insert. Errors name fields as a batch does
// ("interactions[2].external_id") when items holds more than one; WriteBatch always
// does.
func (w *Writer) Write(ctx context.Context, items []Interaction) ([]Interaction, error) {
	return w.write(ctx, &writeReq{items: items, batch: len(items) > 1})
}

// WriteHistory is Write (WriteBatch when batch is set) for history being
// backfilled: the answer still means the items are durably written, but it does not
// wait for the projector to have room for them, so their derived state may lag it.
// Feed.Settle tells when it has caught up.
func (w *Writer) WriteHistory(ctx context.Context, items []Interaction, batch bool) ([]Interaction, error) {
	return w.write(ctx, &writeReq{items: items, batch: batch || len(items) > 1, history: true})
}

// WriteBatch is Write for a request that was a batch, even of one item: errors name
// fields "interactions[i].<field>".
func (w *Writer) WriteBatch(ctx context.Context, items []Interaction) ([]Interaction, error) {
	return w.write(ctx, &writeReq{items: items, batch: true})
}

// WriteEvents is Write for what an ATS reports, by webhook or through its API: each
// item that repeats under another key an event its application holds already (see
// SameEvent), or an earlier item of the call, is left out, and answered as a
// duplicate: the event it repeats, with Duplicate set. A webhook and the sync thereby
// describe one event once, whichever comes first, while each keeps its own external
// ids. The application's events are read from its document (by _id) and from what
// this writer stored too lately for the projector to have added.
func (w *Writer) WriteEvents(ctx context.Context, items []Interaction) ([]Interaction, error) {
	return w.write(ctx, &writeReq{items: items, batch: len(items) > 1, dedupe: true})
}

// Events is the writer seen through WriteEvents: what the webhook receivers and the
// ATS sync write with.
func (w *Writer) Events() EventWriter { return EventWriter{w} }

// EventWriter writes with WriteEvents (Writer.Events).
type EventWriter struct{ w *Writer }

// Write is Writer.WriteEvents.
func (e EventWriter) Write(ctx context.Context, items []Interaction) ([]Interaction, error) {
	return e.w.WriteEvents(ctx, items)
}

func (w *Writer) write(ctx context.Context, req *writeReq) ([]Interaction, error) {
	items, batch := req.items, req.batch
	req.done = make(chan struct{})
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
		switch _, known := req.known[items[i].Key]; {
		case r == inserted:
			out[i] = items[i]
		case known:
			dups = append(dups, i)
		default:
			dups, keys = append(dups, i), append(keys, items[i].Key)
		}
	}
	if len(dups) == 0 {
		return out, nil
	}
	originals := req.known
	if len(keys) > 0 {
		found, err := w.store.ByKeys(ctx, keys)
		if err != nil {
			return nil, err
		}
		for k, v := range req.known {
			found[k] = v
		}
		originals = found
	}
	for _, i := range dups {
		orig, ok := originals[items[i].Key]
		if !ok {
			return nil, Errorf(CodeNotFound, "no interaction %q", items[i].Key)
		}
		if orig.ApplicationID != items[i].ApplicationID {
			// Only a race with another write of the same key gets here for a call of
			// several items (checkKeys refuses the rest before writing).
			return nil, keyConflict(i, batch)
		}
		orig.Duplicate = true
		out[i] = orig
	}
	return out, nil
}

// keyConflict is the error of an item whose idempotency key belongs to another
// application. It says nothing about the original.
func keyConflict(i int, batch bool) *Error {
	f := ItemField(batch, i, "external_id")
	return &Error{Code: CodeConflict, Message: f + ": this idempotency key (source, external_id) is taken by another application",
		Fields: []FieldError{{f, "is taken by another application: an idempotency key belongs to the application first written with it"}}}
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
	var last *flight
	for first := range w.reqs {
		batch, n := w.gather([]*writeReq{first}, len(first.items))
		// The group's keys are looked up while the last group is still being written
		// (reads do not wait for the store's writer); what that one stores is added
		// once it is done, so that checkKeys judges as if it had looked up after it.
		lookup := w.lookupKeys(batch)
		var written map[string]Interaction
		if last != nil {
			<-last.done
			written = last.written
			if last.failed { // it may have stored more than it says: look up again
				lookup = w.lookupKeys(batch)
			}
		}
		known, err := lookup()
		// What came while the last group was written joins this one, as it would
		// have without the early look-up; its keys are looked up now.
		if grown, m := w.gather(batch, n); m > n {
			if err == nil {
				var more map[string]Interaction
				more, err = w.lookupKeys(grown[len(batch):])()
				maps.Copy(known, more)
			}
			batch, n = grown, m
		}
		if err == nil {
			for _, r := range batch {
				for _, it := range r.items {
					if orig, ok := written[it.Key]; ok && checked(r, it) {
						known[it.Key] = orig
					}
				}
			}
		}
		last = &flight{done: make(chan struct{})}
		go func(f *flight) {
			defer close(f.done)
			f.written, f.failed = w.commit(batch, n, known, err)
		}(last)
	}
	if last != nil {
		<-last.done
	}
}

// flight is a group commit being written.
type flight struct {
	done chan struct{}
	// written is what it stored, by key; failed is set when the store failed it, so
	// that it may have stored more.
	written map[string]Interaction
	failed  bool
}

// gather adds to batch (of n items) the requests waiting, up to MaxWriteBatch items.
func (w *Writer) gather(batch []*writeReq, n int) ([]*writeReq, int) {
	for n < MaxWriteBatch {
		select {
		case r, ok := <-w.reqs:
			if !ok {
				return batch, n
			}
			batch = append(batch, r)
			n += len(r.items)
		default:
			return batch, n
		}
	}
	return batch, n
}

// commit writes one batch and answers its requests, given the originals of its
// checked keys found stored (lookupKeys) or the error of looking them up. It returns
// what it stored, by key, and whether the store failed it.
func (w *Writer) commit(batch []*writeReq, n int, known map[string]Interaction, err error) (map[string]Interaction, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err != nil { // nothing is written
		storeErrors.WithLabelValues("insert").Inc()
		for _, r := range batch {
			r.err = err
			close(r.done)
		}
		return nil, false
	}
	checkKeys(batch, known)
	var reps []map[int]Interaction // by request, the events its items repeat
	if events, err := w.knownEvents(ctx, batch); err != nil {
		storeErrors.WithLabelValues("insert").Inc()
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
			close(r.done)
		}
		return nil, false
	} else if len(events) > 0 {
		reps = repeats(batch, events)
	}
	// What goes into the InsertMany: the items of the requests not refused, less those
	// found stored already and the repeats. at maps each request's items to their
	// place in it (-1: found stored, -2: a repeat).
	items := make([]Interaction, 0, n)
	at := make([][]int, len(batch))
	for ri, r := range batch {
		if r.err != nil {
			continue
		}
		at[ri] = make([]int, len(r.items))
		for i, it := range r.items {
			if _, ok := known[it.Key]; ok && it.ExternalID != "" {
				at[ri][i] = -1
				continue
			}
			if reps != nil {
				if _, ok := reps[ri][i]; ok {
					at[ri][i] = -2
					continue
				}
			}
			at[ri][i] = len(items)
			items = append(items, it)
		}
	}
	var results []insertResult
	if len(items) > 0 {
		err = w.guard.Strip(ctx, items)
		if err == nil && w.store.Shared {
			err = w.store.number(ctx, items)
		}
		if err == nil {
			if w.beforeInsert != nil {
				w.beforeInsert()
			}
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
	}
	var stored []Interaction
	written := map[string]Interaction{} // what a later group's keys may repeat
	for i, res := range results {
		if res == inserted {
			stored = append(stored, items[i])
			if items[i].ExternalID != "" {
				written[items[i].Key] = items[i]
			}
		}
	}
	w.recent.add(stored, time.Now())
	if len(stored) > 0 && w.onCommit != nil {
		if w.onHistory != nil && allHistory(batch) {
			w.onHistory(stored)
		} else {
			w.onCommit(stored)
		}
	}
	for ri, r := range batch {
		if r.err != nil { // refused by checkKeys: nothing of it was written
			close(r.done)
			continue
		}
		r.results = make([]insertResult, len(r.items))
		r.known = map[string]Interaction{}
		failedOne := false
		for i, j := range at[ri] {
			switch {
			case j == -2:
				r.results[i] = duplicate
				r.known[r.items[i].Key] = reps[ri][i]
			case j < 0:
				r.results[i] = duplicate
				r.known[r.items[i].Key] = known[r.items[i].Key]
			case results == nil: // the write never happened
				failedOne = true
			default:
				r.items[i] = items[j] // the stripped version is what was stored
				r.results[i] = results[j]
				failedOne = failedOne || results[j] == failed
			}
		}
		if err != nil && failedOne {
			r.err, r.results = err, nil
		}
		close(r.done)
	}
	return written, err != nil
}

// allHistory reports whether every request of a group commit is WriteHistory's.
func allHistory(batch []*writeReq) bool {
	for _, r := range batch {
		if !r.history {
			return false
		}
	}
	return true
}

// checked reports whether checkKeys judges item it of r: an item with an external_id
// of a request of several items. A single item needs no look-up: Write compares it
// with the original it turns out to repeat, and a refused single item has written
// nothing.
func checked(r *writeReq, it Interaction) bool {
	return len(r.items) > 1 && it.ExternalID != ""
}

// lookupKeys starts looking up the stored originals of the keys checkKeys judges (by
// _id, one query per thousand), and returns the function that waits for them.
func (w *Writer) lookupKeys(batch []*writeReq) func() (map[string]Interaction, error) {
	var keys []string
	for _, r := range batch {
		for _, it := range r.items {
			if checked(r, it) {
				keys = append(keys, it.Key)
			}
		}
	}
	if len(keys) == 0 {
		return func() (map[string]Interaction, error) { return map[string]Interaction{}, nil }
	}
	type found struct {
		known map[string]Interaction
		err   error
	}
	ch := make(chan found, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		known, err := w.store.ByKeys(ctx, keys)
		ch <- found{known, err}
	}()
	return func() (map[string]Interaction, error) {
		f := <-ch
		return f.known, f.err
	}
}

// checkKeys refuses, before anything is written, each request that repeats an
// idempotency key stored (known: the originals found, by key), or used earlier in
// this group commit, for another application: such a batch is refused whole.
func checkKeys(batch []*writeReq, known map[string]Interaction) {
	first := map[string]string{} // key → the application of the group's first item with it
	for _, r := range batch {
		mine := map[string]string{} // the same, for the keys new in this request
		for i, it := range r.items {
			if it.ExternalID == "" {
				continue
			}
			app, ok := first[it.Key]
			if !ok {
				app, ok = mine[it.Key]
			}
			if orig, stored := known[it.Key]; stored {
				app, ok = orig.ApplicationID, true
			}
			if ok && app != it.ApplicationID {
				r.err = keyConflict(i, r.batch)
				break
			}
			if !ok {
				mine[it.Key] = it.ApplicationID
			}
		}
		if r.err != nil {
			continue // a refused request writes nothing: its keys stay free
		}
		for k, app := range mine {
			first[k] = app
		}
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
			// The key is all the reconciler needs: no personal data waits here.
			unsure = append(unsure, Interaction{Key: items[i].Key})
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
