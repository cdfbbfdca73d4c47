package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/sla"
)

const aliceSlack = "U0ALICE"

type postedSlack struct {
	User string
	Msg  Message
}

// fakeSlack records every Send and answers with the scripted errors in turn (then
// success); Lookup finds, by alert id, the messages that went out (errWentOut
// counts as out). A Send to a user in holds waits, after the message went out, until
// its channel is closed.
type fakeSlack struct {
	sends[postedSlack]
	lookups  []string
	redacted []string
	holds    map[string]chan struct{}
}

func (f *fakeSlack) Send(_ context.Context, user string, msg Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := postedSlack{user, msg}
	f.calls = append(f.calls, p)
	err := f.answer()
	if err == nil || errors.Is(err, errWentOut) {
		f.out = append(f.out, p)
	}
	if err != nil {
		return "", err
	}
	if hold := f.holds[user]; hold != nil {
		f.mu.Unlock()
		<-hold
		f.mu.Lock()
	}
	return fmt.Sprintf("D%s/%d.000", user, len(f.calls)), nil
}

func (f *fakeSlack) Redact(_ context.Context, providerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redacted = append(f.redacted, providerID)
	return nil
}

func (f *fakeSlack) Lookup(_ context.Context, user, ref string, _ time.Time) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, ref)
	for i, p := range f.out {
		if p.User == user && slices.ContainsFunc(p.Msg.Alerts, func(it Item) bool { return it.ID == ref }) {
			return fmt.Sprintf("D%s/%d.000", user, i+1), true, nil
		}
	}
	return "", false, nil
}

// slackAlice is alice with breaches sent to her Slack user alone.
var slackAlice = directory.Recruiter{ID: "alice", Name: "Alice", Email: aliceEmail, SlackUserID: aliceSlack,
	Channels: directory.Channels{Breached: []string{"slack"}}}

func slackHarness(t *testing.T, mod func(*Config)) (*harness, *fakeSlack) {
	fs := &fakeSlack{}
	h := newHarness(t, func(c *Config) {
		c.Slack = fs
		if mod != nil {
			mod(c)
		}
	})
	return h, fs
}

// TestSlackRoute: a recruiter who asks for slack gets a delivery to their Slack user;
// without a Slack user, email; with Slack off, a log line.
func TestSlackRoute(t *testing.T) {
	t.Parallel()
	h, _ := slackHarness(t, nil)
	h.put(slackAlice)
	h.fire(fired("a1", "alice", sla.StateBreached))
	expectDeliveries(t, h.alert(breachID("a1")), "slack "+aliceSlack+" pending")

	// No Slack user (not looked up yet): email instead, once.
	noUser := slackAlice
	noUser.SlackUserID = ""
	noUser.Channels.Breached = []string{"slack", "email"}
	h.put(noUser)
	h.fire(fired("a2", "alice", sla.StateBreached))
	expectDeliveries(t, h.alert(breachID("a2")), "email "+aliceEmail+" pending")
	// Nor an email address: nothing.
	noUser.Email = ""
	h.put(noUser)
	h.fire(fired("a3", "alice", sla.StateBreached))
	expectDeliveries(t, h.alert(breachID("a3")))

	off := newHarness(t, nil) // Slack not configured
	off.put(slackAlice)
	off.fire(fired("a1", "alice", sla.StateBreached))
	expectDeliveries(t, off.alert(breachID("a1")), "log alice pending")
}

// TestSlackSend: the message carries the alerts' ids, candidates and jobs, grouped as
// SMS are; the delivery records Slack's message id.
func TestSlackSend(t *testing.T) {
	t.Parallel()
	h, fs := slackHarness(t, nil)
	h.put(slackAlice)
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.fire(fired("a2", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	sent := fs.sent()
	if len(sent) != 1 || sent[0].User != aliceSlack || len(sent[0].Msg.Alerts) != 2 {
		t.Fatalf("sent %+v", sent)
	}
	// The group's order is the pipeline's; the message orders it (alerts.Ordered).
	it := Ordered(sent[0].Msg.Alerts)[0]
	if it.ID != breachID("a1") || it.Candidate != "Ada Lovelace" || it.Job != "Senior Engineer" {
		t.Errorf("item %+v", it)
	}
	a := h.alert(breachID("a1"))
	expectDeliveries(t, a, "slack "+aliceSlack+" sent")
	if a.Deliveries[0].ProviderID != "D"+aliceSlack+"/1.000" || a.FirstDeliveredAt == nil {
		t.Errorf("delivery %+v", a.Deliveries[0])
	}
}

// TestSlackFallback: a user Slack cannot reach (channel_not_found, account_inactive …)
// fails the delivery for good and falls back to email; a rate limit is retried.
func TestSlackFallback(t *testing.T) {
	t.Parallel()
	h, fs := slackHarness(t, nil)
	h.put(slackAlice)
	fs.errs = []error{
		&SendError{Failure: Retryable, Err: errors.New("slack chat.postMessage (retryable): rate limited")},
		&SendError{Failure: Permanent, Unreachable: true, Err: errors.New("slack chat.postMessage (permanent): account_inactive")},
	}
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	expectDeliveries(t, h.alert(breachID("a1")), "slack "+aliceSlack+" pending")
	h.flushAt(10 * time.Minute)
	expectDeliveries(t, h.alert(breachID("a1")), "slack "+aliceSlack+" failed", "email "+aliceEmail+" pending")
	h.flushAt(10*time.Minute + time.Second)
	expectDeliveries(t, h.alert(breachID("a1")), "slack "+aliceSlack+" failed", "email "+aliceEmail+" sent")
	if len(h.email.sent()) != 1 || fs.numCalls() != 2 {
		t.Fatalf("%d emails, %d posts", len(h.email.sent()), fs.numCalls())
	}
}

// TestSlackThrottle: Slack messages count against the day's limit per user, as SMS
// do per number; over it, email.
func TestSlackThrottle(t *testing.T) {
	t.Parallel()
	h, fs := slackHarness(t, nil)
	h.put(slackAlice)
	h.setSMSCount(aliceSlack, t0, 50)
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	a := h.alert(breachID("a1"))
	expectDeliveries(t, a, "slack "+aliceSlack+" failed", "email "+aliceEmail+" pending")
	if fs.numCalls() != 0 || !strings.Contains(a.Deliveries[0].Error, "50 Slack messages a day") {
		t.Fatalf("%d posts; error %q", fs.numCalls(), a.Deliveries[0].Error)
	}
}

// TestSlackCrashAfterPost: a post whose answer was never recorded (the process died
// between the post and its record) is marked possibly sent; after a restart it is
// looked up by its alert id, found, and not posted again.
func TestSlackCrashAfterPost(t *testing.T) {
	t.Parallel()
	h, fs := slackHarness(t, nil)
	h.put(slackAlice)
	held := make(chan struct{})
	fs.holds = map[string]chan struct{}{aliceSlack: held}
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
	for len(fs.sent()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing was posted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	docs, err := h.store.flushDocs(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || !slices.Equal(docs[0].Sending, []sendingMark{{breachID("a1"), "slack", aliceSlack}}) {
		t.Fatalf("while Slack's answer is awaited, the store notes %+v", docs)
	}

	h.restart()
	h.flushAt(2 * time.Second)
	a := h.alert(breachID("a1"))
	expectDeliveries(t, a, "slack "+aliceSlack+" sent")
	if fs.numCalls() != 1 || !slices.Equal(fs.lookups, []string{breachID("a1")}) || a.Deliveries[0].ProviderID != "D"+aliceSlack+"/1.000" {
		t.Fatalf("%d posts, lookups %q, %+v", fs.numCalls(), fs.lookups, a.Deliveries[0])
	}
}

// TestSlackLostPost: an ambiguous failure whose message did not reach Slack is looked
// up, not found, and posted again.
func TestSlackLostPost(t *testing.T) {
	t.Parallel()
	h, fs := slackHarness(t, nil)
	h.put(slackAlice)
	fs.errs = []error{ambiguousErr(false)}
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	h.flushAt(time.Minute)
	expectDeliveries(t, h.alert(breachID("a1")), "slack "+aliceSlack+" sent")
	if fs.numCalls() != 2 || len(fs.lookups) != 1 || len(fs.sent()) != 1 {
		t.Fatalf("%d posts, %d lookups, %d out", fs.numCalls(), len(fs.lookups), len(fs.sent()))
	}
}

// TestSlackRetryAfter: a 429's Retry-After holds the next attempt back that long,
// when it is longer than the backoff.
func TestSlackRetryAfter(t *testing.T) {
	t.Parallel()
	h, fs := slackHarness(t, nil)
	h.put(slackAlice)
	fs.errs = []error{&SendError{Failure: Retryable, RetryAfter: 10 * time.Minute, Err: errors.New("slack chat.postMessage (retryable): 429")}}
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	h.flushAt(9 * time.Minute)
	if fs.numCalls() != 1 {
		t.Fatalf("posted again %d times before Retry-After passed", fs.numCalls()-1)
	}
	h.flushAt(10*time.Minute + 2*time.Second)
	expectDeliveries(t, h.alert(breachID("a1")), "slack "+aliceSlack+" sent")
}

// TestSlackErase: an erasure redacts at Slack the messages sent about the person, and
// only those.
func TestSlackErase(t *testing.T) {
	t.Parallel()
	h, fs := slackHarness(t, nil)
	h.put(slackAlice)
	h.fire(fired("a1", "alice", sla.StateBreached))
	h.flushAt(time.Second)
	h.fire(fired("a2", "alice", sla.StateBreached))
	h.flushAt(3 * time.Second)
	if err := h.d.Erase(h.ctx, interactions.ErasureTarget{CandidateIDs: []string{"cand-a1"}}); err != nil {
		t.Fatal(err)
	}
	if want := []string{h.alert(breachID("a1")).Deliveries[0].ProviderID}; !slices.Equal(fs.redacted, want) {
		t.Errorf("redacted %q, want %q", fs.redacted, want)
	}
}
