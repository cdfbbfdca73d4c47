package sla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	handled     *mongo.Collection
	pools       *mongo.Collection
	checkpoint  *mongo.Collection // the chunks of the checkpoint a clean stop saves (checkpoint.go)
}

// NewStore returns the SLA store over db.
func NewStore(db *mongo.Database) *Store {
	return &Store{
		policies:    db.Collection("sla_policies"),
		settings:    db.Collection("settings"),
		versions:    db.Collection("sla_versions"),
		transitions: db.Collection("sla_transitions"),
		handled:     db.Collection("sla_handled"),
		pools:       db.Collection("pools"),
		checkpoint:  db.Collection("sla_checkpoint"),
	}
}

// Seed stores the built-in policies that are missing and, on a fresh store, the
// calendar cal. Several processes starting at once agree.
func (s *Store) Seed(ctx context.Context, cal Calendar) error {
	var docs []any
	for _, p := range DefaultPolicies() {
		docs = append(docs, p)
	}
	if _, err := interactions.InsertNew(ctx, s.policies, docs); err != nil {
		return interactions.Unavailable("seed policies", err)
	}
	doc, err := newCalendarDoc(cal)
	if err != nil {
		return err
	}
	if _, err := interactions.InsertNew(ctx, s.settings, []any{doc}); err != nil {
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

// latestVersion returns the number of the latest recorded version, 0 if none.
func (s *Store) latestVersion(ctx context.Context) (int64, error) {
	var d struct {
		Seq int64 `bson:"_id"`
	}
	err := s.versions.FindOne(ctx, bson.M{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}}).SetProjection(bson.M{"_id": 1})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	return d.Seq, err
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
	// Partition is the application's (interactions.Partition): a replica that takes
	// over a partition hands over what its previous owner left untaken.
	Partition int `bson:"partition" json:"-"`
	// Handled is set on transitions recorded without a consumer. One the consumer (the
	// alerts pipeline) took is marked in sla_handled instead (see Store.markHandled).
	Handled bool `bson:"handled" json:"-"`
}

// recordBatch is how many transitions one write records.
const recordBatch = 1000

// record stores transitions with unordered bulk inserts, whose _ids (clock and state)
// keep each recorded once. It reports, for each, whether it is new: false when it was
// recorded before. On an error it still reports those it knows it recorded.
func (s *Store) record(ctx context.Context, fs []Fired) ([]bool, error) {
	isNew := make([]bool, len(fs))
	for lo := 0; lo < len(fs); lo += recordBatch {
		hi := min(lo+recordBatch, len(fs))
		docs := make([]any, 0, hi-lo)
		for _, f := range fs[lo:hi] {
			docs = append(docs, f)
		}
		_, err := s.transitions.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		var bwe mongo.BulkWriteException
		if err != nil && (!errors.As(err, &bwe) || bwe.WriteConcernError != nil) {
			return isNew, interactions.Unavailable("record transitions", err)
		}
		for i := lo; i < hi; i++ {
			isNew[i] = true
		}
		var failed error
		for _, we := range bwe.WriteErrors {
			isNew[lo+we.Index] = false
			if !mongo.IsDuplicateKeyError(we) && failed == nil {
				failed = interactions.Unavailable("record transitions", we)
			}
		}
		if failed != nil {
			return isNew, failed
		}
	}
	return isNew, nil
}

// markHandled records that the consumer took transitions: one small document each in
// sla_handled, _id the transition's, so that a burst is marked with bulk inserts (an
// update of the transitions would scan them on the embedded store).
func (s *Store) markHandled(ctx context.Context, ids []string) error {
	for lo := 0; lo < len(ids); lo += recordBatch {
		hi := min(lo+recordBatch, len(ids))
		docs := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			docs = append(docs, bson.M{"_id": id})
		}
		if _, err := interactions.InsertNew(ctx, s.handled, docs); err != nil {
			return err
		}
	}
	return nil
}

// cleanStopID is the _id, in settings, of the note a clean stop leaves: every
// transition at or before its time was recorded and handed over.
const cleanStopID = "sla_clean_stop"

// cleanStop is the note a clean stop leaves: every transition at or before Through,
// under the policies and calendar of version Version, was recorded and handed over.
type cleanStop struct {
	Through time.Time `bson:"through"`
	Version int64     `bson:"version"`
	Clean   bool      `bson:"clean"`
	// Checkpoint names the checkpoint of the clocks and books saved with the note;
	// its ID is "" when there is none.
	Checkpoint checkpointInfo `bson:"checkpoint"`
}

// saveCleanStop leaves the note of a clean stop.
func (s *Store) saveCleanStop(ctx context.Context, c cleanStop) error {
	c.Clean = true
	// After, not Before: the first note of a fresh store has no document before it,
	// which the driver would report as ErrNoDocuments although the upsert wrote it.
	return s.settings.FindOneAndUpdate(ctx, bson.M{"_id": cleanStopID},
		bson.M{"$set": c}, options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Err()
}

// takeCleanStop returns the note of the last stop and clears it, so that a crash
// from here on is never taken for a clean stop. Clean is false after a crash.
func (s *Store) takeCleanStop(ctx context.Context) (cleanStop, error) {
	var c cleanStop
	err := s.settings.FindOneAndUpdate(ctx, bson.M{"_id": cleanStopID}, bson.M{"$set": bson.M{"clean": false}}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return cleanStop{}, nil
	}
	if err != nil {
		return cleanStop{}, interactions.Unavailable("read the last stop", err)
	}
	return c, nil
}

// EnsureIndexes creates the secondary indexes of the transitions on MongoDB: by
// application for its timeline, and by partition for a replica taking one over.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	return interactions.EnsureIndexes(ctx, s.transitions, []mongo.IndexModel{
		{Keys: bson.D{{Key: "application_id", Value: 1}}},
		{Keys: bson.D{{Key: "partition", Value: 1}, {Key: "handled", Value: 1}}},
	})
}

// pendingIn returns the transitions of the partitions that the consumer has not taken
// yet: recorded without the handled flag and not marked in sla_handled.
func (s *Store) pendingIn(ctx context.Context, partitions []int) ([]Fired, error) {
	cur, err := s.transitions.Find(ctx, bson.M{"partition": bson.M{"$in": partitions}, "handled": false})
	if err != nil {
		return nil, interactions.Unavailable("read transitions", err)
	}
	var fs []Fired
	if err := cur.All(ctx, &fs); err != nil {
		return nil, interactions.Unavailable("read transitions", err)
	}
	return s.untaken(ctx, fs)
}

// untaken returns those of fs, recorded without the handled flag, that are not marked
// in sla_handled.
func (s *Store) untaken(ctx context.Context, fs []Fired) ([]Fired, error) {
	var out []Fired
	for chunk := range slices.Chunk(fs, recordBatch) {
		ids := make([]string, len(chunk))
		for i, f := range chunk {
			ids[i] = f.ID
		}
		cur, err := s.handled.Find(ctx, bson.M{"_id": bson.M{"$in": ids}})
		if err != nil {
			return nil, interactions.Unavailable("read handled transitions", err)
		}
		var taken []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &taken); err != nil {
			return nil, interactions.Unavailable("read handled transitions", err)
		}
		done := make(map[string]bool, len(taken))
		for _, t := range taken {
			done[t.ID] = true
		}
		for _, f := range chunk {
			if !done[f.ID] {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// recorded returns the ids of every recorded transition and the transitions the
// consumer has not taken yet: recorded without the handled flag and not marked in
// sla_handled (used once at start).
func (s *Store) recorded(ctx context.Context) (map[string]bool, []Fired, error) {
	taken, err := allIDs(ctx, s.handled)
	if err != nil {
		return nil, nil, err
	}
	cur, err := s.transitions.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"_id": 1, "handled": 1}))
	if err != nil {
		return nil, nil, err
	}
	defer cur.Close(ctx)
	all := map[string]bool{}
	var pending []string
	for cur.Next(ctx) {
		var d struct {
			ID      string `bson:"_id"`
			Handled bool   `bson:"handled"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, nil, err
		}
		all[d.ID] = true
		if !d.Handled && !taken[d.ID] {
			pending = append(pending, d.ID)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, nil, err
	}
	out := make([]Fired, 0, len(pending))
	for _, id := range pending {
		var f Fired
		if err := s.transitions.FindOne(ctx, bson.M{"_id": id}).Decode(&f); err != nil {
			return nil, nil, err
		}
		out = append(out, f)
	}
	return all, out, nil
}

// recordedSince is recorded for the transitions recorded after since (a start after
// a crash that knows every transition up to since was recorded and handed over): it
// reads those alone, not every transition and every handled mark.
func (s *Store) recordedSince(ctx context.Context, since time.Time) (map[string]bool, []Fired, error) {
	cur, err := s.transitions.Find(ctx, bson.M{"recorded_at": bson.M{"$gt": since}})
	if err != nil {
		return nil, nil, interactions.Unavailable("read transitions", err)
	}
	var fs []Fired
	if err := cur.All(ctx, &fs); err != nil {
		return nil, nil, interactions.Unavailable("read transitions", err)
	}
	all := make(map[string]bool, len(fs))
	var unhandled []Fired
	for _, f := range fs {
		all[f.ID] = true
		if !f.Handled {
			unhandled = append(unhandled, f)
		}
	}
	pending, err := s.untaken(ctx, unhandled)
	return all, pending, err
}

// allIDs returns the _ids of the documents of coll.
func allIDs(ctx context.Context, coll *mongo.Collection) (map[string]bool, error) {
	cur, err := coll.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	out := map[string]bool{}
	for cur.Next(ctx) {
		var d struct {
			ID string `bson:"_id"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		out[d.ID] = true
	}
	return out, cur.Err()
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
