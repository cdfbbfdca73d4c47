package alerts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// Ack acknowledges an alert: no further escalation. It returns the alert as stored.
func (d *Dispatcher) Ack(ctx context.Context, id string) (Alert, error) {
	return d.changeState(ctx, id, EventAcknowledged, func(a *Alert, now time.Time) error {
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
	return d.changeState(ctx, id, EventSnoozed, func(a *Alert, now time.Time) error {
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

// changeState applies f to the alert (the live copy if there is one) and stores it;
// when f changed it (an acknowledgement of an acknowledged alert does not), it
// publishes an event of type typ.
func (d *Dispatcher) changeState(ctx context.Context, id, typ string, f func(*Alert, time.Time) error) (Alert, error) {
	now := d.cfg.Now().UTC().Truncate(time.Millisecond)
	var stored *Alert
	if _, live := d.live.get(id); !live {
		a, err := d.cfg.Store.Get(ctx, id)
		if err != nil {
			return Alert{}, err
		}
		stored = &a
	}
	changed := false
	a, err := d.live.change(ctx, id, stored, func(a *Alert) error {
		before, until := a.State, a.SnoozedUntil
		err := f(a, now)
		changed = err == nil && (a.State != before || !timeEqual(a.SnoozedUntil, until))
		return err
	}, d.cfg.Store.saveState)
	if err == nil && changed {
		d.publish(ctx, Event{Type: typ, At: now, Alert: a})
	}
	return a, err
}

// Command acts on an SMS reply from a recruiter's phone: "ACK" or "SNOOZE 2h" on
// their latest open alert, "ACK <code>" on the one with that code. It returns the
// alert acted on, and false when there was none. With several replicas the alerts are
// looked for in the store, since the reply may reach a replica that does not hold
// them. Once it has acted, one short SMS confirms it to the recruiter (confirm).
func (d *Dispatcher) Command(ctx context.Context, recruiterID, verb, code string, dur time.Duration) (Alert, bool, error) {
	match := func(a *Alert) bool {
		return a.RecruiterID == recruiterID && a.State != StateResolved && a.State != StateAcknowledged &&
			(code == "" || strings.EqualFold(a.Code, code))
	}
	var candidates []Alert
	if d.shared() {
		for _, state := range []State{StateOpen, StateSnoozed} {
			list, err := d.cfg.Store.List(ctx, Filter{RecruiterIDs: []string{recruiterID}, State: state})
			if err != nil {
				return Alert{}, false, err
			}
			candidates = append(candidates, slices.DeleteFunc(list, func(a Alert) bool { return !match(&a) })...)
		}
	} else {
		candidates = d.live.matching(match)
	}
	if len(candidates) == 0 {
		return Alert{}, false, nil
	}
	target := slices.MaxFunc(candidates, func(x, y Alert) int { return x.CreatedAt.Compare(y.CreatedAt) })
	var (
		a   Alert
		err error
	)
	if verb == "snooze" {
		a, err = d.Snooze(ctx, target.ID, dur)
	} else {
		a, err = d.Ack(ctx, target.ID)
	}
	if err == nil {
		d.confirm(ctx, recruiterID, a, verb, dur)
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
	var events []Event
	defer func() { d.publish(ctx, events...) }()
	for _, a := range d.live.matching(func(a *Alert) bool { return stopped[a.ClockID] && a.State != StateResolved }) {
		resolved, err := d.live.change(ctx, a.ID, nil, func(a *Alert) error {
			a.State, a.ResolvedAt = StateResolved, &now
			a.Resolution = "the clock stopped"
			if a.FirstDeliveredAt == nil {
				a.Resolution = "the clock stopped before the alert was sent; not sent"
			}
			return nil
		}, d.cfg.Store.saveState)
		if err != nil && !errors.Is(err, errNotLive) {
			return err
		}
		if err == nil {
			events = append(events, Event{Type: EventResolved, At: now, Alert: resolved})
		}
	}
	return nil
}
