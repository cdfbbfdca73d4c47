// Package demo is goodwill demo: it runs the service on a fresh embedded store with
// a simulated ATS feeding it realistic traffic through the HTTP API, so that SLA
// clocks warn and breach, alerts go out and scores fill within a minute.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/client"
)

// Help is the long help of goodwill demo.
const Help = `Start goodwill on a fresh, temporary embedded store with a simulated ATS feeding it
realistic traffic, so you can watch SLA clocks run, warn and breach, and alerts go out,
within a minute.

The demo compresses days into seconds. Its policies run on a 24x7 calendar with
targets of seconds instead of business days, each warning at half its target:

  first_response     20s   (built in: 2 business days)
  reply              15s   (1 business day)
  contact_gap        30s   (5 business days)
  interview_outcome  10s   (30 minutes)
  interview_feedback 20s   (1 business day)
  closure            20s   (2 business days)
  an unacknowledged breach escalates to the manager after 15s (built in: 4h)

Five recruiters own four jobs: Ana Lima and Sam Okafor are prompt (they answer within
a few seconds), Jordan Reyes and Lee Park are slow (late, or never); Morgan Blake is
everyone's manager and receives the escalations. A new application arrives every 1–2
seconds; recruiters answer, candidates write back, interviews are scheduled and then
completed (or missed, or never recorded), some candidates are rejected without being
told, some are hired, and many answer the candidate survey (0–10). Every simulated
event is printed as one line on stderr (--quiet hides them).

Alerts go to the log (GOODWILL_ALERTS=log): they appear on stderr as "msg=alert"
lines. If Twilio or SMTP is configured in the environment (see docs/configuration.md), they are
sent for real to the demo recruiters' example addresses and 555 numbers, so leave
those unset unless you mean it. Other GOODWILL_* variables apply as for serve, except
that the demo always uses a fresh embedded store.

The demo prints an admin key and the commands to explore it while it runs, e.g.:

  curl -s "http://127.0.0.1:8080/v1/sla/overdue?state=breached" -H "Authorization: Bearer $KEY"
  curl -s "http://127.0.0.1:8080/v1/alerts" -H "Authorization: Bearer $KEY"
  curl -s "http://127.0.0.1:8080/v1/applications/demo-app-1/timeline" -H "Authorization: Bearer $KEY"

It runs until Ctrl-C (or for --duration), then removes its data unless --keep.`

// Options are goodwill demo's flags.
type Options struct {
	Addr  string // listen address; port 0 picks a free port
	Keep  bool   // keep the temporary data directory on exit
	Quiet bool   // print no line per simulated event
}

// Run runs the service and the simulated ATS until ctx ends. The banner (key, URL,
// examples) goes to out; the service's log and the simulated events go to errOut.
func Run(ctx context.Context, o Options, getenv func(string) string, out, errOut io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "goodwill-demo-")
	if err != nil {
		return err
	}
	defer func() {
		if o.Keep {
			fmt.Fprintln(out, "goodwill demo: the data is kept in", dir)
			return
		}
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = rerr
		}
	}()

	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	key := "gw_" + hex.EncodeToString(raw[:])
	override := map[string]string{
		"GOODWILL_DATA_DIR":      dir,
		"GOODWILL_ADDR":          o.Addr,
		"GOODWILL_MONGODB_URI":   "", // the demo always runs on the embedded store
		"GOODWILL_DB":            "goodwill",
		"GOODWILL_BOOTSTRAP_KEY": key,
	}
	configured := func(names ...string) bool {
		for _, n := range names {
			if strings.TrimSpace(getenv(n)) != "" {
				return true
			}
		}
		return false
	}
	if !configured("GOODWILL_ALERTS") && !configured("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "GOODWILL_SMTP_URL") {
		override["GOODWILL_ALERTS"] = "log"
	}
	cfg, err := service.LoadConfig(func(name string) string {
		if v, ok := override[name]; ok {
			return v
		}
		return getenv(name)
	})
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	printer := &demoPrinter{w: errOut, quiet: o.Quiet}
	log := slog.New(demoLogHandler{slog.NewTextHandler(printer, &slog.HandlerOptions{Level: slog.LevelInfo})})
	var (
		wg       sync.WaitGroup
		setupErr error
	)
	ready := func(addr string) {
		base := demoBaseURL(addr)
		wg.Go(func() {
			sim := &demoSim{api: client.New(base, key, &http.Client{Timeout: 15 * time.Second}), print: printer}
			if err := sim.setup(ctx); err != nil {
				if ctx.Err() == nil {
					setupErr = fmt.Errorf("demo setup: %w", err)
					cancel()
				}
				return
			}
			printDemoBanner(out, base, key, dir, o.Keep, cfg.Alerts)
			sim.run(ctx)
		})
	}
	err = service.Run(ctx, cfg, log, ready)
	cancel()
	wg.Wait()
	if setupErr != nil {
		return setupErr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// demoBaseURL is the URL the service listening on addr answers at.
func demoBaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func printDemoBanner(w io.Writer, base, key, dir string, keep bool, alertsMode string) {
	kept := "removed on exit; --keep keeps it"
	if keep {
		kept = "kept on exit"
	}
	fmt.Fprintf(w, `
goodwill demo is running at %[1]s
  embedded store: %[3]s (%[4]s)
  alerts: GOODWILL_ALERTS=%[5]s (log = "msg=alert" lines on stderr)
  days are compressed into seconds: a first response is due in 20s, a reply in 15s,
  a silent candidate breaches after 30s, a missed interview 10s after its end,
  a silent rejection after 20s; breaches escalate to the manager after 15s.

Explore it (in another terminal):
  export KEY=%[2]s
  curl -s "%[1]s/v1/sla/overdue?state=breached" -H "Authorization: Bearer $KEY"
  curl -s "%[1]s/v1/alerts" -H "Authorization: Bearer $KEY"
  curl -s "%[1]s/v1/alerts?level=escalated" -H "Authorization: Bearer $KEY"
  curl -s "%[1]s/v1/applications/demo-app-1/timeline" -H "Authorization: Bearer $KEY"
  curl -s "%[1]s/v1/sla/policies" -H "Authorization: Bearer $KEY"

Press Ctrl-C to stop.

`, base, key, dir, kept, alertsMode)
}

// demoLogHandler drops the per-request access log lines below warning level, which
// would drown the alerts and the simulated events.
type demoLogHandler struct{ slog.Handler }

func (h demoLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "request" && r.Level < slog.LevelWarn {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h demoLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h demoLogHandler) WithGroup(name string) slog.Handler {
	return demoLogHandler{h.Handler.WithGroup(name)}
}

// demoPrinter serialises the lines of the service's log and of the simulation.
type demoPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
}

func (p *demoPrinter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Write(b)
}

// event prints one simulated event, unless quiet.
func (p *demoPrinter) event(format string, args ...any) {
	if p.quiet {
		return
	}
	line := time.Now().Format("15:04:05") + "  " + fmt.Sprintf(format, args...) + "\n"
	_, _ = p.Write([]byte(line))
}

// demoRecruiter is a simulated recruiter.
type demoRecruiter struct {
	id, name, email, phone string
	prompt                 bool
}

var demoManager = demoRecruiter{id: "demo-morgan", name: "Morgan Blake", email: "morgan.blake@example.com", phone: "+14155550140"}

var demoRecruiters = []demoRecruiter{
	{id: "demo-jordan", name: "Jordan Reyes", email: "jordan.reyes@example.com", phone: "+14155550143"},
	{id: "demo-ana", name: "Ana Lima", email: "ana.lima@example.com", phone: "+14155550141", prompt: true},
	{id: "demo-lee", name: "Lee Park", email: "lee.park@example.com", phone: "+14155550144"},
	{id: "demo-sam", name: "Sam Okafor", email: "sam.okafor@example.com", phone: "+14155550142", prompt: true},
}

// demoJobs are the open jobs; job i is owned by demoRecruiters[i].
var demoJobs = []struct{ id, title, department string }{
	{"demo-job-backend", "Backend Engineer", "Engineering"},
	{"demo-job-design", "Product Designer", "Design"},
	{"demo-job-sales", "Account Executive", "Sales"},
	{"demo-job-data", "Data Analyst", "Data"},
}

var (
	demoFirstNames = []string{"Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Tim", "Barbara",
		"Dennis", "Frances", "Ken", "Radia", "Guido", "Hedy", "John", "Sophie", "Carlos", "Mei",
		"Priya", "Omar", "Lena", "Kwame", "Yuki", "Ingrid"}
	demoLastNames = []string{"Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Berners",
		"Liskov", "Ritchie", "Allen", "Thompson", "Perlman", "Rossum", "Lamarr", "McCarthy", "Wilson",
		"Mendez", "Chen", "Sharma", "Haddad", "Novak", "Mensah", "Tanaka", "Berg"}
)

// demoPolicies are the compressed policies: metric, target.
var demoPolicies = []struct{ metric, name, target string }{
	{"first_response", "First response (demo: 20s)", "20s"},
	{"reply", "Reply to the candidate (demo: 15s)", "15s"},
	{"contact_gap", "Silent candidate (demo: 30s)", "30s"},
	{"interview_outcome", "Missed interview (demo: 10s)", "10s"},
	{"interview_feedback", "Interview feedback (demo: 20s)", "20s"},
	{"closure", "Closure after rejection (demo: 20s)", "20s"},
}

// demoSim is the simulated ATS: it talks to the service over its HTTP API.
type demoSim struct {
	api   *client.Client
	print *demoPrinter

	mu  sync.Mutex
	rng *mrand.Rand
}

// call makes one API request through f, retrying network errors and 5xx a few
// times; what names the request in errors.
func (s *demoSim) call(ctx context.Context, what string, f func() error) error {
	var last error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		err := f()
		var refused *client.Error
		switch {
		case err == nil:
			return nil
		case errors.As(err, &refused):
			err = fmt.Errorf("%s: %d %s: %s", what, refused.Status, http.StatusText(refused.Status), bytes.TrimSpace(refused.Body))
			if refused.Status < 500 {
				return err
			}
			last = err
		default:
			last = err
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return last
}

// do sends one API request with a JSON body (nil: none) and decodes the answer
// into out (nil: ignored), retrying as call does.
func (s *demoSim) do(ctx context.Context, method, path string, body, out any) error {
	return s.call(ctx, method+" "+path, func() error {
		_, err := s.api.Do(ctx, method, path, body, out)
		return err
	})
}

// setup installs the compressed policies and the recruiters.
func (s *demoSim) setup(ctx context.Context) error {
	s.rng = mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	for _, p := range demoPolicies {
		err := s.do(ctx, http.MethodPut, "/v1/sla/policies/"+p.metric, map[string]any{
			"name": p.name, "metric": p.metric, "target": p.target, "calendar": "24x7",
			"warn_ratio": 0.5, "escalate_after": "15s", "enabled": true,
		}, nil)
		if err != nil {
			return err
		}
	}
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	put := func(r demoRecruiter, team, manager string) error {
		body := map[string]any{
			"name": r.name, "email": r.email, "phone": r.phone, "team": team,
			"channels":     map[string][]string{"warning": {"email"}, "breached": {"sms", "email"}, "escalated": {"sms", "email"}},
			"working_days": everyDay, // the demo never sleeps: no deferred alerts
		}
		if manager != "" {
			body["manager_id"] = manager
		}
		return s.do(ctx, http.MethodPut, "/v1/recruiters/"+r.id, body, nil)
	}
	if err := put(demoManager, "Talent", ""); err != nil {
		return err
	}
	for i, r := range demoRecruiters {
		if err := put(r, demoJobs[i].department, demoManager.id); err != nil {
			return err
		}
	}
	return nil
}

// intn and between are the simulation's random numbers, safe for its goroutines.
func (s *demoSim) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

func (s *demoSim) chance(p float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < p
}

func (s *demoSim) between(lo, hi time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)+1))
}

// run feeds applications until ctx ends, and prints a summary now and then.
func (s *demoSim) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.summaries(ctx) })
	for n := 1; ; n++ {
		job := s.intn(len(demoJobs))
		if n == 1 {
			job = 0 // the first candidate waits on a slow recruiter: a breach within ~20s
		}
		wg.Go(func() { s.application(ctx, n, job) })
		if !demoSleep(ctx, s.between(time.Second, 2*time.Second)) {
			return
		}
	}
}

// summaries prints the overdue clocks and alerts every 15 seconds.
func (s *demoSim) summaries(ctx context.Context) {
	for demoSleep(ctx, 15*time.Second) {
		var overdue struct {
			Items []struct {
				State string `json:"state"`
			} `json:"items"`
		}
		var list struct {
			Alerts []struct {
				Level string `json:"level"`
			} `json:"alerts"`
		}
		if s.do(ctx, http.MethodGet, "/v1/sla/overdue", nil, &overdue) != nil ||
			s.do(ctx, http.MethodGet, "/v1/alerts?limit=1000", nil, &list) != nil {
			continue
		}
		states, levels := map[string]int{}, map[string]int{}
		for _, it := range overdue.Items {
			states[it.State]++
		}
		for _, a := range list.Alerts {
			levels[a.Level]++
		}
		s.print.event("== clocks: %d warning, %d breached; alerts: %d warning, %d breached, %d escalated",
			states["warning"], states["breached"], levels["warning"], levels["breached"], levels["escalated"])
	}
}

// demoSleep waits d or until ctx ends; it reports whether ctx is still live.
func demoSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// demoApp is one simulated application.
type demoApp struct {
	s         *demoSim
	id, cand  string
	name      string
	job       int
	recruiter demoRecruiter
	events    int
}

// post records one event of the application, occurring now: it carries its
// application, candidate, recruiter and job, and an external id of its own.
func (a *demoApp) post(ctx context.Context, kind string, it client.Interaction) bool {
	a.events++
	it.ApplicationID, it.CandidateID, it.Kind = a.id, a.cand, kind
	it.OccurredAt = time.Now().UTC()
	it.Source, it.ExternalID = "demo-ats", fmt.Sprintf("%s-%d", a.id, a.events)
	it.RecruiterID, it.JobID = a.recruiter.id, demoJobs[a.job].id
	err := a.s.call(ctx, "POST /v1/interactions", func() error {
		_, err := a.s.api.PostInteractions(ctx, []client.Interaction{it})
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			a.s.print.event("!! %s: %v", a.id, err)
		}
		return false
	}
	return true
}

// respond waits as the recruiter would before acting: a few seconds if prompt;
// otherwise past the deadline, or (never=true) not at all.
func (a *demoApp) respond(ctx context.Context, neverChance float64) bool {
	if a.recruiter.prompt {
		return demoSleep(ctx, a.s.between(2*time.Second, 5*time.Second))
	}
	if a.s.chance(neverChance) {
		return false
	}
	return demoSleep(ctx, a.s.between(22*time.Second, 40*time.Second))
}

func (a *demoApp) say(format string, args ...any) {
	a.s.print.event("%-12s %-18s %s", a.id, a.name, fmt.Sprintf(format, args...))
}

func (a *demoApp) style() string {
	if a.recruiter.prompt {
		return "prompt"
	}
	return "slow"
}

// application plays one application's story.
func (s *demoSim) application(ctx context.Context, n, job int) {
	first := demoFirstNames[s.intn(len(demoFirstNames))]
	last := demoLastNames[s.intn(len(demoLastNames))]
	a := &demoApp{
		s: s, id: fmt.Sprintf("demo-app-%d", n), cand: fmt.Sprintf("demo-cand-%d", n),
		name: first + " " + last, job: job, recruiter: demoRecruiters[job],
	}
	j := demoJobs[job]
	if !a.post(ctx, "application_received", client.Interaction{
		Channel: "portal",
		Candidate: &client.Person{
			Name:  a.name,
			Email: strings.ToLower(first+"."+last) + fmt.Sprintf("%d@example.com", n),
			Phone: fmt.Sprintf("+1202555%04d", 100+n%100), // 555-0100…0199: fictional
		},
		Job: &client.Job{Title: j.title, Department: j.department},
	}) {
		return
	}
	a.say("applied for %s (recruiter %s, %s)", j.title, a.recruiter.name, a.style())

	// First response.
	if !a.respond(ctx, 0.35) {
		if ctx.Err() == nil {
			a.say("is still waiting: %s never answered", a.recruiter.name)
		}
		return
	}
	if !a.post(ctx, "message", client.Interaction{Direction: "outbound", Channel: "email"}) {
		return
	}
	a.say("got an email from %s", a.recruiter.name)

	// The candidate writes back with a question.
	if s.chance(0.5) {
		if !demoSleep(ctx, s.between(2*time.Second, 4*time.Second)) {
			return
		}
		ch := "email"
		if s.chance(0.4) {
			ch = "sms"
		}
		if !a.post(ctx, "message", client.Interaction{Direction: "inbound", Channel: ch}) {
			return
		}
		a.say("asked a question by %s", ch)
		if !a.respond(ctx, 0.4) {
			if ctx.Err() == nil {
				a.say("never got an answer")
			}
			return
		}
		if !a.post(ctx, "message", client.Interaction{Direction: "outbound", Channel: ch}) {
			return
		}
		a.say("got an answer from %s", a.recruiter.name)
	}

	// Screened out early, or invited to interview.
	if s.chance(0.25) {
		if !demoSleep(ctx, s.between(2*time.Second, 5*time.Second)) {
			return
		}
		a.reject(ctx)
		return
	}
	if !demoSleep(ctx, s.between(time.Second, 3*time.Second)) {
		return
	}
	start := time.Now().Add(4 * time.Second)
	interview := a.id + "-int-1"
	scheduledFor := start.UTC()
	if !a.post(ctx, "interview_scheduled", client.Interaction{
		InterviewID: interview, Channel: "video", ScheduledFor: &scheduledFor, Duration: "6s",
	}) {
		return
	}
	a.say("has a video interview in 4s")
	if !demoSleep(ctx, time.Until(start.Add(6*time.Second))) {
		return
	}
	// The outcome: prompt recruiters record it at once; slow ones late or never.
	if a.recruiter.prompt {
		if !demoSleep(ctx, s.between(time.Second, 3*time.Second)) {
			return
		}
	} else {
		if s.chance(0.5) {
			a.say("interview ended; nobody recorded how it went")
			return
		}
		if !demoSleep(ctx, s.between(5*time.Second, 14*time.Second)) {
			return
		}
	}
	if s.chance(0.15) {
		if a.post(ctx, "interview_no_show", client.Interaction{InterviewID: interview}) {
			a.say("did not show up for the interview")
		}
		if demoSleep(ctx, s.between(2*time.Second, 5*time.Second)) {
			a.reject(ctx)
		}
		return
	}
	if !a.post(ctx, "interview_completed", client.Interaction{InterviewID: interview, Channel: "video"}) {
		return
	}
	a.say("had the interview")
	if !demoSleep(ctx, s.between(2*time.Second, 4*time.Second)) {
		return
	}
	if a.recruiter.prompt || s.chance(0.5) {
		if !a.post(ctx, "feedback_submitted", client.Interaction{InterviewID: interview}) {
			return
		}
		a.say("interview feedback is in")
	}
	if !demoSleep(ctx, s.between(2*time.Second, 5*time.Second)) {
		return
	}
	if s.chance(0.4) {
		if !a.post(ctx, "offer_extended", client.Interaction{Channel: "email"}) {
			return
		}
		a.say("received an offer")
		if !demoSleep(ctx, s.between(3*time.Second, 6*time.Second)) {
			return
		}
		if !a.post(ctx, "hired", client.Interaction{Channel: "email"}) {
			return
		}
		a.say("accepted: hired for %s", j.title)
		a.survey(ctx)
		return
	}
	a.reject(ctx)
}

// reject ends the application: prompt recruiters tell the candidate, slow ones often
// do not (the closure clock runs until someone does).
func (a *demoApp) reject(ctx context.Context) {
	if a.recruiter.prompt || a.s.chance(0.3) {
		if a.post(ctx, "rejected", client.Interaction{CandidateNotified: true, Channel: "email"}) {
			a.say("was rejected, with a kind email")
			a.survey(ctx)
		}
		return
	}
	if !a.post(ctx, "rejected", client.Interaction{Channel: "ats"}) {
		return
	}
	a.say("was rejected in the ATS without being told")
	if a.s.chance(0.5) {
		return // never told
	}
	if !demoSleep(ctx, a.s.between(25*time.Second, 40*time.Second)) {
		return
	}
	if a.post(ctx, "message", client.Interaction{Direction: "outbound", Channel: "email"}) {
		a.say("was finally told about the rejection")
		a.survey(ctx)
	}
}

// survey records the candidate's answer to "would you recommend us?" (0–10), if any.
func (a *demoApp) survey(ctx context.Context) {
	if !a.s.chance(0.7) || !demoSleep(ctx, a.s.between(2*time.Second, 6*time.Second)) {
		return
	}
	score := 2 + a.s.intn(5) // 2–6
	if a.recruiter.prompt {
		score = 7 + a.s.intn(4) // 7–10
	}
	if a.post(ctx, "survey_response", client.Interaction{Score: &score, Channel: "email"}) {
		a.say("answered the survey: %d/10", score)
	}
}
