package interactions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	feed    chan []Interaction
	applied []AppliedFunc

	// apps caches application documents as last written. The projector is their only
	// writer, so the cache stays true; it is bounded by maxCachedApps. Only the
	// projector's goroutine touches it.
	apps map[string]Application
	// written remembers what was last written per candidate, job and contact lookup,
	// so that repeating details costs nothing.
	written map[string]string

	mu        sync.Mutex
	mark      time.Time // newest received_at applied
	savedAt   time.Time
	stopping  chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

// NewProjector returns a projector; Start runs it.
func NewProjector(store *Store, guard *Tombstones, log *slog.Logger, now func() time.Time) *Projector {
	return &Projector{
		store:    store,
		guard:    guard,
		log:      log,
		now:      now,
		feed:     make(chan []Interaction, 4096),
		apps:     map[string]Application{},
		written:  map[string]string{},
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// OnApplied adds a consumer of changed applications (the SLA engine). Call before
// Start.
func (p *Projector) OnApplied(f AppliedFunc) { p.applied = append(p.applied, f) }

// Feed hands a committed batch to the projector. It blocks while the projector is
// far behind, which slows writers down rather than losing work.
func (p *Projector) Feed(batch []Interaction) { p.feed <- batch }

// Start catches up with the log's tail and then applies fed batches until Close.
func (p *Projector) Start(ctx context.Context) error {
	if err := p.catchUp(ctx); err != nil {
		return err
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
	for {
		select {
		case batch := <-p.feed:
			p.applyRetrying(p.gather(batch))
		case <-p.stopping:
			for {
				select {
				case batch := <-p.feed:
					p.applyRetrying(p.gather(batch))
				default:
					p.saveMark(context.Background(), true)
					return
				}
			}
		case <-time.After(time.Second):
			p.saveMark(context.Background(), false)
		}
	}
}

// gather adds whatever else is waiting to batch, so that several events of one
// application become one update.
func (p *Projector) gather(batch []Interaction) []Interaction {
	for len(batch) < 500 {
		select {
		case more := <-p.feed:
			batch = append(batch, more...)
		default:
			return batch
		}
	}
	return batch
}

// applyRetrying applies items, retrying while the store is unreachable. It gives up
// only when stopping; the next start's catch-up then applies them.
func (p *Projector) applyRetrying(items []Interaction) {
	backoff := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := p.Apply(ctx, items)
		cancel()
		if err == nil {
			return
		}
		storeErrors.WithLabelValues("project").Inc()
		p.log.Warn("projector: apply failed; retrying", "err", err, "items", len(items))
		select {
		case <-p.stopping:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Apply applies items to derived state. It is idempotent.
func (p *Projector) Apply(ctx context.Context, items []Interaction) error {
	if len(items) == 0 {
		return nil
	}
	// A tombstone written since these were stored must win.
	if err := p.guard.Strip(ctx, items); err != nil {
		return err
	}
	byApp := map[string][]Interaction{}
	var order []string
	for _, it := range items {
		if _, ok := byApp[it.ApplicationID]; !ok {
			order = append(order, it.ApplicationID)
		}
		byApp[it.ApplicationID] = append(byApp[it.ApplicationID], it)
	}
	// Load each application and keep only the events new to it: re-applied ones
	// (catch-up, duplicates) cost one read and nothing else.
	apps := make([]loadedApp, 0, len(order))
	var fresh []Interaction
	for _, id := range order {
		la, err := p.load(ctx, id, byApp[id])
		if err != nil {
			return err
		}
		if len(la.add) > 0 {
			apps = append(apps, la)
			fresh = append(fresh, la.add...)
		}
	}
	// Details before applications, so that a changed application's candidate is known
	// to consumers, and so that a crash in between leaves the events new next time.
	if err := p.applyDetails(ctx, fresh); err != nil {
		return err
	}
	now := p.now().UTC().Truncate(time.Millisecond)
	changed, err := p.saveAll(ctx, apps, now)
	if err != nil {
		return err
	}
	for _, f := range p.applied {
		if err := f(ctx, changed, now); err != nil {
			return err
		}
	}
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

// loadedApp is an application as stored and the events new to it.
type loadedApp struct {
	cur    Application
	exists bool
	add    []Interaction
}

func (p *Projector) load(ctx context.Context, id string, events []Interaction) (loadedApp, error) {
	la := loadedApp{cur: Application{ID: id}}
	if cached, ok := p.apps[id]; ok {
		la.cur, la.exists = cached, true
	} else {
		err := p.store.applications.FindOne(ctx, bson.M{"_id": id}).Decode(&la.cur)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return la, err
		}
		la.exists = err == nil
	}
	have := make(map[string]bool, len(la.cur.Events))
	for _, e := range la.cur.Events {
		have[e.ID] = true
	}
	for _, e := range events {
		if !have[e.ID] {
			have[e.ID] = true
			la.add = append(la.add, e)
		}
	}
	return la, nil
}

// saveAll stores applications with their new events: the new ones with one
// InsertMany, the others one update each.
func (p *Projector) saveAll(ctx context.Context, apps []loadedApp, now time.Time) ([]Application, error) {
	changed := make([]Application, 0, len(apps))
	var fresh []any
	var freshApps []Application
	for _, la := range apps {
		if la.exists {
			app, err := p.save(ctx, la, now)
			if err != nil {
				return nil, err
			}
			changed = append(changed, app)
			continue
		}
		events, _ := MergeEvents(nil, la.add)
		app := DeriveApplication(la.cur.ID, events)
		app.UpdatedAt = now
		fresh = append(fresh, app)
		freshApps = append(freshApps, app)
	}
	dups, err := insertNew(ctx, p.store.applications, fresh)
	if err != nil {
		return nil, err
	}
	for i, app := range freshApps {
		if !dups[i] {
			p.remember(app)
			changed = append(changed, app)
			continue
		}
		// Created meanwhile: merge into the stored document.
		la, err := p.load(ctx, app.ID, app.Events)
		if err != nil {
			return nil, err
		}
		saved, err := p.save(ctx, la, now)
		if err != nil {
			return nil, err
		}
		changed = append(changed, saved)
	}
	return changed, nil
}

// insertNew inserts docs with one unordered InsertMany and reports which of them
// already existed (duplicate _id).
func insertNew(ctx context.Context, coll *mongo.Collection, docs []any) (map[int]bool, error) {
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

// save stores an application with its new events and its state derived anew.
func (p *Projector) save(ctx context.Context, la loadedApp, now time.Time) (Application, error) {
	events, _ := MergeEvents(la.cur.Events, la.add)
	app := DeriveApplication(la.cur.ID, events)
	app.UpdatedAt = now
	if !la.exists {
		_, err := p.store.applications.InsertOne(ctx, app)
		if err == nil {
			p.remember(app)
			return app, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return app, err
		}
		// Created meanwhile: merge into the stored document.
		delete(p.apps, la.cur.ID)
		again, err := p.load(ctx, la.cur.ID, la.add)
		if err != nil {
			return app, err
		}
		return p.save(ctx, again, now)
	}
	set := bson.M{}
	raw, err := bson.Marshal(app)
	if err != nil {
		return app, err
	}
	if err := bson.Unmarshal(raw, &set); err != nil {
		return app, err
	}
	delete(set, "_id")
	unset := bson.M{}
	for _, f := range []struct {
		name  string
		empty bool
	}{
		{"stage", app.Stage == ""}, {"stage_since", app.StageSince == nil},
		{"closed_at", app.ClosedAt == nil}, {"last_contact_at", app.LastContactAt == nil},
		{"applied_at", app.AppliedAt == nil}, {"job_id", app.JobID == ""},
		{"recruiter_id", app.RecruiterID == ""}, {"source", app.Source == ""},
	} {
		if f.empty {
			unset[f.name] = ""
		}
	}
	update := bson.M{"$set": set}
	if len(unset) > 0 {
		update["$unset"] = unset
	}
	if err := p.store.applications.FindOneAndUpdate(ctx, bson.M{"_id": app.ID}, update).Err(); err != nil {
		delete(p.apps, app.ID) // what is stored is unknown now
		return app, err
	}
	p.remember(app)
	return app, nil
}

// maxCachedApps bounds the application cache (about 1–2 KB each).
const maxCachedApps = 100000

func (p *Projector) remember(app Application) {
	if len(p.apps) >= maxCachedApps {
		for k := range p.apps { // evict an arbitrary tenth
			delete(p.apps, k)
			if len(p.apps) < maxCachedApps*9/10 {
				break
			}
		}
	}
	p.apps[app.ID] = app
}

// applyDetails upserts the candidates' contact details, the jobs' details and the
// contact lookups (email or phone → candidate) that items carry, one update per
// candidate and job, the latest details winning.
func (p *Projector) applyDetails(ctx context.Context, items []Interaction) error {
	SortEvents(items)
	candidates := map[string]bson.M{}
	jobs := map[string]bson.M{}
	contacts := map[string]map[string]bool{} // contact key → candidate ids
	var candOrder, jobOrder []string
	for _, it := range items {
		if c := it.Candidate; c != nil {
			set := candidates[it.CandidateID]
			if set == nil {
				set = bson.M{}
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
				set = bson.M{}
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
	return p.writeDetails(ctx, ops)
}

// detailOp is one write of details: doc when the document is new, else update.
type detailOp struct {
	coll        *mongo.Collection
	cacheKey    string
	fingerprint string // of what is written; "" for contact lookups
	id          string
	doc         bson.M
	update      bson.M
}

func setOp(coll *mongo.Collection, kind, id string, set bson.M) detailOp {
	doc := bson.M{"_id": id}
	for k, v := range set {
		doc[k] = v
	}
	return detailOp{coll: coll, cacheKey: kind + "\x00" + id, fingerprint: fmt.Sprint(set), // maps print sorted
		id: id, doc: doc, update: bson.M{"$set": set}}
}

// writeDetails skips what was written already, inserts documents seen for the first
// time with one InsertMany per collection, and updates the rest.
func (p *Projector) writeDetails(ctx context.Context, ops []detailOp) error {
	firstSeen := map[*mongo.Collection][]detailOp{}
	var updates []detailOp
	for _, op := range ops {
		last, seen := p.written[op.cacheKey]
		switch {
		case seen && last == op.fingerprint:
		case seen:
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
		dups, err := insertNew(ctx, coll, docs)
		if err != nil {
			return err
		}
		for i, op := range list {
			if dups[i] {
				updates = append(updates, op)
			} else {
				p.noteWritten(op)
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

// noteWritten records what was written, bounded like the application cache.
func (p *Projector) noteWritten(op detailOp) {
	if len(p.written) >= 2*maxCachedApps {
		clear(p.written)
	}
	p.written[op.cacheKey] = op.fingerprint
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
	var m projectorMark
	err := p.store.meta.FindOne(ctx, bson.M{"_id": "projector"}).Decode(&m)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return Unavailable("read the projector mark", err)
	}
	filter := bson.M{}
	if !m.Mark.IsZero() {
		filter["received_at"] = bson.M{"$gte": m.Mark.Add(-catchUpOverlap)}
	}
	cur, err := p.store.interactions.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "received_at", Value: 1}}))
	if err != nil {
		return Unavailable("read the log's tail", err)
	}
	defer cur.Close(ctx)
	var chunk []Interaction
	n := 0
	for cur.Next(ctx) {
		var it Interaction
		if err := cur.Decode(&it); err != nil {
			return err
		}
		chunk = append(chunk, it)
		if len(chunk) == 1000 {
			if err := p.Apply(ctx, chunk); err != nil {
				return Unavailable("catch up", err)
			}
			n += len(chunk)
			chunk = nil
		}
	}
	if err := cur.Err(); err != nil {
		return Unavailable("read the log's tail", err)
	}
	if err := p.Apply(ctx, chunk); err != nil {
		return Unavailable("catch up", err)
	}
	n += len(chunk)
	if n > 0 {
		p.log.Info("projector caught up with the log", "interactions", n)
	}
	p.saveMark(ctx, true)
	return nil
}
