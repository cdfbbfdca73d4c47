package alerts

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
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
	// sendWorkers is how many messages of a flush are looked up or sent at once:
	// sends wait on the provider, so a burst of breaches for many recipients goes out
	// together.
	sendWorkers = 32
	// foldWorkers is how many alert documents the fold writes at once, and foldDelay
	// how long it lets changes gather after a flush before it writes them (longer
	// while other flushes are sending).
	foldWorkers = 4
	foldDelay   = 250 * time.Millisecond
	foldWait    = 2 * time.Second // at most, while flushes are sending
	// prefetchWorkers is how many candidates' names are read at once while new alerts
	// wait out their grouping window.
	prefetchWorkers = 4
	// staleFlushes is the age after which a flush document whoever wrote it is
	// dropped (several replicas): its writer stopped, and its alerts were taken over.
	staleFlushes = time.Hour
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

// Directory is what the dispatcher reads of the recruiters directory
// (*directory.Store): who gets an alert now, and an alert owner's entry, whose manager
// gets the alert when it escalates.
type Directory interface {
	recipients
	Get(ctx context.Context, id string) (directory.Recruiter, error)
}

// Config is what the dispatcher needs besides its store.
type Config struct {
	Store     *Store
	Directory Directory
	Names     Names
	SMS       SMS   // nil: SMS is off
	Email     Email // nil: email is off
	Teams     Teams // nil: Teams is off
	Slack     Slack // nil: Slack is off
	// Events, if set, is told what happens to alerts (outgoing webhooks).
	Events Events
	// Mode is GOODWILL_ALERTS: "on" sends, "log" only logs, "off" creates no alerts.
	Mode string
	// Link returns the signed acknowledgement link of an alert.
	Link func(alertID string, now time.Time) string
	// EscalateAfter returns the policy's escalate_after; zero never escalates.
	EscalateAfter func(policyID string) time.Duration
	// MaxEscalations returns the policy's max_escalations: how many managers up an
	// unacknowledged breach climbs, one per escalate_after. Nil: 1.
	MaxEscalations func(policyID string) int
	// Zone returns the organisation's time zone: quiet hours and working days of a
	// recruiter without a timezone are counted in it (UTC if nil).
	Zone func() *time.Location
	Log  *slog.Logger
	Now  func() time.Time
	// Owns says whether this process owns an application's alerts, when several
	// replicas share the store (their SLA partitions, interactions.Partition, are
	// owned through leases). Nil: it owns everything, as on the embedded store. The
	// dispatcher sends, retries and escalates only what it owns; Acquired and Lost
	// tell it when that changes.
	Owns func(applicationID string) bool
	// SMSCountries is GOODWILL_SMS_COUNTRIES, checked again when an SMS is sent: a
	// number stored before the list changed gets none. Nil: no check at send time.
	SMSCountries []string
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
//	country   an SMS number outside GOODWILL_SMS_COUNTRIES fails (email instead)
//	throttle  50 SMS a day per number, 50 Slack messages a day per Slack user
//	send      one message per batch; an SMS or Slack message that may have gone out is looked up first
//	retry     backoff with jitter, or failed for good (SMS and Slack fall back to email)
//	record    back into the live alerts, each batch as soon as its message is done
//	write     the flush's document and the SMS it sent, in the outbox
//
// with the store written in a few calls per flush whatever its size (journal.go), the
// messages sent side by side, and the alerts' documents written by the fold just
// after. While a flush sends to an address, later flushes leave that address alone
// and take the others.
type Dispatcher struct {
	cfg     Config
	id      string // names this dispatcher's flushes
	live    *liveSet
	intake  Stage
	names   *messageNames
	emailOn bool
	// prefetch takes the candidates whose names to read while their alerts wait out
	// the grouping window (prefetchWorkers read them).
	prefetch chan string

	mu      sync.Mutex
	flushed []string // flush documents to drop once their alerts are folded
	flushN  uint64
	sending atomic.Int32 // flushes sending now

	wake     chan struct{}
	foldWake chan struct{}
	stopping chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	folded   chan struct{}
}

// New returns a dispatcher; Start runs it.
func New(cfg Config) *Dispatcher {
	d := &Dispatcher{
		cfg:      cfg,
		id:       crand.Text()[:10],
		live:     newLiveSet(),
		wake:     make(chan struct{}, 1),
		foldWake: make(chan struct{}, 1),
		prefetch: make(chan string, 10000),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
		folded:   make(chan struct{}),
	}
	emailOn := cfg.Email != nil && cfg.Mode == "on"
	d.intake = MultiStage{
		RouteStage{Directory: cfg.Directory, Mode: cfg.Mode, SMS: cfg.SMS != nil, Email: cfg.Email != nil, Teams: cfg.Teams != nil,
			Slack: cfg.Slack != nil},
		DedupeStage{Outbox: cfg.Store},
	}
	d.names = &messageNames{Names: cfg.Names, now: cfg.Now}
	d.emailOn = emailOn
	return d
}

// Start loads the unfinished alerts it owns (all of them when Config.Owns is nil),
// with what the flushes not folded yet recorded, and runs the pipeline until Close.
func (d *Dispatcher) Start(ctx context.Context) error {
	if _, _, err := d.cfg.Store.mappedSince(ctx, d.cfg.Now().UTC()); err != nil {
		return err
	}
	if _, err := d.load(ctx, func(a *Alert) bool { return d.owns(a.ApplicationID) }); err != nil {
		return interactions.Unavailable("load alerts", err)
	}
	go d.run()
	go d.folding()
	go d.purging()
	for range prefetchWorkers {
		go d.prefetching()
	}
	return nil
}

// purging deletes, a minute after start and then daily, the mappings of SMS older
// than messagesKept (expiry is a purge job, as the embedded store has no TTL index).
func (d *Dispatcher) purging() {
	wait := time.Minute
	for {
		select {
		case <-d.stopping:
			return
		case <-time.After(wait):
		}
		wait = 24 * time.Hour
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		n, err := d.cfg.Store.purgeMessages(ctx, d.cfg.Now().Add(-messagesKept))
		cancel()
		if err != nil {
			d.cfg.Log.Warn("alerts: purging old SMS mappings failed; retrying tomorrow", "err", err)
		} else if n > 0 {
			d.cfg.Log.Info("alerts: purged old SMS mappings", "deleted", n)
		}
	}
}

// prefetching reads the names of the candidates of new alerts until Close.
func (d *Dispatcher) prefetching() {
	for {
		select {
		case <-d.stopping:
			return
		case id := <-d.prefetch:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			d.names.prefetch(ctx, id)
			cancel()
		}
	}
}

// Close stops the pipeline and writes what it recorded to the alerts' documents;
// unfinished work resumes at the next start.
func (d *Dispatcher) Close() {
	d.stopOnce.Do(func() { close(d.stopping) })
	<-d.done
	<-d.folded
}

// Acquired takes over the alerts of SLA partitions (interactions.Partition) this
// process now owns: those still to be sent, retried, escalated or woken from a
// snooze are loaded from the store, with what their previous owner recorded in the
// flushes it did not fold (a message it may have sent is looked up at the provider
// before it is sent again), and the pipeline looks at them at once. Config.Owns must
// already say that the partitions are owned. Alerts already held are kept as they are.
func (d *Dispatcher) Acquired(ctx context.Context, partitions []int) error {
	in := partitionSet(partitions)
	n, err := d.load(ctx, func(a *Alert) bool { return in[interactions.Partition(a.ApplicationID)] && d.owns(a.ApplicationID) })
	if err != nil {
		return interactions.Unavailable("load alerts", err)
	}
	d.cfg.Log.Info("alerts: partitions taken over", "partitions", len(partitions), "alerts", n)
	d.poke()
	return nil
}

// Lost lets go of the alerts of SLA partitions another process owns now: they are
// dropped from memory. A send in flight finishes, and its outcome is recorded as usual.
func (d *Dispatcher) Lost(partitions []int) {
	in := partitionSet(partitions)
	d.live.drop(func(a *Alert) bool { return in[interactions.Partition(a.ApplicationID)] })
}

func partitionSet(partitions []int) map[int]bool {
	in := make(map[int]bool, len(partitions))
	for _, p := range partitions {
		in[p] = true
	}
	return in
}

// owns says whether this process sends the alerts of an application.
func (d *Dispatcher) owns(applicationID string) bool {
	return d.cfg.Owns == nil || d.cfg.Owns(applicationID)
}

// shared says whether several replicas may work on the store.
func (d *Dispatcher) shared() bool { return d.cfg.Owns != nil }

// load puts in the live set the unfinished alerts keep accepts that it does not hold
// yet, after applying the flush documents not folded, and returns how many it added.
// Entries of flushes about alerts not loaded (finished since, or another's) are
// written to the alerts keep accepts; on the embedded store the flush documents are
// then dropped once folded, and with several replicas those older than staleFlushes.
func (d *Dispatcher) load(ctx context.Context, keep func(*Alert) bool) (int, error) {
	open, err := d.cfg.Store.unfinished(ctx)
	if err != nil {
		return 0, err
	}
	docs, err := d.cfg.Store.flushDocs(ctx)
	if err != nil {
		return 0, err
	}
	byID := map[string]*Alert{}
	var kept []Alert
	for i := range open {
		if keep(&open[i]) {
			byID[open[i].ID] = &open[i]
		}
	}
	changed, others := applyFlushes(byID, docs)
	for _, a := range byID {
		kept = append(kept, *a)
	}
	for id, e := range others {
		a, err := d.cfg.Store.Get(ctx, id)
		if interactions.ErrorCode(err) == interactions.CodeNotFound {
			continue
		}
		if err != nil {
			return 0, err
		}
		if !keep(&a) || e.Rev <= a.Rev {
			continue
		}
		a.Deliveries, a.FirstDeliveredAt, a.EscalateAt, a.Escalated, a.Rev = e.Deliveries, e.FirstDeliveredAt, e.EscalateAt, a.Escalated || e.Escalated, e.Rev
		if err := d.cfg.Store.saveDeliveries(ctx, &a); err != nil {
			return 0, err
		}
	}
	n := d.live.addNew(kept, changed)
	now := d.cfg.Now().UTC()
	var drop []string
	for _, doc := range docs {
		if !d.shared() || doc.By == d.id || doc.At.Before(now.Add(-staleFlushes)) {
			drop = append(drop, doc.ID)
		}
	}
	d.doneWith(drop...)
	return n, nil
}

// doneWith notes flush documents to drop once what they recorded is folded.
func (d *Dispatcher) doneWith(flushes ...string) {
	if len(flushes) == 0 {
		return
	}
	d.mu.Lock()
	d.flushed = append(d.flushed, flushes...)
	d.mu.Unlock()
	select {
	case d.foldWake <- struct{}{}:
	default:
	}
}

// folding writes, a little after each flush, what the flushes recorded to the
// alerts' own documents, and drops the flush documents; at Close, once more after
// the last flush.
func (d *Dispatcher) folding() {
	defer close(d.folded)
	for {
		select {
		case <-d.stopping:
			<-d.done
			d.fold()
			return
		case <-d.foldWake:
		}
		// Let changes gather, and the flushes of a burst send first: the store is
		// theirs while any is sending, for up to foldWait.
		for waited := time.Duration(0); waited < foldWait && (waited < foldDelay || d.sending.Load() > 0); waited += foldDelay {
			select {
			case <-d.stopping:
				waited = foldWait
			case <-time.After(foldDelay):
			}
		}
		d.fold()
	}
}

// fold writes the dirty alerts and then drops the flush documents done with before.
func (d *Dispatcher) fold() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d.mu.Lock()
	drop := d.flushed
	d.flushed = nil
	d.mu.Unlock()
	save := d.cfg.Store.saveDeliveries
	if d.shared() {
		save = d.saveKeepingStatuses
	}
	if left := d.live.fold(ctx, foldWorkers, save); left > 0 {
		d.cfg.Log.Warn("alerts: writing alerts failed; retrying", "alerts", left)
		d.doneWith(drop...)
		return
	}
	if err := d.cfg.Store.dropFlushes(ctx, drop); err != nil {
		d.cfg.Log.Warn("alerts: dropping flush documents failed; retrying", "err", err)
		d.doneWith(drop...)
	}
}

// saveKeepingStatuses writes an alert's deliveries, as saveDeliveries does, after
// adopting the final SMS statuses that another replica recorded in the store meanwhile
// (a Twilio status callback it received), so that the owner's record of the send does
// not undo them.
func (d *Dispatcher) saveKeepingStatuses(ctx context.Context, a *Alert) error {
	stored, err := d.cfg.Store.Get(ctx, a.ID)
	switch {
	case err == nil:
		adoptFinalStatuses(a, stored)
	case interactions.ErrorCode(err) != interactions.CodeNotFound:
		return err
	}
	return d.cfg.Store.saveDeliveries(ctx, a)
}

// adoptFinalStatuses copies into a's sent SMS deliveries the delivered or failed
// status stored for the same message, and keeps the email fallbacks another replica
// sent after a late SMS failure (sendFallback), which a does not have.
func adoptFinalStatuses(a *Alert, stored Alert) {
	for _, s := range stored.Deliveries {
		if s.Channel == ChannelEmail && s.Status != DeliveryPending && a.deliveryTo(s.Channel, s.To) == nil {
			a.Deliveries = append(a.Deliveries, s)
		}
	}
	for i := range a.Deliveries {
		dl := &a.Deliveries[i]
		if dl.Status != DeliverySent || dl.ProviderID == "" {
			continue
		}
		for _, s := range stored.Deliveries {
			if s.Channel == dl.Channel && s.ProviderID == dl.ProviderID &&
				(s.Status == DeliveryDelivered || s.Status == DeliveryFailed) {
				dl.Status, dl.Error = s.Status, s.Error
			}
		}
	}
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
	return d.Transitions(ctx, []sla.Fired{f})
}

// Transitions takes several recorded clock transitions at once (a burst of breaches):
// their alerts go through intake together and are written with one bulk insert.
func (d *Dispatcher) Transitions(ctx context.Context, fs []sla.Fired) error {
	if d.cfg.Mode == "off" {
		return nil
	}
	var alerts []Alert
	for _, f := range fs {
		if !f.Alert {
			continue
		}
		level := LevelWarning
		if f.State == sla.StateBreached {
			level = LevelBreached
		}
		alerts = append(alerts, Alert{
			ID: AlertID(f.StartedBy, string(f.Metric), level), Level: level, State: StateOpen,
			ClockID: f.ClockID, ApplicationID: f.ApplicationID, CandidateID: f.CandidateID,
			RecruiterID: f.RecruiterID, OwnerID: f.RecruiterID, JobID: f.JobID, Metric: string(f.Metric),
			PolicyID: f.PolicyID, DueAt: f.DueAt,
		})
	}
	return d.create(ctx, alerts...)
}

// create takes new alerts, each addressed to the recruiter in its RecruiterID,
// through intake and into the live alerts.
func (d *Dispatcher) create(ctx context.Context, alerts ...Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	now := d.cfg.Now().UTC().Truncate(time.Millisecond)
	for i := range alerts {
		alerts[i].Code = alertCode(alerts[i].ID)
		alerts[i].CreatedAt = now
	}
	out, err := d.intake.Exec(ctx, now, []Batch{{Alerts: alerts}})
	if err != nil {
		return err
	}
	var events []Event
	for _, b := range out {
		for _, a := range b.Alerts {
			typ := EventCreated
			if a.Level == LevelEscalated {
				typ = EventEscalated
			}
			events = append(events, Event{Type: typ, At: now, Alert: a})
		}
	}
	d.publish(ctx, events...)
	for _, b := range out {
		for _, a := range b.Alerts {
			alertsCreated.WithLabelValues(string(a.Level)).Inc()
			d.live.add(a) // nothing is due before its grouping window ends: no need to wake the loop
			if len(a.Deliveries) > 0 && a.CandidateID != "" {
				select {
				case d.prefetch <- a.CandidateID:
				default: // read when the message is written
				}
			}
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

// flush runs the pipeline once and folds what it recorded, and returns when it is
// done: when something comes due next (zero: nothing waits).
func (d *Dispatcher) flush() time.Time {
	now, alerts, flight, next := d.take()
	if len(alerts) > 0 {
		d.send(now, alerts, flight)
	}
	d.fold()
	return next
}

// take reads "now" once, escalates what is due and takes the alerts with a delivery
// due to an address no other flight is sending to, for the flight it returns. With
// several replicas, the alerts it works on are read again first: an acknowledgement
// or snooze another replica received stops their escalation or sending.
func (d *Dispatcher) take() (now time.Time, alerts []Alert, flight uint64, next time.Time) {
	now = d.cfg.Now().UTC().Truncate(time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d.shared() {
		d.live.drop(func(a *Alert) bool { return !d.owns(a.ApplicationID) })
	}
	alerts, flight, next = d.live.take(now)
	if d.shared() {
		due := d.live.matching(func(a *Alert) bool { return escalationDue(a, now) || snoozeOver(a, now) })
		ids := make([]string, 0, len(alerts)+len(due))
		for _, a := range append(due, alerts...) {
			ids = append(ids, a.ID)
		}
		if err := d.refresh(ctx, ids); err != nil {
			d.cfg.Log.Warn("alerts: reading alerts again failed; retrying", "err", err)
			d.live.release(flight)
			return now, nil, flight, now.Add(tick)
		}
		alerts = slices.DeleteFunc(alerts, func(a Alert) bool {
			cur, ok := d.live.get(a.ID)
			return !ok || cur.State == StateAcknowledged || cur.State == StateResolved
		})
	}
	d.escalate(ctx, now)
	return now, alerts, flight, next
}

// deliver is defer → throttle → send, and as each batch's message is done with,
// retry → record for that batch and its address given back to the live set; then one
// write for the flush.
func (d *Dispatcher) deliver(flight uint64) Stage {
	cfg := d.cfg
	return MultiStage{
		DeferStage{Directory: cfg.Directory, Zone: cfg.Zone},
		CountryStage{Countries: cfg.SMSCountries, Fallback: d.emailOn},
		ThrottleStage{Counter: cfg.Store, PerDay: smsPerDay, Fallback: d.emailOn},
		SendStage{SMS: cfg.SMS, Email: cfg.Email, Teams: cfg.Teams, Slack: cfg.Slack, Names: d.names, Link: cfg.Link,
			Journal: noter{Live: d.live, Outbox: cfg.Store, By: d.id}, Workers: sendWorkers, Log: cfg.Log,
			Then: releasing{live: d.live, flight: flight, Stage: MultiStage{
				RetryStage{MaxAttempts: maxAttempts, Backoff: backoff, Counter: cfg.Store, Fallback: d.emailOn, Log: cfg.Log},
				RecordStage{Live: d.live, EscalateAfter: cfg.EscalateAfter, MaxEscalations: cfg.MaxEscalations, Log: cfg.Log},
			}}},
		WriteStage{Outbox: cfg.Store, By: d.id, Log: cfg.Log},
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

// refresh reads alerts again from the store, in one read, and brings into the live
// ones what people changed through other replicas: the state and its times, and a
// later escalation time (a snooze).
func (d *Dispatcher) refresh(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	stored, err := d.cfg.Store.getMany(ctx, ids)
	if err != nil {
		return err
	}
	for _, s := range stored {
		_, err := d.live.change(ctx, s.ID, nil, func(a *Alert) error {
			if a.State == s.State && timeEqual(a.SnoozedUntil, s.SnoozedUntil) &&
				(s.EscalateAt == nil || a.EscalateAt != nil && !s.EscalateAt.After(*a.EscalateAt)) {
				return errUnchanged
			}
			a.State, a.SnoozedUntil, a.AcknowledgedAt, a.ResolvedAt, a.Resolution =
				s.State, s.SnoozedUntil, s.AcknowledgedAt, s.ResolvedAt, s.Resolution
			if s.EscalateAt != nil && (a.EscalateAt == nil || s.EscalateAt.After(*a.EscalateAt)) {
				a.EscalateAt = s.EscalateAt
			}
			return nil
		}, nil)
		if err != nil && !errors.Is(err, errUnchanged) && !errors.Is(err, errNotLive) {
			return err
		}
	}
	return nil
}

// errUnchanged: nothing to change.
var errUnchanged = errors.New("alerts: unchanged")

func timeEqual(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// escalationDue says whether a breach or escalation is due to escalate at now.
func escalationDue(a *Alert, now time.Time) bool {
	return a.State == StateOpen && (a.Level == LevelBreached || a.Level == LevelEscalated) && !a.Escalated &&
		a.EscalateAt != nil && !now.Before(*a.EscalateAt)
}

// snoozeOver says whether an alert's snooze is over at now.
func snoozeOver(a *Alert, now time.Time) bool {
	return a.State == StateSnoozed && a.SnoozedUntil != nil && !now.Before(*a.SnoozedUntil)
}

// send takes what take took through group → defer → … → record, gives the addresses
// back, and has the fold write the alerts a little later.
func (d *Dispatcher) send(now time.Time, alerts []Alert, flight uint64) {
	d.sending.Add(1)
	defer d.sending.Add(-1)
	defer d.live.release(flight)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d.mu.Lock()
	d.flushN++
	flush := fmt.Sprintf("%s-%d", d.id, d.flushN)
	d.mu.Unlock()
	batches, _ := GroupStage{}.Exec(ctx, now, []Batch{{Alerts: alerts}})
	if len(batches) == 0 {
		return
	}
	for i := range batches {
		batches[i].flush = flush
	}
	recorded, err := d.deliver(flight).Exec(ctx, now, batches)
	if err != nil {
		d.cfg.Log.Warn("alerts: the pipeline failed; retrying", "err", err)
	}
	d.doneWith(flush)
	if len(recorded) > 0 {
		d.poke() // a fallback added, or a retry due at once
	}
}

// escalate sends breaches nobody acknowledged within the policy's escalate_after
// (counted from the first delivery that reached someone; a snooze postpones it) to
// the recruiter's manager, and escalations nobody acknowledged to the next manager
// up, until the policy's max_escalations or the top of the chain; after ending the
// snoozes that are over. An acknowledgement at any level of the chain stops it.
func (d *Dispatcher) escalate(ctx context.Context, now time.Time) {
	woke := d.live.matching(func(a *Alert) bool { return snoozeOver(a, now) })
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
	due := d.live.matching(func(a *Alert) bool { return escalationDue(a, now) })
	for _, a := range due {
		next, err := d.nextEscalation(ctx, a)
		if err == nil && next != nil {
			err = d.create(ctx, *next)
		}
		if err != nil {
			d.cfg.Log.Warn("alerts: escalation failed; retrying", "alert", a.ID, "err", err)
			continue
		}
		_, err = d.live.change(ctx, a.ID, nil, func(a *Alert) error {
			a.Escalated = true
			return nil
		}, d.cfg.Store.saveEscalated)
		if err != nil {
			d.cfg.Log.Warn("alerts: recording an escalation failed", "alert", a.ID, "err", err)
		}
	}
}

// nextEscalation returns the alert a escalates to — the next level, for the manager
// that many levels up the owner's chain — or nil when the chain ends here: past the
// policy's max_escalations, at the top of the chain (no manager, an unknown one, or a
// loop), or acknowledged at some level.
func (d *Dispatcher) nextEscalation(ctx context.Context, a Alert) (*Alert, error) {
	level := escalationLevel(&a) + 1
	if level > d.maxEscalations(a.PolicyID) {
		return nil, nil
	}
	base := chainBase(&a)
	ids := []string{base + ":" + string(LevelBreached), base + ":" + string(LevelEscalated)}
	for n := 1; n < level; n++ {
		ids = append(ids, EscalationID(base+":"+string(LevelBreached), n))
	}
	chain, err := d.cfg.Store.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, c := range chain {
		if c.State == StateAcknowledged {
			return nil, nil
		}
	}
	managerID, err := d.managerUp(ctx, a.OwnerID, level)
	if err != nil || managerID == "" {
		return nil, err
	}
	return &Alert{
		ID: EscalationID(base+":"+string(LevelBreached), level), Level: LevelEscalated, EscalationLevel: level,
		State: StateOpen, ClockID: a.ClockID, ApplicationID: a.ApplicationID, CandidateID: a.CandidateID,
		RecruiterID: managerID, OwnerID: a.OwnerID, JobID: a.JobID, Metric: a.Metric, PolicyID: a.PolicyID, DueAt: a.DueAt,
	}, nil
}

// managerUp returns the manager n levels up from recruiter id (1: its manager), or ""
// when the chain ends before: a recruiter without a manager, unknown, or seen before.
func (d *Dispatcher) managerUp(ctx context.Context, id string, n int) (string, error) {
	seen := map[string]bool{id: true}
	for range n {
		r, err := d.cfg.Directory.Get(ctx, id)
		if interactions.ErrorCode(err) == interactions.CodeNotFound {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if r.ManagerID == "" || seen[r.ManagerID] {
			return "", nil
		}
		id = r.ManagerID
		seen[id] = true
	}
	return id, nil
}

// maxEscalations is the policy's max_escalations, at least 1.
func (d *Dispatcher) maxEscalations(policyID string) int {
	if d.cfg.MaxEscalations == nil {
		return 1
	}
	return max(d.cfg.MaxEscalations(policyID), 1)
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

// backoff is the wait before attempt n+1: exponential from 1 s, at most 5 minutes,
// with jitter.
func backoff(n int) time.Duration {
	d := time.Second << min(n-1, 9)
	d = min(d, 5*time.Minute)
	return d/2 + rand.N(d/2+1)
}
