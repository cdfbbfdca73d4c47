package interactions

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Collection names.
const (
	collInteractions = "interactions"
	collApplications = "applications"
	collCandidates   = "candidates"
	collJobs         = "jobs"
	collContacts     = "contacts"
	collTombstones   = "tombstones"
	collErasures     = "erasures"
	collMeta         = "meta"
)

// Store keeps interactions and what is derived from them in MongoDB. Documents that
// hot paths read are found by _id: an interaction by its idempotency key, an
// application by its id.
type Store struct {
	db           *mongo.Database
	interactions *mongo.Collection
	applications *mongo.Collection
	candidates   *mongo.Collection
	jobs         *mongo.Collection
	contacts     *mongo.Collection
	tombstones   *mongo.Collection
	erasures     *mongo.Collection
	meta         *mongo.Collection

	// Shared is set when other replicas may write to the same store: every write batch
	// then takes a number from a counter document, so that they can follow the log.
	Shared bool
}

// NewStore returns a store over db.
func NewStore(db *mongo.Database) *Store {
	return &Store{
		db:           db,
		interactions: db.Collection(collInteractions),
		applications: db.Collection(collApplications),
		candidates:   db.Collection(collCandidates),
		jobs:         db.Collection(collJobs),
		contacts:     db.Collection(collContacts),
		tombstones:   db.Collection(collTombstones),
		erasures:     db.Collection(collErasures),
		meta:         db.Collection(collMeta),
	}
}

// EnsureIndexes creates the secondary indexes the list filters use on MongoDB. It is
// idempotent.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	desc := func(fields ...string) bson.D {
		d := bson.D{}
		for _, f := range fields {
			d = append(d, bson.E{Key: f, Value: -1})
		}
		return d
	}
	models := []mongo.IndexModel{
		{Keys: desc("occurred_at", "id")},
		{Keys: desc("application_id", "occurred_at", "id")},
		{Keys: desc("candidate_id", "occurred_at", "id")},
		{Keys: desc("recruiter_id", "occurred_at", "id")},
		{Keys: desc("received_at")},
		{Keys: bson.D{{Key: "seq", Value: 1}}},
		{Keys: bson.D{{Key: "id", Value: 1}}, Options: options.Index().SetUnique(true)},
	}
	if err := EnsureIndexes(ctx, s.interactions, models); err != nil {
		return err
	}
	return EnsureIndexes(ctx, s.applications, []mongo.IndexModel{
		{Keys: bson.D{{Key: "recruiter_id", Value: 1}}},
		{Keys: bson.D{{Key: "candidate_id", Value: 1}}},
	})
}

// EnsureIndexes creates those of models that coll lacks, one request each: the
// embedded store drops the connection when one request names several indexes that
// exist already.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, models []mongo.IndexModel) error {
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("list %s indexes: %w", coll.Name(), err)
	}
	have := map[string]bool{}
	for _, s := range specs {
		have[s.KeysDocument.String()] = true
	}
	var missing []mongo.IndexModel
	for _, m := range models {
		keys, err := bson.Marshal(m.Keys)
		if err != nil {
			return err
		}
		if !have[bson.Raw(keys).String()] {
			missing = append(missing, m)
		}
	}
	for _, m := range missing {
		if _, err := coll.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("create %s index: %w", coll.Name(), err)
		}
	}
	return nil
}

// insertResult is the outcome of one document of an InsertMany.
type insertResult int

const (
	inserted insertResult = iota
	duplicate
	failed
)

// insert writes items with one unordered InsertMany and reports each item's outcome.
// A duplicate key means the idempotency key is already stored. err is set when some
// item failed for another reason (the store is unreachable, or the write was refused).
func (s *Store) insert(ctx context.Context, items []Interaction) ([]insertResult, error) {
	out := make([]insertResult, len(items))
	if len(items) == 0 {
		return out, nil
	}
	_, err := s.interactions.InsertMany(ctx, items, options.InsertMany().SetOrdered(false))
	if err == nil {
		return out, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		for i := range out {
			out[i] = failed
		}
		return out, err
	}
	var other error
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(out) {
			continue
		}
		if mongo.IsDuplicateKeyError(we) {
			out[we.Index] = duplicate
		} else {
			out[we.Index] = failed
			other = we
		}
	}
	return out, other
}

// number stamps items with the next write-batch number, from a counter document.
func (s *Store) number(ctx context.Context, items []Interaction) error {
	var c struct {
		N int64 `bson:"n"`
	}
	err := s.meta.FindOneAndUpdate(ctx, bson.M{"_id": "log_seq"}, bson.M{"$inc": bson.M{"n": int64(1)}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&c)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].Seq = c.N
	}
	return nil
}

// ByKeys returns the stored interactions of keys, by key, with one query per thousand
// (the embedded store looks a list of _ids up through its index). Keys not stored are
// missing from the map.
func (s *Store) ByKeys(ctx context.Context, keys []string) (map[string]Interaction, error) {
	out := make(map[string]Interaction, len(keys))
	for chunk := range slices.Chunk(keys, 1000) {
		cur, err := s.interactions.Find(ctx, bson.M{"_id": bson.M{"$in": chunk}})
		if err != nil {
			return nil, Unavailable("find interactions", err)
		}
		var found []Interaction
		if err := cur.All(ctx, &found); err != nil {
			return nil, Unavailable("find interactions", err)
		}
		for _, it := range found {
			out[it.Key] = it
		}
	}
	return out, nil
}

// Filter selects interactions for List.
type Filter struct {
	ApplicationID string
	CandidateID   string
	RecruiterID   string
	Source        string
	Kind          Kind
	Since, Until  *time.Time // occurred_at bounds: since inclusive, until exclusive
	// ApplicationIDs, when not nil, restricts the list to these applications (the
	// applications a recruiter may see).
	ApplicationIDs []string
	Limit          int
	Cursor         string
}

// Cursor is where a page of a list ended: the last item's time and id. Lists hand it
// out encoded (EncodeCursor) and take it back (DecodeCursor).
type Cursor struct {
	T  time.Time `json:"t"`
	ID string    `json:"i"`
}

// After is the filter for the items after the cursor in a list sorted by field (a
// time) descending, then id descending.
func (c Cursor) After(field string) bson.E {
	return bson.E{Key: "$or", Value: bson.A{
		bson.M{field: bson.M{"$lt": c.T}},
		bson.M{field: c.T, "id": bson.M{"$lt": c.ID}},
	}}
}

// List returns interactions matching f, newest occurred_at first, and a cursor for
// the next page ("" when there is none). A malformed cursor is CodeInvalid.
func (s *Store) List(ctx context.Context, f Filter) ([]Interaction, string, error) {
	q := bson.D{}
	add := func(k string, v any) { q = append(q, bson.E{Key: k, Value: v}) }
	if f.ApplicationID != "" {
		add("application_id", f.ApplicationID)
	}
	if f.CandidateID != "" {
		add("candidate_id", f.CandidateID)
	}
	if f.RecruiterID != "" {
		add("recruiter_id", f.RecruiterID)
	}
	if f.Source != "" {
		add("source", f.Source)
	}
	if f.Kind != "" {
		add("kind", f.Kind)
	}
	if f.ApplicationIDs != nil {
		add("application_id", bson.M{"$in": f.ApplicationIDs})
	}
	occurred := bson.M{}
	if f.Since != nil {
		occurred["$gte"] = *f.Since
	}
	if f.Until != nil {
		occurred["$lt"] = *f.Until
	}
	if len(occurred) > 0 {
		add("occurred_at", occurred)
	}
	if f.Cursor != "" {
		c, err := DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = append(q, c.After("occurred_at"))
	}
	limit := f.Limit
	opts := options.Find().
		SetSort(bson.D{{Key: "occurred_at", Value: -1}, {Key: "id", Value: -1}}).
		SetLimit(int64(limit + 1))
	cur, err := s.interactions.Find(ctx, q, opts)
	if err != nil {
		return nil, "", Unavailable("list interactions", err)
	}
	var out []Interaction
	if err := cur.All(ctx, &out); err != nil {
		return nil, "", Unavailable("list interactions", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = EncodeCursor(Cursor{T: last.OccurredAt, ID: last.ID})
	}
	return out, next, nil
}

// EncodeCursor renders a cursor as an opaque string.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor EncodeCursor made; anything else is CodeInvalid on the
// field "cursor".
func DecodeCursor(s string) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return c, Invalid(FieldError{"cursor", "is not a cursor this service returned"})
	}
	return c, nil
}

func unordered() *options.InsertManyOptionsBuilder { return options.InsertMany().SetOrdered(false) }
