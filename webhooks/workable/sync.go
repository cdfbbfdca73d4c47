package workable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// The resources a pass reads, in order: the directory first, so that candidates name
// owners it already has.
const (
	ResourceMembers    = "members"
	ResourceCandidates = "candidates"
	ResourceEvents     = "events"
)

// Overlap is how far before the latest updated_at the previous pass read the next one
// asks for changed candidates again: Workable sets updated_at when a change commits,
// so a change being written while the previous pass read may carry a time just before
// it. Re-reading a candidate stores nothing twice.
const Overlap = 2 * time.Minute

// EventsBehind is how far before its start a pass reads scheduled events again:
// /events filters on the events' start, not on their changes, so every pass reads
// the events ahead (and those of the last day) to see new, moved and cancelled ones.
const EventsBehind = 24 * time.Hour

// Config is what the sync needs from the environment.
type Config struct {
	Token     string // GOODWILL_WORKABLE_TOKEN: an account token (Bearer)
	Subdomain string // GOODWILL_WORKABLE_SUBDOMAIN: <subdomain>.workable.com
	// APIURL is GOODWILL_WORKABLE_API_URL; DefaultAPIURL(Subdomain) when empty.
	APIURL string
	// PageSize is how many items a page asks Workable for, 1–100; 100 when 0.
	PageSize int
}

// Configured reports whether the sync has a token and knows where the account is.
func (c Config) Configured() bool { return c.Token != "" && (c.Subdomain != "" || c.APIURL != "") }

// apiURL is where the account's API is.
func (c Config) apiURL() string {
	if c.APIURL != "" {
		return strings.TrimRight(c.APIURL, "/")
	}
	return DefaultAPIURL(c.Subdomain)
}

// Known returns the events goodwill holds for an application (an
// interactions.Application's compact events; none when the application is unknown):
// the sync reads there the start an interview had, to see it moved.
type Known func(ctx context.Context, applicationID string) ([]interactions.Interaction, error)

// Sync is Workable's side of the ATS sync (an atssync.Vendor). A pass reads:
//
//   - members (GET /members?status=all): the recruiters directory as
//     workable:<member id>, with name, email and active; Workable has no managers;
//   - candidates updated since the cursor (GET /candidates?updated_after=), each with
//     its activity stream (GET /candidates/:id/activities) and, when the list leaves
//     the phone out, its details (GET /candidates/:id); the stages and the jobs
//     changed since the last read come first, and each job's hiring team once a pass
//     (GET /jobs/:shortcode/members) for the owner;
//   - events scheduled from EventsBehind before the pass on (GET /events), cancelled
//     ones too.
//
// A Workable candidate is one person's application to one job: the candidate id is
// both the application id and the candidate id (workable:<id>), the job is
// workable:<shortcode>, as the receiver makes them. Each candidate becomes, with
// external ids sync:workable:<kind>:<candidate>:<discriminator>:
//
//	application_received  at created_at (none for a sourced candidate) <created_at>
//	                      with its attribution (see attribution)
//	stage_changed         each move activity, stage = the slug        <slug>@<time>
//	hired                 a move into the hired stage (else hired_at)  <time>
//	rejected, withdrawn   disqualified (withdrew: withdrawn), at the   <time>
//	                      disqualification activity
//	message               each message activity, channel email:        <activity id or time>
//	                      outbound when a member wrote it, else inbound
//	details_updated       at updated_at: name, email, phone, job       <updated_at>
//	                      title and department, owner, stage slug
//
// and each event with a candidate becomes interview_scheduled (scheduled_for,
// duration), interview_canceled once cancelled, and interview_rescheduled when its
// start differs from the one goodwill holds (with Known).
//
// The owner is the job's hiring-team member whose collaboration_role is
// recruiting_admin, else hiring_manager: Workable names no owner per candidate, and
// its webhooks none at all, so the receiver names none and the sync's owner, carried
// by details_updated, is the application's.
//
// The receiver's external ids embed the webhook's event id, which the API does not
// report, so an event here cannot carry the id the receiver gave it: the runner's
// writer leaves out an event the application already holds from a webhook (same kind
// and stage within five minutes), and the webhook of one the sync stored first. The
// times here are the ones the webhook carries: the move's or disqualification's
// moment, the candidate's created_at. A sourced candidate, which the receiver records
// as a note (never merged), gets no event here, only its details.
type Sync struct {
	client *Client
	now    func() time.Time

	// Known, when set, lets the sync see which interviews moved (Workable keeps no
	// history of an event's times). Store.Application serves it.
	Known Known

	mu     sync.Mutex
	ref    *reference
	jobsAt time.Time // when the jobs were last read whole or since
}

var _ atssync.Vendor = (*Sync)(nil)

// New returns Workable's sync, reading through doer (the runner's paced, retrying
// client) and reading the time from now.
func New(cfg Config, doer atssync.Doer, now func() time.Time) *Sync {
	if now == nil {
		now = time.Now
	}
	return &Sync{
		client: &Client{BaseURL: cfg.apiURL(), Token: cfg.Token, HTTP: doer, PageSize: cfg.PageSize},
		now:    now,
	}
}

// ClientConfig is the runner's client for the account's API: Workable's documented
// rate for an account token, one request at a time.
func ClientConfig(cfg Config) atssync.ClientConfig {
	return atssync.ClientConfig{
		Vendor:  "workable",
		BaseURL: cfg.apiURL(),
		Rate:    rate.Limit(float64(RequestsPerWindow) / RateWindow.Seconds()),
		Burst:   1,
		MaxBody: maxBody,
	}
}

// NewVendor returns the Workable vendor sending through the runner's paced, retrying
// client within the documented rate limit: what the server runs. The error is a
// configuration the client refuses.
func NewVendor(cfg Config, now func() time.Time) (*Sync, error) {
	if !cfg.Configured() {
		return nil, errors.New("workable: the token and the subdomain (or API URL) are required")
	}
	doer, err := atssync.NewClient(ClientConfig(cfg))
	if err != nil {
		return nil, err
	}
	return New(cfg, doer, now), nil
}

// Name returns "workable".
func (*Sync) Name() string { return "workable" }

// Resources returns members, candidates, then events.
func (*Sync) Resources() []string {
	return []string{ResourceMembers, ResourceCandidates, ResourceEvents}
}

// Pull reads one page of resource from cursor. Workable's refusals are *APIError.
func (s *Sync) Pull(ctx context.Context, resource string, cursor atssync.Cursor) (atssync.Page, error) {
	switch resource {
	case ResourceMembers:
		return s.pullMembers(ctx, cursor)
	case ResourceCandidates:
		return s.pullCandidates(ctx, cursor)
	case ResourceEvents:
		return s.pullEvents(ctx, cursor)
	}
	return atssync.Page{}, fmt.Errorf("workable: no resource %q", resource)
}

// passToken is a cursor's Token within a pass: the next page's URL, the latest
// updated_at seen so far (candidates) and when the pass began (events).
type passToken struct {
	Next  string    `json:"next"`
	Max   time.Time `json:"max,omitzero"`
	Start time.Time `json:"start,omitzero"`
}

func (p passToken) encode() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// decodeToken reads a Token; one this sync did not make, or whose next page is not
// under the API URL, is no token: the resource starts again from its durable cursor.
func (s *Sync) decodeToken(tok string) passToken {
	var p passToken
	if err := json.Unmarshal([]byte(tok), &p); err != nil || p.Next == "" || !s.client.under(p.Next) {
		return passToken{}
	}
	return p
}

// apiTime writes t as Workable's filters take it (ISO 8601, UTC, to the second).
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ---- members ----

// pullMembers reads one page of the directory, deactivated members too. The
// directory has no time cursor: every pass reads it all.
func (s *Sync) pullMembers(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	tok := s.decodeToken(cursor.Token)
	u := tok.Next
	if u == "" {
		u = s.client.url("/members", url.Values{"status": {"all"}, "limit": {s.client.limit()}})
	}
	members, next, err := page[apiMember](ctx, s.client, u, "members")
	if err != nil {
		return atssync.Page{}, err
	}
	var p atssync.Page
	for _, m := range members {
		id := vendorID(m.ID)
		if id == "" {
			continue
		}
		p.Users = append(p.Users, atssync.User{
			ID:     id,
			Name:   webhooks.Text(m.Name),
			Email:  webhooks.ValidEmail(m.Email),
			Active: m.Active == nil || *m.Active,
		})
	}
	p.Counts = map[string]int{atssync.CountUsers: len(p.Users)}
	since := atssync.PassStart(cursor, s.now())
	p.Next = atssync.Cursor{Since: since}
	if next != "" {
		p.More = true
		p.Next.Token = passToken{Next: next}.encode()
	}
	return p, nil
}

// ---- reference: stages, jobs, hiring teams ----

// reference is what names a candidate's stage, job and owner.
type reference struct {
	stages map[string]apiStage // by slug
	jobs   map[string]apiJob   // by shortcode
	byID   map[string]string   // job id → shortcode
	owners map[string]string   // shortcode → owner (workable:<member id>, "" for none), per pass
}

// reference reads the stages, and the jobs changed since the last read, at the start
// of a pass (fresh) or when this process has not read them yet (a pass resumed after
// a restart). Hiring teams are read again in every fresh pass.
func (s *Sync) reference(ctx context.Context, fresh bool) (*reference, error) {
	s.mu.Lock()
	old, jobsAt := s.ref, s.jobsAt
	s.mu.Unlock()
	if old != nil && !fresh {
		return old, nil
	}
	now := s.now().UTC()
	ref := &reference{stages: map[string]apiStage{}, jobs: map[string]apiJob{}, byID: map[string]string{}, owners: map[string]string{}}
	stages, err := all[apiStage](ctx, s.client, s.client.url("/stages", nil), "stages")
	if err != nil {
		return nil, err
	}
	for _, st := range stages {
		if slug := webhooks.Text(st.Slug); slug != "" {
			ref.stages[slug] = st
		}
	}
	q := url.Values{"limit": {s.client.limit()}}
	if old != nil {
		maps.Copy(ref.jobs, old.jobs)
		maps.Copy(ref.byID, old.byID)
		q.Set("updated_after", apiTime(jobsAt.Add(-Overlap)))
	}
	jobs, err := all[apiJob](ctx, s.client, s.client.url("/jobs", q), "jobs")
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if sc := strings.TrimSpace(j.Shortcode); sc != "" {
			ref.jobs[sc] = j
			if j.ID != "" {
				ref.byID[string(j.ID)] = sc
			}
		}
	}
	s.mu.Lock()
	s.ref, s.jobsAt = ref, now
	s.mu.Unlock()
	return ref, nil
}

// ownerRoles are the hiring-team roles that own a job's candidates, first found first.
var ownerRoles = []string{"recruiting_admin", "hiring_manager"}

// owner is the owner of a job's candidates (see Sync), read once a pass. A job
// Workable no longer shows (404) has none.
func (s *Sync) owner(ctx context.Context, ref *reference, shortcode string) (string, error) {
	if shortcode == "" {
		return "", nil
	}
	s.mu.Lock()
	id, ok := ref.owners[shortcode]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	team, err := all[apiJobMember](ctx, s.client, s.client.url("/jobs/"+url.PathEscape(shortcode)+"/members", nil), "members")
	var apiErr *APIError
	if errors.As(err, &apiErr) && (apiErr.Status == http.StatusNotFound || apiErr.Status == http.StatusForbidden) {
		team, err = nil, nil
	}
	if err != nil {
		return "", err
	}
	id = ""
	for _, role := range ownerRoles {
		for _, m := range team {
			if m.CollaborationRole == role && vendorID(m.ID) != "" {
				id = vendorID(m.ID)
				break
			}
		}
		if id != "" {
			break
		}
	}
	s.mu.Lock()
	ref.owners[shortcode] = id
	s.mu.Unlock()
	return id, nil
}

// slug names a stage as the receiver does (its slug): target's id when it is a slug,
// else the slug of the stage of that name, else the name itself. The stage is the
// slug, not the name, on every event and detail the sync reads, so that the writer
// finds the webhook's record of a move and the sync's the same in either order (an
// application's events are kept without their metadata, so a name there and the
// slug in metadata would match in one order only).
func (ref *reference) slug(id, name string) string {
	id, name = webhooks.Text(id), webhooks.Text(name)
	if _, ok := ref.stages[id]; ok {
		return id
	}
	for slug, st := range ref.stages {
		if name != "" && strings.EqualFold(webhooks.Text(st.Name), name) {
			return slug
		}
	}
	if name != "" {
		return name
	}
	return id
}

// hired reports whether the stage slug is the hired stage.
func (ref *reference) hired(slug string) bool {
	return strings.EqualFold(slug, "hired") || ref.stages[slug].Kind == "hired"
}

// ---- candidates ----

// pullCandidates reads one page of the candidates updated since cursor.Since (less
// Overlap), with their activities. The durable cursor becomes the latest updated_at
// read once the pass ends.
func (s *Sync) pullCandidates(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	tok := s.decodeToken(cursor.Token)
	ref, err := s.reference(ctx, tok.Next == "")
	if err != nil {
		return atssync.Page{}, err
	}
	u := tok.Next
	if u == "" {
		q := url.Values{"limit": {s.client.limit()}}
		if !cursor.Since.IsZero() {
			q.Set("updated_after", apiTime(cursor.Since.Add(-Overlap)))
		}
		u = s.client.url("/candidates", q)
	}
	cands, next, err := page[apiCandidate](ctx, s.client, u, "candidates")
	if err != nil {
		return atssync.Page{}, err
	}
	now := s.now().UTC()
	p := atssync.Page{Counts: map[string]int{}}
	var seen time.Time
	for _, c := range cands {
		if t, ok := webhooks.ParseTime(c.UpdatedAt); ok && t.After(seen) {
			seen = t
		}
		if vendorID(c.ID) == "" {
			p.Counts["skipped"]++
			continue
		}
		items, err := s.candidate(ctx, ref, c, now)
		if err != nil {
			return atssync.Page{}, err
		}
		p.Counts[atssync.CountApplicationsUpdated]++
		for _, in := range items {
			s.add(&p, in, now)
		}
	}
	advance(&p, cursor, tok, next, seen)
	return p, nil
}

// candidate reads what one listed candidate needs (activities, details without a
// phone, the job's owner) and maps it, leaving out what the receiver recorded.
func (s *Sync) candidate(ctx context.Context, ref *reference, c apiCandidate, now time.Time) ([]interactions.Input, error) {
	path := "/candidates/" + url.PathEscape(string(c.ID))
	acts, err := all[apiActivity](ctx, s.client, s.client.url(path+"/activities", url.Values{"limit": {s.client.limit()}}), "activities")
	if err != nil {
		return nil, err
	}
	if _, listed := c.phone(); !listed {
		var raw map[string]json.RawMessage
		if err := s.client.get(ctx, s.client.url(path, nil), &raw); err != nil {
			return nil, err
		}
		body, ok := raw["candidate"]
		if !ok {
			body, _ = json.Marshal(raw)
		}
		var d apiCandidate
		if err := json.Unmarshal(body, &d); err != nil {
			return nil, fmt.Errorf("workable: GET %s: %w", path, err)
		}
		c.Phone = d.Phone
		if c.DisqualifiedAt == "" {
			c.DisqualifiedAt = d.DisqualifiedAt
		}
	}
	owner, err := s.owner(ctx, ref, strings.TrimSpace(c.Job.Shortcode))
	if err != nil {
		return nil, err
	}
	return mapCandidate(c, acts, ref, owner, now), nil
}

// advance fills the page's Next: within the pass the next URL and the running
// maximum; at its end, the maximum as the durable cursor.
func advance(p *atssync.Page, cursor atssync.Cursor, tok passToken, next string, seen time.Time) {
	maxSeen := tok.Max
	if maxSeen.IsZero() || seen.After(maxSeen) {
		maxSeen = seen
	}
	if next != "" {
		p.More = true
		p.Next = atssync.Cursor{Since: cursor.Since, Token: passToken{Next: next, Max: maxSeen}.encode()}
		return
	}
	p.Next = atssync.Cursor{Since: cursor.Since}
	if maxSeen.After(cursor.Since) {
		p.Next.Since = maxSeen.UTC()
	}
}

// mapCandidate turns one candidate and its activities into its details_updated and
// the events it shows (see Sync). It reads no clock but now, the fallback time.
func mapCandidate(c apiCandidate, acts []apiActivity, ref *reference, owner string, now time.Time) []interactions.Input {
	id := string(c.ID)
	phone, _ := c.phone()
	name := c.Name
	if strings.TrimSpace(name) == "" {
		name = c.FirstName + " " + c.LastName
	}
	shortcode := strings.TrimSpace(c.Job.Shortcode)
	job := ref.jobs[shortcode]
	title := c.Job.Title
	if title == "" {
		title = job.Title
	}
	base := interactions.Input{
		ApplicationID: vendorID(c.ID),
		CandidateID:   vendorID(c.ID),
		JobID:         vendorID(webhooks.VendorID(shortcode)),
		RecruiterID:   owner,
		Source:        "workable",
		Channel:       "ats",
		Candidate:     webhooks.ContactDetails(name, c.Email, phone),
		Job:           webhooks.JobInfo(title, job.Department),
	}
	ev := func(kind interactions.Kind, at time.Time, discriminator string) interactions.Input {
		in := base
		in.Kind = string(kind)
		in.OccurredAt = interactions.APITime(at)
		in.ExternalID = webhooks.ExternalID("sync", "workable", string(kind), id, discriminator)
		return in
	}
	var out []interactions.Input

	// The application, as the receiver records candidate_created. A sourced
	// candidate did not apply: the receiver's note says it was added, and notes are
	// never merged, so the sync leaves it to the webhook.
	if created, ok := webhooks.ParseTime(c.CreatedAt); ok && !c.Sourced {
		r := ev(interactions.KindApplicationReceived, created, interactions.APITime(created))
		r.Attribution = attribution(c.Domain)
		out = append(out, r)
	}

	// Moves, oldest first: into the hired stage a hire, else a stage change.
	acts = slices.Clone(acts)
	slices.SortStableFunc(acts, func(a, b apiActivity) int { return strings.Compare(actTime(a), actTime(b)) })
	var hired, disqualifiedAt time.Time
	var disqualifiedBy string
	for _, a := range acts {
		at, ok := webhooks.ParseTime(a.CreatedAt)
		if !ok {
			continue
		}
		switch action := strings.ToLower(strings.TrimSpace(a.Action)); {
		case action == "disqualified" || action == "disqualification":
			disqualifiedAt, disqualifiedBy = at, actor(a)
		case action == "message":
			in := ev(interactions.KindMessage, at, activityKey(a))
			in.Channel = "email"
			in.Direction = string(interactions.Inbound)
			if in.ActorID = actor(a); in.ActorID != "" {
				in.Direction = string(interactions.Outbound)
			}
			out = append(out, in)
		case a.TargetStage != nil || (action == "moved" && webhooks.Text(a.StageName) != ""):
			var slug string
			if t := a.TargetStage; t != nil {
				slug = ref.slug(t.ID, t.Name)
			} else {
				slug = ref.slug("", a.StageName)
			}
			if slug == "" {
				continue
			}
			if ref.hired(slug) {
				hired = at
				in := ev(interactions.KindHired, at, interactions.APITime(at))
				in.ActorID = actor(a)
				out = append(out, in)
				continue
			}
			in := ev(interactions.KindStageChanged, at, slug+"@"+interactions.APITime(at))
			in.Stage = slug
			in.ActorID = actor(a)
			in.Metadata = webhooks.Metadata(map[string]string{"stage_name": ref.stages[slug].Name})
			out = append(out, in)
		}
	}

	// The hire no move shows: at hired_at (a date or a time), else the last update.
	if hired.IsZero() && (ref.hired(webhooks.Text(c.Stage)) || c.StageKind == "hired") {
		if at, ok := dateOrTime(c.HiredAt, c.UpdatedAt); ok {
			out = append(out, ev(interactions.KindHired, at, interactions.APITime(at)))
		}
	}

	// The disqualification: withdrawn when the candidate withdrew, else rejected, at
	// the disqualification activity, else disqualified_at, else the last update.
	if c.Disqualified {
		at := disqualifiedAt
		if at.IsZero() {
			at, _ = dateOrTime(c.DisqualifiedAt, c.UpdatedAt)
		}
		if !at.IsZero() {
			kind := interactions.KindRejected
			if c.Withdrew {
				kind = interactions.KindWithdrawn
			}
			in := ev(kind, at, interactions.APITime(at))
			in.ActorID = disqualifiedBy
			in.Metadata = webhooks.Metadata(map[string]string{"disqualification_reason": c.DisqualificationReason})
			out = append(out, in)
		}
	}

	// What Workable holds now, at its last update.
	at, ok := webhooks.ParseTime(c.UpdatedAt)
	if !ok {
		at = now
	}
	d := ev(interactions.KindDetailsUpdated, at, interactions.APITime(at))
	d.Stage = webhooks.Text(c.Stage)
	d.Metadata = webhooks.Metadata(map[string]string{"stage_name": ref.stages[d.Stage].Name, "source": c.Domain})
	if !c.Sourced {
		// The attribution again, for an application a webhook recorded first
		// without it: the application takes it then.
		d.Attribution, d.FromSync = attribution(c.Domain), true
	}
	out = append(out, d)
	return out
}

// actor is the member who made an activity, "" when none did (the candidate).
func actor(a apiActivity) string {
	if a.Member == nil {
		return ""
	}
	return vendorID(a.Member.ID)
}

func actTime(a apiActivity) string {
	if t, ok := webhooks.ParseTime(a.CreatedAt); ok {
		return interactions.APITime(t)
	}
	return ""
}

// activityKey is an activity's discriminator: its id, else its time.
func activityKey(a apiActivity) string {
	if a.ID != "" {
		return string(a.ID)
	}
	return actTime(a)
}

// dateOrTime reads the first of values that is an RFC 3339 time or a date
// (hired_at is documented as a date).
func dateOrTime(values ...string) (time.Time, bool) {
	for _, v := range values {
		if t, ok := webhooks.ParseTime(v); ok {
			return t, true
		}
		if t, err := time.Parse(time.DateOnly, strings.TrimSpace(v)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ---- events ----

// pullEvents reads one page of the events scheduled from cursor.Since on, cancelled
// ones too. The next pass starts EventsBehind before this one began.
func (s *Sync) pullEvents(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	tok := s.decodeToken(cursor.Token)
	now := s.now().UTC()
	start := tok.Start
	if start.IsZero() {
		start = now.Truncate(time.Millisecond)
	}
	ref, err := s.reference(ctx, false)
	if err != nil {
		return atssync.Page{}, err
	}
	u := tok.Next
	if u == "" {
		q := url.Values{"include_cancelled": {"true"}, "limit": {s.client.limit()}}
		if !cursor.Since.IsZero() {
			q.Set("start_date", apiTime(cursor.Since))
		}
		u = s.client.url("/events", q)
	}
	events, next, err := page[apiEvent](ctx, s.client, u, "events")
	if err != nil {
		return atssync.Page{}, err
	}
	p := atssync.Page{Counts: map[string]int{}}
	for _, e := range events {
		items := mapEvent(e, ref, now)
		if len(items) == 0 {
			continue
		}
		p.Counts[atssync.CountInterviews]++
		if s.Known != nil {
			known, err := s.Known(ctx, items[0].ApplicationID)
			if err != nil {
				return atssync.Page{}, fmt.Errorf("workable: the events of %s: %w", items[0].ApplicationID, err)
			}
			if re, ok := rescheduled(e, known, items[0], now); ok {
				items = append(items, re)
			}
		}
		for _, in := range items {
			s.add(&p, in, now)
		}
	}
	if next != "" {
		p.More = true
		p.Next = atssync.Cursor{Since: cursor.Since, Token: passToken{Next: next, Start: start}.encode()}
		return p, nil
	}
	p.Next = atssync.Cursor{Since: start.Add(-EventsBehind)}
	return p, nil
}

// mapEvent turns an event with a candidate into interview_scheduled (at its start or
// now, whichever is earlier: Workable does not say when it was scheduled) and, once
// cancelled, interview_canceled. An event with no candidate or start is none of
// goodwill's.
func mapEvent(e apiEvent, ref *reference, now time.Time) []interactions.Input {
	if e.Candidate == nil || vendorID(e.Candidate.ID) == "" || vendorID(e.ID) == "" {
		return nil
	}
	start, ok := webhooks.ParseTime(e.StartsAt)
	if !ok {
		return nil
	}
	cand, ev := string(e.Candidate.ID), string(e.ID)
	base := interactions.Input{
		ApplicationID: vendorID(e.Candidate.ID),
		CandidateID:   vendorID(e.Candidate.ID),
		Source:        "workable",
		Channel:       "ats",
		InterviewID:   vendorID(e.ID),
		ScheduledFor:  interactions.APITime(start),
		Metadata:      webhooks.Metadata(map[string]string{"event_type": e.Type}),
	}
	if end, ok := webhooks.ParseTime(e.EndsAt); ok {
		base.Duration = webhooks.APIDuration(start, end)
	}
	if e.Job != nil {
		if sc := ref.byID[string(e.Job.ID)]; sc != "" {
			base.JobID = vendorID(webhooks.VendorID(sc))
		}
	}
	at := now
	if start.Before(at) {
		at = start
	}
	sch := base
	sch.Kind = string(interactions.KindInterviewScheduled)
	sch.OccurredAt = interactions.APITime(at)
	sch.ExternalID = webhooks.ExternalID("sync", "workable", sch.Kind, cand, ev)
	out := []interactions.Input{sch}
	if e.Cancelled {
		c := base
		c.Kind = string(interactions.KindInterviewCanceled)
		c.OccurredAt = interactions.APITime(at)
		c.ExternalID = webhooks.ExternalID("sync", "workable", c.Kind, cand, ev)
		out = append(out, c)
	}
	return out
}

// rescheduled returns interview_rescheduled for an event whose start is not the one
// of the latest scheduling goodwill holds for it.
func rescheduled(e apiEvent, known []interactions.Interaction, scheduled interactions.Input, now time.Time) (interactions.Input, bool) {
	if e.Cancelled {
		return interactions.Input{}, false
	}
	var last *interactions.Interaction
	for i, k := range known {
		if k.InterviewID != scheduled.InterviewID || k.ScheduledFor == nil ||
			(k.Kind != interactions.KindInterviewScheduled && k.Kind != interactions.KindInterviewRescheduled) {
			continue
		}
		if last == nil || !k.OccurredAt.Before(last.OccurredAt) {
			last = &known[i]
		}
	}
	start, _ := webhooks.ParseTime(scheduled.ScheduledFor)
	if last == nil || last.ScheduledFor.Equal(start) {
		return interactions.Input{}, false
	}
	re := scheduled
	re.Kind = string(interactions.KindInterviewRescheduled)
	re.OccurredAt = interactions.APITime(now)
	re.ExternalID = webhooks.ExternalID("sync", "workable", re.Kind, string(e.Candidate.ID), string(e.ID)+"@"+scheduled.ScheduledFor)
	return re, true
}

// ---- shared ----

// add validates an item as POST /v1/interactions would and puts it on the page; one
// Workable holds in a shape goodwill refuses is counted as skipped, not fatal. The
// runner counts the missed events it recovers as it stores them.
func (s *Sync) add(p *atssync.Page, in interactions.Input, now time.Time) {
	if webhooks.CheckIDs(&in) != nil {
		p.Counts["skipped"]++
		return
	}
	it, errs := in.Validate("", now)
	if len(errs) > 0 {
		p.Counts["skipped"]++
		return
	}
	p.Interactions = append(p.Interactions, it)
	if it.Kind == interactions.KindMessage {
		p.Counts[atssync.CountMessages]++
	}
}

// vendorID is the receiver's id of a Workable id (webhooks.Prefixed), "" for an empty
// id or one interactions would refuse.
func vendorID(id webhooks.VendorID) string {
	v := webhooks.Prefixed("workable", id)
	if len(v) > webhooks.MaxIDBytes || v != webhooks.CleanLine(v) {
		return ""
	}
	return v
}
