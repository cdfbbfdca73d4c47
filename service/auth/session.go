package auth

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
)

// ByHash returns the key whose stored hash (its _id) this is: what a browser session
// names, so that a session ends the moment its key is deleted. Unknown and deleted
// keys give ErrUnauthenticated alike.
func (k *Keys) ByHash(ctx context.Context, hash string) (Key, error) {
	if len(hash) != 64 {
		return Key{}, ErrUnauthenticated
	}
	var key Key
	err := k.coll.FindOne(ctx, bson.M{"_id": hash}).Decode(&key)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Key{}, ErrUnauthenticated
	}
	if err != nil {
		return Key{}, interactions.Unavailable("authenticate", err)
	}
	return key, nil
}

// Sessions remembers the browser sessions that signed out before they expired, in the
// "revoked_sessions" collection: _id is a session's id (a hash of its cookie), so a
// check is one lookup by _id, and expires_at its expiry, after which its cookie opens
// nothing anyway and the document is purged.
type Sessions struct {
	coll *mongo.Collection
}

// NewSessions returns the signed-out sessions over db.
func NewSessions(db *mongo.Database) *Sessions {
	return &Sessions{coll: db.Collection("revoked_sessions")}
}

// Revoke records that the session id signed out; it stays revoked until expires.
// It also purges the sessions that have expired by now: sign-outs are rare, and the
// collection holds no more than a session's lifetime of them.
func (s *Sessions) Revoke(ctx context.Context, id string, expires, now time.Time) error {
	_, err := s.coll.InsertOne(ctx, bson.M{"_id": id, "expires_at": expires.UTC()})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return interactions.Unavailable("sign out", err)
	}
	if _, err := s.coll.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": now.UTC()}}); err != nil {
		return interactions.Unavailable("purge signed-out sessions", err)
	}
	return nil
}

// Revoked reports whether the session id signed out.
func (s *Sessions) Revoked(ctx context.Context, id string) (bool, error) {
	err := s.coll.FindOne(ctx, bson.M{"_id": id}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, interactions.Unavailable("check session", err)
	}
	return true, nil
}
