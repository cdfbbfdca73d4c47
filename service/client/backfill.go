package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Backfill is a first-connect backfill as GET /v1/connectors/{vendor}/backfills/{id}
// answers it. State is running, done, failed or canceled.
type Backfill struct {
	ID           string  `json:"id"`
	State        string  `json:"state"`
	Since        string  `json:"since"`
	Pages        int64   `json:"pages"`
	Applications int64   `json:"applications"`
	Events       int64   `json:"events"`
	StartedAt    *string `json:"started_at"`
	FinishedAt   *string `json:"finished_at"`
	Error        *string `json:"error"`
}

// Running reports whether the backfill is still reading.
func (b Backfill) Running() bool { return b.State == "running" }

func backfillsPath(vendor string) string {
	return "/v1/connectors/" + url.PathEscape(vendor)
}

// StartBackfill asks the service to bring in vendor's history from since (a date
// such as 2025-01-01, or an RFC 3339 time) and returns the backfill's id. While
// another backfill of vendor runs the answer is an *Error with status 409, which
// RunningBackfill reads the running one's id from.
func (c *Client) StartBackfill(ctx context.Context, vendor, since string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	_, err := c.Do(ctx, http.MethodPost, backfillsPath(vendor)+"/backfill", map[string]string{"since": since}, &out)
	return out.ID, err
}

// Backfill returns vendor's backfill id.
func (c *Client) Backfill(ctx context.Context, vendor, id string) (Backfill, error) {
	var b Backfill
	_, err := c.Do(ctx, http.MethodGet, backfillsPath(vendor)+"/backfills/"+url.PathEscape(id), nil, &b)
	return b, err
}

// CancelBackfill cancels vendor's running backfill id and returns it.
func (c *Client) CancelBackfill(ctx context.Context, vendor, id string) (Backfill, error) {
	var b Backfill
	_, err := c.Do(ctx, http.MethodDelete, backfillsPath(vendor)+"/backfills/"+url.PathEscape(id), nil, &b)
	return b, err
}

// RunningBackfill returns the id of the running backfill a 409 of StartBackfill names
// in its Location header.
func RunningBackfill(err error) (string, bool) {
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Header == nil {
		return "", false
	}
	loc := e.Header.Get("Location")
	i := strings.LastIndex(loc, "/backfills/")
	if i < 0 || loc[i+len("/backfills/"):] == "" {
		return "", false
	}
	return loc[i+len("/backfills/"):], true
}
