package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestPoolEventsOutOfOrder: a pool_added that reaches goodwill after events that
// happened after it (a sync storing an older membership) sees them. A contact posted
// before the pool_added, but made after it, restarts the nurture clock, which stays
// open; an application posted before the pool_added converts the membership when it
// was made after it, and not when it was made before.
func TestPoolEventsOutOfOrder(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/pools/late", servicetest.AdminKey, map[string]any{
		"cadence": "2d", "calendar": "24x7",
	}); r.Status != http.StatusCreated {
		t.Fatalf("put pool: %d %s", r.Status, r.Body)
	}
	now := time.Now().UTC()
	day := func(d float64) string {
		return now.Add(time.Duration(d * 24 * float64(time.Hour))).Format(time.RFC3339Nano)
	}
	event := func(kind, app, cand, at string) map[string]any {
		in := map[string]any{"kind": kind, "application_id": app, "candidate_id": cand, "occurred_at": at}
		if kind == "message" {
			in["direction"], in["channel"] = "outbound", "email"
		}
		return in
	}
	// Applied ten days ago, contacted yesterday; pooled three days ago, posted last.
	postPool(t, srv, servicetest.AdminKey, event("application_received", "app-touched", "cand-touched", day(-10)), http.StatusCreated)
	postPool(t, srv, servicetest.AdminKey, event("message", "app-touched", "cand-touched", day(-1)), http.StatusCreated)
	// Applied yesterday; pooled three days ago, posted after.
	postPool(t, srv, servicetest.AdminKey, event("application_received", "app-applied", "cand-applied", day(-1)), http.StatusCreated)
	for _, c := range []string{"cand-touched", "cand-applied"} {
		// Posted once the application is projected, as a later sync pass would.
		servicetest.Eventually(t, 5*time.Second, c+"'s application", func() bool {
			tl, status := candidateTimeline(t, srv, servicetest.AdminKey, c)
			return status == http.StatusOK && len(tl.Applications) == 1
		})
		postPool(t, srv, servicetest.AdminKey, poolEvent("pool_added", "late", c, now.AddDate(0, 0, -3)), http.StatusCreated)
	}

	servicetest.Eventually(t, 5*time.Second, "the touched candidate's nurture clocks", func() bool {
		return len(nurtureClocks(t, srv, "cand-touched")) == 2
	})
	cs := nurtureClocks(t, srv, "cand-touched")
	var states []string
	for _, c := range cs {
		states = append(states, c.State)
	}
	open := cs[len(cs)-1]
	if len(cs) != 2 || cs[0].State != "met" || open.State != "running" || open.StoppedAt != nil || !open.DueAt.After(now) {
		t.Fatalf("nurture clocks of the touched candidate: %v %+v", states, cs)
	}
	tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "cand-touched")
	if len(tl.Pools) != 1 || !tl.Pools[0].Active || tl.Pools[0].Converted {
		t.Fatalf("an application made before pool_added converted the membership: %+v", tl.Pools)
	}

	servicetest.Eventually(t, 5*time.Second, "the applied candidate's conversion", func() bool {
		tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "cand-applied")
		return len(tl.Pools) == 1 && tl.Pools[0].Converted && tl.Pools[0].ApplicationID == "app-applied"
	})
	if cs := nurtureClocks(t, srv, "cand-applied"); len(cs) != 1 || cs[0].State != "canceled" || cs[0].StoppedAt == nil {
		t.Fatalf("nurture clocks of the applied candidate: %+v", cs)
	}
}
