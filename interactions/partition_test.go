package interactions

import (
	"fmt"
	"testing"
)

func TestPartitionIsStableAndSpread(t *testing.T) {
	// The same id always lands in the same partition: replicas must agree.
	if a, b := Partition("app-1"), Partition("app-1"); a != b {
		t.Fatalf("Partition(app-1) = %d then %d", a, b)
	}
	counts := make([]int, Partitions)
	const n = 64000
	for i := range n {
		p := Partition(fmt.Sprintf("app-%d", i))
		if p < 0 || p >= Partitions {
			t.Fatalf("Partition = %d, outside [0,%d)", p, Partitions)
		}
		counts[p]++
	}
	for p, c := range counts {
		if c < n/Partitions/2 || c > n/Partitions*2 {
			t.Errorf("partition %d holds %d of %d ids; want about %d", p, c, n, n/Partitions)
		}
	}
}
