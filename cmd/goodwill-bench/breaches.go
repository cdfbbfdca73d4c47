package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/service"
)

// The harness the breach sections share (alerts.go: SMS, slackalerts.go: Slack): n
// applications whose first_response deadlines fall at the same moment, each owned by
// its own recruiter, breach together; each section brings its fake provider, which
// notes in an arrivals when it took each recipient's message.

// arrivals notes when a fake provider took each recipient's messages.
type arrivals struct {
	mu   sync.Mutex
	at   map[string][]time.Time // recipient → when each of its messages was taken
	n    int
	want int
	all  chan struct{} // closed when want messages were taken
}

func newArrivals(want int) *arrivals {
	return &arrivals{at: map[string][]time.Time{}, want: want, all: make(chan struct{})}
}

// took notes a message to to, now, and returns how many were taken so far.
func (a *arrivals) took(to string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at[to] = append(a.at[to], time.Now())
	a.n++
	if a.n == a.want {
		close(a.all)
	}
	return a.n
}

// breachBench is what a breach section runs against.
type breachBench struct {
	n       int
	vars    map[string]string // the provider's GOODWILL_* settings, beside the store's and the address
	channel string            // the channel of the deliveries measured: "sms", "slack"
	prefix  string            // of the application ids
	// recruiter adds to the body of recruiter i's PUT how it is reached.
	recruiter func(i int, body map[string]any)
	// saved, if set, is called once every recruiter is saved, before the applications.
	saved func()
	got   *arrivals
}

// runBreaches measures b.n simultaneous breaches, deadline → the fake provider taking
// each recipient's message, on a service with its own embedded store, as
// `goodwill serve` runs by default (a store named by URI is one several replicas may
// share), talking to the fake provider in this process.
func runBreaches(ctx context.Context, b breachBench, cpuprofile string, progress io.Writer) (*alertsResult, error) {
	dataDir, err := os.MkdirTemp("", "goodwill-bench-"+b.channel+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dataDir)
	vars := map[string]string{
		"GOODWILL_DATA_DIR":      dataDir,
		"GOODWILL_BOOTSTRAP_KEY": adminKey, "GOODWILL_ADDR": "127.0.0.1:0",
		"GOODWILL_PUBLIC_URL": "https://goodwill.example.com",
	}
	for k, v := range b.vars {
		vars[k] = v
	}
	_, url, stop, err := startServing(ctx, vars, service.Options{})
	if err != nil {
		return nil, err
	}
	defer stop()
	api := &apiClient{url: url, http: &http.Client{Timeout: time.Minute}}

	// A short 24x7 first_response policy with no warning and no escalation; n
	// recruiters, each reachable on the one channel only, every day, at any hour.
	target := alertsLead(b.n)
	if err := api.do(ctx, http.MethodPut, "/v1/sla/policies/first_response", map[string]any{
		"name": "bench", "metric": "first_response", "target": fmt.Sprintf("%ds", int(target.Seconds())),
		"calendar": "24x7", "warn_ratio": 1, "enabled": true,
	}); err != nil {
		return nil, err
	}
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < b.n; i += 8 {
				body := map[string]any{
					"name": fmt.Sprintf("Recruiter %d", i), "working_days": everyDay,
					"channels": map[string]any{"breached": []string{b.channel}},
				}
				b.recruiter(i, body)
				if err := api.do(ctx, http.MethodPut, fmt.Sprintf("/v1/recruiters/r-%05d", i), body); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if b.saved != nil {
		b.saved()
	}

	// n applications received at the same moment: their deadlines coincide.
	occurred := time.Now().UTC().Truncate(time.Second)
	deadline := occurred.Add(target)
	for lo := 0; lo < b.n; lo += 1000 {
		var items []map[string]any
		for i := lo; i < min(lo+1000, b.n); i++ {
			items = append(items, map[string]any{
				"application_id": fmt.Sprintf("%s-%05d", b.prefix, i), "candidate_id": fmt.Sprintf("c-%05d", i),
				"kind": "application_received", "occurred_at": occurred.Format(time.RFC3339Nano),
				"recruiter_id": fmt.Sprintf("r-%05d", i), "external_id": fmt.Sprintf("%s-%05d-received", b.prefix, i),
				"candidate": map[string]string{"name": fmt.Sprintf("Candidate %d", i)},
				"job_id":    "job-bench", "job": map[string]string{"title": "Staff Engineer"},
			})
		}
		if err := api.do(ctx, http.MethodPost, "/v1/interactions", map[string]any{"interactions": items}); err != nil {
			return nil, err
		}
	}
	if time.Until(deadline) < 2*time.Second {
		return nil, fmt.Errorf("the setup took too long: %s left before the deadline", time.Until(deadline).Round(time.Millisecond))
	}
	fmt.Fprintf(progress, " (deadline in %.1f s)", time.Until(deadline).Seconds())

	r := &alertsResult{breaches: b.n, lead: target, load: [2]string{loadAvg()}}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		r.cpuProfile = cpuprofile
	}
	select {
	case <-b.got.all:
	case <-time.After(time.Until(deadline) + time.Minute):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	time.Sleep(2 * time.Second) // room for a message sent twice to show
	r.load[1] = loadAvg()

	created, err := api.createdAt(ctx, b.channel)
	if err != nil {
		return nil, err
	}
	b.got.mu.Lock()
	var sent, made, piped []time.Duration
	for to, at := range b.got.at {
		sent = append(sent, at[0].Sub(deadline))
		r.extra += len(at) - 1
		if c, ok := created[to]; ok {
			piped = append(piped, at[0].Sub(c))
		}
	}
	r.accepted = b.got.n
	b.got.mu.Unlock()
	for _, at := range created {
		made = append(made, at.Sub(deadline))
	}
	r.sent, r.sent99, r.sentMax = quantiles(sent)
	r.created, r.created99, _ = quantiles(made)
	r.piped, r.piped99, _ = quantiles(piped)
	return r, nil
}

// breachTable writes the results table of a breach section: what the provider took
// ("SMS accepted") and its answer ("201").
func breachTable(b *strings.Builder, r *alertsResult, took, twice, answer string) {
	fmt.Fprintf(b, "| breaches | %s | %s | deadline → %s p50 ms | p99 ms | max ms |"+
		" of which deadline → alert created p50 / p99 ms | alert created → %s p50 / p99 ms |\n", took, twice, answer, answer)
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %s / %s | %s / %s |\n", thousands(r.breaches), thousands(r.accepted), r.extra,
		ms(r.sent), ms(r.sent99), ms(r.sentMax), ms(r.created), ms(r.created99), ms(r.piped), ms(r.piped99))
}

// breachTargets writes the targets table of a breach section: p99 ≤ 2 s to answer,
// and every breach delivered once (how is what once says) with nothing in r.bad.
func breachTargets(b *strings.Builder, r *alertsResult, answer, once, tookOnce string) {
	b.WriteString("\n| target | measured | |\n|---|---|---|\n")
	check := func(what, measured string, ok bool) {
		verdict := "met"
		if !ok {
			verdict = "**not met**"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", what, measured, verdict)
	}
	check(fmt.Sprintf("p99 ≤ 2 s from the deadline to %s, %s simultaneous breaches", answer, thousands(r.breaches)),
		ms(r.sent99)+" ms", r.sent99 <= 2*time.Second && r.accepted >= r.breaches)
	check(once, fmt.Sprintf(tookOnce, thousands(r.accepted-r.extra), thousands(r.breaches), r.extra, len(r.bad)),
		r.accepted == r.breaches && r.extra == 0 && len(r.bad) == 0)
}
