package maildrop

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
)

// collAddresses holds the personal dropbox addresses: "token:<token>" → recruiter id
// for RCPT, and "recruiter:<id>" → its current token, so the address can be shown
// again.
const collAddresses = "mail_addresses"

// tokenBytes is the randomness of a token: 160 bits, 32 base32 characters.
const tokenBytes = 20

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Addresses issues and resolves recruiters' personal dropbox addresses. Errors are
// CodeUnavailable for store failures.
type Addresses struct {
	coll *mongo.Collection
}

// NewAddresses returns the addresses kept in db.
func NewAddresses(db *mongo.Database) *Addresses {
	return &Addresses{coll: db.Collection(collAddresses)}
}

type addressDoc struct {
	ID          string    `bson:"_id"`
	RecruiterID string    `bson:"recruiter_id,omitempty"`
	Token       string    `bson:"token,omitempty"`
	At          time.Time `bson:"at"`
}

// NewToken returns a fresh token: 160 random bits in lowercase base32.
func NewToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return strings.ToLower(tokenEncoding.EncodeToString(b))
}

// ValidToken reports whether s has the shape of a token NewToken makes.
func ValidToken(s string) bool {
	if len(s) != tokenEncoding.EncodedLen(tokenBytes) {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '2' || r > '7') {
			return false
		}
	}
	return true
}

// Issue gives the recruiter a new token and revokes the one it had: mail to the old
// address is refused from then on. It returns the new token.
func (a *Addresses) Issue(ctx context.Context, recruiterID string, now time.Time) (string, error) {
	token := NewToken()
	at := now.UTC().Truncate(time.Millisecond)
	if _, err := a.coll.InsertOne(ctx, addressDoc{ID: "token:" + token, RecruiterID: recruiterID, At: at}); err != nil {
		return "", interactions.Unavailable("store mail address", err)
	}
	var old addressDoc
	err := a.coll.FindOneAndUpdate(ctx, bson.M{"_id": "recruiter:" + recruiterID},
		bson.M{"$set": bson.M{"token": token, "at": at}}).Decode(&old)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		_, err = a.coll.InsertOne(ctx, addressDoc{ID: "recruiter:" + recruiterID, Token: token, At: at})
		if mongo.IsDuplicateKeyError(err) {
			// Issued concurrently: the other token won; revoke this one.
			_, _ = a.coll.DeleteOne(ctx, bson.M{"_id": "token:" + token})
			return a.Issue(ctx, recruiterID, now)
		}
		if err != nil {
			return "", interactions.Unavailable("store mail address", err)
		}
	case err != nil:
		return "", interactions.Unavailable("store mail address", err)
	case old.Token != "" && old.Token != token:
		if _, err := a.coll.DeleteOne(ctx, bson.M{"_id": "token:" + old.Token}); err != nil {
			return "", interactions.Unavailable("revoke mail address", err)
		}
	}
	return token, nil
}

// Token returns the recruiter's current token; ok is false when it has none.
func (a *Addresses) Token(ctx context.Context, recruiterID string) (token string, ok bool, err error) {
	var d addressDoc
	err = a.coll.FindOne(ctx, bson.M{"_id": "recruiter:" + recruiterID}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", false, nil
	}
	if err != nil {
		return "", false, interactions.Unavailable("find mail address", err)
	}
	return d.Token, d.Token != "", nil
}

// Recruiter returns the recruiter holding token; ok is false when nobody does (never
// issued, or revoked by a rotation).
func (a *Addresses) Recruiter(ctx context.Context, token string) (recruiterID string, ok bool, err error) {
	if !ValidToken(token) {
		return "", false, nil
	}
	var d addressDoc
	err = a.coll.FindOne(ctx, bson.M{"_id": "token:" + token}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", false, nil
	}
	if err != nil {
		return "", false, interactions.Unavailable("find mail address", err)
	}
	return d.RecruiterID, true, nil
}

// Address formats a personal dropbox address.
func Address(token, domain string) string { return "log+" + token + "@" + domain }
