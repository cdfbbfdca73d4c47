package scores

import (
	"math"
	"time"
)

// Durations (first response, reply) are counted in fixed geometric buckets: bucket 0
// holds everything under a minute, bucket i (1 ≤ i ≤ histN) the durations in
// [1 min × 1.1^(i−1), 1 min × 1.1^i), and bucket histN+1 everything from about 94
// days on. A percentile is reported as the geometric middle of its bucket, within
// about ±5% of the true value.
const (
	histMin   = 60.0 // seconds: the lower edge of bucket 1
	histRatio = 1.1
	histN     = 124 // regular buckets: up to 60 s × 1.1^124 ≈ 94 days
	nBuckets  = histN + 2
)

var logRatio = math.Log(histRatio)

// bucketOf returns the bucket of a duration; negative durations fall in bucket 0.
func bucketOf(d time.Duration) int {
	s := d.Seconds()
	if s < histMin {
		return 0
	}
	i := int(math.Log(s/histMin)/logRatio) + 1
	// Guard the edges against rounding of the logarithm.
	for i > 1 && s < histMin*math.Pow(histRatio, float64(i-1)) {
		i--
	}
	for i <= histN && s >= histMin*math.Pow(histRatio, float64(i)) {
		i++
	}
	return min(i, histN+1)
}

// bucketHours is the value reported for a percentile that falls in bucket i, in
// hours: the geometric middle of the bucket; 30 seconds for the first, the lower
// edge for the last.
func bucketHours(i int) float64 {
	var s float64
	switch {
	case i <= 0:
		s = histMin / 2
	case i > histN:
		s = histMin * math.Pow(histRatio, histN)
	default:
		s = histMin * math.Pow(histRatio, float64(i)-0.5)
	}
	return s / 3600
}

// reported is bucketHours of each bucket, rounded to 2 decimals.
var reported = func() (r [nBuckets]float64) {
	for i := range r {
		r[i] = round(bucketHours(i), 2)
	}
	return r
}()

// percentiles returns the hours of the nearest-rank percentiles ps (at most two,
// each in (0, 1], ascending) of the histogram counts, taken from s; nils when it is
// empty. Only the buckets in r may hold anything.
func percentiles(counts []int64, r buckets, s *slab, ps ...float64) (out [2]*float64) {
	if r.lo > r.hi {
		return out
	}
	counts = counts[r.lo : r.hi+1]
	var n int64
	for _, c := range counts {
		n += c
	}
	if n <= 0 {
		return out
	}
	var ranks [2]int64
	for k, p := range ps {
		ranks[k] = max(int64(math.Ceil(p*float64(n))), 1)
	}
	var seen int64
	k := 0
	for i, c := range counts {
		if c == 0 {
			continue
		}
		seen += c
		for k < len(ps) && seen >= ranks[k] {
			out[k] = s.float(reported[r.lo+i])
			k++
		}
		if k == len(ps) {
			break
		}
	}
	return out
}

// buckets is a range of histogram buckets, lo to hi included; empty when lo > hi.
type buckets struct{ lo, hi int }

var (
	noBuckets  = buckets{nBuckets, -1}
	allBuckets = buckets{0, nBuckets - 1}
)

// with returns the range that also holds bucket i.
func (r buckets) with(i int) buckets { return buckets{min(r.lo, i), max(r.hi, i)} }

// union returns the range that holds both.
func (r buckets) union(o buckets) buckets { return buckets{min(r.lo, o.lo), max(r.hi, o.hi)} }

// slab hands out the pointers of a query's figures from shared arrays: a query of
// thousands of groups then allocates a few arrays rather than several figures per
// group. The zero value is ready.
type slab struct {
	floats []float64
	ints   []int
}

// slabSize is how many figures of a kind one array holds.
const slabSize = 1024

func (s *slab) float(v float64) *float64 {
	if len(s.floats) == cap(s.floats) {
		s.floats = make([]float64, 0, slabSize)
	}
	s.floats = append(s.floats, v)
	return &s.floats[len(s.floats)-1]
}

func (s *slab) int(v int) *int {
	if len(s.ints) == cap(s.ints) {
		s.ints = make([]int, 0, slabSize)
	}
	s.ints = append(s.ints, v)
	return &s.ints[len(s.ints)-1]
}

// round rounds x to the given number of decimals (2 or 4: hours and ratios).
func round(x float64, decimals int) float64 {
	p := 100.0
	if decimals == 4 {
		p = 10000
	}
	return math.Round(x*p) / p
}

func ptr[T any](v T) *T { return &v }
