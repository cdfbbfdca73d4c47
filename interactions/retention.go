package interactions

import (
	"context"
	"log/slog"
	"time"
)

// Retention erases the personal data of candidates whose applications have all been
// closed for longer than Keep, and whose pool memberships (their nurture document)
// saw no activity for as long, through the erasure machinery. It runs daily.
type Retention struct {
	Store  *Store
	Eraser *Eraser
	Keep   time.Duration
	Log    *slog.Logger
	Now    func() time.Time
}

// Start runs the job a minute after start and then every 24 hours, until ctx ends.
func (r *Retention) Start(ctx context.Context) {
	go Daily(ctx, r.Log, "retention: request erasures of candidates closed longer ago than GOODWILL_RETENTION", func(ctx context.Context) (int64, error) {
		n, err := r.RunOnce(ctx)
		return int64(n), err
	})
}

// RunOnce requests the erasure of every candidate whose applications all closed
// before now − Keep and who is not erased yet. It returns how many it requested.
// Each such erasure has the id "retention:<candidate id>", so a run repeated before
// the erasure finishes requests nothing twice.
func (r *Retention) RunOnce(ctx context.Context) (int, error) {
	cutoff := r.Now().Add(-r.Keep)
	expired := map[string]bool{} // candidate id → every application closed before cutoff
	err := r.Store.EachApplication(ctx, func(app Application) error {
		old := app.Status != StatusOpen && app.ClosedAt != nil && app.ClosedAt.Before(cutoff)
		if IsNurture(app.ID) {
			// A pool member is purged after Keep without activity: no pool event,
			// candidate-level touch, contact or application since.
			old = app.LastEventAt.Before(cutoff)
		}
		if ok, seen := expired[app.CandidateID]; !seen || ok {
			expired[app.CandidateID] = old
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for id, ok := range expired {
		if !ok || id == "" {
			continue
		}
		cand, err := r.Store.Candidate(ctx, id)
		switch {
		case err == nil && cand.Erased:
			continue
		case err != nil && ErrorCode(err) != CodeNotFound:
			return n, err
		}
		_, err = r.Eraser.request(ctx, "retention:"+id, id, "", "")
		if ErrorCode(err) == CodeConflict {
			continue // requested by an earlier run, not finished yet
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
