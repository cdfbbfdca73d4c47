package alerts

import (
	"context"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// Ack acknowledges an alert: no further escalation. It returns the alert as stored.
func (d *Dispatcher) Ack(ctx context.Context, id string) (Alert, error) {
	return d.changeState(ctx, id, func(a *Alert, now time.Time) error {
		switch a.State {
		case StateResolved:
			return interactions.Errorf(interactions.CodeConflict, "alert %s is resolved", id)
		case StateAcknowledged:
			return nil
		}
		a.State, a.AcknowledgedAt, a.SnoozedUntil = StateAcknowledged, &now, nil
		return nil
	})
}

// Snooze postpones an alert's escalation by d; it stays snoozed until then.
func (d *Dispatcher) Snooze(ctx context.Context, id string, dur time.Duration) (Alert, error) {
	if dur <= 0 || dur > 7*24*time.Hour {
		return Alert{}, interactions.Invalid(interactions.FieldError{Field: "for", Message: "must be more than 0s and at most 7d"})
	}
	return d.changeState(ctx, id, func(a *Alert, now time.Time) error {
		if a.State == StateResolved || a.State == StateAcknowledged {
			return interactions.Errorf(interactions.CodeConflict, "alert %s is %s", id, a.State)
		}
		until := now.Add(dur)
		a.State, a.SnoozedUntil = StateSnoozed, &until
		if a.EscalateAt != nil && a.EscalateAt.Before(until) {
			a.EscalateAt = &until // escalation waits for the snooze to end
		}
		return nil
	})
}

// changeState applies f to the alert (the live copy if there is one) and stores it.
func (d *Dispatcher) changeState(ctx context.Context, id string, f func(*Alert, time.Time) error) (Alert, error) {
	now := d.cfg.Now().UTC().Truncate(time.Millisecond)
	d.mu.Lock()
	a, live := d.live[id]
	d.mu.Unlock()
	if !live {
		stored, err := d.cfg.Store.Get(ctx, id)
		if err != nil {
			return Alert{}, err
		}
		a = &stored
	}
	d.mu.Lock()
	err := f(a, now)
	snapshot := *a
	d.mu.Unlock()
	if err != nil {
		return snapshot, err
	}
	if err := d.cfg.Store.saveState(ctx, &snapshot); err != nil {
		return snapshot, err
	}
	if snapshot.EscalateAt != nil {
		if err := d.cfg.Store.saveDeliveries(ctx, &snapshot); err != nil {
			return snapshot, err
		}
	}
	return snapshot, nil
}

// Command acts on an SMS reply from a recruiter's phone: "ACK" or "SNOOZE 2h" on
// their latest open alert, "ACK <code>" on the one with that code. It returns the
// alert acted on, and false when there was none.
func (d *Dispatcher) Command(ctx context.Context, recruiterID, verb, code string, dur time.Duration) (Alert, bool, error) {
	var target *Alert
	d.mu.Lock()
	for _, a := range d.live {
		if a.RecruiterID != recruiterID || a.State == StateResolved || a.State == StateAcknowledged {
			continue
		}
		if code != "" && !strings.EqualFold(a.Code, code) {
			continue
		}
		if target == nil || a.CreatedAt.After(target.CreatedAt) {
			target = a
		}
	}
	d.mu.Unlock()
	if target == nil {
		return Alert{}, false, nil
	}
	var (
		a   Alert
		err error
	)
	if verb == "snooze" {
		a, err = d.Snooze(ctx, target.ID, dur)
	} else {
		a, err = d.Ack(ctx, target.ID)
	}
	return a, err == nil, err
}

// Stopped resolves the open alerts of clocks that stopped (met, canceled, or
// breached and then answered). Deliveries not sent yet are not sent: the alert is
// resolved unsent, and says so.
func (d *Dispatcher) Stopped(ctx context.Context, clockIDs []string) error {
	if len(clockIDs) == 0 {
		return nil
	}
	stopped := map[string]bool{}
	for _, id := range clockIDs {
		stopped[id] = true
	}
	now := d.cfg.Now().UTC().Truncate(time.Millisecond)
	var changed []Alert
	d.mu.Lock()
	for _, a := range d.live {
		if !stopped[a.ClockID] || a.State == StateResolved {
			continue
		}
		a.State, a.ResolvedAt = StateResolved, &now
		a.Resolution = "the clock stopped"
		if a.FirstDeliveredAt == nil {
			a.Resolution = "the clock stopped before the alert was sent; not sent"
		}
		changed = append(changed, *a)
	}
	d.mu.Unlock()
	for i := range changed {
		if err := d.cfg.Store.saveState(ctx, &changed[i]); err != nil {
			return err
		}
	}
	return nil
}
