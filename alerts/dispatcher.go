package alerts

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
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

const (
	// Grouping windows: several alerts for one recipient go out as one message.
	breachWindow  = time.Second
	warningWindow = time.Minute
	maxAttempts   = 8  // sends of one delivery before it fails for good
	smsPerDay     = 50 // per number
	// sendWorkers is how many batches of a flush go through defer … record at once:
	// sends wait on the provider, so a burst of breaches for many recipients goes out
	// together.
	sendWorkers = 32
	// flights is how many flushes may be sending at once: a slow send holds up only
	// its own address, not the alerts that come due meanwhile.
	flights = 4
	// tick is the longest the dispatcher sleeps between two looks at what is due.
	tick = 100 * time.Millisecond
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

// Dispatcher is the alert pipeline over a durable outbox, a chain of stages with one
// signature (Stage). A clock transition enters through intake —
//
//	route   the recipient (delegate, "default") and its channels at this level
//	dedupe  the alert document, under its unique key, before anything is sent
//
// — and joins the live alerts in memory (rebuilt from the outbox at start). Each
// flush reads "now" once, escalates what is due, and takes the live alerts through
//
//	group     one batch per address, when some delivery there is due
//	defer     quiet hours and non-working days hold the batch
//	throttle  50 SMS a day per number
//	send      one message per batch; an SMS that may have gone out is looked up first
//	retry     backoff with jitter, or failed for good (SMS falls back to email)
//	record    back into the live alerts and the outbox
//
// with the batches after group run side by side (ParallelStage). While a flush sends
// to an address, later flushes leave that address alone and take the others.
type Dispatcher struct {
	cfg     Config
	live    *liveSet
	intake  Stage
	deliver Stage // defer … record, for one batch

	wake     chan struct{}
	stopping chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// New returns a dispatcher; Start runs it.
func New(cfg Config) *Dispatcher {
	d := &Dispatcher{
		cfg:      cfg,
		live:     newLiveSet(),
		wake:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	emailOn := cfg.Email != nil && cfg.Mode == "on"
	d.intake = MultiStage{
		RouteStage{Directory: cfg.Directory, Mode: cfg.Mode, SMS: cfg.SMS != nil, Email: cfg.Email != nil},
		DedupeStage{Outbox: cfg.Store},
	}
	record := RecordStage{Live: d.live, Outbox: cfg.Store, EscalateAfter: cfg.EscalateAfter, Log: cfg.Log}
	d.deliver = MultiStage{
		DeferStage{Directory: cfg.Directory, Zone: cfg.Zone},
		ThrottleStage{Counter: cfg.Store, PerDay: smsPerDay, Fallback: emailOn},
		SendStage{SMS: cfg.SMS, Email: cfg.Email, Names: &jobTitles{Names: cfg.Names, now: cfg.Now}, Link: cfg.Link,
			Journal: record, Log: cfg.Log},
		RetryStage{MaxAttempts: maxAttempts, Backoff: backoff, Counter: cfg.Store, Fallback: emailOn, Log: cfg.Log},
		record,
	}
	return d
}

// Start loads unfinished alerts and runs the pipeline until Close.
func (d *Dispatcher) Start(ctx context.Context) error {
	open, err := d.cfg.Store.unfinished(ctx)
	if err != nil {
		return interactions.Unavailable("load alerts", err)
	}
	for _, a := range open {
		d.live.add(a)
	}
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
	return d.create(ctx, Alert{
		ID: AlertID(f.StartedBy, string(f.Metric), level), Level: level, State: StateOpen,
		ClockID: f.ClockID, ApplicationID: f.ApplicationID, CandidateID: f.CandidateID,
		RecruiterID: f.RecruiterID, OwnerID: f.RecruiterID, JobID: f.JobID, Metric: string(f.Metric),
		PolicyID: f.PolicyID, DueAt: f.DueAt,
	})
}

// create takes a new alert, addressed to the recruiter in its RecruiterID, through
// intake and into the live alerts.
func (d *Dispatcher) create(ctx context.Context, a Alert) error {
	now := d.cfg.Now().UTC().Truncate(time.Millisecond)
	a.Code = alertCode(a.ID)
	a.CreatedAt = now
	out, err := d.intake.Exec(ctx, now, []Batch{{Alerts: []Alert{a}}})
	if err != nil {
		return err
	}
	for _, b := range out {
		for _, a := range b.Alerts {
			alertsCreated.WithLabelValues(string(a.Level)).Inc()
			d.live.add(a) // nothing is due before its grouping window ends: no need to wake the loop
		}
	}
	return nil
}

// run looks at what is due when poked, when the next delivery, escalation or end of
// a snooze comes due, and at least every tick; up to flights flushes send at once.
func (d *Dispatcher) run() {
	defer close(d.done)
	var sending sync.WaitGroup
	defer sending.Wait()
	slots := make(chan struct{}, flights)
	timer := time.NewTimer(tick)
	defer timer.Stop()
	for {
		select {
		case <-d.stopping:
			return
		case <-timer.C:
		case <-d.wake:
		}
		wait := tick
		select {
		case slots <- struct{}{}:
			now, alerts, flight, next := d.take()
			if len(alerts) == 0 {
				<-slots
			} else {
				sending.Go(func() {
					defer func() { <-slots }()
					d.send(now, alerts, flight)
				})
			}
			if !next.IsZero() {
				wait = min(max(time.Until(next), 0), tick)
			}
		default: // every flight is busy: look again at the next tick
		}
		timer.Reset(wait)
	}
}

// flush runs the pipeline once and returns when it is done: when something comes due
// next (zero: nothing waits).
func (d *Dispatcher) flush() time.Time {
	now, alerts, flight, next := d.take()
	if len(alerts) > 0 {
		d.send(now, alerts, flight)
	}
	return next
}

// take reads "now" once, escalates what is due and takes the alerts with a delivery
// due to an address no other flight is sending to, for the flight it returns.
func (d *Dispatcher) take() (now time.Time, alerts []Alert, flight uint64, next time.Time) {
	now = d.cfg.Now().UTC().Truncate(time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d.escalate(ctx, now)
	alerts, flight, next = d.live.take(now)
	return now, alerts, flight, next
}

// send takes what take took through group → defer → … → record, and gives the
// addresses back, each as soon as its batch is done.
func (d *Dispatcher) send(now time.Time, alerts []Alert, flight uint64) {
	defer d.live.release(flight)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	flow := MultiStage{
		GroupStage{},
		ParallelStage{Workers: sendWorkers, Log: d.cfg.Log, Stage: releasing{Stage: d.deliver, live: d.live, flight: flight}},
	}
	recorded, err := flow.Exec(ctx, now, []Batch{{Alerts: alerts}})
	if err != nil {
		d.cfg.Log.Warn("alerts: the pipeline failed; retrying", "err", err)
	}
	if len(recorded) > 0 {
		d.poke() // a fallback added, or a retry due at once
	}
}

// releasing runs Stage and then gives the batches' addresses back to the live set,
// however Stage ends: the next flush may send to them again.
type releasing struct {
	Stage
	live   *liveSet
	flight uint64
}

func (r releasing) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	defer func() {
		for _, b := range batches {
			r.live.release(r.flight, address{b.Channel, b.To})
		}
	}()
	return r.Stage.Exec(ctx, now, batches)
}

// escalate sends breaches nobody acknowledged within the policy's escalate_after
// (counted from the first delivery; a snooze postpones it) to the recruiter's manager,
// after ending the snoozes that are over.
func (d *Dispatcher) escalate(ctx context.Context, now time.Time) {
	woke := d.live.matching(func(a *Alert) bool {
		return a.State == StateSnoozed && a.SnoozedUntil != nil && !now.Before(*a.SnoozedUntil)
	})
	for _, a := range woke {
		_, err := d.live.change(ctx, a.ID, nil, func(a *Alert) error {
			if a.State == StateSnoozed { // not acknowledged meanwhile
				a.State, a.SnoozedUntil = StateOpen, nil
			}
			return nil
		}, d.cfg.Store.saveState)
		if err != nil {
			d.cfg.Log.Warn("alerts: recording the end of a snooze failed", "alert", a.ID, "err", err)
		}
	}
	due := d.live.matching(func(a *Alert) bool {
		return a.State == StateOpen && a.Level == LevelBreached && !a.Escalated && a.EscalateAt != nil && !now.Before(*a.EscalateAt)
	})
	for _, a := range due {
		owner, err := d.cfg.Directory.Get(ctx, a.OwnerID)
		if err != nil && interactions.ErrorCode(err) != interactions.CodeNotFound {
			d.cfg.Log.Warn("alerts: escalation failed; retrying", "alert", a.ID, "err", err)
			continue
		}
		if err == nil && owner.ManagerID != "" {
			err := d.create(ctx, Alert{
				ID: escalationID(a.ID), Level: LevelEscalated, State: StateOpen, ClockID: a.ClockID,
				ApplicationID: a.ApplicationID, CandidateID: a.CandidateID, RecruiterID: owner.ManagerID,
				OwnerID: a.OwnerID, JobID: a.JobID, Metric: a.Metric, PolicyID: a.PolicyID, DueAt: a.DueAt,
			})
			if err != nil {
				d.cfg.Log.Warn("alerts: escalation failed; retrying", "alert", a.ID, "err", err)
				continue
			}
		}
		_, err = d.live.change(ctx, a.ID, nil, func(a *Alert) error {
			a.Escalated = true
			return nil
		}, d.cfg.Store.saveDeliveries)
		if err != nil {
			d.cfg.Log.Warn("alerts: recording an escalation failed", "alert", a.ID, "err", err)
		}
	}
}

// errNotLive: the alert to change is neither live nor given.
var errNotLive = errors.New("alerts: the alert is not live")

// deliveryTo returns the alert's delivery on a channel to an address, or nil.
func (a *Alert) deliveryTo(channel, to string) *Delivery {
	for i := range a.Deliveries {
		if a.Deliveries[i].Channel == channel && a.Deliveries[i].To == to {
			return &a.Deliveries[i]
		}
	}
	return nil
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
