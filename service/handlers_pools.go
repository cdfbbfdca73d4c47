package service

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/sla"
	"github.com/goodwillhq/goodwill/sla/pools"
)

// poolView is a pool as the API shows it.
type poolView struct {
	ID        string                `json:"id"`
	Name      string                `json:"name"`
	Cadence   interactions.Duration `json:"cadence"`
	Calendar  string                `json:"calendar"`
	OwnerID   *string               `json:"owner_id"`
	WarnRatio float64               `json:"warn_ratio"`
	Alerts    bool                  `json:"alerts"`
	CreatedAt string                `json:"created_at"`
	UpdatedAt string                `json:"updated_at"`
}

// poolFigures is a pool with its figures (GET /v1/pools/{id}).
type poolFigures struct {
	poolView
	From string `json:"from"`
	To   string `json:"to"`
	pools.Figures
}

func viewPool(p sla.Pool) poolView {
	v := poolView{ID: p.ID, Name: p.Name, Cadence: p.Cadence, Calendar: p.Calendar, WarnRatio: p.WarnRatio,
		Alerts: p.Alerts, CreatedAt: interactions.APITime(p.CreatedAt), UpdatedAt: interactions.APITime(p.UpdatedAt)}
	if p.OwnerID != "" {
		owner := p.OwnerID
		v.OwnerID = &owner
	}
	return v
}

// poolRequest is the body of PUT /v1/pools/{id}. alerts defaults to true.
type poolRequest struct {
	ID        string                `json:"id"`
	Name      string                `json:"name"`
	Cadence   interactions.Duration `json:"cadence"`
	Calendar  string                `json:"calendar"`
	OwnerID   *string               `json:"owner_id"`
	WarnRatio float64               `json:"warn_ratio"`
	Alerts    *bool                 `json:"alerts"`
}

func (s *api) putPool(c *gin.Context) {
	var req poolRequest
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	if req.ID != "" && req.ID != c.Param("id") {
		fail(c, interactions.Invalid(interactions.FieldError{Field: "id", Message: "must match the id in the path"}))
		return
	}
	p := sla.Pool{ID: c.Param("id"), Name: req.Name, Cadence: req.Cadence, Calendar: req.Calendar,
		WarnRatio: req.WarnRatio, Alerts: req.Alerts == nil || *req.Alerts}
	if req.OwnerID != nil {
		p.OwnerID = *req.OwnerID
	}
	saved, created, err := s.engine.PutPool(ctx(c), p, s.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, viewPool(saved))
}

// listPools answers GET /v1/pools: every pool, or for a recruiter key those it owns.
func (s *api) listPools(c *gin.Context) {
	key := caller(c)
	out := []poolView{}
	for _, p := range s.engine.Pools() {
		if key.Role == auth.RoleRecruiter && p.OwnerID != key.RecruiterID {
			continue
		}
		out = append(out, viewPool(p))
	}
	c.JSON(http.StatusOK, gin.H{"pools": out})
}

// getPool answers GET /v1/pools/{id}?from=&to=: the pool and its figures over the
// period, read as the scores read theirs. A recruiter key sees the pools it owns.
func (s *api) getPool(c *gin.Context) {
	p, err := s.visiblePool(c, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	q, err := s.parseScores(c, false)
	if err != nil {
		fail(c, err)
		return
	}
	from, to := q.From, q.To.AddDate(0, 0, 1)
	c.JSON(http.StatusOK, poolFigures{
		poolView: viewPool(p),
		From:     q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly),
		Figures: s.pools.Figures(p.ID, from, to, s.now()),
	})
}

// visiblePool returns a pool the caller may see: any for an admin, those it owns for
// a recruiter key; others are not found.
func (s *api) visiblePool(c *gin.Context, id string) (sla.Pool, error) {
	p, err := s.engine.Pool(id)
	if err != nil {
		return p, err
	}
	if key := caller(c); key.Role == auth.RoleRecruiter && p.OwnerID != key.RecruiterID {
		return sla.Pool{}, interactions.Errorf(interactions.CodeNotFound, "no pool %q", id)
	}
	return p, nil
}

// deletePool answers DELETE /v1/pools/{id}: 409 while the pool has members, unless
// force=true, which first ends every membership with a pool_removed.
func (s *api) deletePool(c *gin.Context) {
	id := c.Param("id")
	if _, err := s.engine.Pool(id); err != nil {
		fail(c, err)
		return
	}
	force := c.Query("force") == "true"
	members := s.pools.Members(id)
	if len(members) > 0 && !force {
		fail(c, interactions.Errorf(interactions.CodeConflict,
			"pool %q has %d members: remove them first, or delete with ?force=true, which ends every membership", id, len(members)))
		return
	}
	if len(members) > 0 {
		now := s.now().UTC().Truncate(time.Millisecond)
		items := make([]interactions.Interaction, 0, len(members))
		for _, cid := range members {
			items = append(items, poolRemoval(id, cid, caller(c).ID, now))
		}
		if _, err := s.writer.WriteBatch(ctx(c), items); err != nil {
			fail(c, err)
			return
		}
	}
	if err := s.engine.DeletePool(ctx(c), id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// poolRemoval is the pool_removed a forced deletion writes for a member.
func poolRemoval(poolID, candidateID, keyID string, now time.Time) interactions.Interaction {
	it := interactions.Interaction{
		ID: interactions.NewID(), CandidateID: candidateID, Kind: interactions.KindPoolRemoved,
		PoolID: poolID, OccurredAt: now, ReceivedAt: now, Direction: interactions.Internal,
		Source:     interactions.DefaultSource,
		ExternalID: "pool-deleted:" + poolID + ":" + candidateID + ":" + strconv.FormatInt(now.UnixMilli(), 10),
		Metadata:   map[string]any{"reason": "pool deleted", "key_id": keyID},
	}
	it.Key = interactions.IdempotencyKey(it.Source, it.ExternalID)
	return it
}

// checkCandidateWrite is checkRecruiterWrite's rule for a candidate-level event (no
// application_id): pool_added and pool_removed only on a pool the key's recruiter
// owns; any of them only about a candidate the key can see (seesCandidate), or, for a
// pool_added, a candidate goodwill does not know yet (a new prospect). cleared holds
// the candidates found visible or new so far in the write.
func (s *api) checkCandidateWrite(c *gin.Context, key auth.Key, visible map[string]bool, it *interactions.Interaction,
	cleared map[string]bool, field func(string) string) error {
	if it.Kind == interactions.KindPoolAdded || it.Kind == interactions.KindPoolRemoved {
		if p, err := s.engine.Pool(it.PoolID); err != nil || p.OwnerID != key.RecruiterID {
			return &interactions.Error{Code: interactions.CodeNotFound, Message: field("pool_id") + ": no pool " + strconv.Quote(it.PoolID) + " of yours",
				Fields: []interactions.FieldError{{Field: field("pool_id"), Message: "no such pool among yours"}}}
		}
	}
	if !cleared[it.CandidateID] {
		sees, known, err := s.seesCandidate(c, key, visible, it.CandidateID)
		if err != nil {
			return err
		}
		if !sees && (known || it.Kind != interactions.KindPoolAdded) {
			return &interactions.Error{Code: interactions.CodeNotFound, Message: field("candidate_id") + ": no candidate " + strconv.Quote(it.CandidateID),
				Fields: []interactions.FieldError{{Field: field("candidate_id"), Message: "no such candidate among yours"}}}
		}
		cleared[it.CandidateID] = true
	}
	if it.RecruiterID != "" && !visible[it.RecruiterID] {
		return interactions.Invalid(interactions.FieldError{Field: field("recruiter_id"), Message: "must be you or someone who reports to you"})
	}
	it.ActorID = key.RecruiterID
	return nil
}

// seesCandidate reports whether a recruiter key can see a candidate: one of their
// applications belongs to a recruiter visible to it, or they are (or were) in a pool
// its recruiter owns. known reports whether goodwill knows the candidate at all.
func (s *api) seesCandidate(c *gin.Context, key auth.Key, visible map[string]bool, candidateID string) (sees, known bool, err error) {
	owners, known, err := s.interactions.CandidateOwners(ctx(c), candidateID)
	if err != nil {
		return false, false, err
	}
	for _, r := range owners {
		if visible[r] {
			return true, true, nil
		}
	}
	memberships, _ := s.pools.Candidate(candidateID)
	known = known || len(memberships) > 0
	return s.ownsPoolOf(c, candidateID), known, nil
}

// ownsPoolOf reports whether the caller's recruiter owns a pool the candidate is or
// was in.
func (s *api) ownsPoolOf(c *gin.Context, candidateID string) bool {
	key := caller(c)
	if key.RecruiterID == "" {
		return false
	}
	memberships, _ := s.pools.Candidate(candidateID)
	for _, m := range memberships {
		if p, err := s.engine.Pool(m.PoolID); err == nil && p.OwnerID == key.RecruiterID {
			return true
		}
	}
	return false
}

// membershipView is a pool membership in the candidate's timeline.
type membershipView struct {
	PoolID        string   `json:"pool_id"`
	AddedAt       string   `json:"added_at"`
	RemovedAt     *string  `json:"removed_at"`
	Converted     bool     `json:"converted"`
	ConvertedAt   *string  `json:"converted_at"`
	ApplicationID string   `json:"application_id,omitempty"`
	DaysToConvert *float64 `json:"days_to_convert"`
	Active        bool     `json:"active"`
}

func viewMembership(m pools.Membership) membershipView {
	v := membershipView{PoolID: m.PoolID, AddedAt: interactions.APITime(m.AddedAt), RemovedAt: apiTime(m.RemovedAt),
		Converted: m.ConvertedAt != nil, ConvertedAt: apiTime(m.ConvertedAt), ApplicationID: m.ApplicationID, Active: m.Active()}
	if m.ConvertedAt != nil {
		d := float64(m.ConvertedAt.Sub(m.AddedAt).Milliseconds()) / float64(24*time.Hour/time.Millisecond)
		v.DaysToConvert = &d
	}
	return v
}

// candidateTimeline answers GET /v1/candidates/{id}/timeline: everything about a
// person across pools and applications. An admin key reads any; a recruiter key one
// whose applications include one it may see, or who is or was in a pool its recruiter
// owns — and then sees the applications it may see, and the interactions of those and
// of the candidate-level log.
func (s *api) candidateTimeline(c *gin.Context) {
	id := c.Param("id")
	apps, nurture, err := s.interactions.CandidateApplications(ctx(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	memberships, _ := s.pools.Candidate(id)
	notFound := interactions.Errorf(interactions.CodeNotFound, "no candidate %q", id)
	key := caller(c)
	if key.Role == auth.RoleRecruiter {
		visible, err := s.visibleSet(c, key)
		if err != nil {
			fail(c, err)
			return
		}
		owns := false
		for _, m := range memberships {
			if p, err := s.engine.Pool(m.PoolID); err == nil && p.OwnerID == key.RecruiterID {
				owns = true
			}
		}
		var seen []interactions.Application
		for _, a := range apps {
			if visible[a.RecruiterID] {
				seen = append(seen, a)
			}
		}
		if len(seen) == 0 && !owns {
			fail(c, notFound)
			return
		}
		apps = seen
	}
	cand, err := s.interactions.Candidate(ctx(c), id)
	switch {
	case err != nil && interactions.ErrorCode(err) != interactions.CodeNotFound:
		fail(c, err)
		return
	case err != nil && len(apps) == 0 && nurture == nil:
		fail(c, notFound)
		return
	}
	// The interactions: each application's and the candidate-level ones, once each.
	byKey := map[string]interactions.Interaction{}
	docs := slicesOf(apps)
	if nurture != nil {
		docs = append(docs, *nurture)
	}
	clocks := []sla.Clock{}
	for _, doc := range docs {
		items, err := s.interactions.Timeline(ctx(c), doc)
		if err != nil {
			fail(c, err)
			return
		}
		for _, it := range items {
			if doc.ID == interactions.NurtureID(id) && !it.CandidateLevel() && !appListed(apps, it.ApplicationID) {
				continue // an application the key may not see
			}
			byKey[it.Key] = it
		}
		cs, err := s.clocks(c, doc)
		if err != nil {
			fail(c, err)
			return
		}
		clocks = append(clocks, cs...)
	}
	items := make([]interactions.Interaction, 0, len(byKey))
	for _, it := range byKey {
		items = append(items, it)
	}
	interactions.SortEvents(items)
	appViews := make([]applicationView, len(apps))
	for i, a := range apps {
		appViews[i] = viewApplication(a, cand.Name)
	}
	poolViews := make([]membershipView, len(memberships))
	for i, m := range memberships {
		poolViews[i] = viewMembership(m)
	}
	c.JSON(http.StatusOK, gin.H{
		"candidate":    candidateView{ID: id, Name: cand.Name, Email: cand.Email, Phone: cand.Phone},
		"pools":        poolViews,
		"applications": appViews,
		"interactions": items,
		"clocks":       clocks,
	})
}

// candidateView is the person the candidate timeline is about.
type candidateView struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

func slicesOf(apps []interactions.Application) []interactions.Application {
	return append([]interactions.Application(nil), apps...)
}

func appListed(apps []interactions.Application, id string) bool {
	for _, a := range apps {
		if a.ID == id {
			return true
		}
	}
	return false
}

// poolLine is one pool on the dashboard's Pools panel.
type poolLine struct {
	ID, Name, Cadence string
	Figures           []figure
}

// poolLines are the dashboard's pools with their figures over [from, to): every pool
// for admins and viewers (aggregates only), those it owns for a recruiter key.
func (s *api) poolLines(c *gin.Context, from, to, now time.Time) []poolLine {
	key := caller(c)
	var out []poolLine
	for _, p := range s.engine.Pools() {
		if key.Role == auth.RoleRecruiter && p.OwnerID != key.RecruiterID {
			continue
		}
		f := s.pools.Figures(p.ID, from, to, now)
		count := func(field string, n int) figure {
			return figure{Field: field, Text: strconv.Itoa(n), Value: strconv.Itoa(n)}
		}
		median := figure{Field: "median_days_to_convert", Text: "—"}
		if f.MedianDaysToConvert != nil {
			median.Value = jsonValue(*f.MedianDaysToConvert)
			median.Text = strconv.FormatFloat(*f.MedianDaysToConvert, 'f', 1, 64) + " d"
		}
		out = append(out, poolLine{ID: p.ID, Name: p.Name, Cadence: p.Cadence.String() + " (" + p.Calendar + ")", Figures: []figure{
			count("members", f.Members),
			count("overdue_now", f.OverdueNow),
			{Field: "touched_on_time_rate", Text: percent(f.TouchedOnTimeRate), Value: jsonValue(f.TouchedOnTimeRate)},
			count("converted", f.Converted),
			{Field: "conversion_rate", Text: percent(f.ConversionRate), Value: jsonValue(f.ConversionRate)},
			median,
		}})
	}
	return out
}
