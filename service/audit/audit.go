// Package audit keeps the audit trail: who changed what in goodwill, and when. It owns
// the "audit" collection. The trail is append-only — entries are inserted, listed and,
// after Retention, purged; nothing updates them — and it holds no candidate personal
// data: a target is the id of what was acted on (a key, policy, recruiter, alert or
// erasure), never an email address, phone number or name.
//
// Each entry's _id is a UUIDv7 made from its time (id order is time order), so a
// write is one InsertOne and a page of the newest entries is a sort on _id.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// Action names what was done. The list is closed: Actions holds every one.
type Action string

// The actions of the trail.
const (
	KeyCreated        Action = "key.created"
	KeyDeleted        Action = "key.deleted"
	PolicyChanged     Action = "policy.changed"
	PolicyDeleted     Action = "policy.deleted"
	CalendarChanged   Action = "calendar.changed"
	RecruiterChanged  Action = "recruiter.changed"
	AlertAcknowledged Action = "alert.acknowledged"
	AlertSnoozed      Action = "alert.snoozed"
	AlertResolved     Action = "alert.resolved"
	ErasureRequested  Action = "erasure.requested" // target: the erasure id
	ReplayRequested   Action = "replay.requested"  // target: the source replayed, "" for all
	SignIn            Action = "signin"            // target: the session id
	SignOut           Action = "signout"           // target: the session id
	SignInRefused     Action = "signin.refused"
)

// Actions lists every action, in the order docs/api.md gives them.
var Actions = []Action{
	KeyCreated, KeyDeleted, PolicyChanged, PolicyDeleted, CalendarChanged, RecruiterChanged,
	AlertAcknowledged, AlertSnoozed, AlertResolved, ErasureRequested, ReplayRequested,
	SignIn, SignOut, SignInRefused,
}

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool {
	for _, v := range Actions {
		if a == v {
			return true
		}
	}
	return false
}

// System is the actor of what goodwill does on its own.
const System = "system"

// Key is the actor of a request made with the API key (or its browser session) of id.
func Key(id string) string { return "key:" + id }

// Recruiter is the actor of a recruiter acting without a key: an SMS reply, the
// signed link of an alert, a chat button.
func Recruiter(id string) string { return "recruiter:" + id }

// OIDC is the actor of a person signed in through single sign-on as email (a staff
// address, never a candidate's).
func OIDC(email string) string { return "oidc:" + strings.ToLower(email) }

// Retention is how long entries are kept.
const Retention = 2 * 365 * 24 * time.Hour

// Entry is one line of the trail.
type Entry struct {
	ID     string    `bson:"_id" json:"id"`
	At     time.Time `bson:"at" json:"at"`
	Actor  string    `bson:"actor" json:"actor"`
	Action Action    `bson:"action" json:"action"`
	Target string    `bson:"target" json:"target"`
	IP     string    `bson:"ip" json:"ip"`
}

// Trail is the audit trail in the "audit" collection.
type Trail struct {
	coll *mongo.Collection
	ids  idSource
}

// New returns the trail over db.
func New(db *mongo.Database) *Trail {
	return &Trail{coll: db.Collection("audit")}
}

// EnsureIndexes creates the indexes the list filters and the purge use on MongoDB.
func (t *Trail) EnsureIndexes(ctx context.Context) error {
	return interactions.EnsureIndexes(ctx, t.coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "actor", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "action", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "at", Value: 1}}},
	})
}

// Record appends an entry; its ID is set from its time (At, which Record truncates to
// the millisecond and turns to UTC). A failure is CodeUnavailable.
func (t *Trail) Record(ctx context.Context, e Entry) (Entry, error) {
	e.At = e.At.UTC().Truncate(time.Millisecond)
	e.ID = t.ids.next(e.At)
	if _, err := t.coll.InsertOne(ctx, e); err != nil {
		return e, interactions.Unavailable("record audit entry", err)
	}
	return e, nil
}

// Filter selects entries for List; zero fields select everything.
type Filter struct {
	Actor  string
	Action Action
	Since  time.Time // entries at or after
	Limit  int
	Cursor string
}

// List returns the entries matching f, newest first, and a cursor for the next page
// ("" when there is none). A malformed cursor is CodeInvalid on the field "cursor".
func (t *Trail) List(ctx context.Context, f Filter) ([]Entry, string, error) {
	q := bson.D{}
	if f.Actor != "" {
		q = append(q, bson.E{Key: "actor", Value: f.Actor})
	}
	if f.Action != "" {
		q = append(q, bson.E{Key: "action", Value: f.Action})
	}
	if !f.Since.IsZero() {
		q = append(q, bson.E{Key: "at", Value: bson.M{"$gte": f.Since.UTC()}})
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = append(q, bson.E{Key: "_id", Value: bson.M{"$lt": after}})
	}
	limit := max(f.Limit, 1)
	cur, err := t.coll.Find(ctx, q, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", interactions.Unavailable("list audit entries", err)
	}
	out := []Entry{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, "", interactions.Unavailable("list audit entries", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(out[limit-1].ID))
	}
	return out, next, nil
}

// decodeCursor reads a cursor List made: the id of the last entry of a page.
func decodeCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if _, perr := uuid.Parse(string(b)); perr == nil && len(b) == 36 {
			return string(b), nil
		}
	}
	return "", interactions.Invalid(interactions.FieldError{Field: "cursor", Message: "is not a cursor this service returned"})
}

// Purge deletes the entries older than before and returns how many it deleted.
func (t *Trail) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := t.coll.DeleteMany(ctx, bson.M{"at": bson.M{"$lt": before.UTC()}})
	if err != nil {
		return 0, interactions.Unavailable("purge audit entries", err)
	}
	return res.DeletedCount, nil
}

// idSource makes UUIDv7s whose timestamp is the entry's time. Ids made by one process
// are strictly increasing even within a millisecond (a 12-bit sequence in rand_a),
// and never go back in time: an entry whose time is earlier than the last one's gets
// the last one's millisecond, so _id order stays the order entries were written.
type idSource struct {
	mu     sync.Mutex
	lastMS int64
	seq    uint16
}

func (s *idSource) next(at time.Time) string {
	ms := at.UnixMilli()
	s.mu.Lock()
	if ms <= s.lastMS {
		ms = s.lastMS
		s.seq++
		if s.seq > 0x0fff {
			ms++
			s.seq = 0
		}
	} else {
		s.seq = 0
	}
	s.lastMS = ms
	seq := s.seq
	s.mu.Unlock()

	var u uuid.UUID
	if _, err := rand.Read(u[8:]); err != nil {
		panic(errors.New("audit: no randomness: " + err.Error()))
	}
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | byte(seq>>8&0x0f) // version 7
	u[7] = byte(seq)
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}

// Purger deletes the entries older than Retention once a day: the embedded store has
// no TTL index, so expiry is a job, as for the other collections.
type Purger struct {
	Trail *Trail
	Now   func() time.Time
	Log   *slog.Logger
}

// Start runs the purge a minute after start and then every 24 hours, until ctx ends.
func (p *Purger) Start(ctx context.Context) {
	go interactions.Daily(ctx, p.Log, "audit: purge entries older than 2 years", p.RunOnce)
}

// RunOnce deletes the entries older than Now − Retention and returns how many.
func (p *Purger) RunOnce(ctx context.Context) (int64, error) {
	return p.Trail.Purge(ctx, p.Now().Add(-Retention))
}
