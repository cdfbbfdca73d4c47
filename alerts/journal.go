package alerts

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// A flush of the pipeline writes to the store in a few calls whatever the number of
// alerts it sends: one flush document in "alert_flushes", inserted before its SMS go
// out with the deliveries that may (Sending) and updated by _id after, with what
// became of every alert it changed (Alerts), and one bulk insert of the SMS it sent
// into "sms_messages". The alert documents themselves are brought up to date after
// the sends, by the dispatcher's folder (one write per changed alert, off the sending
// path), which then deletes the flush documents it has folded. A start (or a
// partition taken over) applies the flush documents that were not folded: deliveries
// a flush recorded, and, for a delivery noted as sending with nothing recorded after,
// the ambiguity that makes the next attempt look the message up at Twilio first.

// flushDoc is one flush's journal.
type flushDoc struct {
	ID      string        `bson:"_id"`
	At      time.Time     `bson:"at"`
	By      string        `bson:"by"` // the dispatcher that wrote it
	Sending []sendingMark `bson:"sending,omitempty"`
	Alerts  []flushEntry  `bson:"alerts,omitempty"`
}

// sendingMark is a delivery whose message may go out.
type sendingMark struct {
	AlertID string `bson:"alert_id"`
	Channel string `bson:"channel"`
	To      string `bson:"to"`
}

// flushEntry is what the pipeline fields of an alert became, at its revision Rev.
type flushEntry struct {
	AlertID          string     `bson:"alert_id"`
	Rev              int64      `bson:"rev"`
	Deliveries       []Delivery `bson:"deliveries"`
	FirstDeliveredAt *time.Time `bson:"first_delivered_at,omitempty"`
	EscalateAt       *time.Time `bson:"escalate_at,omitempty"`
	Escalated        bool       `bson:"escalated,omitempty"`
}

func entryOf(a *Alert) flushEntry {
	return flushEntry{AlertID: a.ID, Rev: a.Rev, Deliveries: a.Deliveries, FirstDeliveredAt: a.FirstDeliveredAt,
		EscalateAt: a.EscalateAt, Escalated: a.Escalated}
}

// smsMessage maps a Twilio MessageSid to the alerts its message carried, so that a
// status callback finds them by _id.
type smsMessage struct {
	SID      string    `bson:"_id"`
	To       string    `bson:"to"`
	AlertIDs []string  `bson:"alert_ids"`
	At       time.Time `bson:"at"`
}

// mappedSinceID is the _id of the document in "sms_messages" that says since when
// every SMS sent has its mapping; a status callback for an unknown message looks
// further (by the deliveries' provider_id) only for messages that may be older.
const mappedSinceID = "mapped_since"

// sending inserts a flush's document with the deliveries that may go out.
func (s *Store) sending(ctx context.Context, flush, by string, now time.Time, marks []sendingMark) error {
	_, err := s.flushes.InsertOne(ctx, flushDoc{ID: flush, At: now, By: by, Sending: marks})
	if err != nil {
		return interactions.Unavailable("note sending", err)
	}
	return nil
}

// recorded stores what a flush did: the entries in its document (inserted, or added
// to the one sending inserted), and the SMS it sent.
func (s *Store) recorded(ctx context.Context, flush, by string, now time.Time, noted bool, entries []flushEntry,
	sent []smsMessage) error {
	var errs []error
	if len(sent) > 0 {
		docs := make([]any, len(sent))
		for i := range sent {
			docs[i] = sent[i]
		}
		if _, err := interactions.InsertNew(ctx, s.messages, docs); err != nil {
			errs = append(errs, interactions.Unavailable("record SMS", err))
		}
	}
	if len(entries) > 0 {
		var err error
		if noted {
			err = s.flushes.FindOneAndUpdate(ctx, bson.M{"_id": flush}, bson.M{"$set": bson.M{"alerts": entries}}).Err()
		}
		if !noted || errors.Is(err, mongo.ErrNoDocuments) {
			_, err = s.flushes.InsertOne(ctx, flushDoc{ID: flush, At: now, By: by, Alerts: entries})
		}
		if err != nil {
			errs = append(errs, interactions.Unavailable("record deliveries", err))
		}
	}
	return errors.Join(errs...)
}

// flushDocs returns the flush documents not folded yet, oldest first.
func (s *Store) flushDocs(ctx context.Context) ([]flushDoc, error) {
	cur, err := s.flushes.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, interactions.Unavailable("load flushes", err)
	}
	var out []flushDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("load flushes", err)
	}
	return out, nil
}

// dropFlushes deletes folded flush documents.
func (s *Store) dropFlushes(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.flushes.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
		return interactions.Unavailable("drop flushes", err)
	}
	return nil
}

// message returns the alerts an SMS carried, by its MessageSid; false when it has no
// mapping.
func (s *Store) message(ctx context.Context, sid string) (smsMessage, bool, error) {
	var m smsMessage
	err := s.messages.FindOne(ctx, bson.M{"_id": sid}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return m, false, nil
	}
	if err != nil {
		return m, false, interactions.Unavailable("find message", err)
	}
	return m, true, nil
}

// mappedSince returns since when every SMS sent has its mapping, and whether alerts
// sent SMS before then (legacy). The first call notes both; later calls read them
// (once per Store).
func (s *Store) mappedSince(ctx context.Context, now time.Time) (since time.Time, legacy bool, err error) {
	s.sinceMu.Lock()
	defer s.sinceMu.Unlock()
	if !s.since.IsZero() {
		return s.since, s.legacy, nil
	}
	var doc struct {
		At     time.Time `bson:"at"`
		Legacy bool      `bson:"legacy"`
	}
	err = s.messages.FindOne(ctx, bson.M{"_id": mappedSinceID}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// The first time: are there messages sent before? (One scan, once.)
		err = s.coll.FindOne(ctx, bson.M{"deliveries.provider_id": bson.M{"$exists": true}}).Err()
		doc.At, doc.Legacy = now, err == nil
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return time.Time{}, false, interactions.Unavailable("note message mappings", err)
		}
		_, err = s.messages.InsertOne(ctx, bson.M{"_id": mappedSinceID, "at": doc.At, "legacy": doc.Legacy})
		if mongo.IsDuplicateKeyError(err) { // another replica was first
			err = s.messages.FindOne(ctx, bson.M{"_id": mappedSinceID}).Decode(&doc)
		}
	}
	if err != nil {
		return time.Time{}, false, interactions.Unavailable("note message mappings", err)
	}
	s.since, s.legacy = doc.At, doc.Legacy
	return s.since, s.legacy, nil
}

// byProviderID finds the alert with an SMS delivery of that message id: a scan on the
// embedded store, for messages sent before the mappings.
func (s *Store) byProviderID(ctx context.Context, sid string) (Alert, bool, error) {
	var a Alert
	err := s.coll.FindOne(ctx, bson.M{"deliveries.provider_id": sid}).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return a, false, nil
	}
	if err != nil {
		return a, false, interactions.Unavailable("find alert by message", err)
	}
	return a, true, nil
}

// messagesKept is how long the mapping of an SMS to its alerts is kept: Twilio's
// status callbacks come within hours of the message.
const messagesKept = 30 * 24 * time.Hour

// purgeMessages deletes the mappings of SMS sent before before.
func (s *Store) purgeMessages(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.messages.DeleteMany(ctx, bson.M{"_id": bson.M{"$ne": mappedSinceID}, "at": bson.M{"$lt": before}})
	if err != nil {
		return 0, interactions.Unavailable("purge SMS mappings", err)
	}
	return res.DeletedCount, nil
}

// dropMessages deletes the mappings of SMS messages (erasure).
func (s *Store) dropMessages(ctx context.Context, sids []string) error {
	if len(sids) == 0 {
		return nil
	}
	if _, err := s.messages.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": sids}}); err != nil {
		return interactions.Unavailable("erase message mappings", err)
	}
	return nil
}

// applyFlushes brings what flush documents say into alerts (by id), oldest document
// first: an entry newer than the alert's revision replaces its pipeline fields, and a
// delivery noted as sending that is still waiting afterwards becomes ambiguous. It
// returns the ids of the alerts it changed, and, for the entries of alerts not in
// alerts, the last entry of each.
func applyFlushes(alerts map[string]*Alert, docs []flushDoc) (changed map[string]bool, others map[string]flushEntry) {
	changed, others = map[string]bool{}, map[string]flushEntry{}
	for _, doc := range docs {
		for _, e := range doc.Alerts {
			a := alerts[e.AlertID]
			if a == nil {
				if prev, ok := others[e.AlertID]; !ok || e.Rev > prev.Rev {
					others[e.AlertID] = e
				}
				continue
			}
			if e.Rev <= a.Rev {
				continue
			}
			a.Deliveries, a.FirstDeliveredAt, a.EscalateAt, a.Escalated, a.Rev =
				e.Deliveries, e.FirstDeliveredAt, e.EscalateAt, a.Escalated || e.Escalated, e.Rev
			changed[a.ID] = true
		}
		for _, m := range doc.Sending {
			a := alerts[m.AlertID]
			if a == nil || slices.ContainsFunc(doc.Alerts, func(e flushEntry) bool { return e.AlertID == m.AlertID }) {
				continue // recorded by the same flush: its answer is known
			}
			if dl := a.deliveryTo(m.Channel, m.To); dl != nil && dl.waiting() && !dl.Ambiguous {
				dl.Ambiguous = true
				a.Rev++
				changed[a.ID] = true
			}
		}
	}
	return changed, others
}

// waiting reports whether the delivery is still to be sent: pending or deferred.
func (dl *Delivery) waiting() bool {
	return dl.Status == DeliveryPending || dl.Status == DeliveryDeferred
}
