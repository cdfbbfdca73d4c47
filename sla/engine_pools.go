package sla

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// Pools as the engine keeps them: every pool in memory, read at start and changed
// through the engine, which then re-derives the nurture clocks of every pooled
// candidate.

// loadPools reads the pools into the environment.
func (e *Engine) loadPools(ctx context.Context) error {
	list, err := e.store.Pools(ctx)
	if err != nil {
		return err
	}
	pools := make(map[string]Pool, len(list))
	for _, p := range list {
		pools[p.ID] = p
	}
	e.mu.Lock()
	e.env.Pools = pools
	e.mu.Unlock()
	return nil
}

// nurtureRecipient returns who a nurture clock alerts, and whether it alerts at all:
// the owner of its pool, when the pool has one and its alerts are on. Callers hold
// e.mu.
func (e *Engine) nurtureRecipient(c Clock) (string, bool) {
	id, _ := PoolOf(c.PolicyID)
	p, ok := e.env.Pools[id]
	if !ok {
		return "", false
	}
	return p.OwnerID, p.Alerts && p.OwnerID != ""
}

// Pools returns every pool, by id.
func (e *Engine) Pools() []Pool {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := slices.Collect(maps.Values(e.env.Pools))
	slices.SortFunc(out, func(a, b Pool) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Pool returns one pool; an *interactions.Error of CodeNotFound when there is none.
func (e *Engine) Pool(id string) (Pool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.env.Pools[id]
	if !ok {
		return Pool{}, interactions.Errorf(interactions.CodeNotFound, "no pool %q", id)
	}
	return p, nil
}

// PutPool validates and saves a pool (created, or replaced keeping its creation
// time), then re-derives nurture clocks with it from their start. It reports whether
// the pool is new.
func (e *Engine) PutPool(ctx context.Context, p Pool, now time.Time) (Pool, bool, error) {
	p = p.WithDefaults()
	if errs := p.Validate(); len(errs) > 0 {
		return p, false, interactions.Invalid(errs...)
	}
	p.UpdatedAt = now
	old, err := e.Pool(p.ID)
	created := err != nil
	if created {
		p.CreatedAt = now
	} else {
		p.CreatedAt = old.CreatedAt
	}
	if err := e.store.SavePool(ctx, p); err != nil {
		return p, false, err
	}
	e.setPool(p.ID, &p)
	return p, created, e.rederiveNurture(ctx)
}

// DeletePool removes a pool. Its memberships must have ended (the caller writes their
// pool_removed first); its closed clocks are gone with it.
func (e *Engine) DeletePool(ctx context.Context, id string) error {
	if _, err := e.Pool(id); err != nil {
		return err
	}
	if err := e.store.DeletePool(ctx, id); err != nil {
		return err
	}
	e.setPool(id, nil)
	return e.rederiveNurture(ctx)
}

// EnsurePools creates, with DefaultPool's settings, the pools of ids that do not
// exist: a pool_added naming an unknown pool (an ATS's prospects) creates it. It is
// the projector's PoolsNamed hook, so the pool exists before its clocks are derived.
func (e *Engine) EnsurePools(ctx context.Context, ids []string) error {
	now := e.now().UTC().Truncate(time.Millisecond)
	var missing []Pool
	e.mu.Lock()
	for _, id := range ids {
		if _, ok := e.env.Pools[id]; !ok && interactions.PoolIDPattern.MatchString(id) {
			missing = append(missing, DefaultPool(id, now))
		}
	}
	e.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	if err := e.store.addPools(ctx, missing); err != nil {
		return err
	}
	return e.loadPools(ctx) // another replica may have created one first, differently
}

func (e *Engine) setPool(id string, p *Pool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pools := maps.Clone(e.env.Pools) // derivations in flight keep the map they read
	if pools == nil {
		pools = map[string]Pool{}
	}
	if p == nil {
		delete(pools, id)
	} else {
		pools[id] = *p
	}
	e.env.Pools = pools
}

// rederiveNurture recomputes every nurture document's clocks, as Reload does for a
// policy change: transitions that land in the past are recorded without alerting.
func (e *Engine) rederiveNurture(ctx context.Context) error {
	return e.rederive(ctx, interactions.IsNurture, "recompute nurture clocks")
}

// refreshPools picks up pools changed through another replica: when the stored pools
// differ from those in memory, it takes them and re-derives the nurture clocks.
func (e *Engine) refreshPools(ctx context.Context) error {
	list, err := e.store.Pools(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	same := len(list) == len(e.env.Pools)
	for _, p := range list {
		cur, ok := e.env.Pools[p.ID]
		same = same && ok && samePool(cur, p)
	}
	e.mu.Unlock()
	if same {
		return nil
	}
	if err := e.loadPools(ctx); err != nil {
		return err
	}
	return e.rederiveNurture(ctx)
}

func samePool(a, b Pool) bool {
	return a.Name == b.Name && a.Cadence == b.Cadence && a.Calendar == b.Calendar && a.OwnerID == b.OwnerID &&
		a.WarnRatio == b.WarnRatio && a.Alerts == b.Alerts && a.UpdatedAt.Equal(b.UpdatedAt)
}
