package directory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// Store is the recruiters directory in MongoDB: the "recruiters" collection keyed by
// recruiter id, and "recruiter_phones" mapping an E.164 number (its _id) to the recruiter
// id, so that an inbound SMS is matched with one {_id} lookup. Errors are
// *interactions.Error: CodeNotFound, CodeInvalid, or CodeUnavailable for store failures.
type Store struct {
	recruiters *mongo.Collection
	phones     *mongo.Collection

	// Recipient reads a copy of the whole directory kept in memory (it is small), so
	// that an alert finds its recipient without a round trip. A write through this
	// Store updates the copy; when it is older than snapshotTTL it is read again,
	// in the background (the old copy serves meanwhile), so changes made through
	// another replica reach it within snapshotTTL and the time to read it.
	gen        atomic.Uint64 // bumped by every write (wrote)
	snapMu     sync.Mutex
	snap       map[string]Recruiter
	snapGen    uint64
	snapTime   time.Time
	refreshing bool // a background read is running
}

// snapshotTTL bounds how stale Recipient's copy of the directory may be.
const snapshotTTL = 5 * time.Second

// NewStore returns the directory stored in db.
func NewStore(db *mongo.Database) *Store {
	return &Store{recruiters: db.Collection("recruiters"), phones: db.Collection("recruiter_phones")}
}

type phoneDoc struct {
	Phone       string `bson:"_id"`
	RecruiterID string `bson:"recruiter_id"`
}

// Get returns the recruiter with id, or a CodeNotFound error.
func (d *Store) Get(ctx context.Context, id string) (Recruiter, error) {
	r, ok, err := d.find(ctx, id)
	if err != nil {
		return Recruiter{}, err
	}
	if !ok {
		return Recruiter{}, interactions.Errorf(interactions.CodeNotFound, "no recruiter %q", id)
	}
	return r, nil
}

func (d *Store) find(ctx context.Context, id string) (Recruiter, bool, error) {
	var r Recruiter
	err := d.recruiters.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Recruiter{}, false, nil
	}
	if err != nil {
		return Recruiter{}, false, interactions.Unavailable("get recruiter", err)
	}
	r.normalise()
	return r, true, nil
}

// List returns every recruiter, sorted by id. The directory is small (one entry per
// recruiter), so it is read whole.
func (d *Store) List(ctx context.Context) ([]Recruiter, error) {
	cur, err := d.recruiters.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, interactions.Unavailable("list recruiters", err)
	}
	out := []Recruiter{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("list recruiters", err)
	}
	for i := range out {
		out[i].normalise()
	}
	slices.SortFunc(out, func(a, b Recruiter) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Put creates or replaces r, which the caller has validated (Recruiter.Validate); created
// says which. It claims r's phone in the phone mapping first: a phone that belongs to
// another recruiter is a CodeInvalid error on "phone". A crash midway leaves at worst a
// stale mapping, which ByPhone ignores and the next Put of that phone takes over.
func (d *Store) Put(ctx context.Context, r Recruiter) (created bool, err error) {
	defer func() { d.wrote(r, err) }()
	if r.Phone != "" {
		if err := d.claimPhone(ctx, r.Phone, r.ID); err != nil {
			return false, err
		}
	}
	var old Recruiter
	err = d.recruiters.FindOneAndReplace(ctx, bson.D{{Key: "_id", Value: r.ID}}, r).Decode(&old)
	if errors.Is(err, mongo.ErrNoDocuments) {
		_, err = d.recruiters.InsertOne(ctx, r)
		created = true
		if mongo.IsDuplicateKeyError(err) { // created concurrently: replace it
			created = false
			err = d.recruiters.FindOneAndReplace(ctx, bson.D{{Key: "_id", Value: r.ID}}, r).Decode(&old)
		}
	}
	if err != nil {
		return false, interactions.Unavailable("put recruiter", err)
	}
	if old.Phone != "" && old.Phone != r.Phone {
		_, err := d.phones.DeleteOne(ctx, bson.D{{Key: "_id", Value: old.Phone}, {Key: "recruiter_id", Value: r.ID}})
		if err != nil {
			return created, interactions.Unavailable("release recruiter phone", err)
		}
	}
	return created, nil
}

// wrote brings the copy in memory up to date after a write of r that ended with err,
// so that Recipient and ByEmail see it at once. Every method that writes a recruiter
// calls it once the write is over, whatever its outcome.
func (d *Store) wrote(r Recruiter, err error) {
	gen := d.gen.Add(1)
	if err != nil {
		return
	}
	d.snapMu.Lock()
	defer d.snapMu.Unlock()
	if d.snap != nil && d.snapGen+1 == gen { // no other write since the copy was read
		snap := maps.Clone(d.snap)
		snap[r.ID] = r
		d.snap, d.snapGen = snap, gen
	}
}

// claimPhone maps phone to id unless another recruiter holds it.
func (d *Store) claimPhone(ctx context.Context, phone, id string) error {
	_, err := d.phones.InsertOne(ctx, phoneDoc{Phone: phone, RecruiterID: id})
	if err == nil {
		return nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return interactions.Unavailable("claim recruiter phone", err)
	}
	var cur phoneDoc
	if err := d.phones.FindOne(ctx, bson.D{{Key: "_id", Value: phone}}).Decode(&cur); err != nil {
		return interactions.Unavailable("claim recruiter phone", err)
	}
	if cur.RecruiterID == id {
		return nil
	}
	owner, ok, err := d.find(ctx, cur.RecruiterID)
	if err != nil {
		return err
	}
	if ok && owner.Phone == phone {
		return interactions.Invalid(interactions.FieldError{Field: "phone", Message: fmt.Sprintf("is already the phone of recruiter %q", owner.ID)})
	}
	// A stale mapping: take it over, unless someone else just did.
	res, err := d.phones.UpdateOne(ctx, bson.D{{Key: "_id", Value: phone}, {Key: "recruiter_id", Value: cur.RecruiterID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "recruiter_id", Value: id}}}})
	if err != nil {
		return interactions.Unavailable("claim recruiter phone", err)
	}
	if res.MatchedCount == 0 {
		return interactions.Invalid(interactions.FieldError{Field: "phone", Message: "is being given to another recruiter"})
	}
	return nil
}

// ByPhone returns the recruiter whose phone is the E.164 number phone, for inbound SMS.
func (d *Store) ByPhone(ctx context.Context, phone string) (Recruiter, bool, error) {
	var m phoneDoc
	err := d.phones.FindOne(ctx, bson.D{{Key: "_id", Value: phone}}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Recruiter{}, false, nil
	}
	if err != nil {
		return Recruiter{}, false, interactions.Unavailable("find recruiter by phone", err)
	}
	r, ok, err := d.find(ctx, m.RecruiterID)
	if err != nil || !ok || r.Phone != phone { // a stale mapping
		return Recruiter{}, false, err
	}
	return r, true, nil
}

// Recipient returns who should get an alert for recruiterID at now: the recruiter, or,
// while its away_until is after now and its delegate exists and is active, the
// delegate (one hop: a delegate who is away too still gets it, so delegation never
// loops). An unknown or empty recruiterID falls back to the recruiter "default"
// (itself subject to delegation). An inactive recruiter gets nothing: its active
// delegate does, else an active "default". With no one, the error is CodeNotFound.
// It reads the directory's copy in memory (see Store), fetched again when it is
// older than 5 s by now.
func (d *Store) Recipient(ctx context.Context, recruiterID string, now time.Time) (Recruiter, error) {
	all, err := d.snapshot(ctx, now)
	if err != nil {
		return Recruiter{}, err
	}
	r, ok := Recruiter{}, false
	if recruiterID != "" {
		r, ok = all[recruiterID]
	}
	if !ok {
		if r, ok = all[DefaultRecruiterID]; !ok {
			return Recruiter{}, interactions.Errorf(interactions.CodeNotFound,
				"no recruiter %q and no %q recruiter", recruiterID, DefaultRecruiterID)
		}
	}
	delegate, hasDelegate := Recruiter{}, false
	if r.DelegateID != "" && r.DelegateID != r.ID {
		delegate, hasDelegate = all[r.DelegateID]
		hasDelegate = hasDelegate && delegate.IsActive()
	}
	if !r.IsActive() {
		if hasDelegate {
			return delegate, nil
		}
		if def, ok := all[DefaultRecruiterID]; ok && def.ID != r.ID && def.IsActive() {
			return def, nil
		}
		return Recruiter{}, interactions.Errorf(interactions.CodeNotFound,
			"recruiter %q is inactive, with no active delegate or %q recruiter", r.ID, DefaultRecruiterID)
	}
	if r.AwayUntil != nil && now.Before(*r.AwayUntil) && hasDelegate {
		return delegate, nil
	}
	return r, nil
}

// ByEmail returns the recruiters whose email is email, compared without regard to
// case, active or not, sorted by id. It reads the directory's copy in memory, read
// again first when it is older than maxAge at now (so a change made through another
// replica counts within maxAge).
func (d *Store) ByEmail(ctx context.Context, email string, now time.Time, maxAge time.Duration) ([]Recruiter, error) {
	d.snapMu.Lock()
	stale := d.snap == nil || now.Sub(d.snapTime) > maxAge
	d.snapMu.Unlock()
	if stale {
		gen := d.gen.Load()
		snap, err := d.read(ctx)
		if err != nil {
			return nil, err
		}
		d.snapMu.Lock()
		if d.gen.Load() == gen {
			d.snap, d.snapGen, d.snapTime = snap, gen, now
		}
		d.snapMu.Unlock()
	}
	all, err := d.snapshot(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []Recruiter
	for _, r := range all {
		if r.Email != "" && strings.EqualFold(r.Email, email) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Recruiter) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// snapshot returns the directory by id, read again if a write came since that it could
// not apply, or it is from after now; when it is older than snapshotTTL at now it is
// read again in the background. The map must not be changed.
func (d *Store) snapshot(ctx context.Context, now time.Time) (map[string]Recruiter, error) {
	d.snapMu.Lock()
	defer d.snapMu.Unlock()
	gen := d.gen.Load()
	if d.snap != nil && d.snapGen == gen && !now.Before(d.snapTime) {
		if now.Sub(d.snapTime) >= snapshotTTL && !d.refreshing {
			d.refreshing = true
			go d.refresh(now)
		}
		return d.snap, nil
	}
	snap, err := d.read(ctx)
	if err != nil {
		return nil, err
	}
	d.snap, d.snapGen, d.snapTime = snap, gen, now
	return d.snap, nil
}

// refresh reads the directory again for snapshot, keeping the copy it reads unless a
// write came meanwhile (then the next snapshot reads it).
func (d *Store) refresh(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gen := d.gen.Load()
	snap, err := d.read(ctx)
	d.snapMu.Lock()
	defer d.snapMu.Unlock()
	d.refreshing = false
	if err == nil && d.gen.Load() == gen {
		d.snap, d.snapGen, d.snapTime = snap, gen, now
	}
}

// read returns the whole directory by id.
func (d *Store) read(ctx context.Context) (map[string]Recruiter, error) {
	list, err := d.List(ctx)
	if err != nil {
		return nil, err
	}
	snap := make(map[string]Recruiter, len(list))
	for _, r := range list {
		snap[r.ID] = r
	}
	return snap, nil
}

// Reports returns the ids of the recruiters whose manager_id is one of managerIDs, in
// the order the store gives them. It reads the store, not the copy in memory, so a
// change made through any replica counts at once.
func (d *Store) Reports(ctx context.Context, managerIDs []string) ([]string, error) {
	cur, err := d.recruiters.Find(ctx, bson.M{"manager_id": bson.M{"$in": managerIDs}})
	if err != nil {
		return nil, interactions.Unavailable("find reports", err)
	}
	var reports []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &reports); err != nil {
		return nil, interactions.Unavailable("find reports", err)
	}
	ids := make([]string, len(reports))
	for i, r := range reports {
		ids[i] = r.ID
	}
	return ids, nil
}
