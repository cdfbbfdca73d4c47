package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

type clockView struct {
	ClockID   string     `json:"clock_id"`
	Metric    string     `json:"metric"`
	State     string     `json:"state"`
	PolicyID  string     `json:"policy_id"`
	WarnAt    time.Time  `json:"warn_at"`
	DueAt     time.Time  `json:"due_at"`
	StoppedAt *time.Time `json:"stopped_at"`
	Explain   []string   `json:"explain"`
}

func clocksOf(t *testing.T, srv *servicetest.Instance, app string) []clockView {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/applications/"+app+"/sla", servicetest.AdminKey, nil)
	if r.Status == http.StatusNotFound {
		return nil
	}
	if r.Status != http.StatusOK {
		t.Fatalf("sla: %d %s", r.Status, r.Body)
	}
	var out struct{ Clocks []clockView }
	r.JSON(t, &out)
	return out.Clocks
}

// waitState polls an application's clock of a metric until it reaches state, and
// returns when that was observed.
func waitState(t *testing.T, srv *servicetest.Instance, app, metric, state string, timeout time.Duration) (clockView, time.Time) {
	t.Helper()
	var found clockView
	servicetest.Eventually(t, timeout, metric+" "+state, func() bool {
		for _, c := range clocksOf(t, srv, app) {
			if c.Metric == metric && c.State == state {
				found = c
				return true
			}
		}
		return false
	})
	return found, time.Now()
}

// TestSLAWarningThenBreach: a 24x7 first-response policy of four seconds; the clock
// warns and breaches on time, through a restart in between.
func TestSLAWarningThenBreach(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{
		"name": "fast", "metric": "first_response", "target": "4s", "calendar": "24x7", "warn_ratio": 0.5, "enabled": true,
	})
	if r.Status != http.StatusOK {
		t.Fatalf("put policy: %d %s", r.Status, r.Body)
	}
	in := interaction("s-app", "s1")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["candidate"] = map[string]string{"name": "Katherine Johnson"}
	in["recruiter_id"] = "rec-s"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	running, _ := waitState(t, srv, "s-app", "first_response", "running", time.Second)
	if running.PolicyID != "first_response" || running.DueAt.Sub(running.WarnAt) != 2*time.Second {
		t.Fatalf("clock %+v", running)
	}
	warn, seen := waitState(t, srv, "s-app", "first_response", "warning", 5*time.Second)
	if late := seen.Sub(warn.WarnAt); late > time.Second {
		t.Fatalf("warning seen %s after its time", late)
	}
	srv.Restart(t) // nothing is lost across a restart
	breach, seen := waitState(t, srv, "s-app", "first_response", "breached", 5*time.Second)
	if late := seen.Sub(breach.DueAt); late > time.Second {
		t.Fatalf("breach seen %s after its time", late)
	}
	var q struct {
		Items []struct {
			ClockID        string `json:"clock_id"`
			State          string `json:"state"`
			CandidateName  string `json:"candidate_name"`
			RecruiterID    string `json:"recruiter_id"`
			OverdueSeconds int64  `json:"overdue_seconds"`
		}
	}
	srv.Do(t, http.MethodGet, "/v1/sla/overdue?state=breached", servicetest.AdminKey, nil).JSON(t, &q)
	if len(q.Items) != 1 || q.Items[0].ClockID != breach.ClockID || q.Items[0].CandidateName != "Katherine Johnson" || q.Items[0].RecruiterID != "rec-s" {
		t.Fatalf("overdue %+v", q.Items)
	}

	// A reply stops the clock: it stays breached, stopped, and leaves the queue.
	reply := map[string]any{"application_id": "s-app", "candidate_id": "cand-s-app", "kind": "message",
		"direction": "outbound", "occurred_at": time.Now().UTC().Format(time.RFC3339Nano)}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, reply); r.Status != http.StatusCreated {
		t.Fatalf("reply: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 2*time.Second, "the stopped clock", func() bool {
		for _, c := range clocksOf(t, srv, "s-app") {
			if c.ClockID == breach.ClockID {
				return c.State == "breached" && c.StoppedAt != nil
			}
		}
		return false
	})
	srv.Do(t, http.MethodGet, "/v1/sla/overdue", servicetest.AdminKey, nil).JSON(t, &q)
	for _, it := range q.Items {
		if it.ClockID == breach.ClockID {
			t.Fatalf("a stopped clock is still overdue: %+v", it)
		}
	}
}

func TestSLAPoliciesAndCalendar(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, map[string]string{"GOODWILL_TIMEZONE": "Europe/Berlin", "GOODWILL_HOLIDAYS": "DE"}, service.Options{})
	var list struct {
		Policies []struct {
			ID      string `json:"id"`
			Metric  string `json:"metric"`
			Target  string `json:"target"`
			BuiltIn bool   `json:"built_in"`
		}
	}
	srv.Do(t, http.MethodGet, "/v1/sla/policies", servicetest.AdminKey, nil).JSON(t, &list)
	if len(list.Policies) != 8 {
		t.Fatalf("built-in policies: %+v", list.Policies)
	}
	var cal map[string]any
	srv.Do(t, http.MethodGet, "/v1/calendar", servicetest.AdminKey, nil).JSON(t, &cal)
	if cal["timezone"] != "Europe/Berlin" || cal["holidays"] != "DE" {
		t.Fatalf("seeded calendar %v", cal)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		// Validation names the field.
		{"bad target", "PUT", "/v1/sla/policies/p1", `{"metric":"reply","target":"soon","enabled":true}`, 400, "target"},
		{"bad metric", "PUT", "/v1/sla/policies/p1", `{"metric":"vibes","target":"1d","enabled":true}`, 400, "metric"},
		{"id mismatch", "PUT", "/v1/sla/policies/p1", `{"id":"p2","metric":"reply","target":"1d"}`, 400, "id"},
		{"built-in keeps metric", "PUT", "/v1/sla/policies/reply", `{"metric":"closure","target":"1d"}`, 400, "metric"},
		{"bad zone", "PUT", "/v1/calendar", `{"timezone":"Mars/Base","hours":{"mon":[["09:00","17:00"]]}}`, 400, "timezone"},
		{"bad hours", "PUT", "/v1/calendar", `{"timezone":"UTC","hours":{"mon":[["17:00","09:00"]]}}`, 400, "hours.mon[0]"},
		// Built-in policies cannot be deleted; unknown ones are 404.
		{"delete built-in", "DELETE", "/v1/sla/policies/reply", nil, 409, ""},
		{"delete unknown", "DELETE", "/v1/sla/policies/nope", nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectProblem(t, srv.Do(t, tc.method, tc.path, servicetest.AdminKey, tc.body), tc.status, tc.field)
		})
	}
	// A scoped policy can be created and deleted.
	r := srv.Do(t, http.MethodPut, "/v1/sla/policies/eng-reply", servicetest.AdminKey,
		`{"metric":"reply","target":"4h","scope":{"departments":["Engineering"]},"enabled":true}`)
	if r.Status != http.StatusOK || r.Map(t)["calendar"] != "business" {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodDelete, "/v1/sla/policies/eng-reply", servicetest.AdminKey, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	// A new calendar replaces the old one.
	r = srv.Do(t, http.MethodPut, "/v1/calendar", servicetest.AdminKey,
		`{"timezone":"America/New_York","hours":{"mon":[["09:00","12:00"],["13:00","17:00"]],"tue":[["09:00","17:00"]]},"holidays":"US","extra_holidays":["2026-12-24"]}`)
	if r.Status != http.StatusOK || r.Map(t)["timezone"] != "America/New_York" {
		t.Fatalf("put calendar: %d %s", r.Status, r.Body)
	}
}

// TestSLAPreview: a preview says which open clocks a change would move and changes
// nothing.
func TestSLAPreview(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	in := interaction("p-app", "p1")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in)
	before, _ := waitState(t, srv, "p-app", "first_response", "running", 2*time.Second)
	r := srv.Do(t, http.MethodPost, "/v1/sla/preview", servicetest.AdminKey,
		`{"policy":{"id":"first_response","metric":"first_response","target":"1d","calendar":"24x7","enabled":true}}`)
	if r.Status != http.StatusOK {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	var p struct {
		Moved  int
		Clocks []struct{ Before, After clockView }
	}
	r.JSON(t, &p)
	if p.Moved != 1 || len(p.Clocks) != 1 || !p.Clocks[0].Before.DueAt.Equal(before.DueAt) || p.Clocks[0].After.DueAt.Equal(before.DueAt) {
		t.Fatalf("preview %s", r.Body)
	}
	after, _ := waitState(t, srv, "p-app", "first_response", "running", time.Second)
	if !after.DueAt.Equal(before.DueAt) {
		t.Fatal("the preview changed the clock")
	}
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/sla/preview", servicetest.AdminKey, `{}`), http.StatusBadRequest, "body")
}
