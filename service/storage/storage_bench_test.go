package storage_test

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/service/storage"
)

// benchDocs is how many application-sized documents the update benchmarks' collection
// holds.
const benchDocs = 10000

// appDoc is a document shaped like a stored application (about 1.5 KB): a dozen
// scalar fields and the events as one binary value.
func appDoc(id string, n int) bson.D {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
	events := make([]byte, 1200)
	for i := range events {
		events[i] = byte(i + n)
	}
	return bson.D{
		{Key: "_id", Value: id},
		{Key: "candidate_id", Value: "cand-" + id},
		{Key: "job_id", Value: "job-42"},
		{Key: "recruiter_id", Value: "rec-7"},
		{Key: "status", Value: "open"},
		{Key: "stage", Value: "phone_screen"},
		{Key: "stage_since", Value: at},
		{Key: "source", Value: "greenhouse"},
		{Key: "referral", Value: false},
		{Key: "applied_at", Value: at.Add(-time.Hour)},
		{Key: "last_contact_at", Value: at},
		{Key: "last_event_at", Value: at},
		{Key: "event_count", Value: n},
		{Key: "updated_at", Value: at},
		{Key: "events", Value: bson.Binary{Data: events}},
	}
}

// openBenchColl starts an embedded store in a temporary directory and fills an
// applications collection with benchDocs documents.
func openBenchColl(b *testing.B) (*mongo.Collection, func(i int) string) {
	b.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, storage.Options{DataDir: b.TempDir(), DB: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	if err := s.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	coll := s.DB.Collection("applications")
	id := func(i int) string { return fmt.Sprintf("app-%06d", i%benchDocs) }
	docs := make([]any, benchDocs)
	for i := range docs {
		docs[i] = appDoc(id(i), 0)
	}
	for chunk := range slices.Chunk(docs, 500) {
		if _, err := coll.InsertMany(ctx, chunk); err != nil {
			b.Fatal(err)
		}
	}
	return coll, id
}

// cpuTime is the CPU time this process has used (the store runs in it too).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per operation since start: on a machine
// shared with other work it varies less than the elapsed time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkUpdateByID measures the store's updates of existing documents found by
// _id, the projector's hot path, against inserts of new ones.
//
//	go test -run '^$' -bench UpdateByID -benchtime 200x ./service/storage -cpuprofile cpu.out
func BenchmarkUpdateByID(b *testing.B) {
	ctx := context.Background()
	coll, id := openBenchColl(b)
	// Spread the touched documents over the collection.
	pick := func(i int) string { return id(i * 7919) }

	for _, n := range []int{25, 100, 500} {
		b.Run(fmt.Sprintf("BulkWrite%dReplaceOne", n), func(b *testing.B) {
			start := cpuTime()
			defer reportCPU(b, start)
			for i := range b.N {
				models := make([]mongo.WriteModel, n)
				for j := range models {
					k := pick(i*n + j)
					models[j] = mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": k}).SetReplacement(appDoc(k, i+1))
				}
				res, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
				if err != nil {
					b.Fatal(err)
				}
				if res.MatchedCount != int64(n) {
					b.Fatalf("matched %d of %d", res.MatchedCount, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/replace")
		})
	}
	b.Run("ReplaceOne", func(b *testing.B) {
		start := cpuTime()
		defer reportCPU(b, start)
		for i := range b.N {
			k := pick(i)
			res, err := coll.ReplaceOne(ctx, bson.M{"_id": k}, appDoc(k, i+1))
			if err != nil {
				b.Fatal(err)
			}
			if res.MatchedCount != 1 {
				b.Fatalf("matched %d", res.MatchedCount)
			}
		}
	})
	b.Run("FindOneAndUpdateSet", func(b *testing.B) {
		start := cpuTime()
		defer reportCPU(b, start)
		for i := range b.N {
			err := coll.FindOneAndUpdate(ctx, bson.M{"_id": pick(i)}, bson.M{"$set": bson.M{"event_count": i, "status": "open"}}).Err()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FindScan", func(b *testing.B) {
		start := cpuTime()
		defer reportCPU(b, start)
		for range b.N {
			// a filter the store cannot look up by index: every document is read and decoded
			n, err := coll.CountDocuments(ctx, bson.M{"status": "open"})
			if err != nil {
				b.Fatal(err)
			}
			if n < benchDocs {
				b.Fatalf("counted %d", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*benchDocs), "µs/doc")
	})
	b.Run("InsertOne", func(b *testing.B) {
		start := cpuTime()
		defer reportCPU(b, start)
		for i := range b.N {
			if _, err := coll.InsertOne(ctx, appDoc(fmt.Sprintf("new-%d-%d", b.N, i), i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("InsertMany64", func(b *testing.B) {
		start := cpuTime()
		defer reportCPU(b, start)
		for i := range b.N {
			docs := make([]any, 64)
			for j := range docs {
				docs[j] = appDoc(fmt.Sprintf("many-%d-%d-%d", b.N, i, j), i)
			}
			if _, err := coll.InsertMany(ctx, docs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*64), "µs/doc")
	})
}

// BenchmarkFindByIDsIn measures a find of 100 documents by a list of _ids, as the
// writer reads the originals of duplicates and replicas read each other's applications.
//
//	go test -run '^$' -bench FindByIDsIn ./service/storage
func BenchmarkFindByIDsIn(b *testing.B) {
	ctx := context.Background()
	coll, id := openBenchColl(b)
	start := cpuTime()
	defer reportCPU(b, start)
	for i := range b.N {
		ids := make(bson.A, 100)
		for j := range ids {
			ids[j] = id((i*100 + j) * 7919)
		}
		cur, err := coll.Find(ctx, bson.M{"_id": bson.M{"$in": ids}})
		if err != nil {
			b.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			b.Fatal(err)
		}
		if len(docs) != 100 {
			b.Fatalf("found %d of 100", len(docs))
		}
	}
}
