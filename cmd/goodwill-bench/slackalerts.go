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

	"github.com/goodwillhq/goodwill/alerts/slack/slacktest"
)

// The Slack alerts section: as the alerts section, with each recruiter reached by a
// Slack direct message instead of an SMS; the measurement is from the deadline to
// the fake Slack Web API taking each recipient's chat.postMessage.

const (
	benchSlackToken  = "xoxb-bench-0123456789"
	benchSlackSecret = "bench-signing-secret"
)

// slackPosts notes when the fake Slack took each user's messages.
type slackPosts struct {
	mu   sync.Mutex
	at   map[string][]time.Time // Slack user → when each of its messages was posted
	n    int
	want int
	all  chan struct{} // closed when want messages were posted
}

func (p *slackPosts) posted(user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at[user] = append(p.at[user], time.Now())
	p.n++
	if p.n == p.want {
		close(p.all)
	}
}

// benchSlackUser is recruiter i's Slack user.
func benchSlackUser(i int) string { return fmt.Sprintf("U%08d", i) }

// runSlackAlerts measures n simultaneous breaches, deadline → chat.postMessage taken,
// on a service with its own embedded store in dataDir, talking to a fake Slack Web
// API (alerts/slack/slacktest) in this process.
func runSlackAlerts(ctx context.Context, dataDir string, n int, cpuprofile string, progress io.Writer) (*alertsResult, error) {
	sl := slacktest.New(benchSlackToken)
	defer sl.Close()
	posts := &slackPosts{at: map[string][]time.Time{}, want: n, all: make(chan struct{})}
	sl.OnPost = posts.posted
	for i := range n {
		sl.AddUser(benchSlackUser(i), fmt.Sprintf("r-%05d@bench.example.com", i))
	}
	vars := map[string]string{
		"GOODWILL_DATA_DIR":      dataDir,
		"GOODWILL_BOOTSTRAP_KEY": adminKey, "GOODWILL_ADDR": "127.0.0.1:0",
		"GOODWILL_PUBLIC_URL":      "https://goodwill.example.com",
		"GOODWILL_SLACK_BOT_TOKEN": benchSlackToken, "GOODWILL_SLACK_SIGNING_SECRET": benchSlackSecret,
		"GOODWILL_SLACK_API_URL": sl.APIURL(),
	}
	s, closeService, err := startService(ctx, vars)
	if err != nil {
		return nil, err
	}
	defer closeService()
	url, stop, err := serve(s.Handler())
	if err != nil {
		return nil, err
	}
	defer stop()
	api := &apiClient{url: url, http: &http.Client{Timeout: time.Minute}}

	target := alertsLead(n)
	if err := api.do(ctx, http.MethodPut, "/v1/sla/policies/first_response", map[string]any{
		"name": "bench", "metric": "first_response", "target": fmt.Sprintf("%ds", int(target.Seconds())),
		"calendar": "24x7", "warn_ratio": 1, "enabled": true,
	}); err != nil {
		return nil, err
	}
	// n recruiters, each reached by Slack only, every day, at any hour; each one's
	// Slack user is looked up by email as it is saved.
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if err := api.do(ctx, http.MethodPut, fmt.Sprintf("/v1/recruiters/r-%05d", i), map[string]any{
					"name": fmt.Sprintf("Recruiter %d", i), "email": fmt.Sprintf("r-%05d@bench.example.com", i),
					"working_days": everyDay, "channels": map[string]any{"breached": []string{"slack"}},
				}); err != nil {
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
	lookups := sl.Calls("users.lookupByEmail")

	occurred := time.Now().UTC().Truncate(time.Second)
	deadline := occurred.Add(target)
	for lo := 0; lo < n; lo += 1000 {
		var items []map[string]any
		for i := lo; i < min(lo+1000, n); i++ {
			items = append(items, map[string]any{
				"application_id": fmt.Sprintf("sl-%05d", i), "candidate_id": fmt.Sprintf("c-%05d", i),
				"kind": "application_received", "occurred_at": occurred.Format(time.RFC3339Nano),
				"recruiter_id": fmt.Sprintf("r-%05d", i), "external_id": fmt.Sprintf("sl-%05d-received", i),
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

	r := &alertsResult{breaches: n, lead: target, load: [2]string{loadAvg()}}
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
	case <-posts.all:
	case <-time.After(time.Until(deadline) + time.Minute):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	time.Sleep(2 * time.Second) // room for a message posted twice to show
	r.load[1] = loadAvg()

	created, err := api.createdAt(ctx, "slack")
	if err != nil {
		return nil, err
	}
	if extra := sl.Calls("users.lookupByEmail") - lookups; extra > 0 {
		r.bad = append(r.bad, fmt.Sprintf("%d users.lookupByEmail calls at send time", extra))
	}
	posts.mu.Lock()
	var sent, made, piped []time.Duration
	for user, at := range posts.at {
		sent = append(sent, at[0].Sub(deadline))
		r.extra += len(at) - 1
		if c, ok := created[user]; ok {
			piped = append(piped, at[0].Sub(c))
		}
	}
	r.accepted = posts.n
	posts.mu.Unlock()
	for _, at := range created {
		made = append(made, at.Sub(deadline))
	}
	r.sent, r.sent99, r.sentMax = quantiles(sent)
	r.created, r.created99, _ = quantiles(made)
	r.piped, r.piped99, _ = quantiles(piped)
	return r, nil
}

// slackAlertsSection renders the Slack alerts figures for BENCHMARKS.md.
func slackAlertsSection(when time.Time, m machine, r *alertsResult) string {
	var b strings.Builder
	b.WriteString("<!-- slack-alerts:start -->\n## Alerts: simultaneous breaches to Slack\n\n")
	fmt.Fprintf(&b, "Run %s by `go run ./cmd/goodwill-bench` (`make bench`).\n\nMachine: %s; load average %s "+
		"as the interactions were posted, %s after the breaches (other work on the machine competes for the same cores).\n\n",
		when.UTC().Format("2006-01-02 15:04 MST"), m, r.load[0], r.load[1])
	fmt.Fprintf(&b, "Workload: as for SMS above, with Slack configured instead of Twilio and, in the same process, "+
		"the fake of Slack's Web API the tests use (`alerts/slack/slacktest`: an httptest server checking the bot token "+
		"and the form fields of `conversations.open` and `chat.postMessage`, answering ok:true). %s recruiters, each "+
		"with its own Slack user (looked up by email with `users.lookupByEmail`, and its DM opened with "+
		"`conversations.open`, when the recruiter was saved, not at send time) and Slack as its only breach channel; "+
		"%s applications, one per recruiter, received %s before their common deadline. Latency is from the deadline "+
		"to the fake API taking that recipient's `chat.postMessage`; it includes the SLA scheduler's detection, the "+
		"alert's intake, the 1 s breach grouping window and the sending.\n\n",
		thousands(r.breaches), thousands(r.breaches), r.lead)
	b.WriteString("| breaches | DMs posted | posted twice | deadline → post p50 ms | p99 ms | max ms |" +
		" of which deadline → alert created p50 / p99 ms | alert created → post p50 / p99 ms |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s / %s | %s / %s |\n", thousands(r.breaches), thousands(r.accepted), r.extra,
		ms(r.sent), ms(r.sent99), ms(r.sentMax), ms(r.created), ms(r.created99), ms(r.piped), ms(r.piped99))
	fmt.Fprintf(&b, "\nEach run of the pipeline counts its Slack messages in one bulk insert and notes what may go "+
		"out in one document before posting, as for SMS; each recipient's message is one call to Slack, "+
		"`chat.postMessage` with its Block Kit blocks and the alert ids in its metadata (a process that has not "+
		"opened a user's DM yet makes a `conversations.open` first). At p99, an alert existed %s ms "+
		"after the deadline, and was posted %s ms after it was created (the 1 s window included).\n", ms(r.created99), ms(r.piped99))
	b.WriteString("\n| target | measured | |\n|---|---|---|\n")
	check := func(what, measured string, ok bool) {
		verdict := "met"
		if !ok {
			verdict = "**not met**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", what, measured, verdict)
	}
	check(fmt.Sprintf("p99 ≤ 2 s from the deadline to chat.postMessage, %s simultaneous breaches", thousands(r.breaches)),
		ms(r.sent99)+" ms", r.sent99 <= 2*time.Second && r.accepted >= r.breaches)
	check("every breach posted once, no Slack user looked up at send time", fmt.Sprintf("%s of %s posted, %d twice, %d problems",
		thousands(r.accepted-r.extra), thousands(r.breaches), r.extra, len(r.bad)), r.accepted == r.breaches && r.extra == 0 && len(r.bad) == 0)
	b.WriteString("<!-- slack-alerts:end -->\n")
	return b.String()
}

// runSlackAlertsSection measures the Slack alerts and writes its section. The service
// runs on its own embedded store.
func runSlackAlertsSection(ctx context.Context, o settings, progress io.Writer) error {
	fmt.Fprintf(progress, "%-48s", fmt.Sprintf("Slack alerts, %s simultaneous breaches …", thousands(o.slackBreaches)))
	t := time.Now()
	dir, err := os.MkdirTemp("", "goodwill-bench-slack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	profile := ""
	if o.slackOnly {
		profile = o.cpuprofile
	}
	r, err := runSlackAlerts(ctx, dir, o.slackBreaches, profile, progress)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, " %.1f s\n", time.Since(t).Seconds())
	section := slackAlertsSection(time.Now(), thisMachine(), r)
	fmt.Fprintln(progress)
	fmt.Fprint(progress, section)
	if len(r.bad) > 0 {
		fmt.Fprintf(progress, "problems: %q\n", r.bad)
	}
	if o.out != "" {
		return writeSection(o.out, "slack-alerts", section)
	}
	return nil
}
