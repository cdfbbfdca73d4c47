package interactions

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ProjectorMark returns the projector's stored high-water mark and whether its last
// stop was clean (everything fed applied, nothing unsure). Read before the projector
// starts, it tells what the last run applied; the projector clears clean as it starts.
// A store the projector never ran on has a zero mark and clean false.
func (s *Store) ProjectorMark(ctx context.Context) (mark time.Time, clean bool, err error) {
	var m projectorMark
	err = s.meta.FindOne(ctx, bson.M{"_id": "projector"}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, Unavailable("read the projector mark", err)
	}
	return m.Mark, m.Clean, nil
}
