package lever

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// The resources a pass reads, in order: the directory first, so that the applications
// name recruiters it already has.
const (
	ResourceUsers         = "users"
	ResourceOpportunities = "opportunities"
)

// Overlap is how far before the start of the previous pass the next one asks Lever for
// changed opportunities. It covers the skew between Lever's clock and ours and the
// changes made while a pass was reading. Re-reading an opportunity stores nothing twice.
const Overlap = 10 * time.Minute

// Config is what the sync needs from the environment.
type Config struct {
	APIKey string // GOODWILL_LEVER_API_KEY
	APIURL string // GOODWILL_LEVER_API_URL; DefaultAPIURL when empty
	// HiredArchiveReasons (GOODWILL_LEVER_HIRED_REASONS) are used only when the API
	// key may not read Lever's archive reasons, whose type "hired" says it otherwise.
	HiredArchiveReasons []string
	// PageSize is how many items a page asks Lever for, 1–100; 100 when 0.
	PageSize int
}

// Sync is Lever's side of the ATS sync (an atssync.Vendor). A pass reads:
//
//   - users (GET /users?includeDeactivated=true): the recruiters directory as
//     lever:<user id>, a deactivated user inactive, with its manager;
//   - opportunities updated since the cursor (GET /opportunities?updated_at_start=,
//     expanded with owner, contact, stage and applications), each with its interviews
//     (GET /opportunities/:id/interviews). The stages, postings and archive reasons
//     that name stage ids, jobs and hires are read at the start of each pass.
//
// Each opportunity (application lever:<opportunity>, candidate lever:<contact>)
// becomes, with external ids sync:lever:<kind>:<opportunity>:<discriminator>:
//
//	application_received   at its first application's createdAt     <createdAt>
//	                       with its attribution (see attribution)
//	stage_changed          each stage change after the first stage   <stage id>@<updatedAt>
//	hired, rejected        archived with a reason of type hired, not <archivedAt>
//	interview_scheduled    each interview, at its createdAt           <interview id>
//	interview_canceled     at its canceledAt                          <interview id>
//	interview_rescheduled  a start other than first read              <interview id>@<start>
//	details_updated        at its updatedAt: name, email, phone      <updatedAt>
//	                       (none once anonymised), job title and
//	                       department, owner, stage name, sources,
//	                       referral
//
// Interviews carry scheduled_for and duration. The receiver's ids embed Lever's
// triggeredAt, which the API does not report, so no event here can carry the id the
// receiver gave the same event: the writer the runner writes with leaves out the
// events a webhook already delivered, and the webhook's late delivery of one the sync
// recorded first (interactions.SameEvent). Lever's API has no endpoint for the emails
// sent or received through Lever: the sync records no messages.
type Sync struct {
	client *Client
	hired  []string
	now    func() time.Time

	mu     sync.Mutex
	ref    *reference
	readAt time.Time // when ref was read
	// dates remembers the start each interview had when this process first read it,
	// so that a later pass reading another start records a reschedule (Lever's
	// interviews keep no history of their times).
	dates map[string]seenInterview
}

type seenInterview struct {
	first int64 // the start first read (Unix ms)
	moved bool  // a start other than first has been read since
}

var (
	_ atssync.Vendor = (*Sync)(nil)
	_ Names          = (*Sync)(nil)
)

// New returns Lever's sync, reading through doer (the runner's paced, retrying client)
// and reading the time from now.
func New(cfg Config, doer atssync.Doer, now func() time.Time) *Sync {
	return &Sync{
		client: &Client{BaseURL: cfg.APIURL, Key: cfg.APIKey, HTTP: doer, PageSize: cfg.PageSize},
		hired:  cfg.HiredArchiveReasons,
		now:    now,
		dates:  map[string]seenInterview{},
	}
}

// Name returns "lever".
func (*Sync) Name() string { return "lever" }

// Resources returns users, then opportunities.
func (*Sync) Resources() []string { return []string{ResourceUsers, ResourceOpportunities} }

// RateLimit is Lever's documented pace: RequestsPerSecond steady, bursts of Burst.
func (*Sync) RateLimit() (perSecond float64, burst int) { return RequestsPerSecond, Burst }

// StageName returns the name of a Lever stage id as the last pass read it, "" when
// unknown: the receiver names candidateStageChange's stage ids with it (Names).
func (s *Sync) StageName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ref == nil {
		return ""
	}
	return s.ref.stages[id]
}

// HiredArchiveReasons returns the ids of the archive reasons of type hired as last
// read, else the configured ones (for the receiver: Names).
func (s *Sync) HiredArchiveReasons() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ref == nil || s.ref.hired == nil {
		return slices.Clone(s.hired)
	}
	out := make([]string, 0, len(s.ref.hired))
	for id := range s.ref.hired {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Pull reads one page of resource from cursor.
func (s *Sync) Pull(ctx context.Context, resource string, cursor atssync.Cursor) (atssync.Page, error) {
	switch resource {
	case ResourceUsers:
		return s.pullUsers(ctx, cursor)
	case ResourceOpportunities:
		return s.pullOpportunities(ctx, cursor)
	}
	return atssync.Page{}, fmt.Errorf("lever: no resource %q", resource)
}

// pullUsers reads one page of users, deactivated ones included. The directory has no
// time cursor: every pass reads it all, and the last page's Next (Since: when it was
// read, no token) starts the next pass at the first page again.
func (s *Sync) pullUsers(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	q := url.Values{"includeDeactivated": {"true"}}
	l, err := page[apiUser](ctx, s.client, "/users", q, cursor.Token)
	if staleToken(err, cursor.Token) {
		l, err = page[apiUser](ctx, s.client, "/users", q, "")
	}
	if err != nil {
		return atssync.Page{}, err
	}
	var p atssync.Page
	for _, u := range l.Data {
		id := vendorID(u.ID)
		if id == "" {
			continue
		}
		p.Users = append(p.Users, atssync.User{
			ID:        id,
			Name:      webhooks.Text(u.Name),
			Email:     webhooks.ValidEmail(u.Email),
			Active:    u.DeactivatedAt == nil,
			ManagerID: vendorID(u.ManagerID),
		})
	}
	p.Counts = map[string]int{atssync.CountUsers: len(p.Users)}
	if l.HasNext {
		p.Next, p.More = atssync.Cursor{Token: l.Next}, true
	} else {
		p.Next = atssync.Cursor{Since: s.now().UTC().Truncate(time.Millisecond)}
	}
	return p, nil
}

// staleToken reports whether err is Lever refusing the offset token a pass resumed
// with (one saved before a restart may no longer be valid): the read starts again
// from the first page rather than failing every pass.
func staleToken(err error, token string) bool {
	var apiErr *APIError
	return token != "" && errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest
}

// pullOpportunities reads one page of the opportunities updated since cursor.Since,
// with their interviews. The token carries the pass's start (Unix ms) and Lever's
// offset; the last page's Next starts the next pass Overlap before this one started.
func (s *Sync) pullOpportunities(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	now := s.now().UTC()
	start, offset, err := parseToken(cursor.Token, now)
	if err != nil {
		return atssync.Page{}, err
	}
	ref, err := s.reference(ctx, cursor.Token == "")
	if err != nil {
		return atssync.Page{}, err
	}
	q := url.Values{"expand": {"owner", "contact", "stage", "applications"}}
	if !cursor.Since.IsZero() {
		q.Set("updated_at_start", strconv.FormatInt(cursor.Since.UnixMilli(), 10))
	}
	l, err := page[apiOpportunity](ctx, s.client, "/opportunities", q, offset)
	if staleToken(err, offset) {
		start, cursor.Token = now, "" // a new pass from the same cursor
		l, err = page[apiOpportunity](ctx, s.client, "/opportunities", q, "")
	}
	if err != nil {
		return atssync.Page{}, err
	}
	p := atssync.Page{Counts: map[string]int{}}
	for _, o := range l.Data {
		if vendorID(o.ID) == "" {
			continue // no application to attach anything to
		}
		ivs, err := all[apiInterview](ctx, s.client, "/opportunities/"+url.PathEscape(o.ID)+"/interviews", nil)
		if err != nil {
			return atssync.Page{}, err
		}
		p.Interactions = append(p.Interactions, s.mapOpportunity(o, ivs, ref, now)...)
		p.Counts[atssync.CountApplicationsUpdated]++
		p.Counts[atssync.CountInterviews] += len(ivs)
	}
	if l.HasNext {
		p.Next = atssync.Cursor{Since: cursor.Since, Token: strconv.FormatInt(start.UnixMilli(), 10) + "." + l.Next}
		p.More = true
		return p, nil
	}
	next := start.Add(-Overlap)
	if next.Before(cursor.Since) {
		next = cursor.Since
	}
	p.Next = atssync.Cursor{Since: next}
	return p, nil
}

// parseToken splits an opportunities token into the pass's start and Lever's offset;
// an empty token starts a pass now.
func parseToken(tok string, now time.Time) (time.Time, string, error) {
	if tok == "" {
		return now, "", nil
	}
	ms, offset, ok := strings.Cut(tok, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || offset == "" {
		return time.Time{}, "", fmt.Errorf("lever: %q is not a token of this sync", tok)
	}
	return time.UnixMilli(n).UTC(), offset, nil
}

// reference is what names the ids of opportunities: stage names, postings (job titles
// and departments) and which archive reasons are hires.
type reference struct {
	stages   map[string]string
	postings map[string]apiPosting
	reasons  map[string]apiArchiveReason
	hired    map[string]bool // nil when the archive reasons could not be read
	// withPostings is false when only the names were read (KeepNames): a pass then
	// reads the postings too.
	withPostings bool
}

// reference reads stages, postings and archive reasons at the start of a pass (fresh)
// or when this process has not read them yet (a pass resumed after a restart).
func (s *Sync) reference(ctx context.Context, fresh bool) (*reference, error) {
	s.mu.Lock()
	ref := s.ref
	s.mu.Unlock()
	if ref != nil && ref.withPostings && !fresh {
		return ref, nil
	}
	ref = &reference{postings: map[string]apiPosting{}, withPostings: true}
	postings, err := all[apiPosting](ctx, s.client, "/postings", nil)
	if err != nil {
		return nil, err
	}
	for _, po := range postings {
		ref.postings[po.ID] = po
	}
	if err := s.readNames(ctx, ref); err != nil {
		return nil, err
	}
	s.keep(ref)
	return ref, nil
}

// readNames reads into ref the stages and archive reasons, which name stage ids and
// hires.
func (s *Sync) readNames(ctx context.Context, ref *reference) error {
	ref.stages, ref.reasons, ref.hired = map[string]string{}, map[string]apiArchiveReason{}, nil
	stages, err := all[apiStage](ctx, s.client, "/stages", nil)
	if err != nil {
		return err
	}
	for _, st := range stages {
		ref.stages[st.ID] = webhooks.Text(st.Text)
	}
	reasons, err := all[apiArchiveReason](ctx, s.client, "/archive_reasons", nil)
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusForbidden || apiErr.Status == http.StatusNotFound):
		// The key may not read archive reasons: the configured hired reasons decide.
	case err != nil:
		return err
	default:
		ref.hired = map[string]bool{}
		for _, r := range reasons {
			ref.reasons[r.ID] = r
			if r.Type == "hired" {
				ref.hired[r.ID] = true
			}
		}
	}
	return nil
}

// keep makes ref what the sync and the receiver name ids with.
func (s *Sync) keep(ref *reference) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ref, s.readAt = ref, s.now()
}

// KeepNames keeps fresh, on every replica, the stage names and hired archive reasons
// the receiver names ids with (Names): the sync's passes run on one replica only.
// Every period it reads Lever's stages and archive reasons, unless a pass read them
// more recently. A failed read leaves the names as they were (ids and the configured
// reasons, before any read) until the next period. It returns when ctx ends.
func (s *Sync) KeepNames(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.mu.Lock()
		old, stale := s.ref, s.ref == nil || s.now().Sub(s.readAt) >= every
		s.mu.Unlock()
		if stale {
			ref := &reference{postings: map[string]apiPosting{}}
			if old != nil { // postings stay as the last pass read them
				ref.postings, ref.withPostings = old.postings, old.withPostings
			}
			if s.readNames(ctx, ref) == nil {
				s.keep(ref)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// isHired reports whether archiving with reason is a hire.
func (s *Sync) isHired(ref *reference, reason string) bool {
	if ref.hired != nil {
		return ref.hired[reason]
	}
	return slices.Contains(s.hired, reason)
}

// direction is the fixed direction of the kinds the sync records.
var direction = map[interactions.Kind]interactions.Direction{
	interactions.KindApplicationReceived:  interactions.Inbound,
	interactions.KindStageChanged:         interactions.Internal,
	interactions.KindRejected:             interactions.Outbound,
	interactions.KindHired:                interactions.Outbound,
	interactions.KindInterviewScheduled:   interactions.Outbound,
	interactions.KindInterviewRescheduled: interactions.Outbound,
	interactions.KindInterviewCanceled:    interactions.Outbound,
	interactions.KindDetailsUpdated:       interactions.Internal,
	interactions.KindPoolAdded:            interactions.Internal,
}

// vendorID is the receiver's id of a Lever id (webhooks.Prefixed), "" for an empty id
// or one interactions would refuse (webhooks.CheckIDs's rule).
func vendorID(id string) string {
	v := webhooks.Prefixed("lever", webhooks.VendorID(id))
	if len(v) > webhooks.MaxIDBytes || v != webhooks.CleanLine(v) {
		return ""
	}
	return v
}

// msTime converts Lever's Unix milliseconds; false for 0 and for times outside the
// years 1970–9999.
func msTime(ms int64) (time.Time, bool) {
	if ms <= 0 || ms > 253402300799999 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// mapOpportunity maps one opportunity and its interviews (see Map).
func (s *Sync) mapOpportunity(o apiOpportunity, ivs []apiInterview, ref *reference, now time.Time) []interactions.Interaction {
	app := vendorID(o.ID)
	if app == "" {
		return nil
	}
	candidate := vendorID(o.Contact.ID)
	if candidate == "" {
		// Lever's candidate id before contacts existed is the opportunity's (the
		// receiver's fallback from contactId to candidateId).
		candidate = app
	}
	ev := func(kind interactions.Kind, at time.Time, discriminator string) interactions.Interaction {
		ext := webhooks.ExternalID("sync", "lever", string(kind), o.ID, discriminator)
		return interactions.Interaction{
			ApplicationID: app,
			CandidateID:   candidate,
			Kind:          kind,
			OccurredAt:    at,
			Direction:     direction[kind],
			Channel:       "ats",
			Source:        "lever",
			ExternalID:    ext,
		}
	}
	var out []interactions.Interaction

	// The application, at the creation of its first application.
	var first int64
	for _, a := range o.Applications {
		if a.Obj != nil && a.Obj.CreatedAt > 0 && (first == 0 || a.Obj.CreatedAt < first) {
			first = a.Obj.CreatedAt
		}
	}
	if first == 0 && len(o.Applications) > 0 {
		first = o.CreatedAt
	}
	received := false
	if at, ok := msTime(first); ok {
		received = true
		in := ev(interactions.KindApplicationReceived, at, strconv.FormatInt(first, 10))
		in.Attribution = attribution(o)
		in.Referral = referral(o)
		out = append(out, in)
	}
	// An opportunity without an application is a lead: the contact joins the pool
	// "leads", and converts when an application of theirs is received.
	if at, ok := msTime(o.CreatedAt); ok && len(o.Applications) == 0 {
		lead := ev(interactions.KindPoolAdded, at, strconv.FormatInt(o.CreatedAt, 10))
		lead.ApplicationID, lead.PoolID = "", webhooks.PoolLeads
		lead.Metadata = map[string]any{"application_id": app}
		out = append(out, lead)
	}

	// Stage changes after the first stage, which the opportunity was created in.
	for i, c := range o.StageChanges {
		at, ok := msTime(c.UpdatedAt)
		if i == 0 || !ok || c.ToStageID == "" {
			continue
		}
		in := ev(interactions.KindStageChanged, at, c.ToStageID+"@"+strconv.FormatInt(c.UpdatedAt, 10))
		in.Stage = stageName(ref, c.ToStageID, "")
		in.Metadata = meta("stage_id", c.ToStageID, "from_stage_id", o.StageChanges[i-1].ToStageID)
		out = append(out, in)
	}

	// The archive: a hire when its reason is of type hired, else a rejection.
	if a := o.Archived; a != nil {
		if at, ok := msTime(a.ArchivedAt); ok {
			disc := strconv.FormatInt(a.ArchivedAt, 10)
			if s.isHired(ref, a.Reason) {
				out = append(out, ev(interactions.KindHired, at, disc))
			} else {
				in := ev(interactions.KindRejected, at, disc)
				in.Metadata = meta("archive_reason_id", a.Reason, "archive_reason", ref.reasons[a.Reason].Text)
				out = append(out, in)
			}
		}
	}

	// Interviews: scheduled when created, canceled when canceled, rescheduled when a
	// later pass reads another start than this process read before.
	for _, iv := range ivs {
		id := vendorID(iv.ID)
		created, ok := msTime(iv.CreatedAt)
		if id == "" || !ok {
			continue
		}
		in := ev(interactions.KindInterviewScheduled, created, iv.ID)
		in.InterviewID = id
		setWhen(&in, iv)
		out = append(out, in)
		if at, ok := msTime(deref(iv.CanceledAt)); ok {
			c := ev(interactions.KindInterviewCanceled, at, iv.ID)
			c.InterviewID = id
			out = append(out, c)
			continue
		}
		if r, ok := s.rescheduled(iv); ok {
			in := ev(interactions.KindInterviewRescheduled, now.Truncate(time.Millisecond), iv.ID+"@"+strconv.FormatInt(r, 10))
			in.InterviewID = id
			setWhen(&in, iv)
			out = append(out, in)
		}
	}

	// What the ATS knows of the application now, at its last update.
	at, ok := msTime(o.UpdatedAt)
	if !ok {
		at = now.Truncate(time.Millisecond)
	}
	d := ev(interactions.KindDetailsUpdated, at, strconv.FormatInt(o.UpdatedAt, 10))
	d.RecruiterID = ownerID(o, ref)
	d.Candidate = candidateDetails(o)
	var stageID, stageText string
	if o.Stage.Obj != nil {
		stageText = o.Stage.Obj.Text
	}
	stageID = o.Stage.ID
	d.Stage = stageName(ref, stageID, stageText)
	if po, ok := posting(o, ref); ok {
		d.JobID = vendorID(po.ID)
		if j := (interactions.JobInfo{Title: webhooks.Text(po.Text), Department: webhooks.Text(po.Categories.Department)}); j != (interactions.JobInfo{}) {
			d.Job = &j
		}
	}
	d.Referral = referral(o)
	if received {
		// The attribution again: the webhook's application_received, when it came
		// first, had none, and the application takes this one then.
		d.Attribution = attribution(o)
	}
	d.Metadata = meta("stage_id", stageID, "origin", o.Origin, "sources", strings.Join(o.Sources, ", "))
	out = append(out, d)
	return out
}

// rescheduled reports whether iv starts at another time than when this process first
// read it, and then the start that names the reschedule. The answer is the same on
// every pass until the interview moves again, so a page the runner failed to write is
// mapped the same when read again, and its reschedule stored once.
func (s *Sync) rescheduled(iv apiInterview) (int64, bool) {
	if _, ok := msTime(iv.Date); !ok {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen, ok := s.dates[iv.ID]
	switch {
	case !ok:
		s.dates[iv.ID] = seenInterview{first: iv.Date}
		return 0, false
	case iv.Date != seen.first:
		s.dates[iv.ID] = seenInterview{first: seen.first, moved: true}
		return iv.Date, true
	case seen.moved: // moved back to its first time
		return iv.Date, true
	}
	return 0, false
}

// setWhen sets an interview's scheduled_for and duration from Lever's date and
// duration (minutes), as the receiver does for interviewCreated.
func setWhen(in *interactions.Interaction, iv apiInterview) {
	t, ok := msTime(iv.Date)
	if !ok {
		return
	}
	in.ScheduledFor = &t
	if iv.Duration > 0 && iv.Duration < 24*60 {
		if d, err := interactions.ParseDuration(strconv.FormatInt(iv.Duration, 10) + "m"); err == nil {
			in.Duration = &d
		}
	}
}

// ownerID is the owning recruiter: the opportunity's owner, else the owner of the
// posting it applied to. Lever's webhooks name no owner, so the receiver names none;
// it is chosen here, for both, once the receiver lives in this package.
func ownerID(o apiOpportunity, ref *reference) string {
	if id := vendorID(o.Owner.ID); id != "" {
		return id
	}
	for _, a := range o.Applications {
		if a.Obj != nil {
			if id := vendorID(a.Obj.PostingOwner); id != "" {
				return id
			}
		}
	}
	if po, ok := posting(o, ref); ok {
		return vendorID(po.Owner)
	}
	return ""
}

// posting is the posting the opportunity applied to (its first application naming
// one), as read at the start of the pass.
func posting(o apiOpportunity, ref *reference) (apiPosting, bool) {
	for _, a := range o.Applications {
		if a.Obj == nil || a.Obj.Posting == "" {
			continue
		}
		if po, ok := ref.postings[a.Obj.Posting]; ok {
			return po, true
		}
		return apiPosting{ID: a.Obj.Posting}, true
	}
	return apiPosting{}, false
}

// candidateDetails are the contact's name, first valid email and first E.164 phone;
// nil for an anonymised candidate, whose details Lever has removed.
func candidateDetails(o apiOpportunity) *interactions.Person {
	c := o.Contact.Obj
	if o.IsAnonymized || (c != nil && c.IsAnonymized) {
		return nil
	}
	name, emails, phones := o.Name, o.Emails, o.Phones
	if c != nil {
		if name == "" {
			name = c.Name
		}
		emails = append(slices.Clone(emails), c.Emails...)
		phones = append(slices.Clone(phones), c.Phones...)
	}
	p := interactions.Person{Name: webhooks.Text(name)}
	for _, e := range emails {
		if p.Email = webhooks.ValidEmail(e); p.Email != "" {
			break
		}
	}
	for _, ph := range phones {
		if p.Phone = webhooks.PhoneE164(ph.Value); p.Phone != "" {
			break
		}
	}
	if p.IsZero() {
		return nil
	}
	return &p
}

// attribution is where the opportunity came from: source, its first source (Lever's
// sources, e.g. "LinkedIn", "Referral"); medium, its origin (applied, sourced, agency,
// university, internal; "referred" is written "referral", as the other ATSs name it);
// referrer "lever:<user id>", the user of an application of type referral, "If the
// application is of type referral, this is the user who made the referral"
// (hire.lever.co/developer/documentation, "Applications"). Lever has no campaign.
func attribution(o apiOpportunity) *interactions.Attribution {
	var a interactions.Attribution
	for _, s := range o.Sources {
		if a.Source = webhooks.Text(s); a.Source != "" {
			break
		}
	}
	a.Medium = webhooks.Text(o.Origin)
	if a.Medium == "referred" {
		a.Medium = "referral"
	}
	for _, app := range o.Applications {
		if app.Obj != nil && app.Obj.Type == "referral" && app.Obj.User != "" {
			a.ReferrerID = vendorID(app.Obj.User)
			if a.Medium == "" {
				a.Medium = "referral"
			}
			break
		}
	}
	return a.Normalized()
}

// referral reports whether the candidate came through a referral: Lever's origin
// "referred" or an application of type "referral".
func referral(o apiOpportunity) bool {
	if o.Origin == "referred" {
		return true
	}
	for _, a := range o.Applications {
		if a.Obj != nil && a.Obj.Type == "referral" {
			return true
		}
	}
	return false
}

// stageName names a stage id: the expanded stage's text, else the stages read at the
// start of the pass, else the id itself (what the receiver records).
func stageName(ref *reference, id, expanded string) string {
	if n := webhooks.Text(expanded); n != "" {
		return n
	}
	if n := ref.stages[id]; n != "" {
		return n
	}
	return webhooks.Text(id)
}

// meta builds metadata from key, value pairs, leaving out empty values.
func meta(kv ...string) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		if v := webhooks.Text(kv[i+1]); v != "" {
			m[kv[i]] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
