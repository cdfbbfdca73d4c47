package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
)

const readyTimeout = 2 * time.Second

func contextWithTimeout(c *gin.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), d)
}

// readBody reads the whole request body within the size limit.
func readBody(c *gin.Context) ([]byte, error) {
	if c.Request.Body == nil {
		return nil, nil
	}
	return io.ReadAll(c.Request.Body)
}

// decodeJSON reads the body into v, rejecting unknown fields, wrong types and
// trailing data with field errors.
func decodeJSON(c *gin.Context, v any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return interactions.DecodeStrict(body, v)
}

// apiTime formats a time as the API does; nil stays nil.
func apiTime(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := interactions.APITime(*t)
	return &s
}

// --- keys ---

type keyView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Role        auth.Role `json:"role"`
	RecruiterID string    `json:"recruiter_id,omitempty"`
	CreatedAt   *string   `json:"created_at"`
	Key         string    `json:"key,omitempty"`
}

func viewKey(k auth.Key, secret string) keyView {
	return keyView{ID: k.ID, Name: k.Name, Role: k.Role, RecruiterID: k.RecruiterID, CreatedAt: apiTime(&k.CreatedAt), Key: secret}
}

func (s *api) createKey(c *gin.Context) {
	var req struct {
		Name        string    `json:"name"`
		Role        auth.Role `json:"role"`
		RecruiterID string    `json:"recruiter_id"`
	}
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	key, secret, err := s.keys.Create(ctx(c), req.Name, req.Role, req.RecruiterID, s.now())
	if err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.KeyCreated, key.ID) {
		return
	}
	c.JSON(http.StatusCreated, viewKey(key, secret))
}

// listKeys answers GET /v1/keys, oldest first, in pages (default: 1000 keys).
func (s *api) listKeys(c *gin.Context) {
	limit, after, fields := pageRequest(c, maxPageLimit)
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	keys, err := s.keys.List(ctx(c))
	if err != nil {
		fail(c, err)
		return
	}
	keys, next := pageOf(keys, limit, after, func(k *auth.Key) interactions.Cursor {
		return interactions.Cursor{T: k.CreatedAt, ID: k.ID}
	})
	out := make([]keyView, len(keys))
	for i, k := range keys {
		out[i] = viewKey(k, "")
	}
	c.JSON(http.StatusOK, listAnswer("keys", out, next))
}

func (s *api) deleteKey(c *gin.Context) {
	if err := s.keys.Delete(ctx(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.KeyDeleted, c.Param("id")) {
		return
	}
	c.Status(http.StatusNoContent)
}

// --- interactions ---

// postInteractions stores one interaction or a batch. 201 means durably written; a
// single repeat of an idempotency key answers 200 with the original, in full for an
// admin key and as {"id","duplicate":true} for any other.
//
// With X-Goodwill-History: true (admin and ingest keys) the 201 still means durably
// written, but the answer does not wait for the projector: derived state may lag it
// until POST /v1/interactions/flush.
func (s *api) postInteractions(c *gin.Context) {
	key := caller(c)
	history, err := historyHeader(c.GetHeader(historyHeaderName), key)
	if err != nil {
		fail(c, err)
		return
	}
	body, err := readBody(c)
	if err != nil {
		fail(c, err)
		return
	}
	items, batch, err := interactions.ParseWrite(body, c.GetHeader("Idempotency-Key"), s.now())
	if err != nil {
		fail(c, err)
		return
	}
	if key.Role != auth.RoleAdmin {
		if err := checkSources(items, batch); err != nil {
			fail(c, err)
			return
		}
	}
	if key.Role == auth.RoleRecruiter {
		if err := interactions.SelfReported(items, batch); err != nil {
			fail(c, err)
			return
		}
		if err := s.checkRecruiterWrite(c, key, items, batch); err != nil {
			fail(c, err)
			return
		}
	}
	write := s.writer.Write
	switch {
	case history:
		write = func(ctx context.Context, items []interactions.Interaction) ([]interactions.Interaction, error) {
			return s.writer.WriteHistory(ctx, items, batch)
		}
	case batch:
		write = s.writer.WriteBatch
	}
	stored, err := write(ctx(c), items)
	if err != nil {
		fail(c, err)
		return
	}
	minimal := prefersMinimal(c.Request.Header)
	if minimal {
		c.Header("Preference-Applied", "return=minimal")
	}
	if batch {
		out := make([]any, len(stored))
		for i, it := range stored {
			out[i] = answerFor(key, it, minimal)
		}
		c.JSON(http.StatusCreated, gin.H{"interactions": out})
		return
	}
	status := http.StatusCreated
	if stored[0].Duplicate {
		status = http.StatusOK
	}
	c.JSON(status, answerFor(key, stored[0], minimal))
}

// historyHeaderName marks writes of history being backfilled (goodwill import).
const historyHeaderName = "X-Goodwill-History"

// historyHeader reads X-Goodwill-History: "true" asks for the history path, which
// only admin and ingest keys may take; absent or "false" is the ordinary path.
func historyHeader(v string, key auth.Key) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false":
		return false, nil
	case "true":
	default:
		return false, &interactions.Error{Code: interactions.CodeInvalid,
			Message: historyHeaderName + ": must be true or false",
			Fields:  []interactions.FieldError{{Field: historyHeaderName, Message: "must be true or false"}}}
	}
	if key.Role != auth.RoleAdmin && key.Role != auth.RoleIngest {
		return false, &interactions.Error{Code: interactions.CodeForbidden,
			Message: historyHeaderName + ": only admin and ingest keys may write history"}
	}
	return true, nil
}

// flushInteractions answers once the derived state (applications, SLA clocks,
// scores) of everything written before the call is complete, or 503 with
// Retry-After when that takes longer than the flush limit (60 s).
func (s *api) flushInteractions(c *gin.Context) {
	limit := s.flushLimit
	if limit <= 0 {
		limit = defaultFlushLimit
	}
	wait, cancel := context.WithTimeout(ctx(c), limit)
	defer cancel()
	if err := s.feed.Settle(wait); err != nil {
		if ctx(c).Err() != nil {
			return // the caller left
		}
		abortProblem(c, http.StatusServiceUnavailable, string(interactions.CodeUnavailable),
			"derived state is still catching up with what was written; retry later")
		return
	}
	c.JSON(http.StatusOK, gin.H{"flushed": true})
}

// defaultFlushLimit bounds a flush's wait.
const defaultFlushLimit = 60 * time.Second

// duplicateAnswer is what a key other than admin learns of a repeated idempotency
// key: the original's id, nothing of what it holds.
type duplicateAnswer struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// answerFor renders a stored interaction for the caller: a duplicate shows its
// original in full to an admin key only; minimal (Prefer: return=minimal) leaves
// only what identifies it.
func answerFor(key auth.Key, it interactions.Interaction, minimal bool) any {
	switch {
	case it.Duplicate && key.Role != auth.RoleAdmin:
		return duplicateAnswer{ID: it.ID, Duplicate: true}
	case minimal:
		return minimalAnswer{ID: it.ID, ReceivedAt: it.ReceivedAt, Duplicate: it.Duplicate}
	}
	return it
}

// minimalAnswer is a stored interaction as Prefer: return=minimal asks for it: what
// identifies it, no more (goodwill import reads nothing else).
type minimalAnswer struct {
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Duplicate  bool      `json:"duplicate"`
}

// checkSources refuses the reserved sources of goodwill's own receivers
// (interactions.ReservedSources): only an admin key may write them, e.g. to import a
// vendor's history.
func checkSources(items []interactions.Interaction, batch bool) error {
	for i, it := range items {
		if interactions.Reserved(it.Source) {
			f := interactions.ItemField(batch, i, "source")
			return &interactions.Error{Code: interactions.CodeForbidden,
				Message: f + ": source " + strconv.Quote(it.Source) + " is reserved for goodwill's own receivers; only an admin key may write it",
				Fields:  []interactions.FieldError{{Field: f, Message: "is reserved for goodwill's own receivers"}}}
		}
	}
	return nil
}

// checkRecruiterWrite lets a recruiter key write only on applications it may see,
// as itself: actor_id becomes the key's recruiter, and a new application without a
// recruiter becomes theirs. It keeps a recruiter key from reaching other
// recruiters' candidates:
//
//   - on an existing application, candidate_id must be the application's
//     candidate (CodeConflict otherwise);
//   - a new application may name only a candidate that is new, or that has an
//     application the key may see (CodeNotFound otherwise — that the id exists is
//     given away; candidate ids are ATS ids, not secrets).
//
// So every candidate a recruiter write names, and whose candidate{} details it may
// update, is one the key can see or one it creates.
func (s *api) checkRecruiterWrite(c *gin.Context, key auth.Key, items []interactions.Interaction, batch bool) error {
	visible, err := s.visibleSet(c, key)
	if err != nil {
		return err
	}
	opened := map[string]string{} // new application → the candidate the write gives it
	cleared := map[string]bool{}  // candidates found new or visible
	for i := range items {
		it := &items[i]
		field := func(name string) string { return interactions.ItemField(batch, i, name) }
		if it.CandidateLevel() {
			if err := s.checkCandidateWrite(c, key, visible, it, cleared, field); err != nil {
				return err
			}
			continue
		}
		app, err := s.interactions.Application(ctx(c), it.ApplicationID)
		exists := err == nil
		switch {
		case exists && !visible[app.RecruiterID]:
			return interactions.Errorf(interactions.CodeNotFound, "%s: no application %q", field("application_id"), it.ApplicationID)
		case !exists && interactions.ErrorCode(err) != interactions.CodeNotFound:
			return err
		case exists && it.CandidateID != app.CandidateID:
			return candidateConflict(field("candidate_id"))
		case !exists:
			if cand, ok := opened[it.ApplicationID]; ok {
				if cand != it.CandidateID {
					return candidateConflict(field("candidate_id"))
				}
				break
			}
			opened[it.ApplicationID] = it.CandidateID
			if cleared[it.CandidateID] {
				break
			}
			if err := s.mayOpenFor(c, visible, it.CandidateID, field("candidate_id")); err != nil {
				return err
			}
			cleared[it.CandidateID] = true
		}
		if it.RecruiterID == "" && !exists {
			it.RecruiterID = key.RecruiterID
		}
		if it.RecruiterID != "" && !visible[it.RecruiterID] {
			return interactions.Invalid(interactions.FieldError{Field: field("recruiter_id"), Message: "must be you or someone who reports to you"})
		}
		it.ActorID = key.RecruiterID
	}
	return nil
}

// mayOpenFor is CodeNotFound, naming field, unless the candidate is new, has an
// application whose recruiter is visible, or is in a pool the key's recruiter owns.
func (s *api) mayOpenFor(c *gin.Context, visible map[string]bool, candidateID, field string) error {
	owners, known, err := s.interactions.CandidateOwners(ctx(c), candidateID)
	if err != nil || !known {
		return err
	}
	for _, r := range owners {
		if visible[r] {
			return nil
		}
	}
	if s.ownsPoolOf(c, candidateID) { // a prospect of the recruiter's pool applies
		return nil
	}
	return &interactions.Error{Code: interactions.CodeNotFound, Message: fmt.Sprintf("%s: no candidate %q", field, candidateID),
		Fields: []interactions.FieldError{{Field: field, Message: "no such candidate among yours"}}}
}

// candidateConflict refuses a recruiter write that would change an application's
// candidate.
func candidateConflict(field string) error {
	return &interactions.Error{Code: interactions.CodeConflict, Message: field + ": must be the application's candidate",
		Fields: []interactions.FieldError{{Field: field, Message: "must be the application's candidate"}}}
}

// recruiterScope returns the recruiter ids a list may show: the one requested, if
// any, narrowed for a recruiter key to those it may see. nil means every recruiter;
// an empty list means none.
func (s *api) recruiterScope(c *gin.Context, requested string) ([]string, error) {
	var scope []string
	if requested != "" {
		scope = []string{requested}
	}
	key := caller(c)
	if key.Role != auth.RoleRecruiter {
		return scope, nil
	}
	visible, err := auth.Visible(ctx(c), s.directory, key.RecruiterID)
	if err != nil {
		return nil, err
	}
	switch {
	case scope == nil:
		return visible, nil
	case slices.Contains(visible, requested):
		return scope, nil
	}
	return []string{}, nil
}

// visibleSet is the set of recruiter ids a recruiter key may see. It is read once per
// request (a page checks it for each of its rows).
func (s *api) visibleSet(c *gin.Context, key auth.Key) (map[string]bool, error) {
	cacheKey := ctxVisiblePrefix + key.RecruiterID
	if v, ok := c.Get(cacheKey); ok {
		return v.(map[string]bool), nil
	}
	ids, err := auth.Visible(ctx(c), s.directory, key.RecruiterID)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	c.Set(cacheKey, set)
	return set, nil
}

// ctxVisiblePrefix keys visibleSet's answer in the request's context.
const ctxVisiblePrefix = "goodwill.visible:"

func (s *api) listInteractions(c *gin.Context) {
	f := interactions.Filter{
		ApplicationID: c.Query("application_id"),
		CandidateID:   c.Query("candidate_id"),
		RecruiterID:   c.Query("recruiter_id"),
		Source:        c.Query("source"),
		Kind:          interactions.Kind(c.Query("kind")),
		Cursor:        c.Query("cursor"),
	}
	var fields []interactions.FieldError
	var err error
	if f.Limit, err = parseLimit(c.Query("limit")); err != nil {
		fields = append(fields, interactions.FieldError{Field: "limit", Message: err.Error()})
	}
	for _, q := range []struct {
		name string
		dst  **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := c.Query(q.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				fields = append(fields, interactions.FieldError{Field: q.name, Message: "must be an RFC 3339 time"})
				continue
			}
			*q.dst = &t
		}
	}
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	if key := caller(c); key.Role == auth.RoleRecruiter {
		visible, err := auth.Visible(ctx(c), s.directory, key.RecruiterID)
		if err != nil {
			fail(c, err)
			return
		}
		if f.ApplicationIDs, err = s.interactions.ApplicationIDsOf(ctx(c), visible); err != nil {
			fail(c, err)
			return
		}
	}
	items, next, err := s.interactions.List(ctx(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	if items == nil {
		items = []interactions.Interaction{}
	}
	resp := gin.H{"interactions": items}
	if next != "" {
		resp["next_cursor"] = next
	}
	c.JSON(http.StatusOK, resp)
}

// parseLimit reads a list's limit: default 100, at most 1000.
func parseLimit(v string) (int, error) { return parseLimitDefault(v, defaultPageLimit) }

// parseLimitDefault reads a list's limit: def when absent, at most 1000.
func parseLimitDefault(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageLimit {
		return 0, errors.New("must be a whole number from 1 to 1000")
	}
	return n, nil
}

type applicationView struct {
	ID            string                    `json:"id"`
	CandidateID   string                    `json:"candidate_id"`
	CandidateName string                    `json:"candidate_name,omitempty"`
	JobID         string                    `json:"job_id,omitempty"`
	Job           *interactions.JobInfo     `json:"job,omitempty"` // the timeline's: title and department, when known
	RecruiterID   string                    `json:"recruiter_id,omitempty"`
	Status        interactions.Status       `json:"status"`
	Stage         string                    `json:"stage,omitempty"`
	StageSince    *string                   `json:"stage_since,omitempty"`
	Source        string                    `json:"source,omitempty"`
	Referral      bool                      `json:"referral"`
	Attribution   *interactions.Attribution `json:"attribution,omitempty"`
	EmployeeID    string                    `json:"employee_id,omitempty"`
	AppliedAt     *string                   `json:"applied_at,omitempty"`
	LastContactAt *string                   `json:"last_contact_at,omitempty"`
	LastEventAt   *string                   `json:"last_event_at,omitempty"`
	ClosedAt      *string                   `json:"closed_at,omitempty"`
	Interactions  int                       `json:"interactions"`
}

func viewApplication(a interactions.Application, candidateName string) applicationView {
	return applicationView{
		ID: a.ID, CandidateID: a.CandidateID, CandidateName: candidateName, JobID: a.JobID,
		RecruiterID: a.RecruiterID, Status: a.Status, Stage: a.Stage, StageSince: apiTime(a.StageSince),
		Source: a.Source, Referral: a.Referral, Attribution: a.Attribution, EmployeeID: a.EmployeeID,
		AppliedAt:     apiTime(a.AppliedAt),
		LastContactAt: apiTime(a.LastContactAt), LastEventAt: apiTime(&a.LastEventAt),
		ClosedAt: apiTime(a.ClosedAt), Interactions: a.EventCount,
	}
}

// application returns the application named in the path if the caller may see it;
// otherwise the answer is 404, exactly as if it did not exist.
func (s *api) application(c *gin.Context) (interactions.Application, error) {
	if interactions.IsNurture(c.Param("id")) { // a candidate's, read through their timeline
		return interactions.Application{}, interactions.Errorf(interactions.CodeNotFound, "no application %q", c.Param("id"))
	}
	app, err := s.interactions.Application(ctx(c), c.Param("id"))
	if err != nil {
		return app, err
	}
	if key := caller(c); key.Role == auth.RoleRecruiter {
		visible, err := s.visibleSet(c, key)
		if err != nil {
			return app, err
		}
		if !visible[app.RecruiterID] {
			return app, interactions.Errorf(interactions.CodeNotFound, "no application %q", app.ID)
		}
	}
	return app, nil
}

func (s *api) timeline(c *gin.Context) {
	app, err := s.application(c)
	if err != nil {
		fail(c, err)
		return
	}
	items, err := s.interactions.Timeline(ctx(c), app)
	if err != nil {
		fail(c, err)
		return
	}
	clocks, err := s.clocks(c, app)
	if err != nil {
		fail(c, err)
		return
	}
	name := ""
	if cand, err := s.interactions.Candidate(ctx(c), app.CandidateID); err == nil {
		name = cand.Name
	}
	view := viewApplication(app, name)
	if app.JobID != "" {
		job, err := s.interactions.Job(ctx(c), app.JobID)
		switch {
		case err == nil && job != (interactions.JobInfo{}):
			view.Job = &job
		case err != nil && interactions.ErrorCode(err) != interactions.CodeNotFound:
			fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{
		"application":  view,
		"interactions": items,
		"clocks":       clocks,
	})
}

// --- erasures ---

type erasureView struct {
	ID           string  `json:"id"`
	State        string  `json:"state"`
	Candidates   int     `json:"candidates"`
	Interactions int     `json:"interactions"`
	CreatedAt    *string `json:"created_at"`
	DoneAt       *string `json:"done_at,omitempty"`
}

func viewErasure(e interactions.Erasure) erasureView {
	return erasureView{ID: e.ID, State: e.State, Candidates: e.Candidates, Interactions: e.Interactions,
		CreatedAt: apiTime(&e.CreatedAt), DoneAt: apiTime(e.DoneAt)}
}

func (s *api) postErasure(c *gin.Context) {
	var req struct {
		CandidateID string `json:"candidate_id"`
		Email       string `json:"email"`
		Phone       string `json:"phone"`
	}
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	er, err := s.eraser.Request(ctx(c), req.CandidateID, req.Email, req.Phone)
	if err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.ErasureRequested, er.ID) { // the erasure's id: never its email or phone
		return
	}
	c.JSON(http.StatusAccepted, viewErasure(er))
}

func (s *api) getErasure(c *gin.Context) {
	er, err := s.eraser.Erasure(ctx(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewErasure(er))
}

// mergeJSON renders a and b, two JSON objects, as one.
func mergeJSON(a, b any) ([]byte, error) {
	ja, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	if len(jb) <= 2 {
		return ja, nil
	}
	return append(append(ja[:len(ja)-1], ','), jb[1:]...), nil
}
