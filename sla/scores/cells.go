package scores

import (
	"cmp"
	"slices"
	"sync/atomic"
)

// blockDays is how many days one block of a series covers. Blocks keep a recruiter's
// (or a job's) counters for a few weeks in one contiguous array: a query reads them
// in order, and an update moves at most one block's entries.
const blockDays = 32

// series is the roll-up of one recruiter (or one job, or one job and recruiter):
// sparse counters and timed entries by day, in blocks of blockDays days. A (day, key)
// that counts nothing is absent.
type series struct {
	blocks []block // sorted by index
	// version counts the changes of the counters; memo is what they summed to over
	// the last period a query asked with memos (see acc.memo), at a version. Queries
	// hold the book's read lock, so several may store a memo at once, all alike.
	version uint64
	memo    atomic.Pointer[sums]
}

// sums is what a series' counters add up to over the days from to to (both
// included), at one version of the series.
type sums struct {
	from, to int32
	version  uint64
	counted  bool       // some counter of the period is stored, even if they sum to 0
	counts   []keyCount // the keys below kStage that sum to anything but 0
	first    buckets    // the first-response buckets among counts
	reply    buckets    // the reply buckets among counts
}

type keyCount struct {
	key uint16
	val int64
}

// sums returns what the counters add up to over the days from to to.
func (s *series) sums(from, to int32) *sums {
	var v [kStage]int64
	m := &sums{from: from, to: to, version: s.version}
	s.each(from, to, func(_ int32, n []entry, _ []timedContrib) {
		m.counted = m.counted || len(n) > 0
		for _, e := range n {
			if e.key < kStage {
				v[e.key] += int64(e.val)
			}
		}
	})
	n := 0
	for _, x := range v {
		if x != 0 {
			n++
		}
	}
	m.counts = make([]keyCount, 0, n)
	m.first, m.reply = noBuckets, noBuckets
	for k, x := range v {
		if x == 0 {
			continue
		}
		m.counts = append(m.counts, keyCount{uint16(k), x})
		switch {
		case k >= kFirst && k < kFirst+nBuckets:
			m.first = m.first.with(k - kFirst)
		case k >= kReply && k < kReply+nBuckets:
			m.reply = m.reply.with(k - kReply)
		}
	}
	return m
}

// block holds the days [index × blockDays, (index+1) × blockDays).
type block struct {
	index int32
	n     []entry        // sorted by day, key; no zero values
	timed []timedContrib // sorted by day, key, at
}

// entry is one counter of a block: 8 bytes, as there are millions.
type entry struct {
	val int32
	key uint16 // the k* keys fit: see maxStageNames
	off uint8  // the day, from the block's first
}

// pos orders entries by day, then key.
func (e entry) pos() uint32 { return uint32(e.off)<<16 | uint32(e.key) }

func (b *block) first() int32 { return b.index * blockDays }

func blockOf(day int32) int32 {
	if day < 0 {
		return (day+1)/blockDays - 1
	}
	return day / blockDays
}

func byIndex(b block, idx int32) int { return cmp.Compare(b.index, idx) }

// block returns the block of day, created if absent, and its position.
func (s *series) block(day int32) (*block, int) {
	idx := blockOf(day)
	i, found := slices.BinarySearchFunc(s.blocks, idx, byIndex)
	if !found {
		s.blocks = slices.Insert(s.blocks, i, block{index: idx})
	}
	return &s.blocks[i], i
}

// drop removes the block at position i if it holds nothing.
func (s *series) drop(i int) {
	if b := &s.blocks[i]; len(b.n) == 0 && len(b.timed) == 0 {
		s.blocks = shrink(slices.Delete(s.blocks, i, i+1))
	}
}

// add adds each c.val to the counter (c.day, c.key); cs is sorted by day.
func (s *series) add(cs ...contrib) {
	s.version++
	var b *block
	bi := -1
	for _, c := range cs {
		if c.val == 0 {
			continue
		}
		if b == nil || blockOf(c.day) != b.index {
			if b != nil {
				s.drop(bi)
			}
			b, bi = s.block(c.day)
		}
		e := entry{val: c.val, key: uint16(c.key), off: uint8(c.day - b.first())}
		i, found := searchEntry(b.n, e)
		switch {
		case !found:
			b.n = slices.Insert(b.n, i, e)
		case b.n[i].val+c.val == 0:
			b.n = shrink(slices.Delete(b.n, i, i+1))
		default:
			b.n[i].val += c.val
		}
	}
	if b != nil {
		s.drop(bi)
	}
}

// searchEntry finds the position of e's day and key in n.
func searchEntry(n []entry, e entry) (int, bool) {
	want := e.pos()
	i, j := 0, len(n)
	for i < j {
		m := int(uint(i+j) >> 1)
		if n[m].pos() < want {
			i = m + 1
		} else {
			j = m
		}
	}
	return i, i < len(n) && n[i].pos() == want
}

func (s *series) addTimed(t timedContrib) {
	b, _ := s.block(t.day)
	i, _ := slices.BinarySearchFunc(b.timed, t, compareTimedContrib)
	b.timed = slices.Insert(b.timed, i, t)
}

func (s *series) removeTimed(t timedContrib) {
	b, bi := s.block(t.day)
	if i, found := slices.BinarySearchFunc(b.timed, t, compareTimedContrib); found {
		b.timed = shrink(slices.Delete(b.timed, i, i+1))
	}
	s.drop(bi)
}

// each calls f with the counters and timed entries of the days from to to (both
// included), a block's worth at a time, in day order; first is the day of the
// counters' offset 0.
func (s *series) each(from, to int32, f func(first int32, n []entry, timed []timedContrib)) {
	lo, hi := blockOf(from), blockOf(to)
	i, n := 0, len(s.blocks)
	for j := n; i < j; { // the first block at or after lo
		m := int(uint(i+j) >> 1)
		if s.blocks[m].index < lo {
			i = m + 1
		} else {
			j = m
		}
	}
	for ; i < n && s.blocks[i].index <= hi; i++ {
		b := &s.blocks[i]
		counts, timed := b.n, b.timed
		if b.index == lo {
			counts, timed = counts[startOf(counts, from-b.first()):], timed[startOfTimed(timed, from):]
		}
		if b.index == hi {
			counts, timed = counts[:startOf(counts, to+1-b.first())], timed[:startOfTimed(timed, to+1)]
		}
		if len(counts) > 0 || len(timed) > 0 {
			f(b.first(), counts, timed)
		}
	}
}

// eachTimed is each for the timed entries alone.
func (s *series) eachTimed(from, to int32, f func(timed []timedContrib)) {
	lo, hi := blockOf(from), blockOf(to)
	i, n := 0, len(s.blocks)
	for j := n; i < j; {
		m := int(uint(i+j) >> 1)
		if s.blocks[m].index < lo {
			i = m + 1
		} else {
			j = m
		}
	}
	for ; i < n && s.blocks[i].index <= hi; i++ {
		timed := s.blocks[i].timed
		if len(timed) == 0 {
			continue
		}
		if timed[0].day < from {
			timed = timed[startOfTimed(timed, from):]
		}
		if len(timed) > 0 && timed[len(timed)-1].day > to {
			timed = timed[:startOfTimed(timed, to+1)]
		}
		if len(timed) > 0 {
			f(timed)
		}
	}
}

// startOf is the position of the first counter at offset off or later.
func startOf(n []entry, off int32) int {
	i, j := 0, len(n)
	for i < j {
		m := int(uint(i+j) >> 1)
		if int32(n[m].off) < off {
			i = m + 1
		} else {
			j = m
		}
	}
	return i
}

func startOfTimed(ts []timedContrib, day int32) int {
	i, j := 0, len(ts)
	for i < j {
		m := int(uint(i+j) >> 1)
		if ts[m].day < day {
			i = m + 1
		} else {
			j = m
		}
	}
	return i
}

// shrink releases an emptied slice's array.
func shrink[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}
