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

// keyCount is one key's sum: 8 bytes, as a memo holds a hundred or so.
type keyCount struct {
	key uint16
	val int32 // a period's count of applications, clocks or samples of one series
}

// sums returns what the counters add up to over the days from to to. It sums into
// scratch, all zeros, and leaves it so; buf is room for the counts, returned for the
// next call.
func (s *series) sums(from, to int32, scratch *[kStage]int64, buf []keyCount) (*sums, []keyCount) {
	m := &sums{from: from, to: to, version: s.version, first: noBuckets, reply: noBuckets}
	for i, j := s.blocksOf(from, to); i < j; i++ {
		n := s.blocks[i].counts(from, to)
		m.counted = m.counted || len(n) > 0
		for _, e := range n {
			if e.key < kStage {
				scratch[e.key] += int64(e.val)
			}
		}
	}
	buf = buf[:0]
	for k, x := range scratch {
		if x == 0 {
			continue
		}
		scratch[k] = 0
		buf = append(buf, keyCount{uint16(k), int32(x)})
		switch {
		case k >= kFirst && k < kFirst+nBuckets:
			m.first = m.first.with(k - kFirst)
		case k >= kReply && k < kReply+nBuckets:
			m.reply = m.reply.with(k - kReply)
		}
	}
	m.counts = slices.Clone(buf)
	return m, buf
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
	for i, j := s.blocksOf(from, to); i < j; i++ {
		b := &s.blocks[i]
		counts, timed := b.counts(from, to), b.timedOf(from, to)
		if len(counts) > 0 || len(timed) > 0 {
			f(b.first(), counts, timed)
		}
	}
}

// eachTimed is each for the timed entries alone.
func (s *series) eachTimed(from, to int32, f func(timed []timedContrib)) {
	for i, j := s.blocksOf(from, to); i < j; i++ {
		if timed := s.blocks[i].timedOf(from, to); len(timed) > 0 {
			f(timed)
		}
	}
}

// blocksOf returns the positions [i, j) of the blocks that hold days from to to.
func (s *series) blocksOf(from, to int32) (int, int) {
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
	j := i
	for j < n && s.blocks[j].index <= hi {
		j++
	}
	return i, j
}

// counts returns the block's counters of the days from to to.
func (b *block) counts(from, to int32) []entry {
	n := b.n
	if from > b.first() {
		n = n[startOf(n, from-b.first()):]
	}
	if last := b.first() + blockDays - 1; to < last {
		n = n[:startOf(n, to+1-b.first())]
	}
	return n
}

// timedOf returns the block's timed entries of the days from to to.
func (b *block) timedOf(from, to int32) []timedContrib {
	timed := b.timed
	if len(timed) > 0 && timed[0].day < from {
		timed = timed[startOfTimed(timed, from):]
	}
	if len(timed) > 0 && timed[len(timed)-1].day > to {
		timed = timed[:startOfTimed(timed, to+1)]
	}
	return timed
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
