package main

import (
	"context"
	"fmt"
	"io"
	"strings"
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

// benchSlackUser is recruiter i's Slack user.
func benchSlackUser(i int) string { return fmt.Sprintf("U%08d", i) }

// runSlackAlerts measures n simultaneous breaches, deadline → chat.postMessage taken
// (runBreaches), talking to a fake Slack Web API (alerts/slack/slacktest) in this
// process.
func runSlackAlerts(ctx context.Context, n int, cpuprofile string, progress io.Writer) (*alertsResult, error) {
	sl := slacktest.New(benchSlackToken)
	defer sl.Close()
	posts := newArrivals(n)
	sl.OnPost = func(user string) { posts.took(user) }
	for i := range n {
		sl.AddUser(benchSlackUser(i), fmt.Sprintf("r-%05d@bench.example.com", i))
	}
	// Each recruiter's Slack user is looked up by email as it is saved, not at send time.
	lookups := 0
	r, err := runBreaches(ctx, breachBench{
		n: n, channel: "slack", prefix: "sl", got: posts,
		vars: map[string]string{
			"GOODWILL_SLACK_BOT_TOKEN": benchSlackToken, "GOODWILL_SLACK_SIGNING_SECRET": benchSlackSecret,
			"GOODWILL_SLACK_API_URL": sl.APIURL(),
		},
		recruiter: func(i int, body map[string]any) { body["email"] = fmt.Sprintf("r-%05d@bench.example.com", i) },
		saved:     func() { lookups = sl.Calls("users.lookupByEmail") },
	}, cpuprofile, progress)
	if err != nil {
		return nil, err
	}
	if extra := sl.Calls("users.lookupByEmail") - lookups; extra > 0 {
		r.bad = append(r.bad, fmt.Sprintf("%d users.lookupByEmail calls at send time", extra))
	}
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
	breachTable(&b, r, "DMs posted", "posted twice", "post")
	fmt.Fprintf(&b, "\nEach run of the pipeline counts its Slack messages in one bulk insert and notes what may go "+
		"out in one document before posting, as for SMS; each recipient's message is one call to Slack, "+
		"`chat.postMessage` with its Block Kit blocks and the alert ids in its metadata (a process that has not "+
		"opened a user's DM yet makes a `conversations.open` first). At p99, an alert existed %s ms "+
		"after the deadline, and was posted %s ms after it was created (the 1 s window included).\n", ms(r.created99), ms(r.piped99))
	breachTargets(&b, r, "chat.postMessage", "every breach posted once, no Slack user looked up at send time",
		"%s of %s posted, %d twice, %d problems")
	b.WriteString("<!-- slack-alerts:end -->\n")
	return b.String()
}

// runSlackAlertsSection measures the Slack alerts and writes its section. The service
// runs on its own embedded store.
func runSlackAlertsSection(ctx context.Context, o settings, progress io.Writer) error {
	fmt.Fprintf(progress, "%-48s", fmt.Sprintf("Slack alerts, %s simultaneous breaches …", thousands(o.slackBreaches)))
	t := time.Now()
	profile := ""
	if o.slackOnly {
		profile = o.cpuprofile
	}
	r, err := runSlackAlerts(ctx, o.slackBreaches, profile, progress)
	if err != nil {
		return err
	}
	note := ""
	if len(r.bad) > 0 {
		note = fmt.Sprintf("problems: %q\n", r.bad)
	}
	return publish(o, progress, t, "slack-alerts", slackAlertsSection(time.Now(), thisMachine(), r), note)
}
