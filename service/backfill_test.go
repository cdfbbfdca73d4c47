package service_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/lever"
	"github.com/goodwillhq/goodwill/webhooks/lever/levertest"
)

type backfillBody struct {
	ID           string  `json:"id"`
	State        string  `json:"state"`
	Since        string  `json:"since"`
	Pages        int     `json:"pages"`
	Applications int     `json:"applications"`
	Events       int     `json:"events"`
	StartedAt    *string `json:"started_at"`
	FinishedAt   *string `json:"finished_at"`
	Error        *string `json:"error"`
}

var leverFixture = filepath.Join("..", "webhooks", "lever", "testdata", "sync", "lever.json")

// startBackfill posts a backfill of vendor from since and returns its id.
func startBackfill(t *testing.T, srv *servicetest.Instance, vendor, since string) string {
	t.Helper()
	r := srv.Do(t, http.MethodPost, "/v1/connectors/"+vendor+"/backfill", servicetest.AdminKey, map[string]string{"since": since})
	if r.Status != http.StatusAccepted {
		t.Fatalf("backfill: %d %s", r.Status, r.Body)
	}
	var out struct{ ID string }
	r.JSON(t, &out)
	if out.ID == "" || r.Header.Get("Location") != "/v1/connectors/"+vendor+"/backfills/"+out.ID {
		t.Fatalf("backfill: id %q, Location %q", out.ID, r.Header.Get("Location"))
	}
	return out.ID
}

// waitBackfill waits until the backfill is no longer running and returns it.
func waitBackfill(t *testing.T, srv *servicetest.Instance, vendor, id string, timeout time.Duration) backfillBody {
	t.Helper()
	var b backfillBody
	servicetest.Eventually(t, timeout, "the backfill's end", func() bool {
		r := srv.Do(t, http.MethodGet, "/v1/connectors/"+vendor+"/backfills/"+id, servicetest.AdminKey, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("get backfill: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &b)
		return b.State != "running"
	})
	return b
}

// kindsOf counts an application's timeline entries by kind ("" when it is unknown).
func kindsOf(t *testing.T, srv *servicetest.Instance, app string) map[string]int {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/applications/"+app+"/timeline", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		return nil
	}
	var tl struct {
		Interactions []struct{ Kind string } `json:"interactions"`
	}
	r.JSON(t, &tl)
	out := map[string]int{}
	for _, in := range tl.Interactions {
		out[in.Kind]++
	}
	return out
}

// historyKinds are the timeline of one levertest.History opportunity: five events and
// its details, each once.
var historyKinds = map[string]int{"application_received": 1, "stage_changed": 2, "interview_scheduled": 1, "rejected": 1, "details_updated": 1}

func sameKinds(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, n := range a {
		if b[k] != n {
			return false
		}
	}
	return true
}

// TestBackfillLever: POST /v1/connectors/lever/backfill brings in, at Lever's rate
// limit and beside the regular passes, the opportunities older than the first pass's
// lookback, each event once even where the regular pass read the same opportunity, and
// none of that history alerts, though a clock it started is long breached.
func TestBackfillLever(t *testing.T) {
	fake := levertest.Start(t, leverFixture)
	fake.AddHistory("old", 12, time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC), 24*time.Hour)
	fake.AddHistory("new", 3, time.Now().Add(-10*24*time.Hour), time.Hour) // within the lookback too
	waiting := levertest.Opportunity("old", 11)
	fake.Edit(func(a *levertest.Account) { // never answered: its first response is long breached
		last := len(a.Opportunities) - 4
		var o map[string]any
		if err := json.Unmarshal(a.Opportunities[last], &o); err != nil || o["id"] != waiting {
			t.Fatalf("opportunity %d: %v %v", last, o["id"], err)
		}
		delete(o, "archived")
		a.Opportunities[last], _ = json.Marshal(o)
		delete(a.Interviews, waiting)
	})
	env := map[string]string{
		"GOODWILL_SYNC_INTERVAL": "1h",
		"GOODWILL_LEVER_API_KEY": levertest.Key,
		"GOODWILL_LEVER_API_URL": fake.URL(),
	}
	srv := servicetest.Start(t, env, service.Options{})
	const admin = servicetest.AdminKey

	var cons connectorsBody
	servicetest.Eventually(t, 30*time.Second, "the first Lever pass", func() bool {
		srv.Do(t, http.MethodGet, "/v1/connectors", admin, nil).JSON(t, &cons)
		p := cons.Connectors[0].LastPass
		return p != nil && p.Outcome != "running"
	})
	if p := cons.Connectors[0].LastPass; p.Outcome != "ok" {
		t.Fatalf("the first pass: %+v", p)
	}
	if k := kindsOf(t, srv, "lever:"+levertest.Opportunity("old", 0)); k != nil {
		t.Fatalf("the first pass read history older than its lookback: %v", k)
	}
	servicetest.Eventually(t, 10*time.Second, "the first pass's applications", func() bool {
		return sameKinds(kindsOf(t, srv, "lever:"+levertest.Opportunity("new", 0)), historyKinds)
	})

	id := startBackfill(t, srv, "lever", "2025-01-01")
	b := waitBackfill(t, srv, "lever", id, 60*time.Second)
	if b.State != "done" || b.Since != "2025-01-01T00:00:00.000Z" || b.Error != nil || b.FinishedAt == nil || b.StartedAt == nil {
		t.Fatalf("backfill %+v", b)
	}
	// users, then the fixture's 5 opportunities and the 15 added, in one page each
	if b.Pages != 2 || b.Applications != 20 || b.Events < 14*5+3 {
		t.Errorf("backfill counts %+v", b)
	}
	for _, app := range []string{levertest.Opportunity("old", 0), levertest.Opportunity("old", 10), levertest.Opportunity("new", 0), levertest.Opportunity("new", 2)} {
		servicetest.Eventually(t, 10*time.Second, app+"'s events, each once", func() bool {
			return sameKinds(kindsOf(t, srv, "lever:"+app), historyKinds)
		})
	}

	breached := false
	for _, c := range clocksOf(t, srv, "lever:"+waiting) {
		breached = breached || (c.Metric == "first_response" && c.State == "breached")
	}
	if !breached {
		t.Errorf("%s: no breached first response: %+v", waiting, clocksOf(t, srv, "lever:"+waiting))
	}
	time.Sleep(time.Second) // the alerts pipeline's intake
	var alerts struct{ Alerts []map[string]any }
	srv.Do(t, http.MethodGet, "/v1/alerts", admin, nil).JSON(t, &alerts)
	if len(alerts.Alerts) != 0 {
		t.Errorf("history alerted: %d alerts, the first %v", len(alerts.Alerts), alerts.Alerts[0])
	}

	// A second backfill of the same range stores nothing new; while it runs, another
	// is a conflict naming it, and it can be canceled.
	again := startBackfill(t, srv, "lever", "2025-01-01T00:00:00Z")
	r := srv.Do(t, http.MethodPost, "/v1/connectors/lever/backfill", admin, map[string]string{"since": "2025-06-01"})
	if r.Status != http.StatusConflict || r.Header.Get("Location") != "/v1/connectors/lever/backfills/"+again || !strings.Contains(string(r.Body), again) {
		t.Errorf("a second backfill while one runs: %d %v %s", r.Status, r.Header, r.Body)
	}
	r = srv.Do(t, http.MethodDelete, "/v1/connectors/lever/backfills/"+again, admin, nil)
	var canceled backfillBody
	r.JSON(t, &canceled)
	if r.Status != http.StatusOK || canceled.State != "canceled" || canceled.FinishedAt == nil {
		t.Errorf("cancel: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodDelete, "/v1/connectors/lever/backfills/"+again, admin, nil); r.Status != http.StatusOK {
		t.Errorf("cancel again: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodDelete, "/v1/connectors/lever/backfills/"+id, admin, nil); r.Status != http.StatusConflict {
		t.Errorf("cancel a done backfill: %d %s", r.Status, r.Body)
	}
	if b := waitBackfill(t, srv, "lever", again, 10*time.Second); b.State != "canceled" {
		t.Errorf("the canceled backfill: %+v", b)
	}
	for _, app := range []string{levertest.Opportunity("old", 0), levertest.Opportunity("new", 1)} {
		if k := kindsOf(t, srv, "lever:"+app); !sameKinds(k, historyKinds) {
			t.Errorf("after a second backfill, %s: %v", app, k)
		}
	}
}

// TestBackfillErrors: the backfill routes' answers to what they cannot do.
func TestBackfillErrors(t *testing.T) {
	fake := levertest.Start(t, leverFixture)
	srv := servicetest.Start(t, map[string]string{
		"GOODWILL_SYNC_INTERVAL": "1h",
		"GOODWILL_LEVER_API_KEY": levertest.Key,
		"GOODWILL_LEVER_API_URL": fake.URL(),
	}, service.Options{})
	recruiter := srv.NewKey(t, "recruiter", "rec-1")
	const admin = servicetest.AdminKey
	tomorrow := time.Now().Add(48 * time.Hour).UTC().Format(time.DateOnly)
	for _, c := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		field                   string // the field a 400 names
	}{
		{"a vendor goodwill does not know", "POST", "/v1/connectors/nosuch/backfill", admin, map[string]string{"since": "2025-01-01"}, 404, ""},
		{"a vendor not configured", "POST", "/v1/connectors/greenhouse/backfill", admin, map[string]string{"since": "2025-01-01"}, 404, ""},
		{"no since", "POST", "/v1/connectors/lever/backfill", admin, map[string]string{}, 400, "since"},
		{"a since that is no date", "POST", "/v1/connectors/lever/backfill", admin, map[string]string{"since": "last year"}, 400, "since"},
		{"a since in the future", "POST", "/v1/connectors/lever/backfill", admin, map[string]string{"since": tomorrow}, 400, "since"},
		{"a since before 1970", "POST", "/v1/connectors/lever/backfill", admin, map[string]string{"since": "1969-12-31"}, 400, "since"},
		{"a since of the wrong type", "POST", "/v1/connectors/lever/backfill", admin, map[string]any{"since": 2025}, 400, "since"},
		{"an unknown field", "POST", "/v1/connectors/lever/backfill", admin, map[string]any{"since": "2025-01-01", "until": "2025-02-01"}, 400, "until"},
		{"not an admin", "POST", "/v1/connectors/lever/backfill", recruiter, map[string]string{"since": "2025-01-01"}, 403, ""},
		{"no key", "POST", "/v1/connectors/lever/backfill", "", map[string]string{"since": "2025-01-01"}, 401, ""},
		{"an id that is no backfill's", "GET", "/v1/connectors/lever/backfills/0193c4a8-5f2e-7c41-9a6e-2b3c4d5e6f70", admin, nil, 404, ""},
		{"an id of another shape", "GET", "/v1/connectors/lever/backfills/running:lever", admin, nil, 404, ""},
		{"cancel an unknown backfill", "DELETE", "/v1/connectors/lever/backfills/0193c4a8-5f2e-7c41-9a6e-2b3c4d5e6f70", admin, nil, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := srv.Do(t, c.method, c.path, c.key, c.body)
			if r.Status != c.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, c.status)
			}
			if c.field != "" {
				var p struct{ Errors []struct{ Field string } }
				r.JSON(t, &p)
				if len(p.Errors) == 0 || p.Errors[0].Field != c.field {
					t.Errorf("%s, want the field %s named", r.Body, c.field)
				}
			}
		})
	}
	// Another vendor's backfill is not found under this one.
	id := startBackfill(t, srv, "lever", "2026-01-01")
	if r := srv.Do(t, http.MethodGet, "/v1/connectors/greenhouse/backfills/"+id, admin, nil); r.Status != http.StatusNotFound {
		t.Errorf("lever's backfill under greenhouse: %d %s", r.Status, r.Body)
	}
	waitBackfill(t, srv, "lever", id, 30*time.Second)
}

// gate holds, once, the first request its match accepts until release is closed,
// and reports it on hit; the request held is then answered 503 (its client is gone).
type gate struct {
	next    http.Handler
	match   func(*http.Request) bool
	hit     chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.match(r) {
		held := false
		g.once.Do(func() { held = true })
		if held {
			close(g.hit)
			<-g.release
			http.Error(w, "the client is gone", http.StatusServiceUnavailable)
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// TestBackfillResumes: a server stopped while a backfill reads its fifth page resumes
// it after the restart from that page: the pages written are not read again, none is
// skipped, and every event is stored once.
func TestBackfillResumes(t *testing.T) {
	fake := levertest.Start(t, leverFixture)
	fake.AddHistory("h", 40, time.Date(2025, 2, 3, 9, 0, 0, 0, time.UTC), 24*time.Hour)
	offset := func(r *http.Request) string {
		raw, _ := url.QueryUnescape(r.URL.Query().Get("offset"))
		return raw
	}
	g := &gate{next: fake, hit: make(chan struct{}), release: make(chan struct{}),
		match: func(r *http.Request) bool {
			return r.URL.Path == "/v1/opportunities" && strings.HasPrefix(offset(r), `["20",`) &&
				r.URL.Query().Get("updated_at_start") == "1735689600000" // the backfill's, not a pass's
		}}
	api := httptest.NewServer(g)
	t.Cleanup(api.Close)
	defer func() {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
	}()
	client, err := atssync.NewClient(atssync.ClientConfig{Vendor: "lever", BaseURL: api.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	v := lever.New(lever.Config{APIKey: levertest.Key, APIURL: api.URL + "/v1", PageSize: 5}, client, time.Now)
	srv := servicetest.Start(t, map[string]string{"GOODWILL_SYNC_INTERVAL": "1h"}, service.Options{SyncVendors: []atssync.Vendor{v}})

	id := startBackfill(t, srv, "lever", "2025-01-01")
	select {
	case <-g.hit:
	case <-time.After(30 * time.Second):
		t.Fatal("the backfill never read its fifth page")
	}
	var mid backfillBody
	servicetest.Eventually(t, 10*time.Second, "the fourth page of opportunities written", func() bool {
		srv.Do(t, http.MethodGet, "/v1/connectors/lever/backfills/"+id, servicetest.AdminKey, nil).JSON(t, &mid)
		return mid.Pages >= 5 // the fifth is read ahead, while the fourth is written
	})
	if mid.State != "running" || mid.Pages != 5 || mid.Applications != 20 { // users, and four pages of opportunities
		t.Fatalf("before the stop: %+v", mid)
	}
	before := len(fake.Requests())
	srv.Restart(t)
	close(g.release)

	b := waitBackfill(t, srv, "lever", id, 60*time.Second)
	if b.State != "done" || b.Applications != 45 || b.Pages != 1+9 {
		t.Errorf("after the restart: %+v", b)
	}
	var first string
	for _, r := range fake.Requests()[before:] {
		if strings.HasPrefix(r, "/v1/opportunities?") && strings.Contains(r, "updated_at_start=1735689600000") {
			first = r
			break
		}
	}
	u, _ := url.Parse(first)
	if raw, _ := url.QueryUnescape(u.Query().Get("offset")); !strings.HasPrefix(raw, `["20",`) {
		t.Errorf("the backfill resumed with %q, want the page at offset 20", first)
	}
	for i := range 40 {
		servicetest.Eventually(t, 10*time.Second, levertest.Opportunity("h", i)+"'s events, each once", func() bool {
			return sameKinds(kindsOf(t, srv, "lever:"+levertest.Opportunity("h", i)), historyKinds)
		})
	}
}
