package storage_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestFindByIDsIn: {_id: {$in: [...]}} finds, counts, updates and deletes exactly the
// documents listed, whatever the types of their ids; the embedded store looks string
// and ObjectID lists up through the _id index, and leaves other lists to a scan.
func TestFindByIDsIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	coll := storagetest.NewDB(t).Collection("docs")
	oid, other := bson.NewObjectID(), bson.NewObjectID()
	docs := []any{
		bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "_id", Value: "b"}}, bson.D{{Key: "_id", Value: "c"}},
		bson.D{{Key: "_id", Value: oid}}, bson.D{{Key: "_id", Value: int32(7)}}, bson.D{{Key: "_id", Value: "7"}},
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	ids := func(t *testing.T, filter any) []string {
		t.Helper()
		cur, err := coll.Find(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []bson.M
		if err := cur.All(ctx, &got); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range got {
			out = append(out, fmt.Sprint(d["_id"]))
		}
		slices.Sort(out)
		return out
	}
	in := func(vs ...any) bson.M { return bson.M{"_id": bson.M{"$in": append(bson.A{}, vs...)}} }
	for _, tc := range []struct {
		name   string
		filter any
		want   []string
	}{
		{"strings", in("a", "c", "zz"), []string{"a", "c"}},
		{"an ObjectID", in(oid, other), []string{oid.String()}},
		{"strings and an ObjectID", in("b", oid), []string{oid.String(), "b"}},
		{"a number is not its string", in(int32(7)), []string{"7"}},
		{"a string is not a number", in("7"), []string{"7"}},
		{"mixed, left to a scan", in("a", int32(7)), []string{"7", "a"}},
		{"empty", in(), nil},
		{"none of them", in("x", "y"), nil},
		{"$in and another condition", bson.M{"_id": bson.M{"$in": bson.A{"a", "b"}, "$ne": "a"}}, []string{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(t, tc.filter); !slices.Equal(got, tc.want) {
				t.Errorf("found %v, want %v", got, tc.want)
			}
		})
	}
	if n, err := coll.CountDocuments(ctx, in("a", "b", "q")); err != nil || n != 2 {
		t.Errorf("count %d, %v; want 2", n, err)
	}
	if res, err := coll.UpdateMany(ctx, in("a", "b"), bson.M{"$set": bson.M{"seen": true}}); err != nil || res.MatchedCount != 2 || res.ModifiedCount != 2 {
		t.Errorf("update: %+v, %v", res, err)
	}
	if got := ids(t, bson.M{"seen": true}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("updated %v", got)
	}
	if res, err := coll.DeleteMany(ctx, in("b", "c", oid)); err != nil || res.DeletedCount != 3 {
		t.Errorf("delete: %+v, %v", res, err)
	}
	if got := ids(t, bson.D{}); !slices.Equal(got, []string{"7", "7", "a"}) {
		t.Errorf("left %v", got)
	}
}
