package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// countingDB returns a fresh database whose lookups in the keys collection are
// counted.
func countingDB(t *testing.T) (*mongo.Database, *atomic.Int64) {
	t.Helper()
	var finds atomic.Int64
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "find" {
			if coll, ok := e.Command.Lookup("find").StringValueOK(); ok && coll == "keys" {
				finds.Add(1)
			}
		}
	}}
	client, err := mongo.Connect(options.Client().ApplyURI(storagetest.URI(t)).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database(storagetest.DBName(t)), &finds
}

// TestUnknownKeyCache: a secret that names no key is refused without asking the
// store again for UnknownKeyTTL; a key created afterwards works at once in this
// process, and in another process sharing the store within UnknownKeyTTL.
func TestUnknownKeyCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, finds := countingDB(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	this, other := NewKeys(db), NewKeys(db)
	this.clock, other.clock = clock, clock

	// A flood of one bad key costs one lookup.
	bad := NewSecret()
	for range 50 {
		if _, err := this.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("a bad key: %v", err)
		}
	}
	if n := finds.Load(); n != 1 {
		t.Errorf("50 tries of one bad key made %d lookups, want 1", n)
	}
	// Once the miss is older than UnknownKeyTTL, the store is asked again.
	now = now.Add(UnknownKeyTTL)
	if _, err := this.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a bad key: %v", err)
	}
	if n := finds.Load(); n != 2 {
		t.Errorf("after UnknownKeyTTL: %d lookups, want 2", n)
	}

	// A bootstrap key refused by both processes before it existed …
	secret := "gw_bootstrap_0123456789abcdef0123456789abcdef"
	for _, k := range []*Keys{this, other} {
		if _, err := k.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("before bootstrap: %v", err)
		}
	}
	// … works at once in the process that creates it …
	if err := this.Bootstrap(ctx, secret, now); err != nil {
		t.Fatal(err)
	}
	if _, err := this.Authenticate(ctx, secret); err != nil {
		t.Errorf("the creating process refuses its new key: %v", err)
	}
	// … and in the other one within UnknownKeyTTL.
	now = now.Add(UnknownKeyTTL - time.Millisecond)
	if _, err := other.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Logf("the other process already accepts it: %v", err)
	}
	now = now.Add(time.Millisecond)
	if _, err := other.Authenticate(ctx, secret); err != nil {
		t.Errorf("the other process refuses the key after UnknownKeyTTL: %v", err)
	}

	// Created through the API, a key works at once everywhere: its secret is new.
	_, fresh, err := other.Create(ctx, "fresh", RoleIngest, "", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := this.Authenticate(ctx, fresh); err != nil {
		t.Errorf("a key created by another process is refused: %v", err)
	}
}

// TestBootstrapKeyStaysDeleted: a bootstrap key deleted through the API is not
// created again, whichever process deletes it and whenever.
func TestBootstrapKeyStaysDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storagetest.NewDB(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	secret := "gw_bootstrap_0123456789abcdef0123456789abcdef"
	k := NewKeys(db)
	if err := k.Bootstrap(ctx, secret, now); err != nil {
		t.Fatal(err)
	}
	if err := k.Bootstrap(ctx, secret, now); err != nil { // a second start
		t.Fatalf("bootstrap again: %v", err)
	}
	key, err := k.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Delete(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	restarted := NewKeys(db)
	if err := restarted.Bootstrap(ctx, secret, now); !errors.Is(err, ErrBootstrapDeleted) {
		t.Errorf("bootstrap after deletion: %v, want ErrBootstrapDeleted", err)
	}
	if _, err := restarted.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("the deleted bootstrap key works again: %v", err)
	}
	// Deleted while a replica was bootstrapping it (after its check, before its
	// insert): the replica takes its insert back.
	if _, err := db.Collection("keys").InsertOne(ctx, bson.M{"_id": hashSecret(secret), "id": "raced", "name": "bootstrap", "role": "admin"}); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Bootstrap(ctx, secret, now); !errors.Is(err, ErrBootstrapDeleted) {
		t.Errorf("bootstrap of a deleted key found present: %v", err)
	}
	if n, err := db.Collection("keys").CountDocuments(ctx, bson.M{"_id": hashSecret(secret)}); err != nil || n != 0 {
		t.Errorf("the deleted bootstrap key is stored again (%d, %v)", n, err)
	}
	// Deleting a key that does not exist is still CodeNotFound.
	if err := k.Delete(ctx, "no-such-key"); err == nil {
		t.Error("deleting an unknown key succeeded")
	}
}
