package webhook

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// Subscription is one receiver of outgoing webhooks: where, which event types, and
// the secret its deliveries are signed with.
type Subscription struct {
	ID        string    `bson:"_id" json:"id"`
	URL       string    `bson:"url" json:"url"`
	Events    []string  `bson:"events" json:"events"`
	Secret    string    `bson:"secret" json:"-"` // whsec_…, shown once when created
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
}

// The states of a Delivery.
const (
	StatePending   = "pending"   // not delivered yet; tried again at NextAt
	StateDelivered = "delivered" // the receiver answered 2xx
	StateFailed    = "failed"    // every attempt failed
)

// Delivery is one event for one subscription, with every attempt to deliver it. Its
// id is the message's webhook-id, the same on every attempt, so that a receiver
// recognises a repeat.
type Delivery struct {
	ID             string     `bson:"_id" json:"id"`
	SubscriptionID string     `bson:"subscription_id" json:"subscription_id"`
	Type           string     `bson:"type" json:"type"`
	AlertID        string     `bson:"alert_id" json:"alert_id"`
	Body           string     `bson:"body" json:"-"` // the payload, as signed
	State          string     `bson:"state" json:"state"`
	Attempts       []Attempt  `bson:"attempts" json:"attempts"`
	NextAt         *time.Time `bson:"next_at,omitempty" json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time  `bson:"created_at" json:"created_at"`
}

// Attempt is one try at a delivery: when, the receiver's HTTP status (0 when none
// came) or what went wrong, and how long it took.
type Attempt struct {
	At         time.Time `bson:"at" json:"at"`
	Status     int       `bson:"status,omitempty" json:"status,omitempty"`
	Error      string    `bson:"error,omitempty" json:"error,omitempty"`
	DurationMS int64     `bson:"duration_ms" json:"duration_ms"`
}

// Store keeps subscriptions in "alert_webhooks" and deliveries in
// "alert_webhook_deliveries".
type Store struct {
	subs       *mongo.Collection
	deliveries *mongo.Collection
}

// NewStore returns the store over db.
func NewStore(db *mongo.Database) *Store {
	return &Store{subs: db.Collection("alert_webhooks"), deliveries: db.Collection("alert_webhook_deliveries")}
}

// EnsureIndexes creates the indexes the sender and the lists use on MongoDB.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	return interactions.EnsureIndexes(ctx, s.deliveries, []mongo.IndexModel{
		{Keys: bson.D{{Key: "state", Value: 1}, {Key: "next_at", Value: 1}}},
		{Keys: bson.D{{Key: "subscription_id", Value: 1}, {Key: "created_at", Value: -1}}},
	})
}

func (s *Store) create(ctx context.Context, sub Subscription) error {
	if _, err := s.subs.InsertOne(ctx, sub); err != nil {
		return interactions.Unavailable("create alert webhook", err)
	}
	return nil
}

// List returns the subscriptions, oldest first.
func (s *Store) List(ctx context.Context) ([]Subscription, error) {
	cur, err := s.subs.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, interactions.Unavailable("list alert webhooks", err)
	}
	out := []Subscription{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("list alert webhooks", err)
	}
	return out, nil
}

// Get returns a subscription; CodeNotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (Subscription, error) {
	var sub Subscription
	err := s.subs.FindOne(ctx, bson.M{"_id": id}).Decode(&sub)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return sub, interactions.Errorf(interactions.CodeNotFound, "no alert webhook %q", id)
	}
	if err != nil {
		return sub, interactions.Unavailable("find alert webhook", err)
	}
	return sub, nil
}

// delete removes a subscription and its deliveries; CodeNotFound when there is none.
func (s *Store) delete(ctx context.Context, id string) error {
	err := s.subs.FindOneAndDelete(ctx, bson.M{"_id": id}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return interactions.Errorf(interactions.CodeNotFound, "no alert webhook %q", id)
	}
	if err != nil {
		return interactions.Unavailable("delete alert webhook", err)
	}
	if _, err := s.deliveries.DeleteMany(ctx, bson.M{"subscription_id": id}); err != nil {
		return interactions.Unavailable("delete alert webhook deliveries", err)
	}
	return nil
}

// Deliveries returns a subscription's deliveries, newest first, then by id.
func (s *Store) Deliveries(ctx context.Context, subscriptionID string) ([]Delivery, error) {
	cur, err := s.deliveries.Find(ctx, bson.M{"subscription_id": subscriptionID},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, interactions.Unavailable("list alert webhook deliveries", err)
	}
	out := []Delivery{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("list alert webhook deliveries", err)
	}
	return out, nil
}

// insert stores new deliveries; one already there (the same event published twice)
// is left as it is.
func (s *Store) insert(ctx context.Context, ds []Delivery) error {
	docs := make([]any, len(ds))
	for i := range ds {
		docs[i] = &ds[i]
	}
	if _, err := interactions.InsertNew(ctx, s.deliveries, docs); err != nil {
		return interactions.Unavailable("record alert webhook deliveries", err)
	}
	return nil
}

// due returns up to limit pending deliveries whose next attempt is due at now,
// longest due first.
func (s *Store) due(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	cur, err := s.deliveries.Find(ctx, bson.M{"state": StatePending, "next_at": bson.M{"$lte": now}},
		options.Find().SetSort(bson.D{{Key: "next_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var out []Delivery
	err = cur.All(ctx, &out)
	return out, err
}

// earliest returns when the earliest pending delivery is due; false when none is.
func (s *Store) earliest(ctx context.Context) (time.Time, bool, error) {
	var d Delivery
	err := s.deliveries.FindOne(ctx, bson.M{"state": StatePending},
		options.FindOne().SetSort(bson.D{{Key: "next_at", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return time.Time{}, false, nil
	}
	if err != nil || d.NextAt == nil {
		return time.Time{}, false, err
	}
	return *d.NextAt, true, nil
}

// record adds an attempt to a delivery, with the state and next attempt it leads to.
func (s *Store) record(ctx context.Context, id string, a Attempt, state string, next *time.Time) error {
	err := s.deliveries.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{
		"$push": bson.M{"attempts": a},
		"$set":  bson.M{"state": state, "next_at": next},
	}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil // its subscription was deleted meanwhile
	}
	return err
}

// purge deletes finished deliveries created before then.
func (s *Store) purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.deliveries.DeleteMany(ctx, bson.M{"state": bson.M{"$ne": StatePending}, "created_at": bson.M{"$lt": before}})
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}
