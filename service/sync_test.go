package service_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// syncVendor is an ATS as the sync reads it: its users, and its events after the
// cursor's time, in one page each.
type syncVendor struct {
	name   string
	users  []atssync.User
	events []interactions.Interaction

	mu     sync.Mutex
	passes int // pulls of "users", the first resource: one per pass
}

func (v *syncVendor) Name() string        { return v.name }
func (v *syncVendor) Resources() []string { return []string{"users", "applications"} }

func (v *syncVendor) Pull(_ context.Context, resource string, cur atssync.Cursor) (atssync.Page, error) {
	if resource == "users" {
		v.mu.Lock()
		v.passes++
		v.mu.Unlock()
		return atssync.Page{Users: v.users, Next: cur, Counts: map[string]int{atssync.CountUsers: len(v.users)}}, nil
	}
	page := atssync.Page{Next: cur}
	for _, e := range v.events {
		if e.OccurredAt.After(cur.Since) {
			page.Interactions = append(page.Interactions, e)
			page.Next = atssync.Cursor{Since: e.OccurredAt}
		}
	}
	page.Counts = map[string]int{atssync.CountApplicationsUpdated: len(page.Interactions)}
	return page, nil
}

func (v *syncVendor) passCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.passes
}

type connectorsBody struct {
	Connectors []struct {
		Vendor     string `json:"vendor"`
		Configured bool   `json:"configured"`
		LastPass   *struct {
			StartedAt  *string `json:"started_at"`
			FinishedAt *string `json:"finished_at"`
			Outcome    string  `json:"outcome"`
			Error      *string `json:"error"`
		} `json:"last_pass"`
		Cursor map[string]struct {
			Since string `json:"since"`
			Token string `json:"token"`
		} `json:"cursor"`
		Counts map[string]int `json:"counts"`
	} `json:"connectors"`
}

// TestConnectorsUnconfigured: with no vendor configured nothing syncs, and GET
// /v1/connectors lists the four vendors as not configured. It is admin's alone.
func TestConnectorsUnconfigured(t *testing.T) {
	srv := servicetest.Start(t, nil, service.Options{})
	r := srv.Do(t, http.MethodGet, "/v1/connectors", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/connectors: %d %s", r.Status, r.Body)
	}
	var body connectorsBody
	r.JSON(t, &body)
	var names []string
	for _, c := range body.Connectors {
		names = append(names, c.Vendor)
		if c.Configured || c.LastPass != nil || c.Cursor != nil || len(c.Counts) != 7 || c.Counts["missed_events_recovered"] != 0 {
			t.Errorf("%s: %s; want not configured, no pass, no cursor, seven zero counts", c.Vendor, r.Body)
		}
	}
	if want := []string{"lever", "greenhouse", "ashby", "workable"}; !slices.Equal(names, want) {
		t.Errorf("vendors %v, want %v", names, want)
	}
	for _, role := range []string{"ingest", "viewer"} {
		if r := srv.Do(t, http.MethodGet, "/v1/connectors", srv.NewKey(t, role, ""), nil); r.Status != http.StatusForbidden {
			t.Errorf("%s key: %d, want 403", role, r.Status)
		}
	}
	if r := srv.Do(t, http.MethodGet, "/v1/connectors", srv.NewKey(t, "recruiter", "ann"), nil); r.Status != http.StatusForbidden {
		t.Errorf("recruiter key: %d, want 403", r.Status)
	}
	if r := srv.Do(t, http.MethodGet, "/v1/connectors", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("no key: %d, want 401", r.Status)
	}
}

// TestSyncPasses: a configured vendor syncs every GOODWILL_SYNC_INTERVAL. Its users
// land in the directory as "<vendor>:<id>", and each pass sets name, email, active and
// manager again while a PUT's phone and team stay; its details_updated reach the
// timeline (with the job) and start no clock; /v1/connectors shows the pass.
func TestSyncPasses(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	v := &syncVendor{name: "lever",
		users: []atssync.User{
			{ID: "lever:u1", Name: "Ann Ats", Email: "ann@example.com", Active: true, ManagerID: "lever:u2"},
			{ID: "lever:u2", Name: "Bob Boss", Email: "bob@example.com", Active: true},
		},
		events: []interactions.Interaction{
			{ApplicationID: "lever:a1", CandidateID: "lever:c1", Kind: interactions.KindApplicationReceived,
				OccurredAt: now.Add(-2 * time.Hour), Source: "lever", ExternalID: "lever:recv:a1", JobID: "lever:j1"},
			{ApplicationID: "lever:a1", CandidateID: "lever:c1", Kind: interactions.KindDetailsUpdated,
				OccurredAt: now.Add(-time.Hour), Source: "lever", ExternalID: "sync:lever:details_updated:lever:a1:1",
				JobID: "lever:j1", RecruiterID: "lever:u1", Stage: "Phone screen",
				Candidate: &interactions.Person{Name: "Cleo Candidate", Email: "cleo@example.com"},
				Job:       &interactions.JobInfo{Title: "Engineer", Department: "R&D"}},
		},
	}
	srv := servicetest.Start(t, map[string]string{"GOODWILL_SYNC_INTERVAL": "1s"}, service.Options{SyncVendors: []atssync.Vendor{v}})
	admin := servicetest.AdminKey

	var body connectorsBody
	servicetest.Eventually(t, 10*time.Second, "a finished pass", func() bool {
		srv.Do(t, http.MethodGet, "/v1/connectors", admin, nil).JSON(t, &body)
		c := body.Connectors[0]
		return c.LastPass != nil && c.LastPass.Outcome != "running"
	})
	c := body.Connectors[0]
	if c.Vendor != "lever" || !c.Configured || c.LastPass.Outcome != "ok" || c.LastPass.StartedAt == nil || c.LastPass.FinishedAt == nil || c.LastPass.Error != nil {
		t.Errorf("lever connector %+v, last pass %+v: want configured, ok", c, c.LastPass)
	}
	if c.Counts["applications_updated"] != 2 || c.Counts["users"] < 2 || c.Cursor["applications"].Since != interactions.APITime(now.Add(-time.Hour)) {
		t.Errorf("counts %v, cursor %v", c.Counts, c.Cursor)
	}
	if g := body.Connectors[1]; g.Vendor != "greenhouse" || g.Configured {
		t.Errorf("greenhouse: %+v", body.Connectors[1])
	}
	exposed := string(srv.Do(t, http.MethodGet, "/metrics", "", nil).Body)
	for _, m := range []string{`goodwill_sync_passes_total{outcome="ok",vendor="lever"}`, `goodwill_sync_pages_total{resource="applications",vendor="lever"}`,
		`goodwill_sync_pass_seconds_count{vendor="lever"}`, `goodwill_sync_cursor_lag_seconds{resource="applications",vendor="lever"}`} {
		if !strings.Contains(exposed, m) {
			t.Errorf("/metrics has no %s", m)
		}
	}

	// The dashboard tells an admin how each configured sync is doing, and a viewer
	// nothing of it.
	dash := signedIn(t, srv, admin).get("/dashboard")
	if !strings.Contains(dash.Body, `data-connector="lever" data-outcome="ok"`) || !strings.Contains(dash.Body, "Lever sync: the last pass ended well") {
		t.Errorf("the admin's dashboard has no healthy Lever line:\n%s", dash.Body)
	}
	if strings.Contains(dash.Body, `data-connector="greenhouse"`) {
		t.Errorf("the admin's dashboard names a sync that is not configured")
	}
	if v := signedIn(t, srv, srv.NewKey(t, "viewer", "")).get("/dashboard"); v.Status != http.StatusOK || strings.Contains(v.Body, `id="connectors"`) {
		t.Errorf("a viewer's dashboard: %d, connectors shown: %v", v.Status, strings.Contains(v.Body, `id="connectors"`))
	}

	// The directory.
	var ann map[string]any
	srv.Do(t, http.MethodGet, "/v1/recruiters/lever:u1", admin, nil).JSON(t, &ann)
	if ann["name"] != "Ann Ats" || ann["email"] != "ann@example.com" || ann["active"] != true || ann["manager_id"] != "lever:u2" {
		t.Fatalf("lever:u1 = %v", ann)
	}
	put := map[string]any{"name": "Ann Admin", "email": "ann@admin.example", "phone": "+14155550100", "team": "Sales",
		"manager_id": "lever:u9", "active": false}
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/lever:u1", admin, put); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	after := v.passCount()
	servicetest.Eventually(t, 10*time.Second, "the next pass", func() bool { return v.passCount() > after+1 })
	srv.Do(t, http.MethodGet, "/v1/recruiters/lever:u1", admin, nil).JSON(t, &ann)
	if ann["name"] != "Ann Ats" || ann["email"] != "ann@example.com" || ann["active"] != true || ann["manager_id"] != "lever:u2" {
		t.Errorf("the ATS's fields were not set again: %v", ann)
	}
	if ann["phone"] != "+14155550100" || ann["team"] != "Sales" {
		t.Errorf("the admin's fields were lost: %v", ann)
	}

	// The timeline: details applied, listed, no clock from them.
	var tl struct {
		Application  map[string]any   `json:"application"`
		Interactions []map[string]any `json:"interactions"`
		Clocks       []map[string]any `json:"clocks"`
	}
	servicetest.Eventually(t, 5*time.Second, "the projected application", func() bool {
		r := srv.Do(t, http.MethodGet, "/v1/applications/lever:a1/timeline", admin, nil)
		if r.Status != http.StatusOK {
			return false
		}
		r.JSON(t, &tl)
		return tl.Application["recruiter_id"] == "lever:u1" && tl.Application["job"] != nil
	})
	job, _ := tl.Application["job"].(map[string]any)
	if job["title"] != "Engineer" || job["department"] != "R&D" || tl.Application["stage"] != "Phone screen" ||
		tl.Application["candidate_name"] != "Cleo Candidate" {
		t.Errorf("application %v", tl.Application)
	}
	if len(tl.Interactions) != 2 || tl.Interactions[1]["kind"] != "details_updated" || tl.Interactions[1]["direction"] != "internal" {
		t.Errorf("interactions %v", tl.Interactions)
	}
	var metrics []string
	for _, cl := range tl.Clocks {
		metrics = append(metrics, cl["metric"].(string)+"/"+cl["state"].(string))
	}
	if !slices.Equal(metrics, []string{"first_response/running"}) {
		t.Errorf("clocks %v: want first_response running alone (details are no contact, start no stage_stall)", metrics)
	}
}
