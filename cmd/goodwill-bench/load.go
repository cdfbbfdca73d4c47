package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one column measured.
type result struct {
	Column     string
	Count      int           // requests or documents
	Unit       string        // "requests" or "docs"
	Elapsed    time.Duration // wall time of the whole run
	Latencies  []time.Duration
	Errors     int
	FirstError string
	Notes      []string
	CPU        time.Duration // process CPU during the run (HTTP columns), load generator included unless external
	apps       int           // applications touched (projector row)
	// external: the load generator ran in another process (driveElsewhere); CPU is
	// then the serving process's alone, and GeneratorCPU the generator's.
	external     bool
	GeneratorCPU time.Duration
}

// Throughput is Count per second of Elapsed.
func (r *result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Count) / r.Elapsed.Seconds()
}

// Quantile returns the q-quantile (nearest rank) of the latencies.
func (r *result) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// newClient is a keep-alive HTTP client with a connection per load client.
func newClient(clients int) *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        clients * 2,
			MaxIdleConnsPerHost: clients,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// drive posts every body to url from clients goroutines over keep-alive connections
// and times each request, from sending to the end of the response body. A response
// other than wantStatus counts as an error. It returns when all are done or, after
// limit, when the requests in flight are: then Count and Latencies cover the requests
// sent, which were bodies[:Count].
func drive(ctx context.Context, client *http.Client, url, key string, bodies [][]byte, clients, wantStatus int, limit time.Duration) *result {
	r := &result{Count: len(bodies), Unit: "requests", Latencies: make([]time.Duration, len(bodies))}
	stopAt := time.Now().Add(limit)
	var (
		next   atomic.Int64
		errs   atomic.Int64
		errMu  sync.Mutex
		wg     sync.WaitGroup
		failed = func(msg string) {
			if errs.Add(1) == 1 {
				errMu.Lock()
				r.FirstError = msg
				errMu.Unlock()
			}
		}
	)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				if ctx.Err() != nil || time.Now().After(stopAt) {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				t0 := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i]))
				if err != nil {
					failed(err.Error())
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				res, err := client.Do(req)
				if err != nil {
					failed(err.Error())
					r.Latencies[i] = time.Since(t0)
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				r.Latencies[i] = time.Since(t0)
				if res.StatusCode != wantStatus {
					failed(fmt.Sprintf("status %d: %.200s", res.StatusCode, b))
				}
			}
		})
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	if sent := int(next.Load()); sent < len(bodies) {
		r.Count, r.Latencies = sent, r.Latencies[:sent]
		r.Notes = append(r.Notes, fmt.Sprintf("**stopped by the %s load time limit after %s of %s requests**",
			limit, thousands(sent), thousands(len(bodies))))
	}
	r.Errors = int(errs.Load())
	return r
}
