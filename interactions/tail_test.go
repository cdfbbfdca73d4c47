package interactions

import (
	"slices"
	"testing"
	"time"
)

func TestTail(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	it := func(key string, seq int64) Interaction { return Interaction{Key: key, Seq: seq} }
	keys := func(items []Interaction) []string {
		var out []string
		for _, x := range items {
			out = append(out, x.Key)
		}
		return out
	}
	type step struct {
		at        time.Duration
		read      []Interaction // what a poll returned
		wantFresh []string
		wantMark  int64
	}
	tests := []struct {
		name  string
		start int64
		steps []step
	}{{
		name: "a batch is passed over once it settled",
		steps: []step{
			{at: 0, read: []Interaction{it("a", 1), it("b", 1)}, wantFresh: []string{"a", "b"}, wantMark: 0},
			{at: time.Second, read: []Interaction{it("a", 1), it("b", 1), it("c", 1)}, wantFresh: []string{"c"}, wantMark: 0},
			{at: tailSettle, read: []Interaction{it("a", 1), it("b", 1), it("c", 1)}, wantFresh: nil, wantMark: 1},
		},
	}, {
		name: "a later batch seen first does not move the mark over an earlier one",
		steps: []step{
			{at: 0, read: []Interaction{it("b", 2)}, wantFresh: []string{"b"}, wantMark: 0},
			{at: 3 * time.Second, read: []Interaction{it("a", 1), it("b", 2)}, wantFresh: []string{"a"}, wantMark: 0},
			{at: 3*time.Second + tailSettle, read: []Interaction{it("a", 1), it("b", 2)}, wantMark: 2},
		},
	}, {
		name:  "a number never written is given up after the gap timeout",
		start: 4,
		steps: []step{
			{at: 0, read: []Interaction{it("x", 6)}, wantFresh: []string{"x"}, wantMark: 4},
			{at: tailGapTimeout - time.Second, read: []Interaction{it("x", 6)}, wantMark: 4},
			{at: tailGapTimeout, read: []Interaction{it("x", 6)}, wantMark: 6},
		},
	}, {
		name:  "documents at or below the mark are not fresh",
		start: 5,
		steps: []step{
			{at: 0, read: []Interaction{it("old", 5), it("new", 6)}, wantFresh: []string{"new"}, wantMark: 5},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tail := NewTail(tc.start)
			for i, s := range tc.steps {
				fresh := tail.Fresh(s.read)
				if got := keys(fresh); !slices.Equal(got, s.wantFresh) {
					t.Errorf("step %d: fresh = %v, want %v", i, got, s.wantFresh)
				}
				tail.Handled(fresh, at(s.at))
				tail.Advance(at(s.at))
				if tail.Mark() != s.wantMark {
					t.Errorf("step %d: mark = %d, want %d", i, tail.Mark(), s.wantMark)
				}
			}
			if len(tail.keys) > 0 && tail.Mark() > 0 {
				for k, s := range tail.keys {
					if s <= tail.Mark() {
						t.Errorf("key %s of batch %d kept below the mark %d", k, s, tail.Mark())
					}
				}
			}
		})
	}
}
