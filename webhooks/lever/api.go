package lever

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// The Lever Data API as the sync reads it. Shapes and parameters follow Lever's API
// reference (hire.lever.co/developer/documentation: "Authentication", "Rate Limits",
// "Pagination", "Customizing the Response" (expand), "Users", "Opportunities",
// "Postings", "Stages", "Archive Reasons", "Interviews"), cross-checked against public
// clients (NangoHQ/integration-templates integrations/lever: its users and
// opportunity fixtures and the generated models of applications and interviews).

// DefaultAPIURL is the root of Lever's API (GOODWILL_LEVER_API_URL's default).
const DefaultAPIURL = "https://api.lever.co/v1"

// Lever's documented rate limit ("Rate Limits"): a token bucket per API key, 10
// requests a second steady state, bursts up to 20. The runner paces at RequestsPerSecond.
const (
	RequestsPerSecond = 10
	Burst             = 20
)

// maxPageSize is the largest limit Lever's list endpoints accept ("Pagination": 1–100).
const maxPageSize = 100

// Client reads Lever's API with an API key: Basic auth, the key as user name and an
// empty password ("Authentication").
type Client struct {
	BaseURL  string       // DefaultAPIURL when empty
	Key      string       // GOODWILL_LEVER_API_KEY
	HTTP     atssync.Doer // the runner's paced, retrying client; http.DefaultClient when nil
	PageSize int          // items per page, 1–100; 100 when 0
}

// APIError is a response from Lever other than 200. Status 429 and 5xx are worth
// retrying; the runner's client does so before Pull sees them.
type APIError struct {
	Status int
	Path   string
	Body   string // the start of Lever's error body ({"code","message"})
}

func (e *APIError) Error() string {
	return fmt.Sprintf("lever: GET %s: %d %s", e.Path, e.Status, e.Body)
}

// list is Lever's envelope of a list ("Pagination"): hasNext says whether another page
// exists, next is the opaque token to send back as offset. Lever's tokens come
// URL-encoded already; they are sent back as any query value, encoded once more, as
// public clients do (amp-labs/connectors providers/lever, NangoHQ's Lever syncs).
type list[T any] struct {
	Data    []T    `json:"data"`
	HasNext bool   `json:"hasNext"`
	Next    string `json:"next"`
}

// get sends GET <base><path>?<q> and decodes a 200's body into out.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultAPIURL
	}
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("lever: %w", err)
	}
	req.SetBasicAuth(c.Key, "")
	req.Header.Set("Accept", "application/json")
	doer := c.HTTP
	if doer == nil {
		doer = http.DefaultClient
	}
	resp, err := doer.Do(req)
	if err != nil {
		return fmt.Errorf("lever: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := atssync.ReadBody(resp.Body, 32<<20)
	if err != nil {
		return fmt.Errorf("lever: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &APIError{Status: resp.StatusCode, Path: path, Body: atssync.Snippet(body)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("lever: GET %s: the answer is not Lever's JSON: %w", path, err)
	}
	return nil
}

// page reads one page of a list endpoint from offset ("" for the first page).
func page[T any](ctx context.Context, c *Client, path string, q url.Values, offset string) (list[T], error) {
	if q == nil {
		q = url.Values{}
	}
	limit := c.PageSize
	if limit <= 0 || limit > maxPageSize {
		limit = maxPageSize
	}
	q.Set("limit", fmt.Sprint(limit))
	if offset != "" {
		q.Set("offset", offset)
	} else {
		q.Del("offset")
	}
	var l list[T]
	if err := c.get(ctx, path, q, &l); err != nil {
		return l, err
	}
	if l.HasNext && l.Next == "" {
		return l, fmt.Errorf("lever: GET %s: hasNext without a next token", path)
	}
	return l, nil
}

// all reads every page of a list endpoint.
func all[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	var out []T
	offset := ""
	for range 10_000 { // a bound, so that a misbehaving API cannot loop forever
		l, err := page[T](ctx, c, path, q, offset)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Data...)
		if !l.HasNext {
			return out, nil
		}
		offset = l.Next
	}
	return nil, fmt.Errorf("lever: GET %s: more than 10000 pages", path)
}

// apiUser is a Lever user ("Users"). deactivatedAt is set (Unix ms) once the user is
// deactivated; GET /users leaves deactivated users out unless includeDeactivated=true.
type apiUser struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Email         string `json:"email"`
	DeactivatedAt *int64 `json:"deactivatedAt"`
	ManagerID     string `json:"managerId"`
}

// ref is a reference Lever either leaves as an id or, when expanded ("Customizing the
// Response": expand=owner, contact, stage, applications), replaces by the object.
type ref[T any] struct {
	ID  string
	Obj *T
}

func (r *ref[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &r.ID)
	}
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	var obj T
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	r.ID, r.Obj = head.ID, &obj
	return nil
}

// apiPhone is a phone number as Lever lists them: {"type","value"}.
type apiPhone struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// apiContact is an expanded contact ("Contacts"): the person across opportunities.
type apiContact struct {
	Name         string     `json:"name"`
	Emails       []string   `json:"emails"`
	Phones       []apiPhone `json:"phones"`
	IsAnonymized bool       `json:"isAnonymized"`
}

// apiStage is a pipeline stage ("Stages"), also the expanded opportunity stage.
type apiStage struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// apiArchive is an opportunity's archived state; null while it is active.
type apiArchive struct {
	ArchivedAt int64  `json:"archivedAt"`
	Reason     string `json:"reason"`
}

// apiStageChange is one entry of an opportunity's stageChanges, oldest first.
type apiStageChange struct {
	ToStageID    string `json:"toStageId"`
	ToStageIndex int    `json:"toStageIndex"`
	UpdatedAt    int64  `json:"updatedAt"`
	UserID       string `json:"userId"`
}

// apiApplication is an expanded application ("Applications"): type is posting,
// referral, user or agency; posting is the posting's id; user, on a referral, the user
// who made it.
type apiApplication struct {
	Type         string `json:"type"`
	User         string `json:"user"`
	Posting      string `json:"posting"`
	PostingOwner string `json:"postingOwner"`
	CreatedAt    int64  `json:"createdAt"`
}

// apiOpportunity is an opportunity ("Opportunities") read with expand=owner, contact,
// stage and applications. name, emails and phones are the contact's, aggregated.
type apiOpportunity struct {
	ID           string                `json:"id"`
	Name         string                `json:"name"`
	Contact      ref[apiContact]       `json:"contact"`
	Emails       []string              `json:"emails"`
	Phones       []apiPhone            `json:"phones"`
	Stage        ref[apiStage]         `json:"stage"`
	StageChanges []apiStageChange      `json:"stageChanges"`
	Archived     *apiArchive           `json:"archived"`
	Owner        ref[apiUser]          `json:"owner"`
	Sources      []string              `json:"sources"`
	Origin       string                `json:"origin"`
	Applications []ref[apiApplication] `json:"applications"`
	IsAnonymized bool                  `json:"isAnonymized"`
	CreatedAt    int64                 `json:"createdAt"`
	UpdatedAt    int64                 `json:"updatedAt"`
}

// apiPosting is a posting ("Postings"): text is the job title.
type apiPosting struct {
	ID         string `json:"id"`
	Text       string `json:"text"`
	Owner      string `json:"owner"`
	Categories struct {
		Department string `json:"department"`
		Team       string `json:"team"`
	} `json:"categories"`
}

// apiArchiveReason is an archive reason ("Archive Reasons"): type is hired or non-hired.
type apiArchiveReason struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Type string `json:"type"`
}

// apiInterview is an interview of an opportunity ("Interviews": GET
// /opportunities/:opportunity/interviews): date is its start (Unix ms), duration its
// length in minutes, canceledAt set once it is canceled.
type apiInterview struct {
	ID         string `json:"id"`
	Subject    string `json:"subject"`
	CreatedAt  int64  `json:"createdAt"`
	Date       int64  `json:"date"`
	Duration   int64  `json:"duration"`
	CanceledAt *int64 `json:"canceledAt"`
	Stage      string `json:"stage"`
	User       string `json:"user"`
}
