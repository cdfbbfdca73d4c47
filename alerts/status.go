package alerts

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
)

// SMSStatus records a delivery status Twilio reports for a sent message: delivered,
// or undelivered/failed with Twilio's error code. Other statuses (queued, sending,
// sent) change nothing. It reports whether a delivery matched.
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
	var a Alert
	err := d.cfg.Store.coll.FindOne(ctx, bson.M{"deliveries.provider_id": providerID}).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, interactions.Unavailable("find alert by message", err)
	}
	_, err = d.live.change(ctx, a.ID, &a, func(a *Alert) error {
		matched := false
		for i := range a.Deliveries {
			dl := &a.Deliveries[i]
			if dl.Channel != ChannelSMS || dl.ProviderID != providerID {
				continue
			}
			matched = true
			dl.Status = next
			if next == DeliveryFailed {
				dl.Error = "Twilio reports the message " + status
				if errorCode != "" {
					dl.Error += " (error " + errorCode + ")"
				}
			}
		}
		if !matched {
			return errNoMatch
		}
		return nil
	}, d.cfg.Store.saveDeliveries)
	if errors.Is(err, errNoMatch) {
		return false, nil
	}
	return err == nil, err
}

// errNoMatch: the alert has no SMS delivery with that message id.
var errNoMatch = errors.New("no delivery of that message")
