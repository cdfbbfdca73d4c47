// Package auth keeps API keys and decides what each role may do.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
)

// Role is what a key may do.
type Role string

// The roles.
const (
	RoleAdmin     Role = "admin"     // everything
	RoleIngest    Role = "ingest"    // write interactions only
	RoleRecruiter Role = "recruiter" // its own (and its reports') applications, queue and alerts
	RoleViewer    Role = "viewer"    // scores and the dashboard: aggregates only
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleIngest, RoleRecruiter, RoleViewer:
		return true
	}
	return false
}

// KeyPrefix starts every key, so that leaked keys are easy to recognise.
const KeyPrefix = "gw_"

// Key is a stored API key. The secret itself is never stored: Hash is its SHA-256.
type Key struct {
	Hash        string    `bson:"_id" json:"-"`
	ID          string    `bson:"id" json:"id"`
	Name        string    `bson:"name" json:"name"`
	Role        Role      `bson:"role" json:"role"`
	RecruiterID string    `bson:"recruiter_id,omitempty" json:"recruiter_id,omitempty"`
	CreatedAt   time.Time `bson:"created_at" json:"created_at"`
	// Person is the email of someone signed in through single sign-on, for whom the
	// pages make a Key of their role; such a Key is never stored.
	Person string `bson:"-" json:"-"`
}

// Keys stores API keys in the "keys" collection, keyed by the hash of the secret so
// that authenticating a request is one lookup by _id. Keys found are remembered for
// KeyCacheTTL, so that a busy client costs no lookup per request; secrets found to be
// unknown are remembered for UnknownKeyTTL, so that a flood of one bad key costs no
// lookup either. The hashes of deleted keys are kept in "deleted_keys", so that
// Bootstrap never brings one back.
type Keys struct {
	coll    *mongo.Collection
	deleted *mongo.Collection
	clock   func() time.Time

	mu      sync.Mutex
	found   map[string]foundKey  // by hash
	unknown map[string]time.Time // hashes of no key, until when that is trusted
	gen     uint64               // counts deletions, so a lookup racing one is not kept
	created uint64               // counts creations, so a miss racing one is not kept
}

// KeyCacheTTL is how long a key found in the store is trusted without asking again.
// Delete forgets the key in this process at once; another process sharing the store
// (replicas on MongoDB) keeps accepting a key it deleted for at most this long.
const KeyCacheTTL = 2 * time.Second

// UnknownKeyTTL is how long a secret that named no key is refused without asking the
// store again. A key created in this process works at once (Create and Bootstrap
// forget the secret's miss); created by another process sharing the store, it can
// only have been refused here before it existed if its secret was known beforehand —
// a bootstrap key, set on a replica that is starting — and works here within this
// long. Fresh keys are random, so no one can have tried them earlier.
const UnknownKeyTTL = 5 * time.Second

// maxFoundKeys bounds the remembered keys, and maxUnknownKeys the remembered misses;
// past either, that set is forgotten whole.
const (
	maxFoundKeys   = 10000
	maxUnknownKeys = 10000
)

type foundKey struct {
	key   Key
	until time.Time
}

// NewKeys returns the key store over db.
func NewKeys(db *mongo.Database) *Keys {
	return &Keys{
		coll: db.Collection("keys"), deleted: db.Collection("deleted_keys"), clock: time.Now,
		found: map[string]foundKey{}, unknown: map[string]time.Time{},
	}
}

// ErrUnauthenticated is returned for a missing, unknown or deleted key, alike.
var ErrUnauthenticated = errors.New("missing or unknown API key")

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewSecret returns a fresh random key: the prefix and 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Create stores a new key and returns it with its secret, which is shown only now.
func (k *Keys) Create(ctx context.Context, name string, role Role, recruiterID string, now time.Time) (Key, string, error) {
	var fields []interactions.FieldError
	if name == "" || len(name) > 200 {
		fields = append(fields, interactions.FieldError{Field: "name", Message: "is required (at most 200 bytes)"})
	}
	if !role.Valid() {
		fields = append(fields, interactions.FieldError{Field: "role", Message: "must be admin, ingest, recruiter or viewer"})
	}
	switch {
	case role == RoleRecruiter && recruiterID == "":
		fields = append(fields, interactions.FieldError{Field: "recruiter_id", Message: "is required for the recruiter role"})
	case role != RoleRecruiter && recruiterID != "":
		fields = append(fields, interactions.FieldError{Field: "recruiter_id", Message: "is only for the recruiter role"})
	case len(recruiterID) > 200:
		fields = append(fields, interactions.FieldError{Field: "recruiter_id", Message: "must be at most 200 bytes"})
	}
	if len(fields) > 0 {
		return Key{}, "", interactions.Invalid(fields...)
	}
	secret := NewSecret()
	key, err := k.insert(ctx, secret, name, role, recruiterID, now)
	return key, secret, err
}

func (k *Keys) insert(ctx context.Context, secret, name string, role Role, recruiterID string, now time.Time) (Key, error) {
	key := Key{
		Hash:        hashSecret(secret),
		ID:          interactions.NewID(),
		Name:        name,
		Role:        role,
		RecruiterID: recruiterID,
		CreatedAt:   now.UTC().Truncate(time.Millisecond),
	}
	k.mu.Lock()
	k.created++ // a miss looked up before this insert must not be remembered
	delete(k.unknown, key.Hash)
	k.mu.Unlock()
	if _, err := k.coll.InsertOne(ctx, key); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return Key{}, interactions.Errorf(interactions.CodeConflict, "that key exists already")
		}
		return Key{}, interactions.Unavailable("create key", err)
	}
	k.mu.Lock()
	k.created++ // nor a miss looked up while the insert was under way
	delete(k.unknown, key.Hash)
	k.mu.Unlock()
	return key, nil
}

// ErrBootstrapDeleted is Bootstrap's answer when the bootstrap key was deleted
// through the API: it stays deleted.
var ErrBootstrapDeleted = errors.New("GOODWILL_BOOTSTRAP_KEY names a key that was deleted; it is not created again (unset it, or set a new one)")

// Bootstrap makes sure an admin key with the given secret exists, unless a key with
// that secret was deleted: then it makes sure the key stays gone, and returns
// ErrBootstrapDeleted.
func (k *Keys) Bootstrap(ctx context.Context, secret string, now time.Time) error {
	h := hashSecret(secret)
	dead, err := k.wasDeleted(ctx, h)
	if err != nil {
		return err
	}
	if !dead {
		_, err := k.insert(ctx, secret, "bootstrap", RoleAdmin, "", now)
		if err != nil && interactions.ErrorCode(err) != interactions.CodeConflict {
			return err
		}
		// A replica may have deleted the key between the check and the insert.
		if dead, err = k.wasDeleted(ctx, h); err != nil || !dead {
			return err
		}
	}
	if _, err := k.coll.DeleteOne(ctx, bson.M{"_id": h}); err != nil {
		return interactions.Unavailable("delete bootstrap key", err)
	}
	k.forgetHash(h)
	return ErrBootstrapDeleted
}

// wasDeleted reports whether a key with this hash was deleted.
func (k *Keys) wasDeleted(ctx context.Context, hash string) (bool, error) {
	err := k.deleted.FindOne(ctx, bson.M{"_id": hash}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, interactions.Unavailable("check deleted keys", err)
	}
	return true, nil
}

// Authenticate returns the key whose secret this is. Unknown and deleted keys give
// ErrUnauthenticated alike.
func (k *Keys) Authenticate(ctx context.Context, secret string) (Key, error) {
	if !strings.HasPrefix(secret, KeyPrefix) || len(secret) > 200 {
		return Key{}, ErrUnauthenticated
	}
	h := hashSecret(secret)
	now := k.clock()
	k.mu.Lock()
	f, ok := k.found[h]
	missUntil, missed := k.unknown[h]
	gen, created := k.gen, k.created
	k.mu.Unlock()
	if ok && now.Before(f.until) {
		return f.key, nil
	}
	if missed && now.Before(missUntil) {
		return Key{}, ErrUnauthenticated
	}
	var key Key
	err := k.coll.FindOne(ctx, bson.M{"_id": h}).Decode(&key)
	if errors.Is(err, mongo.ErrNoDocuments) {
		k.mu.Lock()
		if k.created == created { // no key was created meanwhile: the miss may be remembered
			if len(k.unknown) >= maxUnknownKeys {
				clear(k.unknown)
			}
			k.unknown[h] = k.clock().Add(UnknownKeyTTL)
		}
		k.mu.Unlock()
		return Key{}, ErrUnauthenticated
	}
	if err != nil {
		return Key{}, interactions.Unavailable("authenticate", err)
	}
	// The lookup was by hash; compare once more in constant time all the same.
	if subtle.ConstantTimeCompare([]byte(key.Hash), []byte(h)) != 1 {
		return Key{}, ErrUnauthenticated
	}
	k.mu.Lock()
	if k.gen == gen { // no key was deleted meanwhile: this one may be remembered
		if len(k.found) >= maxFoundKeys {
			clear(k.found)
		}
		k.found[h] = foundKey{key: key, until: k.clock().Add(KeyCacheTTL)}
	}
	k.mu.Unlock()
	return key, nil
}

// List returns every key, oldest first, without secrets.
func (k *Keys) List(ctx context.Context) ([]Key, error) {
	cur, err := k.coll.Find(ctx, bson.M{})
	if err != nil {
		return nil, interactions.Unavailable("list keys", err)
	}
	var keys []Key
	if err := cur.All(ctx, &keys); err != nil {
		return nil, interactions.Unavailable("list keys", err)
	}
	slicesSortByCreated(keys)
	return keys, nil
}

// Delete removes a key by id; it stops working at once. CodeNotFound if none. The
// key's hash is kept (in "deleted_keys") before the key goes, so that Bootstrap
// never creates it again, not even after a failure halfway.
func (k *Keys) Delete(ctx context.Context, id string) error {
	var key Key
	err := k.coll.FindOne(ctx, bson.M{"id": id}).Decode(&key)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return interactions.Errorf(interactions.CodeNotFound, "no key %q", id)
	}
	if err != nil {
		return interactions.Unavailable("delete key", err)
	}
	_, err = k.deleted.InsertOne(ctx, bson.M{"_id": key.Hash, "id": key.ID, "deleted_at": k.clock().UTC()})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return interactions.Unavailable("delete key", err)
	}
	res, err := k.coll.DeleteOne(ctx, bson.M{"_id": key.Hash})
	k.forget(id) // also when the answer was lost: the key may be gone
	if err != nil {
		return interactions.Unavailable("delete key", err)
	}
	if res.DeletedCount == 0 {
		return interactions.Errorf(interactions.CodeNotFound, "no key %q", id)
	}
	return nil
}

// forgetHash drops the remembered key with this hash (see forget).
func (k *Keys) forgetHash(hash string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	delete(k.found, hash)
}

// forget drops the remembered key with this id, and keeps lookups in flight from
// remembering it again.
func (k *Keys) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gen++
	for h, f := range k.found {
		if f.key.ID == id {
			delete(k.found, h)
		}
	}
}

func slicesSortByCreated(keys []Key) {
	slices.SortFunc(keys, func(a, b Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
