package webhooks

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// DefaultParkedFor is how long a parked delivery waits for its application before it
// is orphaned.
const DefaultParkedFor = 7 * 24 * time.Hour

// The connector counts parking adds to (atssync's CountParked and CountOrphaned).
const (
	countParked   = "parked"
	countOrphaned = "orphaned"
)

// Applications tells Ingest the candidate of a known application.
type Applications interface {
	// CandidateOf returns the candidate of the application, "" when goodwill does
	// not know the application (yet).
	CandidateOf(ctx context.Context, applicationID string) (string, error)
}

// Counter adds to a vendor's connector counts (atssync.Runner.AddCounts).
type Counter interface {
	AddCounts(ctx context.Context, vendor string, counts map[string]int) error
}

// parked is what this process knows of the parked deliveries: by application, the
// keys of the deliveries waiting for it. Park adds to it; Parking refreshes it from
// the store, so that an application arriving on any replica finds them.
type parked struct {
	mu      sync.Mutex
	waiting map[string][]string
}

func (p *parked) wait(app, key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.waiting[app], key) {
		p.waiting[app] = append(p.waiting[app], key)
	}
}

func (p *parked) take(app string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := p.waiting[app]
	delete(p.waiting, app)
	return keys
}

func (p *parked) reset(list []Parking) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiting = map[string][]string{}
	for _, e := range list {
		p.waiting[e.ApplicationID] = append(p.waiting[e.ApplicationID], e.Key)
	}
}

// fillCandidates gives the items of a thin delivery that name no candidate the
// candidate of their application. It returns the first application it does not know,
// "" when every item has its candidate.
func (g *Ingest) fillCandidates(ctx context.Context, d *Delivery) (string, error) {
	known := map[string]string{}
	for i := range d.Items {
		in := &d.Items[i]
		if in.CandidateID != "" || in.ApplicationID == "" {
			continue
		}
		cand, ok := known[in.ApplicationID]
		if !ok {
			if g.cfg.Applications != nil {
				var err error
				if cand, err = g.cfg.Applications.CandidateOf(ctx, in.ApplicationID); err != nil {
					return "", err
				}
			}
			known[in.ApplicationID] = cand
		}
		if cand == "" {
			return in.ApplicationID, nil
		}
		in.CandidateID = cand
	}
	return "", nil
}

// park records a thin delivery whose application is not known yet, with its raw body,
// as parked: it is applied when the application arrives (Arrived, Parking). A
// redelivery of a parked delivery is answered as parked again.
func (g *Ingest) park(ctx context.Context, rec Record, body []byte, app string, now time.Time) (Result, error) {
	rec.Key = DeliveryKey(rec.Source, rec.DeliveryID, body)
	reason := "the application " + app + " is not known yet: the event is applied when it arrives, by webhook or sync"
	// The parking first: a record without it would never be applied, a parking
	// without its record is dropped by the next sweep.
	if err := g.cfg.Deliveries.Park(ctx, Parking{Key: rec.Key, ApplicationID: app, Source: rec.Source, At: now}); err != nil {
		return Result{}, err
	}
	rec.Outcome, rec.Reason, rec.Body, rec.CandidateIDs = OutcomeParked, reason, string(body), nil
	got, existed, err := g.cfg.Deliveries.Insert(ctx, rec)
	if err != nil {
		return Result{}, err
	}
	if existed {
		if got.Outcome != OutcomeParked {
			_ = g.cfg.Deliveries.Unpark(ctx, rec.Key) // an earlier copy went further
			return g.redelivered(ctx, rec, got, now)
		}
		return Result{Outcome: OutcomeParked, Reason: got.Reason}, nil
	}
	g.count(ctx, rec.Source, countParked)
	g.wait(app, rec.Key)
	// The application may have arrived while this was parked, its news gone by.
	if cand, err := g.candidateOf(ctx, app); err == nil && cand != "" {
		if res, err := g.unpark(ctx, rec.Key); err == nil && res.Outcome == OutcomeStored {
			return res, nil
		}
	}
	return Result{Outcome: OutcomeParked, Reason: reason}, nil
}

func (g *Ingest) candidateOf(ctx context.Context, app string) (string, error) {
	if g.cfg.Applications == nil {
		return "", nil
	}
	return g.cfg.Applications.CandidateOf(ctx, app)
}

func (g *Ingest) count(ctx context.Context, source, name string) {
	if g.cfg.Counter == nil {
		return
	}
	if err := g.cfg.Counter.AddCounts(ctx, source, map[string]int{name: 1}); err != nil {
		g.cfg.Log.Warn("count a parked webhook delivery", "source", source, "count", name, "err", err)
	}
}

// applyItems writes the items of a stored record and marks it stored; a record that
// was parked is unparked.
func (g *Ingest) applyItems(ctx context.Context, rec Record, items []interactions.Interaction) (Result, error) {
	res, err := g.write(ctx, rec.Key, items)
	if err == nil && (rec.Outcome == OutcomeParked || rec.Outcome == OutcomeOrphaned) {
		if uerr := g.cfg.Deliveries.Unpark(ctx, rec.Key); uerr != nil {
			g.cfg.Log.Warn("unpark an applied webhook delivery", "key", rec.Key, "err", uerr)
		}
	}
	return res, err
}

// unpark applies the parked delivery under key if its application is known now. Its
// result is OutcomeParked while the application is still unknown.
func (g *Ingest) unpark(ctx context.Context, key string) (Result, error) {
	rec, err := g.cfg.Deliveries.Get(ctx, key)
	if interactions.ErrorCode(err) == interactions.CodeNotFound {
		return Result{}, g.cfg.Deliveries.Unpark(ctx, key) // purged or never recorded
	}
	if err != nil {
		return Result{}, err
	}
	if rec.Outcome != OutcomeParked || rec.Body == "" {
		return Result{Outcome: rec.Outcome}, g.cfg.Deliveries.Unpark(ctx, key)
	}
	items, waitFor, err := g.reparse(ctx, rec, g.cfg.Now())
	switch {
	case interactions.ErrorCode(err) == interactions.CodeInvalid:
		// The current mapping refuses it: it is kept for a replay, and waits no more.
		g.cfg.Log.Warn("a parked webhook delivery no longer maps", "key", key, "err", err)
		if serr := g.cfg.Deliveries.Settle(ctx, key, OutcomeIgnored, err.Error(), false); serr != nil {
			return Result{}, serr
		}
		return Result{Outcome: OutcomeIgnored}, g.cfg.Deliveries.Unpark(ctx, key)
	case err != nil:
		return Result{}, err
	case waitFor != "":
		g.wait(waitFor, key)
		return Result{Outcome: OutcomeParked, Reason: rec.Reason}, nil
	}
	return g.applyItems(ctx, rec, items)
}

// Arrived applies the deliveries parked for apps, applications whose state just
// changed (an interactions.AppliedFunc's news). It works in the background and
// returns at once.
func (g *Ingest) Arrived(apps []string) {
	var keys []string
	for _, app := range apps {
		keys = append(keys, g.take(app)...)
	}
	if len(keys) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, key := range keys {
			if _, err := g.unpark(ctx, key); err != nil {
				g.cfg.Log.Warn("apply a parked webhook delivery", "key", key, "err", err)
			}
		}
	}()
}

// SweepParked goes through every parked delivery: it applies those whose application
// is known now, orphans those parked longer than ParkedFor, and refreshes what this
// process knows is waiting (so that Arrived finds what other replicas parked).
func (g *Ingest) SweepParked(ctx context.Context) error {
	list, err := g.cfg.Deliveries.ParkedList(ctx)
	if err != nil {
		return err
	}
	now := g.cfg.Now()
	var waiting []Parking
	for _, p := range list {
		if now.Sub(p.At) > g.cfg.ParkedFor {
			reason := "its application " + p.ApplicationID + " did not arrive within " + days(g.cfg.ParkedFor)
			if err := g.cfg.Deliveries.Settle(ctx, p.Key, OutcomeOrphaned, reason, false); err != nil {
				return err
			}
			if err := g.cfg.Deliveries.Unpark(ctx, p.Key); err != nil {
				return err
			}
			g.count(ctx, p.Source, countOrphaned)
			continue
		}
		cand, err := g.candidateOf(ctx, p.ApplicationID)
		if err != nil {
			return err
		}
		if cand != "" {
			if res, err := g.unpark(ctx, p.Key); err != nil {
				return err
			} else if res.Outcome != OutcomeParked {
				continue
			}
		}
		waiting = append(waiting, p)
	}
	g.reset(waiting)
	return nil
}

// Parking sweeps the parked deliveries (SweepParked) at start and then every period,
// until ctx ends.
func (g *Ingest) Parking(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := g.SweepParked(ctx); err != nil && ctx.Err() == nil {
			g.cfg.Log.Warn("webhooks: sweep the parked deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// days writes d as the API writes durations of whole days ("7d"), else as Go does.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}
