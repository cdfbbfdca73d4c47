package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
)

// What the stages need, declared here, where they are used. *directory.Store and
// *Store provide them; the stage tests use hand-written fakes.
type (
	recipients interface {
		Recipient(ctx context.Context, recruiterID string, now time.Time) (directory.Recruiter, error)
	}
	outbox interface {
		// create stores new alerts under their unique keys, and reports for each
		// whether it is new: false when it was stored before.
		create(ctx context.Context, alerts []Alert) (created []bool, err error)
	}
	smsCounter interface {
		// reserveSMS adds one to the SMS sent to each number on day and returns the new
		// counts; on an error, those not counted are 0.
		reserveSMS(ctx context.Context, day string, numbers []string) ([]int, error)
		// releaseSMS takes one back: the message did not go out.
		releaseSMS(ctx context.Context, number, day string) error
	}
	flushWriter interface {
		// sending notes durably that the marked deliveries' messages may go out.
		sending(ctx context.Context, flush, by string, now time.Time, marks []sendingMark) error
		// recorded stores what became of the alerts a flush changed, and the SMS it sent.
		recorded(ctx context.Context, flush, by string, now time.Time, noted bool, entries []flushEntry, sent []smsMessage) error
	}
	journal interface {
		// sending notes durably, in one write, that the batches' messages may go out.
		sending(ctx context.Context, now time.Time, bs []Batch) error
	}
)

// RouteStage gives each new alert its recipient and deliveries. The recipient is the
// recruiter the alert names (Alert.RecruiterID on the way in), its delegate while it is
// away, or "default" when there is no such recruiter; with none of them, the alert keeps
// its recruiter and gets no deliveries: it is recorded, and undeliverable. There is one
// delivery per channel the recipient wants at the alert's level and can be reached on,
// due when the level's grouping window has passed (breaches 1 s, warnings a minute); a
// channel that is off (not configured, or Mode "log") becomes one log line instead. A
// recipient who asks for slack but has no Slack user gets email instead, when it is on.
type RouteStage struct {
	Directory                recipients
	Mode                     string // GOODWILL_ALERTS
	SMS, Email, Teams, Slack bool   // whether the channel is configured
}

// Exec implements Stage.
func (s RouteStage) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	for bi := range batches {
		for i := range batches[bi].Alerts {
			a := &batches[bi].Alerts[i]
			a.Deliveries = []Delivery{}
			r, err := s.Directory.Recipient(ctx, a.RecruiterID, now)
			if interactions.ErrorCode(err) == interactions.CodeNotFound {
				continue
			}
			if err != nil {
				return nil, err
			}
			a.RecruiterID = r.ID
			a.Deliveries = s.deliveries(r, a.Level, now)
		}
	}
	return batches, nil
}

// channelsFor returns the channels a recruiter wants alerts of level l through.
func channelsFor(c directory.Channels, l Level) []string {
	switch l {
	case LevelWarning:
		return c.Warning
	case LevelBreached:
		return c.Breached
	case LevelEscalated:
		return c.Escalated
	}
	return nil
}

func (s RouteStage) deliveries(r directory.Recruiter, level Level, now time.Time) []Delivery {
	window := breachWindow
	if level == LevelWarning {
		window = warningWindow
	}
	out := []Delivery{}
	logged := false
	for _, ch := range channelsFor(r.Channels, level) {
		to := map[string]string{ChannelSMS: r.Phone, ChannelEmail: r.Email, ChannelSlack: r.SlackUserID}[ch]
		if ch == ChannelTeams && r.TeamsWebhookURL != "" {
			to = r.ID // the URL is a secret: read from the directory when sending
		}
		on := s.Mode == "on" && ((ch == ChannelSMS && s.SMS) || (ch == ChannelEmail && s.Email) || (ch == ChannelTeams && s.Teams) ||
			(ch == ChannelSlack && s.Slack))
		if ch == ChannelSlack && to == "" && on && s.Email && r.Email != "" {
			// Slack has no user for them (yet): email instead, as when Slack cannot reach them.
			ch, to = ChannelEmail, r.Email
		}
		switch {
		case to == "":
			continue
		case !on:
			if logged {
				continue
			}
			ch, to, logged = "log", r.ID, true
		}
		if slices.ContainsFunc(out, func(dl Delivery) bool { return dl.Channel == ch && dl.To == to }) {
			continue
		}
		out = append(out, Delivery{Channel: ch, To: to, Status: DeliveryPending, NextAt: now.Add(window)})
	}
	return out
}

// DedupeStage writes each new alert to the outbox under its unique key before anything is
// sent, and leaves out the alerts that were there already: a transition handed over
// twice (a retry, a restart, another replica) is one alert, sent once.
type DedupeStage struct{ Outbox outbox }

// Exec implements Stage.
// All the batches' alerts are written with one request.
func (s DedupeStage) Exec(ctx context.Context, _ time.Time, batches []Batch) ([]Batch, error) {
	var all []Alert
	for _, b := range batches {
		all = append(all, b.Alerts...)
	}
	if len(all) == 0 {
		return nil, nil
	}
	created, err := s.Outbox.create(ctx, all)
	if err != nil {
		return nil, err
	}
	var out []Batch
	i := 0
	for _, b := range batches {
		var fresh []Alert
		for _, a := range b.Alerts {
			if created[i] {
				fresh = append(fresh, a)
			}
			i++
		}
		if len(fresh) > 0 {
			b.Alerts = fresh
			out = append(out, b)
		}
	}
	return out, nil
}

// GroupStage gathers the alerts of the batches it is given into one batch per channel and
// address, and passes on those where some delivery is due (its grouping window, backoff
// or deferral has passed): the address's other waiting deliveries go along in the same
// message, so a breach takes waiting warnings with it. Alerts are oldest first; the
// batches most overdue first. Each batch gets its own copies of the alerts.
type GroupStage struct{}

// Exec implements Stage.
func (GroupStage) Exec(_ context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	type key struct{ channel, to string }
	groups := map[key]*Batch{}
	due := map[key]time.Time{} // the earliest delivery due, for the groups with one
	for _, in := range batches {
		for i := range in.Alerts {
			a := &in.Alerts[i]
			for _, dl := range a.Deliveries {
				if dl.Status != DeliveryPending && dl.Status != DeliveryDeferred {
					continue
				}
				k := key{dl.Channel, dl.To}
				g := groups[k]
				if g == nil {
					g = &Batch{Channel: dl.Channel, To: dl.To}
					groups[k] = g
				}
				g.Alerts = append(g.Alerts, a.clone())
				if at, ok := due[k]; !now.Before(dl.NextAt) && (!ok || dl.NextAt.Before(at)) {
					due[k] = dl.NextAt
				}
			}
		}
	}
	var out []Batch
	for k, g := range groups {
		if _, ok := due[k]; ok {
			slices.SortStableFunc(g.Alerts, func(x, y Alert) int { return x.CreatedAt.Compare(y.CreatedAt) })
			out = append(out, *g)
		}
	}
	slices.SortFunc(out, func(x, y Batch) int {
		return cmp.Or(due[key{x.Channel, x.To}].Compare(due[key{y.Channel, y.To}]),
			cmp.Compare(x.Channel, y.Channel), cmp.Compare(x.To, y.To))
	})
	return out, nil
}

// DeferStage finds who gets each batch now (the recruiter, or its delegate while it is
// away) and holds the batch while that person is in quiet hours or on a non-working
// day, in their own time zone (the organisation's, from Zone, when they have none): its
// deliveries become "deferred" until the next allowed moment. A deferred alert whose
// clock stops meanwhile is resolved and never sent (Dispatcher.Stopped).
type DeferStage struct {
	Directory recipients
	Zone      func() *time.Location // nil: UTC
}

// Exec implements Stage.
func (s DeferStage) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	for bi := range batches {
		b := &batches[bi]
		if b.Settled {
			continue
		}
		r, err := s.Directory.Recipient(ctx, b.Alerts[0].RecruiterID, now)
		if interactions.ErrorCode(err) == interactions.CodeNotFound {
			continue // gone from the directory: no quiet hours to keep
		}
		if err != nil {
			return nil, err
		}
		b.Recipient = r
		local := now
		if s.Zone != nil {
			local = now.In(s.Zone())
		}
		if next := directory.QuietUntil(r, local); next.After(now) {
			b.deliveries(func(_ *Alert, dl *Delivery) { dl.Status, dl.NextAt = DeliveryDeferred, next.UTC() })
			b.Settled = true
		}
	}
	return batches, nil
}

// CountryStage checks each SMS number against the SMS countries again when it is
// about to be sent: a number the directory took before GOODWILL_SMS_COUNTRIES changed
// gets no SMS. Its deliveries fail for good, with an error that says why (and not
// the number), and the alerts fall back to email (when Fallback: email is on).
type CountryStage struct {
	Countries []string // nil: no check
	Fallback  bool
}

// Exec implements Stage.
func (s CountryStage) Exec(_ context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	if s.Countries == nil {
		return batches, nil
	}
	for bi := range batches {
		b := &batches[bi]
		if b.Settled || b.Channel != ChannelSMS || directory.PhoneAllowed(b.To, s.Countries) {
			continue
		}
		msg := fmt.Sprintf("not sent: the number is outside the SMS countries (%s)", strings.Join(s.Countries, ", "))
		b.deliveries(func(a *Alert, dl *Delivery) {
			dl.Status, dl.Error = DeliveryFailed, msg
			fallBack(a, b.Recipient, s.Fallback, now)
		})
		b.Settled = true
	}
	return batches, nil
}

// ThrottleStage keeps SMS to PerDay a day per number, and Slack messages to PerDay a
// day per Slack user (UTC days). It counts the messages
// of a flush before they are sent, together, so that several senders cannot pass the
// limit together; RetryStage
// gives the count back when the message does not go out, so the count is of messages
// the provider took. Over the limit, the SMS deliveries fail and the alerts fall back
// to email (when Fallback: email is on).
type ThrottleStage struct {
	Counter  smsCounter
	PerDay   int
	Fallback bool
}

// Exec implements Stage.
func (s ThrottleStage) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	day := now.UTC().Format(time.DateOnly)
	var sms []int // the batches to count, by index
	var numbers []string
	for bi := range batches {
		if b := &batches[bi]; !b.Settled && throttled(b.Channel) {
			sms, numbers = append(sms, bi), append(numbers, b.To)
		}
	}
	if len(sms) == 0 {
		return batches, nil
	}
	counts, err := s.Counter.reserveSMS(ctx, day, numbers)
	if err != nil {
		for j, n := range counts {
			if n > 0 {
				_ = s.Counter.releaseSMS(ctx, numbers[j], day) // best effort: the flush is taken again
			}
		}
		return nil, err
	}
	for j, bi := range sms {
		b := &batches[bi]
		if counts[j] <= s.PerDay {
			b.smsDay = day
			continue
		}
		if err := s.Counter.releaseSMS(ctx, b.To, day); err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("over the limit of %d SMS a day to this number", s.PerDay)
		if b.Channel == ChannelSlack {
			msg = fmt.Sprintf("over the limit of %d Slack messages a day to this user", s.PerDay)
		}
		b.deliveries(func(a *Alert, dl *Delivery) {
			dl.Status, dl.Error = DeliveryFailed, msg
			fallBack(a, b.Recipient, s.Fallback, now)
		})
		b.Settled = true
	}
	return batches, nil
}

// throttled says whether ThrottleStage counts a channel's messages.
func throttled(channel string) bool { return channel == ChannelSMS || channel == ChannelSlack }

// journaled says whether SendStage notes a channel's messages before they go out and
// looks them up after an ambiguous failure: those a provider can be asked about.
func journaled(channel string) bool { return channel == ChannelSMS || channel == ChannelSlack }

// SendStage renders each batch as one message and sends it on its channel: SMS (its ref
// is the code of the most urgent alert, which the body always carries), email (its
// Message-ID derived from the oldest alert, so a copy sent again is recognisable), a
// Slack direct message (its metadata carrying the alerts' ids), or a log line. When a
// delivery of an SMS or Slack batch is ambiguous — a timeout after sending, or a crash
// before the answer was recorded — the message is first looked up at the provider and
// sent only if it is not there. Then Journal notes, in one write for the flush, that
// the SMS and Slack messages about to go out may have (until the answer is recorded), and the
// messages go out, up to Workers at once. A success marks the deliveries sent; a
// failure is left in Batch.Err for RetryStage. Each batch goes on through Then as soon
// as its own message is done with, so that a slow send holds up only its own batch.
type SendStage struct {
	SMS   SMS   // nil: SMS is off
	Email Email // nil: email is off
	Teams Teams // nil: Teams is off
	Slack Slack // nil: Slack is off
	Names Names
	// Link returns the signed acknowledgement link of an alert; nil for none.
	Link    func(alertID string, now time.Time) string
	Journal journal      // nil: nothing is noted before a send
	Workers int          // sends at once; at least 1
	Then    Stage        // what each batch goes through next, by itself; nil: nothing
	Log     *slog.Logger // the log channel
}

// sendState is where one batch stands within SendStage.
type sendState struct {
	msg        Message
	send       bool // still to be sent
	providerID string
	err        error
}

// Exec implements Stage.
func (s SendStage) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	st := make([]sendState, len(batches))
	var todo []int
	for bi := range batches {
		if !batches[bi].Settled {
			todo = append(todo, bi)
		}
	}
	// Render, and look up what may have gone out already.
	s.each(todo, func(bi int) {
		b := &batches[bi]
		st[bi].msg = s.message(ctx, b, now)
		st[bi].providerID, st[bi].send, st[bi].err = s.prepare(ctx, b, st[bi].msg)
	})
	var noting []Batch
	var noted []int
	for _, bi := range todo {
		if st[bi].send && journaled(batches[bi].Channel) && s.Journal != nil {
			noting, noted = append(noting, batches[bi]), append(noted, bi)
		}
	}
	if len(noting) > 0 {
		err := s.Journal.sending(ctx, now, noting)
		for _, bi := range noted {
			if err != nil {
				st[bi].send, st[bi].err = false, err
			} else {
				batches[bi].noted = true
			}
		}
	}
	outs := make([][]Batch, len(batches))
	all := make([]int, len(batches))
	for bi := range all {
		all[bi] = bi
	}
	s.each(all, func(bi int) {
		b := &batches[bi]
		if st[bi].send {
			st[bi].providerID, st[bi].err = s.send(ctx, b, st[bi].msg)
		}
		if !b.Settled {
			s.settle(b, st[bi], now)
		}
		outs[bi] = batches[bi : bi+1]
		if s.Then != nil {
			out, err := s.Then.Exec(ctx, now, outs[bi])
			if err != nil {
				s.Log.Warn("alerts: a batch failed; retrying at the next flush", "channel", b.Channel, "alerts", len(b.Alerts), "err", err)
			}
			outs[bi] = out
		}
	})
	var done []Batch
	for _, out := range outs {
		done = append(done, out...)
	}
	return done, nil
}

// settle marks a batch's deliveries sent, or leaves its failure for RetryStage.
func (s SendStage) settle(b *Batch, st sendState, now time.Time) {
	if b.Err = st.err; b.Err != nil {
		return
	}
	status := DeliverySent
	if b.Channel == ChannelTeams {
		status = DeliveryAccepted // Teams takes a post (202) without confirming delivery
	}
	b.deliveries(func(_ *Alert, dl *Delivery) {
		dl.Attempts++
		dl.Status, dl.ProviderID, dl.Error, dl.Ambiguous = status, st.providerID, "", false
		dl.SentAt = &now
	})
	b.Settled = true
}

// each calls f with each of the indexes, up to Workers at once.
func (s SendStage) each(indexes []int, f func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(s.Workers, 1), len(indexes)) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for _, i := range indexes {
		next <- i
	}
	close(next)
	wg.Wait()
}

var errChannelOff = errors.New("the channel is not configured")

// prepare decides whether a batch's message is to be sent: not when its channel is
// off (a permanent failure), nor when it is an SMS that an ambiguous delivery may
// have sent already and the provider has it (providerID) or cannot say (err).
func (s SendStage) prepare(ctx context.Context, b *Batch, msg Message) (providerID string, send bool, err error) {
	switch b.Channel {
	case ChannelSMS:
		if s.SMS == nil {
			return "", false, &SendError{Failure: Permanent, Err: errChannelOff}
		}
		if slices.ContainsFunc(b.Alerts, func(a Alert) bool {
			dl := a.deliveryTo(b.Channel, b.To)
			return dl != nil && dl.Ambiguous
		}) {
			id, found, err := s.SMS.Lookup(ctx, b.To, ordered(msg.Alerts)[0].Code, b.Alerts[0].CreatedAt)
			if err != nil || found {
				return id, false, err
			}
		}
	case ChannelEmail:
		if s.Email == nil {
			return "", false, &SendError{Failure: Permanent, Err: errChannelOff}
		}
	case ChannelTeams:
		if s.Teams == nil {
			return "", false, &SendError{Failure: Permanent, Err: errChannelOff}
		}
		if b.Recipient.ID != b.To || b.Recipient.TeamsWebhookURL == "" {
			return "", false, &SendError{Failure: Permanent, Err: errors.New("the recipient has no Teams webhook URL")}
		}
	case ChannelSlack:
		if s.Slack == nil {
			return "", false, &SendError{Failure: Permanent, Err: errChannelOff}
		}
		// Look for the message by an alert it carried: one whose delivery is
		// ambiguous (the oldest, as the message listed them).
		if i := slices.IndexFunc(b.Alerts, func(a Alert) bool {
			dl := a.deliveryTo(b.Channel, b.To)
			return dl != nil && dl.Ambiguous
		}); i >= 0 {
			id, found, err := s.Slack.Lookup(ctx, b.To, b.Alerts[i].ID, b.Alerts[0].CreatedAt)
			if err != nil || found {
				return id, false, err
			}
		}
	}
	return "", true, nil
}

// send sends a batch's message.
func (s SendStage) send(ctx context.Context, b *Batch, msg Message) (string, error) {
	first := b.Alerts[0]
	switch b.Channel {
	case ChannelSMS:
		return s.SMS.Send(ctx, b.To, SMSBody(msg), ordered(msg.Alerts)[0].Code)
	case ChannelEmail:
		subject, text, html := EmailContent(msg)
		return "", s.Email.Send(ctx, b.To, subject, text, html,
			"<"+first.Code+"."+first.CreatedAt.Format("20060102150405.000")+"@goodwill>")
	case ChannelTeams:
		return "", s.Teams.Post(ctx, b.Recipient.TeamsWebhookURL, msg)
	case ChannelSlack:
		return s.Slack.Send(ctx, b.To, msg)
	default:
		logChannel{s.Log}.send(msg)
		return "", nil
	}
}

// message renders what a batch says.
func (s SendStage) message(ctx context.Context, b *Batch, now time.Time) Message {
	r := b.Recipient
	m := Message{Recipient: Recipient{RecruiterID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone}}
	for _, a := range b.Alerts {
		it := Item{ID: a.ID, Code: a.Code, Level: a.Level, Metric: a.Metric, By: now.Sub(a.DueAt), Candidate: "a candidate"}
		if c, err := s.Names.Candidate(ctx, a.CandidateID); err == nil && c.Name != "" {
			it.Candidate = c.Name
		}
		if a.JobID != "" {
			if j, err := s.Names.Job(ctx, a.JobID); err == nil {
				it.Job = j.Title
			}
		}
		if s.Link != nil {
			it.Link = s.Link(a.ID, now)
		}
		m.Alerts = append(m.Alerts, it)
	}
	return m
}

// RetryStage decides what a failed send means for each delivery, which counts an
// attempt: a permanent failure, an unreachable number, or the MaxAttempts-th failure
// fails it for good (an SMS or Slack message then falls back to email, when Fallback:
// email is on);
// anything else is tried again after Backoff(attempts) (or the provider's Retry-After,
// when longer), and an ambiguous failure is
// remembered so that SendStage looks the message up before sending it again. The SMS
// that ThrottleStage counted is given back: the message did not go out, or, if it did,
// the lookup finds it and the next attempt counts it.
type RetryStage struct {
	MaxAttempts int
	Backoff     func(attempt int) time.Duration
	Counter     smsCounter
	Fallback    bool
	Log         *slog.Logger
}

// Exec implements Stage.
func (s RetryStage) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	for bi := range batches {
		b := &batches[bi]
		if b.Settled || b.Err == nil {
			continue
		}
		if b.smsDay != "" {
			if err := s.Counter.releaseSMS(ctx, b.To, b.smsDay); err != nil {
				s.Log.Warn("alerts: giving back an SMS count failed; the day's count is one too high", "err", err)
			}
			b.smsDay = ""
		}
		failure, unreachable := failureOf(b.Err)
		b.deliveries(func(a *Alert, dl *Delivery) {
			dl.Attempts++
			dl.Error = b.Err.Error()
			switch {
			case failure == Permanent || unreachable || dl.Attempts >= s.MaxAttempts:
				dl.Status = DeliveryFailed
				if dl.Channel == ChannelSMS || dl.Channel == ChannelSlack { // failed for good, however: the alert must still reach them
					fallBack(a, b.Recipient, s.Fallback, now)
				}
			default:
				dl.Status = DeliveryPending
				dl.Ambiguous = dl.Ambiguous || failure == Ambiguous
				dl.NextAt = now.Add(max(s.Backoff(dl.Attempts), retryAfterOf(b.Err)))
			}
		})
		b.Settled = true
	}
	return batches, nil
}

// fallBack adds an email delivery, due at once, to an alert SMS cannot reach, when
// email is on and the recipient has an address it has no delivery to yet.
func fallBack(a *Alert, r directory.Recruiter, emailOn bool, now time.Time) {
	if !emailOn || r.Email == "" || a.deliveryTo(ChannelEmail, r.Email) != nil {
		return
	}
	a.Deliveries = append(a.Deliveries, Delivery{Channel: ChannelEmail, To: r.Email, Status: DeliveryPending, NextAt: now})
}

// RecordStage writes what the stages decided back to the live alerts: each batch's
// deliveries, and the fallback deliveries added. An alert's first delivery that reached
// someone (reached) starts the escalation clock of a breach, or of an escalation below
// the policy's MaxEscalations (the policy's EscalateAfter; zero never escalates).
// The alerts changed are marked dirty: WriteStage records them in the flush's
// document, and the dispatcher's fold writes them to their own.
type RecordStage struct {
	Live           *liveSet
	EscalateAfter  func(policyID string) time.Duration // nil: no escalation
	MaxEscalations func(policyID string) int           // nil: 1
	Log            *slog.Logger
}

// Exec implements Stage.
func (s RecordStage) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	for bi := range batches {
		b := &batches[bi]
		for _, ba := range b.Alerts {
			changed, err := s.Live.change(ctx, ba.ID, &ba, func(a *Alert) error {
				s.apply(a, &ba, b.Channel, b.To, now)
				return nil
			}, nil)
			if err != nil {
				s.Log.Warn("alerts: recording a delivery failed", "alert", ba.ID, "err", err)
				continue
			}
			b.recorded = append(b.recorded, changed)
		}
	}
	return batches, nil
}

// WriteStage stores what a flush recorded, in one flush document (Outbox.recorded):
// for each alert changed, its deliveries as of its last change; and the SMS sent,
// mapped from their MessageSid to their alerts. A write that fails is logged: the
// alerts in memory are right, and the fold writes them to their documents.
type WriteStage struct {
	Outbox flushWriter
	By     string // the dispatcher, named in the flush documents
	Log    *slog.Logger
}

// Exec implements Stage.
func (s WriteStage) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	var entries []flushEntry
	at := map[string]int{} // index in entries, by alert id
	var sent []smsMessage
	noted := false
	for _, b := range batches {
		noted = noted || b.noted
		var ids []string
		providerID := ""
		for _, a := range b.recorded {
			if i, ok := at[a.ID]; !ok {
				at[a.ID] = len(entries)
				entries = append(entries, entryOf(&a))
			} else if a.Rev > entries[i].Rev {
				entries[i] = entryOf(&a)
			}
			if dl := a.deliveryTo(b.Channel, b.To); b.Channel == ChannelSMS && dl != nil && dl.Status == DeliverySent && dl.ProviderID != "" {
				ids, providerID = append(ids, a.ID), dl.ProviderID
			}
		}
		if providerID != "" {
			sent = append(sent, smsMessage{SID: providerID, To: b.To, AlertIDs: ids, At: now})
		}
	}
	if err := s.Outbox.recorded(ctx, flushOf(batches), s.By, now, noted, entries, sent); err != nil {
		s.Log.Warn("alerts: recording a flush failed; the alerts are written later", "err", err)
	}
	return batches, nil
}

// flushOf returns the flush the batches belong to.
func flushOf(batches []Batch) string {
	for _, b := range batches {
		if b.flush != "" {
			return b.flush
		}
	}
	return ""
}

// apply brings the batch's copy's changes into the live alert a.
func (s RecordStage) apply(a, changed *Alert, channel, to string, now time.Time) {
	for _, dl := range changed.Deliveries {
		cur := a.deliveryTo(dl.Channel, dl.To)
		switch {
		case cur == nil: // added by a stage: a fallback
			a.Deliveries = append(a.Deliveries, dl)
		case dl.Channel == channel && dl.To == to:
			observe(a, cur.Status, dl.Status, dl.Channel, now)
			*cur = dl
		}
	}
	if a.FirstDeliveredAt != nil || !slices.ContainsFunc(a.Deliveries, reached) {
		return
	}
	a.FirstDeliveredAt = &now
	if s.escalates(a) {
		if after := s.EscalateAfter(a.PolicyID); after > 0 {
			at := now.Add(after)
			a.EscalateAt = &at
		}
	}
}

// escalates says whether a may escalate further: a breach, or an escalation below
// the policy's max_escalations.
func (s RecordStage) escalates(a *Alert) bool {
	if s.EscalateAfter == nil {
		return false
	}
	switch a.Level {
	case LevelBreached:
		return true
	case LevelEscalated:
		most := 1
		if s.MaxEscalations != nil {
			most = s.MaxEscalations(a.PolicyID)
		}
		return escalationLevel(a) < most
	}
	return false
}

// reached says whether a delivery reached someone: the provider accepted it (an SMS
// or email taken, a log line written) and has not reported it failed since.
func reached(dl Delivery) bool { return dl.SentAt != nil && dl.Status != DeliveryFailed }

// noter notes in the outbox, in the flush's document, that the batches' messages may
// go out, and then in the live alerts: their deliveries are ambiguous until the answer
// is recorded, so that a restart in between (or a flush that fails) looks the message
// up instead of sending it again (SendStage's Journal).
type noter struct {
	Live   *liveSet
	Outbox flushWriter
	By     string
}

func (s noter) sending(ctx context.Context, now time.Time, batches []Batch) error {
	var marks []sendingMark
	for _, b := range batches {
		for _, a := range b.Alerts {
			marks = append(marks, sendingMark{AlertID: a.ID, Channel: b.Channel, To: b.To})
		}
	}
	if err := s.Outbox.sending(ctx, flushOf(batches), s.By, now, marks); err != nil {
		return err
	}
	for _, b := range batches {
		ids := make([]string, len(b.Alerts))
		for i, a := range b.Alerts {
			ids[i] = a.ID
		}
		s.Live.markSending(b.Channel, b.To, ids)
	}
	return nil
}

// observe counts a delivery's change of status in the package's metrics.
func observe(a *Alert, from, to, channel string, now time.Time) {
	if from == to {
		return
	}
	switch to {
	case DeliverySent, DeliveryAccepted:
		alertsSent.WithLabelValues(channel).Inc()
		deliveryLatency.Observe(now.Sub(a.CreatedAt).Seconds())
	case DeliveryFailed:
		alertsFailed.WithLabelValues(channel).Inc()
	case DeliveryDeferred:
		alertsDeferred.Inc()
	}
}
