package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
)

// Each stage alone, with hand-written fakes for what it needs (fakeSMS, fakeEmail and
// candidateNames are dispatcher_test.go's). "now" is t0, a working Wednesday afternoon.

// fakeDirectory answers Recipient from a map: delegation and "default" are the real
// directory's business (recruiters_test.go), so a test that wants them maps the id to
// whom the directory would answer.
type fakeDirectory struct {
	recipients map[string]directory.Recruiter
	err        error
	calls      int
}

func (f *fakeDirectory) Recipient(_ context.Context, id string, _ time.Time) (directory.Recruiter, error) {
	f.calls++
	if f.err != nil {
		return directory.Recruiter{}, f.err
	}
	r, ok := f.recipients[id]
	if !ok {
		return directory.Recruiter{}, interactions.Errorf(interactions.CodeNotFound, "no recruiter %q", id)
	}
	return r, nil
}

// fakeOutbox holds alert ids; create adds one unless it is there.
type fakeOutbox struct {
	ids map[string]bool
	err error
}

func (f *fakeOutbox) create(_ context.Context, alerts []Alert) ([]bool, error) {
	if f.err != nil {
		return nil, f.err
	}
	created := make([]bool, len(alerts))
	for i, a := range alerts {
		created[i] = !f.ids[a.ID]
		f.ids[a.ID] = true
	}
	return created, nil
}

// fakeCounter counts SMS per "number|day".
type fakeCounter struct {
	mu       sync.Mutex
	n        map[string]int
	err      error
	released int
	calls    int
}

func (f *fakeCounter) reserveSMS(_ context.Context, day string, numbers []string) ([]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return make([]int, len(numbers)), f.err
	}
	counts := make([]int, len(numbers))
	for i, number := range numbers {
		f.n[number+"|"+day]++
		counts[i] = f.n[number+"|"+day]
	}
	return counts, nil
}

func (f *fakeCounter) releaseSMS(_ context.Context, number, day string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released++
	f.n[number+"|"+day]--
	return f.err
}

// fakeFlushes keeps what flushes wrote, by alert id; every write fails when fail is
// set.
type fakeFlushes struct {
	mu      sync.Mutex
	marks   []sendingMark
	entries map[string]flushEntry
	sent    []smsMessage
	noted   []bool // recorded's noted, per call
	fail    bool
}

func (f *fakeFlushes) sending(_ context.Context, _, _ string, _ time.Time, marks []sendingMark) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("store down")
	}
	f.marks = append(f.marks, marks...)
	return nil
}

func (f *fakeFlushes) recorded(_ context.Context, _, _ string, _ time.Time, noted bool, entries []flushEntry, sent []smsMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noted = append(f.noted, noted)
	if f.fail {
		return errors.New("store down")
	}
	if f.entries == nil {
		f.entries = map[string]flushEntry{}
	}
	for _, e := range entries {
		f.entries[e.AlertID] = e
	}
	f.sent = append(f.sent, sent...)
	return nil
}

var quiet = slog.New(slog.DiscardHandler)

func recruiter(r directory.Recruiter) directory.Recruiter {
	if errs := r.Validate([]string{"US"}); len(errs) > 0 {
		panic(fmt.Sprint(errs))
	}
	return r
}

var (
	alice = recruiter(directory.Recruiter{ID: "alice", Name: "Alice", Phone: alicePhone, Email: aliceEmail})
	della = recruiter(directory.Recruiter{ID: "della", Name: "Della", Phone: dellaPhone})
)

// testAlert is app's alert at level for recruiter, created at t0+created, with
// deliveries.
func testAlert(app string, level Level, created time.Duration, dls ...Delivery) Alert {
	id := AlertID("in-"+app, "first_response", level)
	return Alert{ID: id, Code: alertCode(id), Level: level, State: StateOpen, RecruiterID: "alice", OwnerID: "alice",
		ClockID: "clk-" + app, CandidateID: "cand-" + app, JobID: "job-eng", Metric: "first_response",
		PolicyID: "first_response", DueAt: t0, CreatedAt: t0.Add(created), Deliveries: dls}
}

// Deliveries as the stages leave them, due at t0+at.

// pending is a delivery not tried yet.
func pending(channel, to string, at time.Duration) Delivery {
	return Delivery{Channel: channel, To: to, Status: DeliveryPending, NextAt: t0.Add(at)}
}

// again is a delivery waiting for another try after attempts, the last of which
// failed with why ("" if none failed).
func again(channel, to string, at time.Duration, attempts int, why string) Delivery {
	d := pending(channel, to, at)
	d.Attempts, d.Error = attempts, why
	return d
}

// deferred is a delivery held back (quiet hours, a weekend, a stage's choice).
func deferred(channel, to string, at time.Duration) Delivery {
	return Delivery{Channel: channel, To: to, Status: DeliveryDeferred, NextAt: t0.Add(at)}
}

// failed is a delivery given up at t0 for why, after attempts tries.
func failed(channel, to string, attempts int, why string) Delivery {
	return Delivery{Channel: channel, To: to, Status: DeliveryFailed, Attempts: attempts, Error: why, NextAt: t0}
}

// mayHaveGone marks d as tried with an answer that never came: looked up before the
// next try.
func mayHaveGone(d Delivery) Delivery {
	d.Ambiguous = true
	return d
}

// firstDelivered is a as recorded after its first delivery at first; a breach's
// escalation is due at escalate (zero: none).
func firstDelivered(a Alert, first, escalate time.Time) Alert {
	a.FirstDeliveredAt = &first
	if !escalate.IsZero() {
		a.EscalateAt = &escalate
	}
	return a
}

// errorWanted fails t unless err is an error exactly when want is, and reports
// whether it was (the case ends there).
func errorWanted(t *testing.T, err error, want bool) bool {
	t.Helper()
	switch {
	case want && err == nil:
		t.Fatal("no error")
	case !want && err != nil:
		t.Fatal(err)
	}
	return want
}

// one is a batch of alerts to one address.
func one(channel, to string, alerts ...Alert) []Batch {
	return []Batch{{Channel: channel, To: to, Alerts: alerts, Recipient: alice}}
}

func TestRouteStage(t *testing.T) {
	t.Parallel()
	dir := &fakeDirectory{recipients: map[string]directory.Recruiter{
		"alice": alice,
		"ann":   della, // away: the directory answers with her delegate
		"pat":   recruiter(directory.Recruiter{ID: "pat", Email: "pat@example.com"}),
		"sam":   recruiter(directory.Recruiter{ID: "sam", Phone: bobPhone, Email: "sam@example.com", Channels: directory.Channels{Breached: []string{"email"}}}),
	}}
	tests := []struct {
		name       string
		mode       string // "": on
		smsOff     bool
		emailOff   bool
		dirErr     error
		recruiter  string
		level      Level
		err        bool
		recipient  string
		deliveries []Delivery
	}{
		// A breach goes by SMS and email, due when its second of grouping is over.
		{name: "breach", recruiter: "alice", level: LevelBreached, recipient: "alice",
			deliveries: []Delivery{pending("sms", alicePhone, time.Second), pending("email", aliceEmail, time.Second)}},
		// A warning goes by email, after its minute.
		{name: "warning", recruiter: "alice", level: LevelWarning, recipient: "alice",
			deliveries: []Delivery{pending("email", aliceEmail, time.Minute)}},
		// An escalation goes by SMS.
		{name: "escalation", recruiter: "alice", level: LevelEscalated, recipient: "alice",
			deliveries: []Delivery{pending("sms", alicePhone, time.Second)}},
		// The recipient's own channels.
		{name: "email only by choice", recruiter: "sam", level: LevelBreached, recipient: "sam",
			deliveries: []Delivery{pending("email", "sam@example.com", time.Second)}},
		// A channel without an address is skipped.
		{name: "no phone", recruiter: "pat", level: LevelBreached, recipient: "pat",
			deliveries: []Delivery{pending("email", "pat@example.com", time.Second)}},
		// Whoever the directory names: here a delegate.
		{name: "delegate", recruiter: "ann", level: LevelBreached, recipient: "della",
			deliveries: []Delivery{pending("sms", dellaPhone, time.Second)}},
		// A channel that is not configured becomes a log line.
		{name: "sms off", smsOff: true, recruiter: "alice", level: LevelBreached, recipient: "alice",
			deliveries: []Delivery{pending("log", "alice", time.Second), pending("email", aliceEmail, time.Second)}},
		// Both off: one log line, not two.
		{name: "both off", smsOff: true, emailOff: true, recruiter: "alice", level: LevelBreached, recipient: "alice",
			deliveries: []Delivery{pending("log", "alice", time.Second)}},
		// GOODWILL_ALERTS=log: configured channels are logged too.
		{name: "mode log", mode: "log", recruiter: "alice", level: LevelBreached,
			recipient: "alice", deliveries: []Delivery{pending("log", "alice", time.Second)}},
		// Nobody to send to: recorded with no deliveries, addressed as it came.
		{name: "unknown", recruiter: "nobody", level: LevelBreached, recipient: "nobody", deliveries: []Delivery{}},
		// The directory is down: the transition is not taken (the SLA engine hands it
		// over again).
		{name: "directory down", dirErr: interactions.Unavailable("get recruiter", errors.New("down")),
			recruiter: "alice", level: LevelBreached, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := RouteStage{Directory: dir, Mode: tt.mode, SMS: !tt.smsOff, Email: !tt.emailOff}
			if s.Mode == "" {
				s.Mode = "on"
			}
			if tt.dirErr != nil {
				s.Directory = &fakeDirectory{err: tt.dirErr}
			}
			a := testAlert("a1", tt.level, 0)
			a.RecruiterID = tt.recruiter
			out, err := s.Exec(context.Background(), t0, []Batch{{Alerts: []Alert{a}}})
			if errorWanted(t, err, tt.err) {
				return
			}
			got := out[0].Alerts[0]
			if got.RecruiterID != tt.recipient || got.OwnerID != "alice" {
				t.Errorf("recipient %q, owner %q; want %q, alice", got.RecruiterID, got.OwnerID, tt.recipient)
			}
			if diff := cmp.Diff(tt.deliveries, got.Deliveries); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDedupeStage(t *testing.T) {
	t.Parallel()
	a1, a2 := testAlert("a1", LevelBreached, 0), testAlert("a2", LevelBreached, 0)
	tests := []struct {
		name   string
		stored []string
		err    error
		in     [][]Alert
		want   [][]string // ids per batch that goes on
	}{
		// A new alert is written and goes on.
		{name: "new", in: [][]Alert{{a1}}, want: [][]string{{a1.ID}}},
		// One already in the outbox stops here.
		{name: "handed over again", stored: []string{a1.ID}, in: [][]Alert{{a1}}},
		// Only the new ones go on; a batch left empty is dropped.
		{name: "mixed", stored: []string{a1.ID}, in: [][]Alert{{a1}, {a1, a2}}, want: [][]string{{a2.ID}}},
		// The same alert twice in one run: written once.
		{name: "twice at once", in: [][]Alert{{a1}, {a1}}, want: [][]string{{a1.ID}}},
		// The store is down: nothing goes on, and the caller hears of it.
		{name: "store down", err: errors.New("down"), in: [][]Alert{{a1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ob := &fakeOutbox{ids: map[string]bool{}, err: tt.err}
			for _, id := range tt.stored {
				ob.ids[id] = true
			}
			var in []Batch
			for _, as := range tt.in {
				in = append(in, Batch{Alerts: as})
			}
			out, err := DedupeStage{Outbox: ob}.Exec(context.Background(), t0, in)
			if (err != nil) != (tt.err != nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			var got [][]string
			for _, b := range out {
				var ids []string
				for _, a := range b.Alerts {
					ids = append(ids, a.ID)
				}
				got = append(got, ids)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
		})
	}
}

// batchView renders batches as "channel to: app app …".
func batchView(bs []Batch) []string {
	var out []string
	for _, b := range bs {
		var apps []string
		for _, a := range b.Alerts {
			apps = append(apps, strings.TrimPrefix(a.ClockID, "clk-"))
		}
		out = append(out, b.Channel+" "+b.To+": "+strings.Join(apps, " "))
	}
	return out
}

func TestGroupStage(t *testing.T) {
	t.Parallel()
	sent := Delivery{Channel: "sms", To: alicePhone, Status: DeliverySent}
	tests := []struct {
		name   string
		alerts []Alert
		want   []string
	}{
		// Within its window, nothing goes.
		{name: "not yet", alerts: []Alert{testAlert("a1", LevelBreached, 0, pending("sms", alicePhone, time.Millisecond))}},
		// At the window's end it goes.
		{name: "due", alerts: []Alert{testAlert("a1", LevelBreached, 0, pending("sms", alicePhone, 0))},
			want: []string{"sms " + alicePhone + ": a1"}},
		// One address, one message: the due breach takes the waiting warning along,
		// oldest first; each channel is its own batch.
		{name: "a breach takes a warning along", alerts: []Alert{
			testAlert("a2", LevelBreached, -time.Second, pending("sms", alicePhone, 0), pending("email", aliceEmail, 0)),
			testAlert("a1", LevelWarning, -5*time.Second, pending("email", aliceEmail, 55*time.Second)),
		}, want: []string{"email " + aliceEmail + ": a1 a2", "sms " + alicePhone + ": a2"}},
		// Two warnings, neither due: nothing.
		{name: "warnings wait", alerts: []Alert{
			testAlert("a1", LevelWarning, -5*time.Second, pending("email", aliceEmail, 55*time.Second)),
			testAlert("a2", LevelWarning, 0, pending("email", aliceEmail, time.Minute)),
		}},
		// Deliveries already sent or failed are done with.
		{name: "sent stays out", alerts: []Alert{
			testAlert("a1", LevelBreached, 0, sent, pending("email", aliceEmail, 0)),
			testAlert("a2", LevelBreached, 0, failed("sms", alicePhone, 0, "")),
		}, want: []string{"email " + aliceEmail + ": a1"}},
		// A deferred delivery comes back when its time comes.
		{name: "deferred and due", alerts: []Alert{
			testAlert("a1", LevelBreached, -time.Hour, deferred("sms", alicePhone, 0)),
		}, want: []string{"sms " + alicePhone + ": a1"}},
		// Addresses apart, the longest waiting first.
		{name: "most overdue first", alerts: []Alert{
			testAlert("a1", LevelBreached, 0, pending("sms", bobPhone, -time.Second)),
			testAlert("a2", LevelBreached, 0, pending("sms", alicePhone, -2*time.Second)),
			testAlert("a3", LevelBreached, 0, pending("sms", dellaPhone, -time.Second)),
		}, want: []string{"sms " + alicePhone + ": a2", "sms " + bobPhone + ": a1", "sms " + dellaPhone + ": a3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The alerts come split over batches however they are held.
			var in []Batch
			for _, a := range tt.alerts {
				in = append(in, Batch{Alerts: []Alert{a}})
			}
			out, err := GroupStage{}.Exec(context.Background(), t0, in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, batchView(out)); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("each batch has its own copies", func(t *testing.T) {
		a := testAlert("a1", LevelBreached, 0, pending("sms", alicePhone, 0), pending("email", aliceEmail, 0))
		out, _ := GroupStage{}.Exec(context.Background(), t0, []Batch{{Alerts: []Alert{a}}})
		if len(out) != 2 {
			t.Fatalf("%d batches", len(out))
		}
		out[0].Alerts[0].Deliveries[0].Status = DeliverySent
		out[0].Alerts[0].Deliveries = append(out[0].Alerts[0].Deliveries, Delivery{Channel: "email", To: "x@example.com"})
		if out[1].Alerts[0].Deliveries[0].Status != DeliveryPending || len(out[1].Alerts[0].Deliveries) != 2 ||
			a.Deliveries[0].Status != DeliveryPending {
			t.Fatal("batches share deliveries")
		}
	})
}

func TestDeferStage(t *testing.T) {
	t.Parallel()
	ny := recruiter(directory.Recruiter{ID: "alice", Phone: alicePhone, Timezone: "America/New_York", QuietHours: &directory.QuietHours{Start: "20:00", End: "08:00"}})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	saturday := time.Date(2026, 11, 7, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		r         directory.Recruiter // alice's entry; zero: not in the directory
		zone      *time.Location
		now       time.Time
		settled   bool // given settled
		dirErr    error
		err       bool
		recipient string
		until     time.Time // deferred until; zero: not deferred
	}{
		// A working moment: on to the next stage, with the recipient.
		{name: "working hours", r: ny, now: t0, recipient: "alice"},
		// 21:00 in New York: held until 08:00 there.
		{name: "quiet hours", r: ny, now: time.Date(2026, 11, 5, 2, 0, 0, 0, time.UTC), recipient: "alice",
			until: time.Date(2026, 11, 5, 13, 0, 0, 0, time.UTC)},
		// No zone of her own: the organisation's. Saturday → Monday 00:00 in Berlin.
		{name: "weekend in the organisation's zone", r: alice, zone: berlin, now: saturday, recipient: "alice",
			until: time.Date(2026, 11, 8, 23, 0, 0, 0, time.UTC)},
		// A working Saturday.
		{name: "her working day", r: recruiter(directory.Recruiter{ID: "alice", Phone: alicePhone, WorkingDays: []string{"sat"}}),
			now: saturday, recipient: "alice"},
		// Gone from the directory: no quiet hours to keep.
		{name: "not in the directory", now: saturday},
		// Already decided: left alone.
		{name: "settled", r: ny, now: time.Date(2026, 11, 5, 2, 0, 0, 0, time.UTC), settled: true},
		// The directory is down: the batch waits for the next flush.
		{name: "directory down", r: ny, now: t0, dirErr: errors.New("down"), err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := &fakeDirectory{recipients: map[string]directory.Recruiter{}, err: tt.dirErr}
			if tt.r.ID != "" {
				dir.recipients["alice"] = tt.r
			}
			s := DeferStage{Directory: dir}
			if tt.zone != nil {
				s.Zone = func() *time.Location { return tt.zone }
			}
			in := []Batch{{Channel: "sms", To: alicePhone, Settled: tt.settled,
				Alerts: []Alert{testAlert("a1", LevelBreached, 0, pending("sms", alicePhone, 0))}}}
			out, err := s.Exec(context.Background(), tt.now, in)
			if errorWanted(t, err, tt.err) {
				return
			}
			b := out[0]
			if tt.settled {
				if dir.calls != 0 || b.Alerts[0].Deliveries[0].Status != DeliveryPending {
					t.Fatalf("a settled batch was looked at: %+v", b)
				}
				return
			}
			if b.Recipient.ID != tt.recipient {
				t.Errorf("recipient %q, want %q", b.Recipient.ID, tt.recipient)
			}
			want := pending("sms", alicePhone, 0)
			if !tt.until.IsZero() {
				want.Status, want.NextAt = DeliveryDeferred, tt.until
			}
			if diff := cmp.Diff(want, b.Alerts[0].Deliveries[0]); diff != "" {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
			if b.Settled != !tt.until.IsZero() {
				t.Errorf("settled %v", b.Settled)
			}
		})
	}
}

func TestThrottleStage(t *testing.T) {
	t.Parallel()
	day := t0.Format(time.DateOnly)
	overLimit := failed("sms", alicePhone, 0, "over the limit of 50 SMS a day to this number")
	fallback := pending("email", aliceEmail, 0)
	tests := []struct {
		name       string
		channel    string
		before     int // SMS counted today
		fallback   bool
		recipient  directory.Recruiter
		settled    bool
		counterErr error
		err        bool
		after      int // the count afterwards
		held       bool
		deliveries []Delivery // nil: unchanged
	}{
		// Under the limit: counted, and on to send.
		{name: "under", channel: "sms", before: 10, after: 11, held: true},
		// The 50th of the day still goes.
		{name: "the 50th", channel: "sms", before: 49, after: 50, held: true},
		// The 51st does not: the SMS fails and email takes over.
		{name: "the 51st", channel: "sms", before: 50, after: 50, fallback: true, recipient: alice,
			deliveries: []Delivery{overLimit, fallback}},
		// No fallback when email is off …
		{name: "the 51st, email off", channel: "sms", before: 50, after: 50, recipient: alice,
			deliveries: []Delivery{overLimit}},
		// … or the recipient has no address.
		{name: "the 51st, no address", channel: "sms", before: 50, after: 50, fallback: true, recipient: della,
			deliveries: []Delivery{overLimit}},
		// Email is not throttled.
		{name: "email", channel: "email", before: 50, after: 50},
		// Settled (deferred): not counted.
		{name: "settled", channel: "sms", before: 10, after: 10, settled: true},
		// The count cannot be read: nothing is sent.
		{name: "store down", channel: "sms", counterErr: errors.New("down"), err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeCounter{n: map[string]int{alicePhone + "|" + day: tt.before}, err: tt.counterErr}
			to := alicePhone
			if tt.channel == "email" {
				to = aliceEmail
			}
			a := testAlert("a1", LevelBreached, 0, pending(tt.channel, to, 0))
			in := []Batch{{Channel: tt.channel, To: to, Alerts: []Alert{a}, Recipient: tt.recipient, Settled: tt.settled}}
			out, err := ThrottleStage{Counter: c, PerDay: 50, Fallback: tt.fallback}.Exec(context.Background(), t0, in)
			if errorWanted(t, err, tt.err) {
				return
			}
			b := out[0]
			if n := c.n[alicePhone+"|"+day]; n != tt.after {
				t.Errorf("count %d, want %d", n, tt.after)
			}
			if (b.smsDay != "") != tt.held {
				t.Errorf("holds a count: %v", b.smsDay != "")
			}
			want := tt.deliveries
			if want == nil {
				want = a.Deliveries
			}
			if diff := cmp.Diff(want, b.Alerts[0].Deliveries); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
			if b.Settled != (tt.settled || tt.deliveries != nil) {
				t.Errorf("settled %v", b.Settled)
			}
		})
	}
}

func TestSendStage(t *testing.T) {
	t.Parallel()
	ambiguous := mayHaveGone(again("sms", alicePhone, 0, 1, ""))
	a1 := testAlert("a1", LevelBreached, 0, pending("sms", alicePhone, 0), pending("email", aliceEmail, 0))
	tests := []struct {
		name      string
		channel   string
		delivery  Delivery // a1's delivery on the channel
		smsOff    bool
		settled   bool
		sendErr   error
		wentOut   bool // a message with a1's code already went out to alice
		lookupErr error
		noteErr   error // the journal's
		sends     int   // calls to SMS or Email Send
		lookups   int
		noted     int // batches the journal noted before a send
		err       bool
		sent      string // the provider id of the delivery sent; "" for email and log
	}{
		// An SMS goes out and is marked sent with Twilio's id.
		// (noted first, as one that may go out).
		{name: "sms", channel: "sms", delivery: pending("sms", alicePhone, 0), noted: 1, sends: 1, sent: fmt.Sprintf("SM%032d", 1)},
		// A failure is left for retry; the delivery is unchanged.
		{name: "sms fails", channel: "sms", delivery: pending("sms", alicePhone, 0), sendErr: retryErr(), noted: 1, sends: 1, err: true},
		// It cannot be noted: not sent.
		{name: "journal fails", channel: "sms", delivery: pending("sms", alicePhone, 0), noteErr: errors.New("store down"), noted: 1, err: true},
		// After an ambiguous failure (or a crash after the note) it is looked up, found,
		// and not sent again.
		{name: "ambiguous, went out", channel: "sms", delivery: ambiguous, wentOut: true, lookups: 1, sent: "SM-earlier"},
		// Not found: sent.
		{name: "ambiguous, lost", channel: "sms", delivery: ambiguous, lookups: 1, noted: 1, sends: 1, sent: fmt.Sprintf("SM%032d", 1)},
		// The lookup fails: no send.
		{name: "lookup fails", channel: "sms", delivery: ambiguous, lookupErr: retryErr(), lookups: 1, err: true},
		// SMS not configured (any more): a permanent failure.
		{name: "sms off", channel: "sms", delivery: pending("sms", alicePhone, 0), smsOff: true, err: true},
		// Email.
		{name: "email", channel: "email", delivery: pending("email", aliceEmail, 0), sends: 1},
		// A log line always "goes out".
		{name: "log", channel: "log", delivery: pending("log", "alice", 0)},
		// A settled batch is not sent.
		{name: "settled", channel: "sms", delivery: pending("sms", alicePhone, 0), settled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sms, mail := &fakeSMS{}, &fakeEmail{}
			if tt.sendErr != nil {
				sms.errs = []error{tt.sendErr}
			}
			sms.lookupErr = tt.lookupErr
			if tt.wentOut {
				sms.provider = map[string]string{alicePhone + "|" + a1.Code: "SM-earlier"}
			}
			journal := &fakeJournal{sms: sms, err: tt.noteErr}
			s := SendStage{SMS: sms, Email: mail, Names: candidateNames, Log: quiet, Journal: journal,
				Link: func(id string, _ time.Time) string { return "https://gw.example/a/" + id }}
			if tt.smsOff {
				s.SMS = nil
			}
			a := a1
			a.Deliveries = []Delivery{tt.delivery}
			in := []Batch{{Channel: tt.channel, To: tt.delivery.To, Alerts: []Alert{a}, Recipient: alice, Settled: tt.settled}}
			out, err := s.Exec(context.Background(), t0.Add(time.Hour), in)
			if err != nil {
				t.Fatal(err) // a failed send is the batch's, not the stage's
			}
			b := out[0]
			if got := sms.numCalls() + mail.numCalls(); got != tt.sends {
				t.Errorf("%d sends, want %d", got, tt.sends)
			}
			if len(sms.lookups) != tt.lookups {
				t.Errorf("%d lookups, want %d", len(sms.lookups), tt.lookups)
			}
			if journal.noted != tt.noted || journal.sendsBefore != 0 {
				t.Errorf("noted %d batches (want %d), after %d sends", journal.noted, tt.noted, journal.sendsBefore)
			}
			if (b.Err != nil) != tt.err {
				t.Fatalf("error %v", b.Err)
			}
			dl := b.Alerts[0].Deliveries[0]
			if tt.err || tt.settled {
				if diff := cmp.Diff(tt.delivery, dl); diff != "" || b.Settled != tt.settled {
					t.Errorf("changed (-want +got):\n%s", diff)
				}
				return
			}
			at := t0.Add(time.Hour)
			want := tt.delivery
			want.Status, want.ProviderID, want.Attempts, want.SentAt, want.Ambiguous = DeliverySent, tt.sent, tt.delivery.Attempts+1, &at, false
			if diff := cmp.Diff(want, dl); diff != "" || !b.Settled {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
			// What went out names the candidate and carries the code and the link.
			var text string
			switch tt.channel {
			case "sms":
				if tt.sends > 0 {
					text = sms.sent()[0].Body
				}
			case "email":
				m := mail.sent()[0]
				text = m.Text
				if want := "<" + a1.Code + ".20261104150000.000@goodwill>"; m.MessageID != want {
					t.Errorf("Message-ID %s, want %s", m.MessageID, want)
				}
			}
			if text != "" && (!strings.Contains(text, "Ada Lovelace") || !strings.Contains(text, a1.Code) ||
				!strings.Contains(text, "https://gw.example/a/"+a1.ID) || !strings.Contains(text, "1h")) {
				t.Errorf("message %q", text)
			}
		})
	}
}

// TestSendStageFlush: the SMS of a flush are noted in one write before any goes out;
// every batch, sent or settled before, goes through Then by itself.
func TestSendStageFlush(t *testing.T) {
	t.Parallel()
	sms := &fakeSMS{}
	journal := &fakeJournal{sms: sms}
	var mu sync.Mutex
	var then []string
	s := SendStage{SMS: sms, Email: &fakeEmail{}, Names: candidateNames, Log: quiet, Journal: journal, Workers: 4,
		Then: stageFunc(func(_ context.Context, _ time.Time, bs []Batch) ([]Batch, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, b := range bs {
				then = append(then, fmt.Sprintf("%s %s settled=%v", b.Channel, b.To, b.Settled))
			}
			return bs, nil
		})}
	var in []Batch
	for i, to := range []string{alicePhone, bobPhone, dellaPhone} {
		in = append(in, Batch{Channel: "sms", To: to, Recipient: alice,
			Alerts: []Alert{testAlert(fmt.Sprint("a", i), LevelBreached, 0, pending("sms", to, 0))}})
	}
	in = append(in, Batch{Channel: "email", To: aliceEmail, Recipient: alice, Settled: true, // deferred
		Alerts: []Alert{testAlert("a9", LevelBreached, 0, pending("email", aliceEmail, 0))}})
	out, err := s.Exec(context.Background(), t0, in)
	if err != nil {
		t.Fatal(err)
	}
	if journal.calls != 1 || journal.noted != 3 || journal.sendsBefore != 0 || sms.numCalls() != 3 {
		t.Fatalf("journal: %d calls, %d batches noted, %d sends before; %d sends", journal.calls, journal.noted, journal.sendsBefore, sms.numCalls())
	}
	if len(out) != 4 || len(then) != 4 {
		t.Fatalf("%d batches out, %d through Then: %v", len(out), len(then), then)
	}
	for _, b := range out[:3] {
		if !b.noted || !b.Settled || b.Alerts[0].Deliveries[0].Status != DeliverySent {
			t.Errorf("batch to %s: noted %v, %+v", b.To, b.noted, b.Alerts[0].Deliveries[0])
		}
	}
}

func TestRetryStage(t *testing.T) {
	t.Parallel()
	perm := &SendError{Failure: Permanent, Err: errors.New("550 no such user")}
	unreachable := &SendError{Failure: Permanent, Unreachable: true, Err: errors.New("21610 unsubscribed")}
	const unavailable = "503 service unavailable" // retryErr's
	day := t0.Format(time.DateOnly)
	tests := []struct {
		name     string
		channel  string
		attempts []int // of each alert's delivery before
		err      error
		held     bool
		want     []Delivery // each alert's delivery after; fallbacks after them
	}{
		// Retried after the backoff of its attempt count.
		{name: "retryable", channel: "sms", attempts: []int{0}, err: retryErr(),
			want: []Delivery{again("sms", alicePhone, time.Second, 1, unavailable)}},
		// Ambiguous: retried, and looked up first next time.
		{name: "ambiguous", channel: "sms", attempts: []int{2}, err: ambiguousErr(false),
			want: []Delivery{mayHaveGone(again("sms", alicePhone, 3*time.Second, 3, "connection reset before the answer"))}},
		// A permanent email failure: failed, no fallback.
		{name: "permanent email", channel: "email", attempts: []int{0}, err: perm,
			want: []Delivery{failed("email", aliceEmail, 1, "550 no such user")}},
		// An unreachable number: failed, and email takes over.
		{name: "unreachable", channel: "sms", attempts: []int{0}, err: unreachable,
			want: []Delivery{failed("sms", alicePhone, 1, "21610 unsubscribed"), pending("email", aliceEmail, 0)}},
		// Attempts are each delivery's own: the one at its eighth gives up, the new one
		// is retried.
		{name: "the eighth attempt", channel: "sms", attempts: []int{7, 0}, err: retryErr(),
			want: []Delivery{failed("sms", alicePhone, 8, unavailable), pending("email", aliceEmail, 0),
				again("sms", alicePhone, time.Second, 1, unavailable)}},
		// The count Throttle took is given back.
		{name: "count given back", channel: "sms", attempts: []int{0}, err: retryErr(), held: true,
			want: []Delivery{again("sms", alicePhone, time.Second, 1, unavailable)}},
		// Sent: nothing to do.
		{name: "sent", channel: "sms", attempts: []int{1}, held: true,
			want: []Delivery{again("sms", alicePhone, 0, 1, "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := map[string]string{"sms": alicePhone, "email": aliceEmail}[tt.channel]
			b := Batch{Channel: tt.channel, To: to, Recipient: alice, Err: tt.err}
			for i, n := range tt.attempts {
				dl := pending(tt.channel, to, 0)
				dl.Attempts = n
				b.Alerts = append(b.Alerts, testAlert(fmt.Sprint("a", i), LevelBreached, 0, dl))
			}
			c := &fakeCounter{n: map[string]int{alicePhone + "|" + day: 5}}
			if tt.held {
				b.smsDay = day
			}
			s := RetryStage{MaxAttempts: 8, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Second },
				Counter: c, Fallback: true, Log: quiet}
			out, err := s.Exec(context.Background(), t0, []Batch{b})
			if err != nil {
				t.Fatal(err)
			}
			var got []Delivery
			for _, a := range out[0].Alerts {
				got = append(got, a.Deliveries...)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
			wantReleased := 0
			if tt.held && tt.err != nil {
				wantReleased = 1
			}
			if c.released != wantReleased || out[0].Settled != (tt.err != nil) {
				t.Errorf("released %d, settled %v", c.released, out[0].Settled)
			}
		})
	}
}

func TestRecordStage(t *testing.T) {
	t.Parallel()
	at := t0
	sent := func(d Delivery) Delivery {
		d.Status, d.Attempts, d.ProviderID, d.SentAt = DeliverySent, d.Attempts+1, "SM1", &at
		return d
	}
	sms, email := pending("sms", alicePhone, 0), pending("email", aliceEmail, 0)
	escalateAt := t0.Add(10 * time.Minute)
	earlier := t0.Add(-time.Hour)
	tests := []struct {
		name    string
		live    Alert   // in memory before
		batch   []Batch // the stages' copies
		fail    bool    // the write fails
		want    Alert   // in memory and stored after
		unsaved bool
	}{
		// Sent: recorded; a breach's escalation clock starts at its first delivery.
		{name: "breach sent",
			live:  testAlert("a1", LevelBreached, 0, sms, email),
			batch: one("sms", alicePhone, testAlert("a1", LevelBreached, 0, sent(sms), email)),
			want:  firstDelivered(testAlert("a1", LevelBreached, 0, sent(sms), email), at, escalateAt)},
		// A warning never escalates.
		{name: "warning sent",
			live:  testAlert("a1", LevelWarning, 0, email),
			batch: one("email", aliceEmail, testAlert("a1", LevelWarning, 0, sent(email))),
			want:  firstDelivered(testAlert("a1", LevelWarning, 0, sent(email)), at, time.Time{})},
		// The first delivery stays the first.
		{name: "second channel sent",
			live:  firstDelivered(testAlert("a1", LevelBreached, 0, sent(sms), email), earlier, time.Time{}),
			batch: one("email", aliceEmail, testAlert("a1", LevelBreached, 0, sms, sent(email))),
			want:  firstDelivered(testAlert("a1", LevelBreached, 0, sent(sms), sent(email)), earlier, time.Time{})},
		// A fallback added by a stage joins the alert.
		{name: "fallback",
			live:  testAlert("a1", LevelBreached, 0, sms),
			batch: one("sms", alicePhone, testAlert("a1", LevelBreached, 0, failed("sms", alicePhone, 0, ""), email)),
			want:  testAlert("a1", LevelBreached, 0, failed("sms", alicePhone, 0, ""), email)},
		// Only the batch's own delivery is taken from its copy: the email, sent by
		// another batch meanwhile, stays sent.
		{name: "another batch's change is kept",
			live:  firstDelivered(testAlert("a1", LevelBreached, 0, sms, sent(email)), earlier, escalateAt),
			batch: one("sms", alicePhone, testAlert("a1", LevelBreached, 0, deferred("sms", alicePhone, time.Hour), email)),
			want:  firstDelivered(testAlert("a1", LevelBreached, 0, deferred("sms", alicePhone, time.Hour), sent(email)), earlier, escalateAt)},
		// A failed write: memory is right, the store is not written; logged.
		{name: "store down",
			live:  testAlert("a1", LevelBreached, 0, sms),
			batch: one("sms", alicePhone, testAlert("a1", LevelBreached, 0, deferred("sms", alicePhone, time.Hour))),
			fail:  true, unsaved: true,
			want: testAlert("a1", LevelBreached, 0, deferred("sms", alicePhone, time.Hour))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := newLiveSet()
			live.add(tt.live)
			flushes := &fakeFlushes{fail: tt.fail}
			s := MultiStage{RecordStage{Live: live, Log: quiet, EscalateAfter: func(policy string) time.Duration {
				if policy == "first_response" {
					return 10 * time.Minute
				}
				return 0
			}}, WriteStage{Outbox: flushes, Log: quiet}}
			if _, err := s.Exec(context.Background(), t0, tt.batch); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Rev = tt.live.Rev + 1
			got, _ := live.get(tt.live.ID)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("live (-want +got):\n%s", diff)
			}
			// Written to the alert's document later, by the fold, whether or not the
			// flush document could be.
			if dirty, ok := live.dirtyCopy(tt.live.ID); !ok || !cmp.Equal(dirty, want) {
				t.Errorf("dirty %v: %+v", ok, dirty)
			}
			stored, ok := flushes.entries[tt.live.ID]
			if ok == tt.unsaved {
				t.Fatalf("stored: %v", ok)
			}
			if diff := cmp.Diff(entryOf(&want), stored); ok && diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteStage: one flush is one write, with one entry per alert (its last
// change) and one mapping per SMS sent, from its MessageSid to the alerts it carried.
func TestWriteStage(t *testing.T) {
	t.Parallel()
	live := newLiveSet()
	sms, email := pending("sms", alicePhone, 0), pending("email", aliceEmail, 0)
	sent := func(d Delivery, id string) Delivery {
		d.Status, d.Attempts, d.ProviderID = DeliverySent, 1, id
		return d
	}
	a1, a2 := testAlert("a1", LevelBreached, 0, sms, email), testAlert("a2", LevelBreached, 0, sms)
	live.add(a1)
	live.add(a2)
	flushes := &fakeFlushes{}
	batches := []Batch{
		{Channel: "sms", To: alicePhone, noted: true, Alerts: []Alert{
			testAlert("a1", LevelBreached, 0, sent(sms, "SM1"), email), testAlert("a2", LevelBreached, 0, sent(sms, "SM1"))}},
		{Channel: "email", To: aliceEmail, Alerts: []Alert{testAlert("a1", LevelBreached, 0, sms, sent(email, ""))}},
	}
	if _, err := (MultiStage{RecordStage{Live: live, Log: quiet}, WriteStage{Outbox: flushes, Log: quiet}}).Exec(context.Background(), t0, batches); err != nil {
		t.Fatal(err)
	}
	if len(flushes.noted) != 1 || !flushes.noted[0] {
		t.Fatalf("recorded %v times (noted)", flushes.noted)
	}
	if got := deliveries(Alert{Deliveries: flushes.entries[a1.ID].Deliveries}); !cmp.Equal(got, []string{"sms " + alicePhone + " sent", "email " + aliceEmail + " sent"}) {
		t.Errorf("a1's entry %v", got)
	}
	if e := flushes.entries[a1.ID]; e.Rev != 2 {
		t.Errorf("a1's entry at revision %d, want 2", e.Rev)
	}
	want := []smsMessage{{SID: "SM1", To: alicePhone, AlertIDs: []string{a1.ID, a2.ID}, At: t0}}
	if diff := cmp.Diff(want, flushes.sent); diff != "" {
		t.Errorf("SMS mapped (-want +got):\n%s", diff)
	}
}

// TestRecordSending: before SMS go out, their deliveries are noted in one write, and
// are ambiguous in memory.
func TestRecordSending(t *testing.T) {
	t.Parallel()
	live := newLiveSet()
	a := testAlert("a1", LevelBreached, 0, pending("sms", alicePhone, 0), pending("email", aliceEmail, 0))
	b := testAlert("a2", LevelBreached, 0, pending("sms", bobPhone, 0))
	live.add(a)
	live.add(b)
	flushes := &fakeFlushes{}
	s := noter{Live: live, Outbox: flushes}
	if err := s.sending(context.Background(), t0, append(one("sms", alicePhone, a), one("sms", bobPhone, b)...)); err != nil {
		t.Fatal(err)
	}
	want := []sendingMark{{a.ID, "sms", alicePhone}, {b.ID, "sms", bobPhone}}
	if diff := cmp.Diff(want, flushes.marks); diff != "" {
		t.Errorf("noted (-want +got):\n%s", diff)
	}
	got, _ := live.get(a.ID)
	if !got.Deliveries[0].Ambiguous || got.Deliveries[1].Ambiguous {
		t.Errorf("live %+v", got.Deliveries)
	}
	flushes.fail = true
	if err := s.sending(context.Background(), t0, one("sms", alicePhone, a)); err == nil {
		t.Error("a failed write is not reported")
	}
}

// stageFunc adapts a function to Stage.
type stageFunc func(ctx context.Context, now time.Time, bs []Batch) ([]Batch, error)

func (f stageFunc) Exec(ctx context.Context, now time.Time, bs []Batch) ([]Batch, error) {
	return f(ctx, now, bs)
}

func TestMultiStage(t *testing.T) {
	t.Parallel()
	var ran []string
	step := func(name string, keep bool, err error) Stage {
		return stageFunc(func(_ context.Context, _ time.Time, bs []Batch) ([]Batch, error) {
			ran = append(ran, name)
			if !keep {
				return nil, err
			}
			return bs, err
		})
	}
	tests := []struct {
		name   string
		stages MultiStage
		ran    []string
		err    bool
		left   int
	}{
		// Each on what the previous left.
		{name: "all", stages: MultiStage{step("a", true, nil), step("b", true, nil)}, ran: []string{"a", "b"}, left: 1},
		// Nothing left: the rest do not run.
		{name: "emptied", stages: MultiStage{step("a", false, nil), step("b", true, nil)}, ran: []string{"a"}},
		// An error stops the chain.
		{name: "error", stages: MultiStage{step("a", true, errors.New("x")), step("b", true, nil)}, ran: []string{"a"}, err: true},
	}
	for _, tt := range tests {
		ran = nil
		out, err := tt.stages.Exec(context.Background(), t0, []Batch{{Channel: "sms"}})
		if (err != nil) != tt.err || len(out) != tt.left || !cmp.Equal(ran, tt.ran) {
			t.Errorf("%s: ran %v, %d left, error %v", tt.name, ran, len(out), err)
		}
	}
}

// fakeJournal counts its calls, the batches noted, and the sends made before the
// first.
type fakeJournal struct {
	sms         *fakeSMS
	err         error
	calls       int
	noted       int
	sendsBefore int
}

func (f *fakeJournal) sending(_ context.Context, _ time.Time, bs []Batch) error {
	if f.calls == 0 {
		f.sendsBefore = f.sms.numCalls()
	}
	f.calls++
	f.noted += len(bs)
	return f.err
}

// countingNames counts the lookups it answers.
type countingNames struct {
	fakeNames
	jobs, candidates int
}

func (n *countingNames) Job(ctx context.Context, id string) (interactions.JobInfo, error) {
	n.jobs++
	return n.fakeNames.Job(ctx, id)
}

func (n *countingNames) Candidate(ctx context.Context, id string) (interactions.Candidate, error) {
	n.candidates++
	return n.fakeNames.Candidate(ctx, id)
}

// TestCandidateNamesReadAhead: a name read ahead serves one message, within a minute,
// and is forgotten when the candidate is erased.
func TestCandidateNamesReadAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name  string
		after time.Duration // between the read ahead and the message
		erase bool
		reads int // store reads in all, the read ahead included
	}{
		// Used once: the message reads nothing.
		{name: "read ahead", after: time.Second, reads: 1},
		// Over a minute old: read again.
		{name: "stale", after: time.Minute, reads: 2},
		// Erased meanwhile: read again (and found blank, after a real erasure).
		{name: "erased", after: time.Second, erase: true, reads: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			names := &countingNames{fakeNames: candidateNames}
			c := &messageNames{Names: names, now: clock.Now}
			c.prefetch(ctx, "cand-a1")
			if tt.erase {
				c.forget([]string{"cand-a1"})
			}
			clock.Set(t0.Add(tt.after))
			if got, err := c.Candidate(ctx, "cand-a1"); err != nil || got.Name != "Ada Lovelace" {
				t.Fatalf("%+v, %v", got, err)
			}
			if names.candidates != tt.reads {
				t.Errorf("%d reads, want %d", names.candidates, tt.reads)
			}
			// The next message reads it again.
			if _, err := c.Candidate(ctx, "cand-a1"); err != nil || names.candidates != tt.reads+1 {
				t.Errorf("a name read ahead served twice (%d reads)", names.candidates)
			}
		})
	}
}

// TestJobTitles: SendStage reads a job's title once a minute; candidates' names every
// time.
func TestJobTitles(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: t0}
	names := &countingNames{fakeNames: candidateNames}
	c := &messageNames{Names: names, now: clock.Now}
	for _, at := range []time.Duration{0, 30 * time.Second, 59 * time.Second, time.Minute, time.Minute + time.Second} {
		clock.Set(t0.Add(at))
		if j, err := c.Job(context.Background(), "job-eng"); err != nil || j.Title != "Senior Engineer" {
			t.Fatalf("at %s: %+v, %v", at, j, err)
		}
	}
	if names.jobs != 2 {
		t.Errorf("%d lookups in a minute and a second, want 2", names.jobs)
	}
	if _, err := c.Job(context.Background(), "job-none"); err == nil {
		t.Error("an unknown job has a title")
	}
	if _, err := c.Candidate(context.Background(), "cand-a1"); err != nil {
		t.Error(err)
	}
}

// TestLiveTake: a flight takes the addresses with a delivery due that no other flight
// holds, and its copies carry no waiting delivery to any other address.
func TestLiveTake(t *testing.T) {
	t.Parallel()
	l := newLiveSet()
	// a1: SMS due, email not yet. a2: email due. a3: nothing due.
	l.add(testAlert("a1", LevelBreached, 0, pending("sms", alicePhone, 0), pending("email", aliceEmail, time.Minute)))
	l.add(testAlert("a2", LevelWarning, 0, pending("email", aliceEmail, 0)))
	l.add(testAlert("a3", LevelWarning, 0, pending("email", "bob@example.com", time.Minute)))
	view := func(as []Alert) map[string][]string {
		out := map[string][]string{}
		for _, a := range as {
			for _, dl := range a.Deliveries {
				out[strings.TrimPrefix(a.ClockID, "clk-")] = append(out[strings.TrimPrefix(a.ClockID, "clk-")], dl.Channel)
			}
		}
		return out
	}

	got, first, next := l.take(t0)
	if want := map[string][]string{"a1": {"sms", "email"}, "a2": {"email"}}; !cmp.Equal(view(got), want) {
		t.Errorf("first flight %v, want %v", view(got), want)
	}
	if !next.Equal(t0.Add(time.Minute)) {
		t.Errorf("next %s", next)
	}
	// Nothing new is due; what is due is taken.
	if got, _, _ := l.take(t0); len(got) != 0 {
		t.Errorf("a second flight took %v", view(got))
	}
	// The SMS address is given back (its batch was recorded, here: not): taken again.
	l.release(first, address{"sms", alicePhone})
	got, second, _ := l.take(t0)
	if want := map[string][]string{"a1": {"sms"}}; !cmp.Equal(view(got), want) {
		t.Errorf("after the SMS address came back: %v, want %v", view(got), want)
	}
	// The first flight ends: its email address comes back, the SMS (second flight's)
	// stays taken.
	l.release(first)
	if got, _, _ := l.take(t0); !cmp.Equal(view(got), map[string][]string{"a1": {"email"}, "a2": {"email"}}) {
		t.Errorf("after the first flight: %v", view(got))
	}
	l.release(second)
}

// TestCountryStage checks that an SMS number outside the SMS countries fails at send
// time, saying why without the number, and falls back to email.
func TestCountryStage(t *testing.T) {
	t.Parallel()
	const ukPhone = "+447700900123"
	const outside = "not sent: the number is outside the SMS countries (US, CA)"
	fallback := pending("email", aliceEmail, 0)
	tests := []struct {
		name       string
		channel    string
		to         string
		countries  []string
		fallback   bool
		settled    bool
		deliveries []Delivery // nil: unchanged, not settled
	}{
		// A number of an allowed country goes on.
		{name: "allowed", channel: "sms", to: alicePhone, countries: []string{"US", "CA"}, fallback: true},
		// One stored before its country left the list fails; email takes over.
		{name: "outside", channel: "sms", to: ukPhone, countries: []string{"US", "CA"}, fallback: true,
			deliveries: []Delivery{failed("sms", ukPhone, 0, outside), fallback}},
		// No fallback when email is off.
		{name: "outside, email off", channel: "sms", to: ukPhone, countries: []string{"US", "CA"},
			deliveries: []Delivery{failed("sms", ukPhone, 0, outside)}},
		// A Caribbean +1 number is not a US one.
		{name: "caribbean", channel: "sms", to: "+18765550100", countries: []string{"US", "CA"},
			deliveries: []Delivery{failed("sms", "+18765550100", 0, outside)}},
		// Email is not checked.
		{name: "email", channel: "email", to: aliceEmail, countries: []string{"US"}},
		// No list: no check.
		{name: "no list", channel: "sms", to: ukPhone},
		// Settled (deferred): left alone.
		{name: "settled", channel: "sms", to: ukPhone, countries: []string{"US"}, settled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testAlert("a1", LevelBreached, 0, pending(tt.channel, tt.to, 0))
			in := []Batch{{Channel: tt.channel, To: tt.to, Alerts: []Alert{a}, Recipient: alice, Settled: tt.settled}}
			out, err := CountryStage{Countries: tt.countries, Fallback: tt.fallback}.Exec(context.Background(), t0, in)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.deliveries
			if want == nil {
				want = a.Deliveries
			}
			if diff := cmp.Diff(want, out[0].Alerts[0].Deliveries); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
			if out[0].Settled != (tt.settled || tt.deliveries != nil) {
				t.Errorf("settled %v", out[0].Settled)
			}
		})
	}
}
