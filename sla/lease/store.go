package lease

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

const (
	kindPartition = "partition"
	kindReplica   = "replica"
	kindClaim     = "claim"
)

// leaseDoc is a partition's lease, a replica's heartbeat (Owner is then the replica) or
// a claim on one generation of a lease (Owner is the claimant).
type leaseDoc struct {
	ID        string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	Partition int       `bson:"partition"`
	Owner     string    `bson:"owner"`   // "" when free
	Expires   time.Time `bson:"expires"` // on the owner's clock
	Mark      int64     `bson:"mark"`
	Gen       int64     `bson:"gen"` // incremented by every write to a lease
}

func partitionDocID(p int) string                { return fmt.Sprintf("partition-%02d", p) }
func replicaDocID(id string) string              { return "replica-" + id }
func claimDocID(d leaseDoc) string               { return fmt.Sprintf("claim-%s-%d", d.ID, d.Gen) }
func byID(id string) bson.D                      { return bson.D{{Key: "_id", Value: id}} }
func withField(f bson.D, k string, v any) bson.D { return append(f, bson.E{Key: k, Value: v}) }

// beat renews this replica's heartbeat, creating it if it is not there.
func (m *Manager) beat(ctx context.Context, expires time.Time) error {
	id := replicaDocID(m.replica)
	err := m.coll.FindOneAndUpdate(ctx, byID(id),
		bson.D{{Key: "$set", Value: bson.D{{Key: "expires", Value: expires}}}}).Err()
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return err
	}
	_, err = m.coll.InsertOne(ctx, leaseDoc{ID: id, Kind: kindReplica, Owner: m.replica, Expires: expires})
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return err
}

// forget removes a heartbeat or claim read as d, unless it has been renewed since.
func (m *Manager) forget(ctx context.Context, d leaseDoc) {
	ctx, cancel := context.WithTimeout(ctx, m.ttl/2)
	defer cancel()
	if _, err := m.coll.DeleteOne(ctx, withField(byID(d.ID), "expires", d.Expires)); err != nil {
		m.log.Debug("remove a stale lease document", "err", err, "id", d.ID)
	}
}

// renew extends this replica's leases on ps to expires, storing mark if not nil. The
// filter names the owner, so a lease another replica holds now is left alone; the
// caller reads the leases back to see which were renewed.
func (m *Manager) renew(ctx context.Context, ps []int, expires time.Time, mark *int64) error {
	set := bson.D{{Key: "expires", Value: expires}}
	if mark != nil {
		set = withField(set, "mark", *mark)
	}
	_, err := m.coll.UpdateMany(ctx, m.mine(ps),
		bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: bson.D{{Key: "gen", Value: int64(1)}}}})
	return err
}

// mine is a filter for this replica's leases among ps.
func (m *Manager) mine(ps []int) bson.D {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = partitionDocID(p)
	}
	return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "owner", Value: m.replica}}
}

// take acquires the leases on ps as read in stored, each provided nobody wrote it since
// (its generation is unchanged); a partition without a document is created. It returns
// the partitions taken, with their previous owner's Mark, even with an error.
//
// Replicas racing for a lease first insert a claim on the generation they read: the
// unique _id lets one of them win on any store, even one whose updates are not atomic.
// The winner's update still names the generation, which fails if the lease changed
// since it was read. Claims are removed right after; one left behind expires with the TTL.
func (m *Manager) take(ctx context.Context, ps []int, stored map[int]leaseDoc, expires time.Time) ([]Taken, error) {
	var taken []Taken
	var claims []string
	var unchanged bson.A
	defer func() {
		if len(claims) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.ttl/2)
		defer cancel()
		_, _ = m.coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: claims}}}})
	}()
	var newLeases, newClaims []leaseDoc
	for _, p := range ps {
		if d, ok := stored[p]; ok {
			newClaims = append(newClaims, leaseDoc{ID: claimDocID(d), Kind: kindClaim, Partition: p, Owner: m.replica, Expires: expires})
		} else {
			newLeases = append(newLeases, leaseDoc{ID: partitionDocID(p), Kind: kindPartition, Partition: p, Owner: m.replica, Expires: expires, Gen: 1})
		}
	}
	inserted, err := m.insertEach(ctx, newLeases)
	for i, ok := range inserted {
		if ok {
			taken = append(taken, Taken{Partition: newLeases[i].Partition})
		}
	}
	if err != nil {
		return taken, err
	}
	inserted, err = m.insertEach(ctx, newClaims)
	for i, ok := range inserted {
		if ok {
			d := stored[newClaims[i].Partition]
			claims = append(claims, newClaims[i].ID)
			unchanged = append(unchanged, bson.D{{Key: "_id", Value: d.ID}, {Key: "gen", Value: d.Gen}})
		}
	}
	if err != nil {
		return taken, err
	}
	if len(unchanged) == 0 {
		return taken, nil
	}
	_, err = m.coll.UpdateMany(ctx, bson.D{{Key: "$or", Value: unchanged}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "owner", Value: m.replica}, {Key: "expires", Value: expires}}},
		{Key: "$inc", Value: bson.D{{Key: "gen", Value: int64(1)}}},
	})
	if err != nil {
		return taken, err
	}
	docs, err := m.load(ctx)
	if err != nil {
		// What was taken is not known: those leases expire unused.
		return taken, err
	}
	for _, d := range docs {
		before, ok := stored[d.Partition]
		if d.Kind == kindPartition && ok && slices.Contains(ps, d.Partition) &&
			d.Owner == m.replica && d.Expires.UnixMilli() == expires.UnixMilli() {
			taken = append(taken, Taken{Partition: d.Partition, Mark: before.Mark})
		}
	}
	return taken, nil
}

// insertEach inserts docs in one request and reports which were inserted; a document
// whose _id is taken already is not an error.
func (m *Manager) insertEach(ctx context.Context, docs []leaseDoc) ([]bool, error) {
	inserted := make([]bool, len(docs))
	if len(docs) == 0 {
		return inserted, nil
	}
	_, err := m.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bulk mongo.BulkWriteException
	switch {
	case err == nil:
		for i := range inserted {
			inserted[i] = true
		}
		return inserted, nil
	case !errors.As(err, &bulk) || bulk.WriteConcernError != nil:
		return inserted, err // what was inserted is not known
	}
	for i := range inserted {
		inserted[i] = true
	}
	var others []error
	for _, we := range bulk.WriteErrors {
		if we.Index >= 0 && we.Index < len(docs) {
			inserted[we.Index] = false
		}
		if !mongo.IsDuplicateKeyError(we.WriteError) {
			others = append(others, we.WriteError)
		}
	}
	return inserted, errors.Join(others...)
}

// releaseInStore frees this replica's leases on ps, storing the current Mark, so that
// another replica may take them at once. A lease that is no longer this replica's is
// left alone.
func (m *Manager) releaseInStore(ctx context.Context, ps []int) error {
	if len(ps) == 0 {
		return nil
	}
	set := bson.D{{Key: "owner", Value: ""}, {Key: "expires", Value: m.now()}}
	if m.mark != nil {
		set = withField(set, "mark", m.mark())
	}
	_, err := m.coll.UpdateMany(ctx, m.mine(ps),
		bson.D{{Key: "$set", Value: set}, {Key: "$inc", Value: bson.D{{Key: "gen", Value: int64(1)}}}})
	if err != nil {
		return fmt.Errorf("release partitions %v: %w", ps, err)
	}
	return nil
}

// load reads every lease and heartbeat (a few dozen small documents).
func (m *Manager) load(ctx context.Context) ([]leaseDoc, error) {
	cur, err := m.coll.Find(ctx, bson.D{})
	if err != nil {
		return nil, err
	}
	var docs []leaseDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return docs, nil
}
