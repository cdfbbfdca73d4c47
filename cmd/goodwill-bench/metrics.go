package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// promSnapshot is one scrape of a Prometheus text exposition: value by series, the
// series written as exposed (`name{label="v"}`).
type promSnapshot map[string]float64

// scrape reads url (a /metrics endpoint).
func scrape(ctx context.Context, client *http.Client, url string) (promSnapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return nil, fmt.Errorf("GET %s: %d %.200s", url, res.StatusCode, b)
	}
	return parseProm(res.Body)
}

// parseProm parses the text format's samples, ignoring comments and timestamps.
func parseProm(r io.Reader) (promSnapshot, error) {
	s := promSnapshot{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The series is the name and its labels; the value follows.
		var series, rest string
		if end := strings.LastIndexByte(line, '}'); end >= 0 {
			series, rest = line[:end+1], line[end+1:]
		} else {
			series, rest, _ = strings.Cut(line, " ")
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("metrics: malformed line %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: line %q: %w", line, err)
		}
		s[series] = v
	}
	return s, sc.Err()
}

// sub returns s − before, series by series.
func (s promSnapshot) sub(before promSnapshot) promSnapshot {
	out := promSnapshot{}
	for k, v := range s {
		out[k] = v - before[k]
	}
	return out
}

// histogram is a Prometheus histogram without labels: cumulative bucket counts.
type histogram struct {
	Buckets []bucket // by upper bound, the last +Inf
	Sum     float64
	Count   float64
}

type bucket struct {
	LE    float64
	Count float64 // cumulative
}

// histogram extracts the histogram called name (without labels other than le).
func (s promSnapshot) histogram(name string) histogram {
	var h histogram
	prefix := name + `_bucket{le="`
	for k, v := range s {
		if le, ok := strings.CutPrefix(k, prefix); ok {
			le = strings.TrimSuffix(le, `"}`)
			f, err := strconv.ParseFloat(le, 64)
			if le == "+Inf" {
				f, err = math.Inf(1), nil
			}
			if err == nil {
				h.Buckets = append(h.Buckets, bucket{f, v})
			}
		}
	}
	slices.SortFunc(h.Buckets, func(a, b bucket) int { return cmpFloat(a.LE, b.LE) })
	h.Sum = s[name+"_sum"]
	h.Count = s[name+"_count"]
	return h
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Quantile estimates the q-quantile as Prometheus' histogram_quantile does: linear
// interpolation inside the bucket that holds the rank. A rank in the +Inf bucket
// answers the largest finite bound.
func (h histogram) Quantile(q float64) float64 {
	if h.Count <= 0 || len(h.Buckets) == 0 {
		return math.NaN()
	}
	rank := q * h.Count
	prevLE, prevCount := 0.0, 0.0
	for _, b := range h.Buckets {
		if b.Count >= rank {
			if math.IsInf(b.LE, 1) {
				return prevLE
			}
			if b.Count == prevCount {
				return b.LE
			}
			return prevLE + (b.LE-prevLE)*(rank-prevCount)/(b.Count-prevCount)
		}
		prevLE, prevCount = b.LE, b.Count
	}
	return prevLE
}

// Beyond reports whether the q-quantile lies past the largest finite bucket.
func (h histogram) Beyond(q float64) bool {
	if h.Count <= 0 || len(h.Buckets) < 2 {
		return false
	}
	last := h.Buckets[len(h.Buckets)-2] // the last finite bucket
	return !math.IsInf(last.LE, 1) && last.Count < q*h.Count
}

// Mean is Sum / Count.
func (h histogram) Mean() float64 {
	if h.Count == 0 {
		return math.NaN()
	}
	return h.Sum / h.Count
}
