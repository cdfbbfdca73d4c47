package interactions

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ProjectorMark returns the projector's stored high-water mark and whether its last
// stop was clean (everything fed applied, nothing unsure). Read before the projector
// starts, it tells what the last run applied; the projector clears clean as it starts.
// A store the projector never ran on has a zero mark and clean false.
func (s *Store) ProjectorMark(ctx context.Context) (mark time.Time, clean bool, err error) {
	m, _, err := s.readProjectorMark(ctx)
	return m.Mark, m.Clean, err
}

// readProjectorMark reads the projector's mark document; found is false on a store the
// projector never ran on.
func (s *Store) readProjectorMark(ctx context.Context) (m projectorMark, found bool, err error) {
	err = s.meta.FindOne(ctx, bson.M{"_id": "projector"}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return projectorMark{}, false, nil
	}
	if err != nil {
		return projectorMark{}, false, Unavailable("read the projector mark", err)
	}
	return m, true, nil
}

// ApplicationsSince returns the ids of the documents the projector derives from
// interactions received at or after since: their applications, and the nurture
// documents of their candidates (which may not exist). It scans the log, reading two
// fields of each interaction. Given the mark of a clean stop, it names every document
// changed since: that stop applied everything received before it or stored nothing.
func (s *Store) ApplicationsSince(ctx context.Context, since time.Time) ([]string, error) {
	filter := bson.M{"received_at": bson.M{"$gte": since}}
	cur, err := s.interactions.Find(ctx, filter, options.Find().SetProjection(bson.M{"application_id": 1, "candidate_id": 1}))
	if err != nil {
		return nil, Unavailable("read the log's tail", err)
	}
	defer cur.Close(ctx)
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for cur.Next(ctx) {
		var it struct {
			ApplicationID string `bson:"application_id"`
			CandidateID   string `bson:"candidate_id"`
		}
		if err := cur.Decode(&it); err != nil {
			return nil, err
		}
		if it.ApplicationID != "" {
			add(it.ApplicationID)
		}
		if it.CandidateID != "" {
			add(NurtureID(it.CandidateID))
		}
	}
	if err := cur.Err(); err != nil {
		return nil, Unavailable("read the log's tail", err)
	}
	return out, nil
}
