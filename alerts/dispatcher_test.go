package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
	"github.com/goodwillhq/goodwill/sla"
)

// The dispatcher's tests drive the pipeline by hand: a controllable clock, fakes for the
// channels, a real directory and outbox on the test store, and flush() called directly
// (the run loop is never started, except in TestRunLoop), so nothing sleeps.

// t0 is a Wednesday afternoon (UTC): a working moment for everyone by default.
var t0 = time.Date(2026, 11, 4, 15, 0, 0, 0, time.UTC)

// utc parses "01-02 15:04" as that moment of t0's year in UTC (11-07 is a Saturday).
func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", "2026-"+s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// errWentOut marks a scripted Ambiguous failure after which the message did reach the
// provider (Lookup finds it); without it, an Ambiguous failure lost the message.
var errWentOut = errors.New("timeout after the request was written")

func retryErr() error {
	return &SendError{Failure: Retryable, Err: errors.New("503 service unavailable")}
}
func ambiguousErr(wentOut bool) error {
	if wentOut {
		return &SendError{Failure: Ambiguous, Err: errWentOut}
	}
	return &SendError{Failure: Ambiguous, Err: errors.New("connection reset before the answer")}
}

// sends is what a fake channel shares: every Send, those that went out, and the
// answers scripted for the next Sends.
type sends[M any] struct {
	mu    sync.Mutex
	calls []M     // every Send, answered or not
	out   []M     // the Sends that went out
	errs  []error // the answers of the next Sends; nil is success
}

// answer returns the next scripted answer. The caller holds mu.
func (s *sends[M]) answer() error {
	var err error
	if len(s.errs) > 0 {
		err, s.errs = s.errs[0], s.errs[1:]
	}
	return err
}

// sent returns the Sends that went out.
func (s *sends[M]) sent() []M {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.out)
}

func (s *sends[M]) numCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

type sentSMS struct{ To, Body, Ref string }

// fakeSMS records every Send and answers with the scripted errors in turn (then
// success). Like Twilio, it refuses a body that does not carry its ref, and Lookup
// finds what went out.
type fakeSMS struct {
	sends[sentSMS]
	errsTo    map[string][]error // the same as errs, for Sends to one number (first)
	provider  map[string]string  // to|ref → provider id of the messages that went out
	lookups   []string           // the refs looked up
	lookupErr error
	redacted  []string                 // provider ids redacted
	gates     map[string]chan struct{} // a Send to the number waits until its gate closes
	holds     map[string]chan struct{} // the same, after the message went out
}

func (f *fakeSMS) Redact(_ context.Context, providerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redacted = append(f.redacted, providerID)
	return nil
}

func (f *fakeSMS) Send(_ context.Context, to, body, ref string) (string, error) {
	f.mu.Lock()
	gate := f.gates[to]
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, sentSMS{to, body, ref})
	var err error
	if q := f.errsTo[to]; len(q) > 0 {
		err, f.errsTo[to] = q[0], q[1:]
	} else {
		err = f.answer()
	}
	if err == nil && !strings.Contains(body, ref) {
		err = &SendError{Failure: Permanent, Err: fmt.Errorf("the body does not contain the ref %q", ref)}
	}
	id := fmt.Sprintf("SM%032d", len(f.calls))
	if err == nil || errors.Is(err, errWentOut) {
		if f.provider == nil {
			f.provider = map[string]string{}
		}
		f.provider[to+"|"+ref] = id
		f.out = append(f.out, sentSMS{to, body, ref})
	}
	hold := f.holds[to]
	if err != nil {
		return "", err
	}
	if hold != nil {
		f.mu.Unlock()
		<-hold
		f.mu.Lock()
	}
	return id, nil
}

func (f *fakeSMS) Lookup(_ context.Context, to, ref string, _ time.Time) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, ref)
	if f.lookupErr != nil {
		return "", false, f.lookupErr
	}
	id, ok := f.provider[to+"|"+ref]
	return id, ok, nil
}

type sentEmail struct{ To, Subject, Text, HTML, MessageID string }

// fakeEmail records every Send and answers with the scripted errors in turn (then
// success).
type fakeEmail struct{ sends[sentEmail] }

func (f *fakeEmail) Send(_ context.Context, to, subject, text, html, messageID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := sentEmail{to, subject, text, html, messageID}
	f.calls = append(f.calls, m)
	err := f.answer()
	if err == nil {
		f.out = append(f.out, m)
	}
	return err
}

// fakeNames names candidates "cand-<app>" and the job "job-eng".
type fakeNames map[string]string

func (n fakeNames) Candidate(_ context.Context, id string) (interactions.Candidate, error) {
	if name, ok := n[id]; ok {
		return interactions.Candidate{ID: id, Name: name}, nil
	}
	return interactions.Candidate{}, interactions.Errorf(interactions.CodeNotFound, "no candidate %q", id)
}

func (n fakeNames) Job(_ context.Context, id string) (interactions.JobInfo, error) {
	if id == "job-eng" {
		return interactions.JobInfo{Title: "Senior Engineer"}, nil
	}
	return interactions.JobInfo{}, interactions.Errorf(interactions.CodeNotFound, "no job %q", id)
}

var candidateNames = fakeNames{
	"cand-a1": "Ada Lovelace", "cand-a2": "Grace Hopper", "cand-a3": "Katherine Johnson",
	"cand-a4": "Dorothy Vaughan", "cand-a5": "Mary Jackson", "cand-a6": "Hedy Lamarr",
	"cand-a7": "Radia Perlman", "cand-a8": "Barbara Liskov",
}

// smsOnly is alice with breaches sent by SMS alone, so email is only ever a fallback.
var smsOnly = directory.Recruiter{ID: "alice", Phone: alicePhone, Email: aliceEmail, Channels: directory.Channels{Breached: []string{"sms"}}}

const (
	alicePhone = "+14155550101"
	aliceEmail = "alice@example.com"
	bossPhone  = "+14155550102"
	bobPhone   = "+14155550103"
	dellaPhone = "+14155550104"
)

type harness struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeClock
	sms   *fakeSMS
	email *fakeEmail
	cfg   Config
	store *Store
	dir   *directory.Store
	d     *Dispatcher
}

// newHarness returns a dispatcher (not started) at t0 with SMS and email on, whose
// policy "first_response" escalates after 10 minutes; mod changes its configuration.
// The directory holds alice (manager boss) and boss.
func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	db := storagetest.NewDB(t)
	h := &harness{t: t, ctx: context.Background(), clock: &fakeClock{now: t0}, sms: &fakeSMS{}, email: &fakeEmail{}}
	h.store, h.dir = NewStore(db), directory.NewStore(db)
	h.cfg = Config{
		Store: h.store, Directory: h.dir, Names: candidateNames, SMS: h.sms, Email: h.email, Mode: "on",
		Link: func(id string, now time.Time) string {
			return "https://gw.example/alerts/" + url.PathEscape(id) + "/ack?exp=" + fmt.Sprint(now.Add(72*time.Hour).Unix()) + "&sig=s"
		},
		EscalateAfter: func(policyID string) time.Duration {
			if policyID == "first_response" {
				return 10 * time.Minute
			}
			return 0
		},
		Log: slog.New(slog.DiscardHandler),
		Now: h.clock.Now,
	}
	if mod != nil {
		mod(&h.cfg)
	}
	h.d = New(h.cfg)
	h.put(directory.Recruiter{ID: "alice", Name: "Alice", Phone: alicePhone, Email: aliceEmail, ManagerID: "boss"})
	h.put(directory.Recruiter{ID: "boss", Name: "Boss", Phone: bossPhone, Email: "boss@example.com"})
	return h
}

func (h *harness) put(r directory.Recruiter) {
	h.t.Helper()
	if errs := r.Validate([]string{"US"}); len(errs) > 0 {
		h.t.Fatalf("recruiter %s: %v", r.ID, errs)
	}
	if _, err := h.dir.Put(h.ctx, r); err != nil {
		h.t.Fatal(err)
	}
}

// fire hands a transition to the dispatcher at the clock's time.
func (h *harness) fire(f sla.Fired) {
	h.t.Helper()
	if err := h.d.Transition(h.ctx, f); err != nil {
		h.t.Fatalf("Transition: %v", err)
	}
}

// fireAt sets the clock and fires.
func (h *harness) fireAt(at time.Duration, f sla.Fired) {
	h.t.Helper()
	h.clock.Set(t0.Add(at))
	h.fire(f)
}

// flushAt sets the clock to t0+at and runs the pipeline once.
func (h *harness) flushAt(at time.Duration) {
	h.clock.Set(t0.Add(at))
	h.d.flush()
}

func (h *harness) alert(id string) Alert {
	h.t.Helper()
	a, err := h.store.Get(h.ctx, id)
	if err != nil {
		h.t.Fatalf("alert %s: %v", id, err)
	}
	return a
}

// sms1 returns the SMS delivery of app's breach to alice.
func (h *harness) sms1(app string) Delivery {
	h.t.Helper()
	a := h.alert(breachID(app))
	d := a.deliveryTo("sms", alicePhone)
	if d == nil {
		h.t.Fatalf("no SMS delivery: %+v", a.Deliveries)
	}
	return *d
}

func (h *harness) all() []Alert {
	h.t.Helper()
	list, err := h.store.List(h.ctx, Filter{})
	if err != nil {
		h.t.Fatal(err)
	}
	return list
}

// restart replaces the dispatcher with a new one on the same store, as a redeploy
// does: Start loads the unfinished alerts; its run loop is stopped again at once so
// that the test keeps driving flush by hand.
func (h *harness) restart() {
	h.t.Helper()
	h.d = New(h.cfg)
	if err := h.d.Start(h.ctx); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	h.d.Close()
}

// fired is a transition of application app's first_response clock, for recruiter.
func fired(app, recruiter string, state sla.State) sla.Fired {
	due := t0
	if state == sla.StateWarning {
		due = t0.Add(30 * time.Minute)
	}
	return sla.Fired{
		ID: "clk-" + app + "|" + string(state), ClockID: "clk-" + app, ApplicationID: app, CandidateID: "cand-" + app,
		RecruiterID: recruiter, JobID: "job-eng", PolicyID: "first_response", Metric: sla.MetricFirstResponse,
		State: state, At: due, DueAt: due, StartedBy: "in-" + app, Alert: true,
	}
}

func breachID(app string) string  { return AlertID("in-"+app, "first_response", LevelBreached) }
func warningID(app string) string { return AlertID("in-"+app, "first_response", LevelWarning) }

// deliveries renders an alert's deliveries as "channel to status".
func deliveries(a Alert) []string {
	out := []string{}
	for _, d := range a.Deliveries {
		out = append(out, d.Channel+" "+d.To+" "+d.Status)
	}
	return out
}

func expectDeliveries(t *testing.T, a Alert, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := deliveries(a); !slices.Equal(got, want) {
		t.Fatalf("alert %s deliveries %q, want %q", a.ID, got, want)
	}
}

// unalerted is f recorded without alerting (imported history, a policy change).
func unalerted(f sla.Fired) sla.Fired {
	f.Alert = false
	return f
}

func TestRoute(t *testing.T) {
	t.Parallel()
	var (
		aliceBreach  = fired("a1", "alice", sla.StateBreached)
		aliceWarning = fired("a1", "alice", sla.StateWarning)
		carolBreach  = fired("a1", "carol", sla.StateBreached)
		delegate     = directory.Recruiter{ID: "della", Phone: dellaPhone}
		team         = directory.Recruiter{ID: "default", Email: "team@example.com"}
	)
	tests := []struct {
		name      string
		mod       func(*Config)
		put       []directory.Recruiter // into the directory, after alice and boss
		f         sla.Fired
		noAlert   bool
		recipient string
		want      []string
	}{
		{name: "breach: sms and email by default", f: aliceBreach,
			recipient: "alice", want: []string{"sms " + alicePhone + " pending", "email " + aliceEmail + " pending"}},
		{name: "warning: email by default", f: aliceWarning,
			recipient: "alice", want: []string{"email " + aliceEmail + " pending"}},
		{name: "the recruiter's channels", f: aliceWarning,
			put:       []directory.Recruiter{{ID: "alice", Phone: alicePhone, Email: aliceEmail, Channels: directory.Channels{Warning: []string{"sms"}}}},
			recipient: "alice", want: []string{"sms " + alicePhone + " pending"}},
		{name: "a level turned off", f: aliceBreach,
			put:       []directory.Recruiter{{ID: "alice", Phone: alicePhone, Email: aliceEmail, Channels: directory.Channels{Breached: []string{}}}},
			recipient: "alice"},
		{name: "no phone: email only", f: carolBreach,
			put:       []directory.Recruiter{{ID: "carol", Email: "carol@example.com"}},
			recipient: "carol", want: []string{"email carol@example.com pending"}},
		{name: "no email: sms only", f: carolBreach,
			put:       []directory.Recruiter{{ID: "carol", Phone: "+14155550109"}},
			recipient: "carol", want: []string{"sms +14155550109 pending"}},
		{name: "neither: nothing to deliver", f: carolBreach,
			put:       []directory.Recruiter{{ID: "carol"}},
			recipient: "carol"},
		{name: "sms off: a log line instead", f: aliceBreach,
			mod:       func(c *Config) { c.SMS = nil },
			recipient: "alice", want: []string{"log alice pending", "email " + aliceEmail + " pending"}},
		{name: "both off: one log line", f: aliceBreach,
			mod:       func(c *Config) { c.SMS, c.Email = nil, nil },
			recipient: "alice", want: []string{"log alice pending"}},
		{name: "GOODWILL_ALERTS=log", f: aliceBreach,
			mod:       func(c *Config) { c.Mode = "log" },
			recipient: "alice", want: []string{"log alice pending"}},
		{name: "GOODWILL_ALERTS=off", f: aliceBreach,
			mod: func(c *Config) { c.Mode = "off" }, noAlert: true},
		{name: "away: the delegate", f: aliceBreach,
			put: []directory.Recruiter{delegate,
				{ID: "alice", Phone: alicePhone, Email: aliceEmail, DelegateID: "della", AwayUntil: ptr(t0.Add(24 * time.Hour))}},
			recipient: "della", want: []string{"sms " + dellaPhone + " pending"}},
		{name: "back from away: the recruiter", f: aliceBreach,
			put: []directory.Recruiter{delegate,
				{ID: "alice", Phone: alicePhone, DelegateID: "della", AwayUntil: ptr(t0.Add(-time.Minute))}},
			recipient: "alice", want: []string{"sms " + alicePhone + " pending"}},
		{name: "unknown recruiter: default", f: fired("a1", "nobody", sla.StateBreached),
			put:       []directory.Recruiter{team},
			recipient: "default", want: []string{"email team@example.com pending"}},
		{name: "no recruiter on the application: default", f: fired("a1", "", sla.StateBreached),
			put:       []directory.Recruiter{team},
			recipient: "default", want: []string{"email team@example.com pending"}},
		{name: "unknown recruiter, no default: recorded, undeliverable", f: fired("a1", "nobody", sla.StateBreached),
			recipient: "nobody"},
		{name: "not alerting: nothing", f: unalerted(aliceBreach),
			noAlert: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.mod)
			for _, r := range tt.put {
				h.put(r)
			}
			h.fire(tt.f)
			level := LevelBreached
			if tt.f.State == sla.StateWarning {
				level = LevelWarning
			}
			a, err := h.store.Get(h.ctx, AlertID(tt.f.StartedBy, string(tt.f.Metric), level))
			if tt.noAlert {
				if interactions.ErrorCode(err) != interactions.CodeNotFound {
					t.Fatalf("want no alert, got %+v (%v)", a, err)
				}
				h.flushAt(2 * time.Minute)
				if h.sms.numCalls()+h.email.numCalls() != 0 {
					t.Fatal("something was sent")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.RecruiterID != tt.recipient || a.OwnerID != tt.f.RecruiterID || a.State != StateOpen || a.Level != level ||
				len(a.Code) != 4 || !a.CreatedAt.Equal(t0) || a.ClockID != tt.f.ClockID || a.CandidateID != tt.f.CandidateID {
				t.Fatalf("alert %+v", a)
			}
			expectDeliveries(t, a, tt.want...)

			// Everything routed goes out once its grouping window has passed; log lines
			// are "sent" too.
			h.flushAt(time.Minute)
			a = h.alert(a.ID)
			var sent []string
			for _, d := range a.Deliveries {
				if d.Status != DeliverySent || d.Attempts != 1 {
					t.Fatalf("after the window: %+v", a.Deliveries)
				}
				sent = append(sent, d.Channel)
			}
			if n := h.sms.numCalls(); n != strings.Count(strings.Join(sent, " "), "sms") {
				t.Fatalf("%d SMS for deliveries %q", n, sent)
			}
			if n := h.email.numCalls(); n != strings.Count(strings.Join(sent, " "), "email") {
				t.Fatalf("%d emails for deliveries %q", n, sent)
			}
		})
	}
}

func TestGroup(t *testing.T) {
	t.Parallel()

	t.Run("breaches within a second are one message", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fireAt(0, fired("a1", "alice", sla.StateBreached))
		h.fireAt(400*time.Millisecond, fired("a2", "alice", sla.StateBreached))
		h.fireAt(900*time.Millisecond, fired("a3", "alice", sla.StateBreached))
		h.flushAt(999 * time.Millisecond)
		if h.sms.numCalls() != 0 || h.email.numCalls() != 0 {
			t.Fatal("sent before the window closed")
		}
		h.flushAt(time.Second)
		sms, mails := h.sms.sent(), h.email.sent()
		if len(sms) != 1 || len(mails) != 1 {
			t.Fatalf("%d SMS and %d emails, want one of each", len(sms), len(mails))
		}
		// The SMS names whom it has room for (with their codes) and counts the rest.
		named := 0
		for _, app := range []string{"a1", "a2", "a3"} {
			a := h.alert(breachID(app))
			name := candidateNames["cand-"+app]
			if strings.Contains(sms[0].Body, name) && strings.Contains(sms[0].Body, "(ACK "+a.Code+")") {
				named++
			}
			if !strings.Contains(mails[0].Text, name) || !strings.Contains(mails[0].HTML, name) || !strings.Contains(mails[0].Text, a.Code) {
				t.Errorf("the email does not name %s (%s):\n%s", name, a.Code, mails[0].Text)
			}
			if sms := a.deliveryTo("sms", alicePhone); sms.Status != DeliverySent || sms.ProviderID != h.sms.provider[alicePhone+"|"+sms0Ref(h)] {
				t.Errorf("%s: %+v", app, a.Deliveries)
			}
			expectDeliveries(t, a, "sms "+alicePhone+" sent", "email "+aliceEmail+" sent")
		}
		if !strings.HasPrefix(sms[0].Body, "goodwill: 3 candidates are waiting") || named == 0 ||
			(named < 3 && !strings.Contains(sms[0].Body, fmt.Sprintf("+%d more", 3-named))) {
			t.Errorf("SMS %q", sms[0].Body)
		}
		h.flushAt(time.Hour)
		if h.sms.numCalls() != 1 || h.email.numCalls() != 1 {
			t.Fatal("sent again")
		}
	})

	t.Run("a breach after the message went out is a new message", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fireAt(0, fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		h.fireAt(1500*time.Millisecond, fired("a2", "alice", sla.StateBreached))
		h.flushAt(2 * time.Second)
		if n := h.sms.numCalls(); n != 1 {
			t.Fatalf("%d SMS before the second window closed", n)
		}
		h.flushAt(2500 * time.Millisecond)
		sms := h.sms.sent()
		if len(sms) != 2 || strings.Contains(sms[1].Body, "Ada Lovelace") || !strings.Contains(sms[1].Body, "Grace Hopper") {
			t.Fatalf("SMS %q", sms)
		}
	})

	t.Run("warnings wait up to a minute", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fireAt(0, fired("a1", "alice", sla.StateWarning))
		h.fireAt(20*time.Second, fired("a2", "alice", sla.StateWarning))
		h.flushAt(59 * time.Second)
		if h.email.numCalls() != 0 {
			t.Fatal("a warning went out before its minute")
		}
		h.flushAt(time.Minute)
		mails := h.email.sent()
		if len(mails) != 1 || !strings.Contains(mails[0].Text, "Ada Lovelace") || !strings.Contains(mails[0].Text, "Grace Hopper") {
			t.Fatalf("emails %+v", mails)
		}
		if h.sms.numCalls() != 0 {
			t.Fatal("a warning went by SMS")
		}
		expectDeliveries(t, h.alert(warningID("a2")), "email "+aliceEmail+" sent")
	})

	t.Run("a breach takes waiting warnings along", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fireAt(0, fired("a1", "alice", sla.StateWarning))
		h.fireAt(5*time.Second, fired("a2", "alice", sla.StateBreached))
		h.flushAt(6 * time.Second)
		mails, sms := h.email.sent(), h.sms.sent()
		if len(mails) != 1 || len(sms) != 1 {
			t.Fatalf("%d emails, %d SMS", len(mails), len(sms))
		}
		if !strings.Contains(mails[0].Text, "Ada Lovelace") || !strings.Contains(mails[0].Text, "Grace Hopper") {
			t.Fatalf("the email does not carry both:\n%s", mails[0].Text)
		}
		expectDeliveries(t, h.alert(warningID("a1")), "email "+aliceEmail+" sent")
		h.flushAt(2 * time.Minute)
		if h.email.numCalls() != 1 {
			t.Fatal("the warning went out again at the end of its minute")
		}
	})

	t.Run("recipients get their own messages", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(directory.Recruiter{ID: "bob", Phone: bobPhone})
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.fire(fired("a2", "bob", sla.StateBreached))
		h.flushAt(time.Second)
		var to []string
		for _, s := range h.sms.sent() {
			to = append(to, s.To)
		}
		slices.Sort(to)
		if !slices.Equal(to, []string{alicePhone, bobPhone}) {
			t.Fatalf("SMS to %q", to)
		}
	})

	t.Run("the SMS carries the reference it is sent and looked up by", func(t *testing.T) {
		// A group too long for one SMS is summarised ("+N more"); the reference must
		// still be in the body, or Twilio's sender refuses it.
		t.Parallel()
		h := newHarness(t, nil)
		h.put(directory.Recruiter{ID: "alice", Phone: alicePhone, Channels: directory.Channels{Warning: []string{"sms"}}})
		h.fireAt(0, fired("a1", "alice", sla.StateWarning)) // the oldest: listed last
		for i := 2; i <= 8; i++ {
			h.fireAt(time.Duration(i)*100*time.Millisecond, fired(fmt.Sprintf("a%d", i), "alice", sla.StateBreached))
		}
		h.flushAt(2 * time.Second)
		calls := h.sms.calls
		if len(calls) != 1 || !strings.Contains(calls[0].Body, calls[0].Ref) || len(h.sms.sent()) != 1 {
			t.Fatalf("SMS %+v", calls)
		}
		for i := 1; i <= 8; i++ {
			id := breachID(fmt.Sprintf("a%d", i))
			if i == 1 {
				id = warningID("a1")
			}
			expectDeliveries(t, h.alert(id), "sms "+alicePhone+" sent")
		}
	})

	t.Run("the email's Message-ID is the alert's", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		a := h.alert(breachID("a1"))
		mails := h.email.sent()
		want := "<" + a.Code + ".20261104150000.000@goodwill>"
		if len(mails) != 1 || mails[0].MessageID != want || mails[0].To != aliceEmail {
			t.Fatalf("emails %+v, want Message-ID %s", mails, want)
		}
	})
}

// sms0Ref is the ref of the first SMS sent.
func sms0Ref(h *harness) string {
	h.sms.mu.Lock()
	defer h.sms.mu.Unlock()
	return h.sms.calls[0].Ref
}

func TestDedupe(t *testing.T) {
	t.Parallel()

	t.Run("the same transition twice is one alert", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *Config) { c.EscalateAfter = nil })
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.fireAt(500*time.Millisecond, fired("a1", "alice", sla.StateBreached))
		// Another replica (or the next start) handed the same transition.
		other := New(h.cfg)
		if err := other.Transition(h.ctx, fired("a1", "alice", sla.StateBreached)); err != nil {
			t.Fatal(err)
		}
		h.flushAt(2 * time.Second)
		other.flush()
		if n := len(h.all()); n != 1 {
			t.Fatalf("%d alerts", n)
		}
		if h.sms.numCalls() != 1 || h.email.numCalls() != 1 {
			t.Fatalf("%d SMS, %d emails", h.sms.numCalls(), h.email.numCalls())
		}
		// Handed again after it was sent: still nothing new.
		h.fireAt(time.Hour, fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Hour + 2*time.Second)
		if h.sms.numCalls() != 1 || h.email.numCalls() != 1 || len(h.all()) != 1 {
			t.Fatal("sent again")
		}
	})

	t.Run("warning and breach of one clock are two alerts", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateWarning))
		h.fire(fired("a1", "alice", sla.StateBreached))
		w, b := h.alert(warningID("a1")), h.alert(breachID("a1"))
		if w.Code == b.Code || w.Level != LevelWarning || b.Level != LevelBreached {
			t.Fatalf("warning %+v, breach %+v", w, b)
		}
	})

	t.Run("transitions recorded without alerting alert nothing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		for _, st := range []sla.State{sla.StateWarning, sla.StateBreached} {
			f := fired("a1", "alice", st)
			f.Alert = false
			h.fire(f)
		}
		h.flushAt(time.Hour)
		if n := len(h.all()); n != 0 || h.sms.numCalls()+h.email.numCalls() != 0 {
			t.Fatalf("%d alerts, %d SMS, %d emails", n, h.sms.numCalls(), h.email.numCalls())
		}
	})
}

func TestDefer(t *testing.T) {
	t.Parallel()
	// alice (phone and email) with her time zone, quiet hours and working days.
	aliceIn := func(zone string, quiet *directory.QuietHours, days ...string) directory.Recruiter {
		return directory.Recruiter{ID: "alice", Phone: alicePhone, Email: aliceEmail, Timezone: zone, QuietHours: quiet, WorkingDays: days}
	}
	ny := aliceIn("America/New_York", &directory.QuietHours{Start: "20:00", End: "08:00"})
	tests := []struct {
		name  string
		r     directory.Recruiter
		at    time.Time // when the breach fires
		until time.Time // when it goes out; zero: at once
	}{
		{"quiet hours in the recruiter's zone", ny,
			utc("11-05 02:00"),  // Wed 21:00 in New York
			utc("11-05 13:00")}, // Thu 08:00 in New York
		{"outside quiet hours", ny, t0, time.Time{}},
		{"a weekend", aliceIn("", nil),
			utc("11-07 15:00"),  // Saturday
			utc("11-09 00:00")}, // Monday
		{"a weekend, then quiet hours", aliceIn("Europe/Berlin", &directory.QuietHours{Start: "18:00", End: "09:00"}),
			utc("11-07 12:00"),  // Saturday 13:00 in Berlin
			utc("11-09 08:00")}, // Monday 09:00 in Berlin
		{"a working Saturday", aliceIn("", nil, "sat"),
			utc("11-07 15:00"), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			h.put(tt.r)
			h.clock.Set(tt.at)
			h.fire(fired("a1", "alice", sla.StateBreached))
			h.clock.Set(tt.at.Add(time.Second))
			h.d.flush()
			if tt.until.IsZero() {
				expectDeliveries(t, h.alert(breachID("a1")), "sms "+alicePhone+" sent", "email "+aliceEmail+" sent")
				return
			}
			a := h.alert(breachID("a1"))
			expectDeliveries(t, a, "sms "+alicePhone+" deferred", "email "+aliceEmail+" deferred")
			for _, d := range a.Deliveries {
				if !d.NextAt.Equal(tt.until) || d.Attempts != 0 {
					t.Fatalf("deferred until %s, want %s: %+v", d.NextAt, tt.until, d)
				}
			}
			if a.FirstDeliveredAt != nil || a.EscalateAt != nil {
				t.Fatalf("a deferred alert counts as delivered: %+v", a)
			}
			h.clock.Set(tt.until.Add(-time.Millisecond))
			h.d.flush()
			if h.sms.numCalls()+h.email.numCalls() != 0 {
				t.Fatal("sent while deferred")
			}
			h.clock.Set(tt.until)
			h.d.flush()
			a = h.alert(breachID("a1"))
			expectDeliveries(t, a, "sms "+alicePhone+" sent", "email "+aliceEmail+" sent")
			// Escalation counts from the first delivery, not from the breach.
			if a.EscalateAt == nil || !a.EscalateAt.Equal(tt.until.Add(10*time.Minute)) {
				t.Fatalf("escalate at %v", a.EscalateAt)
			}
		})
	}

	t.Run("a deferred alert whose clock stopped is resolved unsent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(ny)
		h.clock.Set(utc("11-05 02:00"))
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.clock.Set(utc("11-05 02:00").Add(time.Second))
		h.d.flush()
		if err := h.d.Stopped(h.ctx, []string{"clk-a1"}); err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Time{utc("11-05 13:00"), utc("11-06 13:00")} {
			h.clock.Set(at)
			h.d.flush()
		}
		a := h.alert(breachID("a1"))
		if a.State != StateResolved || a.ResolvedAt == nil || !strings.Contains(a.Resolution, "not sent") || a.FirstDeliveredAt != nil {
			t.Fatalf("alert %+v", a)
		}
		if h.sms.numCalls()+h.email.numCalls() != 0 || len(h.all()) != 1 {
			t.Fatal("something was sent")
		}
	})
}

// setSMSCount sets how many SMS went to a number on t0's day.
func (h *harness) setSMSCount(number string, day time.Time, n int) {
	h.t.Helper()
	if _, err := h.store.counts.InsertOne(h.ctx, bson.M{"_id": number + "|" + day.Format("2006-01-02"), "n": n}); err != nil {
		h.t.Fatal(err)
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		day    time.Time // the day of the earlier SMS
		before int       // how many
		sent   bool
	}{
		{"the 50th SMS of the day goes out", t0, 49, true},
		{"the 51st falls back to email", t0, 50, false},
		{"yesterday's do not count", t0.Add(-24 * time.Hour), 50, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			h.put(smsOnly)
			h.setSMSCount(alicePhone, tt.day, tt.before)
			h.fire(fired("a1", "alice", sla.StateBreached))
			h.flushAt(time.Second)
			a := h.alert(breachID("a1"))
			if tt.sent {
				expectDeliveries(t, a, "sms "+alicePhone+" sent")
				return
			}
			if h.sms.numCalls() != 0 {
				t.Fatal("the 51st SMS was sent")
			}
			expectDeliveries(t, a, "sms "+alicePhone+" failed", "email "+aliceEmail+" pending")
			if !strings.Contains(a.Deliveries[0].Error, "50 SMS a day") {
				t.Fatalf("error %q", a.Deliveries[0].Error)
			}
			h.flushAt(time.Second)
			expectDeliveries(t, h.alert(breachID("a1")), "sms "+alicePhone+" failed", "email "+aliceEmail+" sent")
			if len(h.email.sent()) != 1 {
				t.Fatal("no fallback email")
			}
		})
	}

	// The day's count is of messages Twilio took: attempts that failed do not use up
	// the limit, and one that went out despite an ambiguous failure counts once.
	counted := []struct {
		name string
		errs []error
	}{
		{"retryable and ambiguous failures", []error{retryErr(), ambiguousErr(false)}},
		{"an ambiguous failure that went out", []error{ambiguousErr(true)}},
	}
	for _, tt := range counted {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			h.put(smsOnly)
			h.setSMSCount(alicePhone, t0, 49)
			h.sms.errs = tt.errs
			h.fire(fired("a1", "alice", sla.StateBreached))
			for i := 1; i <= 4; i++ {
				h.flushAt(time.Duration(i) * time.Minute)
			}
			expectDeliveries(t, h.alert(breachID("a1")), "sms "+alicePhone+" sent")
			if n := len(h.sms.sent()); n != 1 {
				t.Fatalf("%d SMS went out", n)
			}
			var doc struct {
				N int `bson:"n"`
			}
			if err := h.store.counts.FindOne(h.ctx, bson.M{"_id": alicePhone + "|" + t0.Format("2006-01-02")}).Decode(&doc); err != nil || doc.N != 50 {
				t.Fatalf("count %d (%v), want 50", doc.N, err)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()

	t.Run("a retryable failure is retried with backoff", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(smsOnly)
		h.sms.errs = []error{retryErr(), retryErr()}
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		d := h.sms1("a1")
		if d.Status != DeliveryPending || d.Attempts != 1 || d.Error != "503 service unavailable" ||
			d.NextAt.Before(t0.Add(1500*time.Millisecond)) || d.NextAt.After(t0.Add(2*time.Second)) {
			t.Fatalf("after one failure: %+v", d)
		}
		h.flushAt(time.Second)
		if n := h.sms.numCalls(); n != 1 {
			t.Fatalf("retried at once: %d calls", n)
		}
		h.flushAt(2 * time.Second) // second failure: wait 1–2 s
		d = h.sms1("a1")
		if d.Attempts != 2 || d.NextAt.Before(t0.Add(3*time.Second)) || d.NextAt.After(t0.Add(4*time.Second)) {
			t.Fatalf("after two failures: %+v", d)
		}
		h.flushAt(4 * time.Second)
		d = h.sms1("a1")
		if d.Status != DeliverySent || d.Attempts != 3 || d.Error != "" || d.ProviderID == "" || h.sms.numCalls() != 3 {
			t.Fatalf("after the retry: %+v", d)
		}
	})

	t.Run("backoff grows to five minutes", func(t *testing.T) {
		t.Parallel()
		for n := 1; n <= 12; n++ {
			base := min(time.Second<<(n-1), 5*time.Minute)
			for range 20 {
				if b := backoff(n); b < base/2 || b > base {
					t.Fatalf("backoff(%d) = %s, want %s–%s", n, b, base/2, base)
				}
			}
		}
	})

	t.Run("an unreachable number falls back to email", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(smsOnly)
		h.sms.errs = []error{&SendError{Failure: Permanent, Unreachable: true, Err: errors.New("21610 unsubscribed")}}
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		a := h.alert(breachID("a1"))
		expectDeliveries(t, a, "sms "+alicePhone+" failed", "email "+aliceEmail+" pending")
		if a.Deliveries[0].Error != "21610 unsubscribed" || a.Deliveries[0].Attempts != 1 {
			t.Fatalf("sms delivery %+v", a.Deliveries[0])
		}
		h.flushAt(time.Second)
		expectDeliveries(t, h.alert(breachID("a1")), "sms "+alicePhone+" failed", "email "+aliceEmail+" sent")
		h.flushAt(time.Hour)
		if h.sms.numCalls() != 1 || h.email.numCalls() != 1 {
			t.Fatalf("%d SMS, %d emails", h.sms.numCalls(), h.email.numCalls())
		}
	})

	t.Run("a permanent email failure is not retried", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.email.errs = []error{&SendError{Failure: Permanent, Err: errors.New("550 no such user")}}
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		h.flushAt(time.Hour)
		a := h.alert(breachID("a1"))
		expectDeliveries(t, a, "sms "+alicePhone+" sent", "email "+aliceEmail+" failed")
		if h.email.numCalls() != 1 || a.Deliveries[1].Error != "550 no such user" {
			t.Fatalf("%d emails, %+v", h.email.numCalls(), a.Deliveries[1])
		}
	})

	t.Run("after an ambiguous failure the message is looked up, not resent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(smsOnly)
		h.sms.errs = []error{ambiguousErr(true)}
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		d := h.sms1("a1")
		if d.Status != DeliveryPending || !d.Ambiguous || d.Attempts != 1 || len(h.sms.lookups) != 0 {
			t.Fatalf("after the ambiguous failure: %+v", d)
		}
		h.flushAt(time.Minute)
		d = h.sms1("a1")
		if h.sms.numCalls() != 1 || len(h.sms.lookups) != 1 {
			t.Fatalf("%d sends, %d lookups", h.sms.numCalls(), len(h.sms.lookups))
		}
		if d.Status != DeliverySent || d.Ambiguous || d.ProviderID != fmt.Sprintf("SM%032d", 1) {
			t.Fatalf("after the lookup: %+v", d)
		}
	})

	t.Run("after an ambiguous failure that lost the message it is sent again", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(smsOnly)
		h.sms.errs = []error{ambiguousErr(false)}
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		h.flushAt(time.Minute)
		d := h.sms1("a1")
		if h.sms.numCalls() != 2 || len(h.sms.lookups) != 1 || d.Status != DeliverySent || d.Attempts != 2 {
			t.Fatalf("%d sends, %d lookups, %+v", h.sms.numCalls(), len(h.sms.lookups), d)
		}
	})

	t.Run("a failed lookup is retried, not followed by a send", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(smsOnly)
		h.sms.errs = []error{ambiguousErr(true)}
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		h.sms.lookupErr = retryErr()
		h.flushAt(time.Minute)
		d := h.sms1("a1")
		if h.sms.numCalls() != 1 || d.Status != DeliveryPending || !d.Ambiguous || d.Attempts != 2 {
			t.Fatalf("%d sends, %+v", h.sms.numCalls(), d)
		}
		h.sms.lookupErr = nil
		h.flushAt(2 * time.Minute)
		if d := h.sms1("a1"); h.sms.numCalls() != 1 || d.Status != DeliverySent {
			t.Fatalf("%d sends, %+v", h.sms.numCalls(), d)
		}
	})

	t.Run("it gives up after eight attempts, and falls back to email", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(smsOnly)
		for range 10 {
			h.sms.errs = append(h.sms.errs, retryErr())
		}
		h.fire(fired("a1", "alice", sla.StateBreached))
		for i := 1; i <= 10; i++ {
			h.flushAt(time.Duration(i) * 6 * time.Minute)
		}
		d := h.sms1("a1")
		if d.Status != DeliveryFailed || d.Attempts != maxAttempts || h.sms.numCalls() != maxAttempts {
			t.Fatalf("%d sends, %+v", h.sms.numCalls(), d)
		}
		expectDeliveries(t, h.alert(breachID("a1")), "sms "+alicePhone+" failed", "email "+aliceEmail+" sent")
		if a := h.alert(breachID("a1")); a.EscalateAt == nil {
			t.Fatal("the fallback email does not start the escalation clock")
		}
	})
}

func TestRecord(t *testing.T) {
	t.Parallel()

	t.Run("deliveries are recorded", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.email.errs = []error{&SendError{Failure: Permanent, Err: errors.New("550 mailbox unavailable")}}
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		js, err := json.Marshal(h.alert(breachID("a1")))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Deliveries []map[string]any `json:"deliveries"`
		}
		if err := json.Unmarshal(js, &got); err != nil {
			t.Fatal(err)
		}
		want := []map[string]any{
			{"channel": "sms", "to": alicePhone, "status": "sent", "attempts": 1.0, "provider_id": fmt.Sprintf("SM%032d", 1)},
			{"channel": "email", "to": aliceEmail, "status": "failed", "attempts": 1.0, "error": "550 mailbox unavailable"},
		}
		if len(got.Deliveries) != 2 {
			t.Fatalf("deliveries %s", js)
		}
		for i, w := range want {
			for k, v := range w {
				if got.Deliveries[i][k] != v {
					t.Errorf("delivery %d: %s = %v, want %v (%s)", i, k, got.Deliveries[i][k], v, js)
				}
			}
			for _, internal := range []string{"next_at", "ambiguous", "NextAt"} {
				if _, ok := got.Deliveries[i][internal]; ok {
					t.Errorf("delivery %d shows %s", i, internal)
				}
			}
		}
	})

	t.Run("a restart resumes what is pending and resends nothing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(directory.Recruiter{ID: "bob", Phone: bobPhone})
		h.put(directory.Recruiter{ID: "carol", Phone: "+14155550109"})
		h.put(directory.Recruiter{ID: "dan", Phone: "+14155550110"})
		// alice's: sent. bob's: failed once, to be retried. dan's: ambiguous, to be
		// looked up. carol's: not tried yet.
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		h.sms.errsTo = map[string][]error{bobPhone: {retryErr()}, "+14155550110": {ambiguousErr(true)}}
		h.fireAt(2*time.Second, fired("a2", "bob", sla.StateBreached))
		h.fire(fired("a4", "dan", sla.StateBreached))
		h.flushAt(3 * time.Second)
		h.fireAt(3100*time.Millisecond, fired("a3", "carol", sla.StateBreached))
		if h.sms.numCalls() != 3 || h.email.numCalls() != 1 {
			t.Fatalf("before the restart: %d SMS, %d emails", h.sms.numCalls(), h.email.numCalls())
		}

		h.restart()
		h.flushAt(time.Minute)
		h.restart()
		h.flushAt(time.Hour)
		for app, want := range map[string]string{"a1": "sms " + alicePhone + " sent", "a2": "sms " + bobPhone + " sent",
			"a3": "sms +14155550109 sent", "a4": "sms +14155550110 sent"} {
			a := h.alert(breachID(app))
			if app == "a1" {
				expectDeliveries(t, a, want, "email "+aliceEmail+" sent")
			} else {
				expectDeliveries(t, a, want)
			}
		}
		// Per number: one message that went out, each.
		perNumber := map[string]int{}
		for _, s := range h.sms.sent() {
			perNumber[s.To]++
		}
		for _, n := range []string{alicePhone, bobPhone, "+14155550109", "+14155550110"} {
			if perNumber[n] != 1 {
				t.Errorf("%d SMS to %s", perNumber[n], n)
			}
		}
		if h.sms.numCalls() != 5 || h.email.numCalls() != 1 || len(h.sms.lookups) != 1 {
			t.Fatalf("%d SMS calls (want alice, bob twice, dan, carol), %d emails, %d lookups",
				h.sms.numCalls(), h.email.numCalls(), len(h.sms.lookups))
		}
	})
}

func TestEscalation(t *testing.T) {
	t.Parallel()
	const after = 10 * time.Minute
	sentAt := time.Second // the breach goes out at t0+1s

	escalation := func(h *harness) (Alert, bool) {
		a, err := h.store.Get(h.ctx, EscalationID(breachID("a1"), 1))
		return a, err == nil
	}
	// breached fires alice's breach and sends it.
	breached := func(t *testing.T) *harness {
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(sentAt)
		a := h.alert(breachID("a1"))
		if a.FirstDeliveredAt == nil || !a.FirstDeliveredAt.Equal(t0.Add(sentAt)) || a.EscalateAt == nil || !a.EscalateAt.Equal(t0.Add(sentAt+after)) {
			t.Fatalf("breach %+v", a)
		}
		return h
	}

	t.Run("an unacknowledged breach goes to the manager", func(t *testing.T) {
		t.Parallel()
		h := breached(t)
		h.flushAt(sentAt + after - time.Millisecond)
		if _, ok := escalation(h); ok {
			t.Fatal("escalated early")
		}
		h.flushAt(sentAt + after)
		esc, ok := escalation(h)
		if !ok {
			t.Fatal("not escalated")
		}
		if esc.Level != LevelEscalated || esc.RecruiterID != "boss" || esc.OwnerID != "alice" || esc.State != StateOpen ||
			esc.ClockID != "clk-a1" || esc.CandidateID != "cand-a1" || esc.Code == h.alert(breachID("a1")).Code {
			t.Fatalf("escalation %+v", esc)
		}
		expectDeliveries(t, esc, "sms "+bossPhone+" pending")
		if !h.alert(breachID("a1")).Escalated {
			t.Fatal("the breach is not marked escalated")
		}
		h.flushAt(sentAt + after + time.Second)
		var boss []sentSMS
		for _, s := range h.sms.sent() {
			if s.To == bossPhone {
				boss = append(boss, s)
			}
		}
		if len(boss) != 1 || !strings.HasPrefix(boss[0].Body, "goodwill ESCALATION: ") || !strings.Contains(boss[0].Body, "Ada Lovelace") {
			t.Fatalf("SMS to the manager %+v", boss)
		}
		// Escalated once.
		h.flushAt(3 * after)
		h.restart()
		h.flushAt(4 * after)
		if n := len(h.all()); n != 2 || h.sms.numCalls() != 2 {
			t.Fatalf("%d alerts, %d SMS", n, h.sms.numCalls())
		}
		// An escalation does not escalate.
		if esc, _ := escalation(h); esc.EscalateAt != nil {
			t.Fatalf("escalation %+v", esc)
		}
	})

	t.Run("a snooze postpones it", func(t *testing.T) {
		t.Parallel()
		h := breached(t)
		h.clock.Set(t0.Add(5 * time.Minute))
		a, err := h.d.Snooze(h.ctx, breachID("a1"), 30*time.Minute)
		if err != nil || a.State != StateSnoozed || !a.SnoozedUntil.Equal(t0.Add(35*time.Minute)) {
			t.Fatalf("snooze: %+v, %v", a, err)
		}
		h.flushAt(sentAt + after)
		h.restart() // the snooze is stored
		h.flushAt(35*time.Minute - time.Millisecond)
		if _, ok := escalation(h); ok {
			t.Fatal("escalated while snoozed")
		}
		h.flushAt(35 * time.Minute)
		if _, ok := escalation(h); !ok {
			t.Fatal("not escalated after the snooze")
		}
		if a := h.alert(breachID("a1")); a.State != StateOpen || a.SnoozedUntil != nil {
			t.Fatalf("after the snooze: %+v", a)
		}
	})

	t.Run("a short snooze does not bring it forward", func(t *testing.T) {
		t.Parallel()
		h := breached(t)
		h.clock.Set(t0.Add(time.Minute))
		if _, err := h.d.Snooze(h.ctx, breachID("a1"), time.Minute); err != nil {
			t.Fatal(err)
		}
		h.flushAt(5 * time.Minute)
		if _, ok := escalation(h); ok || h.alert(breachID("a1")).State != StateOpen {
			t.Fatal("escalated early")
		}
		h.flushAt(sentAt + after)
		if _, ok := escalation(h); !ok {
			t.Fatal("not escalated")
		}
	})

	t.Run("an acknowledgement prevents it", func(t *testing.T) {
		t.Parallel()
		h := breached(t)
		h.clock.Set(t0.Add(5 * time.Minute))
		a, err := h.d.Ack(h.ctx, breachID("a1"))
		if err != nil || a.State != StateAcknowledged || !a.AcknowledgedAt.Equal(t0.Add(5*time.Minute)) {
			t.Fatalf("ack: %+v, %v", a, err)
		}
		if a, err := h.d.Ack(h.ctx, breachID("a1")); err != nil || a.State != StateAcknowledged {
			t.Fatalf("second ack: %+v, %v", a, err)
		}
		if _, err := h.d.Snooze(h.ctx, breachID("a1"), time.Hour); interactions.ErrorCode(err) != interactions.CodeConflict {
			t.Fatalf("snooze after ack: %v", err)
		}
		h.flushAt(time.Hour)
		h.restart()
		h.flushAt(2 * time.Hour)
		if _, ok := escalation(h); ok {
			t.Fatal("escalated after the ack")
		}
		if h.alert(breachID("a1")).State != StateAcknowledged {
			t.Fatal("the ack was lost")
		}
	})

	t.Run("it survives a restart", func(t *testing.T) {
		t.Parallel()
		h := breached(t)
		h.restart()
		h.flushAt(sentAt + after)
		if _, ok := escalation(h); !ok {
			t.Fatal("not escalated after the restart")
		}
	})

	t.Run("no manager, no escalation", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.put(directory.Recruiter{ID: "alice", Phone: alicePhone})
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(sentAt)
		h.flushAt(time.Hour)
		if n := len(h.all()); n != 1 {
			t.Fatalf("%d alerts", n)
		}
	})

	t.Run("a policy without escalate_after never escalates", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *Config) { c.EscalateAfter = func(string) time.Duration { return 0 } })
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(sentAt)
		h.flushAt(time.Hour)
		if a := h.alert(breachID("a1")); a.EscalateAt != nil || len(h.all()) != 1 {
			t.Fatalf("breach %+v", a)
		}
	})

	t.Run("warnings do not escalate", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateWarning))
		h.flushAt(time.Minute)
		h.flushAt(time.Hour)
		if a := h.alert(warningID("a1")); a.EscalateAt != nil || len(h.all()) != 1 {
			t.Fatalf("warning %+v", a)
		}
	})
}

func TestCommand(t *testing.T) {
	t.Parallel()

	t.Run("ACK, ACK <code> and SNOOZE", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fireAt(0, fired("a1", "alice", sla.StateBreached))
		h.fireAt(time.Second, fired("a2", "alice", sla.StateBreached))
		h.fireAt(2*time.Second, fired("a3", "alice", sla.StateBreached))
		h.flushAt(3 * time.Second)
		// ACK: the latest.
		a, ok, err := h.d.Command(h.ctx, "alice", "ack", "", 0)
		if err != nil || !ok || a.ID != breachID("a3") || a.State != StateAcknowledged {
			t.Fatalf("ACK: %+v %v %v", a, ok, err)
		}
		// ACK <code>, in any case.
		code := strings.ToLower(h.alert(breachID("a1")).Code)
		if a, ok, err := h.d.Command(h.ctx, "alice", "ack", code, 0); err != nil || !ok || a.ID != breachID("a1") {
			t.Fatalf("ACK %s: %+v %v %v", code, a, ok, err)
		}
		// SNOOZE: the latest still open.
		if a, ok, err := h.d.Command(h.ctx, "alice", "snooze", "", 2*time.Hour); err != nil || !ok || a.ID != breachID("a2") || a.State != StateSnoozed {
			t.Fatalf("SNOOZE: %+v %v %v", a, ok, err)
		}
		// Someone else's alert, or an unknown code: nothing.
		if _, ok, err := h.d.Command(h.ctx, "boss", "ack", "", 0); ok || err != nil {
			t.Fatalf("boss: %v %v", ok, err)
		}
		if _, ok, err := h.d.Command(h.ctx, "alice", "ack", "ZZZZ", 0); ok || err != nil {
			t.Fatalf("unknown code: %v %v", ok, err)
		}
		if a, ok, err := h.d.Command(h.ctx, "alice", "ack", "", 0); err != nil || !ok || a.ID != breachID("a2") {
			t.Fatalf("ACK of the snoozed one: %+v %v %v", a, ok, err)
		}
		if _, ok, err := h.d.Command(h.ctx, "alice", "ack", "", 0); ok || err != nil {
			t.Fatalf("nothing left to ack: %v %v", ok, err)
		}
	})

	t.Run("ACK finds an alert that was sent and needs nothing more", func(t *testing.T) {
		// A warning (it never escalates) that went out is no longer worked on by the
		// pipeline; it is still open, and ACK from the phone acknowledges it.
		t.Parallel()
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateWarning))
		h.flushAt(time.Minute)
		h.flushAt(2 * time.Minute)
		a, ok, err := h.d.Command(h.ctx, "alice", "ack", "", 0)
		if err != nil || !ok || a.ID != warningID("a1") || h.alert(warningID("a1")).State != StateAcknowledged {
			t.Fatalf("ACK: %+v %v %v", a, ok, err)
		}
	})
}

func TestStopped(t *testing.T) {
	t.Parallel()

	t.Run("a sent breach is resolved and does not escalate", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		h.clock.Set(t0.Add(time.Minute))
		if err := h.d.Stopped(h.ctx, []string{"clk-a1", "clk-other"}); err != nil {
			t.Fatal(err)
		}
		h.flushAt(time.Hour)
		a := h.alert(breachID("a1"))
		if a.State != StateResolved || a.Resolution != "the clock stopped" || !a.ResolvedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("alert %+v", a)
		}
		if n := len(h.all()); n != 1 {
			t.Fatalf("%d alerts: escalated", n)
		}
		if _, err := h.d.Ack(h.ctx, a.ID); interactions.ErrorCode(err) != interactions.CodeConflict {
			t.Fatalf("ack of a resolved alert: %v", err)
		}
	})

	t.Run("a sent warning is resolved", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateWarning))
		h.flushAt(time.Minute)
		h.flushAt(2 * time.Minute)
		if err := h.d.Stopped(h.ctx, []string{"clk-a1"}); err != nil {
			t.Fatal(err)
		}
		if a := h.alert(warningID("a1")); a.State != StateResolved || a.Resolution != "the clock stopped" {
			t.Fatalf("alert %+v", a)
		}
	})

	t.Run("a stopped clock's escalation is resolved too", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.fire(fired("a1", "alice", sla.StateBreached))
		h.flushAt(time.Second)
		h.flushAt(time.Second + 10*time.Minute)
		if err := h.d.Stopped(h.ctx, []string{"clk-a1"}); err != nil {
			t.Fatal(err)
		}
		h.flushAt(time.Hour)
		esc := h.alert(EscalationID(breachID("a1"), 1))
		if esc.State != StateResolved || h.sms.numCalls() != 1 {
			t.Fatalf("escalation %+v, %d SMS", esc, h.sms.numCalls())
		}
	})
}

// TestRunLoop: the started dispatcher works through what is due by itself, and Close
// stops it.
func TestRunLoop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := h.d.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.clock.Set(t0.Add(time.Second))
	deadline := time.Now().Add(5 * time.Second)
	for h.sms.numCalls() == 0 || h.email.numCalls() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the run loop sent nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.d.Close()
	h.d.Close() // idempotent
	if h.sms.numCalls() != 1 || h.email.numCalls() != 1 {
		t.Fatalf("%d SMS, %d emails", h.sms.numCalls(), h.email.numCalls())
	}
}

// TestSlowSend: while an SMS to one recruiter hangs at the provider, alerts to others
// go out, and nothing is sent twice.
func TestSlowSend(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.put(directory.Recruiter{ID: "alice", Phone: alicePhone, Channels: directory.Channels{Breached: []string{"sms"}}})
	h.put(directory.Recruiter{ID: "bob", Phone: bobPhone})
	hang := make(chan struct{})
	h.sms.gates = map[string]chan struct{}{alicePhone: hang}
	if err := h.d.Start(h.ctx); err != nil {
		t.Fatal(err)
	}
	defer h.d.Close()
	waitSent := func(n int, what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for len(h.sms.sent()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d SMS went out", what, len(h.sms.sent()))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.fire(fired("a2", "bob", sla.StateBreached))
	h.clock.Set(t0.Add(time.Second))
	waitSent(1, "bob's first breach")
	// alice's SMS still hangs; bob's next breach goes out all the same.
	h.fireAt(2*time.Second, fired("a3", "bob", sla.StateBreached))
	h.clock.Set(t0.Add(3 * time.Second))
	waitSent(2, "bob's second breach")
	close(hang)
	waitSent(3, "alice's breach")
	time.Sleep(300 * time.Millisecond) // room for anything sent twice
	perNumber := map[string]int{}
	for _, s := range h.sms.sent() {
		perNumber[s.To]++
	}
	if perNumber[alicePhone] != 1 || perNumber[bobPhone] != 2 || h.sms.numCalls() != 3 {
		t.Fatalf("SMS per number %v, %d calls", perNumber, h.sms.numCalls())
	}
}

// TestCrashAfterSend: the process dies after Twilio took an SMS and before its answer
// was recorded; the next start looks the message up and records it, and sends
// nothing twice.
func TestCrashAfterSend(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.put(directory.Recruiter{ID: "alice", Phone: alicePhone, Channels: directory.Channels{Breached: []string{"sms"}}})
	held := make(chan struct{})
	h.sms.holds = map[string]chan struct{}{alicePhone: held}
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.clock.Set(t0.Add(time.Second))
	dying := h.d
	done := make(chan struct{})
	go func() { // this dispatcher never hears back: it is "killed"
		defer close(done)
		dying.flush()
	}()
	t.Cleanup(func() { close(held); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for len(h.sms.sent()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing was sent")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The store notes, in the flush's document, that the SMS may have gone out.
	docs, err := h.store.flushDocs(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || !slices.Equal(docs[0].Sending, []sendingMark{{breachID("a1"), "sms", alicePhone}}) {
		t.Fatalf("while Twilio's answer is awaited, the store notes %+v", docs)
	}

	h.restart()
	h.flushAt(2 * time.Second)
	d := h.sms1("a1")
	if h.sms.numCalls() != 1 || len(h.sms.lookups) != 1 || d.Status != DeliverySent || d.ProviderID != fmt.Sprintf("SM%032d", 1) {
		t.Fatalf("%d sends, %d lookups, %+v", h.sms.numCalls(), len(h.sms.lookups), d)
	}
}

// TestErase: an erasure redacts at the provider the SMS sent about the person, and
// only those.
func TestErase(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.fire(fired("a2", "bob", sla.StateBreached))
	h.flushAt(time.Second)
	a1, a2 := h.alert(breachID("a1")), h.alert(breachID("a2"))
	if err := h.d.Erase(h.ctx, interactions.ErasureTarget{CandidateIDs: []string{"cand-a1"}}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, dl := range a1.Deliveries {
		if dl.Channel == "sms" {
			want = append(want, dl.ProviderID)
		}
	}
	h.sms.mu.Lock()
	got := append([]string(nil), h.sms.redacted...)
	h.sms.mu.Unlock()
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("redacted %v, want the SMS of a1 %v (a2's: %+v)", got, want, a2.Deliveries)
	}
}
