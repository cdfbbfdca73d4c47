package sla

import (
	"context"
	"slices"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// When several replicas share one MongoDB, every replica's engine tracks every
// application's clocks (the projector hands it the others' applications as their
// owners store them), so that any replica answers queries; but only the owner of an
// application's partition records and hands over its transitions. A replica that
// acquires partitions records what came due while nobody owned them and hands over
// what their previous owner recorded but did not hand over. Policy and calendar
// changes made through another replica are picked up within versionsEvery.

// versionsEvery is how often a shared engine looks for policy versions recorded by
// other replicas.
const versionsEvery = 2 * time.Second

func (e *Engine) owned(applicationID string) bool {
	return e.owns == nil || e.owns(applicationID)
}

// Acquired takes over partitions this replica just acquired (after the projector
// applied what their previous owner had not): it records the transitions of their
// overdue clocks that nobody recorded, and hands over those recorded but never taken.
func (e *Engine) Acquired(ctx context.Context, partitions []int) error {
	in := make(map[int]bool, len(partitions))
	for _, p := range partitions {
		in[p] = true
	}
	now := e.now()
	var due []Fired
	e.mu.Lock()
	since := e.env.Since
	for i := range e.overdue {
		a := e.slots.at(i)
		if !in[interactions.Partition(a.id)] {
			continue
		}
		var fired []uint64
		if a.extra != nil {
			fired = a.extra.fired
		}
		for j := range a.clocks {
			c := e.clock(a, j)
			for _, t := range Transitions(c) {
				if t.At.After(now) {
					continue
				}
				f := e.fired(a.id, e.recruiters.name(a.recruiter), c, t, !t.At.After(since))
				if !slices.Contains(fired, hashID(f.ID)) {
					due = append(due, f)
				}
			}
		}
	}
	e.mu.Unlock()
	if len(due) > 0 {
		apps, err := e.applications(ctx, due)
		if err != nil {
			return err
		}
		for i := range due {
			app := apps[due[i].ApplicationID]
			due[i].CandidateID, due[i].JobID = app.CandidateID, app.JobID
		}
		// The store keeps each transition once: one the previous owner recorded is
		// not new, and is not handed over here.
		if err := e.recordAll(ctx, due, now); err != nil {
			return err
		}
		e.markFired(due)
	}
	pending, err := e.store.pendingIn(ctx, partitions)
	if err != nil {
		return err
	}
	e.handOver(ctx, pending)
	return nil
}

// watchVersions reloads policies and the calendar when another replica recorded a
// new version of them.
func (e *Engine) watchVersions() {
	tick := time.NewTicker(versionsEvery)
	defer tick.Stop()
	for {
		select {
		case <-e.stopping:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		latest, err := e.store.latestVersion(ctx)
		e.mu.Lock()
		changed := latest > e.version
		e.mu.Unlock()
		if err == nil && changed {
			err = e.Reload(ctx)
		}
		if err == nil {
			err = e.refreshPools(ctx)
		}
		cancel()
		if err != nil {
			e.log.Warn("sla: picking up a policy change failed; retrying", "err", err)
		}
	}
}
