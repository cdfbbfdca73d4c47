package alerts

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/interactions"
)

// Erase is the erasure step for alerts: alerts keep no names or contact details of
// candidates (messages are rendered when sent), but the SMS and Slack messages already
// sent about them still carry the candidate's name at Twilio and Slack, so they are
// redacted there, and
// the mappings from those messages to their alerts are deleted. A name read ahead for
// a message not written yet is forgotten. It is idempotent:
// redacting a redacted message does no harm.
func (d *Dispatcher) Erase(ctx context.Context, target interactions.ErasureTarget) error {
	if len(target.CandidateIDs) == 0 {
		return nil
	}
	d.names.forget(target.CandidateIDs)
	cur, err := d.cfg.Store.coll.Find(ctx, bson.M{"candidate_id": bson.M{"$in": target.CandidateIDs}})
	if err != nil {
		return err
	}
	var list []Alert
	if err := cur.All(ctx, &list); err != nil {
		return err
	}
	var sids []string
	for _, a := range list {
		if dirty, ok := d.live.dirtyCopy(a.ID); ok {
			a = dirty // sent, and not written to the alert yet
		}
		for _, dl := range a.Deliveries {
			if dl.Channel == ChannelSlack && dl.ProviderID != "" && d.cfg.Slack != nil {
				if err := d.cfg.Slack.Redact(ctx, dl.ProviderID); err != nil {
					if f, _ := failureOf(err); f != Permanent { // Permanent: deleted at Slack already
						return err
					}
				}
				continue
			}
			if dl.Channel != ChannelSMS || dl.ProviderID == "" {
				continue
			}
			sids = append(sids, dl.ProviderID)
			if d.cfg.SMS == nil {
				continue
			}
			if err := d.cfg.SMS.Redact(ctx, dl.ProviderID); err != nil {
				if f, _ := failureOf(err); f == Permanent {
					continue // gone at Twilio already: nothing left to redact
				}
				return err
			}
		}
	}
	return d.cfg.Store.dropMessages(ctx, sids)
}
