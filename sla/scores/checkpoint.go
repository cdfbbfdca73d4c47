package scores

import (
	"errors"
	"math"

	"github.com/goodwillhq/goodwill/sla"
)

// The book is an sla.Checkpointed: a clean stop saves every application's fact and
// the names they refer to, and the next start rebuilds the roll-ups from them
// without deriving any application.

// checkpointFormat numbers the layout below; another is not read.
const checkpointFormat = 1

// SaveCheckpoint writes every application's fact (sla.Checkpointed).
func (b *Book) SaveCheckpoint(w *sla.CheckpointWriter) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	w.Uint(checkpointFormat)
	for _, n := range b.nameTables() {
		w.Uint(uint64(len(n.list)))
		for _, s := range n.list {
			w.String(s)
		}
	}
	w.Uint(uint64(len(b.facts)))
	for id, f := range b.facts {
		w.String(id)
		for _, v := range [4]int32{f.recruiter, f.job, f.source, f.campaign} {
			w.Uint(uint64(v))
		}
		w.Uint(uint64(len(f.counts)))
		day := int32(0)
		for _, c := range f.counts {
			w.Int(int64(c.day - day)) // sorted by day: small deltas
			day = c.day
			w.Uint(uint64(c.key))
			w.Int(int64(c.val))
		}
		w.Uint(uint64(len(f.timed)))
		for _, t := range f.timed {
			w.Int(t.at)
			w.Int(int64(t.day))
			w.Uint(uint64(t.key))
		}
		w.Bool(f.whoReferred)
		w.Bool(f.links != nil)
		if l := f.links; l != nil {
			w.Int(int64(l.cohort))
			w.String(l.employee)
			w.Int(l.hireAt)
			w.String(l.referrer)
			w.Int(l.receivedAt)
		}
	}
}

func (b *Book) nameTables() [5]*names {
	return [5]*names{&b.recruiters, &b.jobs, &b.stages, &b.sources, &b.campaigns}
}

var errBadCheckpoint = errors.New("scores checkpoint: bad value")

// LoadCheckpoint reads what SaveCheckpoint wrote into a new book, and returns the
// function that puts it in place of this one's contents (sla.Checkpointed).
func (b *Book) LoadCheckpoint(r *sla.CheckpointReader) (func(), error) {
	if f := r.Uint(); f != checkpointFormat {
		return nil, errors.New("scores checkpoint: unknown format")
	}
	nb := &Book{}
	bad := false
	for _, n := range nb.nameTables() {
		count := r.Len()
		for range count {
			n.id(r.String())
		}
		if len(n.list) != count {
			bad = true // a name twice
		}
	}
	in := func(v uint64, n *names) int32 {
		if v >= uint64(len(n.list)) {
			bad = true
			return 0
		}
		return int32(v)
	}
	small := func(v int64) int32 {
		if v < math.MinInt32 || v > math.MaxInt32 {
			bad = true
		}
		return int32(v)
	}
	count := r.Len()
	nb.facts = make(map[string]*fact, count)
	for range count {
		id := r.String()
		f := &fact{}
		f.recruiter = in(r.Uint(), &nb.recruiters)
		f.job = in(r.Uint(), &nb.jobs)
		f.source = in(r.Uint(), &nb.sources)
		f.campaign = in(r.Uint(), &nb.campaigns)
		if n := r.Len(); n > 0 {
			f.counts = make([]contrib, n)
			day := int32(0)
			for i := range f.counts {
				day += small(r.Int())
				f.counts[i] = contrib{day: day, key: uint32(r.Uint()), val: small(r.Int())}
				// A key past the stages interned would index past a query's arrays.
				if f.counts[i].key >= uint32(kStage+2*len(nb.stages.list)) {
					bad = true
				}
			}
		}
		if n := r.Len(); n > 0 {
			f.timed = make([]timedContrib, n)
			for i := range f.timed {
				f.timed[i] = timedContrib{at: r.Int(), day: small(r.Int()), key: uint32(r.Uint())}
				if f.timed[i].key > tDetractor {
					bad = true
				}
			}
		}
		f.whoReferred = r.Bool()
		if r.Bool() {
			f.links = &links{cohort: small(r.Int()), employee: r.String(), hireAt: r.Int(), referrer: r.String(), receivedAt: r.Int()}
		}
		if err := r.Err(); err != nil {
			return nil, err
		}
		if bad {
			return nil, errBadCheckpoint
		}
		nb.facts[id] = f
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	for id, f := range nb.facts {
		if f.links != nil {
			nb.link(id, f.links)
		}
		nb.replace(nil, f)
	}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.facts = nb.facts
		b.recruiters, b.jobs, b.stages, b.sources, b.campaigns = nb.recruiters, nb.jobs, nb.stages, nb.sources, nb.campaigns
		b.byRec, b.byJob, b.byJobRec, b.bySrcRec, b.byCampRec = nb.byRec, nb.byJob, nb.byJobRec, nb.bySrcRec, nb.byCampRec
		b.employees = nb.employees
	}, nil
}
