package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestSLAPolicyChangeKeepsClosedClocks: over HTTP, a first response met under a
// two-day policy stays met, with its due time, after the policy shrinks to two
// seconds; a clock still open moves, its now-past warning and breach alert nobody;
// a restart keeps all of it.
func TestSLAPolicyChangeKeepsClosedClocks(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	policy := func(target string) {
		t.Helper()
		r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{
			"metric": "first_response", "target": target, "calendar": "24x7", "warn_ratio": 0.75, "enabled": true,
		})
		if r.Status != http.StatusOK {
			t.Fatalf("put policy: %d %s", r.Status, r.Body)
		}
	}
	post := func(app, kind, direction string, at time.Time) {
		t.Helper()
		in := map[string]any{"application_id": app, "candidate_id": "cand-" + app, "kind": kind,
			"occurred_at": at.UTC().Format(time.RFC3339Nano), "recruiter_id": "rec-h"}
		if direction != "" {
			in["direction"] = direction
		}
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
	}
	policy("2d")
	// A clock is decided by the version in force when it stopped: the reply comes after
	// the two-day policy was saved (the application, three hours before).
	now := time.Now().UTC().Truncate(time.Millisecond)
	received := now.Add(-3 * time.Hour)
	post("h-met", "application_received", "", received)
	post("h-met", "message", "outbound", now)
	post("h-open", "application_received", "", now)
	met, _ := waitState(t, srv, "h-met", "first_response", "met", 2*time.Second)
	open, _ := waitState(t, srv, "h-open", "first_response", "running", 2*time.Second)
	if !met.DueAt.Equal(received.Add(48 * time.Hour)) {
		t.Fatalf("met clock due %v", met.DueAt)
	}

	time.Sleep(time.Until(now.Add(2500 * time.Millisecond)))
	policy("2s") // the open clock's warning and breach are now in the past
	check := func(when string) {
		t.Helper()
		if c := clockByID(t, srv, "h-met", met.ClockID); c.State != "met" || !c.DueAt.Equal(met.DueAt) || !c.WarnAt.Equal(met.WarnAt) {
			t.Errorf("%s: the met clock moved: %+v", when, c)
		}
		if c := clockByID(t, srv, "h-open", open.ClockID); c.State != "breached" || c.StoppedAt != nil || !c.DueAt.Equal(now.Add(2*time.Second)) {
			t.Errorf("%s: the open clock did not move: %+v", when, c)
		}
		var list struct{ Alerts []map[string]any }
		srv.Do(t, http.MethodGet, "/v1/alerts", servicetest.AdminKey, nil).JSON(t, &list)
		if len(list.Alerts) != 0 {
			t.Errorf("%s: transitions moved into the past alerted: %v", when, list.Alerts)
		}
	}
	check("after the change")
	srv.Restart(t)
	check("after a restart")
}

// clockByID returns an application's clock by id, failing if there is none.
func clockByID(t *testing.T, srv *servicetest.Instance, app, id string) clockView {
	t.Helper()
	for _, c := range clocksOf(t, srv, app) {
		if c.ClockID == id {
			return c
		}
	}
	t.Fatalf("%s has no clock %s", app, id)
	return clockView{}
}
