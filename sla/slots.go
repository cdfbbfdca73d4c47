package sla

import "hash/maphash"

// slotPage is how many application slots a page holds. Pages never move, so the
// table grows without copying it.
const slotPage = 4096

// slots holds the applications with open clocks, in pages, with a free list and an
// index by id.
type slots struct {
	pages [][]appClocks
	free  []uint32
	used  uint32 // slots ever handed out; those past it in the last page are unused

	// The index is an open-addressing hash table with linear probing. A place holds
	// the upper half of the id's hash (its tag) above the slot number + 1, or 0 when
	// empty; a search looks at the slot's id only when the tags match, and the tag
	// gives where its search starts without reading the id. len(places) is a power of
	// two, at most three quarters full.
	seed    maphash.Seed
	places  []uint64
	indexed int
}

func (s *slots) at(i uint32) *appClocks { return &s.pages[i/slotPage][i%slotPage] }

// find returns the slot of the application id.
func (s *slots) find(id string) (uint32, bool) {
	if s.indexed == 0 {
		return 0, false
	}
	tag := s.tag(id)
	mask := uint64(len(s.places) - 1)
	for p := tag & mask; s.places[p] != 0; p = (p + 1) & mask {
		if v := s.places[p]; v>>32 == tag {
			if i := uint32(v) - 1; s.at(i).id == id {
				return i, true
			}
		}
	}
	return 0, false
}

// take returns a free slot for the application id, which must not have one. A slot
// keeps the generation of its last application.
func (s *slots) take(id string) uint32 {
	var i uint32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		if int(s.used/slotPage) == len(s.pages) {
			s.pages = append(s.pages, make([]appClocks, slotPage))
		}
		i = s.used
		s.used++
	}
	s.at(i).id = id
	if (s.indexed+1)*4 > len(s.places)*3 {
		s.grow()
	}
	s.place(s.tag(id)<<32 | uint64(i+1))
	s.indexed++
	return i
}

// release empties slot i for reuse.
func (s *slots) release(i uint32) {
	a := s.at(i)
	s.unindex(a.id)
	*a = appClocks{gen: a.gen}
	s.free = append(s.free, i)
}

// tag is the upper half of id's hash.
func (s *slots) tag(id string) uint64 { return maphash.String(s.seed, id) >> 32 }

// place puts v in the first empty place from where its tag says its search starts.
func (s *slots) place(v uint64) {
	mask := uint64(len(s.places) - 1)
	p := v >> 32 & mask
	for s.places[p] != 0 {
		p = (p + 1) & mask
	}
	s.places[p] = v
}

// grow doubles the index.
func (s *slots) grow() {
	if s.places == nil {
		s.seed = maphash.MakeSeed()
	}
	old := s.places
	s.places = make([]uint64, max(2*len(old), 1024))
	for _, v := range old {
		if v != 0 {
			s.place(v)
		}
	}
}

// unindex removes id, which is indexed, from the index. The places after it move
// back into the gap when their search starts at or before it, so that no search
// stops short at the gap (deletion by backward shift, without tombstones).
func (s *slots) unindex(id string) {
	tag := s.tag(id)
	mask := uint64(len(s.places) - 1)
	p := tag & mask
	for v := s.places[p]; v>>32 != tag || s.at(uint32(v)-1).id != id; v = s.places[p] {
		p = (p + 1) & mask
	}
	for q := (p + 1) & mask; s.places[q] != 0; q = (q + 1) & mask {
		home := s.places[q] >> 32 & mask
		if (q-home)&mask >= (q-p)&mask { // home is not in (p, q]: the entry may fill p
			s.places[p] = s.places[q]
			p = q
		}
	}
	s.places[p] = 0
	s.indexed--
}
