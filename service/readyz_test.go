package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// readyz returns /readyz's answer, failing the test unless it is 200 with a boolean
// detecting.
func readyz(t *testing.T, srv *servicetest.Instance) bool {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/readyz", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	var body map[string]any
	r.JSON(t, &body)
	detecting, ok := body["detecting"].(bool)
	if !ok || body["status"] != "ready" {
		t.Fatalf("readyz body %s: want status ready and a boolean detecting", r.Body)
	}
	return detecting
}

// TestReadyzDetecting: /readyz says whether clocks due are detected. Right after a
// restart on a store with an open clock, it answers while the clocks are rebuilt;
// detecting, once true, stays true, and then the clock that existed before the stop
// and falls due after the restart is in the schedule: it breaches and alerts.
func TestReadyzDetecting(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	if !readyz(t, srv) {
		t.Fatal("a started server with no open clock is not detecting")
	}
	r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{
		"name": "fast", "metric": "first_response", "target": "3s", "calendar": "24x7", "warn_ratio": 0.5, "enabled": true,
	})
	if r.Status != http.StatusOK {
		t.Fatalf("put policy: %d %s", r.Status, r.Body)
	}
	in := interaction("ready-app", "ready-1")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "rec-ready"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	running, _ := waitState(t, srv, "ready-app", "first_response", "running", 2*time.Second)

	srv.RestartServing(t)
	var seen []bool
	servicetest.Eventually(t, 15*time.Second, "detecting after the restart", func() bool {
		seen = append(seen, readyz(t, srv))
		return seen[len(seen)-1]
	})
	for i := 0; i < 20; i++ { // once true, it stays true
		if !readyz(t, srv) {
			t.Fatalf("detecting fell back to false after %v", seen)
		}
	}
	if time.Now().After(running.DueAt) {
		t.Logf("the restart took until after the deadline (%s): the breach is recorded as missed while down", running.DueAt)
	}
	// In the schedule: the overdue queue (the engine's memory) lists it once due, and
	// it alerts.
	servicetest.Eventually(t, 10*time.Second, "the breach in the overdue queue", func() bool {
		var q struct {
			Items []struct {
				ClockID string `json:"clock_id"`
			}
		}
		srv.Do(t, http.MethodGet, "/v1/sla/overdue?state=breached", servicetest.AdminKey, nil).JSON(t, &q)
		return len(q.Items) == 1 && q.Items[0].ClockID == running.ClockID
	})
	servicetest.Eventually(t, 10*time.Second, "the breach alert", func() bool {
		_, ok := alertOf(t, srv, "ready-app", "breached")
		return ok
	})
}
