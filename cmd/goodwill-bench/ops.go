package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// opCost is the measured latency of one store primitive, sequential calls.
type opCost struct {
	Op       string
	N        int
	P50, P99 time.Duration
	Mean     time.Duration
}

// runOps times the store primitives the write path and the projector use, one call at
// a time, on a collection shaped like applications (two secondary indexes) holding
// size documents: what each round trip of the projector costs on this store.
func (b *bench) runOps(ctx context.Context, size, n int) ([]opCost, error) {
	db := b.store.Client.Database("bench_ops_" + b.runID)
	coll := db.Collection("applications")
	if _, err := coll.Indexes().CreateMany(ctx, []mongo.IndexModel{
		{Keys: bson.D{{Key: "recruiter_id", Value: 1}}},
		{Keys: bson.D{{Key: "candidate_id", Value: 1}}},
	}); err != nil {
		return nil, err
	}
	// _id first, like the application documents the projector writes from a struct
	doc := func(id string) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "candidate_id", Value: "c-" + id}, {Key: "recruiter_id", Value: "r-1"},
			{Key: "status", Value: "open"}, {Key: "event_count", Value: 1},
			{Key: "events", Value: bson.A{bson.M{"_id": "bench:" + id, "id": id, "kind": "message", "occurred_at": time.Now()}}}}
	}
	var seed []any
	for i := range size {
		seed = append(seed, doc(fmt.Sprintf("seed-%06d", i)))
	}
	for chunk := range slices.Chunk(seed, 500) {
		if _, err := coll.InsertMany(ctx, chunk); err != nil {
			return nil, err
		}
	}
	empty := db.Collection("tombstones")
	if _, err := empty.InsertOne(ctx, bson.M{"_id": "x"}); err != nil {
		return nil, err
	}
	existing := func(i int) string { return fmt.Sprintf("seed-%06d", (i*7919)%size) }
	var out []opCost
	measure := func(name string, f func(i int) error) error {
		lat := make([]time.Duration, n)
		for i := range n {
			t0 := time.Now()
			if err := f(i); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			lat[i] = time.Since(t0)
		}
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		slices.Sort(lat)
		out = append(out, opCost{Op: name, N: n, P50: lat[n/2], P99: lat[min(n-1, n*99/100)], Mean: sum / time.Duration(n)})
		return nil
	}
	noDoc := func(err error) error {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil
		}
		return err
	}
	steps := []struct {
		name string
		f    func(i int) error
	}{
		{"FindOne {_id} hit", func(i int) error { return coll.FindOne(ctx, bson.M{"_id": existing(i)}).Err() }},
		{"FindOne {_id} miss", func(i int) error { return noDoc(coll.FindOne(ctx, bson.M{"_id": fmt.Sprintf("none-%d", i)}).Err()) }},
		{"InsertOne (new _id)", func(i int) error { _, err := coll.InsertOne(ctx, doc(fmt.Sprintf("new-%06d", i))); return err }},
		{"FindOneAndUpdate {_id} hit, $set", func(i int) error {
			return coll.FindOneAndUpdate(ctx, bson.M{"_id": existing(i)}, bson.M{"$set": bson.M{"status": "open", "event_count": i}}).Err()
		}},
		{"FindOneAndUpdate {_id} miss (upsertByID's first step)", func(i int) error {
			return noDoc(coll.FindOneAndUpdate(ctx, bson.M{"_id": fmt.Sprintf("none-%d", i)}, bson.M{"$set": bson.M{"x": 1}}).Err())
		}},
		{"BulkWrite of 25 ReplaceOne {_id} (the projector's update of existing applications)", func(i int) error {
			models := make([]mongo.WriteModel, 25)
			for j := range models {
				id := existing(i*25 + j)
				models[j] = mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": id}).SetReplacement(doc(id))
			}
			_, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
			return err
		}},
		{"FindOneAndUpdate {_id} hit, $addToSet", func(i int) error {
			return coll.FindOneAndUpdate(ctx, bson.M{"_id": existing(i)}, bson.M{"$addToSet": bson.M{"candidate_ids": "c"}}).Err()
		}},
		{"Find {_id: {$in: [3 ids]}} (Tombstones.Strip, 1-doc collection)", func(i int) error {
			cur, err := empty.Find(ctx, bson.M{"_id": bson.M{"$in": bson.A{"a", "b", fmt.Sprint(i)}}})
			if err != nil {
				return err
			}
			return cur.All(ctx, &[]bson.M{})
		}},
		{"InsertMany of 64 new docs", func(i int) error {
			docs := make([]any, 64)
			for j := range docs {
				docs[j] = doc(fmt.Sprintf("many-%06d-%02d", i, j))
			}
			_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
			return err
		}},
	}
	for _, s := range steps {
		if err := measure(s.name, s.f); err != nil {
			return nil, err
		}
	}
	return out, nil
}
