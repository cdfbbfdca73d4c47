package atssync

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// lease makes one replica at a time the one that syncs a vendor. Its document
// (_id "<vendor>" in sync_leases) names the owner, the expiry on the owner's clock and
// a generation every write increments. The owner renews with an update whose filter
// names it; another replica takes an expired lease by first inserting a claim on the
// generation it read (_id "claim:<vendor>:<gen>"), so that of several racing replicas
// exactly one wins through the unique _id — the embedded store's updates are not
// atomic — and then updating on condition that the generation is unchanged, as
// sla/lease does for partitions.
//
// The owner counts the lease as its own until its last renewal's start + TTL − TTL/4
// on its own clock; another replica takes it only after the stored expiry (renewal
// start + TTL) on its clock: clocks within TTL/4 of each other never both sync.
type lease struct {
	coll   *mongo.Collection
	vendor string
	owner  string
	ttl    time.Duration
	now    func() time.Time

	mu        sync.Mutex
	heldUntil time.Time

	// acquiring serializes acquire: a vendor's passes and its backfill renew the same
	// lease, and two takes racing in one replica would see each other as a rival.
	acquiring sync.Mutex
}

type leaseDoc struct {
	ID      string    `bson:"_id"`
	Owner   string    `bson:"owner"`
	Expires time.Time `bson:"expires"`
	Gen     int64     `bson:"gen"`
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// owns reports whether this replica holds the lease now.
func (l *lease) owns() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now().Before(l.heldUntil)
}

// held records the answer of an acquire begun at start: ok, or not. A store error
// changes nothing: the lease counts as held until its local deadline, as before.
func (l *lease) held(start time.Time, ok bool, err error) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		return false, err
	case ok:
		l.heldUntil = start.Add(l.ttl - l.ttl/4)
	default:
		l.heldUntil = time.Time{}
	}
	return ok, nil
}

// acquire renews the lease if this replica holds it, takes it if it is free or
// expired, and reports whether this replica holds it now.
func (l *lease) acquire(ctx context.Context) (bool, error) {
	l.acquiring.Lock()
	defer l.acquiring.Unlock()
	start := l.now()
	expires := start.Add(l.ttl)
	var d leaseDoc
	err := l.coll.FindOne(ctx, byID(l.vendor)).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		_, err := l.coll.InsertOne(ctx, leaseDoc{ID: l.vendor, Owner: l.owner, Expires: expires, Gen: 1})
		if mongo.IsDuplicateKeyError(err) {
			return l.held(start, false, nil)
		}
		return l.held(start, err == nil, err)
	case err != nil:
		return l.held(start, false, err)
	case d.Owner == l.owner:
		err := l.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: l.vendor}, {Key: "owner", Value: l.owner}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "expires", Value: expires}}}, {Key: "$inc", Value: bson.D{{Key: "gen", Value: int64(1)}}}}).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return l.held(start, false, nil)
		}
		return l.held(start, err == nil, err)
	case d.Owner != "" && d.Expires.After(start):
		return l.held(start, false, nil) // another replica's
	}
	// Free or expired: claim the generation read, then take it.
	claim := "claim:" + l.vendor + ":" + strconv.FormatInt(d.Gen, 10)
	if _, err := l.coll.InsertOne(ctx, leaseDoc{ID: claim, Owner: l.owner, Expires: expires}); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			l.dropStaleClaim(ctx, claim, start)
			return l.held(start, false, nil)
		}
		return l.held(start, false, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.ttl/2)
		defer cancel()
		_, _ = l.coll.DeleteOne(ctx, byID(claim))
	}()
	err = l.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: l.vendor}, {Key: "gen", Value: d.Gen}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "owner", Value: l.owner}, {Key: "expires", Value: expires}, {Key: "gen", Value: d.Gen + 1}}}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return l.held(start, false, nil)
	}
	return l.held(start, err == nil, err)
}

// dropStaleClaim removes a claim left behind by a replica that died while taking the
// lease, once it is older than the TTL, so that the next attempt can claim.
func (l *lease) dropStaleClaim(ctx context.Context, id string, now time.Time) {
	var c leaseDoc
	if err := l.coll.FindOne(ctx, byID(id)).Decode(&c); err != nil || now.Sub(c.Expires) < l.ttl {
		return
	}
	_, _ = l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "expires", Value: c.Expires}})
}

// release gives the lease up, if this replica holds it, so that another replica need
// not wait for the expiry.
func (l *lease) release(ctx context.Context) error {
	l.mu.Lock()
	l.heldUntil = time.Time{}
	l.mu.Unlock()
	err := l.coll.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: l.vendor}, {Key: "owner", Value: l.owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "owner", Value: ""}, {Key: "expires", Value: time.Time{}}}}, {Key: "$inc", Value: bson.D{{Key: "gen", Value: int64(1)}}}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	return err
}
