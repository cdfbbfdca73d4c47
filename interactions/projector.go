package interactions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

var (
	projectorLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "goodwill_projector_lag_seconds",
		Help:    "Time from an interaction's receipt to its application in derived state.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 18), // 1 ms to 131 s
	})
	projectorApplied = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "goodwill_projector_applied_total",
		Help: "Interactions applied to derived state.",
	})
	projectorSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "goodwill_projector_apply_seconds",
		Help:    "Time of one Apply's steps: storing derived state (store), then handing it to consumers such as the SLA engine (consumers); an Apply creating more than 1000 applications hands each 1000 stored on while storing the next, within store.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 18),
	}, []string{"step"})
)

// catchUpOverlap is how far before its mark the projector re-reads the log at start.
// Re-applying an interaction is harmless, and the overlap covers batches that were
// committed after a later batch had already moved the mark.
const catchUpOverlap = 2 * time.Minute

// AppliedFunc is told of applications whose derived state changed, after it is
// stored. now is the moment the projector applied them.
type AppliedFunc func(ctx context.Context, apps []Application, now time.Time) error

// Projector applies committed interactions to derived state — applications,
// candidates, jobs and contact lookups — coalescing the events of one application into
// one update. It keeps a high-water mark of what it applied, so that after a crash it
// re-reads the log's tail and derived state repairs itself.
type Projector struct {
	store   *Store
	guard   *Tombstones
	log     *slog.Logger
	now     func() time.Time
	feed    chan fedBatch
	backlog *backlog // what waits in feed, against a budget (backlog.go)
	applied []AppliedFunc
	pools   func(ctx context.Context, poolIDs []string) error

	// apps caches application documents as last written. The projector is their only
	// writer, so the cache stays true; it is bounded by maxCachedApps. Only the
	// projector's goroutine touches it.
	apps map[string]Application
	// written remembers the fields last written per candidate, job and contact lookup,
	// so that repeating details costs nothing.
	written map[string]map[string]string
	// pooled caches whether candidates have a nurture document: are or were in a pool,
	// so that their applications' contacts and application_received also go there
	// (nurture.go). Bounded by maxPooledCache.
	pooled map[string]bool
	// untold are applications stored but not yet handed to every AppliedFunc. tell
	// hands them on; what a failure leaves here goes with the next Apply's own.
	untold map[string]Application
	// codes are the encoded events of the cached applications (eventcodes.go).
	codes map[string]eventCodes

	unsure func() bool // see ProjectorConfig.Unsure
	gaveUp bool        // an Apply was given up when stopping

	// shared is set when several replicas share the store (replicas.go).
	shared   *sharing
	requests chan func()

	mu        sync.Mutex
	mark      time.Time // newest received_at applied
	savedAt   time.Time
	stopping  chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

// ProjectorConfig is what a projector is built from. Store, Guard, Log and Now are
// required; the rest may be left zero.
type ProjectorConfig struct {
	Store *Store
	Guard *Tombstones
	Log   *slog.Logger
	Now   func() time.Time
	// Feed carries the writer's committed batches; nil gives the projector a feed of
	// its own, which Projector.Feed fills.
	Feed *Feed
	// Applied are told of changed applications (the SLA engine), in order.
	Applied []AppliedFunc
	// Unsure tells the projector, when it stops, whether some write of the log may
	// have been stored without reaching it (Writer.Unsure); then it records no clean
	// stop.
	Unsure func() bool
	// Owns, when set, makes the projector one of several replicas over the store: it
	// tells which applications are this replica's to project (replicas.go). From is then
	// the log's batch number when the replica started reading derived state
	// (Store.LogSeq), where following begins.
	Owns func(applicationID string) bool
	From int64
	// PoolsNamed, when set, is given the pool ids that new pool_added events name,
	// before their nurture documents reach Applied (the SLA engine creates the pools it
	// does not know).
	PoolsNamed func(ctx context.Context, poolIDs []string) error
}

// NewProjector returns a projector; Start runs it.
func NewProjector(cfg ProjectorConfig) *Projector {
	feed := cfg.Feed
	if feed == nil {
		feed = NewFeed()
	}
	p := &Projector{
		store:    cfg.Store,
		guard:    cfg.Guard,
		log:      cfg.Log,
		now:      cfg.Now,
		feed:     feed.ch,
		backlog:  feed.backlog,
		applied:  cfg.Applied,
		pools:    cfg.PoolsNamed,
		unsure:   cfg.Unsure,
		apps:     map[string]Application{},
		codes:    map[string]eventCodes{},
		written:  map[string]map[string]string{},
		untold:   map[string]Application{},
		pooled:   map[string]bool{},
		requests: make(chan func(), 256),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	if cfg.Owns != nil {
		p.share(cfg.Owns, cfg.From)
	}
	return p
}

// Feed carries committed batches from the writer to the projector, against the
// projector's backlog budget. It is built before both: the writer hands its batches
// to it, and the projector, built after the writer, is given the writer's Unsure.
type Feed struct {
	ch      chan fedBatch
	backlog *backlog // what waits in ch, against a budget (backlog.go)
}

// NewFeed returns an empty feed.
func NewFeed() *Feed {
	return &Feed{ch: make(chan fedBatch, 4096), backlog: newBacklog()}
}

// Add hands a committed batch to the projector. It waits while the projector's
// backlog is full (backlog.go), which slows writers down rather than letting derived
// state fall behind.
func (f *Feed) Add(batch []Interaction) {
	projectorFeedWait.Observe(f.backlog.add(len(batch)).Seconds())
	f.backlog.send(f.ch, fedBatch{items: batch})
}

// fedBatch is a committed batch in the feed; history marks AddHistory's.
type fedBatch struct {
	items   []Interaction
	history bool
}

// AddHistory hands a committed batch of history to the projector without waiting
// for room in its backlog: the writes it answers accept that their derived state
// lags, and the larger backlog lets each Apply fold more events of an application
// into one write. It still waits when the feed's channel is full.
func (f *Feed) AddHistory(batch []Interaction) {
	f.backlog.count(len(batch))
	f.backlog.send(f.ch, fedBatch{items: batch, history: true})
}

// Settle returns once every interaction handed to the feed before the call has been
// applied to derived state — applications, candidates and jobs stored, and the
// projector's consumers (the SLA engine and what it feeds) told — or with ctx's
// error when ctx ends first. On a store shared by replicas it covers what this
// replica's writer fed.
func (f *Feed) Settle(ctx context.Context) error { return f.backlog.settle(ctx) }

// Feed hands a committed batch to the projector, as its Feed's Add does.
func (p *Projector) Feed(batch []Interaction) {
	projectorFeedWait.Observe(p.backlog.add(len(batch)).Seconds())
	p.backlog.send(p.feed, fedBatch{items: batch})
}

// Start catches up with the log's tail and then applies fed batches until Close.
// A shared projector (ProjectorConfig.Owns) catches up per partition as it acquires them instead.
func (p *Projector) Start(ctx context.Context) error {
	if p.shared == nil {
		if err := p.catchUp(ctx); err != nil {
			return err
		}
	}
	go p.run()
	return nil
}

// Close applies what was fed, saves the mark and stops. Feed must not be called after.
func (p *Projector) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { close(p.stopping) })
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Projector) run() {
	defer close(p.done)
	var follow <-chan time.Time
	if p.shared != nil {
		t := time.NewTicker(followEvery)
		defer t.Stop()
		follow = t.C
	}
	// held is history taken from the feed and not applied yet: it waits for more, up
	// to historyLinger and while more keeps coming (historyQuiet), so that one Apply
	// folds more events of each application.
	var held []Interaction
	var linger, quiet <-chan time.Time
	apply := func(items []Interaction) {
		start := time.Now()
		p.applyRetrying(items)
		p.backlog.applied(len(items), time.Since(start))
		p.fed(items)
		if !p.gaveUp {
			p.backlog.done(len(items))
		}
	}
	release := func() {
		if len(held) > 0 {
			apply(held)
		}
		held, linger, quiet = nil, nil, nil
	}
	for {
		select {
		case batch := <-p.feed:
			items, history := p.gather(batch)
			arrived := items
			if len(held) > 0 {
				items = append(held, items...)
			}
			// With replicas sharing the store, following the log would apply held
			// history anyway, a little at a time: nothing is held there.
			if history && p.shared == nil && len(items) < maxGatherItems && !p.backlog.settling() {
				if len(held) == 0 {
					linger = time.After(historyLinger)
				}
				held, quiet = items, time.After(historyQuiet)
				p.prepare(arrived)
				continue
			}
			held, linger, quiet = nil, nil, nil
			apply(items)
		case <-linger:
			release()
		case <-quiet:
			release() // no more came: the import ended, or paused
		case <-p.backlog.flushing:
			release() // a flush waits for what is held
		case <-follow:
			p.follow()
		case req := <-p.requests:
			req()
		case <-p.stopping:
			release()
			for {
				select {
				case batch := <-p.feed:
					items, _ := p.gather(batch)
					p.applyRetrying(items)
				default:
					p.saveMark(context.Background(), true)
					p.saveClean()
					return
				}
			}
		case <-time.After(time.Second):
			p.saveMark(context.Background(), false)
		}
	}
}

// historyLinger is how long history taken from the feed may wait for more before it is
// applied, unless a flush waits for it, maxGatherItems of it wait, or none came for
// historyQuiet. Only a projector that owns the store holds history back. Every Apply
// derives and rewrites each application it touches, and an import's lines touch most
// of its applications again and again: applying what an import sends in one Apply at
// its end (its flush) costs less than applying it every few seconds.
const (
	historyLinger = 30 * time.Second
	historyQuiet  = time.Second
)

// prepare writes what held history needs before its applications — candidates, jobs,
// contact lookups, the pools it names — and learns which of its candidates are pooled,
// while it waits to be applied and the import goes on, so that the Apply releasing it
// finds them written and cached (redundant, skipped) instead of writing them all after
// the import's last write. Writing details again is harmless, so a failure here leaves
// them to that Apply.
func (p *Projector) prepare(items []Interaction) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Strip changes what it is given: the held items stay as fed.
	items = slices.Clone(items)
	err := p.guard.Strip(ctx, items) // a tombstone must win here too
	if err == nil {
		_, err = p.knowPooled(ctx, items)
	}
	if err == nil {
		err = p.applyDetails(ctx, items, false)
	}
	if err == nil {
		err = p.namePools(ctx, items)
	}
	if err != nil {
		p.log.Warn("projector: writing held history's details failed; its Apply writes them", "err", err, "items", len(items))
	}
}

// maxApplyItems bounds the backlog's budget, and so what one Apply takes from the
// feed on the live path.
const maxApplyItems = 10000

// maxGatherItems bounds what one Apply takes from the feed. Only history
// (Feed.AddHistory) fills the feed past maxApplyItems; taking more of it at once
// folds more events of each application into its one write and one derivation.
const maxGatherItems = 100000

// gather adds whatever else is waiting to batch, so that several events of one
// application become one update: the further behind, the more each update carries.
// history reports whether all of it is history (Feed.AddHistory).
func (p *Projector) gather(first fedBatch) (batch []Interaction, history bool) {
	batch, history = first.items, first.history
	defer func() { p.backlog.take(len(batch)) }()
	for len(batch) < maxGatherItems {
		select {
		case more := <-p.feed:
			batch = append(batch, more.items...)
			history = history && more.history
		default:
			return batch, history
		}
	}
	return batch, history
}

// applyRetrying applies items, retrying while the store is unreachable. It gives up
// only when stopping; the next start's catch-up then applies them.
func (p *Projector) applyRetrying(items []Interaction) {
	backoff := 100 * time.Millisecond
	for {
		// Time for the consumers too, whose work grows with what one Apply carries.
		limit := 30*time.Second + time.Duration(len(items))*5*time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		err := p.applyFed(ctx, items)
		cancel()
		if err == nil {
			return
		}
		storeErrors.WithLabelValues("project").Inc()
		p.log.Warn("projector: apply failed; retrying", "err", err, "items", len(items))
		select {
		case <-p.stopping:
			p.gaveUp = true
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Apply applies items to derived state. It is idempotent: the applications and
// details it does not hold in memory are read first, so that events applied before (a
// catch-up's overlap) cost that read only.
func (p *Projector) Apply(ctx context.Context, items []Interaction) error {
	return p.apply(ctx, items, true)
}

// applyFed applies a batch the writer has just stored. Its events are new, and most of
// its applications and details are cached or new too: those not cached are inserted
// without a read first, and read only when found stored already.
func (p *Projector) applyFed(ctx context.Context, items []Interaction) error {
	return p.apply(ctx, items, false)
}

// apply is Apply when readFirst is set (what is not cached is read before writing:
// readUncached, readDetails), else applyFed (inserted first).
func (p *Projector) apply(ctx context.Context, items []Interaction, readFirst bool) error {
	if len(items) == 0 {
		return nil
	}
	start := time.Now()
	// A tombstone written since these were stored must win.
	if p.shared != nil {
		items = p.mine(items)
		if len(items) == 0 {
			return nil
		}
	}
	if err := p.guard.Strip(ctx, items); err != nil {
		return err
	}
	byApp := map[string][]Interaction{}
	var order []string
	seen := map[string]bool{}
	add := func(id string, it Interaction) {
		if !seen[id] {
			seen[id] = true
			order = append(order, id)
		}
		byApp[id] = append(byApp[id], it)
	}
	// A pooled candidate's contacts and applications go to their nurture document too
	// (nurture.go); a nurture document created now starts with the candidate's earlier
	// ones. With several replicas, each document is written by its owner only.
	pooled, err := p.knowPooled(ctx, items)
	if err != nil {
		return err
	}
	route := func(it Interaction, to func(id string)) {
		if p.writes(it.DocID()) {
			to(it.DocID())
		}
		if it.NurtureRelevant() && pooled.has[it.CandidateID] && p.writes(NurtureID(it.CandidateID)) {
			to(NurtureID(it.CandidateID))
		}
	}
	// Each document's events in a slice of its size: a large Apply's events (history)
	// would otherwise be copied again each time one grows.
	sizes := map[string]int{}
	for _, it := range items {
		route(it, func(id string) { sizes[id]++ })
	}
	for id, n := range sizes {
		byApp[id] = make([]Interaction, 0, n)
	}
	for _, it := range items {
		route(it, func(id string) { add(id, it) })
	}
	earlier, err := p.earlierNurtureEvents(ctx, pooled.created)
	if err != nil {
		return err
	}
	for _, it := range earlier {
		add(NurtureID(it.CandidateID), it)
	}
	// Keep only the events new to each application as cached or, when reading first,
	// as stored. One not found is taken for new; saveAll finds out otherwise when
	// inserting it.
	var fromStore map[string]Application
	if readFirst {
		if fromStore, err = p.readUncached(ctx, order); err != nil {
			return err
		}
	}
	apps := make([]loadedApp, 0, len(order))
	fresh := make([]Interaction, 0, len(items))
	for _, id := range order {
		if la := p.load(id, byApp[id], fromStore); len(la.add) > 0 {
			apps = append(apps, la)
			for _, it := range la.add {
				if it.DocID() == id { // an event's details once, with its own document
					fresh = append(fresh, it)
				}
			}
		}
	}
	// Details before applications, so that a changed application's candidate is known
	// to consumers, and so that a crash in between leaves the events new next time.
	if err := p.applyDetails(ctx, fresh, readFirst); err != nil {
		return err
	}
	if err := p.namePools(ctx, fresh); err != nil {
		return err
	}
	now := p.now().UTC().Truncate(time.Millisecond)
	chunk := replaceChunk
	if len(items) > maxApplyItems {
		chunk = historyReplaceChunk
	}
	if err := p.saveAll(ctx, apps, now, chunk); err != nil {
		return err
	}
	for _, c := range pooled.created {
		p.setPooled(c, true)
	}
	stored := time.Now()
	projectorSeconds.WithLabelValues("store").Observe(stored.Sub(start).Seconds())
	if err := p.tell(ctx, now); err != nil {
		return err
	}
	projectorSeconds.WithLabelValues("consumers").Observe(time.Since(stored).Seconds())
	newest := items[0].ReceivedAt
	done := p.now()
	for _, it := range items {
		projectorLag.Observe(done.Sub(it.ReceivedAt).Seconds())
		if it.ReceivedAt.After(newest) {
			newest = it.ReceivedAt
		}
	}
	projectorApplied.Add(float64(len(items)))
	p.mu.Lock()
	if newest.After(p.mark) {
		p.mark = newest
	}
	p.mu.Unlock()
	return nil
}

// loadedApp is an application as cached (exists) or a new one, and the events new
// to it.
type loadedApp struct {
	cur    Application
	exists bool
	add    []Interaction
}

// load returns the application id as cached, else as stored (readUncached), else
// new, with those of events it lacks. One stored that lacks none is cached.
func (p *Projector) load(id string, events []Interaction, stored map[string]Application) loadedApp {
	la := loadedApp{cur: Application{ID: id}}
	if cached, ok := p.apps[id]; ok {
		la.cur, la.exists = cached, true
	} else if app, ok := stored[id]; ok {
		la.cur, la.exists = app, true
	}
	la.add = newEvents(la.cur, events)
	if len(la.add) == 0 && !p.cached(id) && la.exists {
		p.remember(la.cur)
	}
	return la
}

func (p *Projector) cached(id string) bool {
	_, ok := p.apps[id]
	return ok
}

// readChunk is how many documents one _id $in read asks for. The embedded store looks
// each up through its index, then checks every document it found against the whole
// list again, so a read costs the length of the list per document found: 100 keeps
// that below what a request's round trip costs (about 0.5 ms).
const readChunk = 100

// readUncached reads the stored applications of ids that are not cached, readChunk
// a request; those stored nowhere are missing from the map.
func (p *Projector) readUncached(ctx context.Context, ids []string) (map[string]Application, error) {
	var missing []string
	for _, id := range ids {
		if !p.cached(id) {
			missing = append(missing, id)
		}
	}
	return p.readApps(ctx, missing)
}

// readApps reads the stored applications of ids, readChunk a request.
func (p *Projector) readApps(ctx context.Context, ids []string) (map[string]Application, error) {
	out := make(map[string]Application, len(ids))
	for chunk := range slices.Chunk(ids, readChunk) {
		cur, err := p.store.applications.Find(ctx, bson.M{"_id": bson.M{"$in": chunk}})
		if err != nil {
			return nil, Unavailable("read applications", err)
		}
		var apps []Application
		if err := cur.All(ctx, &apps); err != nil {
			return nil, Unavailable("read applications", err)
		}
		for _, app := range apps {
			out[app.ID] = app
		}
	}
	return out, nil
}

// newEvents returns those of events that app lacks, each once.
func newEvents(app Application, events []Interaction) []Interaction {
	have := make(map[string]bool, len(app.Events)+len(events))
	for _, e := range app.Events {
		have[e.ID] = true
	}
	var add []Interaction
	for _, e := range events {
		if !have[e.ID] {
			have[e.ID] = true
			add = append(add, e)
		}
	}
	return add
}

// saveAll stores applications with their new events — those not cached with one
// InsertMany, the others replaced whole, chunk of them per request — and adds them
// to untold.
func (p *Projector) saveAll(ctx context.Context, apps []loadedApp, now time.Time, chunk int) error {
	var fresh []any
	var freshApps, replaced []Application
	for _, la := range apps {
		events, _ := MergeEvents(la.cur.Events, la.add)
		app := DeriveApplication(la.cur.ID, events)
		app.UpdatedAt = now
		if la.exists {
			replaced = append(replaced, app)
		} else {
			fresh = append(fresh, app)
			freshApps = append(freshApps, app)
		}
	}
	dups, err := p.insertFresh(ctx, fresh, freshApps, now)
	if err != nil {
		return err
	}
	var dupIDs []string
	for i, app := range freshApps {
		if dups[i] {
			dupIDs = append(dupIDs, app.ID)
		}
	}
	// Stored already (not cached after a restart or an eviction, or inserted by an
	// attempt whose answer was lost): merge into the stored document; events it has
	// cost this read only.
	found, err := p.readApps(ctx, dupIDs)
	if err != nil {
		return err
	}
	for i, app := range freshApps {
		if !dups[i] {
			continue
		}
		cur, ok := found[app.ID]
		if !ok {
			return fmt.Errorf("application %s: stored, then not found", app.ID)
		}
		add := newEvents(cur, app.Events)
		if len(add) == 0 {
			p.remember(cur)
			continue
		}
		events, _ := MergeEvents(cur.Events, add)
		merged := DeriveApplication(app.ID, events)
		merged.UpdatedAt = now
		replaced = append(replaced, merged)
	}
	return p.replaceAll(ctx, replaced, chunk)
}

// insertChunk is how many new applications one request of insertFresh stores.
const insertChunk = 1000

// insertFresh inserts new applications (docs, the documents of apps), insertChunk a
// request, remembers those stored and adds them to untold. With more than one chunk, it
// tells the consumers of each stored chunk (tell) while the next one is being inserted,
// so that their work — the SLA engine's derivations — overlaps the store's instead of
// following it: a large Apply (history) creates thousands at once. It reports which
// were stored already (duplicate _id), by index.
func (p *Projector) insertFresh(ctx context.Context, docs []any, apps []Application, now time.Time) (map[int]bool, error) {
	type inserted struct {
		dups map[int]bool
		err  error
	}
	insert := func(lo int) chan inserted {
		ch := make(chan inserted, 1)
		go func() {
			dups, err := InsertNew(ctx, p.store.applications, docs[lo:min(lo+insertChunk, len(docs))])
			ch <- inserted{dups, err}
		}()
		return ch
	}
	dups := map[int]bool{}
	if len(docs) == 0 {
		return dups, nil
	}
	next := insert(0)
	for lo := 0; lo < len(docs); lo += insertChunk {
		r := <-next
		if r.err != nil {
			return nil, r.err
		}
		hi := min(lo+insertChunk, len(docs))
		if hi < len(docs) {
			next = insert(hi)
		}
		for i, app := range apps[lo:hi] {
			if r.dups[i] {
				dups[lo+i] = true
				continue
			}
			p.remember(app)
			p.untold[app.ID] = app
		}
		if hi < len(docs) {
			if err := p.tell(ctx, now); err != nil {
				<-next // nothing of this Apply's stays running
				return nil, err
			}
		}
	}
	return dups, nil
}

// replaceChunk is how many applications one request replaces. The embedded store runs
// an update request in one transaction holding its write lock, so the group-commit
// writer waits for as long as one request lasts (about 5 ms for 25; 100 would save a
// fifth of the cost per document and hold the lock 17 ms).
const replaceChunk = 25

// historyReplaceChunk is replaceChunk for an Apply larger than the live backlog ever
// holds (maxApplyItems): only history makes one, and its writers accept that derived
// state lags, so one request holds the write lock longer and pays the store's
// per-request cost (a transaction, a sync) once for more documents.
const historyReplaceChunk = 250

// replaceAll replaces the stored applications with apps. Replacing a whole document
// by _id costs the embedded store less than applying an update to it, and the
// projector, their only writer, holds each one whole.
func (p *Projector) replaceAll(ctx context.Context, apps []Application, size int) error {
	for chunk := range slices.Chunk(apps, size) {
		models := make([]mongo.WriteModel, len(chunk))
		for i, app := range chunk {
			models[i] = mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": app.ID}).SetReplacement(p.replacement(app))
		}
		res, err := p.store.applications.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		if err == nil && res.MatchedCount != int64(len(chunk)) {
			err = fmt.Errorf("replace applications: %d of %d found", res.MatchedCount, len(chunk))
		}
		if err != nil {
			for _, app := range chunk {
				p.drop(app.ID) // what is stored is unknown now
			}
			return err
		}
		for _, app := range chunk {
			p.remember(app)
			p.untold[app.ID] = app
		}
	}
	return nil
}

// tellChunk is how many applications one call of the AppliedFuncs gets. What a call
// took is kept when a later one fails, so a retry resumes there, within its time.
const tellChunk = 500

// tell hands the stored applications not yet handed on to every AppliedFunc.
func (p *Projector) tell(ctx context.Context, now time.Time) error {
	changed := make([]Application, 0, len(p.untold))
	for _, app := range p.untold {
		changed = append(changed, app)
	}
	slices.SortFunc(changed, func(a, b Application) int { return strings.Compare(a.ID, b.ID) })
	for chunk := range slices.Chunk(changed, tellChunk) {
		for _, f := range p.applied {
			if err := f(ctx, chunk, now); err != nil {
				return err
			}
		}
		for _, app := range chunk {
			delete(p.untold, app.ID)
		}
	}
	return nil
}

// maxCachedApps bounds the application cache (about 1–2 KB each).
const maxCachedApps = 100000

func (p *Projector) remember(app Application) {
	if len(p.apps) >= maxCachedApps {
		for k := range p.apps { // evict an arbitrary tenth
			p.drop(k)
			if len(p.apps) < maxCachedApps*9/10 {
				break
			}
		}
	}
	p.apps[app.ID] = app
}

// drop forgets the cached application id and the encoding of its events.
func (p *Projector) drop(id string) {
	delete(p.apps, id)
	delete(p.codes, id)
}

// applyDetails upserts the candidates' contact details, the jobs' details and the
// contact lookups (email or phone → candidate) that items carry, one update per
// candidate and job, the latest details winning. readFirst: as for apply.
func (p *Projector) applyDetails(ctx context.Context, items []Interaction, readFirst bool) error {
	// Only events carrying details count, in order: sorting just those costs far less
	// than sorting a large Apply's every event (most carry none).
	var carrying []Interaction
	for _, it := range items {
		if it.Candidate != nil || (it.Job != nil && it.JobID != "") {
			carrying = append(carrying, it)
		}
	}
	items = carrying
	SortEvents(items)
	candidates := map[string]map[string]string{}
	jobs := map[string]map[string]string{}
	contacts := map[string]map[string]bool{} // contact key → candidate ids
	var candOrder, jobOrder []string
	for _, it := range items {
		if c := it.Candidate; c != nil {
			set := candidates[it.CandidateID]
			if set == nil {
				set = map[string]string{}
				candidates[it.CandidateID] = set
				candOrder = append(candOrder, it.CandidateID)
			}
			if c.Name != "" {
				set["name"] = c.Name
			}
			for kind, v := range map[string]string{"email": c.Email, "phone": c.Phone} {
				if v == "" {
					continue
				}
				set[kind] = v
				key := kind + ":" + v
				if kind == "email" {
					key = kind + ":" + strings.ToLower(v)
				}
				if contacts[key] == nil {
					contacts[key] = map[string]bool{}
				}
				contacts[key][it.CandidateID] = true
			}
		}
		if j := it.Job; j != nil && it.JobID != "" {
			set := jobs[it.JobID]
			if set == nil {
				set = map[string]string{}
				jobs[it.JobID] = set
				jobOrder = append(jobOrder, it.JobID)
			}
			if j.Title != "" {
				set["title"] = j.Title
			}
			if j.Department != "" {
				set["department"] = j.Department
			}
		}
	}
	var ops []detailOp
	for key, ids := range contacts {
		for id := range ids {
			ops = append(ops, detailOp{coll: p.store.contacts, cacheKey: "contact\x00" + key + "\x00" + id,
				id: key, update: bson.M{"$addToSet": bson.M{"candidate_ids": id}}, doc: bson.M{"_id": key, "candidate_ids": bson.A{id}}})
		}
	}
	for _, id := range candOrder {
		ops = append(ops, setOp(p.store.candidates, "candidate", id, candidates[id]))
	}
	for _, id := range jobOrder {
		if len(jobs[id]) > 0 {
			ops = append(ops, setOp(p.store.jobs, "job", id, jobs[id]))
		}
	}
	return p.writeDetails(ctx, ops, readFirst)
}

// detailOp is one write of details: doc when the document is new, else update.
type detailOp struct {
	coll     *mongo.Collection
	cacheKey string
	fields   map[string]string // what is set; nil for contact lookups
	id       string
	doc      bson.M
	update   bson.M
}

func setOp(coll *mongo.Collection, kind, id string, set map[string]string) detailOp {
	doc := bson.M{"_id": id}
	update := bson.M{}
	for k, v := range set {
		doc[k], update[k] = v, v
	}
	return detailOp{coll: coll, cacheKey: kind + "\x00" + id, fields: set, id: id, doc: doc, update: bson.M{"$set": update}}
}

// redundant reports whether everything op sets was written already.
func (p *Projector) redundant(op detailOp) bool {
	last, seen := p.written[op.cacheKey]
	if !seen {
		return false
	}
	for k, v := range op.fields {
		if w, ok := last[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// writeDetails skips what was written already, inserts documents seen for the first
// time with one InsertMany per collection, and updates the rest. readFirst: as for
// apply.
func (p *Projector) writeDetails(ctx context.Context, ops []detailOp, readFirst bool) error {
	var found map[string]bool
	if readFirst {
		var err error
		if found, err = p.readDetails(ctx, ops); err != nil {
			return err
		}
	}
	firstSeen := map[*mongo.Collection][]detailOp{}
	var updates []detailOp
	for _, op := range ops {
		switch _, seen := p.written[op.cacheKey]; {
		case p.redundant(op):
		case seen || found[op.cacheKey]:
			updates = append(updates, op)
		default:
			firstSeen[op.coll] = append(firstSeen[op.coll], op)
		}
	}
	for coll, list := range firstSeen {
		docs := make([]any, len(list))
		for i, op := range list {
			docs[i] = op.doc
		}
		dups, err := InsertNew(ctx, coll, docs)
		if err != nil {
			return err
		}
		var stored []detailOp
		for i, op := range list {
			if dups[i] {
				stored = append(stored, op)
			} else {
				p.noteWritten(op)
			}
		}
		// Stored already: updated only if they lack something.
		if _, err := p.readDetails(ctx, stored); err != nil {
			return err
		}
		for _, op := range stored {
			if !p.redundant(op) {
				updates = append(updates, op)
			}
		}
	}
	for _, op := range updates {
		if err := upsertByID(ctx, op.coll, op.id, op.update); err != nil {
			return err
		}
		p.noteWritten(op)
	}
	return nil
}

// readDetails reads the stored documents of the ops not in the written cache, one
// _id $in request per collection and readChunk documents, and notes what they hold as
// written: an op that changes nothing is then redundant. It returns the cache keys of
// the ops whose document is stored (to be updated, not inserted).
func (p *Projector) readDetails(ctx context.Context, ops []detailOp) (map[string]bool, error) {
	byColl := map[*mongo.Collection]map[string][]detailOp{} // collection → _id → ops
	for _, op := range ops {
		if _, seen := p.written[op.cacheKey]; seen {
			continue
		}
		if byColl[op.coll] == nil {
			byColl[op.coll] = map[string][]detailOp{}
		}
		byColl[op.coll][op.id] = append(byColl[op.coll][op.id], op)
	}
	found := map[string]bool{}
	for coll, byID := range byColl {
		ids := make([]string, 0, len(byID))
		for id := range byID {
			ids = append(ids, id)
		}
		for chunk := range slices.Chunk(ids, readChunk) {
			cur, err := coll.Find(ctx, bson.M{"_id": bson.M{"$in": chunk}})
			if err != nil {
				return nil, Unavailable("read "+coll.Name(), err)
			}
			var docs []bson.M
			if err := cur.All(ctx, &docs); err != nil {
				return nil, Unavailable("read "+coll.Name(), err)
			}
			for _, doc := range docs {
				id, _ := doc["_id"].(string)
				for _, op := range byID[id] {
					found[op.cacheKey] = true
					p.noteStored(op, doc)
				}
			}
		}
	}
	return found, nil
}

// noteStored notes as written what doc, op's stored document, holds of what op
// writes.
func (p *Projector) noteStored(op detailOp, doc bson.M) {
	if op.fields == nil { // a contact lookup: is op's candidate among its ids?
		ids, _ := doc["candidate_ids"].(bson.A)
		candidate := strings.TrimPrefix(op.cacheKey, "contact\x00"+op.id+"\x00")
		if slices.Contains(ids, any(candidate)) {
			p.noteWritten(op)
		}
		return
	}
	held := make(map[string]string, len(op.fields))
	for k := range op.fields {
		if v, ok := doc[k].(string); ok {
			held[k] = v
		}
	}
	p.noteWritten(detailOp{cacheKey: op.cacheKey, fields: held})
}

// noteWritten records what was written, bounded like the application cache.
func (p *Projector) noteWritten(op detailOp) {
	if len(p.written) >= 2*maxCachedApps {
		clear(p.written)
	}
	last := p.written[op.cacheKey]
	if last == nil {
		last = map[string]string{}
		p.written[op.cacheKey] = last
	}
	for k, v := range op.fields {
		last[k] = v
	}
}

// InsertNew inserts docs with one unordered InsertMany and reports which were there
// already (an existing _id or unique key): those are not errors. Any other failure
// is.
func InsertNew(ctx context.Context, coll *mongo.Collection, docs []any) (map[int]bool, error) {
	dups := map[int]bool{}
	if len(docs) == 0 {
		return dups, nil
	}
	_, err := coll.InsertMany(ctx, docs, unordered())
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we) {
				return nil, err
			}
			dups[we.Index] = true
		}
		return dups, nil
	}
	return dups, err
}

// upsertByID applies update to the document with _id id, creating it first when
// absent. It avoids an upserting update, which the embedded store runs as a scan.
func upsertByID(ctx context.Context, coll *mongo.Collection, id string, update bson.M) error {
	for range 3 {
		err := coll.FindOneAndUpdate(ctx, bson.M{"_id": id}, update).Err()
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return err
		}
		_, err = coll.InsertOne(ctx, bson.M{"_id": id})
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return err
		}
	}
	return errors.New("upsert " + coll.Name() + ": document vanished three times")
}

// projectorMark is the stored high-water mark.
type projectorMark struct {
	Mark time.Time `bson:"mark"`
	// Clean is set when the projector stopped with everything fed applied, and no
	// write of the log left unsure: the next start then has nothing to catch up. It
	// is cleared at start, so that a crash is never taken for a clean stop.
	Clean bool `bson:"clean"`
	// Through is the mark of the last clean stop: everything received before it was
	// applied then, and whatever is received after a start is received later, so a
	// catch-up after a crash never reads back beyond it.
	Through time.Time `bson:"through,omitempty"`
}

// saveClean records a clean stop, unless an Apply was given up or a write is unsure.
func (p *Projector) saveClean() {
	if p.gaveUp || (p.unsure != nil && p.unsure()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	update := bson.M{"$set": bson.M{"clean": true}}
	p.mu.Lock()
	if !p.mark.IsZero() {
		update["$max"] = bson.M{"through": p.mark}
	}
	p.mu.Unlock()
	if err := upsertByID(ctx, p.store.meta, "projector", update); err != nil {
		p.log.Warn("projector: recording a clean stop failed; the next start catches up", "err", err)
	}
}

// saveMark stores the mark, at most once a second unless forced.
func (p *Projector) saveMark(ctx context.Context, force bool) {
	p.mu.Lock()
	mark := p.mark
	due := force || time.Since(p.savedAt) >= time.Second
	p.mu.Unlock()
	if mark.IsZero() || !due {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := upsertByID(ctx, p.store.meta, "projector", bson.M{"$max": bson.M{"mark": mark}})
	if err != nil {
		p.log.Warn("projector: saving the mark failed", "err", err)
		return
	}
	p.mu.Lock()
	p.savedAt = time.Now()
	p.mu.Unlock()
}

// catchUp applies every interaction received since the stored mark (less an overlap).
func (p *Projector) catchUp(ctx context.Context) error {
	m, found, err := p.store.readProjectorMark(ctx)
	if err != nil {
		return err
	}
	if found {
		// From here on, a stop that is not clean must make the next start catch up.
		if err := upsertByID(ctx, p.store.meta, "projector", bson.M{"$set": bson.M{"clean": false}}); err != nil {
			return Unavailable("clear the projector's clean stop", err)
		}
		if m.Clean {
			p.log.Info("projector: the last stop was clean; nothing to catch up")
			return nil
		}
	}
	filter := bson.M{}
	if !m.Mark.IsZero() {
		from := m.Mark.Add(-catchUpOverlap)
		if m.Through.After(from) {
			from = m.Through
		}
		filter["received_at"] = bson.M{"$gte": from}
	}
	start := time.Now()
	cur, err := p.store.interactions.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "received_at", Value: 1}}))
	if err != nil {
		return Unavailable("read the log's tail", err)
	}
	defer cur.Close(ctx)
	var chunk []Interaction
	n := 0
	var first time.Duration // until the first answer: the store's scan and sort
	var applying time.Duration
	apply := func(chunk []Interaction) error {
		at := time.Now()
		defer func() { applying += time.Since(at) }()
		return p.Apply(ctx, chunk)
	}
	for cur.Next(ctx) {
		if first == 0 {
			first = time.Since(start)
		}
		var it Interaction
		if err := cur.Decode(&it); err != nil {
			return err
		}
		chunk = append(chunk, it)
		if len(chunk) == 1000 {
			if err := apply(chunk); err != nil {
				return Unavailable("catch up", err)
			}
			n += len(chunk)
			chunk = nil
		}
	}
	if err := cur.Err(); err != nil {
		return Unavailable("read the log's tail", err)
	}
	if err := apply(chunk); err != nil {
		return Unavailable("catch up", err)
	}
	n += len(chunk)
	if n > 0 {
		p.log.Info("projector caught up with the log", "interactions", n,
			"seconds", time.Since(start).Seconds(), "first_read_seconds", first.Seconds(), "apply_seconds", applying.Seconds())
	}
	p.saveMark(ctx, true)
	return nil
}

// Erase forgets what the projector remembers of the people of target: the details it
// last wrote for their candidates (names, emails, phones) and their contact lookups.
// It is an EraseFunc (see EraserConfig.Others). It runs in the projector's goroutine and
// returns once done, when the projector has stopped, or when ctx ends.
func (p *Projector) Erase(ctx context.Context, target ErasureTarget) error {
	done := make(chan struct{})
	forget := func() {
		p.forgetPeople(target)
		close(done)
	}
	select {
	case p.requests <- forget:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// forgetPeople drops the written-details cache entries of target's candidates, emails
// and phones.
func (p *Projector) forgetPeople(target ErasureTarget) {
	ids := map[string]bool{}
	for _, id := range target.CandidateIDs {
		ids[id] = true
		delete(p.written, "candidate\x00"+id)
	}
	lookups := map[string]bool{}
	for _, m := range target.Emails {
		lookups["email:"+strings.ToLower(m)] = true
	}
	for _, ph := range target.Phones {
		lookups["phone:"+ph] = true
	}
	for k := range p.written {
		rest, ok := strings.CutPrefix(k, "contact\x00")
		if !ok {
			continue
		}
		lookup, id, _ := strings.Cut(rest, "\x00")
		if lookups[lookup] || ids[id] {
			delete(p.written, k)
		}
	}
}

// namePools hands the pool ids that pool_added events among items name to PoolsNamed.
func (p *Projector) namePools(ctx context.Context, items []Interaction) error {
	if p.pools == nil {
		return nil
	}
	var ids []string
	for _, it := range items {
		if it.Kind == KindPoolAdded && !slices.Contains(ids, it.PoolID) {
			ids = append(ids, it.PoolID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return p.pools(ctx, ids)
}
