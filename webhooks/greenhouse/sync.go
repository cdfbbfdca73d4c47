package greenhouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// Sync reads Greenhouse through Harvest v3 for the ATS sync: the users directory,
// changed applications, scheduled interviews and the emails Greenhouse logged.
//
// What it recovers that the web hooks never send (see Receiver):
//
//	users         → Page.Users "greenhouse:<id>"; deactivated users are not active
//	applications  → details_updated (candidate, job, recruiter, stage, referral) and
//	                the events a web hook may have missed: application_received (with
//	                its attribution: source, referral, referrer),
//	                stage_changed, rejected (candidate_notified when Greenhouse logged
//	                an email to the candidate at the rejection), hired
//	interviews    → interview_scheduled / interview_rescheduled with scheduled_for
//	                and duration (Greenhouse sends no web hook for these)
//	emails        → message, channel email, for each email logged on an application
//
// Ids are the receiver's: "greenhouse:<id>" for applications, candidates, jobs and
// users. An event the receiver also maps keeps the receiver's external id, so the
// later web hook is a duplicate; the others are "sync:greenhouse:<kind>:<app>:<…>".
type Sync struct {
	c       *client
	now     func() time.Time
	overlap time.Duration
}

// The resources a pass reads, in order.
const (
	ResourceUsers        = "users"
	ResourceApplications = "applications"
	ResourceInterviews   = "interviews"
	ResourceEmails       = "emails"
)

// Overlap is how far before its durable cursor a pass reads again: Greenhouse's
// last_activity_at and updated_at are set when a change commits, so a change being
// written while the previous pass read could carry a time just before its cursor.
const Overlap = 15 * time.Minute

// notifiedWithin is how soon after a rejection an email logged to the candidate
// counts as the rejection's notice. Greenhouse sends the rejection email when the
// rejection is made, or at the time chosen for it ("send email at"), within a day.
const notifiedWithin = 24 * time.Hour

// Page.Counts uses the connector's count names (atssync.Count*) and adds skipped:
// records Greenhouse holds in a shape goodwill refuses.

// pageSize is per_page: 50 keeps each page's look-ups by id (ids ≤ 50) to one request.
const pageSize = 50

// New returns the Greenhouse vendor. doer sends API requests (the runner's paced,
// retrying client); token requests go through their own http.Client. now stamps
// received_at and bounds occurred_at.
func New(cfg Config, doer atssync.Doer, now func() time.Time) (*Sync, error) {
	if doer == nil {
		doer = &http.Client{Timeout: time.Minute}
	}
	if now == nil {
		now = time.Now
	}
	c, err := newClient(cfg, doer, nil, now)
	if err != nil {
		return nil, err
	}
	return &Sync{c: c, now: now, overlap: Overlap}, nil
}

// NewVendor returns the Greenhouse vendor sending through the runner's paced,
// retrying client (atssync.Client) within the documented rate limit: what the server
// runs. The error is a configuration the client refuses.
func NewVendor(cfg Config, now func() time.Time) (*Sync, error) {
	apiURL := cfg.APIURL
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	doer, err := atssync.NewClient(atssync.ClientConfig{
		Vendor:    "greenhouse",
		BaseURL:   apiURL,
		Rate:      rate.Limit(float64(RequestsPerWindow) / RateWindow.Seconds()),
		Burst:     Burst,
		PerWindow: RequestsPerWindow,
		Window:    RateWindow,
		MaxBody:   maxBody,
	})
	if err != nil {
		return nil, err
	}
	return New(cfg, doer, now)
}

// Name returns "greenhouse".
func (*Sync) Name() string { return "greenhouse" }

// Resources lists users, applications, interviews and emails.
func (*Sync) Resources() []string {
	return []string{ResourceUsers, ResourceApplications, ResourceInterviews, ResourceEmails}
}

// Pull reads one page of resource. Errors from Harvest are *HTTPError; a page cursor
// Greenhouse no longer accepts (422) restarts the resource from its durable cursor.
func (s *Sync) Pull(ctx context.Context, resource string, cursor atssync.Cursor) (atssync.Page, error) {
	var (
		page atssync.Page
		err  error
	)
	switch resource {
	case ResourceUsers:
		page, err = s.pullUsers(ctx, cursor)
	case ResourceApplications:
		page, err = s.pullApplications(ctx, cursor)
	case ResourceInterviews:
		page, err = s.pullInterviews(ctx, cursor)
	case ResourceEmails:
		page, err = s.pullEmails(ctx, cursor)
	default:
		return atssync.Page{}, fmt.Errorf("greenhouse: unknown resource %q", resource)
	}
	var he *HTTPError
	if err != nil && cursor.Token != "" && errors.As(err, &he) && he.Status == http.StatusUnprocessableEntity {
		// v3 cursors are not durable: start the resource again from the durable cursor.
		return s.Pull(ctx, resource, atssync.Cursor{Since: cursor.Since})
	}
	return page, err
}

// passToken is a cursor's Token within a pass: the next page's URL and the latest
// change time seen so far, which becomes the durable cursor when the pass ends.
type passToken struct {
	Next string    `json:"next"`
	Max  time.Time `json:"max,omitzero"`
}

func (p passToken) encode() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// decodeToken reads a Token; one this vendor did not make (empty, or stored by an
// older version) is no token: the resource starts again from its durable cursor.
func decodeToken(s string) passToken {
	var p passToken
	if err := json.Unmarshal([]byte(s), &p); err != nil || p.Next == "" {
		return passToken{}
	}
	return p
}

// firstOrNext returns what to request: the pass's next URL (when it is under the API
// URL: the token goes nowhere else), or the first page's path with the filter
// "<field>=gte|<since − overlap>".
func (s *Sync) firstOrNext(cursor atssync.Cursor, tok passToken, path, field string) string {
	if tok.Next != "" && s.c.sameAPI(tok.Next) {
		return tok.Next
	}
	q := url.Values{"per_page": {fmt.Sprint(pageSize)}}
	if !cursor.Since.IsZero() && field != "" {
		q.Set(field, "gte|"+cursor.Since.Add(-s.overlap).UTC().Format(time.RFC3339))
	}
	return path + "?" + q.Encode()
}

// advance fills the page's Next: within the pass the next URL and the running
// maximum; at its end, the maximum as the durable cursor.
func advance(page *atssync.Page, cursor atssync.Cursor, tok passToken, next string, seen time.Time) {
	maxSeen := tok.Max
	if maxSeen.IsZero() || seen.After(maxSeen) {
		maxSeen = seen
	}
	if next != "" {
		page.More = true
		page.Next = atssync.Cursor{Since: cursor.Since, Token: passToken{Next: next, Max: maxSeen}.encode()}
		return
	}
	page.Next = atssync.Cursor{Since: cursor.Since}
	if maxSeen.After(cursor.Since) {
		page.Next.Since = maxSeen
	}
}

// ---- users ----

// v3User is a row of GET /v3/users (reference/get_v3-users): "an activation state
// (deactivated)". v1 named it disabled; both are read.
type v3User struct {
	ID           webhooks.VendorID `json:"id"`
	Name         string            `json:"name"`
	FirstName    string            `json:"first_name"`
	LastName     string            `json:"last_name"`
	PrimaryEmail string            `json:"primary_email"`
	Deactivated  bool              `json:"deactivated"`
	Disabled     bool              `json:"disabled"`
}

// pullUsers reads the whole directory every pass (it is small, and a user changed
// before the lookback must still be there); Greenhouse users have no manager.
func (s *Sync) pullUsers(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	tok := decodeToken(cursor.Token)
	var users []v3User
	next, err := s.c.list(ctx, s.firstOrNext(atssync.Cursor{}, tok, "/users", ""), &users)
	if err != nil {
		return atssync.Page{}, err
	}
	page := atssync.Page{Counts: map[string]int{atssync.CountUsers: len(users)}}
	for _, u := range users {
		if u.ID == "" {
			continue
		}
		name := u.Name
		if strings.TrimSpace(name) == "" {
			name = u.FirstName + " " + u.LastName
		}
		page.Users = append(page.Users, atssync.User{
			ID:     "greenhouse:" + string(u.ID),
			Name:   webhooks.Text(name),
			Email:  webhooks.ValidEmail(u.PrimaryEmail),
			Active: !u.Deactivated && !u.Disabled,
		})
	}
	since := atssync.PassStart(cursor, s.now())
	page.Next = atssync.Cursor{Since: since}
	if next != "" {
		page.More = true
		page.Next.Token = passToken{Next: next}.encode()
	}
	return page, nil
}

// ---- applications ----

// v3Application is a row of GET /v3/applications (reference/get_v3-applications).
type v3Application struct {
	ID             webhooks.VendorID `json:"id"`
	CandidateID    webhooks.VendorID `json:"candidate_id"`
	JobID          webhooks.VendorID `json:"job_id"`
	RecruiterID    webhooks.VendorID `json:"recruiter_id"`
	SourceID       webhooks.VendorID `json:"source_id"`
	ReferrerID     webhooks.VendorID `json:"referrer_id"`
	StageID        webhooks.VendorID `json:"stage_id"`
	StageName      string            `json:"stage_name"`
	Status         string            `json:"status"` // in_process, rejected, hired, converted
	Prospect       bool              `json:"prospect"`
	CreatedAt      string            `json:"created_at"`
	UpdatedAt      string            `json:"updated_at"`
	LastActivityAt string            `json:"last_activity_at"`
	RejectedAt     string            `json:"rejected_at"`
}

// v3Candidate is a row of GET /v3/candidates. An anonymised candidate comes back with
// its name and contact details removed.
type v3Candidate struct {
	ID             webhooks.VendorID `json:"id"`
	FirstName      string            `json:"first_name"`
	LastName       string            `json:"last_name"`
	EmailAddresses []ghValue         `json:"email_addresses"`
	PhoneNumbers   []ghValue         `json:"phone_numbers"`
}

// v3Job is a row of GET /v3/jobs; the department is GET /v3/departments.
type v3Job struct {
	ID           webhooks.VendorID `json:"id"`
	Name         string            `json:"name"`
	DepartmentID webhooks.VendorID `json:"department_id"`
}

type v3Named struct {
	ID   webhooks.VendorID `json:"id"`
	Name string            `json:"name"`
}

// v3ApplicationStage is a row of GET /v3/application_stages: when an application
// entered and left each stage.
type v3ApplicationStage struct {
	ApplicationID       webhooks.VendorID `json:"application_id"`
	JobInterviewStageID webhooks.VendorID `json:"job_interview_stage_id"`
	Current             bool              `json:"current"`
	EnteredAt           string            `json:"entered_at"`
}

// v3Note is a row of GET /v3/notes (the v1 activity feed's successor, per the READ
// migration guide). type EMAIL is an email sent or received through Greenhouse.
type v3Note struct {
	ID            webhooks.VendorID `json:"id"`
	ApplicationID webhooks.VendorID `json:"application_id"`
	CandidateID   webhooks.VendorID `json:"candidate_id"`
	UserID        webhooks.VendorID `json:"user_id"`
	Type          string            `json:"type"`
	EmailFrom     string            `json:"email_from"`
	EmailTo       string            `json:"email_to"`
	EmailCC       []string          `json:"email_cc"`
	CreatedAt     string            `json:"created_at"`
}

func (s *Sync) pullApplications(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	tok := decodeToken(cursor.Token)
	var apps []v3Application
	next, err := s.c.list(ctx, s.firstOrNext(cursor, tok, "/applications", "last_activity_at"), &apps)
	if err != nil {
		return atssync.Page{}, err
	}
	ctxt, err := s.lookups(ctx, apps)
	if err != nil {
		return atssync.Page{}, err
	}
	now := s.now()
	page := atssync.Page{Counts: map[string]int{atssync.CountApplicationsUpdated: len(apps)}}
	var seen time.Time
	for _, app := range apps {
		if t, ok := webhooks.ParseTime(app.LastActivityAt); ok && t.After(seen) {
			seen = t
		}
		for _, in := range ctxt.mapApplication(app) {
			s.add(&page, in, now)
		}
	}
	advance(&page, cursor, tok, next, seen)
	return page, nil
}

// appContext is what a page of applications needs from other endpoints.
type appContext struct {
	candidates map[webhooks.VendorID]v3Candidate
	jobs       map[webhooks.VendorID]v3Job
	depts      map[webhooks.VendorID]string
	sources    map[webhooks.VendorID]string
	stages     map[webhooks.VendorID][]v3ApplicationStage
	emails     map[webhooks.VendorID][]v3Note
}

// lookups fetches, by id, the candidates, jobs, departments, sources, stage history
// and (for rejected applications) logged emails of a page of applications.
func (s *Sync) lookups(ctx context.Context, apps []v3Application) (*appContext, error) {
	ac := &appContext{
		candidates: map[webhooks.VendorID]v3Candidate{}, jobs: map[webhooks.VendorID]v3Job{}, depts: map[webhooks.VendorID]string{},
		sources: map[webhooks.VendorID]string{}, stages: map[webhooks.VendorID][]v3ApplicationStage{}, emails: map[webhooks.VendorID][]v3Note{},
	}
	var candIDs, jobIDs, srcIDs, appIDs, rejectedIDs []webhooks.VendorID
	for _, a := range apps {
		candIDs = append(candIDs, a.CandidateID)
		jobIDs = append(jobIDs, a.JobID)
		srcIDs = append(srcIDs, a.SourceID)
		appIDs = append(appIDs, a.ID)
		if a.Status == "rejected" {
			rejectedIDs = append(rejectedIDs, a.ID)
		}
	}
	var cands []v3Candidate
	if err := s.byIDs(ctx, "/candidates", "ids", candIDs, &cands); err != nil {
		return nil, err
	}
	for _, c := range cands {
		ac.candidates[c.ID] = c
	}
	var jobs []v3Job
	if err := s.byIDs(ctx, "/jobs", "ids", jobIDs, &jobs); err != nil {
		return nil, err
	}
	var deptIDs []webhooks.VendorID
	for _, j := range jobs {
		ac.jobs[j.ID] = j
		deptIDs = append(deptIDs, j.DepartmentID)
	}
	var named []v3Named
	if err := s.byIDs(ctx, "/departments", "ids", deptIDs, &named); err != nil {
		return nil, err
	}
	for _, d := range named {
		ac.depts[d.ID] = d.Name
	}
	named = nil
	if err := s.byIDs(ctx, "/sources", "ids", srcIDs, &named); err != nil {
		return nil, err
	}
	for _, d := range named {
		ac.sources[d.ID] = d.Name
	}
	var stages []v3ApplicationStage
	if err := s.byIDs(ctx, "/application_stages", "application_ids", appIDs, &stages); err != nil {
		return nil, err
	}
	for _, st := range stages {
		ac.stages[st.ApplicationID] = append(ac.stages[st.ApplicationID], st)
	}
	var notes []v3Note
	if err := s.byIDs(ctx, "/notes", "application_ids", rejectedIDs, &notes); err != nil {
		return nil, err
	}
	for _, n := range notes {
		if strings.EqualFold(n.Type, "EMAIL") {
			ac.emails[n.ApplicationID] = append(ac.emails[n.ApplicationID], n)
		}
	}
	return ac, nil
}

// byIDs lists path filtered by param=<ids> (empty ids skipped, at most pageSize per
// request), following every page, into out (a pointer to a slice).
func (s *Sync) byIDs(ctx context.Context, path, param string, ids []webhooks.VendorID, out any) error {
	uniq := map[webhooks.VendorID]bool{}
	var list []string
	for _, id := range ids {
		if id != "" && !uniq[id] {
			uniq[id] = true
			list = append(list, string(id))
		}
	}
	sort.Strings(list)
	var all []json.RawMessage
	for len(list) > 0 {
		n := min(len(list), pageSize)
		q := url.Values{param: {strings.Join(list[:n], ",")}, "per_page": {"500"}}
		list = list[n:]
		target := path + "?" + q.Encode()
		for target != "" {
			var rows []json.RawMessage
			next, err := s.c.list(ctx, target, &rows)
			if err != nil {
				return err
			}
			all = append(all, rows...)
			target = next
		}
	}
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("greenhouse: %s: %w", path, err)
	}
	return nil
}

// asWebhook writes a v3 application, with its candidate, job, department and source,
// in the shape of a web hook's payload.application, so that the receiver's base
// picks contact details, job, owner and referral exactly as for a web hook. v3 puts
// the recruiter on the application (recruiter_id): it fills the candidate's recruiter,
// which is where the web hook carries it.
func (ac *appContext) asWebhook(app v3Application) *ghApplication {
	gh := &ghApplication{ID: app.ID, Prospect: app.Prospect}
	gh.Candidate.ID = app.CandidateID
	if c, ok := ac.candidates[app.CandidateID]; ok {
		gh.Candidate.FirstName, gh.Candidate.LastName = c.FirstName, c.LastName
		gh.Candidate.EmailAddresses, gh.Candidate.PhoneNumbers = c.EmailAddresses, c.PhoneNumbers
	}
	if app.RecruiterID != "" {
		gh.Candidate.Recruiter = &struct {
			ID webhooks.VendorID `json:"id"`
		}{ID: app.RecruiterID}
	}
	if app.JobID != "" {
		job := ghJob{ID: app.JobID}
		if j, ok := ac.jobs[app.JobID]; ok {
			job.Name = j.Name
			if dept := ac.depts[j.DepartmentID]; dept != "" {
				job.Departments = append(job.Departments, struct {
					Name string `json:"name"`
				}{Name: dept})
			}
		}
		gh.Jobs = []ghJob{job}
	}
	if name := ac.sources[app.SourceID]; name != "" {
		gh.Source = &struct {
			Name       string `json:"name"`
			PublicName string `json:"public_name"`
		}{Name: name}
	}
	return gh
}

// attribution is the application's attribution as the receiver writes it (see
// attribution), its referrer Harvest's referrer_id as "greenhouse:<user id>": v3 names
// the referring user but not their employee id.
func (ac *appContext) attribution(app v3Application, referral bool) *interactions.Attribution {
	gh := ac.asWebhook(app)
	if app.ReferrerID != "" {
		gh.CreditedTo = &struct {
			ID         webhooks.VendorID `json:"id"`
			EmployeeID string            `json:"employee_id"`
		}{ID: app.ReferrerID}
	}
	return attribution(gh, referral)
}

// mapApplication turns one application into its details_updated and the events it
// shows.
func (ac *appContext) mapApplication(app v3Application) []interactions.Input {
	appID := string(app.ID)
	base := Receiver{}.base(ac.asWebhook(app))
	// Harvest names the referrer too: a referral even when the source's name does not
	// say so.
	base.Referral = base.Referral || app.ReferrerID != ""
	source := ac.sources[app.SourceID]

	var out []interactions.Input
	at := func(values ...string) string {
		for _, v := range values {
			if t, ok := webhooks.ParseTime(v); ok {
				return interactions.APITime(t)
			}
		}
		return ""
	}

	// details_updated: what Greenhouse holds now.
	d := base
	d.Kind = string(interactions.KindDetailsUpdated)
	d.OccurredAt = at(app.UpdatedAt, app.LastActivityAt, app.CreatedAt)
	d.Stage = webhooks.Text(app.StageName)
	d.Metadata = webhooks.Metadata(map[string]string{"source": source})
	d.ExternalID = webhooks.ExternalID("sync", "greenhouse", "details_updated", appID, d.OccurredAt)
	if !app.Prospect {
		// The attribution again, for an application a webhook recorded first
		// without it: the application takes it then.
		d.Attribution, d.FromSync = ac.attribution(app, base.Referral), true
	}
	out = append(out, d)

	// The application itself, under the receiver's external id.
	if created := at(app.CreatedAt); created != "" {
		r := base
		r.OccurredAt = created
		if app.Prospect {
			webhooks.Pooled(&r, webhooks.PoolProspects, map[string]string{"greenhouse_event": "new_prospect_application"})
			r.ExternalID = webhooks.ExternalID("new_prospect_application", appID)
		} else {
			r.Kind = string(interactions.KindApplicationReceived)
			r.Attribution = ac.attribution(app, base.Referral)
			r.ExternalID = webhooks.ExternalID("new_candidate_application", appID)
		}
		out = append(out, r)
	}

	// The move into the current stage, when it came after the application.
	if st, ok := currentStage(ac.stages[app.ID], app.StageID); ok && webhooks.Text(app.StageName) != "" {
		entered := at(st.EnteredAt)
		if first := firstEntered(ac.stages[app.ID]); entered != "" && st.EnteredAt != first {
			c := base
			c.Kind = string(interactions.KindStageChanged)
			c.Stage = webhooks.Text(app.StageName)
			c.OccurredAt = entered
			c.ExternalID = webhooks.ExternalID("sync", "greenhouse", "stage_changed", appID, string(app.StageID))
			out = append(out, c)
		}
	}

	switch app.Status {
	case "rejected":
		if rejected := at(app.RejectedAt); rejected != "" {
			r := base
			r.Kind = string(interactions.KindRejected)
			r.OccurredAt = rejected
			r.CandidateNotified = notified(ac.emails[app.ID], ac.candidates[app.CandidateID], app.RejectedAt)
			// The receiver's id: reject_candidate:<application>:<rejected_at>, the time as
			// the web hook writes it (to the second, webhooks.html's examples), where
			// Harvest v3 writes milliseconds.
			r.ExternalID = webhooks.ExternalID("reject_candidate", appID, webhookTime(app.RejectedAt))
			out = append(out, r)
		}
	case "hired":
		if when := at(app.LastActivityAt, app.UpdatedAt); when != "" {
			h := base
			h.Kind = string(interactions.KindHired)
			h.OccurredAt = when
			h.ExternalID = webhooks.ExternalID("hire_candidate", appID) // the receiver's id
			out = append(out, h)
		}
	}
	return out
}

// currentStage finds the application's current stage entry.
func currentStage(stages []v3ApplicationStage, stageID webhooks.VendorID) (v3ApplicationStage, bool) {
	for _, st := range stages {
		if st.Current || (stageID != "" && st.JobInterviewStageID == stageID && st.EnteredAt != "") {
			return st, true
		}
	}
	return v3ApplicationStage{}, false
}

// firstEntered is the entered_at of the application's first stage: entering it is
// the application, not a stage change.
func firstEntered(stages []v3ApplicationStage) string {
	first, firstT := "", time.Time{}
	for _, st := range stages {
		if t, ok := webhooks.ParseTime(st.EnteredAt); ok && (first == "" || t.Before(firstT)) {
			first, firstT = st.EnteredAt, t
		}
	}
	return first
}

// notified reports whether Greenhouse logged an email to the candidate within
// notifiedWithin after the rejection (a minute's slack before it): the rejection
// email. Harvest v3 has no "rejection email sent" field; the logged email is how the
// API tells. An anonymised candidate has no address left, so nothing shows it told.
func notified(emails []v3Note, c v3Candidate, rejectedAt string) bool {
	rejected, ok := webhooks.ParseTime(rejectedAt)
	if !ok {
		return false
	}
	for _, n := range emails {
		t, ok := webhooks.ParseTime(n.CreatedAt)
		if !ok || t.Before(rejected.Add(-time.Minute)) || t.After(rejected.Add(notifiedWithin)) {
			continue
		}
		if direction(n, c) == interactions.Outbound {
			return true
		}
	}
	return false
}

// direction is inbound for an email from one of the candidate's addresses, outbound
// for one to (or copied to) them, and internal for any other: the hiring team writing
// among themselves on the candidate's profile.
func direction(n v3Note, c v3Candidate) interactions.Direction {
	has := func(field string) bool {
		field = strings.ToLower(field)
		for _, e := range c.EmailAddresses {
			if addr := strings.ToLower(strings.TrimSpace(e.Value)); addr != "" && strings.Contains(field, addr) {
				return true
			}
		}
		return false
	}
	switch {
	case has(n.EmailFrom):
		return interactions.Inbound
	case has(n.EmailTo) || has(strings.Join(n.EmailCC, ",")):
		return interactions.Outbound
	}
	return interactions.Internal
}

// ---- interviews ----

// v3Interview is a row of GET /v3/interviews (the v1 scheduled interviews).
type v3Interview struct {
	ID            webhooks.VendorID `json:"id"`
	ApplicationID webhooks.VendorID `json:"application_id"`
	StartsAt      string            `json:"starts_at"`
	EndsAt        string            `json:"ends_at"`
	Status        string            `json:"status"`
	ScheduledAt   string            `json:"scheduled_at"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
}

// pullInterviews maps interviews changed since the cursor. An interview on a calendar
// is interview_scheduled (once per interview); one changed after it was first put on
// the calendar while still ahead is interview_rescheduled at its current time.
// Greenhouse deletes a canceled interview, so cancellations are not read.
func (s *Sync) pullInterviews(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	tok := decodeToken(cursor.Token)
	var ivs []v3Interview
	next, err := s.c.list(ctx, s.firstOrNext(cursor, tok, "/interviews", "updated_at"), &ivs)
	if err != nil {
		return atssync.Page{}, err
	}
	var appIDs []webhooks.VendorID
	for _, iv := range ivs {
		appIDs = append(appIDs, iv.ApplicationID)
	}
	var apps []v3Application
	if err := s.byIDs(ctx, "/applications", "ids", appIDs, &apps); err != nil {
		return atssync.Page{}, err
	}
	byID := map[webhooks.VendorID]v3Application{}
	for _, a := range apps {
		byID[a.ID] = a
	}
	now := s.now()
	page := atssync.Page{Counts: map[string]int{atssync.CountInterviews: len(ivs)}}
	var seen time.Time
	for _, iv := range ivs {
		if t, ok := webhooks.ParseTime(iv.UpdatedAt); ok && t.After(seen) {
			seen = t
		}
		app, ok := byID[iv.ApplicationID]
		if !ok {
			page.Counts["skipped"]++
			continue
		}
		for _, in := range mapInterview(iv, app, now) {
			s.add(&page, in, now)
		}
	}
	advance(&page, cursor, tok, next, seen)
	return page, nil
}

func mapInterview(iv v3Interview, app v3Application, now time.Time) []interactions.Input {
	start, ok := webhooks.ParseTime(iv.StartsAt)
	if !ok || iv.ID == "" {
		return nil // not on a calendar yet, all-day, or a take-home test
	}
	switch iv.Status {
	case "to_be_scheduled", "to_be_sent", "sent", "received", "skipped":
		return nil
	}
	base := interactions.Input{
		ApplicationID: webhooks.Prefixed("greenhouse", app.ID),
		CandidateID:   webhooks.Prefixed("greenhouse", app.CandidateID),
		JobID:         webhooks.Prefixed("greenhouse", app.JobID),
		RecruiterID:   webhooks.Prefixed("greenhouse", app.RecruiterID),
		Source:        "greenhouse",
		Channel:       "ats",
		InterviewID:   webhooks.Prefixed("greenhouse", iv.ID),
		ScheduledFor:  interactions.APITime(start),
	}
	if end, ok := webhooks.ParseTime(iv.EndsAt); ok {
		base.Duration = webhooks.APIDuration(start, end)
	}
	appID, ivID := string(app.ID), string(iv.ID)
	scheduledAt, ok := webhooks.ParseTime(iv.ScheduledAt)
	if !ok {
		scheduledAt, _ = webhooks.ParseTime(iv.CreatedAt)
	}
	var out []interactions.Input
	if !scheduledAt.IsZero() {
		sch := base
		sch.Kind = string(interactions.KindInterviewScheduled)
		sch.OccurredAt = interactions.APITime(scheduledAt)
		sch.ExternalID = webhooks.ExternalID("sync", "greenhouse", "interview_scheduled", appID, ivID)
		out = append(out, sch)
	}
	if updated, ok := webhooks.ParseTime(iv.UpdatedAt); ok && iv.Status == "scheduled" && start.After(now) &&
		!scheduledAt.IsZero() && updated.Sub(scheduledAt) > time.Minute {
		re := base
		re.Kind = string(interactions.KindInterviewRescheduled)
		re.OccurredAt = interactions.APITime(updated)
		re.ExternalID = webhooks.ExternalID("sync", "greenhouse", "interview_rescheduled", appID, ivID+"@"+start.UTC().Format(time.RFC3339))
		out = append(out, re)
	}
	return out
}

// ---- emails ----

// pullEmails maps the emails Greenhouse logged (notes of type EMAIL) on applications:
// inbound from the candidate, outbound to them, internal among the hiring team. A
// note on the candidate but no application names no application and is skipped.
func (s *Sync) pullEmails(ctx context.Context, cursor atssync.Cursor) (atssync.Page, error) {
	tok := decodeToken(cursor.Token)
	var notes []v3Note
	next, err := s.c.list(ctx, s.firstOrNext(cursor, tok, "/notes", "created_at"), &notes)
	if err != nil {
		return atssync.Page{}, err
	}
	var emails []v3Note
	var candIDs []webhooks.VendorID
	for _, n := range notes {
		if strings.EqualFold(n.Type, "EMAIL") && n.ApplicationID != "" && n.CandidateID != "" {
			emails = append(emails, n)
			candIDs = append(candIDs, n.CandidateID)
		}
	}
	var cands []v3Candidate
	if err := s.byIDs(ctx, "/candidates", "ids", candIDs, &cands); err != nil {
		return atssync.Page{}, err
	}
	byID := map[webhooks.VendorID]v3Candidate{}
	for _, c := range cands {
		byID[c.ID] = c
	}
	now := s.now()
	page := atssync.Page{Counts: map[string]int{atssync.CountMessages: len(emails)}}
	var seen time.Time
	for _, n := range notes {
		if t, ok := webhooks.ParseTime(n.CreatedAt); ok && t.After(seen) {
			seen = t
		}
	}
	for _, n := range emails {
		created, ok := webhooks.ParseTime(n.CreatedAt)
		if !ok {
			page.Counts["skipped"]++
			continue
		}
		in := interactions.Input{
			ApplicationID: webhooks.Prefixed("greenhouse", n.ApplicationID),
			CandidateID:   webhooks.Prefixed("greenhouse", n.CandidateID),
			Kind:          string(interactions.KindMessage),
			Direction:     string(direction(n, byID[n.CandidateID])),
			Channel:       "email",
			Source:        "greenhouse",
			ActorID:       webhooks.Prefixed("greenhouse", n.UserID),
			OccurredAt:    interactions.APITime(created),
			ExternalID:    webhooks.ExternalID("sync", "greenhouse", "message", string(n.ApplicationID), string(n.ID)),
		}
		s.add(&page, in, now)
	}
	advance(&page, cursor, tok, next, seen)
	return page, nil
}

// ---- shared ----

// add validates an item as POST /v1/interactions would and puts it on the page; one
// Greenhouse holds in a shape goodwill refuses is counted as skipped, not fatal.
func (s *Sync) add(page *atssync.Page, in interactions.Input, now time.Time) {
	if page.Counts == nil {
		page.Counts = map[string]int{}
	}
	if webhooks.CheckIDs(&in) != nil {
		page.Counts["skipped"]++
		return
	}
	it, errs := in.Validate("", now)
	if len(errs) > 0 {
		page.Counts["skipped"]++
		return
	}
	page.Interactions = append(page.Interactions, it)
}

// webhookTime writes an RFC 3339 time as Greenhouse's web hooks do: UTC, to the
// second ("2026-11-19T15:50:41Z"); s itself when it is not a time.
func webhookTime(s string) string {
	t, ok := webhooks.ParseTime(s)
	if !ok {
		return s
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}
