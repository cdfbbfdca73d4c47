package service

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/sla"
)

// listPolicies answers GET /v1/sla/policies, by id, in pages (default: 1000).
func (s *api) listPolicies(c *gin.Context) {
	limit, after, fields := pageRequest(c, maxPageLimit)
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	policies := s.engine.Policies()
	for i := range policies {
		policies[i] = policies[i].WithDefaults() // those stored before a field existed
	}
	slices.SortFunc(policies, func(a, b sla.Policy) int { return strings.Compare(a.ID, b.ID) })
	policies, next := pageOf(policies, limit, after, func(p *sla.Policy) interactions.Cursor {
		return interactions.Cursor{ID: p.ID}
	})
	c.JSON(http.StatusOK, listAnswer("policies", policies, next))
}

// putPolicy creates or replaces a policy; the path names its id.
func (s *api) putPolicy(c *gin.Context) {
	var p sla.Policy
	if err := decodeJSON(c, &p); err != nil {
		fail(c, err)
		return
	}
	if p.ID != "" && p.ID != c.Param("id") {
		fail(c, interactions.Invalid(interactions.FieldError{Field: "id", Message: "must match the id in the path"}))
		return
	}
	p.ID = c.Param("id")
	saved, err := s.engine.PutPolicy(ctx(c), p)
	if err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.PolicyChanged, saved.ID) {
		return
	}
	c.JSON(http.StatusOK, saved)
}

func (s *api) deletePolicy(c *gin.Context) {
	if err := s.engine.DeletePolicy(ctx(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.PolicyDeleted, c.Param("id")) {
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *api) getCalendar(c *gin.Context) { c.JSON(http.StatusOK, s.engine.Calendar()) }

func (s *api) putCalendar(c *gin.Context) {
	var cal sla.Calendar
	if err := decodeJSON(c, &cal); err != nil {
		fail(c, err)
		return
	}
	if err := s.engine.PutCalendar(ctx(c), cal); err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.CalendarChanged, "calendar") { // the organisation's one calendar
		return
	}
	c.JSON(http.StatusOK, s.engine.Calendar())
}

// previewChange answers how a policy or calendar change would move open clocks.
func (s *api) previewChange(c *gin.Context) {
	var req struct {
		Policy   *sla.Policy   `json:"policy"`
		Calendar *sla.Calendar `json:"calendar"`
	}
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	if (req.Policy == nil) == (req.Calendar == nil) {
		fail(c, interactions.Invalid(interactions.FieldError{Field: "body", Message: "give exactly one of policy or calendar"}))
		return
	}
	n, moved, err := s.engine.Preview(ctx(c), req.Policy, req.Calendar)
	if err != nil {
		fail(c, err)
		return
	}
	if moved == nil {
		moved = []sla.Moved{}
	}
	c.JSON(http.StatusOK, gin.H{"moved": n, "clocks": moved})
}

// applicationClocks answers GET /v1/applications/{id}/sla.
func (s *api) applicationClocks(c *gin.Context) {
	app, err := s.application(c)
	if err != nil {
		fail(c, err)
		return
	}
	clocks, err := s.clocks(c, app)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"clocks": clocks})
}

func (s *api) clocks(c *gin.Context, app interactions.Application) ([]sla.Clock, error) {
	clocks, err := s.engine.Clocks(ctx(c), app)
	if clocks == nil {
		clocks = []sla.Clock{}
	}
	return clocks, err
}

type overdueView struct {
	sla.Clock
	CandidateName  string `json:"candidate_name,omitempty"`
	JobID          string `json:"job_id,omitempty"`
	RecruiterID    string `json:"recruiter_id,omitempty"`
	OverdueSeconds int64  `json:"overdue_seconds"`
}

// MarshalJSON keeps the clock's own time formatting and adds the queue's fields.
func (v overdueView) MarshalJSON() ([]byte, error) {
	return mergeJSON(v.Clock, struct {
		CandidateName  string `json:"candidate_name,omitempty"`
		JobID          string `json:"job_id,omitempty"`
		RecruiterID    string `json:"recruiter_id,omitempty"`
		OverdueSeconds int64  `json:"overdue_seconds"`
	}{v.CandidateName, v.JobID, v.RecruiterID, v.OverdueSeconds})
}

// overdue answers the recruiter queue: open clocks in warning or breach, most overdue
// first. A recruiter key sees its own and its reports' queue.
func (s *api) overdue(c *gin.Context) {
	f := sla.OverdueFilter{Metric: sla.Metric(c.Query("metric")), State: sla.State(c.Query("state"))}
	limit, after, fields := pageRequest(c, defaultPageLimit)
	if f.Metric != "" && !sla.ClockMetric(f.Metric) {
		fields = append(fields, interactions.FieldError{Field: "metric", Message: "unknown metric"})
	}
	if f.State != "" && f.State != sla.StateWarning && f.State != sla.StateBreached {
		fields = append(fields, interactions.FieldError{Field: "state", Message: "must be warning or breached"})
	}
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	scope, err := s.recruiterScope(c, c.Query("recruiter_id"))
	if err != nil {
		fail(c, err)
		return
	}
	f.RecruiterIDs = scope
	items := []overdueView{}
	next := ""
	if f.RecruiterIDs == nil || len(f.RecruiterIDs) > 0 {
		// Most overdue first: by due_at, then clock_id, which is also the page's
		// position, so that pages stay in place while clocks change.
		var page []sla.OverdueItem
		page, next = pageOf(s.engine.Overdue(f), limit, after, func(it *sla.OverdueItem) interactions.Cursor {
			return interactions.Cursor{T: it.DueAt, ID: it.ClockID}
		})
		for _, it := range page {
			v := overdueView{Clock: it.Clock, RecruiterID: it.RecruiterID, OverdueSeconds: it.OverdueSeconds}
			if app, err := s.interactions.Application(ctx(c), it.ApplicationID); err == nil {
				v.JobID = app.JobID
				if cand, err := s.interactions.Candidate(ctx(c), app.CandidateID); err == nil {
					v.CandidateName = cand.Name
				}
			}
			items = append(items, v)
		}
	}
	c.JSON(http.StatusOK, listAnswer("items", items, next))
}
