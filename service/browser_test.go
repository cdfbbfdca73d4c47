package service_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// Browser tests: the dashboard and the queue in headless Chromium, used as a person
// uses them — the sign-in form, the sort links, the drill-down, the queue's buttons,
// sign-out — with every figure read through its data-field and data-value hooks and
// compared with what the API answers for the same period.

// updateScreenshots names the variable that makes TestBrowser rewrite
// docs/dashboard.png, the README's picture of the dashboard.
const updateScreenshots = "GOODWILL_UPDATE_SCREENSHOTS"

// actionTimeout bounds one browser step, so that a missing element fails the test
// quickly instead of waiting for the whole test's deadline.
const actionTimeout = 20 * time.Second

// startChromium starts headless Chromium for one test and returns the context of its
// first tab. Without Chromium the test skips, except under CI, where it fails: CI
// installs it.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is not installed; .ci/run installs Debian's chromium")
		}
		t.Skip("Chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	t.Cleanup(func() {
		cancel()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// chromeTab is a tab of the test's Chromium in a browser context of its own: its own
// cookies, as if another person signed in on another computer.
type chromeTab struct {
	t    *testing.T
	ctx  context.Context
	base string // the server's URL
}

// newTab opens a tab with fresh cookies on the browser of ctx.
func newTab(t *testing.T, browser context.Context, base string) *chromeTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, bound to ctx alone
		t.Fatalf("open a tab: %v", err)
	}
	return &chromeTab{t: t, ctx: ctx, base: base}
}

// run runs one browser step that returns a value, failing the test on error.
func run[T any](b *chromeTab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs browser steps that return nothing, failing the test on error.
func (b *chromeTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to a path of the server and returns the status of the page it ends
// on (after redirects).
func (b *chromeTab) open(path string) int64 {
	b.t.Helper()
	return run(b, "open "+path, chromedp.NavigateResponse(b.base+path)).Status
}

// click clicks the element css selects and waits for the page it leads to; it returns
// that page's status.
func (b *chromeTab) click(css string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("click %s: %v", css, err)
	}
	return res.Status
}

// where is the path and query of the tab's page.
func (b *chromeTab) where() string {
	b.t.Helper()
	loc := run(b, "location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// text is the rendered text of the first element css selects.
func (b *chromeTab) text(css string) string {
	b.t.Helper()
	return strings.Join(strings.Fields(run(b, "text of "+css, chromedp.Text(chromedp.CSS(css)))), " ")
}

// eval evaluates a JavaScript expression in the page and decodes its JSON value.
func eval[T any](b *chromeTab, js string) T {
	b.t.Helper()
	return run(b, "evaluate "+js, chromedp.Evaluate[T](js))
}

// count is how many elements css selects.
func (b *chromeTab) count(css string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, css))
}

// signIn opens path without a session, expects the sign-in form, types key into it,
// submits it and expects to land on want.
func (b *chromeTab) signIn(path, key, want string) {
	b.t.Helper()
	b.open(path)
	if got := b.where(); got != "/login?next="+url.QueryEscape(path) {
		b.t.Fatalf("%s without a session led to %s, want the sign-in form", path, got)
	}
	b.do("type the key", chromedp.SendKeys(chromedp.ID("api_key"), key))
	if status := b.click("#login-form button[type=submit]"); status != http.StatusOK {
		b.t.Fatalf("sign in: status %d, on %s", status, b.where())
	}
	if got := b.where(); got != want {
		b.t.Fatalf("signed in on %s, want %s", got, want)
	}
}

// cookie returns the tab's cookie of that name for the server, nil if there is none.
func (b *chromeTab) cookie(name string) *network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatalf("cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// figures reads the data-field → data-value hooks of every element under css.
func (b *chromeTab) figures(css string) map[string]string {
	b.t.Helper()
	return eval[map[string]string](b, fmt.Sprintf(
		`Object.fromEntries([...document.querySelectorAll(%q)].map(e => [e.dataset.field, e.dataset.value ?? '']))`,
		css+" [data-field]"))
}

// scoreRow is a row of the dashboard's recruiters or jobs table.
type scoreRow struct {
	Key    string            `json:"key"`
	Name   string            `json:"name"`
	Values map[string]string `json:"values"` // data-field → data-value
	Texts  map[string]string `json:"texts"`  // data-field → what it reads
}

// scoreRows reads the rows of the recruiters or jobs table, in order.
func (b *chromeTab) scoreRows(table string) []scoreRow {
	b.t.Helper()
	return eval[[]scoreRow](b, fmt.Sprintf(`[...document.querySelectorAll('#%s tr[data-key]')].map(tr => ({
		key: tr.dataset.key,
		name: tr.querySelector('th').innerText.trim(),
		values: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(td => [td.dataset.field, td.dataset.value])),
		texts: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(td => [td.dataset.field, td.innerText.trim()])),
	}))`, table))
}

// screenshot saves a full-page PNG of the tab under test-artifacts/browser/ at the
// repository's root.
func (b *chromeTab) screenshot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.Screenshot(chromedp.CSS("body")))
	dir := filepath.Join("..", "test-artifacts", "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// noRedirects is an HTTP client that shows redirects rather than following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// --- the scenario ---

// browserScenario is a seeded server: four recruiters in two teams, four weeks of
// their history, and three fresh candidates whose first response breaches during the
// test.
type browserScenario struct {
	srv    *servicetest.Instance
	period string            // the query of the dashboard's period: "from=…&to=…"
	names  map[string]string // application id → candidate name
	fresh  []string          // rec-gus's applications that breach, with alerts, during the test
}

// seedBrowser starts a server and seeds, through the API:
//
//   - Ana Prompt (team Core) answers every candidate within an hour and takes them
//     through interviews to offers and hires or notified rejections; six surveys;
//   - Lee Steady (Core) answers within hours; one survey;
//   - Mia Manager (Field) answers the next day; one survey;
//   - Gus Ghost (Field, reporting to Mia) works the Frontend job, whose first
//     response is due within seconds: he answers days late or never, misses an
//     interview, rejects a candidate without a word; two surveys. Three of his
//     candidates apply as the test starts and breach, with alerts, seconds later.
func seedBrowser(t *testing.T) *browserScenario {
	t.Helper()
	srv := servicetest.Start(t, nil, service.Options{})
	admin := servicetest.AdminKey
	put := func(path, body string) {
		t.Helper()
		if r := srv.Do(t, http.MethodPut, path, admin, body); r.Status >= 300 {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	put("/v1/sla/policies/frontend-first-response", `{"name":"Frontend: first response within seconds",
		"metric":"first_response","target":"4s","calendar":"24x7","warn_ratio":0.5,
		"scope":{"job_ids":["job-fe"]},"enabled":true}`)
	put("/v1/recruiters/rec-ana", `{"name":"Ana Prompt","team":"Core"}`)
	put("/v1/recruiters/rec-lee", `{"name":"Lee Steady","team":"Core"}`)
	put("/v1/recruiters/rec-mia", `{"name":"Mia Manager","team":"Field"}`)
	put("/v1/recruiters/rec-gus", `{"name":"Gus Ghost","team":"Field","manager_id":"rec-mia"}`)

	sc := &browserScenario{srv: srv, names: map[string]string{}}
	now := time.Now().UTC().Truncate(time.Second)
	const day = 24 * time.Hour
	// Four weeks, to a day that stays today for an hour: near midnight, the fresh
	// breaches fall due tomorrow.
	to := now.Add(time.Hour)
	sc.period = "from=" + to.AddDate(0, 0, -27).Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly)
	// LinkedIn costs 3,000 a month, in each month the period touches.
	for _, m := range []string{to.AddDate(0, 0, -27).Format("2006-01"), to.Format("2006-01")} {
		put("/v1/spend/linkedin/"+m, `{"amount":"3000","currency":"USD"}`)
	}

	var items []map[string]any
	add := func(app, kind string, at time.Time, extra map[string]any) {
		it := map[string]any{"application_id": app, "candidate_id": "cand-" + app, "kind": kind,
			"occurred_at": at.Format(time.RFC3339), "external_id": fmt.Sprintf("%s-%d", app, len(items))}
		for k, v := range extra {
			it[k] = v
		}
		items = append(items, it)
	}
	jobs := map[string]map[string]string{
		"job-be":   {"title": "Backend Engineer", "department": "Engineering"},
		"job-fe":   {"title": "Frontend Engineer", "department": "Engineering"},
		"job-data": {"title": "Data Analyst", "department": "Analytics"},
		"job-pm":   {"title": "Product Manager", "department": "Product"},
	}
	// Where each recruiter's candidates came from: Mia's name no source.
	sources := map[string]map[string]string{
		"rec-ana": {"source": "LinkedIn", "medium": "job_board"},
		"rec-lee": {"source": "Employee referral", "medium": "referral", "referrer_id": "emp-7"},
		"rec-gus": {"source": "Indeed", "medium": "job_board"},
	}
	received := func(app, name, recruiter, job string, at time.Time) {
		sc.names[app] = name
		email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"
		extra := map[string]any{"recruiter_id": recruiter, "job_id": job, "job": jobs[job],
			"candidate": map[string]string{"name": name, "email": email}}
		if a := sources[recruiter]; a != nil {
			extra["attribution"] = a
		}
		add(app, "application_received", at, extra)
	}
	email := map[string]any{"direction": "outbound", "channel": "email"}
	notified := map[string]any{"candidate_notified": true}
	interview := func(app string, at, scheduledFor time.Time, outcome bool) {
		id := app + "-interview"
		add(app, "interview_scheduled", at, map[string]any{"scheduled_for": scheduledFor.Format(time.RFC3339), "interview_id": id, "channel": "video"})
		if outcome {
			add(app, "interview_completed", scheduledFor.Add(time.Hour), map[string]any{"interview_id": id})
			add(app, "feedback_submitted", scheduledFor.Add(4*time.Hour), map[string]any{"interview_id": id})
		}
	}
	survey := func(app string, at time.Time, score int) {
		add(app, "survey_response", at, map[string]any{"score": score})
	}

	// Ana: answers within the hour.
	for i, name := range []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Edsger Dijkstra", "Barbara Liskov"} {
		app := fmt.Sprintf("ana-%d", i+1)
		at := now.Add(-time.Duration(22-4*i)*day - 3*time.Hour)
		received(app, name, "rec-ana", "job-be", at)
		add(app, "message", at.Add(time.Duration(20+8*i)*time.Minute), email)
		switch i {
		case 0, 3: // interviewed, offered, hired
			add(app, "stage_changed", at.Add(2*time.Hour), map[string]any{"stage": "screen"})
			interview(app, at.Add(day), at.Add(3*day), true)
			add(app, "stage_changed", at.Add(3*day), map[string]any{"stage": "onsite"})
			add(app, "offer_extended", at.Add(4*day), nil)
			add(app, "hired", at.Add(5*day), nil)
			survey(app, at.Add(6*day), 10)
		case 1: // interviewed, then told no
			add(app, "stage_changed", at.Add(2*time.Hour), map[string]any{"stage": "screen"})
			interview(app, at.Add(day), at.Add(2*day), true)
			add(app, "rejected", at.Add(3*day), notified)
			survey(app, at.Add(4*day), 9)
		case 2: // told no
			add(app, "rejected", at.Add(2*day), notified)
			survey(app, at.Add(3*day), 9)
		case 4:
			add(app, "rejected", at.Add(2*day), notified)
			survey(app, at.Add(3*day), 6)
		}
	}
	survey("ana-6", now.Add(-2*time.Hour), 10)

	// Lee: answers within hours.
	for i, name := range []string{"Donald Knuth", "Frances Allen", "John Backus"} {
		app := fmt.Sprintf("lee-%d", i+1)
		at := now.Add(-time.Duration(20-8*i)*day - 5*time.Hour)
		received(app, name, "rec-lee", "job-data", at)
		add(app, "message", at.Add(time.Duration(4+i)*time.Hour), email)
		switch i {
		case 0:
			add(app, "rejected", at.Add(3*day), notified)
			survey(app, at.Add(4*day), 8)
		case 1:
			interview(app, at.Add(day), at.Add(3*day), true)
			add(app, "offer_extended", at.Add(4*day), nil)
		}
	}

	// Mia: answers the next day.
	for i, name := range []string{"Radia Perlman", "Ken Thompson", "Margaret Hamilton"} {
		app := fmt.Sprintf("mia-%d", i+1)
		at := now.Add(-time.Duration(16-6*i)*day - 7*time.Hour)
		received(app, name, "rec-mia", "job-pm", at)
		add(app, "call", at.Add(26*time.Hour), map[string]any{"direction": "outbound", "channel": "phone"})
		switch i {
		case 0:
			add(app, "rejected", at.Add(5*day), notified)
			survey(app, at.Add(6*day), 7)
		case 1:
			interview(app, at.Add(2*day), at.Add(4*day), true)
			add(app, "offer_extended", at.Add(6*day), nil)
		}
	}

	// Gus: late or never.
	received("gus-4", "Annie Easley", "rec-gus", "job-fe", now.Add(-20*day))
	add("gus-4", "message", now.Add(-17*day), email)
	interview("gus-4", now.Add(-16*day), now.Add(-14*day), false) // nobody came back from it
	received("gus-5", "Tim Berners-Lee", "rec-gus", "job-fe", now.Add(-12*day))
	add("gus-5", "rejected", now.Add(-10*day), nil) // without a word
	survey("gus-5", now.Add(-9*day), 2)
	received("gus-6", "Sophie Wilson", "rec-gus", "job-fe", now.Add(-5*day)) // never answered
	received("gus-7", "Niklaus Wirth", "rec-gus", "job-fe", now.Add(-9*day))
	add("gus-7", "message", now.Add(-7*day), email)
	add("gus-7", "rejected", now.Add(-6*day), notified)
	survey("gus-7", now.Add(-5*day), 6)

	if r := srv.Do(t, http.MethodPost, "/v1/interactions", admin, map[string]any{"interactions": items}); r.Status != http.StatusCreated {
		t.Fatalf("seed: %d %s", r.Status, r.Body)
	}

	// Three candidates apply now: their first response breaches in 4 s, with alerts.
	items = nil
	now = time.Now().UTC()
	for i, name := range []string{"Dennis Ritchie", "Hedy Lamarr", "Claude Shannon"} {
		app := fmt.Sprintf("gus-%d", i+1)
		received(app, name, "rec-gus", "job-fe", now)
		sc.fresh = append(sc.fresh, app)
	}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", admin, map[string]any{"interactions": items}); r.Status != http.StatusCreated {
		t.Fatalf("seed: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 20*time.Second, "the fresh candidates' breach alerts", func() bool {
		n := 0
		for _, a := range listAlerts(t, srv, "level=breached&recruiter_id=rec-gus") {
			if slices.Contains(sc.fresh, a.ApplicationID) {
				n++
			}
		}
		return n == len(sc.fresh)
	})
	// The scores show the breaches, and have settled.
	var last string
	servicetest.Eventually(t, 10*time.Second, "the scores to show the breaches", func() bool {
		org := apiScores(t, srv, admin, "group_by=org&"+sc.period)
		if len(org) != 1 {
			t.Fatalf("org groups: %v", org)
		}
		silent, _ := strconv.Atoi(string(org[0]["silent_now"]))
		js, _ := json.Marshal(org)
		settled := string(js) == last
		last = string(js)
		return silent >= len(sc.fresh)+1 && settled // gus-6 is silent too
	})
	return sc
}

// apiGroup returns the group of key in a GET /v1/scores answer.
func apiGroup(t *testing.T, groups []map[string]json.RawMessage, key string) map[string]json.RawMessage {
	t.Helper()
	for _, g := range groups {
		if string(g["key"]) == strconv.Quote(key) {
			return g
		}
	}
	t.Fatalf("no group %q in %v", key, groups)
	return nil
}

// apiNumber reads a number of the API (null reads as nil).
func apiNumber(raw json.RawMessage) *float64 {
	var v *float64
	_ = json.Unmarshal(raw, &v)
	return v
}

// compareFigures checks that every figure the page shows carries the API's value of
// its field, and that the page shows each of want.
func compareFigures(t *testing.T, where string, page map[string]string, api map[string]json.RawMessage, want ...string) {
	t.Helper()
	var byMetric map[string]json.RawMessage
	if err := json.Unmarshal(api["attainment_by_metric"], &byMetric); err != nil {
		t.Fatalf("attainment_by_metric %s: %v", api["attainment_by_metric"], err)
	}
	for field, value := range page {
		if m, ok := strings.CutPrefix(field, "attainment_by_metric."); ok {
			sameValue(t, where+" "+field, value, byMetric[m])
			continue
		}
		if _, ok := api[field]; !ok {
			t.Errorf("%s: the page shows %s, which the API does not have", where, field)
			continue
		}
		sameValue(t, where+" "+field, value, api[field])
	}
	for _, f := range want {
		if _, ok := page[f]; !ok {
			t.Errorf("%s: the page does not show %s", where, f)
		}
	}
}

// tableFields are the figures of each row of the recruiters and jobs tables.
var tableFields = []string{"applications", "sla_attainment", "first_response_p50_hours", "breaches",
	"silent_now", "ghosting_rate", "cnps", "experience_score"}

// expectedOrder sorts API groups as the dashboard promises: by field, null last
// either way, ties by name.
func expectedOrder(groups []map[string]json.RawMessage, field string, desc bool) []string {
	type g struct {
		key, name string
		v         *float64
	}
	var gs []g
	for _, raw := range groups {
		var key, name string
		_ = json.Unmarshal(raw["key"], &key)
		_ = json.Unmarshal(raw["name"], &name)
		gs = append(gs, g{key, strings.ToLower(name), apiNumber(raw[field])})
	}
	slices.SortStableFunc(gs, func(a, b g) int {
		switch {
		case a.v == nil && b.v == nil:
			return strings.Compare(a.name, b.name)
		case a.v == nil:
			return 1
		case b.v == nil:
			return -1
		}
		c := cmp.Compare(*a.v, *b.v)
		if desc {
			c = -c
		}
		if c == 0 {
			c = strings.Compare(a.name, b.name)
		}
		return c
	})
	out := make([]string, len(gs))
	for i, x := range gs {
		out[i] = x.key
	}
	return out
}

func rowKeys(rows []scoreRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Key
	}
	return out
}

// TestBrowser drives the dashboard and the queue in Chromium over one seeded server:
// an admin reads the dashboard (the API's numbers, the heat map, the funnel, sorting,
// a drill-down); a viewer sees no candidate and no survey figure of a small group; a
// recruiter works the queue; sign-out and a deleted key end sessions.
func TestBrowser(t *testing.T) {
	t.Parallel()
	browser := startChromium(t)
	sc := seedBrowser(t)
	srv := sc.srv
	admin := servicetest.AdminKey

	t.Run("dashboard", func(t *testing.T) {
		b := newTab(t, browser, srv.URL)
		path := "/dashboard?" + sc.period
		b.signIn(path, admin, path)

		// The headline and every table row carry the API's values.
		org := apiScores(t, srv, admin, "group_by=org&"+sc.period)
		if len(org) != 1 {
			t.Fatalf("org groups: %v", org)
		}
		compareFigures(t, "headline", b.figures("#headline"), org[0],
			"applications", "sla_attainment", "first_response_p50_hours", "first_response_pending", "ghosting_rate",
			"cnps", "experience_score", "breaches", "silent_now", "attainment_by_metric.first_response")
		if v := apiNumber(org[0]["breaches"]); v == nil || *v == 0 {
			t.Fatalf("the scenario has no breaches: %s", org[0]["breaches"])
		}
		for _, table := range []string{"recruiter", "job"} {
			groups := apiScores(t, srv, admin, "group_by="+table+"&"+sc.period)
			rows := b.scoreRows(table + "s")
			if len(rows) != len(groups) {
				t.Errorf("%s table: %d rows, the API %d groups", table, len(rows), len(groups))
			}
			for _, row := range rows {
				g := apiGroup(t, groups, row.Key)
				var name string
				_ = json.Unmarshal(g["name"], &name)
				if row.Name != name {
					t.Errorf("%s %s is named %q, the API %q", table, row.Key, row.Name, name)
				}
				compareFigures(t, table+" "+row.Key, row.Values, g, tableFields...)
			}
		}
		recruiters := apiScores(t, srv, admin, "group_by=recruiter&"+sc.period)
		if got, want := rowKeys(b.scoreRows("recruiters")), expectedOrder(recruiters, "experience_score", true); !slices.Equal(got, want) {
			t.Errorf("recruiters in the order %v, want %v (experience score, best first)", got, want)
		}

		// The heat map counts the fresh breaches in the hour they fell due; its total
		// is the breaches.
		heat := eval[[]struct {
			Weekday int `json:"weekday"`
			Hour    int `json:"hour"`
			Count   int `json:"count"`
		}](b, `[...document.querySelectorAll('#heatmap-table td[data-count]')].map(td => ({
			weekday: +td.dataset.weekday, hour: +td.dataset.hour, count: +td.dataset.count}))`)
		total := 0
		cells := map[[2]int]int{}
		for _, c := range heat {
			total += c.Count
			cells[[2]int{c.Weekday, c.Hour}] = c.Count
		}
		if len(heat) != 7*24 {
			t.Errorf("the heat map has %d cells, want 7 × 24", len(heat))
		}
		if breaches := apiNumber(org[0]["breaches"]); breaches == nil || float64(total) != *breaches {
			t.Errorf("the heat map holds %d breaches, the API %s", total, org[0]["breaches"])
		}
		fresh, _ := alertOf(t, srv, sc.fresh[0], "breached")
		due, err := time.Parse(time.RFC3339Nano, fresh.DueAt)
		if err != nil {
			t.Fatalf("due_at %q: %v", fresh.DueAt, err)
		}
		weekday := (int(due.Weekday()) + 6) % 7 // Monday first
		if n := cells[[2]int{weekday, due.Hour()}]; n < len(sc.fresh) {
			t.Errorf("the heat map shows %d breaches on %s at %02d:00 UTC, want at least %d", n, due.Weekday(), due.Hour(), len(sc.fresh))
		}

		// The funnel: everyone applied; some were contacted, interviewed, offered, hired.
		funnel := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#funnel-table tr[data-step]')].map(
			tr => [tr.dataset.step, tr.querySelector('[data-field=applications]').dataset.value]))`)
		if funnel["applied"] != string(org[0]["applications"]) {
			t.Errorf("the funnel starts with %q applications, the API %s", funnel["applied"], org[0]["applications"])
		}
		for _, step := range []string{"contacted", "interviewed", "offered", "hired"} {
			if n, _ := strconv.Atoi(funnel[step]); n == 0 {
				t.Errorf("the funnel has no %s application: %v", step, funnel)
			}
		}
		if n := b.count("#stages-table tr[data-stage]"); n == 0 {
			t.Error("the time-in-stage table is empty")
		}
		if n := b.count("#trend-attainment .point"); n == 0 {
			t.Error("the attainment trend has no point")
		}

		// Sources: a row per attribution source with the API's funnel, cost per hire,
		// time to hire and experience score; Mia's candidates name none.
		bySource := apiScores(t, srv, admin, "group_by=attribution_source&"+sc.period)
		sources := eval[[]scoreRow](b, `[...document.querySelectorAll('#sources-table tr[data-source]')].map(tr => ({
			key: tr.dataset.source,
			name: tr.querySelector('th').innerText.trim(),
			values: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(td => [td.dataset.field, td.dataset.value])),
			texts: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map(td => [td.dataset.field, td.innerText.trim()])),
		}))`)
		if got, want := rowKeys(sources), []string{"indeed", "linkedin", "employee referral", "(none)"}; !slices.Equal(got, want) {
			t.Errorf("the sources panel lists %v, want %v (most applications first, none last)", got, want)
		}
		for _, row := range sources {
			compareFigures(t, "source "+row.Key, row.Values, apiGroup(t, bySource, row.Key),
				"applications", "contacted", "interviewed", "offered", "hired", "cost_per_hire", "time_to_hire_p50_days", "experience_score")
		}
		for _, li := range sources {
			if li.Key != "linkedin" {
				continue
			}
			if li.Values["hired"] != "2" || !strings.HasSuffix(li.Texts["cost_per_hire"], " USD") {
				t.Errorf("linkedin: %q hires at %q a hire, want 2 and a cost in USD", li.Values["hired"], li.Texts["cost_per_hire"])
			}
			if li.Texts["hired"] != "2 (33.3%)" {
				t.Errorf("linkedin's hired step reads %q, want its count and share of the 6 applications", li.Texts["hired"])
			}
		}
		if header := eval[[]string](b, `[...document.querySelectorAll('#sources-table thead th')].map(th => th.innerText.trim())`); !slices.Equal(header,
			[]string{"Source", "Received", "Contacted", "Interviewed", "Offered", "Hired", "Cost per hire", "Time to hire (median)", "Experience score"}) {
			t.Errorf("the sources table's header: %q", header)
		}

		b.screenshot("dashboard")

		// Sorting: a header sorts by its column, highest first; again, lowest first.
		if status := b.click("#sort-recruiters-first_response_p50_hours"); status != http.StatusOK {
			t.Fatalf("sort: status %d", status)
		}
		if !strings.Contains(b.where(), "sort=-first_response_p50_hours") {
			t.Errorf("the sort link led to %s", b.where())
		}
		want := expectedOrder(recruiters, "first_response_p50_hours", true)
		if got := rowKeys(b.scoreRows("recruiters")); !slices.Equal(got, want) {
			t.Errorf("sorted by first response, slowest first: %v, want %v", got, want)
		}
		if want[0] != "rec-gus" {
			t.Errorf("the slowest recruiter is %s, want rec-gus", want[0])
		}
		b.click("#sort-recruiters-first_response_p50_hours")
		want = expectedOrder(recruiters, "first_response_p50_hours", false)
		if got := rowKeys(b.scoreRows("recruiters")); !slices.Equal(got, want) {
			t.Errorf("sorted by first response, fastest first: %v, want %v", got, want)
		}
		if sort := eval[string](b, `document.querySelector('#recruiters th[data-field=first_response_p50_hours]').getAttribute('aria-sort')`); sort != "ascending" {
			t.Errorf("the sorted column's aria-sort is %q", sort)
		}

		// Drill-down: a recruiter's name opens the dashboard of that recruiter alone.
		b.click(`#recruiters tr[data-key="rec-gus"] a.drill`)
		if got := b.text("#page-title"); got != "Dashboard: Gus Ghost" {
			t.Errorf("drill-down title %q", got)
		}
		if q, _ := url.ParseQuery(strings.SplitN(b.where(), "?", 2)[1]); q.Get("recruiter") != "rec-gus" ||
			"from="+q.Get("from")+"&to="+q.Get("to") != sc.period {
			t.Errorf("drill-down at %s, want rec-gus over %s", b.where(), sc.period)
		}
		gus := apiGroup(t, apiScores(t, srv, admin, "group_by=recruiter&"+sc.period), "rec-gus")
		compareFigures(t, "drill-down", b.figures("#headline"), gus, "applications", "breaches", "silent_now")
		if rows := rowKeys(b.scoreRows("recruiters")); !slices.Equal(rows, []string{"rec-gus"}) {
			t.Errorf("the drill-down's recruiters table shows %v", rows)
		}
	})

	t.Run("viewer", func(t *testing.T) {
		var key struct{ Key string }
		srv.Do(t, http.MethodPost, "/v1/keys", admin, map[string]string{"name": "Head of Talent", "role": "viewer"}).JSON(t, &key)
		b := newTab(t, browser, srv.URL)
		path := "/dashboard?" + sc.period
		b.signIn(path, key.Key, path)
		if os.Getenv(updateScreenshots) != "" {
			writeDocsScreenshot(t, b)
		}
		checkNoCandidates := func(where string) {
			t.Helper()
			html := run(b, "page source", chromedp.OuterHTML(chromedp.CSS("html")))
			text := b.text("body")
			for app, name := range sc.names {
				if strings.Contains(html, name) || strings.Contains(text, name) {
					t.Errorf("%s shows %s's candidate %s", where, app, name)
				}
			}
			if strings.Contains(html, "@example.com") {
				t.Errorf("%s shows a candidate's email", where)
			}
		}
		checkNoCandidates("the viewer's dashboard")

		// A group of fewer than 5 survey responses reads "hidden"; from 5 on, its cNPS.
		shown, hidden := 0, 0
		for _, table := range []string{"recruiter", "job"} {
			groups := apiScores(t, srv, admin, "group_by="+table+"&"+sc.period)
			for _, row := range b.scoreRows(table + "s") {
				g := apiGroup(t, groups, row.Key)
				n, _ := strconv.Atoi(string(g["survey_responses"]))
				switch {
				case n < 5 && (row.Values["cnps"] != "" || row.Texts["cnps"] != "hidden"):
					t.Errorf("%s %s has %d survey responses and shows cNPS %q (%q)", table, row.Key, n, row.Texts["cnps"], row.Values["cnps"])
				case n < 5:
					hidden++
				case row.Values["cnps"] == "" || row.Texts["cnps"] == "hidden":
					t.Errorf("%s %s has %d survey responses and hides its cNPS", table, row.Key, n)
				default:
					shown++
				}
			}
		}
		if hidden == 0 || shown == 0 {
			t.Errorf("%d groups show their cNPS and %d hide it: the scenario should have both", shown, hidden)
		}
		type cohort struct{ Responses, CNPS *int }
		var answer struct {
			AllMet   cohort `json:"all_met"`
			Breached cohort `json:"breached"`
		}
		srv.Do(t, http.MethodGet, "/v1/scores/sentiment?"+sc.period, admin, nil).JSON(t, &answer)
		sentiment := map[string]cohort{"all_met": answer.AllMet, "breached": answer.Breached}
		cohorts := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#sentiment-table tr[data-cohort]')].map(
			tr => [tr.dataset.cohort, tr.querySelector('[data-field=cnps]').innerText.trim()]))`)
		hiddenCohorts := 0
		for _, cohort := range []string{"all_met", "breached"} {
			c := sentiment[cohort]
			switch {
			case c.CNPS == nil && cohorts[cohort] != "hidden (< 5 responses)":
				t.Errorf("cohort %s: the API hides its cNPS, the page reads %q", cohort, cohorts[cohort])
			case c.CNPS == nil:
				hiddenCohorts++
			case cohorts[cohort] != fmt.Sprintf("%+d", *c.CNPS) && !(*c.CNPS == 0 && cohorts[cohort] == "0"):
				t.Errorf("cohort %s: cNPS %d, the page reads %q", cohort, *c.CNPS, cohorts[cohort])
			}
		}
		if hiddenCohorts == 0 {
			t.Errorf("no sentiment cohort is hidden: %v", cohorts)
		}

		// Gus alone: the drill-down hides his two surveys too.
		b.click(`#recruiters tr[data-key="rec-gus"] a.drill`)
		if got := b.text(`#headline dd[data-field=cnps]`); got != "hidden (< 5 responses)" {
			t.Errorf("Gus's cNPS reads %q", got)
		}
		checkNoCandidates("the viewer's drill-down")
	})

	t.Run("queue", func(t *testing.T) {
		b := newTab(t, browser, srv.URL)
		b.signIn("/queue", srv.NewKey(t, "recruiter", "rec-gus"), "/queue")

		// The overdue table is the API's overdue list of Gus, most overdue first.
		type queueRow struct {
			Clock string `json:"clock"`
			App   string `json:"app"`
			State string `json:"state"`
			Alert string `json:"alert"`
			Name  string `json:"name"`
		}
		rows := func() []queueRow {
			return eval[[]queueRow](b, `[...document.querySelectorAll('#overdue tr[data-clock-id]')].map(tr => ({
				clock: tr.dataset.clockId, app: tr.dataset.applicationId, state: tr.dataset.state,
				alert: tr.dataset.alertId, name: tr.querySelector('[data-field=candidate_name]').innerText.trim()}))`)
		}
		var overdue struct {
			Items []struct {
				ClockID       string `json:"clock_id"`
				ApplicationID string `json:"application_id"`
				CandidateName string `json:"candidate_name"`
			}
		}
		srv.Do(t, http.MethodGet, "/v1/sla/overdue?recruiter_id=rec-gus&state=breached", admin, nil).JSON(t, &overdue)
		got := rows()
		if len(got) != len(overdue.Items) {
			t.Fatalf("the queue lists %d overdue clocks, the API %d: %v", len(got), len(overdue.Items), got)
		}
		for i, it := range overdue.Items {
			r := got[i]
			if r.Clock != it.ClockID || r.App != it.ApplicationID || r.Name != it.CandidateName || r.State != "breached" {
				t.Errorf("row %d: %+v, the API %+v", i, r, it)
			}
		}
		byApp := map[string]queueRow{} // the most overdue row of each application
		for _, r := range got {
			if _, ok := byApp[r.App]; !ok {
				byApp[r.App] = r
			}
		}
		for _, app := range append([]string{"gus-6"}, sc.fresh...) {
			if _, ok := byApp[app]; !ok {
				t.Errorf("the queue does not list %s (%s)", app, sc.names[app])
			}
		}
		for app := range byApp {
			if !strings.HasPrefix(app, "gus-") {
				t.Errorf("Gus's queue lists another recruiter's %s", app)
			}
		}
		b.screenshot("queue")

		// Acknowledge: the notice says so, and the API shows the alert acknowledged.
		ackApp, replyApp := sc.fresh[0], sc.fresh[1]
		alert := byApp[ackApp].Alert
		if alert == "" {
			t.Fatalf("%s's row offers no alert to acknowledge", ackApp)
		}
		b.click(fmt.Sprintf(`#overdue tr[data-application-id=%q] button[data-testid=ack]`, ackApp))
		if n := b.text("#queue-notice"); !strings.Contains(n, "Acknowledged") {
			t.Errorf("after Acknowledge the notice reads %q", n)
		}
		if a, _ := alertOf(t, srv, ackApp, "breached"); a.ID != alert || a.State != "acknowledged" {
			t.Errorf("alert %s after Acknowledge: %+v", alert, a)
		}
		if b.count(fmt.Sprintf(`#overdue tr[data-application-id=%q] button[data-testid=ack]`, ackApp)) != 0 {
			t.Error("the acknowledged row still offers Acknowledge")
		}

		// Log a reply by SMS: the row leaves the queue, the API has the message.
		reply := byApp[replyApp]
		row := fmt.Sprintf(`#overdue tr[data-clock-id=%q]`, reply.Clock)
		b.do("choose SMS", chromedp.SetValue(chromedp.CSS(row+" select[name=channel]"), "sms"))
		b.click(row + " button[data-testid=reply]")
		if n := b.text("#queue-notice"); !strings.Contains(n, "Reply logged") {
			t.Errorf("after Log a reply the notice reads %q", n)
		}
		deadline := time.Now().Add(5 * time.Second)
		for b.count(row) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the replied row %s is still in the queue", reply.Clock)
			}
			b.open("/queue")
		}
		var stored struct {
			Interactions []map[string]any
		}
		srv.Do(t, http.MethodGet, "/v1/interactions?kind=message&application_id="+replyApp, admin, nil).JSON(t, &stored)
		if len(stored.Interactions) != 1 {
			t.Fatalf("%d messages stored for %s: %v", len(stored.Interactions), replyApp, stored.Interactions)
		}
		for field, want := range map[string]any{"direction": "outbound", "channel": "sms", "actor_id": "rec-gus", "candidate_id": "cand-" + replyApp} {
			if got := stored.Interactions[0][field]; got != want {
				t.Errorf("the logged reply's %s is %v, want %v", field, got, want)
			}
		}
		if b.count(fmt.Sprintf(`#overdue tr[data-application-id=%q]`, ackApp)) == 0 {
			t.Error("acknowledging took the row out of the queue: only a reply should")
		}
	})

	t.Run("sign-out", func(t *testing.T) {
		b := newTab(t, browser, srv.URL)
		b.signIn("/dashboard", srv.NewKey(t, "viewer", ""), "/dashboard")
		session := b.cookie("goodwill_session")
		if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteLax {
			t.Fatalf("session cookie %+v, want HttpOnly and SameSite=Lax", session)
		}
		b.click("#sign-out")
		if got := b.where(); got != "/login?signed_out=1" {
			t.Errorf("sign-out led to %s", got)
		}
		if n := b.text("#login-notice"); !strings.Contains(n, "signed out") {
			t.Errorf("the sign-in form says %q", n)
		}
		if c := b.cookie("goodwill_session"); c != nil {
			t.Errorf("the browser keeps the session cookie after signing out: %+v", c)
		}
		b.open("/dashboard")
		if got := b.where(); !strings.HasPrefix(got, "/login") {
			t.Errorf("after signing out /dashboard opened %s", got)
		}
		// The cookie itself is dead, not only gone from this browser: a copy of it
		// (a stolen one, or one a proxy kept) opens nothing.
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/dashboard", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		res, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("the signed-out session's cookie still opens /dashboard: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("deleted key", func(t *testing.T) {
		r := srv.Do(t, http.MethodPost, "/v1/keys", admin, map[string]string{"name": "leaving", "role": "viewer"})
		var key struct{ ID, Key string }
		r.JSON(t, &key)
		b := newTab(t, browser, srv.URL)
		b.signIn("/dashboard", key.Key, "/dashboard")
		if r := srv.Do(t, http.MethodDelete, "/v1/keys/"+key.ID, admin, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete the key: %d %s", r.Status, r.Body)
		}
		// The open page's next request, a form, goes to the sign-in form.
		b.click("#show-period")
		if got := b.where(); !strings.HasPrefix(got, "/login") {
			t.Errorf("the deleted key's session opened %s", got)
		}
		b.open("/dashboard")
		if got := b.where(); !strings.HasPrefix(got, "/login") {
			t.Errorf("the deleted key's session opened %s", got)
		}
	})
}

// writeDocsScreenshot writes docs/dashboard.png, the README's picture: the top of the
// seeded dashboard, from the page's header to the recruiters table.
func writeDocsScreenshot(t *testing.T, b *chromeTab) {
	t.Helper()
	nodes := run(b, "the top of the dashboard", chromedp.Nodes(chromedp.CSSAll("header.top, #recruiters")))
	png := run(b, "screenshot for the docs", chromedp.ScreenshotNodes(nodes, 1))
	path := filepath.Join("..", "docs", "dashboard.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d KB)", path, len(png)/1024)
}
