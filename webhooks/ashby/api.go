package ashby

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// The Ashby API as the sync reads it. Shapes and parameters follow Ashby's API reference
// (developers.ashbyhq.com):
//
//   - reference/introduction and reference/authentication: RPC-style endpoints
//     "/<category>.<method>", all POST with a JSON body and Content-Type
//     application/json; Basic auth with the API key as user name and an empty
//     password; 401 without a key, 403 for a wrong or disabled key, 403
//     missing_endpoint_permission for a key without the endpoint's permission;
//   - docs/responses ("Responses & Errors"): {"success": true, "results"}; what would
//     be a 4xx answers 200 with success false and errorInfo {"code","message"}
//     (older answers list the codes in errors);
//   - docs/pagination-and-incremental-sync: list endpoints page with limit (at most
//     100), cursor and nextCursor while moreDataAvailable; the last page of a pass
//     carries a syncToken, sent back as syncToken to list only what changed since;
//   - reference/userlist, applicationlist, applicationlisthistory, applicationinfo,
//     departmentlist, interviewschedulelist and offerlist for the objects.
//
// An expired syncToken answers the error sync_token_expired, and an incremental sync
// with too many changes incremental_sync_too_large: both ask for a full sync (the names
// public clients of the API handle, e.g. NangoHQ/integration-templates' Ashby syncs).
// The rate limit is per API key (docs.ashbyhq.com, "How do I generate an API key?":
// 1000 requests per minute).

// DefaultAPIURL is the root of Ashby's API (GOODWILL_ASHBY_API_URL's default).
const DefaultAPIURL = "https://api.ashbyhq.com"

// RequestsPerMinute is Ashby's documented rate limit per API key; the runner's client
// paces the sync at it, up to Burst requests at once (a second's share) to make up for
// the time a pass spends between requests, and never more than RequestsPerMinute in
// any rolling minute.
const (
	RequestsPerMinute = 1000
	Burst             = (RequestsPerMinute + 59) / 60
)

// maxPageSize is the largest limit Ashby's list endpoints accept.
const maxPageSize = 100

// maxBody bounds an answer of Ashby's (100 applications with their candidates).
const maxBody = 16 << 20

// The error codes that make a syncToken unusable: the resource is read whole again.
const (
	codeSyncTokenExpired = "sync_token_expired"
	codeSyncTooLarge     = "incremental_sync_too_large"
)

// cursorCodes are the codes of a page cursor Ashby no longer accepts (one saved before
// a restart): the pass starts again from its syncToken.
var cursorCodes = []string{"next_cursor_expired", "cursor_invalid", "invalid_next_cursor"}

// client reads Ashby's API with an API key.
type client struct {
	base     string       // DefaultAPIURL when empty
	key      string       // GOODWILL_ASHBY_API_KEY
	http     atssync.Doer // the runner's paced, retrying client
	pageSize int          // 1–100
}

// APIError is an answer of Ashby's that is not a success: an HTTP status other than
// 200, or a 200 with success false and Ashby's error code. 429 and 5xx are retried by
// the runner's client before the sync sees them.
type APIError struct {
	Status  int    // the HTTP status
	Method  string // the endpoint, e.g. "application.list"
	Code    string // Ashby's errorInfo.code (or first of errors), "" when none
	Message string // the start of Ashby's message or body
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("ashby: %s: %d", e.Method, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// isCode reports whether err is an APIError with one of codes.
func isCode(err error, codes ...string) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// envelope is every answer of Ashby's API.
type envelope struct {
	Success           bool            `json:"success"`
	Results           json.RawMessage `json:"results"`
	MoreDataAvailable bool            `json:"moreDataAvailable"`
	NextCursor        string          `json:"nextCursor"`
	SyncToken         string          `json:"syncToken"`
	ErrorInfo         *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errorInfo"`
	Errors []json.RawMessage `json:"errors"`
}

// listPage is one page of a list endpoint.
type listPage[T any] struct {
	Results    []T
	More       bool
	NextCursor string
	SyncToken  string
}

// call POSTs body to /<method> and returns the successful answer's envelope.
func (c *client) call(ctx context.Context, method string, body any) (envelope, error) {
	var env envelope
	b, err := json.Marshal(body)
	if err != nil {
		return env, fmt.Errorf("ashby: %s: %w", method, err)
	}
	base := strings.TrimRight(c.base, "/")
	if base == "" {
		base = DefaultAPIURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+method, bytes.NewReader(b))
	if err != nil {
		return env, fmt.Errorf("ashby: %s: %w", method, err)
	}
	req.SetBasicAuth(c.key, "")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json; version=1")
	doer := c.http
	if doer == nil {
		doer = http.DefaultClient
	}
	resp, err := doer.Do(req)
	if err != nil {
		return env, fmt.Errorf("ashby: %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := atssync.ReadBody(resp.Body, maxBody)
	if err != nil {
		return env, fmt.Errorf("ashby: %s: %w", method, err)
	}
	return decodeEnvelope(method, resp.StatusCode, raw)
}

// decodeEnvelope reads an answer of Ashby's: the envelope of a success, else an
// *APIError with the status and Ashby's error code.
func decodeEnvelope(method string, status int, raw []byte) (envelope, error) {
	var env envelope
	jsonErr := json.Unmarshal(raw, &env)
	if status == http.StatusOK && jsonErr == nil && env.Success {
		return env, nil
	}
	e := &APIError{Status: status, Method: method}
	if jsonErr == nil {
		if env.ErrorInfo != nil {
			e.Code, e.Message = webhooks.Text(env.ErrorInfo.Code), env.ErrorInfo.Message
		}
		for _, item := range env.Errors {
			var code string
			var obj struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			}
			switch {
			case json.Unmarshal(item, &code) == nil:
			case json.Unmarshal(item, &obj) == nil:
				code = obj.Code
				if e.Message == "" {
					e.Message = obj.Message
				}
			}
			if e.Code == "" {
				e.Code = webhooks.Text(code)
			}
		}
	}
	if e.Message == "" && (jsonErr != nil || status != http.StatusOK) {
		e.Message = string(raw)
	}
	if e.Message = webhooks.Text(e.Message); len(e.Message) > 200 {
		e.Message = strings.ToValidUTF8(e.Message[:200], "")
	}
	if status == http.StatusOK && jsonErr != nil {
		e.Message = "the answer is not Ashby's JSON: " + e.Message
	}
	return env, e
}

// list reads one page of a list endpoint: body's own fields plus limit, and cursor
// and syncToken when set.
func list[T any](ctx context.Context, c *client, method string, body map[string]any, cursor, syncToken string) (listPage[T], error) {
	req := map[string]any{}
	for k, v := range body {
		req[k] = v
	}
	limit := c.pageSize
	if limit <= 0 || limit > maxPageSize {
		limit = maxPageSize
	}
	req["limit"] = limit
	if cursor != "" {
		req["cursor"] = cursor
	}
	if syncToken != "" {
		req["syncToken"] = syncToken
	}
	env, err := c.call(ctx, method, req)
	if err != nil {
		return listPage[T]{}, err
	}
	return decodeList[T](method, env)
}

// decodeList reads a list's envelope: its results (null as none) and paging.
func decodeList[T any](method string, env envelope) (listPage[T], error) {
	p := listPage[T]{More: env.MoreDataAvailable, NextCursor: env.NextCursor, SyncToken: env.SyncToken}
	if len(env.Results) > 0 && !bytes.Equal(bytes.TrimSpace(env.Results), []byte("null")) {
		if err := json.Unmarshal(env.Results, &p.Results); err != nil {
			return p, &APIError{Status: http.StatusOK, Method: method, Message: "results: " + err.Error()}
		}
	}
	if p.More && p.NextCursor == "" {
		return p, &APIError{Status: http.StatusOK, Method: method, Message: "moreDataAvailable without a nextCursor"}
	}
	return p, nil
}

// all reads every page of a list endpoint without a syncToken.
func all[T any](ctx context.Context, c *client, method string, body map[string]any) ([]T, error) {
	var out []T
	cursor := ""
	for range 10_000 { // a bound, so that a misbehaving API cannot loop forever
		p, err := list[T](ctx, c, method, body, cursor, "")
		if err != nil {
			return nil, err
		}
		out = append(out, p.Results...)
		if !p.More {
			return out, nil
		}
		cursor = p.NextCursor
	}
	return nil, fmt.Errorf("ashby: %s: more than 10000 pages", method)
}

// apiUser is a user (reference/userlist; user.info's results): isEnabled is false
// once the user is deactivated, which user.list leaves out unless includeDeactivated.
type apiUser struct {
	ID        webhooks.VendorID `json:"id"`
	FirstName string            `json:"firstName"`
	LastName  string            `json:"lastName"`
	Email     string            `json:"email"`
	IsEnabled bool              `json:"isEnabled"`
	ManagerID webhooks.VendorID `json:"managerId"`
}

// apiApplication is an application of application.list (reference/applicationlist):
// the object the webhooks carry (see ashbyApplication), with the archive reason's id.
type apiApplication = ashbyApplication

// apiHistory is an entry of application.listHistory (reference/applicationlisthistory):
// the stages an application went through, stageNumber 0 the first.
type apiHistory struct {
	ID             webhooks.VendorID `json:"id"`
	StageID        webhooks.VendorID `json:"stageId"`
	Title          string            `json:"title"`
	EnteredStageAt string            `json:"enteredStageAt"`
	StageNumber    int               `json:"stageNumber"`
}

// apiDepartment is a department (reference/departmentlist).
type apiDepartment struct {
	ID   webhooks.VendorID `json:"id"`
	Name string            `json:"name"`
}

// apiSchedule is an interview schedule of interviewSchedule.list
// (reference/interviewschedulelist): the interviewScheduleCreate webhook's object,
// which names the application but not the candidate.
type apiSchedule = ashbySchedule

// apiOffer is an offer of offer.list (reference/offerlist). offerStatus moves from
// WaitingOnApproval* (not yet shown to the candidate) to WaitingOnCandidateResponse,
// then CandidateAccepted, CandidateRejected or OfferCancelled. No field tells when it
// was sent: the extension is dated by the offer version's createdAt.
type apiOffer struct {
	ID               webhooks.VendorID `json:"id"`
	ApplicationID    webhooks.VendorID `json:"applicationId"`
	AcceptanceStatus string            `json:"acceptanceStatus"`
	OfferStatus      string            `json:"offerStatus"`
	DecidedAt        string            `json:"decidedAt"`
	LatestVersion    *struct {
		ID        webhooks.VendorID `json:"id"`
		CreatedAt string            `json:"createdAt"`
		StartDate string            `json:"startDate"`
	} `json:"latestVersion"`
}
