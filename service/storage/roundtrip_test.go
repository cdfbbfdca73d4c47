package storage_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestRoundTrip stores documents holding every type the embedded store keeps and reads
// them back byte for byte: the store decodes what it wrote the quick way when it can,
// and the general way (escaped strings, regexes, timestamps) otherwise.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	coll := storagetest.NewDB(t).Collection("docs")
	at := time.Date(2026, 12, 1, 9, 30, 15, 123e6, time.UTC)
	oid := bson.ObjectID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	scalars := bson.D{
		{Key: "s", Value: "plain"},
		{Key: "unicode", Value: "héllo ☃ 日本"},
		{Key: "empty", Value: ""},
		{Key: "i32", Value: int32(-42)},
		{Key: "i64", Value: int64(1) << 60},
		{Key: "zero", Value: int32(0)},
		{Key: "f", Value: 0.1},
		{Key: "big", Value: 1e300},
		{Key: "neg", Value: -2.5e-10},
		{Key: "whole", Value: 3.0},
		{Key: "t", Value: true},
		{Key: "no", Value: false},
		{Key: "null", Value: nil},
		{Key: "at", Value: bson.NewDateTimeFromTime(at)},
		{Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte{0, 1, 2, 250, 255}}},
		{Key: "uuid", Value: bson.Binary{Subtype: 4, Data: bytes.Repeat([]byte{7}, 16)}},
		{Key: "nobin", Value: bson.Binary{Subtype: 0, Data: []byte{}}},
		{Key: "oid", Value: oid},
		{Key: "re", Value: bson.Regex{Pattern: "^a.*b$", Options: "i"}},
		{Key: "ts", Value: bson.Timestamp{T: 1700000000, I: 3}},
	}
	docs := []bson.D{
		append(bson.D{{Key: "_id", Value: "all"}}, scalars...),
		{
			{Key: "_id", Value: oid},
			{Key: "nested", Value: bson.D{{Key: "a", Value: int32(1)}, {Key: "deeper", Value: scalars}}},
			{Key: "arr", Value: bson.A{"x", int32(2), 3.5, bson.D{{Key: "k", Value: "v"}}, nil}},
			{Key: "emptyDoc", Value: bson.D{}},
			{Key: "emptyArr", Value: bson.A{}},
		},
		{ // escapes: read the general way
			{Key: "_id", Value: "esc\"aped\\id"}, {Key: "k\u00e9y", Value: "v"},
			{Key: "escaped", Value: "quote\" back\\ line\n tab\t </script> \u2028"},
			{Key: "nested", Value: scalars},
		},
	}
	for _, d := range docs {
		if _, err := coll.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range docs {
		want, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: d[0].Value}}).Raw()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("read back\n%v\nwant\n%v", got, bson.Raw(want))
		}
	}
}
