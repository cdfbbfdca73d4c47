package alerts

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

var (
	alertsCreated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_alerts_created_total", Help: "Alerts created, by level.",
	}, []string{"level"})
	alertsSent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_alerts_sent_total", Help: "Alert deliveries accepted by the provider, by channel.",
	}, []string{"channel"})
	alertsFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "goodwill_alerts_failed_total", Help: "Alert deliveries that failed for good, by channel.",
	}, []string{"channel"})
	alertsDeferred = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "goodwill_alerts_deferred_total", Help: "Alert deliveries deferred by quiet hours or non-working days.",
	})
	deliveryLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "goodwill_alert_delivery_seconds",
		Help:    "Time from a clock's transition to the provider accepting its alert (deferrals included).",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
	})
)

// Collectors returns the package's Prometheus collectors, for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{alertsCreated, alertsSent, alertsFailed, alertsDeferred, deliveryLatency}
}

// Grouping windows: several alerts for one recipient go out as one message.
const (
	breachWindow  = time.Second
	warningWindow = time.Minute
	maxAttempts   = 8
	smsPerDay     = 50
)

// Names looks up what a message names: the candidate and the job.
type Names interface {
	Candidate(ctx context.Context, id string) (interactions.Candidate, error)
	Job(ctx context.Context, id string) (interactions.JobInfo, error)
}

// Config is what the dispatcher needs besides its store.
type Config struct {
	Store     *Store
	Directory *Directory
	Names     Names
	SMS       SMS   // nil: SMS is off
	Email     Email // nil: email is off
	// Mode is GOODWILL_ALERTS: "on" sends, "log" only logs, "off" creates no alerts.
	Mode string
	// Link returns the signed acknowledgement link of an alert.
	Link func(alertID string, now time.Time) string
	// EscalateAfter returns the policy's escalate_after; zero never escalates.
	EscalateAfter func(policyID string) time.Duration
	// Zone returns the organisation's time zone: quiet hours and working days of a
	// recruiter without a timezone are counted in it (UTC if nil).
	Zone func() *time.Location
	Log  *slog.Logger
	Now  func() time.Time
}

// Dispatcher is the alert pipeline over a durable outbox: a clock transition creates
// an alert document (its id is its unique key) before anything is sent; the dispatcher
// keeps unfinished alerts in memory, rebuilt at start, and runs them through route →
// group → defer → throttle → send → retry → record, then escalates breaches nobody
// acknowledged.
type Dispatcher struct {
	cfg Config
	log logChannel

	mu   sync.Mutex
	live map[string]*Alert // unfinished alerts by id

	wake     chan struct{}
	stopping chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// New returns a dispatcher; Start runs it.
func New(cfg Config) *Dispatcher {
	return &Dispatcher{
		cfg:      cfg,
		log:      logChannel{cfg.Log},
		live:     map[string]*Alert{},
		wake:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

// Start loads unfinished alerts and runs the pipeline until Close.
func (d *Dispatcher) Start(ctx context.Context) error {
	open, err := d.cfg.Store.unfinished(ctx)
	if err != nil {
		return interactions.Unavailable("load alerts", err)
	}
	d.mu.Lock()
	for i := range open {
		d.live[open[i].ID] = &open[i]
	}
	d.mu.Unlock()
	go d.run()
	return nil
}

// Close stops the pipeline; unfinished work resumes at the next start.
func (d *Dispatcher) Close() {
	d.stopOnce.Do(func() { close(d.stopping) })
	<-d.done
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Transition is the SLA engine's consumer: a warning or breach that may alert
// becomes an alert for the recruiter (or its delegate, or "default"), routed to the
// channels its directory entry asks for at that level.
func (d *Dispatcher) Transition(ctx context.Context, f sla.Fired) error {
	if !f.Alert || d.cfg.Mode == "off" {
		return nil
	}
	level := LevelWarning
	if f.State == sla.StateBreached {
		level = LevelBreached
	}
	a := &Alert{
		ID: AlertID(f.StartedBy, string(f.Metric), level), Level: level, State: StateOpen,
		ClockID: f.ClockID, ApplicationID: f.ApplicationID, CandidateID: f.CandidateID,
		RecruiterID: f.RecruiterID, OwnerID: f.RecruiterID, JobID: f.JobID, Metric: string(f.Metric),
		PolicyID: f.PolicyID, DueAt: f.DueAt,
	}
	return d.create(ctx, a, f.RecruiterID)
}

// create routes a new alert to its recipient's channels and stores it.
func (d *Dispatcher) create(ctx context.Context, a *Alert, recruiterID string) error {
	now := d.cfg.Now().UTC().Truncate(time.Millisecond)
	a.Code = alertCode(a.ID)
	a.CreatedAt = now
	a.Deliveries = []Delivery{}
	r, err := d.cfg.Directory.Recipient(ctx, recruiterID, now)
	switch {
	case err == nil:
		a.RecruiterID = r.ID
		a.Deliveries = d.route(r, a.Level, now)
	case interactions.ErrorCode(err) != interactions.CodeNotFound:
		return err
	}
	created, err := d.cfg.Store.create(ctx, a)
	if err != nil || !created {
		return err
	}
	alertsCreated.WithLabelValues(string(a.Level)).Inc()
	d.mu.Lock()
	d.live[a.ID] = a
	d.mu.Unlock()
	d.poke()
	return nil
}

// route lists the deliveries of a new alert: one per channel the recipient wants at
// that level and can be reached on; channels that are off become a log line.
func (d *Dispatcher) route(r Recruiter, level Level, now time.Time) []Delivery {
	window := breachWindow
	if level == LevelWarning {
		window = warningWindow
	}
	var out []Delivery
	logged := false
	for _, ch := range r.Channels.For(level) {
		to := map[string]string{"sms": r.Phone, "email": r.Email}[ch]
		on := d.cfg.Mode == "on" && ((ch == "sms" && d.cfg.SMS != nil) || (ch == "email" && d.cfg.Email != nil))
		switch {
		case to == "":
			continue
		case !on:
			if logged {
				continue
			}
			ch, to, logged = "log", r.ID, true
		}
		out = append(out, Delivery{Channel: ch, To: to, Status: DeliveryPending, NextAt: now.Add(window)})
	}
	return out
}

// run wakes every 100 ms, or when poked, and works through what is due.
func (d *Dispatcher) run() {
	defer close(d.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-d.stopping:
			return
		case <-tick.C:
		case <-d.wake:
		}
		d.flush()
	}
}

// batch is what goes to one address in one message.
type batch struct {
	channel, to string
	alerts      []*Alert
}

// flush reads "now" once and runs every due delivery and escalation through the
// pipeline.
func (d *Dispatcher) flush() {
	now := d.cfg.Now().UTC().Truncate(time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d.escalate(ctx, now)
	for _, b := range d.due(now) {
		d.deliver(ctx, b, now)
	}
}

// due groups the deliveries whose time has come by address. A breach in a group
// takes waiting warnings for the same address along.
func (d *Dispatcher) due(now time.Time) []batch {
	d.mu.Lock()
	defer d.mu.Unlock()
	groups := map[[2]string]*batch{}
	var order [][2]string
	ready := map[[2]string]bool{}
	for id, a := range d.live {
		if a.State == StateResolved || a.State == StateAcknowledged {
			if !d.waiting(a) {
				delete(d.live, id)
			}
			continue
		}
		for _, dl := range a.Deliveries {
			if dl.Status != DeliveryPending && dl.Status != DeliveryDeferred {
				continue
			}
			k := [2]string{dl.Channel, dl.To}
			if groups[k] == nil {
				groups[k] = &batch{channel: dl.Channel, to: dl.To}
				order = append(order, k)
			}
			groups[k].alerts = append(groups[k].alerts, a)
			if !now.Before(dl.NextAt) {
				ready[k] = true
			}
		}
		// An open alert with nothing left to send stays: SMS replies (Command) and
		// stopped clocks (Stopped) still find it, as they do after a restart.
	}
	var out []batch
	for _, k := range order {
		if ready[k] {
			b := groups[k]
			slices.SortFunc(b.alerts, func(x, y *Alert) int { return x.CreatedAt.Compare(y.CreatedAt) })
			out = append(out, *b)
		}
	}
	return out
}

// waiting reports whether an alert still has an escalation ahead.
func (d *Dispatcher) waiting(a *Alert) bool {
	return a.Level == LevelBreached && !a.Escalated && a.EscalateAt != nil &&
		(a.State == StateOpen || a.State == StateSnoozed)
}

// deliver defers, throttles, sends and records one batch.
func (d *Dispatcher) deliver(ctx context.Context, b batch, now time.Time) {
	r, err := d.cfg.Directory.Recipient(ctx, b.alerts[0].RecruiterID, now)
	if err != nil && interactions.ErrorCode(err) != interactions.CodeNotFound {
		d.cfg.Log.Warn("alerts: directory unavailable", "err", err)
		return
	}
	if err == nil {
		local := now
		if d.cfg.Zone != nil {
			local = now.In(d.cfg.Zone()) // for recruiters without a zone of their own
		}
		if next := QuietUntil(r, local); next.After(now) {
			d.update(ctx, b, func(a *Alert, dl *Delivery) {
				if dl.Status != DeliveryDeferred {
					alertsDeferred.Inc()
				}
				dl.Status, dl.NextAt = DeliveryDeferred, next
			})
			return
		}
	}
	msg := d.message(ctx, r, b, now)
	if b.channel == "sms" {
		n, err := d.cfg.Store.countSMS(ctx, b.to, now.Format("2006-01-02"))
		if err != nil {
			d.cfg.Log.Warn("alerts: counting SMS failed", "err", err)
			return
		}
		if n > smsPerDay {
			d.update(ctx, b, func(a *Alert, dl *Delivery) {
				dl.Status, dl.Error = DeliveryFailed, "over the limit of 50 SMS a day to this number"
				d.fallBack(a, r, now)
			})
			return
		}
	}
	providerID, err := d.send(ctx, b, msg, now)
	d.update(ctx, b, func(a *Alert, dl *Delivery) {
		dl.Attempts++
		if err == nil {
			d.sent(a, dl, providerID, now)
			return
		}
		dl.Error = err.Error()
		failure, unreachable := failureOf(err)
		switch {
		case failure == Permanent || unreachable || dl.Attempts >= maxAttempts:
			dl.Status = DeliveryFailed
			alertsFailed.WithLabelValues(dl.Channel).Inc()
			if dl.Channel == "sms" { // failed for good, however: the alert must still reach them
				d.fallBack(a, r, now)
			}
		default:
			dl.Ambiguous = dl.Ambiguous || failure == Ambiguous
			dl.NextAt = now.Add(backoff(dl.Attempts))
		}
	})
}

// send sends one message on one channel. After an ambiguous SMS failure it first
// looks the message up at the provider, so a message that went out is not sent twice.
func (d *Dispatcher) send(ctx context.Context, b batch, msg Message, now time.Time) (string, error) {
	switch b.channel {
	case "sms":
		// The ref is the code SMSBody always writes: that of the most urgent alert
		// (the first by creation may be left out of a long group).
		code := ordered(msg.Alerts)[0].Code
		if b.alerts[0].deliveryTo(b.channel, b.to).Ambiguous {
			id, found, err := d.cfg.SMS.Lookup(ctx, b.to, code, b.alerts[0].CreatedAt)
			if err != nil {
				return "", err
			}
			if found {
				return id, nil
			}
		}
		return d.cfg.SMS.Send(ctx, b.to, SMSBody(msg), code)
	case "email":
		subject, text, html := EmailContent(msg)
		return "", d.cfg.Email.Send(ctx, b.to, subject, text, html, "<"+b.alerts[0].Code+"."+b.alerts[0].CreatedAt.Format("20060102150405.000")+"@goodwill>")
	default:
		d.log.send(msg)
		return "", nil
	}
}

// sent records an accepted delivery and starts the escalation clock of a breach.
func (d *Dispatcher) sent(a *Alert, dl *Delivery, providerID string, now time.Time) {
	dl.Status, dl.ProviderID, dl.Error, dl.Ambiguous = DeliverySent, providerID, "", false
	dl.SentAt = &now
	alertsSent.WithLabelValues(dl.Channel).Inc()
	deliveryLatency.Observe(now.Sub(a.CreatedAt).Seconds())
	if a.FirstDeliveredAt == nil {
		a.FirstDeliveredAt = &now
		if a.Level == LevelBreached && d.cfg.EscalateAfter != nil {
			if after := d.cfg.EscalateAfter(a.PolicyID); after > 0 {
				at := now.Add(after)
				a.EscalateAt = &at
			}
		}
	}
}

// fallBack adds an email delivery when SMS cannot reach the recipient.
func (d *Dispatcher) fallBack(a *Alert, r Recruiter, now time.Time) {
	if r.Email == "" || d.cfg.Email == nil || d.cfg.Mode != "on" || a.deliveryTo("email", r.Email) != nil {
		return
	}
	a.Deliveries = append(a.Deliveries, Delivery{Channel: "email", To: r.Email, Status: DeliveryPending, NextAt: now})
}

// deliveryTo returns the alert's delivery on a channel to an address, or nil.
func (a *Alert) deliveryTo(channel, to string) *Delivery {
	for i := range a.Deliveries {
		if a.Deliveries[i].Channel == channel && a.Deliveries[i].To == to {
			return &a.Deliveries[i]
		}
	}
	return nil
}

// update applies f to the batch's delivery of each alert and records the alerts.
func (d *Dispatcher) update(ctx context.Context, b batch, f func(*Alert, *Delivery)) {
	d.mu.Lock()
	changed := make([]Alert, 0, len(b.alerts))
	for _, a := range b.alerts {
		if dl := a.deliveryTo(b.channel, b.to); dl != nil {
			f(a, dl)
		}
		changed = append(changed, *a)
	}
	d.mu.Unlock()
	for i := range changed {
		if err := d.cfg.Store.saveDeliveries(ctx, &changed[i]); err != nil {
			d.cfg.Log.Warn("alerts: recording a delivery failed", "alert", changed[i].ID, "err", err)
		}
	}
	d.poke()
}

// message renders what one batch says.
func (d *Dispatcher) message(ctx context.Context, r Recruiter, b batch, now time.Time) Message {
	m := Message{Recipient: Recipient{RecruiterID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone}}
	for _, a := range b.alerts {
		it := Item{Code: a.Code, Level: a.Level, Metric: a.Metric, By: now.Sub(a.DueAt)}
		if c, err := d.cfg.Names.Candidate(ctx, a.CandidateID); err == nil {
			it.Candidate = c.Name
		}
		if it.Candidate == "" {
			it.Candidate = "a candidate"
		}
		if a.JobID != "" {
			if j, err := d.cfg.Names.Job(ctx, a.JobID); err == nil {
				it.Job = j.Title
			}
		}
		if d.cfg.Link != nil {
			it.Link = d.cfg.Link(a.ID, now)
		}
		m.Alerts = append(m.Alerts, it)
	}
	return m
}

// escalate sends breaches nobody acknowledged within the policy's escalate_after
// (counted from the first delivery; a snooze postpones it) to the recruiter's manager.
func (d *Dispatcher) escalate(ctx context.Context, now time.Time) {
	var due, woke []Alert
	d.mu.Lock()
	for _, a := range d.live {
		if a.State == StateSnoozed && a.SnoozedUntil != nil && !now.Before(*a.SnoozedUntil) {
			a.State, a.SnoozedUntil = StateOpen, nil
			woke = append(woke, *a)
		}
		if a.State == StateOpen && d.waiting(a) && !now.Before(*a.EscalateAt) {
			a.Escalated = true
			due = append(due, *a)
		}
	}
	d.mu.Unlock()
	for i := range woke {
		if err := d.cfg.Store.saveState(ctx, &woke[i]); err != nil {
			d.cfg.Log.Warn("alerts: recording the end of a snooze failed", "alert", woke[i].ID, "err", err)
		}
	}
	for _, a := range due {
		owner, err := d.cfg.Directory.Get(ctx, a.OwnerID)
		if err == nil && owner.ManagerID != "" {
			esc := &Alert{
				ID: escalationID(a.ID), Level: LevelEscalated, State: StateOpen, ClockID: a.ClockID,
				ApplicationID: a.ApplicationID, CandidateID: a.CandidateID, OwnerID: a.OwnerID,
				JobID: a.JobID, Metric: a.Metric, PolicyID: a.PolicyID, DueAt: a.DueAt,
			}
			if err := d.create(ctx, esc, owner.ManagerID); err != nil {
				d.cfg.Log.Warn("alerts: escalation failed; retrying", "alert", a.ID, "err", err)
				d.mu.Lock()
				if l := d.live[a.ID]; l != nil {
					l.Escalated = false
				}
				d.mu.Unlock()
				continue
			}
		}
		if err := d.cfg.Store.saveDeliveries(ctx, &a); err != nil {
			d.cfg.Log.Warn("alerts: recording an escalation failed", "alert", a.ID, "err", err)
		}
	}
}

// escalationID is the id of a breach alert's escalation: same clock start and metric.
func escalationID(breachID string) string {
	return breachID[:len(breachID)-len(LevelBreached)] + string(LevelEscalated)
}

// backoff is the wait before attempt n+1: exponential from 1 s, at most 5 minutes,
// with jitter.
func backoff(n int) time.Duration {
	d := time.Second << min(n-1, 9)
	d = min(d, 5*time.Minute)
	return d/2 + rand.N(d/2+1)
}
