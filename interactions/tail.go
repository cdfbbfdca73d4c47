package interactions

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// When several replicas share the store, each write batch is numbered from a counter
// (Store.number) and a replica follows what the others wrote by reading the log above
// a mark. Numbers are taken before the batch is written, so batch 12 may become
// visible before batch 11, and the documents of one batch one after the other. The
// mark therefore moves over a batch only once it has been visible for tailSettle, and
// over a number never seen (a writer that died between taking it and writing) after
// tailGapTimeout. Until then the documents above the mark are read again at every
// poll and recognised by their key.
const (
	tailSettle     = 2 * time.Second
	tailGapTimeout = 10 * time.Second
)

// Tail follows the numbered log. It is not safe for concurrent use.
type Tail struct {
	low     int64               // every batch up to low is behind us
	seen    map[int64]time.Time // batches above low: when first seen
	missing map[int64]time.Time // numbers above low not seen yet: when first missed
	keys    map[string]int64    // documents above low already handled: key → batch
}

// NewTail returns a tail that starts after batch low.
func NewTail(low int64) *Tail {
	return &Tail{low: low, seen: map[int64]time.Time{}, missing: map[int64]time.Time{}, keys: map[string]int64{}}
}

// Mark is the number up to which every batch is behind the tail.
func (t *Tail) Mark() int64 { return t.low }

// Filter selects the documents the next poll reads.
func (t *Tail) Filter() bson.M { return bson.M{"seq": bson.M{"$gt": t.low}} }

// Fresh returns those of items the tail has not handled yet, in order.
func (t *Tail) Fresh(items []Interaction) []Interaction {
	var out []Interaction
	for _, it := range items {
		if _, ok := t.keys[it.Key]; !ok && it.Seq > t.low {
			out = append(out, it)
		}
	}
	return out
}

// Handled records items as handled, seen at now.
func (t *Tail) Handled(items []Interaction, now time.Time) {
	for _, it := range items {
		if it.Seq <= t.low {
			continue
		}
		t.keys[it.Key] = it.Seq
		if _, ok := t.seen[it.Seq]; !ok {
			t.seen[it.Seq] = now
		}
	}
}

// Advance moves the mark over the batches that have settled and the gaps that timed
// out, as of now.
func (t *Tail) Advance(now time.Time) {
	top := t.low
	for s := range t.seen {
		top = max(top, s)
	}
	for s := t.low + 1; s < top; s++ {
		if _, ok := t.seen[s]; !ok {
			if _, ok := t.missing[s]; !ok {
				t.missing[s] = now
			}
		}
	}
	for s := t.low + 1; s <= top; s++ {
		if at, ok := t.seen[s]; ok {
			if now.Sub(at) < tailSettle {
				break
			}
		} else if now.Sub(t.missing[s]) < tailGapTimeout {
			break
		}
		delete(t.seen, s)
		delete(t.missing, s)
		t.low = s
	}
	for k, s := range t.keys {
		if s <= t.low {
			delete(t.keys, k)
		}
	}
}
