package alerts

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// legacyStatusWindow is how long after the message mappings began a status callback
// for a message without one looks for it among the alerts' deliveries: Twilio
// reports a message's fate within hours of sending it.
const legacyStatusWindow = 7 * 24 * time.Hour

// SMSStatus records a delivery status Twilio reports for a sent message: delivered,
// or undelivered/failed with Twilio's error code. Other statuses (queued, sending,
// sent) change nothing. It reports whether a delivery matched. The message's alerts
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
	for _, id := range ids {
		var stored *Alert
		if _, live := d.live.get(id); !live {
			a, err := d.cfg.Store.Get(ctx, id)
			if interactions.ErrorCode(err) == interactions.CodeNotFound {
				continue // erased
			}
			if err != nil {
				return matched, err
			}
			stored = &a
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
			return nil
		}, d.cfg.Store.saveDeliveries)
		if errors.Is(err, errNoMatch) {
			continue
		}
		if err != nil {
			return matched, err
		}
		matched = true
	}
	return matched, nil
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
