package auth

import (
	"context"
	"errors"

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
