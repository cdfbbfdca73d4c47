package workable

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// Workable's SPI v3 as the sync reads it. Shapes and parameters follow Workable's API
// reference (workable.readme.io/reference):
//
//   - "Generate an access token" (the docs' getting started): an account token, sent as
//     "Authorization: Bearer <token>", to https://<subdomain>.workable.com/spi/v3.
//   - "What's new in v3" (reference/whats-new-in-v3): lists are paged; a page holds at
//     most limit items (default 50, at most 100) and paging.next is the URL of the next
//     one; since_id/max_id scroll and created_after/updated_after filter; times are
//     ISO 8601 in UTC.
//   - "Rate limiting" (reference/rate-limits): an account token may send 10 requests
//     every 10 seconds (OAuth and partner tokens 50); more is answered 429. Every answer
//     carries X-Rate-Limit-Limit, X-Rate-Limit-Remaining and X-Rate-Limit-Reset (the
//     timestamp of the next interval), which the runner's client honours.
//   - GET /members (reference/members): the account's members, id, name, email,
//     active; status=all (active by default) lists the deactivated ones too.
//   - GET /jobs (reference/jobs): id, shortcode, title, department, state;
//     updated_after filters. GET /jobs/:shortcode/members (reference/job-members): the
//     job's hiring team, each with its collaboration_role (admin, recruiting_admin,
//     hiring_manager, simple, reviewer, recruiter).
//   - GET /stages (reference/stages): the pipeline's stages, slug, name, kind
//     (sourced, applied, shortlisted, assessment, phone-screen, interview, offer, hired).
//   - GET /candidates (reference/job-candidates-index): candidates, oldest first,
//     updated_after filters; each with name, email, phone, job {shortcode, title},
//     stage (the slug), stage_kind, disqualified, withdrew, sourced, created_at,
//     updated_at, hired_at. GET /candidates/:id (reference/job-candidates-show) adds
//     disqualified_at; "What's new in v3" says the list leaves phone out, which the
//     current reference contradicts: the sync reads the details only for a listed
//     candidate without the phone field.
//   - GET /candidates/:id/activities (reference/candidate-activities): the candidate's
//     history, each activity with action, created_at, member {id, name}, body, and for
//     moves action_stage and target_stage {id, name} (older accounts: stage_name).
//   - GET /events (reference/events): scheduled calls, interviews and meetings, with
//     starts_at, ends_at, cancelled, job {id, title}, candidate {id, name}, members;
//     start_date filters (events scheduled after it), include_cancelled=true lists the
//     cancelled ones too.
//
// Required scopes: r_jobs (members, jobs, stages, events) and r_candidates
// (candidates, their details and activities).

// DefaultAPIURL is GOODWILL_WORKABLE_API_URL's default for an account's subdomain.
func DefaultAPIURL(subdomain string) string {
	return "https://" + subdomain + ".workable.com/spi/v3"
}

// The documented rate limit of an account token: RequestsPerWindow requests every
// RateWindow. The runner's client paces the sync at exactly that rate, one request at
// a time, so a pass takes as long as its requests need and no longer.
const (
	RequestsPerWindow = 10
	RateWindow        = 10 * time.Second
)

// maxPageSize is the largest limit Workable's lists accept ("What's new in v3").
const maxPageSize = 100

// maxBody bounds one response body.
const maxBody = 16 << 20

// Client reads Workable's SPI v3 with an account token.
type Client struct {
	BaseURL  string       // https://<subdomain>.workable.com/spi/v3
	Token    string       // GOODWILL_WORKABLE_TOKEN
	HTTP     atssync.Doer // the runner's paced, retrying client; http.DefaultClient when nil
	PageSize int          // items per page, 1–100; 100 when 0
}

// APIError is an answer from Workable other than 200. 429 and 5xx are retried by the
// runner's client before Pull sees them.
type APIError struct {
	Status int
	Path   string
	Body   string // the start of Workable's error body ({"error": "..."})
}

func (e *APIError) Error() string {
	return fmt.Sprintf("workable: GET %s: %d %s", e.Path, e.Status, e.Body)
}

// paging is the paging object of a list: next is the next page's URL, absent on the
// last page.
type paging struct {
	Next string `json:"next"`
}

// base is the API's root without a trailing slash.
func (c *Client) base() string { return strings.TrimRight(c.BaseURL, "/") }

// url returns the URL of path with q, for a first page.
func (c *Client) url(path string, q url.Values) string {
	u := c.base() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// limit is the page size to ask for.
func (c *Client) limit() string {
	n := c.PageSize
	if n <= 0 || n > maxPageSize {
		n = maxPageSize
	}
	return fmt.Sprint(n)
}

// under reports whether u is a URL under the API's base: the only place a paging.next
// (which the token goes to) may point.
func (c *Client) under(u string) bool {
	base := c.base()
	return u == base || strings.HasPrefix(u, base+"/") || strings.HasPrefix(u, base+"?")
}

// get sends GET u (a URL under the base) and decodes a 200's body into out.
func (c *Client) get(ctx context.Context, u string, out any) error {
	path := strings.TrimPrefix(u, c.base())
	if p, _, ok := strings.Cut(path, "?"); ok {
		path = p // errors never carry the query
	}
	if !c.under(u) {
		return fmt.Errorf("workable: %q is not under the API URL", u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("workable: GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	doer := c.HTTP
	if doer == nil {
		doer = http.DefaultClient
	}
	resp, err := doer.Do(req)
	if err != nil {
		return fmt.Errorf("workable: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := atssync.ReadBody(resp.Body, maxBody)
	if err != nil {
		return fmt.Errorf("workable: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &APIError{Status: resp.StatusCode, Path: path, Body: atssync.Snippet(body)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("workable: GET %s: the answer is not Workable's JSON: %w", path, err)
	}
	return nil
}

// all reads every page of a list from its first URL; field names the list in the
// answer ("members", "stages", …).
func all[T any](ctx context.Context, c *Client, first, field string) ([]T, error) {
	var out []T
	u := first
	for range 10_000 { // a bound, so that a misbehaving API cannot loop forever
		items, next, err := page[T](ctx, c, u, field)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		u = next
	}
	return nil, fmt.Errorf("workable: %s: more than 10000 pages", field)
}

// page reads one page at u: its items and the next page's URL ("" on the last).
func page[T any](ctx context.Context, c *Client, u, field string) ([]T, string, error) {
	var raw map[string]json.RawMessage
	if err := c.get(ctx, u, &raw); err != nil {
		return nil, "", err
	}
	var items []T
	if b, ok := raw[field]; ok && !bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, "", fmt.Errorf("workable: %s: %w", field, err)
		}
	}
	var p paging
	if b, ok := raw["paging"]; ok {
		_ = json.Unmarshal(b, &p) // a paging object Workable did not write is the last page
	}
	return items, strings.TrimSpace(p.Next), nil
}

// ref is an {id, name} reference (an activity's member, an event's candidate).
type ref struct {
	ID   webhooks.VendorID `json:"id"`
	Name string            `json:"name"`
}

// apiMember is a member of the account (reference/members).
type apiMember struct {
	ID     webhooks.VendorID `json:"id"`
	Name   string            `json:"name"`
	Email  string            `json:"email"`
	Active *bool             `json:"active"` // absent in older answers: active
}

// apiJob is a job (reference/jobs): the shortcode is the receiver's job id; events
// name the job by id.
type apiJob struct {
	ID         webhooks.VendorID `json:"id"`
	Shortcode  string            `json:"shortcode"`
	Title      string            `json:"title"`
	Department string            `json:"department"`
	State      string            `json:"state"`
}

// apiJobMember is a member of a job's hiring team (reference/job-members).
type apiJobMember struct {
	ID                webhooks.VendorID `json:"id"`
	CollaborationRole string            `json:"collaboration_role"`
}

// apiStage is a pipeline stage (reference/stages).
type apiStage struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// apiCandidate is a candidate as GET /candidates lists it and GET /candidates/:id
// details it (the details add disqualified_at). Phone is raw so that a list without
// the field (absent) tells apart from one with no phone (null).
type apiCandidate struct {
	ID                     webhooks.VendorID `json:"id"`
	Name                   string            `json:"name"`
	FirstName              string            `json:"firstname"`
	LastName               string            `json:"lastname"`
	Email                  string            `json:"email"`
	Phone                  json.RawMessage   `json:"phone"`
	Job                    apiCandidateJob   `json:"job"`
	Stage                  string            `json:"stage"`
	StageKind              string            `json:"stage_kind"`
	Disqualified           bool              `json:"disqualified"`
	Withdrew               bool              `json:"withdrew"`
	DisqualifiedAt         string            `json:"disqualified_at"`
	DisqualificationReason string            `json:"disqualification_reason"`
	Sourced                bool              `json:"sourced"`
	Domain                 string            `json:"domain"`
	CreatedAt              string            `json:"created_at"`
	UpdatedAt              string            `json:"updated_at"`
	HiredAt                string            `json:"hired_at"`
}

type apiCandidateJob struct {
	Shortcode string `json:"shortcode"`
	Title     string `json:"title"`
}

// phone returns the candidate's phone, "" when none, and whether the answer had the
// field at all.
func (c apiCandidate) phone() (string, bool) {
	b := bytes.TrimSpace(c.Phone)
	if len(b) == 0 {
		return "", false
	}
	var s string
	_ = json.Unmarshal(b, &s) // null or a non-string: no phone
	return s, true
}

// apiStageRef is an activity's action_stage or target_stage.
type apiStageRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// apiActivity is one entry of a candidate's activity stream
// (reference/candidate-activities).
type apiActivity struct {
	ID          webhooks.VendorID `json:"id"`
	Action      string            `json:"action"`
	StageName   string            `json:"stage_name"`
	TargetStage *apiStageRef      `json:"target_stage"`
	CreatedAt   string            `json:"created_at"`
	Member      *ref              `json:"member"`
	Body        string            `json:"body"`
}

// apiEvent is a scheduled event (reference/events).
type apiEvent struct {
	ID        webhooks.VendorID `json:"id"`
	Type      string            `json:"type"` // call, interview, meeting
	StartsAt  string            `json:"starts_at"`
	EndsAt    string            `json:"ends_at"`
	Cancelled bool              `json:"cancelled"`
	Job       *struct {
		ID    webhooks.VendorID `json:"id"`
		Title string            `json:"title"`
	} `json:"job"`
	Candidate *ref  `json:"candidate"`
	Members   []ref `json:"members"`
}
