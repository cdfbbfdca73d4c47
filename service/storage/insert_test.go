package storage_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestInsertManyDuplicates: an InsertMany larger than the store's insert batch, some of
// whose _ids are stored already, reports each duplicate at its index; unordered, it
// stores every other document; ordered, it stops at the first duplicate, as MongoDB
// does.
func TestInsertManyDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, ordered := range []bool{false, true} {
		coll := storagetest.NewDB(t).Collection("docs")
		stored := []int{3, 640, 641, 1199} // in several of the store's batches
		for _, id := range stored {
			if _, err := coll.InsertOne(ctx, bson.M{"_id": id}); err != nil {
				t.Fatal(err)
			}
		}
		docs := make([]any, 1200)
		for i := range docs {
			docs[i] = bson.M{"_id": i}
		}
		_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(ordered))
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) {
			t.Fatalf("ordered %v: InsertMany = %v, want a BulkWriteException", ordered, err)
		}
		var indexes []int
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we) {
				t.Errorf("ordered %v: write error %v is not a duplicate key error", ordered, we)
			}
			indexes = append(indexes, we.Index)
		}
		wantIndexes, wantCount := stored, int64(1200)
		if ordered {
			wantIndexes, wantCount = stored[:1], int64(3+len(stored)) // 0, 1, 2 and the stored
		}
		if !slices.Equal(indexes, wantIndexes) {
			t.Errorf("ordered %v: duplicates at %v, want %v", ordered, indexes, wantIndexes)
		}
		if n, err := coll.CountDocuments(ctx, bson.M{}); err != nil || n != wantCount {
			t.Errorf("ordered %v: %d documents (%v), want %d", ordered, n, err, wantCount)
		}
	}
}
