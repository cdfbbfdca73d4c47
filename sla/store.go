package sla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// Store keeps policies, the business calendar, their history and the transitions
// clocks went through in MongoDB.
type Store struct {
	policies    *mongo.Collection
	settings    *mongo.Collection
	versions    *mongo.Collection
	transitions *mongo.Collection
}

// NewStore returns the SLA store over db.
func NewStore(db *mongo.Database) *Store {
	return &Store{
		policies:    db.Collection("sla_policies"),
		settings:    db.Collection("settings"),
		versions:    db.Collection("sla_versions"),
		transitions: db.Collection("sla_transitions"),
	}
}

// Seed stores the built-in policies that are missing and, on a fresh store, the
// calendar cal. Several processes starting at once agree.
func (s *Store) Seed(ctx context.Context, cal Calendar) error {
	var docs []any
	for _, p := range DefaultPolicies() {
		docs = append(docs, p)
	}
	if err := insertIgnoringDuplicates(ctx, s.policies, docs); err != nil {
		return interactions.Unavailable("seed policies", err)
	}
	doc, err := newCalendarDoc(cal)
	if err != nil {
		return err
	}
	if err := insertIgnoringDuplicates(ctx, s.settings, []any{doc}); err != nil {
		return interactions.Unavailable("seed calendar", err)
	}
	return nil
}

// calendarDoc stores the calendar as its JSON text: its hours are nested arrays, which
// the embedded store cannot keep.
type calendarDoc struct {
	ID   string `bson:"_id"`
	JSON string `bson:"json"`
}

func newCalendarDoc(c Calendar) (calendarDoc, error) {
	b, err := json.Marshal(c)
	return calendarDoc{ID: "calendar", JSON: string(b)}, err
}

// Policies returns every policy, by id.
func (s *Store) Policies(ctx context.Context) ([]Policy, error) {
	cur, err := s.policies.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, interactions.Unavailable("list policies", err)
	}
	var out []Policy
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("list policies", err)
	}
	return out, nil
}

// SavePolicy creates or replaces a policy.
func (s *Store) SavePolicy(ctx context.Context, p Policy) error {
	err := s.policies.FindOneAndReplace(ctx, bson.M{"_id": p.ID}, p).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		_, err = s.policies.InsertOne(ctx, p)
		if mongo.IsDuplicateKeyError(err) {
			err = s.policies.FindOneAndReplace(ctx, bson.M{"_id": p.ID}, p).Err()
		}
	}
	if err != nil {
		return interactions.Unavailable("save policy", err)
	}
	return nil
}

// DeletePolicy removes a policy.
func (s *Store) DeletePolicy(ctx context.Context, id string) error {
	if _, err := s.policies.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return interactions.Unavailable("delete policy", err)
	}
	return nil
}

// Calendar returns the stored business calendar.
func (s *Store) Calendar(ctx context.Context) (Calendar, error) {
	var doc calendarDoc
	if err := s.settings.FindOne(ctx, bson.M{"_id": "calendar"}).Decode(&doc); err != nil {
		return Calendar{}, interactions.Unavailable("read calendar", err)
	}
	var c Calendar
	err := json.Unmarshal([]byte(doc.JSON), &c)
	return c, err
}

// SaveCalendar replaces the business calendar.
func (s *Store) SaveCalendar(ctx context.Context, c Calendar) error {
	doc, err := newCalendarDoc(c)
	if err != nil {
		return err
	}
	err = s.settings.FindOneAndUpdate(ctx, bson.M{"_id": "calendar"}, bson.M{"$set": bson.M{"json": doc.JSON}}).Err()
	if err != nil {
		return interactions.Unavailable("save calendar", err)
	}
	return nil
}

// EnvVersion is one state of the policies and the calendar, in force from From until
// the next version's From. Closed clocks keep the outcome they had under the version
// in force when they stopped (see Env.Earlier).
type EnvVersion struct {
	Seq int64 // 1 for the first version, then one more for each
	// From is when the version took effect, at millisecond precision; zero for the
	// first version, in force since the beginning of time.
	From     time.Time
	Policies []Policy
	Calendar Calendar
}

// versionDoc stores a version; policies and calendar as JSON text, since the
// calendar's hours are nested arrays.
type versionDoc struct {
	Seq  int64     `bson:"_id"`
	From time.Time `bson:"from"`
	JSON string    `bson:"json"`
}

// versionBody is the JSON text of a version: what two versions are compared by.
type versionBody struct {
	Policies []Policy `json:"policies"`
	Calendar Calendar `json:"calendar"`
}

// Versions returns the history of policies and calendar, oldest first, after
// recording the stored policies and calendar as a new version in force from now when
// they differ from the latest version (or, on a store without versions, as the first
// one, in force since the beginning of time). Several processes doing so at once agree
// on one history.
func (s *Store) Versions(ctx context.Context, now time.Time) ([]EnvVersion, error) {
	for range 5 {
		policies, err := s.Policies(ctx)
		if err != nil {
			return nil, err
		}
		cal, err := s.Calendar(ctx)
		if err != nil {
			return nil, err
		}
		versions, err := s.readVersions(ctx)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(versionBody{Policies: policies, Calendar: cal})
		if err != nil {
			return nil, err
		}
		next := EnvVersion{Seq: 1, Policies: policies, Calendar: cal}
		if n := len(versions); n > 0 {
			last := versions[n-1]
			same, err := json.Marshal(versionBody{Policies: last.Policies, Calendar: last.Calendar})
			if err != nil {
				return nil, err
			}
			if string(same) == string(body) {
				return versions, nil
			}
			next.Seq = last.Seq + 1
			next.From = ms(now)
			if next.From.Before(last.From) {
				next.From = last.From
			}
		}
		_, err = s.versions.InsertOne(ctx, versionDoc{Seq: next.Seq, From: next.From, JSON: string(body)})
		if err == nil {
			return append(versions, next), nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, interactions.Unavailable("record policy version", err)
		}
		// Another process recorded a version meanwhile: compare with it.
	}
	return nil, interactions.Unavailable("record policy version", errors.New("policies keep changing; try again"))
}

func (s *Store) readVersions(ctx context.Context) ([]EnvVersion, error) {
	cur, err := s.versions.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, interactions.Unavailable("list policy versions", err)
	}
	var docs []versionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, interactions.Unavailable("list policy versions", err)
	}
	out := make([]EnvVersion, 0, len(docs))
	for _, d := range docs {
		var b versionBody
		if err := json.Unmarshal([]byte(d.JSON), &b); err != nil {
			return nil, fmt.Errorf("policy version %d: %w", d.Seq, err)
		}
		from := d.From.UTC()
		if d.Seq == 1 {
			from = time.Time{}
		}
		out = append(out, EnvVersion{Seq: d.Seq, From: from, Policies: b.Policies, Calendar: b.Calendar})
	}
	return out, nil
}

// Fired is a transition a clock went through, recorded once: its _id is the clock id
// and the state, so a restart or a second replica never records it twice.
type Fired struct {
	ID            string    `bson:"_id" json:"-"`
	ClockID       string    `bson:"clock_id" json:"clock_id"`
	ApplicationID string    `bson:"application_id" json:"application_id"`
	CandidateID   string    `bson:"candidate_id" json:"candidate_id"`
	RecruiterID   string    `bson:"recruiter_id,omitempty" json:"recruiter_id,omitempty"`
	JobID         string    `bson:"job_id,omitempty" json:"job_id,omitempty"`
	PolicyID      string    `bson:"policy_id" json:"policy_id"`
	Metric        Metric    `bson:"metric" json:"metric"`
	InterviewID   string    `bson:"interview_id,omitempty" json:"interview_id,omitempty"`
	State         State     `bson:"state" json:"state"`
	At            time.Time `bson:"at" json:"at"`
	DueAt         time.Time `bson:"due_at" json:"due_at"`
	StartedBy     string    `bson:"started_by" json:"started_by"`
	// Alert is false for transitions recorded without alerting: history that arrived
	// late, or moved into the past by a policy or calendar change.
	Alert      bool      `bson:"alert" json:"alert"`
	RecordedAt time.Time `bson:"recorded_at" json:"recorded_at"`
	// Handled is set once the consumer (the alerts pipeline) has taken the transition.
	Handled bool `bson:"handled" json:"-"`
}

// record stores a transition. It reports false when it was recorded before.
func (s *Store) record(ctx context.Context, f Fired) (bool, error) {
	_, err := s.transitions.InsertOne(ctx, f)
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, interactions.Unavailable("record transition", err)
	}
	return true, nil
}

func (s *Store) markHandled(ctx context.Context, id string) error {
	return s.transitions.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"handled": true}}).Err()
}

// unhandled returns recorded transitions the consumer has not taken yet.
func (s *Store) unhandled(ctx context.Context) ([]Fired, error) {
	cur, err := s.transitions.Find(ctx, bson.M{"handled": false})
	if err != nil {
		return nil, err
	}
	var out []Fired
	err = cur.All(ctx, &out)
	return out, err
}

// recordedIDs returns the ids of every recorded transition (used once at start).
func (s *Store) recordedIDs(ctx context.Context) (map[string]bool, error) {
	cur, err := s.transitions.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	ids := map[string]bool{}
	for cur.Next(ctx) {
		var d struct {
			ID string `bson:"_id"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		ids[d.ID] = true
	}
	return ids, cur.Err()
}

// Transitions returns the recorded transitions of an application.
func (s *Store) Transitions(ctx context.Context, applicationID string) ([]Fired, error) {
	cur, err := s.transitions.Find(ctx, bson.M{"application_id": applicationID}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	if err != nil {
		return nil, interactions.Unavailable("list transitions", err)
	}
	var out []Fired
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("list transitions", err)
	}
	return out, nil
}

// insertIgnoringDuplicates inserts docs, treating an existing _id as success.
func insertIgnoringDuplicates(ctx context.Context, coll *mongo.Collection, docs []any) error {
	_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we) {
				return err
			}
		}
		return nil
	}
	return err
}
