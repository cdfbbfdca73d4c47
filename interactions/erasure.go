package interactions

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// The states of an erasure.
const (
	ErasurePending = "pending"
	ErasureRunning = "running"
	ErasureDone    = "done"
)

// Erasure is a request to remove one person's personal data from everything stored.
// The identifier it names (email or phone) is itself personal data and is cleared when
// the erasure is done.
type Erasure struct {
	ID           string     `bson:"_id" json:"id"`
	State        string     `bson:"state" json:"state"`
	CandidateID  string     `bson:"candidate_id,omitempty" json:"-"`
	Email        string     `bson:"email,omitempty" json:"-"`
	Phone        string     `bson:"phone,omitempty" json:"-"`
	Candidates   int        `bson:"candidates" json:"candidates"`
	Interactions int        `bson:"interactions" json:"interactions"`
	CreatedAt    time.Time  `bson:"created_at" json:"created_at"`
	DoneAt       *time.Time `bson:"done_at,omitempty" json:"done_at,omitempty"`
}

// ErasureTarget is everything that identifies one person: their candidate ids,
// emails and phones. Erasers of other packages (raw webhook payloads, alerts) are
// handed it.
type ErasureTarget struct {
	CandidateIDs []string
	Emails       []string
	Phones       []string
}

// EraseFunc removes a person's personal data from what another package stores. It
// must be idempotent: an erasure interrupted by a crash runs again.
type EraseFunc func(ctx context.Context, target ErasureTarget) error

// Eraser runs erasures in the background, resuming unfinished ones at start.
type Eraser struct {
	store  *Store
	guard  *Tombstones
	log    *slog.Logger
	now    func() time.Time
	others []EraseFunc
	work   chan string
}

// EraserConfig is what an eraser is built from.
type EraserConfig struct {
	Store *Store
	Guard *Tombstones
	Log   *slog.Logger
	Now   func() time.Time
	// Others erase what other packages keep of the person (in memory, raw payloads,
	// messages sent), in order, after the log and derived state.
	Others []EraseFunc
}

// NewEraser returns an eraser; Start runs it.
func NewEraser(cfg EraserConfig) *Eraser {
	return &Eraser{store: cfg.Store, guard: cfg.Guard, log: cfg.Log, now: cfg.Now, others: cfg.Others, work: make(chan string, 100)}
}

// Start resumes unfinished erasures and then runs new ones until ctx ends.
func (e *Eraser) Start(ctx context.Context) error {
	cur, err := e.store.erasures.Find(ctx, bson.M{"state": bson.M{"$ne": ErasureDone}})
	if err != nil {
		return Unavailable("find unfinished erasures", err)
	}
	var pending []Erasure
	if err := cur.All(ctx, &pending); err != nil {
		return Unavailable("find unfinished erasures", err)
	}
	go func() {
		for _, er := range pending {
			e.runRetrying(ctx, er.ID)
		}
		for {
			select {
			case id := <-e.work:
				e.runRetrying(ctx, id)
			case <-ctx.Done():
				return
			}
		}
	}()
	return nil
}

// Request records an erasure of the person named by exactly one of candidateID,
// email or phone, and queues it. The erasure is durable when Request returns.
func (e *Eraser) Request(ctx context.Context, candidateID, email, phone string) (Erasure, error) {
	return e.request(ctx, NewID(), candidateID, email, phone)
}

func (e *Eraser) request(ctx context.Context, id, candidateID, email, phone string) (Erasure, error) {
	n := 0
	for _, v := range []string{candidateID, email, phone} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return Erasure{}, Invalid(FieldError{"body", "name exactly one of candidate_id, email or phone"})
	}
	er := Erasure{
		ID:          id,
		State:       ErasurePending,
		CandidateID: candidateID,
		Email:       strings.ToLower(strings.TrimSpace(email)),
		Phone:       strings.TrimSpace(phone),
		CreatedAt:   e.now().UTC().Truncate(time.Millisecond),
	}
	if _, err := e.store.erasures.InsertOne(ctx, er); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return Erasure{}, &Error{Code: CodeConflict, Message: "that erasure exists already", Err: err}
		}
		return Erasure{}, Unavailable("record erasure", err)
	}
	select {
	case e.work <- er.ID:
	default: // the queue is full; the next start resumes it
	}
	return er, nil
}

// Erasure returns an erasure's state; CodeNotFound if there is none.
func (e *Eraser) Erasure(ctx context.Context, id string) (Erasure, error) {
	var er Erasure
	err := e.store.erasures.FindOne(ctx, bson.M{"_id": id}).Decode(&er)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return er, Errorf(CodeNotFound, "no erasure %q", id)
	}
	if err != nil {
		return er, Unavailable("find erasure", err)
	}
	return er, nil
}

func (e *Eraser) runRetrying(ctx context.Context, id string) {
	backoff := time.Second
	for {
		err := e.run(ctx, id)
		if err == nil || ctx.Err() != nil {
			return
		}
		e.log.Warn("erasure failed; retrying", "erasure", id, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// run carries out one erasure. Every step is idempotent, so an interrupted erasure
// simply runs again.
func (e *Eraser) run(ctx context.Context, id string) error {
	er, err := e.Erasure(ctx, id)
	if err != nil || er.State == ErasureDone {
		return err
	}
	if err := e.store.erasures.FindOneAndUpdate(ctx,
		bson.M{"_id": id}, bson.M{"$set": bson.M{"state": ErasureRunning}}).Err(); err != nil {
		return err
	}
	target, err := e.store.resolve(ctx, er)
	if err != nil {
		return err
	}
	if err := e.guard.Bury(ctx, target.CandidateIDs, target.Emails, target.Phones); err != nil {
		return err
	}
	res, err := e.store.interactions.UpdateMany(ctx,
		bson.M{"candidate_id": bson.M{"$in": target.CandidateIDs}},
		bson.M{"$unset": bson.M{"candidate": "", "metadata": ""}, "$set": bson.M{"erased": true}})
	if err != nil {
		return err
	}
	if _, err := e.store.candidates.UpdateMany(ctx,
		bson.M{"_id": bson.M{"$in": target.CandidateIDs}},
		bson.M{"$unset": bson.M{"name": "", "email": "", "phone": ""}, "$set": bson.M{"erased": true}}); err != nil {
		return err
	}
	var keys []string
	for _, m := range target.Emails {
		keys = append(keys, "email:"+strings.ToLower(m))
	}
	for _, p := range target.Phones {
		keys = append(keys, "phone:"+p)
	}
	if len(keys) > 0 {
		if _, err := e.store.contacts.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": keys}}); err != nil {
			return err
		}
	}
	for _, f := range e.others {
		if err := f(ctx, target); err != nil {
			return err
		}
	}
	done := e.now().UTC().Truncate(time.Millisecond)
	return e.store.erasures.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{
		"$set":   bson.M{"state": ErasureDone, "done_at": done, "candidates": len(target.CandidateIDs), "interactions": res.ModifiedCount},
		"$unset": bson.M{"email": "", "phone": "", "candidate_id": ""},
	}).Err()
}

// resolve finds every candidate id, email and phone that belongs to the person an
// erasure names.
func (s *Store) resolve(ctx context.Context, er Erasure) (ErasureTarget, error) {
	ids := map[string]bool{}
	emails := map[string]bool{}
	phones := map[string]bool{}
	if er.CandidateID != "" {
		ids[er.CandidateID] = true
	}
	if er.Email != "" {
		emails[er.Email] = true
	}
	if er.Phone != "" {
		phones[er.Phone] = true
	}
	// Who used this email or phone: the lookups the projector keeps, and the log
	// itself for what the projector has not applied yet.
	var contactKeys []string
	var logFilter bson.A
	if er.Email != "" {
		contactKeys = append(contactKeys, "email:"+er.Email)
		logFilter = append(logFilter, bson.M{"candidate.email": bson.M{"$regex": "^" + regexp.QuoteMeta(er.Email) + "$", "$options": "i"}})
	}
	if er.Phone != "" {
		contactKeys = append(contactKeys, "phone:"+er.Phone)
		logFilter = append(logFilter, bson.M{"candidate.phone": er.Phone})
	}
	if len(contactKeys) > 0 {
		cur, err := s.contacts.Find(ctx, bson.M{"_id": bson.M{"$in": contactKeys}})
		if err != nil {
			return ErasureTarget{}, err
		}
		var docs []struct {
			CandidateIDs []string `bson:"candidate_ids"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return ErasureTarget{}, err
		}
		for _, d := range docs {
			for _, id := range d.CandidateIDs {
				ids[id] = true
			}
		}
		if err := s.eachInteraction(ctx, bson.M{"$or": logFilter}, func(it Interaction) {
			ids[it.CandidateID] = true
		}); err != nil {
			return ErasureTarget{}, err
		}
	}
	// Every email and phone those candidates were known by.
	idList := keys(ids)
	if err := s.eachInteraction(ctx, bson.M{"candidate_id": bson.M{"$in": idList}}, func(it Interaction) {
		if it.Candidate != nil {
			if it.Candidate.Email != "" {
				emails[strings.ToLower(it.Candidate.Email)] = true
			}
			if it.Candidate.Phone != "" {
				phones[it.Candidate.Phone] = true
			}
		}
	}); err != nil {
		return ErasureTarget{}, err
	}
	return ErasureTarget{CandidateIDs: idList, Emails: keys(emails), Phones: keys(phones)}, nil
}

func (s *Store) eachInteraction(ctx context.Context, filter bson.M, f func(Interaction)) error {
	cur, err := s.interactions.Find(ctx, filter)
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var it Interaction
		if err := cur.Decode(&it); err != nil {
			return err
		}
		f(it)
	}
	return cur.Err()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
