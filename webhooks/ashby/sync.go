package ashby

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// The resources a pass reads, in order: the directory first, so that applications name
// recruiters it already has; applications before the schedules and offers that name
// them, so that their candidates are known.
const (
	ResourceUsers      = "users"
	ResourceApps       = "applications"
	ResourceSchedules  = "interview_schedules"
	ResourceOffers     = "offers"
	countSkipped       = "skipped"     // records Ashby holds in a shape goodwill refuses
	countFullPasses    = "full_passes" // passes read whole because the syncToken was refused
	countOffers        = "offers"      // offers extended
	maxCachedCandidate = 100_000       // applications whose candidate the sync remembers
)

// Overlap is how far before the start of the previous pass a full pass (the first,
// or one after Ashby refused the syncToken) reads again: records updated earlier were
// read by an earlier pass, or lie before the lookback.
const Overlap = 10 * time.Minute

// Config is what the sync needs from the environment.
type Config struct {
	APIKey string // GOODWILL_ASHBY_API_KEY
	APIURL string // GOODWILL_ASHBY_API_URL; DefaultAPIURL when empty
	// PageSize is how many items a page asks Ashby for, 1–100; 100 when 0.
	PageSize int
}

// Known returns the events goodwill holds for an application (an
// interactions.Application's compact events; none when the application is unknown):
// they name its candidate.
type Known func(ctx context.Context, applicationID string) ([]interactions.Interaction, error)

// Sync is Ashby's side of the ATS sync (an atssync.Vendor). A pass reads:
//
//   - users (user.list, deactivated ones included, whole every pass): the recruiters
//     directory as ashby:<user id>, inactive when not isEnabled, with the manager;
//   - applications changed since the resource's syncToken (application.list), each
//     with its stage history (application.listHistory) and its job's department
//     (department.list, once a pass);
//   - interview schedules changed since their syncToken (interviewSchedule.list),
//     those held already (WaitingOnFeedback, Complete) recorded as scheduled;
//   - offers changed since their syncToken (offer.list).
//
// The syncToken Ashby gives at the end of a pass is each resource's durable cursor
// (in atssync.Cursor.Token, with the page cursor while a pass reads). A first pass,
// and a pass whose syncToken Ashby refuses as expired or too large
// (sync_token_expired, incremental_sync_too_large), reads the resource whole, paced as
// any other, and maps only what changed since Cursor.Since: the lookback, then the
// start of the last pass less Overlap.
//
// Each application (application ashby:<id>, candidate ashby:<candidate id>) becomes,
// with external ids sync:ashby:<kind>:<application>:<discriminator>:
//
//	details_updated        at its updatedAt: name, email, phone,     <updatedAt>
//	                       job title and department, the hiring
//	                       team's Recruiter, current stage, source,
//	                       referral
//	application_received   at its createdAt (not for a Lead)          <createdAt>
//	                       with its attribution (see attribution)
//	stage_changed          each history entry after the first         <history id>
//	rejected, withdrawn    an entry into the Archived stage           <history id>
//	                       (withdrawn: archive reason RejectedByCandidate)
//	hired                  an entry into the Hired stage              <history id>
//
// The receiver's ids for these events embed the webhook's action id, which the API
// does not report: an event a webhook also describes is stored once by the writer's
// rule for events (same kind and stage within 5 minutes, one application_received),
// whichever comes first. Interview schedules map exactly as the receiver maps
// interviewScheduleUpdate, under the receiver's external ids: a webhook and the sync
// store one record of each interview event. Offers shown to the candidate become
// offer_extended (sync:ashby:offer_extended:<application>:<offer id>), dated by
// their version's createdAt: Ashby records no time an offer was sent.
type Sync struct {
	c   *client
	now func() time.Time

	// Known, when set, names the candidate of the schedules and offers of an
	// application this process has not read, without asking Ashby.
	// Store.Application serves it.
	Known Known

	mu         sync.Mutex
	depts      map[webhooks.VendorID]string // department names, as last read
	candidates map[webhooks.VendorID]webhooks.VendorID
}

var _ atssync.Vendor = (*Sync)(nil)

// New returns Ashby's sync, reading through doer (the runner's paced, retrying
// client) and reading the time from now.
func New(cfg Config, doer atssync.Doer, now func() time.Time) *Sync {
	if now == nil {
		now = time.Now
	}
	return &Sync{
		c:          &client{base: cfg.APIURL, key: cfg.APIKey, http: doer, pageSize: cfg.PageSize},
		now:        now,
		candidates: map[webhooks.VendorID]webhooks.VendorID{},
	}
}

// NewVendor returns Ashby's sync sending through the runner's paced, retrying client
// (atssync.Client) at Ashby's documented rate: what the server runs. The error is a
// configuration the client refuses.
func NewVendor(cfg Config, now func() time.Time) (*Sync, error) {
	base := cfg.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	perSecond, burst := (*Sync)(nil).RateLimit()
	doer, err := atssync.NewClient(atssync.ClientConfig{
		Vendor: "ashby", BaseURL: base, Rate: rate.Limit(perSecond), Burst: burst,
		PerWindow: RequestsPerMinute, Window: time.Minute, MaxBody: maxBody,
	})
	if err != nil {
		return nil, err
	}
	return New(cfg, doer, now), nil
}

// Name returns "ashby".
func (*Sync) Name() string { return "ashby" }

// Resources returns users, applications, interview_schedules and offers.
func (*Sync) Resources() []string {
	return []string{ResourceUsers, ResourceApps, ResourceSchedules, ResourceOffers}
}

// RateLimit is Ashby's documented pace: RequestsPerMinute, up to Burst at once.
func (*Sync) RateLimit() (perSecond float64, burst int) { return RequestsPerMinute / 60.0, Burst }

// Pull reads one page of resource from cursor. Ashby's refusals are *APIError.
func (s *Sync) Pull(ctx context.Context, resource string, cursor atssync.Cursor) (atssync.Page, error) {
	switch resource {
	case ResourceUsers:
		return s.pullUsers(ctx, cursor)
	case ResourceApps:
		return s.pullApplications(ctx, cursor)
	case ResourceSchedules:
		return s.pullSchedules(ctx, cursor)
	case ResourceOffers:
		return s.pullOffers(ctx, cursor)
	}
	return atssync.Page{}, fmt.Errorf("ashby: no resource %q", resource)
}

// passToken is a resource's Cursor.Token: the syncToken the pass reads from ("" for a
// full pass), Ashby's page cursor within the pass, and when the pass began.
type passToken struct {
	Sync   string    `json:"sync,omitempty"`
	Cursor string    `json:"cursor,omitempty"`
	Start  time.Time `json:"start,omitzero"`
}

func (p passToken) encode() string {
	if p == (passToken{}) {
		return ""
	}
	b, _ := json.Marshal(p)
	return string(b)
}

// decodeToken reads a Token; one this sync did not make is none: the resource is read
// whole from Cursor.Since.
func decodeToken(s string) passToken {
	var p passToken
	if s == "" || json.Unmarshal([]byte(s), &p) != nil {
		return passToken{}
	}
	return p
}

// readPage reads the page of an incremental list that cursor points at. A page cursor
// Ashby refuses starts the pass again from its syncToken; a syncToken it refuses
// (expired, or too many changes) starts a full pass. It returns the token in force,
// with the pass's start set, and whether the pass was restarted as a full one.
func readPage[T any](ctx context.Context, s *Sync, method string, body map[string]any, cursor atssync.Cursor) (listPage[T], passToken, bool, error) {
	tok := decodeToken(cursor.Token)
	if tok.Cursor == "" || tok.Start.IsZero() {
		tok.Cursor, tok.Start = "", s.now().UTC().Truncate(time.Millisecond)
	}
	p, err := list[T](ctx, s.c, method, body, tok.Cursor, tok.Sync)
	if tok.Cursor != "" && isCode(err, cursorCodes...) {
		tok.Cursor, tok.Start = "", s.now().UTC().Truncate(time.Millisecond)
		p, err = list[T](ctx, s.c, method, body, "", tok.Sync)
	}
	restarted := false
	if tok.Sync != "" && isCode(err, codeSyncTokenExpired, codeSyncTooLarge) {
		tok, restarted = passToken{Start: s.now().UTC().Truncate(time.Millisecond)}, true
		p, err = list[T](ctx, s.c, method, body, "", "")
	}
	return p, tok, restarted, err
}

// advance fills the page's Next: within the pass the page cursor; at its end Ashby's
// new syncToken and, as Since, the pass's start less Overlap (never moving back).
func advance[T any](page *atssync.Page, cursor atssync.Cursor, tok passToken, p listPage[T]) {
	if p.More {
		page.More = true
		page.Next = atssync.Cursor{Since: cursor.Since, Token: passToken{Sync: tok.Sync, Cursor: p.NextCursor, Start: tok.Start}.encode()}
		return
	}
	since := cursor.Since
	if st := tok.Start.Add(-Overlap); since.IsZero() || st.After(since) {
		since = st
	}
	page.Next = atssync.Cursor{Since: since, Token: passToken{Sync: p.SyncToken}.encode()}
}

// changed reports whether a record updated at updated is read by this pass: always in
// an incremental pass (Ashby lists only what changed); in a full pass when it changed
// since Cursor.Since (or its time is unknown).
func changed(full bool, since time.Time, updated ...string) bool {
	if !full || since.IsZero() {
		return true
	}
	for _, u := range updated {
		if t, ok := webhooks.ParseTime(u); ok && !t.Before(since) {
			return true
		}
	}
	return !slices.ContainsFunc(updated, func(u string) bool { _, ok := webhooks.ParseTime(u); return ok })
}

// ---- users ----

// pullUsers reads the whole directory every pass (it is small, and Ashby owns the
// name, email, active and manager that a pass sets again whatever was changed since).
func (s *Sync) pullUsers(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	tok := decodeToken(cursor.Token)
	body := map[string]any{"includeDeactivated": true}
	p, err := list[apiUser](ctx, s.c, "user.list", body, tok.Cursor, "")
	if tok.Cursor != "" && isCode(err, cursorCodes...) {
		p, err = list[apiUser](ctx, s.c, "user.list", body, "", "")
	}
	if err != nil {
		return atssync.Page{}, err
	}
	page := atssync.Page{Counts: map[string]int{}}
	for _, u := range p.Results {
		id := vendorID(u.ID)
		if id == "" {
			page.Counts[countSkipped]++
			continue
		}
		page.Users = append(page.Users, atssync.User{
			ID:        id,
			Name:      webhooks.Text(strings.TrimSpace(u.FirstName + " " + u.LastName)),
			Email:     webhooks.ValidEmail(u.Email),
			Active:    u.IsEnabled,
			ManagerID: vendorID(u.ManagerID),
		})
	}
	page.Counts[atssync.CountUsers] = len(page.Users)
	since := atssync.PassStart(cursor, s.now())
	page.Next = atssync.Cursor{Since: since}
	if p.More {
		page.More = true
		page.Next.Token = passToken{Cursor: p.NextCursor, Start: since}.encode()
	}
	return page, nil
}

// ---- applications ----

// pullApplications reads one page of the applications changed since the syncToken,
// each with its stage history.
func (s *Sync) pullApplications(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	p, tok, restarted, err := readPage[apiApplication](ctx, s, "application.list", nil, cursor)
	if err != nil {
		return atssync.Page{}, err
	}
	full := tok.Sync == ""
	if err := s.readDepartments(ctx, tok.Cursor == ""); err != nil {
		return atssync.Page{}, err
	}
	now := s.now()
	page := atssync.Page{Counts: map[string]int{}}
	if restarted {
		page.Counts[countFullPasses]++
	}
	var read []*apiApplication // the applications to map, in the page's order
	for i := range p.Results {
		app := &p.Results[i]
		if vendorID(app.ID) == "" || vendorID(app.Candidate.ID) == "" {
			page.Counts[countSkipped]++
			continue
		}
		s.remember(app.ID, app.Candidate.ID)
		if changed(full, cursor.Since, app.UpdatedAt, app.CreatedAt) {
			read = append(read, app)
		}
	}
	histories, err := s.histories(ctx, read)
	if err != nil {
		return atssync.Page{}, err
	}
	for i, app := range read {
		page.Counts[atssync.CountApplicationsUpdated]++
		for _, in := range mapApplication(app, histories[i], s.department(app), now) {
			add(&page, in, now)
		}
	}
	advance(&page, cursor, tok, p)
	return page, nil
}

// historyReaders is how many stage histories a page reads at once. The runner's
// client still paces them at Ashby's rate: reading several at once keeps to that pace
// when one answer takes longer than the time between two requests.
const historyReaders = 4

// histories reads the stage history of each of apps (application.listHistory), up to
// historyReaders at once, in apps' order; the first error ends the reads.
func (s *Sync) histories(parent context.Context, apps []*apiApplication) ([][]apiHistory, error) {
	out := make([][]apiHistory, len(apps))
	errs := make([]error, len(apps))
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	turn := make(chan int)
	var wg sync.WaitGroup
	for range min(historyReaders, len(apps)) {
		wg.Go(func() {
			for i := range turn {
				out[i], errs[i] = all[apiHistory](ctx, s.c, "application.listHistory", map[string]any{"applicationId": string(apps[i].ID)})
				if errs[i] != nil {
					cancel() // the others stop: the page is read again
				}
			}
		})
	}
	for i := range apps {
		select {
		case turn <- i:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(turn)
	wg.Wait()
	// The error that ended the reads, not the cancellations it caused.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	if first == nil {
		first = parent.Err() // stopped before every history was asked for
	}
	if first != nil {
		return nil, first
	}
	return out, nil
}

// readDepartments reads the department names at the start of a pass (fresh) or when
// this process has none yet. A key that may not read them leaves departments unnamed.
func (s *Sync) readDepartments(ctx context.Context, fresh bool) error {
	s.mu.Lock()
	have := s.depts != nil
	s.mu.Unlock()
	if have && !fresh {
		return nil
	}
	depts, err := all[apiDepartment](ctx, s.c, "department.list", nil)
	names := map[webhooks.VendorID]string{}
	switch {
	case isForbidden(err):
	case err != nil:
		return err
	default:
		for _, d := range depts {
			names[d.ID] = webhooks.Text(d.Name)
		}
	}
	s.mu.Lock()
	s.depts = names
	s.mu.Unlock()
	return nil
}

// isForbidden reports whether err is Ashby refusing the key an endpoint.
func isForbidden(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Status == http.StatusForbidden || e.Code == "missing_endpoint_permission")
}

func (s *Sync) department(app *apiApplication) string {
	if app.Job == nil || app.Job.DepartmentID == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.depts[app.Job.DepartmentID]
}

// remember keeps an application's candidate for the schedules and offers that name
// only the application.
func (s *Sync) remember(app, candidate webhooks.VendorID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.candidates[app]; !ok && len(s.candidates) >= maxCachedCandidate {
		clear(s.candidates)
	}
	s.candidates[app] = candidate
}

// candidateOf finds the candidate of an application: as this process last read it,
// else from the events goodwill holds (Known), else application.info. "" when Ashby
// does not know the application (deleted, or on a confidential job the key may not
// read).
func (s *Sync) candidateOf(ctx context.Context, app webhooks.VendorID) (webhooks.VendorID, error) {
	s.mu.Lock()
	c, ok := s.candidates[app]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	if s.Known != nil {
		events, err := s.Known(ctx, "ashby:"+string(app))
		if err != nil {
			return "", fmt.Errorf("ashby: the events of ashby:%s: %w", app, err)
		}
		for _, e := range events {
			if id, ok := strings.CutPrefix(e.CandidateID, "ashby:"); ok && id != "" {
				s.remember(app, webhooks.VendorID(id))
				return webhooks.VendorID(id), nil
			}
		}
	}
	env, err := s.c.call(ctx, "application.info", map[string]any{"applicationId": string(app)})
	if isCode(err, "application_not_found") {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var info apiApplication
	if err := json.Unmarshal(env.Results, &info); err != nil {
		return "", &APIError{Status: http.StatusOK, Method: "application.info", Message: "results: " + err.Error()}
	}
	if info.Candidate.ID != "" {
		s.remember(app, info.Candidate.ID)
	}
	return info.Candidate.ID, nil
}

// mapApplication maps an application and its stage history (see Sync).
func mapApplication(app *apiApplication, history []apiHistory, department string, now time.Time) []interactions.Input {
	base := applicationBase(app, department)
	appID := string(app.ID)
	ev := func(kind interactions.Kind, at time.Time, discriminator string) interactions.Input {
		in := base
		in.Kind = string(kind)
		in.OccurredAt = interactions.APITime(at)
		in.ExternalID = webhooks.ExternalID("sync", "ashby", string(kind), appID, discriminator)
		return in
	}
	var out []interactions.Input

	// What Ashby holds now, at its last update.
	updated, ok := webhooks.ParseTime(app.UpdatedAt)
	if !ok {
		if updated, ok = webhooks.ParseTime(app.CreatedAt); !ok {
			updated = now.Truncate(time.Millisecond)
		}
	}
	d := ev(interactions.KindDetailsUpdated, updated, interactions.APITime(updated))
	var stageType string
	if st := app.CurrentInterviewStage; st != nil {
		d.Stage, stageType = webhooks.Text(st.Title), st.Type
	}
	meta := map[string]string{"status": app.Status}
	if src := app.Source; src != nil {
		meta["source"] = src.Title
	}
	d.Metadata = webhooks.Metadata(meta)
	if !strings.EqualFold(app.Status, "Lead") {
		// The attribution again, for an application a webhook recorded first
		// without it: the application takes it then.
		d.Attribution, d.FromSync = attribution(app, base.Referral), true
	}
	out = append(out, d)

	// The application itself; a lead is no application yet (the receiver notes it).
	if created, ok := webhooks.ParseTime(app.CreatedAt); ok && !strings.EqualFold(app.Status, "Lead") {
		r := ev(interactions.KindApplicationReceived, created, interactions.APITime(created))
		r.Attribution = attribution(app, base.Referral)
		out = append(out, r)
	}

	// The stages after the first, which the application was created in.
	slices.SortStableFunc(history, func(a, b apiHistory) int { return a.StageNumber - b.StageNumber })
	for i, h := range history {
		at, ok := webhooks.ParseTime(h.EnteredStageAt)
		if i == 0 || !ok || h.ID == "" {
			continue
		}
		current := app.CurrentInterviewStage != nil && h.StageID != "" && h.StageID == app.CurrentInterviewStage.ID
		typ := ""
		switch {
		case current:
			typ = stageType
		case strings.EqualFold(webhooks.Text(h.Title), "Archived"), strings.EqualFold(webhooks.Text(h.Title), "Hired"):
			typ = webhooks.Text(h.Title) // Ashby's system stages keep their names
		}
		switch {
		case strings.EqualFold(typ, "Hired"):
			out = append(out, ev(interactions.KindHired, at, string(h.ID)))
		case strings.EqualFold(typ, "Archived"):
			out = append(out, archived(ev(interactions.KindRejected, at, string(h.ID)), app, current))
		default:
			in := ev(interactions.KindStageChanged, at, string(h.ID))
			in.Stage = webhooks.Text(h.Title)
			in.Metadata = webhooks.Metadata(map[string]string{"stage_id": string(h.StageID)})
			out = append(out, in)
		}
	}

	// No history read: the outcome from the application's status.
	if len(history) == 0 {
		switch {
		case strings.EqualFold(app.Status, "Hired"):
			out = append(out, ev(interactions.KindHired, updated, "status"))
		case strings.EqualFold(app.Status, "Archived"):
			at, ok := webhooks.ParseTime(app.ArchivedAt)
			if !ok {
				at = updated
			}
			out = append(out, archived(ev(interactions.KindRejected, at, "status"), app, true))
		}
	}
	return out
}

// archived makes in (a rejection) a withdrawal when the current archive reason says
// the candidate withdrew, with the reason, as the receiver does.
func archived(in interactions.Input, app *apiApplication, current bool) interactions.Input {
	if r := app.ArchiveReason; current && r != nil {
		if r.ReasonType == "RejectedByCandidate" {
			in.Kind = string(interactions.KindWithdrawn)
			in.ExternalID = strings.Replace(in.ExternalID, ":rejected:", ":withdrawn:", 1)
		}
		in.Metadata = webhooks.Metadata(map[string]string{"archive_reason": r.Text, "archive_reason_type": r.ReasonType})
	}
	return in
}

// ---- interview schedules ----

// held are the statuses of a schedule whose interviews took place: the sync records
// them as scheduled, which a webhook had done while they were ahead.
var held = []string{"WaitingOnFeedback", "Complete"}

// pullSchedules reads one page of the interview schedules changed since the syncToken
// and maps them as the receiver maps interviewScheduleUpdate, under its ids.
func (s *Sync) pullSchedules(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	p, tok, restarted, err := readPage[apiSchedule](ctx, s, "interviewSchedule.list", nil, cursor)
	if err != nil {
		return atssync.Page{}, err
	}
	full := tok.Sync == ""
	now := s.now()
	page := atssync.Page{Counts: map[string]int{}}
	if restarted {
		page.Counts[countFullPasses]++
	}
	for i := range p.Results {
		sch := &p.Results[i]
		if !changed(full, cursor.Since, sch.UpdatedAt) || sch.ApplicationID == "" {
			continue
		}
		if sch.CandidateID == "" {
			if sch.CandidateID, err = s.candidateOf(ctx, sch.ApplicationID); err != nil {
				return atssync.Page{}, err
			}
		}
		if sch.CandidateID == "" {
			page.Counts[countSkipped]++
			continue
		}
		if slices.Contains(held, sch.Status) {
			// Held since: a pass that first reads it now records it as scheduled, under
			// the key its webhook would have had.
			sch.Status = "Scheduled"
		}
		d := webhooks.Delivery{Source: "ashby", Event: "interviewScheduleUpdate"}
		if err := (Receiver{}).schedule(&d, sch, now); err != nil {
			page.Counts[countSkipped]++
			continue
		}
		for _, in := range d.Items {
			if add(&page, in, now) {
				page.Counts[atssync.CountInterviews]++
			}
		}
	}
	advance(&page, cursor, tok, p)
	return page, nil
}

// ---- offers ----

// extended are the offer statuses of an offer the candidate has been sent.
var extended = []string{"WaitingOnCandidateResponse", "CandidateAccepted", "CandidateRejected"}

// pullOffers reads one page of the offers changed since the syncToken: each offer shown
// to the candidate is an offer_extended.
func (s *Sync) pullOffers(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	p, tok, restarted, err := readPage[apiOffer](ctx, s, "offer.list", nil, cursor)
	if err != nil {
		return atssync.Page{}, err
	}
	full := tok.Sync == ""
	now := s.now()
	page := atssync.Page{Counts: map[string]int{}}
	if restarted {
		page.Counts[countFullPasses]++
	}
	for _, o := range p.Results {
		if !slices.Contains(extended, o.OfferStatus) || o.ID == "" || o.ApplicationID == "" {
			continue
		}
		var versionAt string
		if o.LatestVersion != nil {
			versionAt = o.LatestVersion.CreatedAt
		}
		at, ok := webhooks.FirstTime(versionAt, o.DecidedAt)
		if !ok || !changed(full, cursor.Since, versionAt, o.DecidedAt) {
			continue
		}
		candidate, err := s.candidateOf(ctx, o.ApplicationID)
		if err != nil {
			return atssync.Page{}, err
		}
		if candidate == "" {
			page.Counts[countSkipped]++
			continue
		}
		in := interactions.Input{
			ApplicationID: webhooks.Prefixed("ashby", o.ApplicationID),
			CandidateID:   webhooks.Prefixed("ashby", candidate),
			Kind:          string(interactions.KindOfferExtended),
			OccurredAt:    at,
			Source:        "ashby",
			Channel:       "ats",
			ExternalID:    webhooks.ExternalID("sync", "ashby", string(interactions.KindOfferExtended), string(o.ApplicationID), string(o.ID)),
			Metadata:      webhooks.Metadata(map[string]string{"offer_status": o.OfferStatus, "acceptance_status": o.AcceptanceStatus}),
		}
		if add(&page, in, now) {
			page.Counts[countOffers]++
		}
	}
	advance(&page, cursor, tok, p)
	return page, nil
}

// ---- shared ----

// add validates an item as POST /v1/interactions would and puts it on the page; one
// Ashby holds in a shape goodwill refuses is counted as skipped, not fatal.
func add(page *atssync.Page, in interactions.Input, now time.Time) bool {
	if page.Counts == nil {
		page.Counts = map[string]int{}
	}
	if webhooks.CheckIDs(&in) != nil {
		page.Counts[countSkipped]++
		return false
	}
	it, errs := in.Validate("", now)
	if len(errs) > 0 {
		page.Counts[countSkipped]++
		return false
	}
	page.Interactions = append(page.Interactions, it)
	return true
}

// vendorID is the receiver's id of an Ashby id, "" for an empty id or one interactions
// would refuse.
func vendorID(id webhooks.VendorID) string {
	v := webhooks.Prefixed("ashby", id)
	if len(v) > webhooks.MaxIDBytes || v != webhooks.CleanLine(v) {
		return ""
	}
	return v
}
