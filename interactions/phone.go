package interactions

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// CandidatesByPhone returns the ids of the candidates known by an E.164 phone number,
// from the contact lookup the projector keeps (document "phone:<number>"); none when
// the number is unknown. Store failures are CodeUnavailable.
func (s *Store) CandidatesByPhone(ctx context.Context, phone string) ([]string, error) {
	var doc struct {
		CandidateIDs []string `bson:"candidate_ids"`
	}
	err := s.contacts.FindOne(ctx, bson.M{"_id": "phone:" + phone}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, Unavailable("find contact", err)
	}
	return doc.CandidateIDs, nil
}

// ApplicationRef is an application as LatestApplication finds it.
type ApplicationRef struct {
	ID          string    `bson:"_id"`
	CandidateID string    `bson:"candidate_id"`
	RecruiterID string    `bson:"recruiter_id,omitempty"`
	Status      Status    `bson:"status"`
	LastEventAt time.Time `bson:"last_event_at"`
}

// LatestApplication returns the most recent application of any of the candidates:
// open ones first, then by their latest event. ok is false when they have none (a
// pooled candidate's nurture document is not an application). It scans the
// applications collection (on MongoDB, its candidate_id index).
func (s *Store) LatestApplication(ctx context.Context, candidateIDs []string) (app ApplicationRef, ok bool, err error) {
	apps, err := s.Applications(ctx, candidateIDs)
	if err != nil || len(apps) == 0 {
		return app, false, err
	}
	slices.SortFunc(apps, func(a, b ApplicationRef) int {
		if ao, bo := a.Status == StatusOpen, b.Status == StatusOpen; ao != bo {
			if ao {
				return -1
			}
			return 1
		}
		if c := b.LastEventAt.Compare(a.LastEventAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return apps[0], true, nil
}
