package alerts

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
)

// legacyStatusWindow is how long after the message mappings began a status callback
// for a message without one looks for it among the alerts' deliveries: Twilio
// reports a message's fate within hours of sending it.
const legacyStatusWindow = 7 * 24 * time.Hour

// SMSStatus records a delivery status Twilio reports for a sent message: delivered,
// or undelivered/failed with Twilio's error code. Other statuses (queued, sending,
// sent) change nothing. It reports whether a delivery matched.
//
// A late failure of an alert that is neither acknowledged nor resolved falls back to
// email once (lateFailure): an email delivery is added unless the alert has one to
// that address already; and when no other delivery reached the recipient, the
// escalation timer starts again from the next delivery that does. The message's alerts
// are found by its MessageSid (a mapping written when Twilio accepted it), in memory
// while that is being written, and, for messages sent before mappings existed, among
// the alerts' deliveries.
func (d *Dispatcher) SMSStatus(ctx context.Context, providerID, status, errorCode string) (bool, error) {
	var next string
	switch status {
	case "delivered":
		next = DeliveryDelivered
	case "undelivered", "failed":
		next = DeliveryFailed
	default:
		return false, nil
	}
	ids, to, err := d.alertsOfMessage(ctx, providerID)
	if err != nil {
		return false, err
	}
	matched := false
	now := d.cfg.Now().UTC().Truncate(time.Millisecond)
	for _, id := range ids {
		var stored *Alert
		cur, live := d.live.get(id)
		if !live {
			a, err := d.cfg.Store.Get(ctx, id)
			if interactions.ErrorCode(err) == interactions.CodeNotFound {
				continue // erased
			}
			if err != nil {
				return matched, err
			}
			stored, cur = &a, a
		}
		var recipient directory.Recruiter
		if next == DeliveryFailed && d.emailOn {
			r, err := d.cfg.Directory.Get(ctx, cur.RecruiterID)
			if err != nil && interactions.ErrorCode(err) != interactions.CodeNotFound {
				return matched, err
			}
			recipient = r
		}
		_, err := d.live.change(ctx, id, stored, func(a *Alert) error {
			found := false
			for i := range a.Deliveries {
				dl := &a.Deliveries[i]
				// With several replicas, the owner may not have written the send yet:
				// the message's recipient, from its mapping, names the delivery.
				unwritten := stored != nil && to != "" && dl.ProviderID == "" && dl.To == to
				if dl.Channel != ChannelSMS || (dl.ProviderID != providerID && !unwritten) {
					continue
				}
				found = true
				dl.ProviderID = providerID
				dl.Status = next
				if next == DeliveryFailed {
					dl.Error = "Twilio reports the message " + status
					if errorCode != "" {
						dl.Error += " (error " + errorCode + ")"
					}
				}
			}
			if !found {
				return errNoMatch
			}
			if next == DeliveryFailed {
				lateFailure(a, recipient, d.emailOn, now)
			}
			return nil
		}, d.cfg.Store.saveDeliveries)
		if errors.Is(err, errNoMatch) {
			continue
		}
		if err != nil {
			return matched, err
		}
		matched = true
		if next == DeliveryFailed && live {
			d.poke() // a fallback to send
		} else if next == DeliveryFailed && d.shared() {
			d.sendFallback(ctx, id, recipient, now)
		}
	}
	return matched, nil
}

// sendFallback sends, from a replica that does not own alert id, the email fallback a
// late SMS failure added to it in the store: the owner holds the alert in memory and
// would not see it. The delivery is recorded as sent (or failed, with the error: there
// is no retry from here), and the owner's record of the alert keeps it
// (adoptFinalStatuses).
func (d *Dispatcher) sendFallback(ctx context.Context, id string, r directory.Recruiter, now time.Time) {
	a, err := d.cfg.Store.Get(ctx, id)
	if err != nil || r.Email == "" {
		return
	}
	dl := a.deliveryTo(ChannelEmail, r.Email)
	if dl == nil || dl.Status != DeliveryPending {
		return
	}
	b := Batch{Channel: ChannelEmail, To: r.Email, Alerts: []Alert{a}, Recipient: r}
	stage := SendStage{Email: d.cfg.Email, Names: d.names, Link: d.cfg.Link, Log: d.cfg.Log}
	_, err = stage.send(ctx, &b, stage.message(ctx, &b, now))
	dl.Attempts++
	if err != nil {
		dl.Status, dl.Error = DeliveryFailed, err.Error()
		d.cfg.Log.Warn("alerts: the email fallback of a late SMS failure failed", "alert", id, "err", err)
	} else {
		dl.Status, dl.SentAt = DeliverySent, &now
		if a.FirstDeliveredAt == nil {
			a.FirstDeliveredAt = &now
		}
	}
	a.Rev++
	if err := d.cfg.Store.saveDeliveries(ctx, &a); err != nil {
		d.cfg.Log.Warn("alerts: recording an email fallback failed", "alert", id, "err", err)
	}
}

// lateFailure is what an SMS that failed after the provider took it means for an
// alert still open or snoozed: its email fallback (once; fallBack adds none where
// there is an email delivery already), and, if no other delivery reached the
// recipient and the alert has not escalated yet, an escalation timer that starts
// again from the next delivery that does (RecordStage). A snoozed alert keeps its
// escalation time: the snooze set it.
func lateFailure(a *Alert, r directory.Recruiter, emailOn bool, now time.Time) {
	if a.State != StateOpen && a.State != StateSnoozed {
		return
	}
	fallBack(a, r, emailOn, now)
	if a.Escalated || slices.ContainsFunc(a.Deliveries, reached) {
		return
	}
	a.FirstDeliveredAt = nil
	if a.State == StateOpen {
		a.EscalateAt = nil
	}
}

// alertsOfMessage returns the ids of the alerts an SMS carried, and its recipient when
// its mapping is stored.
func (d *Dispatcher) alertsOfMessage(ctx context.Context, sid string) (ids []string, to string, err error) {
	m, ok, err := d.cfg.Store.message(ctx, sid)
	if err != nil || ok {
		return m.AlertIDs, m.To, err
	}
	for _, a := range d.live.matching(func(a *Alert) bool {
		return slices.ContainsFunc(a.Deliveries, func(dl Delivery) bool { return dl.Channel == ChannelSMS && dl.ProviderID == sid })
	}) {
		ids = append(ids, a.ID)
	}
	if len(ids) > 0 {
		return ids, "", nil
	}
	since, legacy, err := d.cfg.Store.mappedSince(ctx, d.cfg.Now().UTC())
	if err != nil || !legacy || d.cfg.Now().After(since.Add(legacyStatusWindow)) {
		return nil, "", err
	}
	a, ok, err := d.cfg.Store.byProviderID(ctx, sid)
	if err != nil || !ok {
		return nil, "", err
	}
	return []string{a.ID}, "", nil
}

// errNoMatch: the alert has no SMS delivery with that message id.
var errNoMatch = errors.New("no delivery of that message")
