// Package storagetest gives each test its own database: on the embedded store shared
// by the test process, or on the MongoDB named by GOODWILL_TEST_MONGODB_URI.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/service/storage"
)

var (
	once    sync.Once
	shared  *storage.Store
	sharedE error
)

// URI returns the URI of the test store: GOODWILL_TEST_MONGODB_URI, or the embedded
// store this process starts once.
func URI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv("GOODWILL_TEST_MONGODB_URI"); uri != "" {
		return uri
	}
	once.Do(func() {
		dir, err := os.MkdirTemp("", "goodwill-store-")
		if err != nil {
			sharedE = err
			return
		}
		shared, sharedE = storage.Open(context.Background(), storage.Options{DataDir: dir, DB: "unused"})
		if sharedE == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sharedE = shared.WaitReady(ctx)
		}
	})
	if sharedE != nil {
		t.Fatalf("start the embedded test store: %v", sharedE)
	}
	return shared.URI
}

func connect(uri string) (*mongo.Client, error) {
	return mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second))
}

// DBName returns a fresh database name for t; the database is dropped when t ends.
func DBName(t testing.TB) string {
	t.Helper()
	uri := URI(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + sanitize(t.Name()) + "_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := connect(uri); err == nil {
			_ = c.Database(name).Drop(ctx)
			_ = c.Disconnect(ctx)
		}
	})
	return name
}

// NewDB returns a fresh database for t, dropped when t ends.
func NewDB(t testing.TB) *mongo.Database {
	t.Helper()
	name := DBName(t)
	c, err := connect(URI(t))
	if err != nil {
		t.Fatalf("connect to the test store: %v", err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c.Database(name)
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}
