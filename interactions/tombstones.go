package interactions

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Tombstones remembers erased people by keyed hashes of their candidate id, email
// and phone, so that later events about them are stored without personal data. The
// hashes cannot be reversed without the key, which never leaves the store.
type Tombstones struct {
	store *Store
	key   []byte
	// hashers are keyed hashes ready for reuse: every interaction stored and applied
	// is hashed, and making one computes the key's pads anew.
	hashers sync.Pool
}

// NewTombstones loads (or creates on a fresh store) the hashing key.
func NewTombstones(ctx context.Context, store *Store) (*Tombstones, error) {
	key, err := store.Secret(ctx, "tombstone_key")
	if err != nil {
		return nil, err
	}
	return &Tombstones{store: store, key: key}, nil
}

// hash returns the tombstone id of one identifier ("candidate", "email", "phone").
func (t *Tombstones) hash(kind, value string) string {
	if kind == "email" {
		value = strings.ToLower(strings.TrimSpace(value))
	}
	m, _ := t.hashers.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, t.key)
	}
	m.Reset()
	m.Write([]byte(kind + "\x00" + value))
	var sum [sha256.Size]byte
	id := hex.EncodeToString(m.Sum(sum[:0]))
	t.hashers.Put(m)
	return id
}

// identifiers returns the tombstone ids that would cover an interaction.
func (t *Tombstones) identifiers(it *Interaction) []string {
	ids := []string{t.hash("candidate", it.CandidateID)}
	if it.Candidate != nil {
		if it.Candidate.Email != "" {
			ids = append(ids, t.hash("email", it.Candidate.Email))
		}
		if it.Candidate.Phone != "" {
			ids = append(ids, t.hash("phone", it.Candidate.Phone))
		}
	}
	return ids
}

// Strip removes personal data (contact details, metadata) from the items that concern
// an erased person, and marks them Erased.
func (t *Tombstones) Strip(ctx context.Context, items []Interaction) error {
	var all []string
	seen := map[string]bool{} // a candidate's events share their identifiers
	for i := range items {
		for _, id := range t.identifiers(&items[i]) {
			if !seen[id] {
				seen[id] = true
				all = append(all, id)
			}
		}
	}
	cur, err := t.store.tombstones.Find(ctx, bson.M{"_id": bson.M{"$in": all}})
	if err != nil {
		return err
	}
	var found []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &found); err != nil {
		return err
	}
	if len(found) == 0 {
		return nil
	}
	erased := map[string]bool{}
	for _, f := range found {
		erased[f.ID] = true
	}
	for i := range items {
		for _, id := range t.identifiers(&items[i]) {
			if erased[id] {
				items[i].stripPersonal()
				break
			}
		}
	}
	return nil
}

// Bury records tombstones for the given identifiers. It is idempotent.
func (t *Tombstones) Bury(ctx context.Context, candidateIDs, emails, phones []string) error {
	var docs []any
	add := func(kind string, vals []string) {
		for _, v := range vals {
			if v != "" {
				docs = append(docs, bson.M{"_id": t.hash(kind, v), "kind": kind})
			}
		}
	}
	add("candidate", candidateIDs)
	add("email", emails)
	add("phone", phones)
	_, err := InsertNew(ctx, t.store.tombstones, docs)
	return err
}

// stripPersonal removes the personal data an interaction may carry.
func (in *Interaction) stripPersonal() {
	in.Candidate = nil
	in.Metadata = nil
	in.Erased = true
}

// Secret returns the named random secret kept in the store, creating it on first use.
// Several processes starting at once agree on one value.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	_, err := s.meta.InsertOne(ctx, bson.M{"_id": name, "value": hex.EncodeToString(b)})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return nil, Unavailable("create "+name, err)
	}
	var doc struct {
		Value string `bson:"value"`
	}
	if err := s.meta.FindOne(ctx, bson.M{"_id": name}).Decode(&doc); err != nil {
		return nil, Unavailable("read "+name, err)
	}
	return hex.DecodeString(doc.Value)
}
