package alerts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// DefaultRecruiterID is the recruiter alerted for applications with no known recruiter.
const DefaultRecruiterID = "default"

// The channels an alert can go through.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Recruiter is an entry of the recruiters directory.
type Recruiter struct {
	ID         string     `json:"id" bson:"_id"`
	Name       string     `json:"name" bson:"name"`
	Email      string     `json:"email,omitempty" bson:"email,omitempty"`
	Phone      string     `json:"phone,omitempty" bson:"phone,omitempty"` // E.164
	Timezone   string     `json:"timezone,omitempty" bson:"timezone,omitempty"`
	Team       string     `json:"team,omitempty" bson:"team,omitempty"`
	ManagerID  string     `json:"manager_id,omitempty" bson:"manager_id,omitempty"`
	DelegateID string     `json:"delegate_id,omitempty" bson:"delegate_id,omitempty"`
	AwayUntil  *time.Time `json:"away_until,omitempty" bson:"away_until,omitempty"`
	Channels   Channels   `json:"channels" bson:"channels"`
	// QuietHours, if set, is a daily window in the recruiter's time zone when no alert
	// is delivered.
	QuietHours  *QuietHours `json:"quiet_hours,omitempty" bson:"quiet_hours,omitempty"`
	WorkingDays []string    `json:"working_days" bson:"working_days"` // "mon" … "sun"
	// Active is false for someone who left or no longer recruits (an admin or the ATS
	// sync says so): an inactive recruiter gets no alerts (its delegate or the
	// "default" recruiter does) and signs in as no one. nil (an entry stored before
	// the field existed, or a PUT without it) means true; Validate and the directory's
	// reads fill it in, so callers may use IsActive or *Active.
	Active *bool `json:"active" bson:"active,omitempty"`
}

// IsActive reports whether the recruiter is active (nil counts as active).
func (r Recruiter) IsActive() bool { return r.Active == nil || *r.Active }

// normalise fills in what an entry read from the store may lack.
func (r *Recruiter) normalise() {
	if r.Active == nil {
		t := true
		r.Active = &t
	}
}

// Channels lists, per alert level, the channels ("sms", "email") used to reach the
// recruiter. A nil list takes the default (see Recruiter.Validate); an empty one turns
// that level's alerts off for this recruiter.
type Channels struct {
	Warning   []string `json:"warning" bson:"warning"`
	Breached  []string `json:"breached" bson:"breached"`
	Escalated []string `json:"escalated" bson:"escalated"`
}

// For returns the channels for alerts of level l.
func (c Channels) For(l Level) []string {
	switch l {
	case LevelWarning:
		return c.Warning
	case LevelBreached:
		return c.Breached
	case LevelEscalated:
		return c.Escalated
	}
	return nil
}

// QuietHours is a daily window, "HH:MM" to "HH:MM" local time, start inclusive and end
// exclusive; it wraps midnight when End is before Start ("20:00" to "08:00").
type QuietHours struct {
	Start string `json:"start" bson:"start"`
	End   string `json:"end" bson:"end"`
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // indexed by time.Weekday

// Defaults filled in by Validate.
var (
	DefaultWorkingDays       = []string{"mon", "tue", "wed", "thu", "fri"}
	DefaultWarningChannels   = []string{ChannelEmail}
	DefaultBreachedChannels  = []string{ChannelSMS, ChannelEmail}
	DefaultEscalatedChannels = []string{ChannelSMS}
)

const maxIDLen = 128

// Validate normalises r (trims, lower-cases days and channels, sorts working days into
// week order), fills in defaults, and returns what is wrong with it; nil means r may be
// stored. Defaults: working days Monday–Friday; channels warning [email], breached [sms,
// email], escalated [sms] for each level left unset (nil); no quiet hours. An empty
// Timezone means the organisation's (see QuietUntil).
//
// smsCountries (ISO 3166 codes, e.g. "US", "GB") are the countries whose numbers may get
// SMS (GOODWILL_SMS_COUNTRIES): the phone must be E.164 and within one of them (see
// CallingCodes). A manager or delegate may not be the recruiter itself.
func (r *Recruiter) Validate(smsCountries []string) []interactions.FieldError {
	var errs []interactions.FieldError
	bad := func(field, msg string) { errs = append(errs, interactions.FieldError{Field: field, Message: msg}) }

	r.ID = strings.TrimSpace(r.ID)
	switch {
	case r.ID == "":
		bad("id", "is required")
	case len(r.ID) > maxIDLen:
		bad("id", fmt.Sprintf("must be at most %d bytes", maxIDLen))
	case strings.ContainsFunc(r.ID, func(c rune) bool { return c < ' ' || c == 0x7f || c == '/' }):
		bad("id", "must not contain control characters or '/'")
	}
	r.Name = strings.TrimSpace(r.Name)
	r.Email = strings.TrimSpace(r.Email)
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Name != "" || a.Address != r.Email {
			bad("email", "must be an email address like ann@example.com")
		}
	}
	r.Phone = strings.TrimSpace(r.Phone)
	if r.Phone != "" {
		if msg := checkPhone(r.Phone, smsCountries); msg != "" {
			bad("phone", msg)
		}
	}
	r.Timezone = strings.TrimSpace(r.Timezone)
	if r.Timezone != "" {
		if _, err := time.LoadLocation(r.Timezone); err != nil || strings.EqualFold(r.Timezone, "local") {
			bad("timezone", "must be an IANA time zone like Europe/Berlin")
		}
	}
	r.ManagerID, r.DelegateID = strings.TrimSpace(r.ManagerID), strings.TrimSpace(r.DelegateID)
	if r.ManagerID != "" && r.ManagerID == r.ID {
		bad("manager_id", "must not be the recruiter itself")
	}
	if r.DelegateID != "" && r.DelegateID == r.ID {
		bad("delegate_id", "must not be the recruiter itself")
	}
	if r.AwayUntil != nil && r.AwayUntil.IsZero() {
		r.AwayUntil = nil
	}
	r.normalise()

	for _, c := range []struct {
		field string
		list  *[]string
		def   []string
	}{
		{"channels.warning", &r.Channels.Warning, DefaultWarningChannels},
		{"channels.breached", &r.Channels.Breached, DefaultBreachedChannels},
		{"channels.escalated", &r.Channels.Escalated, DefaultEscalatedChannels},
	} {
		if *c.list == nil {
			*c.list = slices.Clone(c.def)
			continue
		}
		out := []string{}
		for i, ch := range *c.list {
			ch = strings.ToLower(strings.TrimSpace(ch))
			if ch != ChannelSMS && ch != ChannelEmail {
				bad(fmt.Sprintf("%s[%d]", c.field, i), `must be "sms" or "email"`)
				continue
			}
			if !slices.Contains(out, ch) {
				out = append(out, ch)
			}
		}
		*c.list = out
	}

	if r.QuietHours != nil {
		s, okS := parseHHMM(r.QuietHours.Start)
		e, okE := parseHHMM(r.QuietHours.End)
		if !okS {
			bad("quiet_hours.start", `must be a time of day like "20:00"`)
		}
		if !okE {
			bad("quiet_hours.end", `must be a time of day like "08:00"`)
		}
		if okS && okE && s == e {
			bad("quiet_hours.end", "must differ from start")
		}
	}

	if r.WorkingDays == nil {
		r.WorkingDays = slices.Clone(DefaultWorkingDays)
	} else {
		seen := map[int]bool{}
		for i, d := range r.WorkingDays {
			idx := slices.Index(weekdays, strings.ToLower(strings.TrimSpace(d)))
			if idx < 0 {
				bad(fmt.Sprintf("working_days[%d]", i), `must be one of "mon" … "sun"`)
				continue
			}
			seen[idx] = true
		}
		if len(r.WorkingDays) == 0 {
			bad("working_days", "must name at least one day")
		}
		out := []string{}
		for _, idx := range []int{1, 2, 3, 4, 5, 6, 0} { // week order, Monday first
			if seen[idx] {
				out = append(out, weekdays[idx])
			}
		}
		if len(out) > 0 {
			r.WorkingDays = out
		}
	}
	return errs
}

// parseHHMM parses "HH:MM" (00:00–23:59) into minutes after midnight.
func parseHHMM(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	return h*60 + m, true
}

// Directory is the recruiters directory in MongoDB: the "recruiters" collection keyed by
// recruiter id, and "recruiter_phones" mapping an E.164 number (its _id) to the recruiter
// id, so that an inbound SMS is matched with one {_id} lookup. Errors are
// *interactions.Error: CodeNotFound, CodeInvalid, or CodeUnavailable for store failures.
type Directory struct {
	recruiters *mongo.Collection
	phones     *mongo.Collection

	// Recipient reads a copy of the whole directory kept in memory (it is small), so
	// that an alert finds its recipient without a round trip. A Put through this
	// Directory updates the copy; when it is older than snapshotTTL it is read again,
	// in the background (the old copy serves meanwhile), so changes made through
	// another replica reach it within snapshotTTL and the time to read it.
	gen        atomic.Uint64 // bumped by every Put
	snapMu     sync.Mutex
	snap       map[string]Recruiter
	snapGen    uint64
	snapTime   time.Time
	refreshing bool // a background read is running
}

// snapshotTTL bounds how stale Recipient's copy of the directory may be.
const snapshotTTL = 5 * time.Second

// NewDirectory returns the directory stored in db.
func NewDirectory(db *mongo.Database) *Directory {
	return &Directory{recruiters: db.Collection("recruiters"), phones: db.Collection("recruiter_phones")}
}

type phoneDoc struct {
	Phone       string `bson:"_id"`
	RecruiterID string `bson:"recruiter_id"`
}

// Get returns the recruiter with id, or a CodeNotFound error.
func (d *Directory) Get(ctx context.Context, id string) (Recruiter, error) {
	r, ok, err := d.find(ctx, id)
	if err != nil {
		return Recruiter{}, err
	}
	if !ok {
		return Recruiter{}, interactions.Errorf(interactions.CodeNotFound, "no recruiter %q", id)
	}
	return r, nil
}

func (d *Directory) find(ctx context.Context, id string) (Recruiter, bool, error) {
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
func (d *Directory) List(ctx context.Context) ([]Recruiter, error) {
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
func (d *Directory) Put(ctx context.Context, r Recruiter) (created bool, err error) {
	defer func() { // after the write: Recipient sees it at once
		gen := d.gen.Add(1)
		if err != nil {
			return
		}
		d.snapMu.Lock()
		defer d.snapMu.Unlock()
		if d.snap != nil && d.snapGen+1 == gen { // no other Put since the copy was read
			snap := maps.Clone(d.snap)
			snap[r.ID] = r
			d.snap, d.snapGen = snap, gen
		}
	}()
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

// claimPhone maps phone to id unless another recruiter holds it.
func (d *Directory) claimPhone(ctx context.Context, phone, id string) error {
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
func (d *Directory) ByPhone(ctx context.Context, phone string) (Recruiter, bool, error) {
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
// It reads the directory's copy in memory (see Directory), fetched again when it is
// older than 5 s by now.
func (d *Directory) Recipient(ctx context.Context, recruiterID string, now time.Time) (Recruiter, error) {
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
func (d *Directory) ByEmail(ctx context.Context, email string, now time.Time, maxAge time.Duration) ([]Recruiter, error) {
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

// snapshot returns the directory by id, read again if a Put came since that it could
// not apply, or it is from after now; when it is older than snapshotTTL at now it is
// read again in the background. The map must not be changed.
func (d *Directory) snapshot(ctx context.Context, now time.Time) (map[string]Recruiter, error) {
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
// Put came meanwhile (then the next snapshot reads it).
func (d *Directory) refresh(now time.Time) {
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
func (d *Directory) read(ctx context.Context) (map[string]Recruiter, error) {
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

// PutATSUsers sets what the ATS owns of each user's directory entry — name, email,
// active, and manager_id when the ATS names a manager — creating entries not there
// yet (with the defaults of Validate); phone, channels, quiet hours, away/delegate,
// team and the rest stay as an admin set them. Each pass of the sync calls it, so a
// PUT's values for the four fields last until then. An email that is not a plain
// address, or a manager that is the user itself, is left out.
func (d *Directory) PutATSUsers(ctx context.Context, users []atssync.User) error {
	defer d.gen.Add(1) // Recipient's copy is read again
	for _, u := range users {
		id := strings.TrimSpace(u.ID)
		if id == "" || len(id) > maxIDLen || strings.ContainsFunc(id, func(c rune) bool { return c < ' ' || c == 0x7f || c == '/' }) {
			continue
		}
		email := strings.TrimSpace(u.Email)
		if a, err := mail.ParseAddress(email); err != nil || a.Name != "" || a.Address != email {
			email = ""
		}
		active := u.Active
		set := bson.D{{Key: "name", Value: strings.TrimSpace(u.Name)}, {Key: "email", Value: email}, {Key: "active", Value: &active}}
		manager := strings.TrimSpace(u.ManagerID)
		if manager != "" && manager != id {
			set = append(set, bson.E{Key: "manager_id", Value: manager})
		}
		err := d.recruiters.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}}).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			r := Recruiter{ID: id, Name: strings.TrimSpace(u.Name), Email: email, Active: &active}
			if manager != id {
				r.ManagerID = manager
			}
			r.Validate(nil) // the defaults; nothing it could refuse is set
			_, err = d.recruiters.InsertOne(ctx, r)
			if mongo.IsDuplicateKeyError(err) { // created meanwhile: set the fields
				err = d.recruiters.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}}).Err()
			}
		}
		if err != nil {
			return interactions.Unavailable("put ATS users in the recruiters directory", err)
		}
	}
	return nil
}
