package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/goodwillhq/goodwill/alerts/email/mailtest"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// poolTimeline is what the tests read of GET /v1/candidates/{id}/timeline.
type poolTimeline struct {
	Candidate struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"candidate"`
	Pools []struct {
		PoolID        string   `json:"pool_id"`
		Active        bool     `json:"active"`
		Converted     bool     `json:"converted"`
		ApplicationID string   `json:"application_id"`
		DaysToConvert *float64 `json:"days_to_convert"`
	} `json:"pools"`
	Applications []struct {
		ID string `json:"id"`
	} `json:"applications"`
	Interactions []struct {
		Kind          string `json:"kind"`
		ApplicationID string `json:"application_id"`
	} `json:"interactions"`
	Clocks []clockView `json:"clocks"`
}

func candidateTimeline(t *testing.T, srv *servicetest.Instance, key, id string) (poolTimeline, int) {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/candidates/"+id+"/timeline", key, nil)
	var tl poolTimeline
	if r.Status == http.StatusOK {
		r.JSON(t, &tl)
	}
	return tl, r.Status
}

// nurtureClocks returns a candidate's nurture clocks: none while the candidate is not
// projected yet (404), so it can be polled right after a write.
func nurtureClocks(t *testing.T, srv *servicetest.Instance, id string) []clockView {
	t.Helper()
	tl, status := candidateTimeline(t, srv, servicetest.AdminKey, id)
	if status == http.StatusNotFound {
		return nil // not projected yet: no clocks so far
	}
	if status != http.StatusOK {
		t.Fatalf("timeline of %s: %d", id, status)
	}
	var out []clockView
	for _, c := range tl.Clocks {
		if c.Metric == "nurture" {
			out = append(out, c)
		}
	}
	return out
}

func postPool(t *testing.T, srv *servicetest.Instance, key string, in map[string]any, want int) map[string]any {
	t.Helper()
	r := srv.Do(t, http.MethodPost, "/v1/interactions", key, in)
	if r.Status != want {
		t.Fatalf("post %v: %d %s", in, r.Status, r.Body)
	}
	if want >= 300 {
		return nil
	}
	return r.Map(t)
}

func poolEvent(kind, pool, candidate string, at time.Time) map[string]any {
	return map[string]any{"kind": kind, "pool_id": pool, "candidate_id": candidate,
		"occurred_at": at.UTC().Format(time.RFC3339Nano)}
}

// TestPoolNurtureDoneMeans is the pool as a new user tries it: a 4-second cadence on
// the 24x7 calendar and two members. The untouched member's nurture clock breaches and
// alerts the pool's owner, by email; the one touched midway (a candidate-level
// message) is still open. The untouched member then applies: converted, and their
// clock stops.
func TestPoolNurtureDoneMeans(t *testing.T) {
	t.Parallel()
	mailbox := mailtest.Start(t, nil)
	srv := servicetest.Start(t, map[string]string{
		"GOODWILL_SMTP_URL": mailbox.URL(), "GOODWILL_EMAIL_FROM": "alerts@goodwill.example.com", "GOODWILL_PUBLIC_URL": alertsPublicURL,
	}, service.Options{})
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/olga", servicetest.AdminKey, map[string]any{
		"name": "Olga Owner", "email": "olga@example.com", "working_days": everyDay,
		"channels": map[string]any{"breached": []string{"email"}},
	}); r.Status != http.StatusCreated {
		t.Fatalf("recruiter: %d %s", r.Status, r.Body)
	}
	r := srv.Do(t, http.MethodPut, "/v1/pools/silver", servicetest.AdminKey, map[string]any{
		"name": "Silver medalists", "cadence": "4s", "calendar": "24x7", "owner_id": "olga", "warn_ratio": 1, "alerts": true,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("put pool: %d %s", r.Status, r.Body)
	}
	start := time.Now()
	for _, c := range []string{"cand-quiet", "cand-touched"} {
		in := poolEvent("pool_added", "silver", c, start)
		in["candidate"] = map[string]string{"name": "Name of " + c}
		postPool(t, srv, servicetest.AdminKey, in, http.StatusCreated)
	}
	servicetest.Eventually(t, time.Second, "the nurture clocks", func() bool {
		return len(nurtureClocks(t, srv, "cand-quiet")) == 1 && len(nurtureClocks(t, srv, "cand-touched")) == 1
	})
	if cs := nurtureClocks(t, srv, "cand-quiet"); len(cs) != 1 || cs[0].State != "running" || cs[0].PolicyID != "pool:silver" ||
		cs[0].DueAt.Sub(cs[0].WarnAt) != 0 {
		t.Fatalf("clocks after pool_added: %+v", cs)
	}
	// Midway, a candidate-level message to one of them.
	time.Sleep(2 * time.Second)
	postPool(t, srv, servicetest.AdminKey, map[string]any{"kind": "message", "direction": "outbound", "channel": "email",
		"candidate_id": "cand-touched", "occurred_at": time.Now().UTC().Format(time.RFC3339Nano)}, http.StatusCreated)

	servicetest.Eventually(t, 8*time.Second, "the untouched member's breach alert", func() bool {
		r := srv.Do(t, http.MethodGet, "/v1/alerts?recruiter_id=olga", servicetest.AdminKey, nil)
		return strings.Contains(string(r.Body), `"metric":"nurture"`) && strings.Contains(string(r.Body), "cand-quiet")
	})
	servicetest.Eventually(t, 5*time.Second, "the breach email to the owner", func() bool { return len(mailbox.Messages()) >= 1 })
	if m := mailbox.Messages()[0]; !strings.Contains(m.To, "olga@example.com") {
		t.Fatalf("email to %q", m.To)
	}
	quiet := nurtureClocks(t, srv, "cand-quiet")
	if len(quiet) != 1 || quiet[0].State != "breached" || quiet[0].StoppedAt != nil {
		t.Fatalf("untouched member's clocks: %+v", quiet)
	}
	touched := nurtureClocks(t, srv, "cand-touched")
	if len(touched) != 2 || touched[0].State != "met" || touched[1].StoppedAt != nil || !touched[1].DueAt.After(quiet[0].DueAt) ||
		(time.Now().Before(touched[1].DueAt) && touched[1].State == "breached") {
		t.Fatalf("touched member's clocks at the breach: %+v", touched)
	}
	r = srv.Do(t, http.MethodGet, "/v1/alerts?recruiter_id=olga", servicetest.AdminKey, nil)
	if strings.Contains(string(r.Body), "cand-touched") {
		t.Fatalf("the touched member alerted: %s", r.Body)
	}
	// The queue shows it to the owner.
	r = srv.Do(t, http.MethodGet, "/v1/sla/overdue?metric=nurture&recruiter_id=olga", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "nurture:cand-quiet") {
		t.Fatalf("overdue: %d %s", r.Status, r.Body)
	}

	// The untouched member applies: converted, and the clock stops.
	in := interaction("app-quiet", "quiet-applied")
	in["candidate_id"] = "cand-quiet"
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	postPool(t, srv, servicetest.AdminKey, in, http.StatusCreated)
	servicetest.Eventually(t, 5*time.Second, "the conversion", func() bool {
		tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "cand-quiet")
		return len(tl.Pools) == 1 && tl.Pools[0].Converted
	})
	tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "cand-quiet")
	if p := tl.Pools[0]; p.Active || p.ApplicationID != "app-quiet" || p.DaysToConvert == nil {
		t.Fatalf("membership %+v", p)
	}
	if len(tl.Applications) != 1 || tl.Candidate.Name != "Name of cand-quiet" {
		t.Fatalf("timeline %+v", tl)
	}
	quiet = nurtureClocks(t, srv, "cand-quiet")
	if len(quiet) != 1 || quiet[0].StoppedAt == nil || quiet[0].State != "breached" {
		t.Fatalf("clocks after applying: %+v", quiet)
	}
	var figures map[string]any
	servicetest.Eventually(t, 5*time.Second, "the pool's figures", func() bool {
		r := srv.Do(t, http.MethodGet, "/v1/pools/silver", servicetest.AdminKey, nil)
		figures = r.Map(t)
		return figures["converted"] == 1.0
	})
	if figures["members"] != 1.0 || figures["conversion_rate"] != 0.5 {
		t.Fatalf("figures %v", figures)
	}
	// The dashboard shows the pool.
	r = srv.Do(t, http.MethodGet, "/dashboard", servicetest.AdminKey, nil)
	if page := string(r.Body); r.Status != http.StatusOK || !strings.Contains(page, `data-pool="silver"`) || !strings.Contains(page, "Silver medalists") {
		t.Fatalf("dashboard: %d, no pool row", r.Status)
	}
}

// TestPoolsCRUD: create, replace, list, read with figures, and deletion: 409 while the
// pool has members, and force=true ends every membership.
func TestPoolsCRUD(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	put := func(id string, body any, want int) map[string]any {
		t.Helper()
		r := srv.Do(t, http.MethodPut, "/v1/pools/"+id, servicetest.AdminKey, body)
		if r.Status != want {
			t.Fatalf("PUT %s: %d %s", id, r.Status, r.Body)
		}
		return r.Map(t)
	}
	got := put("leads", map[string]any{"cadence": "42d"}, http.StatusCreated)
	if got["name"] != "leads" || got["calendar"] != "business" || got["warn_ratio"] != 0.75 || got["alerts"] != true || got["owner_id"] != nil {
		t.Fatalf("defaults: %v", got)
	}
	got = put("leads", map[string]any{"name": "Leads", "cadence": "10d", "calendar": "24x7", "owner_id": "olga", "alerts": false}, http.StatusOK)
	if got["cadence"] != "10d" || got["owner_id"] != "olga" || got["alerts"] != false {
		t.Fatalf("replaced: %v", got)
	}
	expectProblem(t, srv.Do(t, http.MethodPut, "/v1/pools/leads", servicetest.AdminKey, map[string]any{"calendar": "24x7"}), http.StatusBadRequest, "cadence")
	expectProblem(t, srv.Do(t, http.MethodPut, "/v1/pools/leads", servicetest.AdminKey, map[string]any{"cadence": "1x"}), http.StatusBadRequest, "cadence")
	expectProblem(t, srv.Do(t, http.MethodPut, "/v1/pools/leads", servicetest.AdminKey, map[string]any{"cadence": "1d", "bogus": 1}), http.StatusBadRequest, "bogus")
	expectProblem(t, srv.Do(t, http.MethodPut, "/v1/pools/Bad!", servicetest.AdminKey, map[string]any{"cadence": "1d"}), http.StatusBadRequest, "id")
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/pools/nope", servicetest.AdminKey, nil), http.StatusNotFound, "")
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/pools/leads?from=yesterday", servicetest.AdminKey, nil), http.StatusBadRequest, "from")

	// A pool_added naming an unknown pool creates it, quiet: 42d business, no owner.
	now := time.Now()
	postPool(t, srv, servicetest.AdminKey, poolEvent("pool_added", "leads", "c1", now), http.StatusCreated)
	postPool(t, srv, servicetest.AdminKey, poolEvent("pool_added", "prospects", "c2", now), http.StatusCreated)
	var list struct {
		Pools []map[string]any `json:"pools"`
	}
	servicetest.Eventually(t, time.Second, "the auto-created pool", func() bool {
		srv.Do(t, http.MethodGet, "/v1/pools", servicetest.AdminKey, nil).JSON(t, &list)
		return len(list.Pools) == 2
	})
	if p := list.Pools[1]; p["id"] != "prospects" || p["cadence"] != "42d" || p["calendar"] != "business" || p["alerts"] != false || p["owner_id"] != nil {
		t.Fatalf("auto-created pool: %v", p)
	}
	servicetest.Eventually(t, time.Second, "the member", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/pools/leads", servicetest.AdminKey, nil).Map(t)["members"] == 1.0
	})

	expectProblem(t, srv.Do(t, http.MethodDelete, "/v1/pools/leads", servicetest.AdminKey, nil), http.StatusConflict, "")
	if r := srv.Do(t, http.MethodDelete, "/v1/pools/leads?force=true", servicetest.AdminKey, nil); r.Status != http.StatusNoContent {
		t.Fatalf("forced delete: %d %s", r.Status, r.Body)
	}
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/pools/leads", servicetest.AdminKey, nil), http.StatusNotFound, "")
	servicetest.Eventually(t, time.Second, "the membership ended", func() bool {
		tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "c1")
		return len(tl.Pools) == 1 && !tl.Pools[0].Active
	})
	tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "c1")
	if n := len(tl.Interactions); n != 2 || tl.Interactions[1].Kind != "pool_removed" {
		t.Fatalf("interactions after a forced delete: %+v", tl.Interactions)
	}
	// An empty pool deletes without force.
	put("empty", map[string]any{"cadence": "1d"}, http.StatusCreated)
	if r := srv.Do(t, http.MethodDelete, "/v1/pools/empty", servicetest.AdminKey, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
}

// TestPoolsRecruiterKeys: a recruiter key writes pool events only on pools its
// recruiter owns, and candidate-level events only about candidates it can see (an
// application of theirs it may see, or a pool it owns); it lists and reads only its
// pools, and a candidate's timeline only when it can see them.
func TestPoolsRecruiterKeys(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	for _, rec := range []string{"rita", "sam"} {
		if r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+rec, servicetest.AdminKey, map[string]any{"name": rec}); r.Status != http.StatusCreated {
			t.Fatalf("recruiter: %d %s", r.Status, r.Body)
		}
	}
	for id, owner := range map[string]string{"ritas": "rita", "sams": "sam"} {
		if r := srv.Do(t, http.MethodPut, "/v1/pools/"+id, servicetest.AdminKey, map[string]any{"cadence": "5d", "owner_id": owner}); r.Status != http.StatusCreated {
			t.Fatalf("pool: %d %s", r.Status, r.Body)
		}
	}
	rita := srv.NewKey(t, "recruiter", "rita")
	// Sam's candidate, with an application of Sam's.
	in := interaction("app-sam", "sam-received")
	in["candidate_id"], in["recruiter_id"] = "cand-sam", "sam"
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	postPool(t, srv, servicetest.AdminKey, in, http.StatusCreated)
	servicetest.Eventually(t, time.Second, "Sam's application", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/applications/app-sam/timeline", servicetest.AdminKey, nil).Status == http.StatusOK
	})
	now := time.Now()
	msg := func(cand string) map[string]any {
		return map[string]any{"kind": "message", "direction": "outbound", "candidate_id": cand, "occurred_at": now.UTC().Format(time.RFC3339Nano)}
	}

	// A new prospect into her own pool: fine; into Sam's: 404.
	postPool(t, srv, rita, poolEvent("pool_added", "ritas", "cand-new", now), http.StatusCreated)
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/interactions", rita, poolEvent("pool_added", "sams", "cand-new2", now)), http.StatusNotFound, "pool_id")
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/interactions", rita, poolEvent("pool_added", "nope", "cand-new2", now)), http.StatusNotFound, "pool_id")
	// Sam's candidate, whom she cannot see: not into her pool, no message.
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/interactions", rita, poolEvent("pool_added", "ritas", "cand-sam", now)), http.StatusNotFound, "candidate_id")
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/interactions", rita, msg("cand-sam")), http.StatusNotFound, "candidate_id")
	// A stranger: no candidate-level message either.
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/interactions", rita, msg("cand-stranger")), http.StatusNotFound, "candidate_id")
	// Her pool's member: a message is fine, as herself.
	servicetest.Eventually(t, time.Second, "the member", func() bool {
		tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "cand-new")
		return len(tl.Pools) == 1
	})
	stored := postPool(t, srv, rita, msg("cand-new"), http.StatusCreated)
	if stored["actor_id"] != "rita" {
		t.Fatalf("stored %v", stored)
	}
	// Her member applies, through her key: the application is hers.
	applied := interaction("app-new", "new-applied")
	applied["candidate_id"], applied["occurred_at"] = "cand-new", now.UTC().Format(time.RFC3339Nano)
	if stored := postPool(t, srv, rita, applied, http.StatusCreated); stored["recruiter_id"] != "rita" {
		t.Fatalf("stored %v", stored)
	}

	// Lists and reads: her pool only; timelines: her member, not Sam's candidate.
	var list struct {
		Pools []struct{ ID string } `json:"pools"`
	}
	srv.Do(t, http.MethodGet, "/v1/pools", rita, nil).JSON(t, &list)
	if len(list.Pools) != 1 || list.Pools[0].ID != "ritas" {
		t.Fatalf("rita's pools: %+v", list.Pools)
	}
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/pools/sams", rita, nil), http.StatusNotFound, "")
	if r := srv.Do(t, http.MethodGet, "/v1/pools/ritas", rita, nil); r.Status != http.StatusOK {
		t.Fatalf("her pool: %d %s", r.Status, r.Body)
	}
	expectProblem(t, srv.Do(t, http.MethodPut, "/v1/pools/ritas", rita, map[string]any{"cadence": "1d"}), http.StatusForbidden, "")
	if _, status := candidateTimeline(t, srv, rita, "cand-new"); status != http.StatusOK {
		t.Fatalf("her member's timeline: %d", status)
	}
	if _, status := candidateTimeline(t, srv, rita, "cand-sam"); status != http.StatusNotFound {
		t.Fatalf("Sam's candidate's timeline: %d", status)
	}
	if _, status := candidateTimeline(t, srv, servicetest.AdminKey, "cand-nobody"); status != http.StatusNotFound {
		t.Fatalf("an unknown candidate's timeline: %d", status)
	}
	// Nurture documents are no applications.
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/applications/nurture:cand-new/timeline", servicetest.AdminKey, nil), http.StatusNotFound, "")
}

// TestBrowserPoolsPanel: the dashboard's Pools panel shows each pool's members,
// overdue touches and conversions, as GET /v1/pools/{id} gives them.
func TestBrowserPoolsPanel(t *testing.T) {
	t.Parallel()
	browser := startChromium(t)
	srv := servicetest.Start(t, nil, service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/pools/silver", servicetest.AdminKey, map[string]any{
		"name": "Silver medalists", "cadence": "2d", "calendar": "24x7",
	}); r.Status != http.StatusCreated {
		t.Fatalf("pool: %d %s", r.Status, r.Body)
	}
	now := time.Now().UTC()
	for i, c := range []string{"ann", "bob", "cyd"} {
		postPool(t, srv, servicetest.AdminKey, poolEvent("pool_added", "silver", c, now.Add(-time.Duration(5-i)*24*time.Hour)), http.StatusCreated)
	}
	// Bob was touched yesterday; Cyd applied.
	postPool(t, srv, servicetest.AdminKey, map[string]any{"kind": "call", "direction": "outbound", "candidate_id": "bob",
		"occurred_at": now.Add(-24 * time.Hour).Format(time.RFC3339Nano)}, http.StatusCreated)
	in := interaction("app-cyd", "cyd-applied")
	in["candidate_id"], in["occurred_at"] = "cyd", now.Add(-time.Hour).Format(time.RFC3339Nano)
	postPool(t, srv, servicetest.AdminKey, in, http.StatusCreated)
	var api map[string]any
	servicetest.Eventually(t, time.Second, "the pool's figures", func() bool {
		api = srv.Do(t, http.MethodGet, "/v1/pools/silver", servicetest.AdminKey, nil).Map(t)
		return api["converted"] == 1.0 && api["members"] == 2.0
	})
	if api["overdue_now"] != 1.0 {
		t.Fatalf("figures %v", api)
	}

	b := newTab(t, browser, srv.URL)
	b.signIn("/dashboard", servicetest.AdminKey, "/dashboard")
	row := b.figures(`#pools-table tr[data-pool="silver"]`)
	for _, field := range []string{"members", "overdue_now", "touched_on_time_rate", "converted", "conversion_rate", "median_days_to_convert"} {
		want := ""
		if v := api[field]; v != nil {
			want = jsonNumber(v)
		}
		if row[field] != want {
			t.Errorf("the panel shows %s = %q, the API %q", field, row[field], want)
		}
	}
	if name := b.text(`#pools-table tr[data-pool="silver"] th`); name != "Silver medalists" {
		t.Errorf("the pool is named %q", name)
	}
	b.screenshot("dashboard-pools")
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestPoolsQueue: a breached nurture clock shows in its pool owner's queue as "Nurture
// due", and logging a reply there records a candidate-level touch that restarts it.
func TestPoolsQueue(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/olga", servicetest.AdminKey, map[string]any{"name": "Olga"}); r.Status != http.StatusCreated {
		t.Fatalf("recruiter: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/v1/pools/silver", servicetest.AdminKey, map[string]any{
		"cadence": "1s", "calendar": "24x7", "owner_id": "olga", "warn_ratio": 1,
	}); r.Status != http.StatusCreated {
		t.Fatalf("pool: %d %s", r.Status, r.Body)
	}
	postPool(t, srv, servicetest.AdminKey, poolEvent("pool_added", "silver", "cand-q", time.Now()), http.StatusCreated)
	olga := srv.NewKey(t, "recruiter", "olga")
	b := newBrowser(t, srv)
	b.signIn(olga)
	var row *html.Node
	servicetest.Eventually(t, 3*time.Second, "the nurture row in Olga's queue", func() bool {
		row = queueRows(t, b.get("/queue"), "overdue")["nurture:cand-q"]
		return row != nil
	})
	if got := textOf(cell(t, row, "metric")); !strings.Contains(got, "Nurture due") {
		t.Fatalf("the row reads %q", got)
	}
	reply := fieldsOf(findAll(row, withAttr("data-testid", "reply-form"))[0])
	reply.Set("channel", "email")
	if p := b.post("/queue/reply", reply); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location(), "/queue?notice=reply-") {
		t.Fatalf("reply: %d to %q: %s", p.Status, p.Location(), p.Body)
	}
	servicetest.Eventually(t, time.Second, "the touch", func() bool {
		tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "cand-q")
		return len(tl.Interactions) == 2
	})
	tl, _ := candidateTimeline(t, srv, servicetest.AdminKey, "cand-q")
	if last := tl.Interactions[1]; last.Kind != "message" || last.ApplicationID != "" || len(tl.Clocks) != 2 || tl.Clocks[0].StoppedAt == nil {
		t.Fatalf("the reply was stored as %+v, clocks %+v", last, tl.Clocks)
	}
}
