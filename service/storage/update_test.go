package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// The embedded store runs the updates of one request by _id in one transaction. These
// tests pin the answers a MongoDB client gets: counts, upserted ids, write errors, and
// which statements of a failing request stay applied.

func seeded(t *testing.T, ids ...string) *mongo.Collection {
	t.Helper()
	coll := storagetest.NewDB(t).Collection("apps")
	ctx := context.Background()
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true),
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "n", Value: int32(1)}, {Key: "email", Value: id + "@x"}}); err != nil {
			t.Fatal(err)
		}
	}
	return coll
}

// stored returns the n field of every document, by _id.
func stored(t *testing.T, coll *mongo.Collection) map[string]any {
	t.Helper()
	cur, err := coll.Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, d := range docs {
		out[fmt.Sprint(d["_id"])] = d["n"]
	}
	return out
}

func replace(id string, n int32) mongo.WriteModel {
	return mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": id}).
		SetReplacement(bson.D{{Key: "_id", Value: id}, {Key: "n", Value: n}, {Key: "email", Value: id + "@x"}})
}

func TestBulkUpdatesByID(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		models    []mongo.WriteModel
		ordered   bool
		matched   int64
		modified  int64
		upserted  map[int64]any
		errCode   int // a write error's code, 0 for none
		wantAfter map[string]any
	}{
		{
			name: "replacements, an unchanged one, a missing one, an upsert",
			models: []mongo.WriteModel{
				replace("a", 2),
				replace("b", 1), // the same document: matched, not modified
				replace("none", 5),
				replace("new", 7).(*mongo.ReplaceOneModel).SetUpsert(true),
			},
			matched: 2, modified: 1, upserted: map[int64]any{3: "new"},
			wantAfter: map[string]any{"a": int32(2), "b": int32(1), "c": int32(1), "new": int32(7)},
		},
		{
			name: "a replacement without _id, the same otherwise, counts as modified",
			models: []mongo.WriteModel{
				mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": "a"}).SetReplacement(bson.D{{Key: "n", Value: int32(1)}, {Key: "email", Value: "a@x"}}),
			},
			matched: 1, modified: 1,
			wantAfter: map[string]any{"a": int32(1), "b": int32(1), "c": int32(1)},
		},
		{
			name: "a replacement with _id last, the same otherwise, is not modified",
			models: []mongo.WriteModel{
				mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": "a"}).SetReplacement(bson.D{{Key: "n", Value: int32(1)}, {Key: "email", Value: "a@x"}, {Key: "_id", Value: "a"}}),
			},
			matched: 1, modified: 1,
			wantAfter: map[string]any{"a": int32(1), "b": int32(1), "c": int32(1)},
		},
		{
			name: "a number stored as another type is a modification, as on MongoDB",
			models: []mongo.WriteModel{
				mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": "a"}).SetReplacement(bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: int64(1)}, {Key: "email", Value: "a@x"}}),
			},
			matched: 1, modified: 1,
			wantAfter: map[string]any{"a": int64(1), "b": int32(1), "c": int32(1)},
		},
		{
			name: "the same document twice: the second sees the first",
			models: []mongo.WriteModel{
				mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "a"}).SetUpdate(bson.M{"$inc": bson.M{"n": 10}}),
				mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "a"}).SetUpdate(bson.M{"$inc": bson.M{"n": 100}}),
				mongo.NewUpdateManyModel().SetFilter(bson.M{"_id": "b"}).SetUpdate(bson.M{"$set": bson.M{"n": int32(3)}}),
			},
			ordered: true, matched: 3, modified: 3,
			wantAfter: map[string]any{"a": int32(111), "b": int32(3), "c": int32(1)},
		},
		{
			name: "an upsert then an update of what it inserted",
			models: []mongo.WriteModel{
				mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "d"}).SetUpdate(bson.M{"$set": bson.M{"n": int32(4)}}).SetUpsert(true),
				mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "d"}).SetUpdate(bson.M{"$inc": bson.M{"n": int32(1)}}),
			},
			ordered: true, matched: 1, modified: 1, upserted: map[int64]any{0: "d"},
			wantAfter: map[string]any{"a": int32(1), "b": int32(1), "c": int32(1), "d": int32(5)},
		},
		{
			name: "a duplicate key on a unique index: what came before stays",
			models: []mongo.WriteModel{
				replace("a", 2),
				mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "b"}).SetUpdate(bson.M{"$set": bson.M{"email": "c@x"}}),
				replace("c", 9),
			},
			ordered: true, errCode: 11000,
			wantAfter: map[string]any{"a": int32(2), "b": int32(1), "c": int32(1)},
		},
		{
			name: "an upsert that collides on a unique index: what came before stays",
			models: []mongo.WriteModel{
				replace("a", 2),
				mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": "e"}).SetUpdate(bson.M{"$set": bson.M{"email": "b@x", "n": int32(8)}}).SetUpsert(true),
				replace("c", 9),
			},
			ordered: true, errCode: 11000,
			wantAfter: map[string]any{"a": int32(2), "b": int32(1), "c": int32(1)},
		},
		{
			name: "a replacement changing _id is refused; what came before stays",
			models: []mongo.WriteModel{
				replace("a", 2),
				mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": "b"}).SetReplacement(bson.D{{Key: "_id", Value: "z"}, {Key: "n", Value: int32(3)}}),
			},
			ordered: true, errCode: 66,
			wantAfter: map[string]any{"a": int32(2), "b": int32(1), "c": int32(1)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			coll := seeded(t, "a", "b", "c")
			res, err := coll.BulkWrite(ctx, tc.models, options.BulkWrite().SetOrdered(tc.ordered))
			if tc.errCode != 0 {
				var bwe mongo.BulkWriteException
				if !errors.As(err, &bwe) || len(bwe.WriteErrors) != 1 || bwe.WriteErrors[0].Code != tc.errCode {
					t.Fatalf("err = %v, want one write error %d", err, tc.errCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if res.MatchedCount != tc.matched || res.ModifiedCount != tc.modified || res.UpsertedCount != int64(len(tc.upserted)) {
					t.Errorf("matched %d modified %d upserted %d, want %d %d %d",
						res.MatchedCount, res.ModifiedCount, res.UpsertedCount, tc.matched, tc.modified, len(tc.upserted))
				}
				for i, id := range tc.upserted {
					if res.UpsertedIDs[i] != id {
						t.Errorf("upserted ids %v, want %v", res.UpsertedIDs, tc.upserted)
					}
				}
			}
			if got := stored(t, coll); fmt.Sprint(got) != fmt.Sprint(tc.wantAfter) {
				t.Errorf("stored %v, want %v", got, tc.wantAfter)
			}
		})
	}
}

// TestFindOneAndUpdateByIDIsAtomic increments one counter from several clients at
// once: no increment may be lost between reading the document and writing it back.
func TestFindOneAndUpdateByIDIsAtomic(t *testing.T) {
	ctx := context.Background()
	coll := seeded(t, "counter")
	const clients, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := coll.FindOneAndUpdate(ctx, bson.M{"_id": "counter"}, bson.M{"$inc": bson.M{"n": int32(1)}}).Err(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := stored(t, coll)["counter"]; got != int32(1+clients*each) {
		t.Fatalf("counter = %v, want %d", got, 1+clients*each)
	}
}

func TestFindOneAndUpdateByID(t *testing.T) {
	ctx := context.Background()
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	cases := []struct {
		name    string
		id      string
		opts    *options.FindOneAndUpdateOptionsBuilder
		want    any // n returned, or nil for no document
		wantErr error
	}{
		{"hit returns the old document", "a", nil, int32(1), nil},
		{"hit returns the new document", "a", after, int32(6), nil},
		{"miss", "none", nil, nil, mongo.ErrNoDocuments},
		{"upsert returns the new document", "new", options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After), int32(5), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			coll := seeded(t, "a")
			var opts []options.Lister[options.FindOneAndUpdateOptions]
			if tc.opts != nil {
				opts = append(opts, tc.opts)
			}
			var got bson.M
			err := coll.FindOneAndUpdate(ctx, bson.M{"_id": tc.id}, bson.M{"$inc": bson.M{"n": int32(5)}}, opts...).Decode(&got)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && got["n"] != tc.want {
				t.Fatalf("n = %v, want %v", got["n"], tc.want)
			}
		})
	}
}

// TestConcurrentWritesAndDDL runs bulk updates by _id, inserts and the creation of new
// collections in one database at once: none may wait for another until a timeout.
func TestConcurrentWritesAndDDL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	coll := seeded(t, "a", "b", "c", "d")
	db := coll.Database()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	run := func(f func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	run(func(i int) error {
		_, err := coll.BulkWrite(ctx, []mongo.WriteModel{replace("a", int32(i)), replace("b", int32(i)), replace("c", int32(i))})
		return err
	})
	run(func(i int) error {
		_, err := coll.InsertOne(ctx, bson.M{"_id": fmt.Sprint("ins-", i), "email": fmt.Sprint("ins-", i)})
		return err
	})
	run(func(i int) error {
		_, err := db.Collection(fmt.Sprint("other_", i)).InsertOne(ctx, bson.M{"_id": "x"})
		return err
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := stored(t, coll)["c"]; got != int32(39) {
		t.Fatalf("c = %v, want 39", got)
	}
}

// TestLargeBulkWrite sends more update statements in one request than the store has
// connections per database (100): each statement gives its connection back before the
// next one runs, whether the request runs in one transaction (filters by _id) or not.
func TestLargeBulkWrite(t *testing.T) {
	cases := []struct {
		name   string
		filter func(id string) bson.M
	}{
		{"by _id", func(id string) bson.M { return bson.M{"_id": id} }},
		{"by another field", func(id string) bson.M { return bson.M{"email": id + "@x"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const n = 150
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("d%03d", i)
			}
			coll := seeded(t, ids...)
			models := make([]mongo.WriteModel, n)
			for i, id := range ids {
				models[i] = mongo.NewUpdateOneModel().SetFilter(tc.filter(id)).SetUpdate(bson.M{"$set": bson.M{"n": int32(i)}})
			}
			res, err := coll.BulkWrite(ctx, models)
			if err != nil {
				t.Fatal(err)
			}
			if res.MatchedCount != n || res.ModifiedCount != n-1 { // d001 already has n 1
				t.Fatalf("matched %d modified %d, want %d %d", res.MatchedCount, res.ModifiedCount, n, n-1)
			}
		})
	}
}
