package interactions

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// When several replicas share one MongoDB, each application's derived state has one
// writer: the replica that owns its partition (see Partition). A shared projector
//
//   - applies the events of the applications it owns, whichever replica stored them:
//     its own writer's batches at once, the others' by following the numbered log
//     (Tail) every followEvery;
//   - on acquiring partitions, applies what their previous owner had not (from the
//     mark it left), and on losing them forgets its cached copies;
//   - hands the other replicas' applications to its consumers as their owners store
//     them (mirrorWait), so that every replica's engine and roll-ups see every
//     application and any replica can answer a query.
//
// A candidate's nurture document is partitioned by its id, like an application: its
// owner applies the candidate-level events and also picks, from its writer and the
// log, the contacts and application_received events of the candidate's applications
// whichever replica owns those (nurture.go). Every document thus has one writer, the
// log carries the events to it, and after a crash the next owner catches the nurture
// document up from the partition's mark like any other.
const (
	followEvery = 250 * time.Millisecond
	// mirrorPatience is how long a replica waits for an owner to store an event before
	// it hands on the application as stored.
	mirrorPatience = 30 * time.Second
)

type sharing struct {
	owns func(applicationID string) bool
	// scope, while set, restricts what Apply writes to the documents of these
	// partitions (catchUpPartitions).
	scope  map[int]bool
	tail   *Tail
	mark   atomic.Int64
	mirror map[string]*mirrorWait // application id → events its owner has not stored yet

	// floors are the marks of acquired partitions not caught up yet: until they are,
	// Mark must not claim more, or a lease renewed meanwhile would carry a mark past
	// events nobody applied.
	mu     sync.Mutex
	floors []int64
}

type mirrorWait struct {
	events []string
	since  time.Time
	// optional: no awaited event is the document's own (only contacts that reach a
	// nurture document if the candidate is pooled): a document not stored is not waited
	// for.
	optional bool
}

// writes reports whether this replica writes the document id now.
func (sh *sharing) writes(docID string) bool {
	return sh.owns(docID) && (sh.scope == nil || sh.scope[Partition(docID)])
}

// picks reports whether this replica applies it: it writes its document, or the
// candidate's nurture document it may belong to.
func (sh *sharing) picks(it Interaction) bool {
	return sh.writes(it.DocID()) || (it.NurtureRelevant() && sh.writes(NurtureID(it.CandidateID)))
}

// share makes the projector one of several replicas over the store (see
// ProjectorConfig.Owns).
func (p *Projector) share(owns func(applicationID string) bool, from int64) {
	p.shared = &sharing{owns: owns, tail: NewTail(from), mirror: map[string]*mirrorWait{}}
	p.shared.mark.Store(from)
}

// Mark is the log's batch number up to which a shared projector has applied every
// event of the partitions it owns. The partition leases carry it to the next owner.
func (p *Projector) Mark() int64 {
	sh := p.shared
	if sh == nil {
		return 0
	}
	m := sh.mark.Load()
	sh.mu.Lock()
	for _, f := range sh.floors {
		m = min(m, f)
	}
	sh.mu.Unlock()
	return m
}

// mine returns those of items this replica projects.
func (p *Projector) mine(items []Interaction) []Interaction {
	var out []Interaction
	for _, it := range items {
		if p.shared.picks(it) {
			out = append(out, it)
		}
	}
	return out
}

// Acquired applies, in the projector's goroutine, the events of partitions this
// replica just acquired that were written after mark (their previous owner's Mark;
// 0 reads their whole log), then calls then (the SLA engine and the alerts pipeline
// take over the partitions). It returns at once.
func (p *Projector) Acquired(partitions []int, mark int64, then func(ctx context.Context)) {
	sh := p.shared
	sh.mu.Lock()
	sh.floors = append(sh.floors, mark)
	sh.mu.Unlock()
	p.requests <- func() {
		in := partitionSet(partitions)
		p.forget(in)
		backoff := 100 * time.Millisecond
		for {
			err := p.catchUpPartitions(in, mark)
			if err == nil {
				sh.mu.Lock()
				if i := slices.Index(sh.floors, mark); i >= 0 {
					sh.floors = slices.Delete(sh.floors, i, i+1)
				}
				sh.mu.Unlock()
				break
			}
			storeErrors.WithLabelValues("project").Inc()
			p.log.Warn("projector: catching up acquired partitions failed; retrying", "partitions", len(partitions), "err", err)
			select {
			case <-p.stopping:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		if then != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			then(ctx)
		}
	}
}

// Lost forgets, in the projector's goroutine, the cached applications of partitions
// another replica owns now. It returns at once.
func (p *Projector) Lost(partitions []int) {
	in := partitionSet(partitions)
	p.requests <- func() { p.forget(in) }
}

// Settled returns once everything Acquired and Lost asked before it is done.
func (p *Projector) Settled(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case p.requests <- func() { close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func partitionSet(partitions []int) map[int]bool {
	in := make(map[int]bool, len(partitions))
	for _, part := range partitions {
		in[part] = true
	}
	return in
}

// forget drops the cached applications of partitions, and whether their candidates
// have a nurture document: another replica may write them.
func (p *Projector) forget(in map[int]bool) {
	for id := range p.apps {
		if in[Partition(id)] {
			p.drop(id)
		}
	}
	for c := range p.pooled {
		if in[Partition(NurtureID(c))] {
			delete(p.pooled, c)
		}
	}
}

// catchUpPartitions applies the logged events of the partitions in `in` written after
// batch mark: those of their documents, and those that belong in their nurture
// documents too. It writes the documents of these partitions only.
func (p *Projector) catchUpPartitions(in map[int]bool, mark int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p.shared.scope = in
	defer func() { p.shared.scope = nil }()
	filter := bson.M{}
	if mark > 0 {
		filter = bson.M{"seq": bson.M{"$gt": mark}}
	}
	cur, err := p.store.interactions.Find(ctx, filter)
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	var chunk []Interaction
	for cur.Next(ctx) {
		var it Interaction
		if err := cur.Decode(&it); err != nil {
			return err
		}
		if !p.shared.picks(it) {
			continue
		}
		chunk = append(chunk, it)
		if len(chunk) == 1000 {
			if err := p.Apply(ctx, chunk); err != nil {
				return err
			}
			chunk = nil
		}
	}
	if err := cur.Err(); err != nil {
		return err
	}
	return p.Apply(ctx, chunk)
}

// follow reads what the log gained, applies the events this replica owns and waits for
// the owners of the others to store theirs.
func (p *Projector) follow() {
	sh := p.shared
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The batch counter, read by _id, tells whether the log gained anything since the
	// mark: an idle replica reads one small document per poll.
	if n, err := p.store.LogSeq(ctx); err == nil && n <= sh.tail.Mark() {
		if err := p.mirrorStored(ctx, time.Now()); err != nil {
			p.log.Warn("projector: reading other replicas' applications failed; retrying", "err", err)
		}
		return
	}
	cur, err := p.store.interactions.Find(ctx, sh.tail.Filter(), options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		p.log.Warn("projector: following the log failed", "err", err)
		return
	}
	var read []Interaction
	err = cur.All(ctx, &read)
	if err != nil {
		p.log.Warn("projector: following the log failed", "err", err)
		return
	}
	fresh := sh.tail.Fresh(read)
	now := time.Now()
	var mine []Interaction
	for _, it := range fresh {
		sh.awaitOthers(it, now)
		if sh.picks(it) {
			mine = append(mine, it)
		}
	}
	if err := p.Apply(ctx, mine); err != nil {
		storeErrors.WithLabelValues("project").Inc()
		p.log.Warn("projector: applying followed events failed; retrying", "err", err)
		return // nothing is marked handled: the next poll reads them again
	}
	sh.tail.Handled(fresh, now)
	sh.tail.Advance(now)
	sh.mark.Store(sh.tail.Mark())
	if err := p.mirrorStored(ctx, now); err != nil {
		p.log.Warn("projector: reading other replicas' applications failed; retrying", "err", err)
	}
}

// fed tells a shared projector's tail that its own writer's items were handled, so
// that following the log does not apply them again; those of other replicas'
// applications wait for their owners.
func (p *Projector) fed(items []Interaction) {
	sh := p.shared
	if sh == nil {
		return
	}
	now := time.Now()
	for _, it := range sh.tail.Fresh(items) {
		sh.awaitOthers(it, now)
	}
	sh.tail.Handled(items, now)
}

// awaitOthers makes the mirror wait for the documents it belongs in that other
// replicas write: its application's, and its candidate's nurture document if they
// have one.
func (sh *sharing) awaitOthers(it Interaction, now time.Time) {
	if !sh.owns(it.DocID()) {
		sh.await(it.DocID(), it, now, false)
	}
	if it.NurtureRelevant() && !sh.owns(NurtureID(it.CandidateID)) {
		sh.await(NurtureID(it.CandidateID), it, now, true)
	}
}

// await makes the mirror wait for the owner of document docID to store it; optional
// when the document may never hold it (see mirrorWait).
func (sh *sharing) await(docID string, it Interaction, now time.Time, optional bool) {
	w := sh.mirror[docID]
	if w == nil {
		w = &mirrorWait{since: now, optional: optional}
		sh.mirror[docID] = w
	}
	w.optional = w.optional && optional
	w.events = append(w.events, it.ID)
}

// mirrorChunk is how many applications one mirror read asks for.
const mirrorChunk = 500

// mirrorStored reads the applications other replicas own that gained events, and
// hands on those whose owner stored every one of them (or that waited longer than
// mirrorPatience) to the consumers.
func (p *Projector) mirrorStored(ctx context.Context, now time.Time) error {
	sh := p.shared
	if len(sh.mirror) == 0 {
		return nil
	}
	ids := make([]string, 0, len(sh.mirror))
	for id := range sh.mirror {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for chunk := range slices.Chunk(ids, mirrorChunk) {
		cur, err := p.store.applications.Find(ctx, bson.M{"_id": bson.M{"$in": chunk}})
		if err != nil {
			return err
		}
		var apps []Application
		if err := cur.All(ctx, &apps); err != nil {
			return err
		}
		found := make(map[string]bool, len(apps))
		var ready []Application
		for _, app := range apps {
			found[app.ID] = true
			w := sh.mirror[app.ID]
			if w == nil || (!hasEvents(app, w.events) && now.Sub(w.since) < mirrorPatience) {
				continue
			}
			delete(sh.mirror, app.ID)
			ready = append(ready, app)
		}
		for _, id := range chunk {
			w := sh.mirror[id]
			if !found[id] && (w.optional || now.Sub(w.since) >= mirrorPatience) {
				// Never stored: an erasure, an owner that lost it, or a candidate who
				// is not pooled.
				delete(sh.mirror, id)
			}
		}
		for _, f := range p.applied {
			if err := f(ctx, ready, p.now().UTC().Truncate(time.Millisecond)); err != nil {
				for _, app := range ready { // hand them on again at the next poll
					sh.mirror[app.ID] = &mirrorWait{since: now.Add(-mirrorPatience)}
				}
				return err
			}
		}
	}
	return nil
}

// hasEvents reports whether app holds every event id of ids.
func hasEvents(app Application, ids []string) bool {
	have := make(map[string]bool, len(app.Events))
	for _, e := range app.Events {
		have[e.ID] = true
	}
	for _, id := range ids {
		if !have[id] {
			return false
		}
	}
	return true
}

// LogSeq returns the number of the latest write batch when several replicas share
// the store (0 when none was numbered yet).
func (s *Store) LogSeq(ctx context.Context) (int64, error) {
	var c struct {
		N int64 `bson:"n"`
	}
	err := s.meta.FindOne(ctx, bson.M{"_id": "log_seq"}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, Unavailable("read the log's batch number", err)
	}
	return c.N, nil
}
