package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// Outcomes of a delivery, as the log records them.
const (
	// OutcomePending: the raw body is recorded and its interactions are being written.
	// A delivery left pending by a failure is completed by the vendor's retry (or by a
	// replay).
	OutcomePending = "pending"
	// OutcomeStored: the delivery's interactions are written (some may have been
	// stored before, by another delivery: see Record.Duplicates).
	OutcomeStored = "stored"
	// OutcomeDuplicate: a redelivery of a delivery already stored; nothing new was
	// stored. The log entry has no body.
	OutcomeDuplicate = "duplicate"
	// OutcomeIgnored: a valid delivery that maps to nothing.
	OutcomeIgnored = "ignored"
	// OutcomePing: the vendor's ping or test delivery.
	OutcomePing = "ping"
	// OutcomeRejected: a bad signature or a malformed body. Nothing of the delivery's
	// data is kept.
	OutcomeRejected = "rejected"
	// OutcomeCommand: an SMS command (ACK, SNOOZE) from a recruiter's phone.
	OutcomeCommand = "command"
	// OutcomeStatus: a Twilio delivery-status callback of an SMS goodwill sent.
	OutcomeStatus = "status"
	// OutcomeParked: a valid delivery naming an application not known yet; its raw
	// body is kept and its interactions are written when the application arrives.
	OutcomeParked = "parked"
	// OutcomeOrphaned: a parked delivery whose application did not arrive within
	// ParkedFor. Its body is kept until the retention: a replay once the application
	// is known writes it.
	OutcomeOrphaned = "orphaned"
	// OutcomeRefused: a valid delivery the writer refused (an idempotency key taken by
	// another application: 409); reason says why. Nothing of it is stored.
	OutcomeRefused = "refused"
)

// Outcomes lists every outcome, for validating list filters.
var Outcomes = []string{OutcomePending, OutcomeStored, OutcomeDuplicate, OutcomeIgnored,
	OutcomePing, OutcomeRejected, OutcomeCommand, OutcomeStatus, OutcomeParked, OutcomeOrphaned,
	OutcomeRefused}

// Collection names.
const (
	collDeliveries = "webhook_deliveries"
	collSeen       = "webhook_seen"   // keys of callbacks acted on once (First)
	collParked     = "webhook_parked" // deliveries waiting for their application (Park)
)

// Record is one webhook delivery in the log.
type Record struct {
	// Key is the document's _id: "<source>:<delivery id>" when the vendor names the
	// delivery, "<source>:sha256:<hex>" of the body otherwise (DeliveryKey), so that a
	// redelivery collides with it; a fresh id for log entries that must never collide
	// (rejections, duplicates).
	Key        string            `bson:"_id"`
	ID         string            `bson:"id"`
	Source     string            `bson:"source"`
	Label      string            `bson:"label,omitempty"`
	Event      string            `bson:"event,omitempty"`
	DeliveryID string            `bson:"delivery_id,omitempty"`
	ReceivedAt time.Time         `bson:"received_at"`
	Headers    map[string]string `bson:"headers,omitempty"`
	Outcome    string            `bson:"outcome"`
	Reason     string            `bson:"reason,omitempty"`
	// Rejection is why a rejected delivery was refused, one of the Reject* reasons.
	Rejection string `bson:"rejection,omitempty"`
	// InteractionIDs are the ids of the interactions the delivery produced, the
	// originals for those stored before.
	InteractionIDs []string `bson:"interaction_ids,omitempty"`
	Stored         int      `bson:"stored,omitempty"`
	Duplicates     int      `bson:"duplicates,omitempty"`
	// CandidateIDs are the candidates the delivery concerns: erasure finds it by them.
	CandidateIDs []string `bson:"candidate_ids,omitempty"`
	// Body is the raw body, kept only for deliveries that produce interactions, until
	// the candidate's erasure.
	Body   string   `bson:"raw_body,omitempty"`
	Erased bool     `bson:"erased,omitempty"`
	SMS    *SMSInfo `bson:"sms,omitempty"`
}

// SMSInfo is what the log keeps of a Twilio callback besides its outcome.
type SMSInfo struct {
	MessageSid  string   `bson:"message_sid,omitempty"`
	Status      string   `bson:"status,omitempty"`     // status callbacks: MessageStatus
	ErrorCode   string   `bson:"error_code,omitempty"` // status callbacks: ErrorCode
	RecruiterID string   `bson:"recruiter_id,omitempty"`
	Command     *Command `bson:"command,omitempty"`
}

// Command is a recruiter's reply to an alert SMS, as the log keeps it (see
// twilio.ParseCommand).
type Command struct {
	Verb string // "ack" or "snooze"
	Code string // the alert's code, upper case; "" means the latest alert
	For  string // snooze only: how long, in the API's duration notation ("2h")
}

// Header returns the kept headers as an http.Header, for parsing a stored body again.
func (r Record) Header() http.Header {
	h := http.Header{}
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return h
}

// keptHeaders are the request headers the log keeps: those that identify, sign or
// describe a delivery. Authorization and cookies are never kept.
var keptHeaders = []string{
	"Content-Type", "User-Agent",
	// Greenhouse, Ashby, Workable
	"Signature", "Greenhouse-Event-ID", "Ashby-Signature", "X-Workable-Signature",
	// Standard Webhooks
	"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature",
	// Twilio
	"X-Twilio-Signature", "I-Twilio-Idempotency-Token",
}

// maxHeaderValue bounds a kept header value.
const maxHeaderValue = 1 << 10

// KeptHeaders returns the headers of h the log keeps, values cut to 1 KiB.
func KeptHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, k := range keptHeaders {
		v := h.Get(k)
		if v == "" {
			continue
		}
		if len(v) > maxHeaderValue {
			v = v[:maxHeaderValue]
		}
		out[http.CanonicalHeaderKey(k)] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// DeliveryKey is the log key of an accepted delivery: "<source>:<deliveryID>", or,
// when the vendor sends no delivery id, "<source>:sha256:<hex>" of the source and
// body, so that a redelivery of the same content maps to the same key.
func DeliveryKey(source, deliveryID string, body []byte) string {
	if deliveryID != "" {
		return source + ":" + deliveryID
	}
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write(body)
	return source + ":sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Store keeps the webhook delivery log in the "webhook_deliveries" collection and the
// keys of callbacks acted on in "webhook_seen".
type Store struct {
	deliveries *mongo.Collection
	seen       *mongo.Collection
	parked     *mongo.Collection

	mu       sync.Mutex
	rejected map[string]time.Time // "<source> <reason>" → the minute last logged
}

// NewStore returns a store over db.
func NewStore(db *mongo.Database) *Store {
	return &Store{
		deliveries: db.Collection(collDeliveries),
		seen:       db.Collection(collSeen),
		parked:     db.Collection(collParked),
		rejected:   map[string]time.Time{},
	}
}

// EnsureIndexes creates the indexes the list filters and erasure use on MongoDB.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	if err := interactions.EnsureIndexes(ctx, s.deliveries, []mongo.IndexModel{
		{Keys: bson.D{{Key: "received_at", Value: -1}, {Key: "id", Value: -1}}},
		{Keys: bson.D{{Key: "source", Value: 1}, {Key: "received_at", Value: -1}}},
		{Keys: bson.D{{Key: "outcome", Value: 1}, {Key: "received_at", Value: -1}}},
		{Keys: bson.D{{Key: "candidate_ids", Value: 1}}},
	}); err != nil {
		return err
	}
	return interactions.EnsureIndexes(ctx, s.seen, []mongo.IndexModel{{Keys: bson.D{{Key: "at", Value: 1}}}})
}

// prepare fills in what every record needs.
func prepare(r *Record) {
	if r.ID == "" {
		r.ID = interactions.NewID()
	}
	if r.Key == "" {
		r.Key = r.ID
	}
	r.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Millisecond)
}

// Insert records r under its key. When a record with that key exists already it
// returns that record and true, and stores nothing. Store failures are
// CodeUnavailable.
func (s *Store) Insert(ctx context.Context, r Record) (Record, bool, error) {
	prepare(&r)
	_, err := s.deliveries.InsertOne(ctx, r)
	if err == nil {
		return r, false, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return r, false, interactions.Unavailable("record webhook delivery", err)
	}
	existing, err := s.Get(ctx, r.Key)
	if err != nil {
		return r, false, err
	}
	return existing, true, nil
}

// Log records r under a fresh key: for entries that never collide (rejections,
// duplicates).
func (s *Store) Log(ctx context.Context, r Record) error {
	r.Key, r.ID = "", ""
	prepare(&r)
	if _, err := s.deliveries.InsertOne(ctx, r); err != nil {
		return interactions.Unavailable("record webhook delivery", err)
	}
	return nil
}

// LogRejection records a refused delivery (r.Rejection set, no body) at most once per
// source and reason per minute of r.ReceivedAt: the others are only counted, by the
// caller's metric, so that a flood of bad requests writes next to nothing. It reports
// whether r was written. The minute's entry has a key derived from source, reason and
// minute, so that several processes sharing the store also write one.
func (s *Store) LogRejection(ctx context.Context, r Record) (bool, error) {
	minute := r.ReceivedAt.UTC().Truncate(time.Minute)
	gate := r.Source + " " + r.Rejection
	s.mu.Lock()
	if last, ok := s.rejected[gate]; ok && !minute.After(last) {
		s.mu.Unlock()
		return false, nil
	}
	s.rejected[gate] = minute
	s.mu.Unlock()
	r.ID, r.Body, r.CandidateIDs = "", "", nil
	r.Key = "rejected:" + r.Source + ":" + r.Rejection + ":" + minute.Format("2006-01-02T15:04Z")
	prepare(&r)
	_, err := s.deliveries.InsertOne(ctx, r)
	switch {
	case err == nil:
		return true, nil
	case mongo.IsDuplicateKeyError(err):
		return false, nil
	}
	s.mu.Lock()
	if s.rejected[gate].Equal(minute) {
		delete(s.rejected, gate) // not written: the next one tries again
	}
	s.mu.Unlock()
	return false, interactions.Unavailable("record rejected webhook delivery", err)
}

// First records key as acted on at at and reports whether it is new: false means a
// request with that key was handled before (a replayed callback). Record the key
// before acting; if acting then fails, Forget it so that the sender's retry acts.
// Keys are purged with the delivery log (Purge). Store failures are CodeUnavailable.
func (s *Store) First(ctx context.Context, key string, at time.Time) (bool, error) {
	_, err := s.seen.InsertOne(ctx, bson.M{"_id": key, "at": at.UTC().Truncate(time.Millisecond)})
	switch {
	case err == nil:
		return true, nil
	case mongo.IsDuplicateKeyError(err):
		return false, nil
	}
	return false, interactions.Unavailable("record webhook key", err)
}

// Forget removes a key First recorded, after acting on it failed.
func (s *Store) Forget(ctx context.Context, key string) error {
	if _, err := s.seen.DeleteOne(ctx, bson.M{"_id": key}); err != nil {
		return interactions.Unavailable("forget webhook key", err)
	}
	return nil
}

// Purge deletes the delivery log's records received before before, raw bodies
// included, whatever their outcome, and the keys First recorded before it. It returns
// how many documents it deleted. Each collection is read once (on MongoDB through the
// received_at and at indexes); call it daily, not per request.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	before = before.UTC()
	res, err := s.deliveries.DeleteMany(ctx, bson.M{"received_at": bson.M{"$lt": before}})
	if err != nil {
		return 0, interactions.Unavailable("purge webhook deliveries", err)
	}
	n := res.DeletedCount
	res, err = s.seen.DeleteMany(ctx, bson.M{"at": bson.M{"$lt": before}})
	if err != nil {
		return n, interactions.Unavailable("purge webhook keys", err)
	}
	return n + res.DeletedCount, nil
}

// Get returns the record stored under key; CodeNotFound if there is none.
func (s *Store) Get(ctx context.Context, key string) (Record, error) {
	var r Record
	err := s.deliveries.FindOne(ctx, bson.M{"_id": key}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return r, interactions.Errorf(interactions.CodeNotFound, "no webhook delivery %q", key)
	}
	if err != nil {
		return r, interactions.Unavailable("find webhook delivery", err)
	}
	return r, nil
}

// Finish sets the outcome of the record under key once its interactions are written:
// ids are the interactions' ids (the originals for duplicates), stored and duplicates
// how many were new and how many were stored before. erased drops the raw body: the
// delivery concerns a person erased before it arrived.
func (s *Store) Finish(ctx context.Context, key, outcome string, ids []string, stored, duplicates int, erased bool) error {
	update := bson.M{"$set": bson.M{
		"outcome": outcome, "interaction_ids": ids, "stored": stored, "duplicates": duplicates,
	}}
	if erased {
		update["$set"].(bson.M)["erased"] = true
		update["$unset"] = bson.M{"raw_body": ""}
	}
	err := s.deliveries.FindOneAndUpdate(ctx, bson.M{"_id": key}, update).Err()
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return interactions.Unavailable("update webhook delivery", err)
	}
	return nil
}

// Settle sets the outcome and reason of the record under key: a parked delivery
// orphaned, a refused one. dropBody removes its raw body. A missing record is no error.
func (s *Store) Settle(ctx context.Context, key, outcome, reason string, dropBody bool) error {
	update := bson.M{"$set": bson.M{"outcome": outcome, "reason": reason}}
	if dropBody {
		update["$unset"] = bson.M{"raw_body": ""}
	}
	err := s.deliveries.FindOneAndUpdate(ctx, bson.M{"_id": key}, update).Err()
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return interactions.Unavailable("update webhook delivery", err)
	}
	return nil
}

// Parking is a parked delivery waiting for its application.
type Parking struct {
	Key           string    `bson:"_id"` // the delivery's record
	ApplicationID string    `bson:"application_id"`
	Source        string    `bson:"source"`
	At            time.Time `bson:"at"` // when it was parked
}

// Park records that the delivery p.Key waits for its application. Parking twice is
// harmless.
func (s *Store) Park(ctx context.Context, p Parking) error {
	p.At = p.At.UTC().Truncate(time.Millisecond)
	if _, err := s.parked.InsertOne(ctx, p); err != nil && !mongo.IsDuplicateKeyError(err) {
		return interactions.Unavailable("park webhook delivery", err)
	}
	return nil
}

// Unpark forgets a parked delivery, once applied or orphaned.
func (s *Store) Unpark(ctx context.Context, key string) error {
	if _, err := s.parked.DeleteOne(ctx, bson.M{"_id": key}); err != nil {
		return interactions.Unavailable("unpark webhook delivery", err)
	}
	return nil
}

// ParkedList returns every parked delivery. The collection holds only what waits
// (ParkedFor at most), so reading it whole is cheap.
func (s *Store) ParkedList(ctx context.Context) ([]Parking, error) {
	cur, err := s.parked.Find(ctx, bson.M{})
	if err != nil {
		return nil, interactions.Unavailable("read parked webhook deliveries", err)
	}
	var out []Parking
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("read parked webhook deliveries", err)
	}
	return out, nil
}

// Filter selects records for List.
type Filter struct {
	Source  string
	Outcome string
	Limit   int
	Cursor  string
}

// List returns records matching f, newest first, without their bodies, and a cursor
// for the next page ("" when there is none). A malformed cursor is CodeInvalid.
func (s *Store) List(ctx context.Context, f Filter) ([]Record, string, error) {
	q := bson.D{}
	if f.Source != "" {
		q = append(q, bson.E{Key: "source", Value: f.Source})
	}
	if f.Outcome != "" {
		q = append(q, bson.E{Key: "outcome", Value: f.Outcome})
	}
	if f.Cursor != "" {
		c, err := interactions.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = append(q, c.After("received_at"))
	}
	limit := max(f.Limit, 1)
	opts := options.Find().
		SetSort(bson.D{{Key: "received_at", Value: -1}, {Key: "id", Value: -1}}).
		SetLimit(int64(limit + 1)).
		SetProjection(bson.M{"raw_body": 0})
	cur, err := s.deliveries.Find(ctx, q, opts)
	if err != nil {
		return nil, "", interactions.Unavailable("list webhook deliveries", err)
	}
	var out []Record
	if err := cur.All(ctx, &out); err != nil {
		return nil, "", interactions.Unavailable("list webhook deliveries", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = interactions.EncodeCursor(interactions.Cursor{T: last.ReceivedAt, ID: last.ID})
	}
	return out, next, nil
}

// EachBody calls f, oldest first, for every record that still has its raw body,
// received at or after since (if not zero) from source (if not ""). It stops at f's
// first error and returns it.
func (s *Store) EachBody(ctx context.Context, source string, since time.Time, f func(Record) error) error {
	q := bson.D{{Key: "raw_body", Value: bson.M{"$exists": true}}}
	if source != "" {
		q = append(q, bson.E{Key: "source", Value: source})
	}
	if !since.IsZero() {
		q = append(q, bson.E{Key: "received_at", Value: bson.M{"$gte": since.UTC()}})
	}
	cur, err := s.deliveries.Find(ctx, q, options.Find().SetSort(bson.D{{Key: "received_at", Value: 1}, {Key: "id", Value: 1}}))
	if err != nil {
		return interactions.Unavailable("read webhook deliveries", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var r Record
		if err := cur.Decode(&r); err != nil {
			return interactions.Unavailable("read webhook deliveries", err)
		}
		if r.Body == "" {
			continue
		}
		if err := f(r); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return interactions.Unavailable("read webhook deliveries", err)
	}
	return nil
}

// Erase removes the raw body of every delivery that concerns the target's candidates
// and marks it erased. It is an interactions.EraseFunc and is idempotent.
func (s *Store) Erase(ctx context.Context, target interactions.ErasureTarget) error {
	if len(target.CandidateIDs) == 0 {
		return nil
	}
	_, err := s.deliveries.UpdateMany(ctx,
		bson.M{"candidate_ids": bson.M{"$in": target.CandidateIDs}},
		bson.M{"$unset": bson.M{"raw_body": ""}, "$set": bson.M{"erased": true}})
	if err != nil {
		return interactions.Unavailable("erase webhook bodies", err)
	}
	return nil
}

var _ DeliveryLog = (*Store)(nil)
