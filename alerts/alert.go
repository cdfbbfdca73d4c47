package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/sla"
)

// State is where an alert stands.
type State string

// The alert states.
const (
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateSnoozed      State = "snoozed"
	StateResolved     State = "resolved"
)

// The channels an alert can go through: those a recruiter's directory.Channels name.
const (
	ChannelSMS   = directory.ChannelSMS
	ChannelEmail = directory.ChannelEmail
	ChannelTeams = directory.ChannelTeams
	ChannelSlack = directory.ChannelSlack
)

// The delivery statuses.
const (
	DeliveryPending  = "pending"
	DeliveryDeferred = "deferred"
	DeliverySent     = "sent"
	// DeliveryAccepted: the provider took it without confirming delivery (Teams
	// answers 202). Like sent, it reached someone: escalation counts from it.
	DeliveryAccepted  = "accepted"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one channel's attempt to bring an alert to its recipient.
type Delivery struct {
	Channel string `bson:"channel" json:"channel"` // sms, email, teams, slack or log
	// To is the number or email address; for teams, the recruiter's id (the
	// webhook URL, a secret, is read from the directory when sending); for slack, the
	// Slack user.
	To         string     `bson:"to" json:"to"`
	Status     string     `bson:"status" json:"status"`
	Attempts   int        `bson:"attempts" json:"attempts"`
	ProviderID string     `bson:"provider_id,omitempty" json:"provider_id,omitempty"`
	Error      string     `bson:"error,omitempty" json:"error,omitempty"`
	NextAt     time.Time  `bson:"next_at" json:"-"`                           // when to try next
	SentAt     *time.Time `bson:"sent_at,omitempty" json:"sent_at,omitempty"` // accepted by the provider
	Ambiguous  bool       `bson:"ambiguous,omitempty" json:"-"`               // the last try may have sent it
}

// Alert is one warning, breach or escalation of one clock, for one recipient. Its id
// is its unique key — the interaction that started the clock, the metric, the level
// and, for an escalation, its escalation level — so a transition handed over twice
// creates it once, and each level of an escalation chain exists once.
type Alert struct {
	ID    string `bson:"_id" json:"id"`
	Code  string `bson:"code" json:"code"`
	Level Level  `bson:"level" json:"level"`
	// EscalationLevel is 0 for the recruiter's own alert (a warning or breach) and n
	// for the n-th escalation, which goes n managers up the recruiter's chain.
	EscalationLevel  int        `bson:"escalation_level,omitempty" json:"escalation_level"`
	State            State      `bson:"state" json:"state"`
	ClockID          string     `bson:"clock_id" json:"clock_id"`
	ApplicationID    string     `bson:"application_id" json:"application_id"`
	CandidateID      string     `bson:"candidate_id" json:"candidate_id"`
	RecruiterID      string     `bson:"recruiter_id" json:"recruiter_id"` // who it went to
	OwnerID          string     `bson:"owner_id,omitempty" json:"-"`      // the application's recruiter
	JobID            string     `bson:"job_id,omitempty" json:"job_id,omitempty"`
	Metric           string     `bson:"metric" json:"metric"`
	PolicyID         string     `bson:"policy_id" json:"-"`
	DueAt            time.Time  `bson:"due_at" json:"due_at"`
	Deliveries       []Delivery `bson:"deliveries" json:"deliveries"`
	CreatedAt        time.Time  `bson:"created_at" json:"created_at"`
	FirstDeliveredAt *time.Time `bson:"first_delivered_at,omitempty" json:"first_delivered_at,omitempty"`
	EscalateAt       *time.Time `bson:"escalate_at,omitempty" json:"-"`
	Escalated        bool       `bson:"escalated,omitempty" json:"-"`
	SnoozedUntil     *time.Time `bson:"snoozed_until,omitempty" json:"snoozed_until,omitempty"`
	AcknowledgedAt   *time.Time `bson:"acknowledged_at,omitempty" json:"acknowledged_at,omitempty"`
	ResolvedAt       *time.Time `bson:"resolved_at,omitempty" json:"resolved_at,omitempty"`
	Resolution       string     `bson:"resolution,omitempty" json:"resolution,omitempty"`
	// Rev counts the changes made to the alert in memory; the deliveries stored with
	// it are those of revision Rev, so that a flush document (journal.go) older than
	// them is not applied over them.
	Rev int64 `bson:"rev,omitempty" json:"-"`
}

// AlertID is the unique key of an alert.
func AlertID(startedBy, metric string, level Level) string {
	return startedBy + ":" + metric + ":" + string(level)
}

// EscalationID is the id of the n-th escalation (n ≥ 1) of the breach alert breachID:
// the same clock start and metric, and the escalation level.
func EscalationID(breachID string, n int) string {
	return strings.TrimSuffix(breachID, ":"+string(LevelBreached)) + ":" + string(LevelEscalated) + ":" + strconv.Itoa(n)
}

// chainBase is what the ids of an escalation chain share: the id of its breach or
// escalation without the level.
func chainBase(a *Alert) string {
	if a.Level == LevelEscalated {
		if i := strings.LastIndex(a.ID, ":"+string(LevelEscalated)); i >= 0 {
			return a.ID[:i]
		}
	}
	return strings.TrimSuffix(a.ID, ":"+string(a.Level))
}

// Siblings returns the ids of the alerts of a's clock transition, a's first: its
// warning, its breach, and each level of the breach's escalation chain (up to
// sla.MaxEscalationsLimit), whether they exist or not.
func Siblings(a Alert) []string {
	base := chainBase(&a)
	out := []string{a.ID}
	add := func(id string) {
		if id != a.ID {
			out = append(out, id)
		}
	}
	add(base + ":" + string(LevelWarning))
	add(base + ":" + string(LevelBreached))
	add(base + ":" + string(LevelEscalated)) // stored before levels were recorded
	for n := 1; n <= sla.MaxEscalationsLimit; n++ {
		add(EscalationID(base+":"+string(LevelBreached), n))
	}
	return out
}

// escalationLevel is a's escalation level; an escalation stored before levels were
// recorded is the first.
func escalationLevel(a *Alert) int {
	if a.Level == LevelEscalated && a.EscalationLevel == 0 {
		return 1
	}
	return a.EscalationLevel
}

// alertCode is the short code an SMS reply names: four characters from the alert id,
// in an alphabet without look-alikes.
func alertCode(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base32.NewEncoding("23456789ABCDEFGHJKLMNPQRSTUVWXYZ").WithPadding(base32.NoPadding).EncodeToString(sum[:])[:4]
}

// Store keeps alerts in the "alerts" collection, found by _id, with what the pipeline
// writes per flush in "alert_flushes" (journal.go) and the SMS sent in "sms_messages",
// by Twilio's MessageSid.
type Store struct {
	coll     *mongo.Collection
	counts   *mongo.Collection // SMS the provider took, per number and day
	flushes  *mongo.Collection // flushDoc
	messages *mongo.Collection // smsMessage
	// known holds the numbers whose counter of knownDay is known to exist, so that
	// reserveSMS increments those at once and creates the others with one insert.
	knownMu  sync.Mutex
	knownDay string
	known    map[string]bool
	// since and legacy: mappedSince's answer, once known.
	sinceMu sync.Mutex
	since   time.Time
	legacy  bool
}

// NewStore returns the alert store over db.
func NewStore(db *mongo.Database) *Store {
	return &Store{coll: db.Collection("alerts"), counts: db.Collection("sms_counts"),
		flushes: db.Collection("alert_flushes"), messages: db.Collection("sms_messages")}
}

// EnsureIndexes creates the indexes the alert list uses on MongoDB.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	return interactions.EnsureIndexes(ctx, s.coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "recruiter_id", Value: 1}, {Key: "created_at", Value: -1}}},
		{Keys: bson.D{{Key: "state", Value: 1}}},
	})
}

// create stores new alerts with one bulk insert and reports which are new: false for
// one whose id exists already.
func (s *Store) create(ctx context.Context, alerts []Alert) ([]bool, error) {
	docs := make([]any, len(alerts))
	for i := range alerts {
		docs[i] = &alerts[i]
	}
	dups, err := interactions.InsertNew(ctx, s.coll, docs)
	if err != nil {
		return nil, interactions.Unavailable("create alerts", err)
	}
	created := make([]bool, len(alerts))
	for i := range created {
		created[i] = !dups[i]
	}
	return created, nil
}

// saveDeliveries writes what the pipeline changes: deliveries and escalation, as of
// the alert's revision. The state is written apart (saveState), so that an
// acknowledgement and a delivery recorded at the same moment do not undo each other.
func (s *Store) saveDeliveries(ctx context.Context, a *Alert) error {
	return s.set(ctx, a.ID, bson.M{
		"deliveries": a.Deliveries, "first_delivered_at": a.FirstDeliveredAt,
		"escalate_at": a.EscalateAt, "escalated": a.Escalated, "rev": a.Rev,
	})
}

// saveState writes what people and clocks change: the state and its times, and the
// escalation time a snooze postponed (when there is one).
func (s *Store) saveState(ctx context.Context, a *Alert) error {
	fields := bson.M{
		"state": a.State, "snoozed_until": a.SnoozedUntil, "acknowledged_at": a.AcknowledgedAt,
		"resolved_at": a.ResolvedAt, "resolution": a.Resolution,
	}
	if a.EscalateAt != nil {
		fields["escalate_at"] = a.EscalateAt
	}
	return s.set(ctx, a.ID, fields)
}

// saveEscalated notes that a breach has been escalated.
func (s *Store) saveEscalated(ctx context.Context, a *Alert) error {
	return s.set(ctx, a.ID, bson.M{"escalated": a.Escalated})
}

func (s *Store) set(ctx context.Context, id string, fields bson.M) error {
	if err := s.coll.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": fields}).Err(); err != nil {
		return interactions.Unavailable("save alert", err)
	}
	return nil
}

// Get returns one alert; CodeNotFound if there is none.
func (s *Store) Get(ctx context.Context, id string) (Alert, error) {
	var a Alert
	err := s.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return a, interactions.Errorf(interactions.CodeNotFound, "no alert %q", id)
	}
	if err != nil {
		return a, interactions.Unavailable("find alert", err)
	}
	return a, nil
}

// getMany returns the alerts with these ids that exist, in one read.
func (s *Store) getMany(ctx context.Context, ids []string) ([]Alert, error) {
	cur, err := s.coll.Find(ctx, bson.M{"_id": bson.M{"$in": ids}})
	if err != nil {
		return nil, interactions.Unavailable("read alerts", err)
	}
	var out []Alert
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("read alerts", err)
	}
	return out, nil
}

// Filter narrows List and Page.
type Filter struct {
	RecruiterIDs []string // any of these; nil means all
	State        State
	Level        Level
	Limit        int                  // at most this many; 0 means all
	After        *interactions.Cursor // Page: where the previous page ended
}

// Page returns a page of at most f.Limit alerts (newest first, then by id) after
// f.After, and the cursor of the next page ("" when there is none).
func (s *Store) Page(ctx context.Context, f Filter) ([]Alert, string, error) {
	limit := f.Limit
	if limit > 0 {
		f.Limit++ // one more tells whether another page follows
	}
	list, err := s.List(ctx, f)
	if err != nil || limit <= 0 || len(list) <= limit {
		return list, "", err
	}
	list = list[:limit]
	last := list[len(list)-1]
	return list, interactions.EncodeCursor(interactions.Cursor{T: last.CreatedAt, ID: last.ID}), nil
}

// List returns alerts, newest first, then by id; after f.After when it is set.
func (s *Store) List(ctx context.Context, f Filter) ([]Alert, error) {
	q := bson.M{}
	if f.RecruiterIDs != nil {
		q["recruiter_id"] = bson.M{"$in": f.RecruiterIDs}
	}
	if f.State != "" {
		q["state"] = f.State
	}
	if f.Level != "" {
		q["level"] = f.Level
	}
	if f.After != nil {
		q["$or"] = bson.A{
			bson.M{"created_at": bson.M{"$lt": f.After.T}},
			bson.M{"created_at": f.After.T, "_id": bson.M{"$gt": f.After.ID}},
		}
	}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}})
	if f.Limit > 0 {
		opts.SetLimit(int64(f.Limit))
	}
	cur, err := s.coll.Find(ctx, q, opts)
	if err != nil {
		return nil, interactions.Unavailable("list alerts", err)
	}
	out := []Alert{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, interactions.Unavailable("list alerts", err)
	}
	return out, nil
}

// unfinished returns the alerts that may still need work: open or snoozed.
func (s *Store) unfinished(ctx context.Context) ([]Alert, error) {
	cur, err := s.coll.Find(ctx, bson.M{"state": bson.M{"$in": bson.A{StateOpen, StateSnoozed}}})
	if err != nil {
		return nil, err
	}
	var out []Alert
	err = cur.All(ctx, &out)
	return out, err
}

// reserveSMS adds one to the day's count of SMS to each of numbers (all different)
// and returns the new counts, in order. The day's first SMS to a number creates its
// counter, and the counters a flush creates are one bulk insert; the others are
// incremented each by _id, side by side.
func (s *Store) reserveSMS(ctx context.Context, day string, numbers []string) ([]int, error) {
	counts := make([]int, len(numbers))
	var fresh []any
	var freshAt, rest []int
	for i, n := range numbers {
		if s.knownCounter(n, day) {
			rest = append(rest, i)
			continue
		}
		fresh = append(fresh, bson.M{"_id": n + "|" + day, "n": 1})
		freshAt = append(freshAt, i)
	}
	if len(fresh) > 0 {
		_, err := s.counts.InsertMany(ctx, fresh, options.InsertMany().SetOrdered(false))
		var bwe mongo.BulkWriteException
		if err != nil && (!errors.As(err, &bwe) || bwe.WriteConcernError != nil) {
			return nil, interactions.Unavailable("count SMS", err)
		}
		there := map[int]bool{} // counters another sender created first
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we) {
				return nil, interactions.Unavailable("count SMS", we)
			}
			there[we.Index] = true
		}
		for j, i := range freshAt {
			s.setKnown(numbers[i], day, true)
			if there[j] {
				rest = append(rest, i)
			} else {
				counts[i] = 1
			}
		}
	}
	errs := make([]error, len(numbers))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(counterWorkers, len(rest)) {
		wg.Go(func() {
			for i := range next {
				counts[i], errs[i] = s.reserveOne(ctx, numbers[i], day)
			}
		})
	}
	for _, i := range rest {
		next <- i
	}
	close(next)
	wg.Wait()
	return counts, errors.Join(errs...)
}

// counterWorkers is how many SMS counters reserveSMS increments at once.
const counterWorkers = 8

// reserveOne adds one to the SMS sent to a number on a day and returns the new count.
func (s *Store) reserveOne(ctx context.Context, number, day string) (int, error) {
	id := number + "|" + day
	for range 3 {
		if !s.knownCounter(number, day) {
			// Most likely the day's first: one insert (an upsert would scan on the
			// embedded store).
			_, err := s.counts.InsertOne(ctx, bson.M{"_id": id, "n": 1})
			if err != nil && !mongo.IsDuplicateKeyError(err) {
				return 0, interactions.Unavailable("count SMS", err)
			}
			s.setKnown(number, day, true)
			if err == nil {
				return 1, nil
			}
		}
		var doc struct {
			N int `bson:"n"`
		}
		err := s.counts.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$inc": bson.M{"n": 1}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
		if err == nil {
			return doc.N, nil
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return 0, interactions.Unavailable("count SMS", err)
		}
		s.setKnown(number, day, false) // purged meanwhile
	}
	return 0, errors.New("count SMS: the counter vanished")
}

func (s *Store) knownCounter(number, day string) bool {
	s.knownMu.Lock()
	defer s.knownMu.Unlock()
	return s.knownDay == day && s.known[number]
}

// setKnown notes whether number's counter of day exists; only one day is kept.
func (s *Store) setKnown(number, day string, exists bool) {
	s.knownMu.Lock()
	defer s.knownMu.Unlock()
	if s.knownDay != day {
		s.knownDay, s.known = day, map[string]bool{}
	}
	s.known[number] = exists
}

// releaseSMS takes back one SMS counted by reserveSMS that did not go out.
func (s *Store) releaseSMS(ctx context.Context, number, day string) error {
	err := s.counts.FindOneAndUpdate(ctx, bson.M{"_id": number + "|" + day}, bson.M{"$inc": bson.M{"n": -1}}).Err()
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return interactions.Unavailable("count SMS", err)
	}
	return nil
}
