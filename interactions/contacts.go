package interactions

import (
	"context"
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// CandidatesByEmail returns the ids of the candidates known by an email address,
// compared without regard to case, from the contact lookup the projector keeps
// (document "email:<address>"); none when the address is unknown or its person was
// erased. Store failures are CodeUnavailable.
func (s *Store) CandidatesByEmail(ctx context.Context, email string) ([]string, error) {
	var doc struct {
		CandidateIDs []string `bson:"candidate_ids"`
	}
	err := s.contacts.FindOne(ctx, bson.M{"_id": "email:" + strings.ToLower(email)}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, Unavailable("find contact", err)
	}
	return doc.CandidateIDs, nil
}

// Applications returns the applications of the candidates (id, candidate, owning
// recruiter, status, latest event), in no particular order; a pooled candidate's
// nurture document, which shares the collection, is not one of them. It scans the
// applications collection (on MongoDB, its candidate_id index). Store failures are
// CodeUnavailable.
func (s *Store) Applications(ctx context.Context, candidateIDs []string) ([]ApplicationRef, error) {
	if len(candidateIDs) == 0 {
		return nil, nil
	}
	cur, err := s.applications.Find(ctx, bson.M{"candidate_id": bson.M{"$in": candidateIDs}},
		options.Find().SetProjection(bson.M{"_id": 1, "candidate_id": 1, "recruiter_id": 1, "status": 1, "last_event_at": 1}))
	if err != nil {
		return nil, Unavailable("find applications", err)
	}
	var all []ApplicationRef
	if err := cur.All(ctx, &all); err != nil {
		return nil, Unavailable("find applications", err)
	}
	apps := all[:0]
	for _, a := range all {
		if !IsNurture(a.ID) {
			apps = append(apps, a)
		}
	}
	return apps, nil
}
