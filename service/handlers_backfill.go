package service

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// backfillView is a backfill as GET /v1/connectors/{vendor}/backfills/{id} shows it.
type backfillView struct {
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

func viewBackfill(b atssync.Backfill) backfillView {
	v := backfillView{ID: b.ID, State: b.State, Since: interactions.APITime(b.Since), Pages: b.Pages,
		Applications: b.Applications, Events: b.Events, StartedAt: apiTime(&b.StartedAt), FinishedAt: apiTime(b.FinishedAt)}
	if b.Error != "" {
		v.Error = &b.Error
	}
	return v
}

// parseSince reads a backfill's since: a date (YYYY-MM-DD, midnight UTC) or an RFC 3339
// time.
func parseSince(s string) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// startBackfill answers POST /v1/connectors/{vendor}/backfill {"since"}: 202 {"id"},
// the backfill reading the vendor's history from since runs in the background. 404
// for a vendor not configured; 409 while another backfill of the vendor runs, with
// Location naming the running one (follow it rather than start another).
func (s *api) startBackfill(c *gin.Context) {
	var req struct {
		Since string `json:"since"`
	}
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	vendor := c.Param("vendor")
	if err := s.syncRunner.Configured(vendor); err != nil {
		fail(c, err)
		return
	}
	since, ok := parseSince(strings.TrimSpace(req.Since))
	if !ok {
		msg := "must be a date (2025-01-01) or an RFC 3339 time"
		if req.Since == "" {
			msg = "is required: " + msg
		}
		fail(c, interactions.Invalid(interactions.FieldError{Field: "since", Message: msg}))
		return
	}
	b, err := s.syncRunner.StartBackfill(ctx(c), vendor, since)
	var running *atssync.BackfillRunningError
	if errors.As(err, &running) {
		c.Header("Location", backfillPath(vendor, running.ID))
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", backfillPath(vendor, b.ID))
	c.JSON(http.StatusAccepted, gin.H{"id": b.ID})
}

func backfillPath(vendor, id string) string {
	return "/v1/connectors/" + vendor + "/backfills/" + id
}

// backfillID returns the route's backfill id, or answers 404: ids are UUIDs.
func backfillID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		fail(c, interactions.Errorf(interactions.CodeNotFound, "no backfill %q", id))
		return "", false
	}
	return id, true
}

// getBackfill answers GET /v1/connectors/{vendor}/backfills/{id}.
func (s *api) getBackfill(c *gin.Context) {
	id, ok := backfillID(c)
	if !ok {
		return
	}
	b, err := s.syncRunner.Backfill(ctx(c), c.Param("vendor"), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewBackfill(b))
}

// cancelBackfill answers DELETE /v1/connectors/{vendor}/backfills/{id}: the running
// backfill stops (what it wrote stays) and is answered with state canceled; 409 for
// one done or failed.
func (s *api) cancelBackfill(c *gin.Context) {
	id, ok := backfillID(c)
	if !ok {
		return
	}
	b, err := s.syncRunner.CancelBackfill(ctx(c), c.Param("vendor"), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewBackfill(b))
}
