package sla

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The engine keeps every open clock in memory, and there may be millions, so they are
// kept compact (see BENCHMARKS.md for the heap per open clock):
//
//   - applications with open clocks live in pages of slots, found by id through a
//     hash table of slot numbers (slots.go): no allocation per application besides
//     its clocks, and 11 to 22 bytes to find it where a map from id would take 40 to 60;
//   - a clock is 48 bytes without pointers, which the garbage collector does not scan,
//     and the queue refers to clocks by slot and index in 16 bytes without pointers;
//   - strings that many clocks share (policy and recruiter ids) are interned, and kept
//     for the life of the engine: there are few;
//   - what few clocks have (an interview id, a starting interaction whose id is not a
//     UUID, a start that arrived weeks before or after it counted) is kept aside.

// clockMetrics are the metrics clocks can have: Metrics(), then MetricNurture.
var clockMetrics = append(Metrics(), MetricNurture)

// appClocks is the slot of one application's open clocks, as last derived.
type appClocks struct {
	id        string
	clocks    []openClock // exactly as many as are open
	extra     *appExtra   // nil for most applications
	recruiter uint32      // index in Engine.recruiters
	// gen is bumped on every re-derivation, and never reset when the slot is freed:
	// queue entries of an older generation are stale.
	gen uint32
}

// appExtra is what few applications need besides their clocks.
type appExtra struct {
	fired []uint64    // hashes of the transitions recorded already, not to insert again
	rare  []rareClock // the clocks whose rare flag is set
}

// openClock is an open clock as the scheduler keeps it. Times are Unix milliseconds.
type openClock struct {
	startedAt, warnAt, dueAt int64
	startedBy                uuid.UUID // the starting interaction's id, unless rare
	recvDelta                int32     // when that interaction arrived, in ms after startedAt, unless rare
	policy                   uint16    // index in Engine.policies, unless rare
	metric                   uint8     // index in clockMetrics
	// rare is set when the clock has an interview, a starting interaction whose id is
	// not a UUID, an arrival too far from its start or a policy past the index range:
	// its appExtra has a rareClock for it.
	rare bool
}

// rareClock is the part of a rare clock that does not fit in an openClock.
type rareClock struct {
	idx                              int // the clock's index in its application's clocks
	policyID, interviewID, startedBy string
	startRecv                        int64 // Unix milliseconds
}

// interner numbers the distinct strings it is given, for compact references.
type interner struct {
	names []string
	index map[string]uint32
}

func (in *interner) id(s string) uint32 {
	if i, ok := in.index[s]; ok {
		return i
	}
	if in.index == nil {
		in.index = map[string]uint32{}
	}
	i := uint32(len(in.names))
	in.names = append(in.names, s)
	in.index[s] = i
	return i
}

func (in *interner) name(i uint32) string { return in.names[i] }

// compact returns c as the scheduler keeps it, with its rare part if it has one.
func (e *Engine) compact(c Clock) (openClock, *rareClock) {
	oc := openClock{
		metric:    uint8(slices.Index(clockMetrics, c.Metric)),
		startedAt: c.StartedAt.UnixMilli(),
		warnAt:    c.WarnAt.UnixMilli(),
		dueAt:     c.DueAt.UnixMilli(),
	}
	recv := c.StartReceivedAt.UnixMilli()
	delta := recv - oc.startedAt
	policy := e.policies.id(c.PolicyID)
	u, ok := canonicalUUID(c.StartedBy)
	if c.InterviewID == "" && ok && delta >= math.MinInt32 && delta <= math.MaxInt32 && policy < math.MaxUint16 {
		oc.startedBy, oc.recvDelta, oc.policy = u, int32(delta), uint16(policy)
		return oc, nil
	}
	oc.rare = true
	return oc, &rareClock{policyID: c.PolicyID, interviewID: c.InterviewID, startedBy: c.StartedBy, startRecv: recv}
}

// canonicalUUID parses s if it is a UUID in the form UUID.String gives back: 36
// characters, lowercase.
func canonicalUUID(s string) (uuid.UUID, bool) {
	if len(s) != 36 || strings.ContainsAny(s, "ABCDEF") {
		return uuid.UUID{}, false
	}
	u, err := uuid.Parse(s)
	return u, err == nil
}

// clock expands open clock j of application a (without its explanation).
func (e *Engine) clock(a *appClocks, j int) Clock {
	oc := &a.clocks[j]
	var policyID, interviewID, by string
	var recv int64
	if oc.rare {
		r := a.rareClock(j)
		policyID, interviewID, by, recv = r.policyID, r.interviewID, r.startedBy, r.startRecv
	} else {
		policyID, by, recv = e.policies.name(uint32(oc.policy)), oc.startedBy.String(), oc.startedAt+int64(oc.recvDelta)
	}
	m := clockMetrics[oc.metric]
	return Clock{
		ClockID:         storedClockID(a.id, m, policyID, interviewID, by),
		ApplicationID:   a.id,
		PolicyID:        policyID,
		Metric:          m,
		State:           StateRunning,
		InterviewID:     interviewID,
		StartedAt:       time.UnixMilli(oc.startedAt).UTC(),
		WarnAt:          time.UnixMilli(oc.warnAt).UTC(),
		DueAt:           time.UnixMilli(oc.dueAt).UTC(),
		StartedBy:       by,
		StartReceivedAt: time.UnixMilli(recv).UTC(),
	}
}

// rareClock returns the rare part of clock j, which must have one.
func (a *appClocks) rareClock(j int) *rareClock {
	for i := range a.extra.rare {
		if a.extra.rare[i].idx == j {
			return &a.extra.rare[i]
		}
	}
	panic("sla: a rare clock without its rare part")
}

// addFired remembers that the transition with hash h is recorded.
func (a *appClocks) addFired(h uint64) {
	if a.extra == nil {
		a.extra = &appExtra{}
	}
	a.extra.fired = append(a.extra.fired, h)
}

// hashID is a 64-bit FNV-1a hash of a transition id.
func hashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// entry is one scheduled transition: 16 bytes without pointers, since there is one
// per open clock. Whether it is a warning or a breach follows from its time: a clock
// warns only before it is due.
type entry struct {
	key int64  // the time in Unix milliseconds << 16 | the clock's index in its slot
	app uint32 // slot
	gen uint32 // the slot's generation when it was scheduled
}

// latestEntry is the latest time an entry holds, in Unix milliseconds: in the year
// 6429. Transitions later than that are never scheduled, as they never come.
const latestEntry = math.MaxInt64 >> 16

func (en entry) at() int64 { return en.key >> 16 }
func (en entry) idx() int  { return int(en.key & 0xffff) }

// schedule queues transition t of clock idx of slot app, in generation gen.
func (e *Engine) schedule(t Transition, app, gen uint32, idx int) {
	at := t.At.UnixMilli()
	if at > latestEntry {
		return
	}
	e.queue.push(entry{key: at<<16 | int64(idx&0xffff), app: app, gen: gen})
}

// nextAt is the time of the earliest queued transition, in Unix milliseconds.
func (e *Engine) nextAt() int64 {
	if len(e.queue) == 0 {
		return math.MaxInt64
	}
	return e.queue[0].at()
}

// queue is a min-heap of entries by time.
type queue []entry

func (q *queue) push(en entry) {
	*q = append(*q, en)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if h[parent].key <= h[i].key {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
}

// pop removes and returns the earliest entry; the queue must not be empty.
func (q *queue) pop() entry {
	h := *q
	first, n := h[0], len(h)-1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < n && h[l].key < h[least].key {
			least = l
		}
		if r < n && h[r].key < h[least].key {
			least = r
		}
		if least == i {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
	*q = h
	return first
}
