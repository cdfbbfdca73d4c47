package atssync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
)

// KnownVendors are the ATS vendors a connector may exist for, in the order GET
// /v1/connectors lists them.
var KnownVendors = []string{"lever", "greenhouse", "ashby", "workable"}

// Directory is the recruiters directory as the sync writes it.
type Directory interface {
	// PutATSUsers sets the fields the ATS owns — name, email, active, and the
	// manager when the ATS has one — of each user's entry, creating the entries not
	// there yet; every other field of an entry stays as it is.
	PutATSUsers(ctx context.Context, users []User) error
}

// Writer stores interactions durably: interactions.Writer. A write returns only once
// its items are stored (or were stored before: same idempotency key).
type Writer interface {
	Write(ctx context.Context, items []interactions.Interaction) ([]interactions.Interaction, error)
}

// Config configures a Runner.
type Config struct {
	Vendors   []Vendor // the configured vendors; none: the runner does nothing
	DB        *mongo.Database
	Writer    Writer
	Directory Directory
	// Interval is the time between the end of a pass and the start of the next
	// (GOODWILL_SYNC_INTERVAL); Lookback is where a vendor's first pass starts
	// (GOODWILL_SYNC_LOOKBACK).
	Interval time.Duration
	Lookback time.Duration
	// Replica names this process in the leases; random when empty.
	Replica string
	// LeaseTTL is how long a vendor's lease lasts unrenewed (default 30 s).
	LeaseTTL time.Duration
	Log      *slog.Logger
	Now      func() time.Time // time.Now when nil
}

// Runner syncs every configured vendor: a pass every Interval by the one replica that
// holds the vendor's lease; each resource read page by page from its stored cursor;
// each page's users put in the directory and its interactions written before the
// cursor moves past it, so that a pass cut off anywhere resumes with no gap and, the
// writes being idempotent, no duplicate.
type Runner struct {
	cfg     Config
	state   state
	leases  map[string]*lease
	vendors map[string]Vendor
	bf      backfills // first-connect backfills (backfill.go)

	// afterWrite, when set (tests), runs between a page's writes and its cursor's save.
	afterWrite func(ctx context.Context, vendor, resource string)

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// NewRunner returns a runner for cfg; Start starts it.
func NewRunner(cfg Config) *Runner {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = 30 * 24 * time.Hour
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Replica == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		cfg.Replica = hex.EncodeToString(b)
	}
	r := &Runner{cfg: cfg, leases: map[string]*lease{}, vendors: map[string]Vendor{}}
	r.bf = backfills{wake: map[string]chan struct{}{}, cancel: map[string]context.CancelFunc{}}
	if cfg.DB != nil {
		r.state = state{coll: cfg.DB.Collection(collConnectors)}
		r.bf.coll = cfg.DB.Collection(collBackfills)
	}
	for _, v := range cfg.Vendors {
		r.vendors[v.Name()] = v
		r.leases[v.Name()] = &lease{coll: cfg.DB.Collection(collLeases), vendor: v.Name(), owner: cfg.Replica, ttl: cfg.LeaseTTL, now: cfg.Now}
		r.bf.wake[v.Name()] = make(chan struct{}, 1)
	}
	return r
}

// Start runs the vendors' passes in the background until Close. With no vendor it
// does nothing.
func (r *Runner) Start(ctx context.Context) {
	ctx, r.stop = context.WithCancel(context.WithoutCancel(ctx))
	for _, v := range r.cfg.Vendors {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.loop(ctx, v)
		}()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.backfillLoop(ctx, v, r.bf.wake[v.Name()])
		}()
	}
}

// Close stops the passes (a pass cut off resumes at the next start, on this replica
// or another) and releases the leases.
func (r *Runner) Close(ctx context.Context) {
	if r.stop != nil {
		r.stop()
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// loop runs a vendor's passes: one at once, then one Interval after each ends.
func (r *Runner) loop(ctx context.Context, v Vendor) {
	l := r.leases[v.Name()]
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.release(ctx); err != nil {
			r.cfg.Log.Warn("sync: release the lease", "vendor", v.Name(), "err", err)
		}
	}()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.Pass(ctx, v.Name()); err != nil && ctx.Err() == nil {
			r.cfg.Log.Warn("sync pass failed", "vendor", v.Name(), "err", err)
		}
		t.Reset(r.cfg.Interval)
	}
}

// errLeaseLost ends a pass whose lease another replica may now hold.
var errLeaseLost = errors.New("the vendor's lease was lost: another replica syncs it")

// Pass runs one pass of vendor if this replica holds (or can take) its lease, and
// reports whether it ran. The lease is renewed while the pass runs; the pass stops
// if it is lost.
func (r *Runner) Pass(ctx context.Context, vendor string) (bool, error) {
	v, ok := r.vendors[vendor]
	if !ok {
		return false, fmt.Errorf("sync: no vendor %q configured", vendor)
	}
	l := r.leases[vendor]
	held, err := l.acquire(ctx)
	if err != nil || !held {
		return false, err
	}
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go r.renew(pctx, l, vendor, cancel) // while the pass runs

	started := r.cfg.Now()
	if err := r.state.begin(ctx, vendor, started); err != nil {
		return true, err
	}
	err = r.pull(pctx, v, l, started)
	if cause := context.Cause(pctx); err != nil && cause != nil && ctx.Err() == nil {
		err = cause
	}
	finished := r.cfg.Now()
	outcome := OutcomeOK
	if err != nil {
		outcome = OutcomeFailed
	}
	passes.WithLabelValues(vendor, outcome).Inc()
	passSeconds.WithLabelValues(vendor).Observe(finished.Sub(started).Seconds())
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	if ferr := r.state.finish(fctx, vendor, started, finished, err); ferr != nil && err == nil {
		err = ferr
	}
	return true, err
}

// maxPages bounds the pages of one resource in one pass, against a vendor that
// always has More.
const maxPages = 100_000

// pull reads every resource of v from its stored cursor and writes what it reads.
func (r *Runner) pull(ctx context.Context, v Vendor, l *lease, started time.Time) error {
	vendor := v.Name()
	doc, err := r.state.load(ctx, vendor)
	if err != nil {
		return err
	}
	for _, res := range v.Resources() {
		if !fieldName(res) {
			return fmt.Errorf("resource %q: names are lower-case letters, digits and '_'", res)
		}
		cur, ok := doc.Cursors[res]
		if !ok || cur == (Cursor{}) {
			cur = Cursor{Since: started.Add(-r.cfg.Lookback).UTC().Truncate(time.Millisecond)}
		}
		for n := 0; ; n++ {
			if n == maxPages {
				return fmt.Errorf("%s: more than %d pages in one pass", res, maxPages)
			}
			page, err := v.Pull(ctx, res, cur)
			if err != nil {
				return fmt.Errorf("%s: %w", res, err)
			}
			if !l.owns() {
				return errLeaseLost
			}
			if len(page.Users) > 0 && r.cfg.Directory != nil {
				if err := r.cfg.Directory.PutATSUsers(ctx, page.Users); err != nil {
					return fmt.Errorf("%s: put users: %w", res, err)
				}
			}
			recovered, err := r.write(ctx, vendor, page.Interactions)
			if err != nil {
				return fmt.Errorf("%s: %w", res, err)
			}
			if err := r.countRecovered(ctx, vendor, recovered); err != nil {
				return fmt.Errorf("%s: %w", res, err)
			}
			delete(page.Counts, CountMissedEventsRecovered) // counted as written, above
			if r.afterWrite != nil {
				r.afterWrite(ctx, vendor, res)
			}
			next := page.Next
			if next == (Cursor{}) {
				next = cur
			}
			if err := r.state.advance(ctx, vendor, res, next, page.Counts); err != nil {
				return fmt.Errorf("%s: %w", res, err)
			}
			pages.WithLabelValues(vendor, res).Inc()
			if !next.Since.IsZero() {
				cursorLag.WithLabelValues(vendor, res).Set(max(0, r.cfg.Now().Sub(next.Since).Seconds()))
			}
			if !page.More {
				break
			}
			cur = next
		}
	}
	return nil
}

// countRecovered adds n to the vendor's missed_events_recovered at once, apart from
// the cursor's advance: a page written again after a crash finds its events stored
// and recovers nothing, so each event counts once.
func (r *Runner) countRecovered(ctx context.Context, vendor string, n int) error {
	if n == 0 {
		return nil
	}
	recoveredEvents.WithLabelValues(vendor).Add(float64(n))
	return r.state.add(ctx, vendor, map[string]int{CountMissedEventsRecovered: n})
}

// recovered reports whether the sync's write of it recovered an event no webhook
// delivered: newly stored, and of a kind an ATS sends by webhook.
func recovered(it interactions.Interaction) bool {
	return !it.Duplicate && interactions.IsATSEvent(it.Kind)
}

// write validates a page's interactions as the API does and stores them, and returns
// how many of them are missed events it recovered. An item that is invalid, or whose
// idempotency key belongs to another application, is skipped and logged (by its
// external id, never its content): one bad record must not stop a vendor's sync for
// good.
func (r *Runner) write(ctx context.Context, vendor string, items []interactions.Interaction) (int, error) {
	now := r.cfg.Now()
	valid := make([]interactions.Interaction, 0, len(items))
	for _, it := range items {
		got, err := prepare(it, vendor, now)
		if err != nil {
			r.cfg.Log.Warn("sync: skipped an invalid interaction", "vendor", vendor, "external_id", it.ExternalID, "err", err)
			continue
		}
		valid = append(valid, got)
	}
	n := 0
	for chunk := range slices.Chunk(valid, interactions.MaxWriteBatch) {
		stored, err := r.cfg.Writer.Write(ctx, chunk)
		if interactions.ErrorCode(err) != interactions.CodeConflict {
			if err != nil {
				return n, err
			}
			for _, it := range stored {
				if recovered(it) {
					n++
				}
			}
			continue
		}
		for _, it := range chunk { // find the item(s) in conflict: write one by one
			stored, err := r.cfg.Writer.Write(ctx, []interactions.Interaction{it})
			switch {
			case interactions.ErrorCode(err) == interactions.CodeConflict:
				r.cfg.Log.Warn("sync: skipped an interaction whose key belongs to another application", "vendor", vendor, "external_id", it.ExternalID)
			case err != nil:
				return n, err
			case len(stored) == 1 && recovered(stored[0]):
				n++
			}
		}
	}
	return n, nil
}

// prepare checks an interaction a vendor read as POST /v1/interactions checks one
// (Input.Validate, as the sync: a details_updated may carry attribution), and gives
// it an id and received_at. Its source must be the
// vendor's and it must have an external id: a page read again after a crash must
// write nothing twice.
func prepare(it interactions.Interaction, vendor string, now time.Time) (interactions.Interaction, error) {
	if it.Source != vendor {
		return it, fmt.Errorf("source %q, want %q", it.Source, vendor)
	}
	if it.ExternalID == "" {
		return it, errors.New("external_id: is required of synced interactions")
	}
	in := interactions.Input{
		ApplicationID: it.ApplicationID, CandidateID: it.CandidateID, Kind: string(it.Kind),
		Direction: string(it.Direction), Channel: it.Channel, JobID: it.JobID, RecruiterID: it.RecruiterID,
		ActorID: it.ActorID, Source: it.Source, ExternalID: it.ExternalID, CandidateNotified: it.CandidateNotified,
		InterviewID: it.InterviewID, Stage: it.Stage, Score: it.Score, Candidate: it.Candidate, Job: it.Job,
		Referral: it.Referral, OccurredAt: timeString(&it.OccurredAt), ScheduledFor: timeString(it.ScheduledFor),
		Until: timeString(it.Until), PromisedBy: timeString(it.PromisedBy),
		Attribution: it.Attribution, EmployeeID: it.EmployeeID, PoolID: it.PoolID, FromSync: true,
	}
	if it.OccurredAt.IsZero() {
		in.OccurredAt = ""
	}
	if it.Duration != nil {
		in.Duration = it.Duration.String()
	}
	if it.Metadata != nil {
		m, err := json.Marshal(it.Metadata)
		if err != nil {
			return it, fmt.Errorf("metadata: %w", err)
		}
		in.Metadata = m
	}
	out, errs := in.Validate("", now)
	if len(errs) > 0 {
		return it, interactions.Invalid(errs...)
	}
	return out, nil
}

func timeString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// AddCounts adds counts to a vendor's connector, configured or not: what happens
// outside a pass, such as the webhook deliveries parked and orphaned (CountParked,
// CountOrphaned). Names are those of Page.Counts.
func (r *Runner) AddCounts(ctx context.Context, vendor string, counts map[string]int) error {
	if r.state.coll == nil || !fieldName(vendor) {
		return nil
	}
	return r.state.add(ctx, vendor, counts)
}

// Connectors returns every known vendor's connector (KnownVendors, then any other
// configured one), configured or not, with its stored state.
func (r *Runner) Connectors(ctx context.Context) ([]Connector, error) {
	names := slices.Clone(KnownVendors)
	for _, v := range r.cfg.Vendors {
		if !slices.Contains(names, v.Name()) {
			names = append(names, v.Name())
		}
	}
	out := make([]Connector, 0, len(names))
	for _, name := range names {
		c := Connector{Vendor: name, Counts: map[string]int64{}}
		_, c.Configured = r.vendors[name]
		if r.state.coll != nil {
			doc, err := r.state.load(ctx, name)
			if err != nil {
				return nil, err
			}
			c.LastPass, c.Cursors = doc.LastPass, doc.Cursors
			for k, n := range doc.Counts {
				c.Counts[k] = n
			}
		}
		for _, k := range CountNames {
			if _, ok := c.Counts[k]; !ok {
				c.Counts[k] = 0
			}
		}
		out = append(out, c)
	}
	return out, nil
}
