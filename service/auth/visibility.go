package auth

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
)

// maxReportDepth bounds the walk down a management chain (and any cycle in it).
const maxReportDepth = 20

// Visible returns the recruiter ids a recruiter key may see: its own and those of
// every recruiter whose manager_id chain reaches it, from the "recruiters" directory.
func Visible(ctx context.Context, db *mongo.Database, recruiterID string) ([]string, error) {
	seen := map[string]bool{recruiterID: true}
	out := []string{recruiterID}
	frontier := []string{recruiterID}
	coll := db.Collection("recruiters")
	for depth := 0; depth < maxReportDepth && len(frontier) > 0; depth++ {
		cur, err := coll.Find(ctx, bson.M{"manager_id": bson.M{"$in": frontier}})
		if err != nil {
			return nil, interactions.Unavailable("find reports", err)
		}
		var reports []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &reports); err != nil {
			return nil, interactions.Unavailable("find reports", err)
		}
		frontier = nil
		for _, r := range reports {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r.ID)
				frontier = append(frontier, r.ID)
			}
		}
	}
	return out, nil
}
