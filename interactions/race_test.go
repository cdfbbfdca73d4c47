//go:build race

package interactions

// raceEnabled: the race detector is on, and sync.Pool drops what it is given at
// random, so counts of allocations say nothing.
const raceEnabled = true
