package atssync

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// Collections of the sync's state.
const (
	collConnectors = "sync_connectors" // one document per vendor: cursors, counts, last pass
	collLeases     = "sync_leases"     // one lease per vendor (lease.go)
)

// The outcomes of a pass.
const (
	OutcomeRunning = "running"
	OutcomeOK      = "ok"
	OutcomeFailed  = "failed"
)

// The counts a connector keeps (Page.Counts keys). A vendor may add others of the
// same form (lower-case letters, digits, '_').
const (
	CountUsers                 = "users"
	CountApplicationsUpdated   = "applications_updated"
	CountInterviews            = "interviews"
	CountMessages              = "messages"
	CountMissedEventsRecovered = "missed_events_recovered"
	CountParked                = "parked"
	CountOrphaned              = "orphaned"
)

// CountNames are the counts every connector shows, zero or not.
var CountNames = []string{CountUsers, CountApplicationsUpdated, CountInterviews, CountMessages,
	CountMissedEventsRecovered, CountParked, CountOrphaned}

// Pass is what a connector shows of its last pass.
type Pass struct {
	StartedAt  time.Time  `bson:"started_at"`
	FinishedAt *time.Time `bson:"finished_at,omitempty"`
	Outcome    string     `bson:"outcome"` // running, ok, failed
	Error      string     `bson:"error,omitempty"`
}

// Connector is one vendor's sync as GET /v1/connectors shows it.
type Connector struct {
	Vendor     string
	Configured bool
	LastPass   *Pass             // nil before the first pass
	Cursors    map[string]Cursor // by resource; where the next page of each starts
	Counts     map[string]int64  // totals since the first pass, CountNames at least
}

// connectorDoc is a vendor's stored state.
type connectorDoc struct {
	ID       string            `bson:"_id"`
	Cursors  map[string]Cursor `bson:"cursors,omitempty"`
	Counts   map[string]int64  `bson:"counts,omitempty"`
	LastPass *Pass             `bson:"last_pass,omitempty"`
}

// state is the sync's stored state. Every write is one update of one document found
// by _id, so that a cursor and the counts of its page move together.
type state struct{ coll *mongo.Collection }

func (s state) load(ctx context.Context, vendor string) (connectorDoc, error) {
	var d connectorDoc
	err := s.coll.FindOne(ctx, byID(vendor)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return connectorDoc{ID: vendor}, nil
	}
	if err != nil {
		return d, interactions.Unavailable("read sync state", err)
	}
	return d, nil
}

// update applies update to the vendor's document, creating it first if needed.
func (s state) update(ctx context.Context, vendor string, update bson.D) error {
	err := s.coll.FindOneAndUpdate(ctx, byID(vendor), update).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		if _, err := s.coll.InsertOne(ctx, connectorDoc{ID: vendor}); err != nil && !mongo.IsDuplicateKeyError(err) {
			return interactions.Unavailable("create sync state", err)
		}
		err = s.coll.FindOneAndUpdate(ctx, byID(vendor), update, options.FindOneAndUpdate()).Err()
	}
	if err != nil {
		return interactions.Unavailable("write sync state", err)
	}
	return nil
}

// begin records a pass as running.
func (s state) begin(ctx context.Context, vendor string, at time.Time) error {
	return s.update(ctx, vendor, bson.D{{Key: "$set", Value: bson.D{{Key: "last_pass", Value: Pass{StartedAt: at, Outcome: OutcomeRunning}}}}})
}

// finish records how the pass begun at started ended.
func (s state) finish(ctx context.Context, vendor string, started, at time.Time, passErr error) error {
	p := Pass{StartedAt: started, FinishedAt: &at, Outcome: OutcomeOK}
	if passErr != nil {
		p.Outcome, p.Error = OutcomeFailed, passErr.Error()
	}
	return s.update(ctx, vendor, bson.D{{Key: "$set", Value: bson.D{{Key: "last_pass", Value: p}}}})
}

// advance stores the resource's cursor and adds a page's counts, in one update.
// Resource and count names are checked by the runner (fieldName).
func (s state) advance(ctx context.Context, vendor, resource string, next Cursor, counts map[string]int) error {
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "cursors." + resource, Value: next}}}}
	inc := bson.D{}
	for k, n := range counts {
		if n != 0 && fieldName(k) {
			inc = append(inc, bson.E{Key: "counts." + k, Value: int64(n)})
		}
	}
	if len(inc) > 0 {
		update = append(update, bson.E{Key: "$inc", Value: inc})
	}
	return s.update(ctx, vendor, update)
}

// add adds counts to the vendor's, without moving a cursor.
func (s state) add(ctx context.Context, vendor string, counts map[string]int) error {
	inc := bson.D{}
	for k, n := range counts {
		if n != 0 && fieldName(k) {
			inc = append(inc, bson.E{Key: "counts." + k, Value: int64(n)})
		}
	}
	if len(inc) == 0 {
		return nil
	}
	return s.update(ctx, vendor, bson.D{{Key: "$inc", Value: inc}})
}

// fieldName reports whether s may name a resource or a count: 1–64 lower-case
// letters, digits and '_' (it becomes part of a field path).
func fieldName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
