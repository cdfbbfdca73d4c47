package interactions

import "hash/fnv"

// Partitions is how many partitions SLA and alert work is split into when several
// replicas share one MongoDB. Each partition is owned by one replica at a time.
const Partitions = 64

// Partition returns the partition of an application: a hash of its id, so that every
// replica computes the same answer without asking the store.
func Partition(applicationID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(applicationID))
	return int(h.Sum32() % Partitions)
}
