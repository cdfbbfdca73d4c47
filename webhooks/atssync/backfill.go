package atssync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
)

// collBackfills holds the backfills, one document per backfill (_id its id), and one
// marker per vendor with a backfill running (_id "running:<vendor>").
const collBackfills = "sync_backfills"

// The states of a backfill.
const (
	BackfillRunning  = "running"
	BackfillDone     = "done"
	BackfillFailed   = "failed"
	BackfillCanceled = "canceled"
)

// BackfillPoll is how often a replica looks for a running backfill of its vendors that
// no replica is reading (one started elsewhere, or cut off by a stop or a lease move).
// A backfill started on this replica starts at once.
var BackfillPoll = 5 * time.Second

// backfillAttempts bounds the failed reads in a row, each retried after a growing
// wait, before a backfill fails: a vendor's client has already retried each request.
const backfillAttempts = 5

// Backfill is a first-connect backfill: one read of every resource of a vendor from
// Since, beside the regular passes, through the same client (so within the same rate
// limit) and under the same lease. Its position (Resource, Cursor) moves only after a
// page's users and interactions are durably written, so a backfill cut off anywhere
// resumes with no gap, and, the writes being idempotent, no duplicate.
type Backfill struct {
	ID     string    `bson:"_id"`
	Vendor string    `bson:"vendor"`
	State  string    `bson:"state"`
	Since  time.Time `bson:"since"`
	// Resource is the index in the vendor's Resources of the resource being read (as
	// many as there are: all read), ResourceName its name when stored; Cursor is where
	// its next page starts (zero: at Since).
	Resource     int    `bson:"resource"`
	ResourceName string `bson:"resource_name,omitempty"`
	Cursor       Cursor `bson:"cursor"`
	// Pages, Applications (applications_updated of the pages) and Events (the
	// interactions written other than details_updated) count what was read.
	Pages        int64      `bson:"pages"`
	Applications int64      `bson:"applications"`
	Events       int64      `bson:"events"`
	StartedAt    time.Time  `bson:"started_at"`
	FinishedAt   *time.Time `bson:"finished_at,omitempty"`
	Error        string     `bson:"error,omitempty"`
}

// runningDoc marks the vendor's running backfill; its unique _id makes two backfills
// of a vendor impossible, whatever the replicas do at once.
type runningDoc struct {
	ID       string `bson:"_id"`
	Backfill string `bson:"backfill"`
}

func runningID(vendor string) string { return "running:" + vendor }

// BackfillRunningError is the conflict of starting a backfill while another of the
// same vendor runs; ID is the running one's.
type BackfillRunningError struct{ ID string }

func (e *BackfillRunningError) Error() string {
	return "a backfill of this vendor is already running: " + e.ID
}

// backfills is the runner's backfill side.
type backfills struct {
	coll *mongo.Collection

	mu     sync.Mutex
	wake   map[string]chan struct{}      // by vendor: a backfill was started here
	cancel map[string]context.CancelFunc // by backfill id: the read running here
}

// errCanceled ends a backfill's read when it was canceled.
var errCanceled = errors.New("the backfill was canceled")

// Configured returns nil when vendor's connector is configured, else a not-found
// error.
func (r *Runner) Configured(vendor string) error {
	if _, ok := r.vendors[vendor]; !ok || r.bf.coll == nil {
		return interactions.Errorf(interactions.CodeNotFound, "no ATS connector %q is configured", vendor)
	}
	return nil
}

// StartBackfill starts a backfill of vendor from since and returns it (state
// running). Errors: not found when the vendor is not configured, invalid when since
// is after now or before 1970, and a conflict wrapping *BackfillRunningError when
// one already runs.
func (r *Runner) StartBackfill(ctx context.Context, vendor string, since time.Time) (Backfill, error) {
	if err := r.Configured(vendor); err != nil {
		return Backfill{}, err
	}
	now := r.cfg.Now().UTC().Truncate(time.Millisecond)
	switch {
	case since.After(now):
		return Backfill{}, interactions.Invalid(interactions.FieldError{Field: "since", Message: "must not be in the future"})
	case since.Before(time.Unix(0, 0)):
		return Backfill{}, interactions.Invalid(interactions.FieldError{Field: "since", Message: "must not be before 1970"})
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Backfill{}, interactions.Errorf(interactions.CodeInternal, "backfill id: %v", err)
	}
	b := Backfill{ID: id.String(), Vendor: vendor, State: BackfillRunning, Since: since.UTC().Truncate(time.Millisecond), StartedAt: now}
	// The backfill first, then its marker: a marker always names a stored backfill.
	if _, err := r.bf.coll.InsertOne(ctx, b); err != nil {
		return Backfill{}, interactions.Unavailable("start a backfill", err)
	}
	if err := r.claim(ctx, vendor, b.ID); err != nil {
		_, _ = r.bf.coll.DeleteOne(context.WithoutCancel(ctx), byID(b.ID))
		return Backfill{}, err
	}
	r.bf.mu.Lock()
	if w := r.bf.wake[vendor]; w != nil {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	r.bf.mu.Unlock()
	return b, nil
}

// claim inserts the marker of vendor's running backfill id. A marker whose backfill
// is not running (a stop between a backfill's end and its marker's removal) is
// dropped.
func (r *Runner) claim(ctx context.Context, vendor, id string) error {
	for attempt := 0; attempt < 2; attempt++ {
		_, err := r.bf.coll.InsertOne(ctx, runningDoc{ID: runningID(vendor), Backfill: id})
		if err == nil {
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return interactions.Unavailable("start a backfill", err)
		}
		other, err := r.running(ctx, vendor)
		if err != nil {
			return err
		}
		if old, err := r.loadBackfill(ctx, other); err == nil && old.State == BackfillRunning {
			return &interactions.Error{Code: interactions.CodeConflict,
				Message: fmt.Sprintf("a backfill of %s is already running: %s", vendor, other), Err: &BackfillRunningError{ID: other}}
		}
		_, _ = r.bf.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: runningID(vendor)}, {Key: "backfill", Value: other}})
	}
	return interactions.Errorf(interactions.CodeConflict, "a backfill of %s is being started", vendor)
}

// Backfill returns vendor's backfill id; not found when there is none.
func (r *Runner) Backfill(ctx context.Context, vendor, id string) (Backfill, error) {
	if r.bf.coll == nil {
		return Backfill{}, interactions.Errorf(interactions.CodeNotFound, "no backfill %q", id)
	}
	b, err := r.loadBackfill(ctx, id)
	if err == nil && b.Vendor != vendor {
		err = interactions.Errorf(interactions.CodeNotFound, "no backfill %q of %s", id, vendor)
	}
	return b, err
}

// CancelBackfill cancels vendor's running backfill id and returns it (state
// canceled); what it wrote stays. A backfill already canceled is returned as it is;
// one done or failed is a conflict.
func (r *Runner) CancelBackfill(ctx context.Context, vendor, id string) (Backfill, error) {
	b, err := r.Backfill(ctx, vendor, id)
	switch {
	case err != nil:
		return b, err
	case b.State == BackfillCanceled:
		return b, nil
	case b.State != BackfillRunning:
		return b, interactions.Errorf(interactions.CodeConflict, "the backfill is %s already", b.State)
	}
	now := r.cfg.Now().UTC().Truncate(time.Millisecond)
	if err := r.setBackfill(ctx, id, bson.D{{Key: "state", Value: BackfillCanceled}, {Key: "finished_at", Value: now}}); err != nil {
		return b, err
	}
	if _, err := r.bf.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: runningID(vendor)}, {Key: "backfill", Value: id}}); err != nil {
		return b, interactions.Unavailable("cancel a backfill", err)
	}
	r.bf.mu.Lock()
	if c := r.bf.cancel[id]; c != nil {
		c()
	}
	r.bf.mu.Unlock()
	b.State, b.FinishedAt = BackfillCanceled, &now
	return b, nil
}

func (r *Runner) loadBackfill(ctx context.Context, id string) (Backfill, error) {
	var b Backfill
	err := r.bf.coll.FindOne(ctx, byID(id)).Decode(&b)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments) || (err == nil && b.Vendor == ""):
		return Backfill{}, interactions.Errorf(interactions.CodeNotFound, "no backfill %q", id)
	case err != nil:
		return Backfill{}, interactions.Unavailable("read a backfill", err)
	}
	return b, nil
}

func (r *Runner) setBackfill(ctx context.Context, id string, set bson.D, inc ...bson.E) error {
	update := bson.D{{Key: "$set", Value: set}}
	if len(inc) > 0 {
		update = append(update, bson.E{Key: "$inc", Value: bson.D(inc)})
	}
	if err := r.bf.coll.FindOneAndUpdate(ctx, byID(id), update).Err(); err != nil {
		return interactions.Unavailable("write a backfill", err)
	}
	return nil
}

// running returns the id of vendor's running backfill, "" when none runs.
func (r *Runner) running(ctx context.Context, vendor string) (string, error) {
	var m runningDoc
	err := r.bf.coll.FindOne(ctx, byID(runningID(vendor))).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", interactions.Unavailable("read the running backfill", err)
	}
	return m.Backfill, nil
}

// backfillLoop reads vendor's running backfill whenever one is started here, and
// every BackfillPoll looks for one no replica reads.
func (r *Runner) backfillLoop(ctx context.Context, v Vendor, wake chan struct{}) {
	t := time.NewTicker(BackfillPoll)
	defer t.Stop()
	for {
		if err := r.runBackfill(ctx, v); err != nil && ctx.Err() == nil {
			r.cfg.Log.Warn("sync backfill", "vendor", v.Name(), "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// runBackfill reads vendor's running backfill, if any, while this replica holds the
// vendor's lease: to its end, to a cancel, or until the lease or the process stops.
func (r *Runner) runBackfill(ctx context.Context, v Vendor) error {
	vendor := v.Name()
	id, err := r.running(ctx, vendor)
	if err != nil || id == "" {
		return err
	}
	b, err := r.loadBackfill(ctx, id)
	if interactions.ErrorCode(err) == interactions.CodeNotFound { // cannot be: the backfill is written first
		_, err = r.bf.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: runningID(vendor)}, {Key: "backfill", Value: id}})
		return err
	}
	if err != nil || b.State != BackfillRunning {
		return err
	}
	l := r.leases[vendor]
	if held, err := l.acquire(ctx); err != nil || !held {
		return err
	}
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.bf.mu.Lock()
	r.bf.cancel[id] = func() { cancel(errCanceled) }
	r.bf.mu.Unlock()
	defer func() {
		r.bf.mu.Lock()
		delete(r.bf.cancel, id)
		r.bf.mu.Unlock()
	}()
	go r.renew(bctx, l, vendor, cancel)

	err = r.readBackfill(bctx, v, l, b)
	if cause := context.Cause(bctx); err != nil && cause != nil && ctx.Err() == nil {
		err = cause
	}
	switch {
	case ctx.Err() != nil, errors.Is(err, errCanceled), errors.Is(err, errLeaseLost):
		return nil // resumed later, here or elsewhere; or canceled (CancelBackfill wrote it)
	case interactions.ErrorCode(err) == interactions.CodeUnavailable:
		return err // the store failed: resumed from its position at the next look
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	if still, rerr := r.running(fctx, vendor); rerr != nil || still != id {
		return rerr // canceled meanwhile, perhaps on another replica
	}
	now := r.cfg.Now().UTC().Truncate(time.Millisecond)
	set := bson.D{{Key: "state", Value: BackfillDone}, {Key: "finished_at", Value: now}}
	outcome := OutcomeOK
	if err != nil {
		set = bson.D{{Key: "state", Value: BackfillFailed}, {Key: "finished_at", Value: now}, {Key: "error", Value: err.Error()}}
		outcome = OutcomeFailed
	}
	backfillsFinished.WithLabelValues(vendor, outcome).Inc()
	if serr := r.setBackfill(fctx, id, set); serr != nil {
		return serr
	}
	_, derr := r.bf.coll.DeleteOne(fctx, bson.D{{Key: "_id", Value: runningID(vendor)}, {Key: "backfill", Value: id}})
	return derr
}

// renew keeps the vendor's lease while ctx lasts; losing it cancels ctx.
func (r *Runner) renew(ctx context.Context, l *lease, vendor string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(r.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if held, err := l.acquire(ctx); !held && ctx.Err() == nil {
			if err != nil {
				r.cfg.Log.Warn("sync: renew the lease", "vendor", vendor, "err", err)
			}
			if !l.owns() {
				cancel(errLeaseLost)
				return
			}
		}
	}
}

// pulled is a page read ahead, or why it could not be read.
type pulled struct {
	page Page
	err  error
}

// backfillWindow is how many pages a backfill writes at once. Their positions are
// saved in order, each once its page and every page before it are written.
const backfillWindow = 4

// writing is a page being written, and the position and counts to save once it is.
type writing struct {
	res    string
	done   chan error
	next   bson.D
	apps   int64
	events int64
}

// readBackfill reads b's resources from its stored position to the end. The next page
// is read while earlier ones are written (up to backfillWindow at once), so that the
// vendor's rate limit, not the store, sets the pace; the stored position moves past a
// page only once it and every page before it are written.
func (r *Runner) readBackfill(ctx context.Context, v Vendor, l *lease, b Backfill) error {
	vendor := v.Name()
	resources := v.Resources()
	i, cur := b.Resource, b.Cursor
	if i < 0 || i > len(resources) || (i < len(resources) && b.ResourceName != "" && resources[i] != b.ResourceName) {
		i, cur = 0, Cursor{} // the vendor's resources changed since: read them all again
	}
	if i == len(resources) {
		return nil
	}
	at := func(cur Cursor) Cursor {
		if cur == (Cursor{}) {
			return Cursor{Since: b.Since}
		}
		return cur
	}
	pull := func(res string, cur Cursor) chan pulled {
		ch := make(chan pulled, 1) // never blocks: a page read ahead for nothing is dropped
		go func() {
			p, err := v.Pull(ctx, res, cur)
			ch <- pulled{p, err}
		}()
		return ch
	}
	var window []writing
	// saveOldest waits for the oldest page being written and saves its position.
	saveOldest := func(err error) error {
		w := window[0]
		window = window[1:]
		if err != nil {
			return fmt.Errorf("%s: %w", w.res, err)
		}
		if err := r.setBackfill(ctx, b.ID, w.next,
			bson.E{Key: "pages", Value: int64(1)}, bson.E{Key: "applications", Value: w.apps},
			bson.E{Key: "events", Value: w.events}); err != nil {
			return fmt.Errorf("%s: %w", w.res, err)
		}
		backfillPages.WithLabelValues(vendor, w.res).Inc()
		return nil
	}
	// next waits for the page read ahead, saving the pages written meanwhile.
	next := func(ahead chan pulled) (pulled, error) {
		for {
			var oldest chan error
			if len(window) > 0 {
				oldest = window[0].done
			}
			select {
			case got := <-ahead:
				return got, nil
			case err := <-oldest:
				if err := saveOldest(err); err != nil {
					return pulled{}, err
				}
			case <-ctx.Done():
				return pulled{}, ctx.Err()
			}
		}
	}

	cur = at(cur)
	ahead := pull(resources[i], cur)
	failures, n := 0, 0
	for i < len(resources) {
		res := resources[i]
		got, err := next(ahead)
		if err != nil {
			return err
		}
		if got.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if failures++; failures >= backfillAttempts {
				return fmt.Errorf("%s: %w", res, got.err)
			}
			r.cfg.Log.Warn("sync backfill: a read failed; retrying", "vendor", vendor, "resource", res, "err", got.err)
			if err := sleep(ctx, time.Duration(1<<failures)*time.Second); err != nil {
				return err
			}
			ahead = pull(res, cur)
			continue
		}
		failures = 0
		page := got.page
		if !l.owns() {
			return errLeaseLost
		}
		if n++; n > maxPages {
			return fmt.Errorf("%s: more than %d pages in one backfill", res, maxPages)
		}
		// Where the next page starts, read ahead while this one is written.
		ni, nextCur := i, page.Next
		if nextCur == (Cursor{}) {
			nextCur = cur
		}
		if !page.More {
			ni, nextCur, n = i+1, Cursor{}, 0
		}
		if ni < len(resources) {
			ahead = pull(resources[ni], at(nextCur))
		}
		if still, err := r.running(ctx, vendor); err != nil || still != b.ID {
			if err == nil {
				err = errCanceled
			}
			return err
		}
		if len(page.Users) > 0 && r.cfg.Directory != nil {
			if err := r.cfg.Directory.PutATSUsers(ctx, page.Users); err != nil {
				return fmt.Errorf("%s: put users: %w", res, err)
			}
		}
		name := ""
		if ni < len(resources) {
			name = resources[ni]
		}
		w := writing{res: res, done: make(chan error, 1), apps: int64(page.Counts[CountApplicationsUpdated]),
			next: bson.D{{Key: "resource", Value: ni}, {Key: "resource_name", Value: name}, {Key: "cursor", Value: nextCur}}}
		for _, it := range page.Interactions {
			if it.Kind != interactions.KindDetailsUpdated {
				w.events++
			}
		}
		go func(items []interactions.Interaction) {
			_, err := r.write(ctx, vendor, items)
			w.done <- err
		}(page.Interactions)
		window = append(window, w)
		for len(window) >= backfillWindow {
			var err error
			select {
			case err = <-window[0].done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := saveOldest(err); err != nil {
				return err
			}
		}
		i, cur = ni, at(nextCur)
	}
	for len(window) > 0 {
		var err error
		select {
		case err = <-window[0].done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := saveOldest(err); err != nil {
			return err
		}
	}
	return nil
}
