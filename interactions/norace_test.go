//go:build !race

package interactions

const raceEnabled = false
