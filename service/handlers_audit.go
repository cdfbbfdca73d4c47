package service

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/audit"
)

// The audit trail (service/audit). Handlers record what a person did once it is done,
// with one call:
//
//	if !s.audit(c, audit.KeyCreated, key.ID) { return }          // the request's API key
//	if !s.auditAs(c, audit.OIDC(email), audit.SignIn, sid) { return } // anyone else
//
// A recording failure answers 503 (Retry-After): the action is done, but the caller
// learns that its trail is not, and the entry goes to the log at error level with all
// its fields, so nothing is lost silently. Repeating the request is harmless for every
// audited action. The one exception is an SMS reply, which is only logged
// (smsCommand): a 503 there would make Twilio's retry act on the next alert.

// audit records that the request's API key (or its browser session, or the person
// signed in through single sign-on) did action on target. On failure it answers 503
// and returns false; the handler must stop.
func (s *api) audit(c *gin.Context, action audit.Action, target string) bool {
	if k := caller(c); k.Person != "" {
		return s.auditAs(c, audit.OIDC(k.Person), action, target)
	}
	return s.auditAs(c, audit.Key(caller(c).ID), action, target)
}

// auditAs records that actor did action on target: for requests that carry no API
// key (the sign-in form, the signed link of an alert, single sign-on). On failure it
// answers 503 and returns false; the handler must stop.
func (s *api) auditAs(c *gin.Context, actor string, action audit.Action, target string) bool {
	err := s.record(c, actor, action, target)
	if err == nil {
		return true
	}
	if strings.HasPrefix(c.FullPath(), "/v1/") {
		fail(c, err)
	} else {
		s.pageFail(c, err)
	}
	return false
}

// record appends an entry to the trail, with the client's address; when that fails
// it logs the entry at error level and returns the error.
func (s *api) record(c *gin.Context, actor string, action audit.Action, target string) error {
	e := audit.Entry{At: s.now(), Actor: actor, Action: action, Target: target, IP: c.ClientIP()}
	return recordEntry(ctx(c), s.trail, logger(c), e)
}

// recordEntry appends e to trail, even once ctx is canceled; when that fails it logs
// the entry to log at error level and returns the error.
func recordEntry(ctx context.Context, trail *audit.Trail, log *slog.Logger, e audit.Entry) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := trail.Record(rctx, e); err != nil {
		log.Error("audit entry not stored", "actor", e.Actor, "action", e.Action,
			"target", e.Target, "ip", e.IP, "at", interactions.APITime(e.At), "err", err)
		return err
	}
	return nil
}

type auditView struct {
	ID     string       `json:"id"`
	At     string       `json:"at"`
	Actor  string       `json:"actor"`
	Action audit.Action `json:"action"`
	Target string       `json:"target"`
	IP     string       `json:"ip"`
}

// listAudit answers GET /v1/audit?actor=&action=&since=&limit=&cursor=, newest first.
func (s *api) listAudit(c *gin.Context) {
	f := audit.Filter{Actor: c.Query("actor"), Action: audit.Action(c.Query("action")), Cursor: c.Query("cursor")}
	var fields []interactions.FieldError
	var err error
	if f.Limit, err = parseLimit(c.Query("limit")); err != nil {
		fields = append(fields, interactions.FieldError{Field: "limit", Message: err.Error()})
	}
	if f.Action != "" && !f.Action.Valid() {
		names := make([]string, len(audit.Actions))
		for i, a := range audit.Actions {
			names[i] = string(a)
		}
		fields = append(fields, interactions.FieldError{Field: "action", Message: "must be one of " + strings.Join(names, ", ")})
	}
	if f.Actor != "" && !validActor(f.Actor) {
		fields = append(fields, interactions.FieldError{Field: "actor", Message: "must be system, key:<id>, oidc:<email> or recruiter:<id>"})
	}
	if v := c.Query("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			fields = append(fields, interactions.FieldError{Field: "since", Message: "must be an RFC 3339 time"})
		}
	}
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	entries, next, err := s.trail.List(ctx(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]auditView, len(entries))
	for i, e := range entries {
		out[i] = auditView{ID: e.ID, At: interactions.APITime(e.At), Actor: e.Actor, Action: e.Action, Target: e.Target, IP: e.IP}
	}
	resp := gin.H{"entries": out}
	if next != "" {
		resp["next_cursor"] = next
	}
	c.JSON(http.StatusOK, resp)
}

// validActor reports whether a is an actor the trail records.
func validActor(a string) bool {
	if a == audit.System {
		return true
	}
	for _, prefix := range []string{"key:", "oidc:", "recruiter:"} {
		if rest, ok := strings.CutPrefix(a, prefix); ok && rest != "" {
			return true
		}
	}
	return false
}

// PurgeAudit deletes the audit entries older than two years now, as the daily job
// does, and returns how many it deleted.
func (s *Server) PurgeAudit(ctx context.Context) (int64, error) { return s.auditPurger.RunOnce(ctx) }
