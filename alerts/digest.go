package alerts

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/sla"
)

// The daily digest: one email a day to each recruiter who asked for one
// (directory.Digest), at its time on its working days in its time zone, listing its
// overdue and due-today candidates. It is no alert: nothing of it is stored as one,
// acknowledged or escalated. A claim document per recruiter and day, inserted before
// the email goes out, makes it once a day whatever the number of replicas and
// restarts.

// DigestConfig is what the digest needs.
type DigestConfig struct {
	Directory interface {
		List(ctx context.Context) ([]directory.Recruiter, error)
	}
	// Clocks returns the open clocks of the recruiters due at or before until
	// (*sla.Engine's DueBy).
	Clocks func(recruiterIDs []string, until time.Time) []sla.OverdueItem
	// Describe names an application's candidate and job ("" when unknown).
	Describe func(ctx context.Context, applicationID string) (candidate, job string)
	Email    Email  // nil: a log line instead
	Mode     string // GOODWILL_ALERTS: "off" sends no digest, "log" logs it
	Store    *Store
	// Link returns where a candidate's clock is shown (the queue page); nil: none.
	Link func(recruiterID, clockID string) string
	// Zone returns the organisation's time zone, for recruiters without one (UTC if nil).
	Zone func() *time.Location
	Log  *slog.Logger
	Now  func() time.Time
}

// Digests sends the daily digests; Start runs it, Run does one pass.
type Digests struct {
	cfg      DigestConfig
	claims   *mongo.Collection
	stopping chan struct{}
	done     chan struct{}
}

// digestTick is how often the digests look for recruiters whose time has come.
const digestTick = 30 * time.Second

// digestsKept is how long the claims of sent digests are kept.
const digestsKept = 8 * 24 * time.Hour

// NewDigests returns the digest sender over cfg.Store's database.
func NewDigests(cfg DigestConfig) *Digests {
	return &Digests{cfg: cfg, claims: cfg.Store.coll.Database().Collection("alert_digests"),
		stopping: make(chan struct{}), done: make(chan struct{})}
}

// digestFirst is how long after Start the first pass comes: once the projector has
// caught up with what came in while the process was down.
const digestFirst = 2 * time.Second

// Start runs a pass digestFirst after it is called, then every digestTick, until
// Close.
func (d *Digests) Start() {
	go func() {
		defer close(d.done)
		lastPurge := time.Time{}
		wait := digestFirst
		for {
			select {
			case <-d.stopping:
				return
			case <-time.After(wait):
			}
			wait = digestTick
			now := d.cfg.Now()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := d.Run(ctx, now); err != nil {
				d.cfg.Log.Warn("digest: a pass failed; retrying", "err", err)
			}
			if now.Sub(lastPurge) > 24*time.Hour {
				if err := d.purge(ctx, now); err != nil {
					d.cfg.Log.Warn("digest: purging old claims failed", "err", err)
				} else {
					lastPurge = now
				}
			}
			cancel()
		}
	}()
}

// Close stops the digests started by Start.
func (d *Digests) Close() {
	close(d.stopping)
	<-d.done
}

// DigestDue says whether recruiter r's digest is due at now, and names the day it is
// for (the local date, "2006-01-02"): the digest is on, now is one of r's working
// days in r's time zone (zone when r has none), and its time of day has come on that
// day. A time that does not exist on a day (a daylight-saving gap) is taken as the
// moment the clocks jump to.
func DigestDue(r directory.Recruiter, zone *time.Location, now time.Time) (day string, due bool) {
	if !r.Digest.Enabled || !r.IsActive() {
		return "", false
	}
	loc := zone
	if r.Timezone != "" {
		if l, err := time.LoadLocation(r.Timezone); err == nil {
			loc = l
		}
	}
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	at := r.Digest.At
	if at == "" {
		at = directory.DefaultDigestAt
	}
	hm, err := time.Parse("15:04", at)
	if err != nil {
		return "", false
	}
	if !slices.Contains(r.WorkingDays, strings.ToLower(local.Weekday().String()[:3])) {
		return "", false
	}
	sendAt := time.Date(local.Year(), local.Month(), local.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
	return local.Format(time.DateOnly), !local.Before(sendAt)
}

// Run sends the digests due at now that no one sent yet: one pass.
func (d *Digests) Run(ctx context.Context, now time.Time) error {
	if d.cfg.Mode == "off" {
		return nil
	}
	list, err := d.cfg.Directory.List(ctx)
	if err != nil {
		return err
	}
	zone := time.UTC
	if d.cfg.Zone != nil {
		zone = d.cfg.Zone()
	}
	type due struct {
		r   directory.Recruiter
		day string
		end time.Time // the end of its local day
	}
	var todo []due
	var ids []string
	until := now
	for _, r := range list {
		if r.AwayUntil != nil && now.Before(*r.AwayUntil) {
			continue // away: the digest is theirs, not their delegate's
		}
		day, ok := DigestDue(r, zone, now)
		if !ok {
			continue
		}
		loc, _ := time.LoadLocation(r.Timezone)
		if r.Timezone == "" {
			loc = zone
		}
		start, _ := time.ParseInLocation(time.DateOnly, day, loc)
		end := start.AddDate(0, 0, 1)
		todo = append(todo, due{r, day, end})
		ids = append(ids, r.ID)
		until = later(until, end)
	}
	if len(todo) == 0 {
		return nil
	}
	clocks := d.cfg.Clocks(ids, until)
	var errs []error
	for _, t := range todo {
		var mine []sla.OverdueItem
		for _, c := range clocks {
			if c.RecruiterID == t.r.ID && c.DueAt.Before(t.end) {
				mine = append(mine, c)
			}
		}
		if len(mine) == 0 {
			continue // nothing to say: no email, and the day stays open
		}
		errs = append(errs, d.send(ctx, t.r, t.day, mine, now))
	}
	return errors.Join(errs...)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// send claims recruiter r's digest of day and sends it, unless it was claimed
// already (by another replica, or before a restart). A claim whose sender did not
// mark it sent within digestClaimTTL (it stopped midway) is taken over, and the
// digest sent again with the same Message-ID, so a copy is recognisable.
func (d *Digests) send(ctx context.Context, r directory.Recruiter, day string, clocks []sla.OverdueItem, now time.Time) error {
	if r.Email == "" && d.cfg.Email != nil && d.cfg.Mode == "on" {
		return nil
	}
	id := r.ID + "|" + day
	claimed, err := d.claim(ctx, id, now)
	if err != nil || !claimed {
		return err
	}
	if d.cfg.Email == nil || d.cfg.Mode != "on" {
		d.cfg.Log.Info("digest", "recruiter_id", r.ID, "day", day, "candidates", len(clocks))
	} else {
		subject, text, htmlBody := d.content(ctx, r, clocks, now)
		sum := sha256.Sum256([]byte(r.ID))
		msgID := "<digest." + hex.EncodeToString(sum[:8]) + "." + day + "@goodwill>"
		if err := d.cfg.Email.Send(ctx, r.Email, subject, text, htmlBody, msgID); err != nil {
			// Not tried again today: a lost answer cannot be told from a refusal.
			// Tomorrow's digest lists the same candidates if they still wait.
			d.cfg.Log.Warn("digest: sending failed", "recruiter_id", r.ID, "day", day, "err", err)
		}
	}
	if err := d.claims.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"sent": true}}).Err(); err != nil {
		return interactions.Unavailable("mark digest sent", err)
	}
	return nil
}

// digestClaimTTL is how long a claimed digest may stay unsent before another sender
// takes it over.
const digestClaimTTL = 5 * time.Minute

// digestClaim is a claim of one recruiter's digest of one day ("alert_digests").
type digestClaim struct {
	ID   string    `bson:"_id"`
	At   time.Time `bson:"at"`
	Sent bool      `bson:"sent"`
}

// claim takes the digest id for this sender: true when it is the sender's to send.
func (d *Digests) claim(ctx context.Context, id string, now time.Time) (bool, error) {
	now = now.UTC()
	_, err := d.claims.InsertOne(ctx, digestClaim{ID: id, At: now})
	if err == nil {
		return true, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return false, interactions.Unavailable("claim digest", err)
	}
	var c digestClaim
	if err := d.claims.FindOne(ctx, bson.M{"_id": id}).Decode(&c); err != nil {
		return false, interactions.Unavailable("claim digest", err)
	}
	if c.Sent || now.Sub(c.At) < digestClaimTTL {
		return false, nil
	}
	// Its sender stopped before it was sent: take it over, unless another just did.
	err = d.claims.FindOneAndUpdate(ctx, bson.M{"_id": id, "sent": false, "at": c.At}, bson.M{"$set": bson.M{"at": now}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, interactions.Unavailable("claim digest", err)
	}
	return true, nil
}

// digestLine is one candidate of a digest.
type digestLine struct {
	candidate, job, what, when, link string
	overdue                          bool
}

// content writes the digest: overdue candidates first, most overdue first, then those
// due later today, each with what is awaited, by when, and a link.
func (d *Digests) content(ctx context.Context, r directory.Recruiter, clocks []sla.OverdueItem, now time.Time) (subject, text, htmlBody string) {
	var lines []digestLine
	overdue := 0
	for _, c := range clocks {
		l := digestLine{candidate: "A candidate", what: Item{Metric: string(c.Metric)}.what(), overdue: !now.Before(c.DueAt)}
		if d.cfg.Describe != nil {
			cand, job := d.cfg.Describe(ctx, c.ApplicationID)
			l.candidate, l.job = cmp.Or(cand, l.candidate), job
		}
		if l.overdue {
			overdue++
			l.when = "overdue by " + HumanDuration(now.Sub(c.DueAt))
		} else {
			l.when = "due in " + HumanDuration(c.DueAt.Sub(now))
		}
		if d.cfg.Link != nil {
			l.link = d.cfg.Link(r.ID, c.ClockID)
		}
		lines = append(lines, l)
	}
	today := len(lines) - overdue
	subject = fmt.Sprintf("goodwill digest: %d overdue, %d due today", overdue, today)
	var t, h strings.Builder
	greeting := "Hello"
	if r.Name != "" {
		greeting += " " + r.Name
	}
	t.WriteString(greeting + ",\n\n")
	h.WriteString("<!doctype html><html><body><p>" + html.EscapeString(greeting) + ",</p>")
	for _, part := range []struct {
		title   string
		overdue bool
	}{{"Overdue", true}, {"Due today", false}} {
		var items []digestLine
		for _, l := range lines {
			if l.overdue == part.overdue {
				items = append(items, l)
			}
		}
		if len(items) == 0 {
			continue
		}
		t.WriteString(fmt.Sprintf("%s (%d):\n", part.title, len(items)))
		h.WriteString(fmt.Sprintf("<h2>%s (%d)</h2><ul>", part.title, len(items)))
		for _, l := range items {
			who := l.candidate
			if l.job != "" {
				who += " (" + l.job + ")"
			}
			t.WriteString("- " + who + ": " + l.what + " " + l.when)
			h.WriteString("<li>")
			if l.link != "" {
				t.WriteString(" " + l.link)
				h.WriteString(`<a href="` + html.EscapeString(l.link) + `">` + html.EscapeString(who) + "</a>")
			} else {
				h.WriteString(html.EscapeString(who))
			}
			t.WriteString("\n")
			h.WriteString(": " + html.EscapeString(l.what+" "+l.when) + "</li>")
		}
		t.WriteString("\n")
		h.WriteString("</ul>")
	}
	t.WriteString("This is your daily goodwill digest; change or turn it off under My alerts on the queue page.\n")
	h.WriteString("<p>This is your daily goodwill digest; change or turn it off under My alerts on the queue page.</p></body></html>")
	return subject, t.String(), h.String()
}

// purge deletes the claims older than digestsKept.
func (d *Digests) purge(ctx context.Context, now time.Time) error {
	_, err := d.claims.DeleteMany(ctx, bson.M{"at": bson.M{"$lt": now.Add(-digestsKept).UTC()}})
	return err
}
