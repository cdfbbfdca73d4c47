package scores

import (
	"cmp"
	"slices"
)

// entry is one counter of a cell.
type entry struct {
	key uint32
	val int32
}

// timedEntry is one timed fact of a cell (see the t* keys).
type timedEntry struct {
	at  int64 // Unix milliseconds
	key uint32
}

// cell is what one recruiter's (or job's) applications contributed to one day:
// counters sorted by key, and timed entries sorted by key then time. Both are
// sparse: a key that counts nothing is absent.
type cell struct {
	n     []entry
	timed []timedEntry
}

func (c *cell) empty() bool { return len(c.n) == 0 && len(c.timed) == 0 }

func (c *cell) add(key uint32, delta int32) {
	i, found := slices.BinarySearchFunc(c.n, key, func(e entry, k uint32) int { return cmp.Compare(e.key, k) })
	switch {
	case found:
		c.n[i].val += delta
		if c.n[i].val == 0 {
			c.n = shrink(slices.Delete(c.n, i, i+1))
		}
	case delta != 0:
		c.n = slices.Insert(c.n, i, entry{key: key, val: delta})
	}
}

func compareTimed(a, b timedEntry) int {
	if c := cmp.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.at, b.at)
}

func (c *cell) addTimed(t timedEntry) {
	i, _ := slices.BinarySearchFunc(c.timed, t, compareTimed)
	c.timed = slices.Insert(c.timed, i, t)
}

func (c *cell) removeTimed(t timedEntry) {
	if i, found := slices.BinarySearchFunc(c.timed, t, compareTimed); found {
		c.timed = shrink(slices.Delete(c.timed, i, i+1))
	}
}

// shrink releases an emptied slice's array.
func shrink[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// series is the cells of one recruiter (or one job and recruiter), by day.
type series struct {
	days  []int32 // sorted
	cells []cell  // parallel to days
}

// at returns the cell of day, created if absent, and its index.
func (s *series) at(day int32) (*cell, int) {
	i, found := slices.BinarySearch(s.days, day)
	if !found {
		s.days = slices.Insert(s.days, i, day)
		s.cells = slices.Insert(s.cells, i, cell{})
	}
	return &s.cells[i], i
}

// drop removes the cell at index i if it holds nothing.
func (s *series) drop(i int) {
	if s.cells[i].empty() {
		s.days = slices.Delete(s.days, i, i+1)
		s.cells = slices.Delete(s.cells, i, i+1)
	}
}

func (s *series) add(day int32, key uint32, delta int32) {
	c, i := s.at(day)
	c.add(key, delta)
	s.drop(i)
}

func (s *series) addTimed(day int32, t timedEntry) {
	c, _ := s.at(day)
	c.addTimed(t)
}

func (s *series) removeTimed(day int32, t timedEntry) {
	c, i := s.at(day)
	c.removeTimed(t)
	s.drop(i)
}

// span returns the index range of the cells from day from to day to, both included.
func (s *series) span(from, to int32) (lo, hi int) {
	lo, _ = slices.BinarySearch(s.days, from)
	hi, _ = slices.BinarySearch(s.days, to+1)
	return lo, hi
}

// any reports whether the series has a cell in the period.
func (s *series) any(from, to int32) bool {
	lo, hi := s.span(from, to)
	return lo < hi
}
