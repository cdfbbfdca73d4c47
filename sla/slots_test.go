package sla

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSlotsFindEveryApplication: through any sequence of applications coming and
// going, the index finds exactly the applications that hold a slot, each in its own.
func TestSlotsFindEveryApplication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ids, steps int
	}{
		{"a few, churned", 50, 5000},           // one page of places, mostly empty
		{"growing and shrinking", 3000, 30000}, // several doublings, long probe runs
		{"many", 20000, 40000},                 // more than a page of slots
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, uint64(tt.ids)))
			ids := make([]string, tt.ids)
			for n := range ids {
				ids[n] = fmt.Sprintf("app-%d", n)
			}
			var s slots
			model := map[string]uint32{}
			for step := range tt.steps {
				id := ids[r.IntN(tt.ids)]
				if i, ok := model[id]; ok && r.IntN(3) == 0 {
					s.release(i)
					delete(model, id)
				} else if !ok {
					model[id] = s.take(id)
				}
				if step%997 != 0 && step != tt.steps-1 {
					continue
				}
				seen := map[uint32]bool{}
				for _, id := range ids {
					i, ok := s.find(id)
					want, held := model[id]
					if ok != held || (ok && i != want) {
						t.Fatalf("step %d: find(%s) = %d, %v; want %d, %v", step, id, i, ok, want, held)
					}
					if !ok {
						continue
					}
					if seen[i] || s.at(i).id != id {
						t.Fatalf("step %d: slot %d of %s is shared or holds %q", step, i, id, s.at(i).id)
					}
					seen[i] = true
				}
				if s.indexed != len(model) {
					t.Fatalf("step %d: %d indexed, want %d", step, s.indexed, len(model))
				}
			}
		})
	}
}
