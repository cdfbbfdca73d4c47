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

// percentiles returns the hours of the nearest-rank percentiles ps (each in (0, 1],
// ascending) of the histogram counts; nils when it is empty.
func percentiles(counts []int64, ps ...float64) []*float64 {
	out := make([]*float64, len(ps))
	var n int64
	for _, c := range counts {
		n += c
	}
	if n <= 0 {
		return out
	}
	ranks := make([]int64, len(ps))
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
			out[k] = ptr(reported[i])
			k++
		}
		if k == len(ps) {
			break
		}
	}
	return out
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
