//go:build !race

package lease

const raceScale = 1
