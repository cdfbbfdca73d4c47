package ashby_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/ashby"
	"github.com/goodwillhq/goodwill/webhooks/ashby/ashbytest"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// testNow is when the tests' passes run; testSince is the first pass's lookback.
var (
	testNow   = webhookstest.Now
	testSince = testNow.Add(-30 * 24 * time.Hour)
)

// Ids of testdata/sync/ashby.json.
const (
	appAda   = "e244839f-1a9f-5fbc-a1e1-df6ea935da27" // active, in Onsite, with interviews
	appGrace = "eeb3eb1d-2616-59d3-8c9a-4349a8a1a956" // rejected, a referral, owner deactivated
	appAlan  = "7f6302b2-c4fc-5a28-96b2-d2a5b91d59eb" // hired, an accepted offer, a rescheduled interview
	appOld   = "2dba05d2-e2ef-545d-b717-959db3b2cd5b" // last updated before the lookback
	maya     = "f0b37f29-706d-5462-9419-bd8e725eaaaa" // a recruiter
	eventOn  = "8265417b-3c5a-51f1-a8ff-f36b1b0fa99e" // Ada's onsite
)

func newFake(t *testing.T) *ashbytest.Fake {
	t.Helper()
	return ashbytest.Start(t, filepath.Join("testdata", "sync", "ashby.json"))
}

// newSync returns a sync against the fake with pages of pageSize, at testNow.
func newSync(f *ashbytest.Fake, pageSize int) *ashby.Sync {
	return ashby.New(ashby.Config{APIKey: ashbytest.Key, APIURL: f.URL(), PageSize: pageSize}, f.Client(), func() time.Time { return testNow })
}

// last is the cursor a pass leaves for the next.
func last(pages []webhookstest.SyncPage) atssync.Cursor { return pages[len(pages)-1].Next }

// count adds up a count over pages.
func count(pages []webhookstest.SyncPage, name string) int {
	n := 0
	for _, p := range pages {
		n += p.Counts[name]
	}
	return n
}

// TestSyncGolden runs a first pass of each resource against the fake organisation in
// pages of two and compares the pages with their golden files: the directory with a
// deactivated user and a manager; the applications (active with stage changes, a
// rejected referral, a hire, a withdrawal with an unusable email, a lead, one updated
// before the lookback); the interview schedules (scheduled, canceled, rescheduled,
// one before the lookback, one of an application Ashby does not know) and the offers
// (one accepted, one not yet shown to the candidate).
func TestSyncGolden(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 2)
	for _, res := range s.Resources() {
		webhookstest.GoldenSync(t, res, webhookstest.Pass(t, s, res, atssync.Cursor{Since: testSince}))
	}
	// Every request asked for pages of two, and only user.list for deactivated users.
	for _, r := range f.Requests() {
		if strings.HasSuffix(r.Method, ".list") && r.Body["limit"] != float64(2) {
			t.Errorf("%s %v: limit not 2", r.Method, r.Body)
		}
		if _, ok := r.Body["includeDeactivated"]; ok != (r.Method == "user.list") {
			t.Errorf("%s %v: includeDeactivated only for users", r.Method, r.Body)
		}
	}
}

// TestSyncOwnersAndDetails spells out what the golden files hold for one application:
// the candidate's details, the job with its department, the Recruiter as owner (not
// the hiring manager listed first), and the stage.
func TestSyncOwnersAndDetails(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 100)
	var details *interactions.Interaction
	for _, p := range webhookstest.Pass(t, s, ashby.ResourceApps, atssync.Cursor{Since: testSince}) {
		for _, in := range p.Interactions {
			if in.ApplicationID == "ashby:"+appAda && in.Kind == interactions.KindDetailsUpdated {
				details = &in
			}
		}
	}
	if details == nil {
		t.Fatal("no details_updated for Ada's application")
	}
	want := interactions.Interaction{
		RecruiterID: "ashby:" + maya, Stage: "Onsite", CandidateID: "ashby:a9dfd751-9727-57dd-a2c8-3badefcf9699",
		JobID:     "ashby:d8fb2da2-aedf-52dd-9a24-9a905d872ca5",
		Candidate: &interactions.Person{Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+442079460958"},
		Job:       &interactions.JobInfo{Title: "Senior Backend Engineer", Department: "Engineering"},
	}
	got := interactions.Interaction{RecruiterID: details.RecruiterID, Stage: details.Stage, CandidateID: details.CandidateID,
		JobID: details.JobID, Candidate: details.Candidate, Job: details.Job}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Ada's details (-want +got):\n%s", diff)
	}
}

// TestSyncIncremental: a pass ends with Ashby's syncToken as the cursor, and the next
// pass sends it and maps only what changed since: a new stage for one application,
// a moved interview.
func TestSyncIncremental(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 2)
	first := webhookstest.Pass(t, s, ashby.ResourceApps, atssync.Cursor{Since: testSince})
	cur := last(first)
	if !strings.Contains(cur.Token, `"sync":"st-1"`) || !cur.Since.Equal(testNow.Add(-ashby.Overlap)) {
		t.Fatalf("cursor after a pass %+v: want the syncToken st-1, since the pass's start less Overlap", cur)
	}
	schedules := last(webhookstest.Pass(t, s, ashby.ResourceSchedules, atssync.Cursor{Since: testSince}))

	f.Edit(func(a *ashbytest.Account) {
		for i, raw := range a.Applications {
			if strings.Contains(string(raw), appAda) {
				a.Applications[i] = json.RawMessage(strings.Replace(string(raw), `"updatedAt": "2026-11-10T15:00:00.000Z"`, `"updatedAt": "2026-11-22T10:00:00.000Z"`, 1))
			}
		}
		a.History[appAda] = append(a.History[appAda], json.RawMessage(`{"id":"hist-offer","stageId":"stage-offer","title":"Offer","enteredStageAt":"2026-11-22T10:00:00.000Z","stageNumber":3}`))
	})
	if err := f.Set("interview_schedules", "0e6815c8-497d-5707-b330-629e69371434", "updatedAt", "2026-11-22T11:00:00.000Z"); err != nil {
		t.Fatal(err)
	}
	before := len(f.Requests())
	next := webhookstest.Pass(t, s, ashby.ResourceApps, cur)
	got := webhookstest.IDs(next)
	if !slices.Contains(got, "sync:ashby:stage_changed:"+appAda+":hist-offer") || count(next, atssync.CountApplicationsUpdated) != 1 {
		t.Errorf("incremental pass: %v, %d updated; want only Ada's application with its new stage", got, count(next, atssync.CountApplicationsUpdated))
	}
	for _, r := range f.Requests()[before:] {
		if r.Method == "application.list" && r.Body["syncToken"] != "st-1" {
			t.Errorf("application.list %v: not from the syncToken", r.Body)
		}
	}
	if c := last(next); !strings.Contains(c.Token, `"sync":"st-3"`) {
		t.Errorf("cursor %+v, want the new syncToken", c)
	}
	sched := webhookstest.Pass(t, s, ashby.ResourceSchedules, schedules)
	if n := count(sched, atssync.CountInterviews); n != 1 {
		t.Errorf("incremental schedules: %d interviews (%v), want Alan's one", n, webhookstest.IDs(sched))
	}
}

// TestSyncTokenRefused: a syncToken Ashby has expired, or an incremental sync it finds
// too large, makes the pass read the resource whole, paced like any other page by
// page, and map only what changed since the cursor; the pass ends with a new token.
func TestSyncTokenRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse func(*ashbytest.Fake)
	}{
		{"expired", (*ashbytest.Fake).ExpireSyncTokens},
		{"too large", func(f *ashbytest.Fake) { f.TooLarge(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			s := newSync(f, 2)
			cur := last(webhookstest.Pass(t, s, ashby.ResourceApps, atssync.Cursor{Since: testSince}))
			if err := f.Set("applications", appGrace, "updatedAt", "2026-11-23T11:58:00.000Z"); err != nil {
				t.Fatal(err)
			}
			tc.refuse(f)
			before := len(f.Requests())
			pages := webhookstest.Pass(t, s, ashby.ResourceApps, cur)
			f.TooLarge(false)
			if count(pages, "full_passes") != 1 || len(pages) != 3 {
				t.Errorf("%d pages, full_passes %d; want the 6 applications in 3 pages, one full pass", len(pages), count(pages, "full_passes"))
			}
			if n := count(pages, atssync.CountApplicationsUpdated); n != 1 {
				t.Errorf("%d applications mapped (%v); want Grace's, the one changed since the last pass", n, webhookstest.IDs(pages))
			}
			var full int
			for _, r := range f.Requests()[before:] {
				if r.Method == "application.list" && r.Body["syncToken"] == nil {
					full++
				}
			}
			if full != 3 {
				t.Errorf("%d application.list requests without a syncToken, want 3 pages", full)
			}
			if c := last(pages); !strings.Contains(c.Token, `"sync":"st-2"`) {
				t.Errorf("cursor %+v, want the full pass's syncToken", c)
			}
		})
	}
}

// TestSyncStaleCursor: a page cursor Ashby refuses (one saved before a restart) starts
// the pass again from its syncToken rather than failing every pass.
func TestSyncStaleCursor(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 2)
	stale := atssync.Cursor{Since: testSince, Token: `{"cursor":"bm9wZQ","start":"2026-11-23T11:00:00Z"}`}
	p, err := s.Pull(context.Background(), ashby.ResourceApps, stale)
	if err != nil || !p.More || len(p.Interactions) == 0 {
		t.Fatalf("Pull from a stale cursor: %d interactions, more %v, %v; want the first page", len(p.Interactions), p.More, err)
	}
	if _, err := s.Pull(context.Background(), ashby.ResourceUsers, atssync.Cursor{Since: testSince, Token: `{"cursor":"bm9wZQ"}`}); err != nil {
		t.Errorf("users from a stale cursor: %v", err)
	}
}

// TestSyncCandidateLookup: schedules and offers name only the application; its
// candidate is the one the applications resource read, else goodwill's record of the
// application (Known), else application.info.
func TestSyncCandidateLookup(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 100)
	pages := webhookstest.Pass(t, s, ashby.ResourceSchedules, atssync.Cursor{Since: testSince})
	if n := f.Count("application.info"); n != 4 {
		t.Errorf("application.info asked %d times, want 4 (Ada, Alan, Grace, the unknown application), the applications not read yet", n)
	}
	if count(pages, "skipped") != 1 {
		t.Errorf("skipped %d, want the schedule of the application Ashby does not know", count(pages, "skipped"))
	}
	s2 := newSync(f, 100)
	s2.Known = func(_ context.Context, app string) ([]interactions.Interaction, error) {
		return []interactions.Interaction{{ApplicationID: app, CandidateID: "ashby:from-store"}}, nil
	}
	before := f.Count("application.info")
	pages = webhookstest.Pass(t, s2, ashby.ResourceOffers, atssync.Cursor{Since: testSince})
	if f.Count("application.info") != before || len(pages[0].Interactions) != 1 || pages[0].Interactions[0].CandidateID != "ashby:from-store" {
		t.Errorf("offers with Known: %v, %d more application.info; want the stored candidate, no request", pages[0].Interactions, f.Count("application.info")-before)
	}
	// A failing lookup fails the page: no schedule is left without its candidate.
	s2 = newSync(f, 100)
	s2.Known = func(context.Context, string) ([]interactions.Interaction, error) {
		return nil, errors.New("store down")
	}
	if _, err := s2.Pull(context.Background(), ashby.ResourceSchedules, atssync.Cursor{Since: testSince}); err == nil || !strings.Contains(err.Error(), "store down") {
		t.Errorf("Pull with a failing Known: %v, want its error", err)
	}

	s3 := newSync(f, 100)
	webhookstest.Pass(t, s3, ashby.ResourceApps, atssync.Cursor{Since: testSince})
	before = f.Count("application.info")
	webhookstest.Pass(t, s3, ashby.ResourceOffers, atssync.Cursor{Since: testSince})
	if n := f.Count("application.info") - before; n != 0 {
		t.Errorf("after the applications, offers asked application.info %d times", n)
	}
}

// TestSyncErrors: Ashby's refusals reach the runner as *ashby.APIError with the status
// and Ashby's code, and nothing of the page is returned; a key that may not read the
// departments leaves them unnamed instead.
func TestSyncErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		key      string
		fail     string
		status   int
		resource string
		code     string
	}{
		// A wrong key: 403 on the first request.
		{"wrong key", "wrong", "", http.StatusForbidden, ashby.ResourceUsers, "forbidden"},
		// A key without the permission of an endpoint.
		{"permission", ashbytest.Key, "interviewSchedule.list", http.StatusForbidden, ashby.ResourceSchedules, "missing_endpoint_permission"},
		// A failing history fails the whole page.
		{"history", ashbytest.Key, "application.listHistory", http.StatusInternalServerError, ashby.ResourceApps, "internal_error"},
		// Ashby rate-limits: 429 reaches the runner's retrying client as an error.
		{"rate limited", ashbytest.Key, "offer.list", http.StatusTooManyRequests, ashby.ResourceOffers, "rate_limit_exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			if tc.fail != "" {
				f.Fail(tc.fail, tc.status, -1)
			}
			s := ashby.New(ashby.Config{APIKey: tc.key, APIURL: f.URL()}, f.Client(), func() time.Time { return testNow })
			p, err := s.Pull(context.Background(), tc.resource, atssync.Cursor{Since: testSince})
			var apiErr *ashby.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tc.status || apiErr.Code != tc.code {
				t.Fatalf("Pull: %v, want an APIError %d %s", err, tc.status, tc.code)
			}
			if strings.Contains(err.Error(), ashbytest.Key) {
				t.Errorf("the error %q shows the key", err)
			}
			if len(p.Interactions) != 0 || len(p.Users) != 0 || p.More {
				t.Errorf("page %+v returned with the error", p)
			}
		})
	}

	f := newFake(t)
	f.Fail("department.list", http.StatusForbidden, -1)
	s := newSync(f, 100)
	for _, p := range webhookstest.Pass(t, s, ashby.ResourceApps, atssync.Cursor{Since: testSince}) {
		for _, in := range p.Interactions {
			if in.Job != nil && in.Job.Department != "" {
				t.Errorf("%s: department %q without department.list", in.ExternalID, in.Job.Department)
			}
		}
	}
	if _, err := s.Pull(context.Background(), "candidates", atssync.Cursor{}); err == nil {
		t.Error("Pull of an unknown resource: no error")
	}
}

// TestSyncThroughRunnerClient: through the runner's paced, retrying client a 429 with
// Retry-After and a 502 slow a pass down without failing it, a slow answer within the
// timeout is waited for, and one past it is retried then reported.
func TestSyncThroughRunnerClient(t *testing.T) {
	f := newFake(t)
	client, err := atssync.NewClient(atssync.ClientConfig{Vendor: "ashby", BaseURL: f.URL(), Timeout: 300 * time.Millisecond,
		Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxAttempts: 3, Transport: f.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	s := ashby.New(ashby.Config{APIKey: ashbytest.Key, APIURL: f.URL(), PageSize: 2}, client, func() time.Time { return testNow })
	f.Fail("application.list", http.StatusTooManyRequests, 1)
	f.Fail("application.listHistory", http.StatusBadGateway, 2)
	f.Slow("department.list", 100*time.Millisecond)
	start := time.Now()
	pages := webhookstest.Pass(t, s, ashby.ResourceApps, atssync.Cursor{Since: testSince})
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("the pass took %v: the 429's Retry-After of 1s was not waited", waited)
	}
	if n := count(pages, atssync.CountApplicationsUpdated); n != 5 {
		t.Errorf("%d applications after retries, want 5", n)
	}
	f.Slow("user.list", time.Second)
	_, err = s.Pull(context.Background(), ashby.ResourceUsers, atssync.Cursor{Since: testSince})
	if err == nil || f.Count("user.list") != 3 {
		t.Errorf("a slow user.list: %v after %d attempts, want a timeout after 3", err, f.Count("user.list"))
	}
}

// TestSyncVendor: the names and pace the runner reads.
func TestSyncVendor(t *testing.T) {
	var v atssync.Vendor = ashby.New(ashby.Config{}, http.DefaultClient, time.Now)
	if v.Name() != "ashby" || !slices.Equal(v.Resources(), []string{"users", "applications", "interview_schedules", "offers"}) {
		t.Errorf("Name %q, Resources %v", v.Name(), v.Resources())
	}
	if rps, burst := ashby.New(ashby.Config{}, nil, time.Now).RateLimit(); math.Abs(rps*60-1000) > 1e-9 || burst != 17 {
		t.Errorf("RateLimit %v/s burst %d, want Ashby's documented 1000 a minute", rps, burst)
	}
	if _, err := ashby.NewVendor(ashby.Config{APIKey: "k", APIURL: "ftp://x"}, time.Now); err == nil {
		t.Error("NewVendor with an ftp URL: no error")
	}
}

// TestSyncResume: a pass cut off after a page (the runner stores each page's Next)
// resumes in another process from the stored cursor — Ashby's page cursor and the
// pass's start — and maps the rest of the pass, ending with the same syncToken as an
// uninterrupted pass.
func TestSyncResume(t *testing.T) {
	f := newFake(t)
	whole := webhookstest.Pass(t, newSync(f, 2), ashby.ResourceApps, atssync.Cursor{Since: testSince})

	first, err := newSync(f, 2).Pull(context.Background(), ashby.ResourceApps, atssync.Cursor{Since: testSince})
	if err != nil || !first.More {
		t.Fatalf("first page: more %v, %v", first.More, err)
	}
	later := ashby.New(ashby.Config{APIKey: ashbytest.Key, APIURL: f.URL(), PageSize: 2}, f.Client(),
		func() time.Time { return testNow.Add(time.Hour) }) // a restart, an hour on
	rest := webhookstest.Pass(t, later, ashby.ResourceApps, first.Next)
	got := append(webhookstest.IDs([]webhookstest.SyncPage{{Interactions: first.Interactions}}), webhookstest.IDs(rest)...)
	if diff := cmp.Diff(webhookstest.IDs(whole), got); diff != "" {
		t.Errorf("a resumed pass (-whole +resumed):\n%s", diff)
	}
	if diff := cmp.Diff(last(whole), last(rest)); diff != "" {
		t.Errorf("the resumed pass's cursor (-whole +resumed):\n%s", diff)
	}
}

// TestSyncSlowHistories: a page reads its applications' stage histories several at
// once, so slow answers do not add up, and maps them in the page's order.
func TestSyncSlowHistories(t *testing.T) {
	f := newFake(t)
	apps, history, _ := ashbytest.History("slow", 8, testNow.Add(-20*24*time.Hour), time.Minute)
	f.Edit(func(a *ashbytest.Account) { a.Applications, a.History, a.Schedules, a.Offers = apps, history, nil, nil })
	const delay = 200 * time.Millisecond
	f.Slow("application.listHistory", delay)
	start := time.Now()
	p, err := newSync(f, 100).Pull(context.Background(), ashby.ResourceApps, atssync.Cursor{Since: testSince})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 8*delay*3/4 {
		t.Errorf("8 histories answered in %v each took %v, want them read several at once", delay, d)
	}
	var got []string
	for _, in := range p.Interactions {
		if in.Kind == interactions.KindStageChanged {
			got = append(got, in.ApplicationID)
		}
	}
	var want []string
	for i := range 8 {
		id := fmt.Sprintf("ashby:slow-app-%05d", i)
		want = append(want, id, id) // Phone Screen, Onsite
	}
	if !slices.Equal(got, want) {
		t.Errorf("stage changes of %v, want %v", got, want)
	}
}
