package scores

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

// Book holds the roll-ups in memory. It is rebuilt at start from every application
// (the SLA engine derives them all anyway) and kept current by Apply. Safe for
// concurrent use.
//
// Per application it keeps a fact: the counters and timed entries the application
// adds to its recruiter's series, its job's, and its job's for that recruiter (so
// that a query restricted to some recruiters reads their part of a job). Apply replaces
// the old fact by the new one, so it is idempotent and moves counts between days
// when late events change history.
type Book struct {
	zone func() *time.Location

	mu    sync.RWMutex
	facts map[string]*fact // by application id

	recruiters names
	jobs       names
	stages     names
	sources    names // attribution sources
	campaigns  names
	byRec      []*series   // by recruiter index
	byJob      []*series   // by job index
	byJobRec   []jobSeries // by job and recruiter index, sorted: for queries restricted to some recruiters
	bySrcRec   []jobSeries // by attribution source and recruiter index, sorted
	byCampRec  []jobSeries // by campaign and recruiter index, sorted

	// employees ties hires to the applications their employee id later referred.
	employees map[string]*employee
}

// employee is what the book knows of one employee id: the applications hired under
// it and the applications it referred, with the moment of each.
type employee struct {
	hires     map[string]int64 // application id → Unix ms of the hire
	referrals map[string]int64 // application id → Unix ms of the application
}

// jobRecruiter keys a job's roll-up for one recruiter.
type jobRecruiter struct{ job, recruiter int32 }

type jobSeries struct {
	jobRecruiter
	s *series
}

func compareJobSeries(a jobSeries, b jobRecruiter) int {
	if c := cmp.Compare(a.job, b.job); c != 0 {
		return c
	}
	return cmp.Compare(a.recruiter, b.recruiter)
}

// fact is what one application contributes, its strings interned.
type fact struct {
	recruiter, job   int32
	source, campaign int32
	counts           []contrib      // sorted by day, key; no zero values
	timed            []timedContrib // sorted by day, key, at
	links            *links         // referral loop, or nil
	whoReferred      bool           // counts carry kWhoReferred
}

// names interns strings as small integers.
type names struct {
	index  map[string]int32
	list   []string
	sorted []int32 // the integers in the order of their strings
}

func (n *names) id(s string) int32 {
	if i, ok := n.index[s]; ok {
		return i
	}
	if n.index == nil {
		n.index = map[string]int32{}
	}
	i := int32(len(n.list))
	n.index[s] = i
	n.list = append(n.list, s)
	at, _ := slices.BinarySearchFunc(n.sorted, s, func(j int32, s string) int { return cmp.Compare(n.list[j], s) })
	n.sorted = slices.Insert(n.sorted, at, i)
	return i
}

func (n *names) lookup(s string) (int32, bool) {
	i, ok := n.index[s]
	return i, ok
}

// NewBook returns an empty book whose days are calendar days in zone() — the
// organisation calendar's time zone, read on each Apply so a changed calendar counts
// new days in its zone.
func NewBook(zone func() *time.Location) *Book { return &Book{zone: zone} }

func (b *Book) location() *time.Location {
	if b.zone != nil {
		if loc := b.zone(); loc != nil {
			return loc
		}
	}
	return time.UTC
}

// Apply replaces what the book knows of one application with what its events and
// clocks (derived at now) say. Applying the same state twice changes nothing; a late
// event moves the counts it changes to the right days.
func (b *Book) Apply(app interactions.Application, clocks []sla.Clock, now time.Time) {
	raw := factOf(app, clocks, now, b.location())
	b.mu.Lock()
	defer b.mu.Unlock()
	next := b.intern(raw)
	old := b.facts[app.ID]
	if old == nil && next == nil {
		return
	}
	if old != nil {
		b.unlink(app.ID, old.links)
	}
	if next != nil && next.links != nil {
		b.link(app.ID, next.links)
		if b.referredAfter(next.links) {
			next = next.toggleWhoReferred()
		}
	}
	b.replace(old, next)
	b.store(app.ID, next)
	// A referral that came or went may change whether earlier hires count as hires
	// who referred.
	if old != nil && old.links != nil && old.links.referrer != "" {
		b.recheck(old.links.referrer)
	}
	if next != nil && next.links != nil && next.links.referrer != "" && (old == nil || old.links == nil || old.links.referrer != next.links.referrer || old.links.receivedAt != next.links.receivedAt) {
		b.recheck(next.links.referrer)
	}
}

func (b *Book) store(id string, f *fact) {
	switch {
	case f == nil:
		delete(b.facts, id)
	case b.facts == nil:
		b.facts = map[string]*fact{id: f}
	default:
		b.facts[id] = f
	}
}

func (b *Book) employee(id string) *employee {
	e := b.employees[id]
	if e == nil {
		e = &employee{}
		if b.employees == nil {
			b.employees = map[string]*employee{}
		}
		b.employees[id] = e
	}
	return e
}

// link records an application's places in the referral loop.
func (b *Book) link(app string, l *links) {
	if l.employee != "" {
		e := b.employee(l.employee)
		if e.hires == nil {
			e.hires = map[string]int64{}
		}
		e.hires[app] = l.hireAt
	}
	if l.referrer != "" {
		e := b.employee(l.referrer)
		if e.referrals == nil {
			e.referrals = map[string]int64{}
		}
		e.referrals[app] = l.receivedAt
	}
}

// unlink forgets what link recorded.
func (b *Book) unlink(app string, l *links) {
	if l == nil {
		return
	}
	for _, id := range [2]string{l.employee, l.referrer} {
		if e := b.employees[id]; e != nil {
			delete(e.hires, app)
			delete(e.referrals, app)
			if len(e.hires) == 0 && len(e.referrals) == 0 {
				delete(b.employees, id)
			}
		}
	}
}

// referredAfter reports whether a hire's employee id referred an application received
// after the hire.
func (b *Book) referredAfter(l *links) bool {
	if l.employee == "" {
		return false
	}
	e := b.employees[l.employee]
	if e == nil {
		return false
	}
	for _, at := range e.referrals {
		if at > l.hireAt {
			return true
		}
	}
	return false
}

// recheck brings the kWhoReferred counter of every hire of an employee id up to date.
func (b *Book) recheck(employeeID string) {
	e := b.employees[employeeID]
	if e == nil {
		return
	}
	for app := range e.hires {
		f := b.facts[app]
		if f == nil || f.links == nil || b.referredAfter(f.links) == f.whoReferred {
			continue
		}
		next := f.toggleWhoReferred()
		b.replace(f, next)
		b.facts[app] = next
	}
}

// toggleWhoReferred returns a copy of the fact that counts (or no longer counts) its
// hire among the hires who referred.
func (f *fact) toggleWhoReferred() *fact {
	n := *f
	n.whoReferred = !f.whoReferred
	c := contrib{day: f.links.cohort, key: kWhoReferred, val: 1}
	i, found := slices.BinarySearchFunc(f.counts, c, compareContrib)
	switch {
	case n.whoReferred && !found:
		n.counts = slices.Insert(slices.Clone(f.counts), i, c)
	case !n.whoReferred && found:
		n.counts = slices.Delete(slices.Clone(f.counts), i, i+1)
	}
	return &n
}

// intern turns a raw fact into a fact: names interned, counters summed per day and
// key, everything sorted. It returns nil for a fact that contributes nothing.
func (b *Book) intern(raw rawFact) *fact {
	counts := raw.counts
	for _, st := range raw.stages {
		s := b.stageID(st.stage)
		counts = append(counts,
			contrib{day: st.day, key: uint32(kStage + 2*s), val: 1},
			contrib{day: st.day, key: uint32(kStage + 2*s + 1), val: st.minutes})
	}
	if len(counts) == 0 && len(raw.timed) == 0 && raw.links == nil {
		return nil
	}
	slices.SortFunc(counts, compareContrib)
	merged := make([]contrib, 0, len(counts))
	for _, c := range counts {
		if n := len(merged); n > 0 && merged[n-1].day == c.day && merged[n-1].key == c.key {
			merged[n-1].val += c.val
			continue
		}
		merged = append(merged, c)
	}
	merged = slices.DeleteFunc(merged, func(c contrib) bool { return c.val == 0 })
	timed := slices.Clone(raw.timed)
	slices.SortFunc(timed, compareTimedContrib)
	return &fact{
		recruiter: b.recruiters.id(raw.recruiter),
		job:       b.jobs.id(raw.job),
		source:    b.sources.id(raw.source),
		campaign:  b.campaigns.id(raw.campaign),
		counts:    slices.Clip(merged),
		timed:     timed,
		links:     raw.links,
	}
}

// maxStageNames bounds the stage names the book tells apart, so that every key fits
// an entry's 16 bits (the constant below does not compile otherwise); names beyond
// it count as otherStages.
const maxStageNames = 10_000

const _ = uint16(kStage + 2*maxStageNames)

const otherStages = "(other stages)"

func (b *Book) stageID(name string) int {
	if i, ok := b.stages.lookup(name); ok {
		return int(i)
	}
	if len(b.stages.list) >= maxStageNames-1 {
		name = otherStages
	}
	return int(b.stages.id(name))
}

func compareContrib(a, b contrib) int {
	if c := cmp.Compare(a.day, b.day); c != 0 {
		return c
	}
	return cmp.Compare(a.key, b.key)
}

func compareTimedContrib(a, b timedContrib) int {
	if c := compareContrib(contrib{day: a.day, key: a.key}, contrib{day: b.day, key: b.key}); c != 0 {
		return c
	}
	return cmp.Compare(a.at, b.at)
}

// replace takes the old fact's contributions out of the series and puts the new
// one's in. Either may be nil.
func (b *Book) replace(old, next *fact) {
	if old != nil && next != nil && old.recruiter == next.recruiter && old.job == next.job &&
		old.source == next.source && old.campaign == next.campaign {
		targets := b.targets(next)
		changes := diffCounts(old.counts, next.counts)
		for _, s := range targets {
			s.add(changes...)
		}
		diffTimed(old.timed, next.timed, func(t timedContrib, added bool) {
			for _, s := range targets {
				if added {
					s.addTimed(t)
				} else {
					s.removeTimed(t)
				}
			}
		})
		return
	}
	if old != nil {
		negated := make([]contrib, len(old.counts))
		for i, c := range old.counts {
			c.val = -c.val
			negated[i] = c
		}
		for _, s := range b.targets(old) {
			s.add(negated...)
			for _, t := range old.timed {
				s.removeTimed(t)
			}
		}
	}
	if next != nil {
		for _, s := range b.targets(next) {
			s.add(next.counts...)
			for _, t := range next.timed {
				s.addTimed(t)
			}
		}
	}
}

// targets returns the series a fact contributes to, created if absent: its
// recruiter's, its job's, its job's for that recruiter, and its attribution source's
// and campaign's for that recruiter.
func (b *Book) targets(f *fact) [5]*series {
	grow := func(list []*series, i int32) ([]*series, *series) {
		for int(i) >= len(list) {
			list = append(list, nil)
		}
		if list[i] == nil {
			list[i] = &series{}
		}
		return list, list[i]
	}
	var r, j *series
	b.byRec, r = grow(b.byRec, f.recruiter)
	b.byJob, j = grow(b.byJob, f.job)
	pair := func(list *[]jobSeries, k jobRecruiter) *series {
		i, found := slices.BinarySearchFunc(*list, k, compareJobSeries)
		if !found {
			*list = slices.Insert(*list, i, jobSeries{k, &series{}})
		}
		return (*list)[i].s
	}
	return [5]*series{r, j,
		pair(&b.byJobRec, jobRecruiter{job: f.job, recruiter: f.recruiter}),
		pair(&b.bySrcRec, jobRecruiter{job: f.source, recruiter: f.recruiter}),
		pair(&b.byCampRec, jobRecruiter{job: f.campaign, recruiter: f.recruiter}),
	}
}

// diffCounts returns, sorted, every (day, key) whose value differs between the two
// sorted lists, with the difference.
func diffCounts(old, next []contrib) []contrib {
	var out []contrib
	mergeSorted(old, next, compareContrib, func(o, n *contrib) {
		switch {
		case n == nil:
			out = append(out, contrib{day: o.day, key: o.key, val: -o.val})
		case o == nil:
			out = append(out, *n)
		case n.val != o.val:
			out = append(out, contrib{day: o.day, key: o.key, val: n.val - o.val})
		}
	})
	return out
}

// diffTimed calls change with every entry only in old (added false) or only in next
// (added true), both sorted.
func diffTimed(old, next []timedContrib, change func(t timedContrib, added bool)) {
	mergeSorted(old, next, compareTimedContrib, func(o, n *timedContrib) {
		switch {
		case n == nil:
			change(*o, false)
		case o == nil:
			change(*n, true)
		}
	})
}

// mergeSorted walks two lists sorted by cmp together and calls each once per entry,
// with the entry of the other list that compares equal to it, or nil when there is
// none.
func mergeSorted[T any](old, next []T, cmp func(a, b T) int, each func(o, n *T)) {
	i, j := 0, 0
	for i < len(old) || j < len(next) {
		var c int
		switch {
		case i == len(old):
			c = 1
		case j == len(next):
			c = -1
		default:
			c = cmp(old[i], next[j])
		}
		switch {
		case c < 0:
			each(&old[i], nil)
			i++
		case c > 0:
			each(nil, &next[j])
			j++
		default:
			each(&old[i], &next[j])
			i++
			j++
		}
	}
}
