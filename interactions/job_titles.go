package interactions

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// JobTitles returns the titles of the jobs with the given ids, read in one query; jobs
// without a stored title are left out.
func (s *Store) JobTitles(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := s.jobs.Find(ctx, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"title": 1}))
	if err != nil {
		return nil, Unavailable("find job titles", err)
	}
	var docs []struct {
		ID    string `bson:"_id"`
		Title string `bson:"title"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, Unavailable("find job titles", err)
	}
	for _, d := range docs {
		if d.Title != "" {
			out[d.ID] = d.Title
		}
	}
	return out, nil
}
