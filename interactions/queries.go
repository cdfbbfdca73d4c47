package interactions

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Application returns the stored state of an application, CodeNotFound if none.
func (s *Store) Application(ctx context.Context, id string) (Application, error) {
	var app Application
	err := s.applications.FindOne(ctx, bson.M{"_id": id}).Decode(&app)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return app, Errorf(CodeNotFound, "no application %q", id)
	}
	if err != nil {
		return app, Unavailable("find application", err)
	}
	return app, nil
}

// Timeline returns an application's interactions in full, by occurred_at. It reads
// them by _id (the keys kept in the application document), never scanning the log.
func (s *Store) Timeline(ctx context.Context, app Application) ([]Interaction, error) {
	keys := make([]string, len(app.Events))
	for i, e := range app.Events {
		keys[i] = e.Key
	}
	found, err := s.ByKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]Interaction, len(app.Events))
	for i, e := range app.Events {
		it, ok := found[e.Key]
		if !ok {
			it = e // erased from the log in the meantime: show what is derived
		}
		out[i] = it
	}
	return out, nil
}

// ApplicationIDsOf returns the ids of the applications owned by any of the recruiters.
func (s *Store) ApplicationIDsOf(ctx context.Context, recruiterIDs []string) ([]string, error) {
	cur, err := s.applications.Find(ctx, bson.M{"recruiter_id": bson.M{"$in": recruiterIDs}},
		options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, Unavailable("find applications", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, Unavailable("find applications", err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// Candidate is a candidate's stored contact details.
type Candidate struct {
	ID     string `bson:"_id" json:"id"`
	Name   string `bson:"name,omitempty" json:"name,omitempty"`
	Email  string `bson:"email,omitempty" json:"email,omitempty"`
	Phone  string `bson:"phone,omitempty" json:"phone,omitempty"`
	Erased bool   `bson:"erased,omitempty" json:"erased,omitempty"`
}

// Candidate returns a candidate's details; CodeNotFound if none are stored.
func (s *Store) Candidate(ctx context.Context, id string) (Candidate, error) {
	var c Candidate
	err := s.candidates.FindOne(ctx, bson.M{"_id": id}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return c, Errorf(CodeNotFound, "no candidate %q", id)
	}
	if err != nil {
		return c, Unavailable("find candidate", err)
	}
	return c, nil
}

// EachApplication calls f for every stored application, stopping at f's first error.
func (s *Store) EachApplication(ctx context.Context, f func(Application) error) error {
	cur, err := s.applications.Find(ctx, bson.M{})
	if err != nil {
		return Unavailable("read applications", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var app Application
		if err := cur.Decode(&app); err != nil {
			return err
		}
		if err := f(app); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return Unavailable("read applications", err)
	}
	return nil
}

// JobDepartment returns the department of a job, "" when none is known.
func (s *Store) JobDepartment(ctx context.Context, jobID string) (string, error) {
	job, err := s.Job(ctx, jobID)
	if ErrorCode(err) == CodeNotFound {
		return "", nil
	}
	return job.Department, err
}

// Job returns a job's details; CodeNotFound if none are stored.
func (s *Store) Job(ctx context.Context, id string) (JobInfo, error) {
	var job JobInfo
	err := s.jobs.FindOne(ctx, bson.M{"_id": id}).Decode(&job)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return job, Errorf(CodeNotFound, "no job %q", id)
	}
	if err != nil {
		return job, Unavailable("find job", err)
	}
	return job, nil
}

// CandidateOwners returns the recruiter ids of the applications that name a
// candidate ("" for one without a recruiter), and whether the candidate is known at
// all: named by an application, or with stored details. It reads applications by
// candidate_id — an index on MongoDB, a scan on the embedded store — so it is for
// rare paths, such as a recruiter key opening an application.
func (s *Store) CandidateOwners(ctx context.Context, candidateID string) ([]string, bool, error) {
	cur, err := s.applications.Find(ctx, bson.M{"candidate_id": candidateID},
		options.Find().SetProjection(bson.M{"_id": 1, "recruiter_id": 1}))
	if err != nil {
		return nil, false, Unavailable("find applications", err)
	}
	var docs []struct {
		RecruiterID string `bson:"recruiter_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, Unavailable("find applications", err)
	}
	if len(docs) > 0 {
		owners := make([]string, len(docs))
		for i, d := range docs {
			owners[i] = d.RecruiterID
		}
		return owners, true, nil
	}
	_, err = s.Candidate(ctx, candidateID)
	switch {
	case err == nil:
		return nil, true, nil
	case ErrorCode(err) == CodeNotFound:
		return nil, false, nil
	}
	return nil, false, err
}
