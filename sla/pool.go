package sla

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// MetricNurture is the metric of a pool member's nurture clock: from pool_added, and
// from every contact with the candidate since, to the next contact, due one of the
// pool's cadences later. Pools, not policies, set its target: it is not one of
// Metrics(), and no policy can name it.
const MetricNurture Metric = "nurture"

// ClockMetric reports whether m names a metric a clock can have: one of Metrics() or
// MetricNurture.
func ClockMetric(m Metric) bool { return m == MetricNurture || m.Valid() }

// Pool is a talent pool: candidates kept warm (prospects, leads, silver medalists),
// each member to be contacted at least once per Cadence.
type Pool struct {
	ID   string `bson:"_id" json:"id"`
	Name string `bson:"name" json:"name"`
	// Cadence is the time allowed between touches, counted on Calendar: "42d" on the
	// business calendar is 42 business days.
	Cadence interactions.Duration `bson:"cadence" json:"cadence"`
	// Calendar is CalendarBusiness or Calendar24x7.
	Calendar string `bson:"calendar" json:"calendar"`
	// OwnerID is the recruiter who nurtures the pool; nurture alerts go to them.
	OwnerID string `bson:"owner_id,omitempty" json:"owner_id"`
	// WarnRatio is the fraction of the cadence after which a clock warns, in (0, 1].
	WarnRatio float64 `bson:"warn_ratio" json:"warn_ratio"`
	// Alerts false records nurture warnings and breaches without alerting anyone. A
	// pool without an owner alerts no one either.
	Alerts    bool      `bson:"alerts" json:"alerts"`
	CreatedAt time.Time `bson:"created_at" json:"-"`
	UpdatedAt time.Time `bson:"updated_at" json:"-"`
}

// DefaultPool is a pool created by a pool_added naming an unknown pool (an ATS's
// prospects or leads): 42 business days, no owner, no alerts until an admin sets an
// owner, so that a backlog of old prospects does not alert at once.
func DefaultPool(id string, now time.Time) Pool {
	return Pool{
		ID: id, Name: id, Cadence: interactions.MustParseDuration("42d"), Calendar: CalendarBusiness,
		WarnRatio: DefaultWarnRatio, CreatedAt: now, UpdatedAt: now,
	}
}

// WithDefaults fills the unset fields: the business calendar, DefaultWarnRatio, the id
// as name.
func (p Pool) WithDefaults() Pool {
	if p.Calendar == "" {
		p.Calendar = CalendarBusiness
	}
	if p.WarnRatio == 0 {
		p.WarnRatio = DefaultWarnRatio
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	return p
}

// Validate checks a pool, one FieldError per problem, named as in the JSON.
func (p Pool) Validate() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !interactions.PoolIDPattern.MatchString(p.ID) {
		add("id", "must be 1 to 64 lower-case letters, digits, '.', '_' or '-'")
	}
	if len(p.Name) > maxScopeEntry {
		add("name", "must be at most %d characters", maxScopeEntry)
	}
	if p.Cadence.IsZero() {
		add("cadence", "is required: a duration like 42d, 36h, 30m or 4s")
	}
	switch p.Calendar {
	case "", CalendarBusiness, Calendar24x7:
	default:
		add("calendar", "must be %q or %q", CalendarBusiness, Calendar24x7)
	}
	if len(p.OwnerID) > 200 {
		add("owner_id", "must be at most 200 characters")
	}
	if math.IsNaN(p.WarnRatio) || p.WarnRatio < 0 || p.WarnRatio > 1 {
		add("warn_ratio", "must be more than 0 and at most 1 (0 means the default %.2f)", DefaultWarnRatio)
	}
	return errs
}

// PolicyOf is the policy_id nurture clocks of a pool carry: "pool:<id>".
func poolPolicyID(poolID string) string { return "pool:" + poolID }

// PoolOf returns the id of the pool whose nurture clock carries policyID, and whether
// it is one.
func PoolOf(policyID string) (string, bool) {
	if len(policyID) > 5 && policyID[:5] == "pool:" {
		return policyID[5:], true
	}
	return "", false
}

// Pools returns every pool, by id.
func (s *Store) Pools(ctx context.Context) ([]Pool, error) {
	cur, err := s.pools.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, interactions.Unavailable("list pools", err)
	}
	var out []Pool
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("list pools", err)
	}
	return out, nil
}

// SavePool stores p, keeping its creation time.
func (s *Store) SavePool(ctx context.Context, p Pool) error {
	_, err := s.pools.ReplaceOne(ctx, bson.M{"_id": p.ID}, p, options.Replace().SetUpsert(true))
	if err != nil {
		return interactions.Unavailable("save pool", err)
	}
	return nil
}

// addPools inserts pools that do not exist yet; existing ones are left as they are.
func (s *Store) addPools(ctx context.Context, ps []Pool) error {
	docs := make([]any, len(ps))
	for i, p := range ps {
		docs[i] = p
	}
	if _, err := interactions.InsertNew(ctx, s.pools, docs); err != nil {
		return interactions.Unavailable("create pools", err)
	}
	return nil
}

// DeletePool removes a pool.
func (s *Store) DeletePool(ctx context.Context, id string) error {
	err := s.pools.FindOneAndDelete(ctx, bson.M{"_id": id}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return interactions.Unavailable("delete pool", err)
	}
	return nil
}

// DeriveNurture computes the nurture clocks of a candidate's nurture document (id
// docID, see interactions.NurtureID) from its events: one clock per membership and
// contact, on each pool's cadence and calendar. Like Derive, it is pure and orders
// the events inside. Rules:
//   - pool_added starts a membership of its pool and a clock due one cadence later; a
//     pool_added while already a member changes nothing. A pool unknown to pools
//     (deleted) gives no clock.
//   - every contact with the candidate (of any application, or candidate-level) stops
//     the open clock of each membership — met, or breached when past due — and starts
//     the next one from the contact.
//   - pool_removed ends the membership: its clock stops canceled (breached when past
//     due).
//   - the first application_received after pool_added converts the membership: its
//     clock stops the same way and no clock follows (see Memberships).
func DeriveNurture(docID string, events []interactions.Interaction, pools map[string]Pool, cals map[string]BusinessClock, now time.Time) []Clock {
	sorted := slices.Clone(events)
	interactions.SortEvents(sorted)
	var out []Clock
	open := map[string]int{} // pool id → index in out of the membership's open clock
	start := func(poolID string, by *interactions.Interaction) {
		pool, ok := pools[poolID]
		if !ok {
			return
		}
		pool = pool.WithDefaults()
		cal, ok := cals[pool.Calendar]
		var calNote string
		if !ok || cal == nil {
			cal = Wall{}
			if pool.Calendar != Calendar24x7 {
				calNote = fmt.Sprintf("calendar %q unavailable: counted 24x7", pool.Calendar)
			}
		}
		at := by.OccurredAt
		due, rules := cal.Explain(at, pool.Cadence)
		c := Clock{
			ClockID:         clockID(docID, MetricNurture, poolID, by.ID),
			ApplicationID:   docID,
			PolicyID:        poolPolicyID(poolID),
			Metric:          MetricNurture,
			State:           StateRunning,
			StartedAt:       ms(at),
			DueAt:           ms(due),
			WarnAt:          ms(minTime(cal.WarnAt(at, pool.Cadence, pool.WarnRatio), due)),
			Explain:         []string{fmt.Sprintf("started by %s at %s", by.Kind, apiTime(at))},
			StartedBy:       by.ID,
			StartReceivedAt: ms(by.ReceivedAt),
		}
		c.Explain = append(c.Explain, fmt.Sprintf("pool %s: a touch every %s on the %s calendar", poolID, pool.Cadence, pool.Calendar))
		c.Explain = append(c.Explain, rules...)
		if calNote != "" {
			c.Explain = append(c.Explain, calNote)
		}
		open[poolID] = len(out)
		out = append(out, c)
	}
	stop := func(poolID string, e *interactions.Interaction, met bool, note string) {
		i, ok := open[poolID]
		if !ok {
			return
		}
		delete(open, poolID)
		c := &out[i]
		t := ms(e.OccurredAt)
		switch {
		case t.After(c.DueAt):
			c.State = StateBreached
		case met:
			c.State = StateMet
		default:
			c.State = StateCanceled
		}
		c.StoppedAt = &t
		line := fmt.Sprintf("stopped by %s at %s", e.Kind, apiTime(t))
		if note != "" {
			line += ": " + note
		}
		if c.State == StateBreached {
			line += " (after the due time)"
		}
		c.Explain = append(c.Explain, line)
	}
	members := map[string]bool{}
	memberPools := func() []string {
		ids := make([]string, 0, len(members))
		for id := range members {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	for i := range sorted {
		e := &sorted[i]
		switch {
		case e.Kind == interactions.KindPoolAdded:
			if !members[e.PoolID] {
				members[e.PoolID] = true
				start(e.PoolID, e)
			}
		case e.Kind == interactions.KindPoolRemoved:
			if members[e.PoolID] {
				delete(members, e.PoolID)
				stop(e.PoolID, e, false, "removed from the pool")
			}
		case e.Kind == interactions.KindApplicationReceived:
			for _, id := range memberPools() {
				delete(members, id)
				stop(id, e, false, "the candidate applied")
			}
		case e.IsContact():
			for _, id := range memberPools() {
				stop(id, e, true, "")
				start(id, e)
			}
		}
	}
	for i := range out {
		if out[i].Open() {
			out[i].State = out[i].StateAt(now)
		}
	}
	sortClocks(out)
	return out
}
