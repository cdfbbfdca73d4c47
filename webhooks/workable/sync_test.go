package workable_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
	"github.com/goodwillhq/goodwill/webhooks/workable"
	"github.com/goodwillhq/goodwill/webhooks/workable/workabletest"
)

// testNow is when the tests' passes run; testSince is the first pass's lookback.
var (
	testNow   = webhookstest.Now
	testSince = testNow.Add(-30 * 24 * time.Hour)
)

// newFake starts the fake Workable account of testdata/sync/workable.json.
func newFake(t *testing.T) *workabletest.Fake {
	t.Helper()
	return workabletest.Start(t, filepath.Join("testdata", "sync", "workable.json"))
}

// newSync returns a sync against the fake with pages of pageSize, at testNow.
func newSync(f *workabletest.Fake, pageSize int) *workable.Sync {
	cfg := workable.Config{Token: workabletest.Token, APIURL: f.URL(), PageSize: pageSize}
	return workable.New(cfg, f.Client(), func() time.Time { return testNow })
}

// scrub writes the fake's address in the pages' tokens as <api>, the same in every run.
func scrub(f *workabletest.Fake, pages []webhookstest.SyncPage) []webhookstest.SyncPage {
	for i := range pages {
		pages[i].Next.Token = strings.ReplaceAll(pages[i].Next.Token, f.URL(), "<api>")
	}
	return pages
}

// TestSyncGolden runs a pass of each resource against the fake account in pages of
// two and compares the pages with their golden files: the directory with a
// deactivated member; the candidates (one moved twice, with messages both ways and a
// stage named only by its name; one disqualified whose phone only its details give;
// one hired; a sourced one who withdrew, with no application; one updated before the
// lookback); the events
// (an interview, a cancelled call, a meeting with no candidate, one before the
// lookback).
func TestSyncGolden(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 2)
	webhookstest.GoldenSync(t, "members", scrub(f, webhookstest.Pass(t, s, workable.ResourceMembers, atssync.Cursor{})))
	webhookstest.GoldenSync(t, "candidates", scrub(f, webhookstest.Pass(t, s, workable.ResourceCandidates, atssync.Cursor{Since: testSince})))
	webhookstest.GoldenSync(t, "events", scrub(f, webhookstest.Pass(t, s, workable.ResourceEvents, atssync.Cursor{Since: testSince})))

	for _, r := range f.Requests() {
		switch path, q, _ := strings.Cut(r, "?"); {
		case path == "/candidates" && !strings.Contains(q, "since_id"):
			if !strings.Contains(q, "updated_after=2026-10-24T11%3A58%3A00Z") {
				t.Errorf("request %s: not since the lookback less the overlap", r)
			}
		case path == "/members" && !strings.Contains(q, "status=all"):
			t.Errorf("request %s: the deactivated members are left out", r)
		case path == "/events" && !strings.Contains(q, "include_cancelled=true"):
			t.Errorf("request %s: the cancelled events are left out", r)
		}
	}
}

// TestSyncPaging: every page is asked for from the paging.next of the one before;
// the candidates' last page moves the cursor to the latest updated_at read; the
// events' last page starts the next pass EventsBehind before this one.
func TestSyncPaging(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 2)
	members := webhookstest.Pass(t, s, workable.ResourceMembers, atssync.Cursor{})
	if len(members) != 2 || members[1].Next != (atssync.Cursor{Since: testNow}) || !members[0].More {
		t.Errorf("members: %d pages, cursors %+v; want 2 pages (3 members by 2), then since the pass", len(members), members)
	}
	cands := webhookstest.Pass(t, s, workable.ResourceCandidates, atssync.Cursor{Since: testSince})
	if len(cands) != 2 {
		t.Fatalf("candidates: %d pages, want 2 (4 changed by 2)", len(cands))
	}
	if cands[0].Next.Since != testSince || cands[0].Next.Token == "" {
		t.Errorf("first page's cursor %+v: want the lookback kept and a token", cands[0].Next)
	}
	latest := time.Date(2026, 11, 21, 16, 0, 3, 0, time.UTC) // Ana Silva's updated_at
	if want := (atssync.Cursor{Since: latest}); cands[1].Next != want {
		t.Errorf("last page's cursor %+v, want %+v", cands[1].Next, want)
	}
	events := webhookstest.Pass(t, s, workable.ResourceEvents, atssync.Cursor{Since: testSince})
	if want := (atssync.Cursor{Since: testNow.Add(-workable.EventsBehind)}); events[len(events)-1].Next != want {
		t.Errorf("events' last cursor %+v, want %+v", events[len(events)-1].Next, want)
	}

	// The next pass asks only for what changed after the cursor (less the overlap).
	before := len(f.Requests())
	again := webhookstest.Pass(t, s, workable.ResourceCandidates, cands[1].Next)
	if got := webhookstest.IDs(again); len(got) != 0 && !slices.ContainsFunc(got, func(id string) bool { return strings.Contains(id, "5be2c3") }) {
		t.Errorf("second pass: %v", got)
	}
	for _, r := range f.Requests()[before:] {
		if strings.HasPrefix(r, "/candidates?") && !strings.Contains(r, "updated_after=2026-11-21T15%3A58%3A03Z") {
			t.Errorf("second pass asked %s", r)
		}
	}

	// A token not of this sync, or whose next page is elsewhere, starts over.
	for _, tok := range []string{"garbage", `{"next":"https://elsewhere.example/spi/v3/candidates?since_id=x"}`} {
		p, err := s.Pull(context.Background(), workable.ResourceCandidates, atssync.Cursor{Since: testSince, Token: tok})
		if err != nil || len(p.Interactions) == 0 || !p.More {
			t.Errorf("token %q: %v, %d interactions, more %v; want the first page", tok, err, len(p.Interactions), p.More)
		}
	}
}

// TestSyncRescheduled: with Known, an interview goodwill holds at another start than
// Workable's is recorded as rescheduled, once per new start (the same external id on
// every later pass); one at the same start, or cancelled, is not.
func TestSyncRescheduled(t *testing.T) {
	f := newFake(t)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	scheduled := func(app, iv, when, start string) interactions.Interaction {
		st := at(start)
		return interactions.Interaction{ApplicationID: app, Kind: interactions.KindInterviewScheduled, Source: "workable",
			InterviewID: iv, OccurredAt: at(when), ScheduledFor: &st, ExternalID: "sync:workable:interview_scheduled:x:" + iv}
	}
	known := map[string][]interactions.Interaction{
		// Lena's interview was first read an hour earlier on the 24th, then moved.
		"workable:3fc9a8": {scheduled("workable:3fc9a8", "workable:4770c5c", "2026-11-20T10:00:00Z", "2026-11-24T10:00:00Z")},
		// Marco's call, cancelled, was held at another time: no reschedule.
		"workable:4ad1b2": {scheduled("workable:4ad1b2", "workable:4770d11", "2026-11-17T10:00:00Z", "2026-11-18T08:00:00Z")},
	}
	s := newSync(f, 100)
	var asked []string
	s.Known = func(_ context.Context, app string) ([]interactions.Interaction, error) {
		asked = append(asked, app)
		return known[app], nil
	}
	const want = "sync:workable:interview_rescheduled:3fc9a8:4770c5c@2026-11-25T10:00:00.000Z"
	for i := range 2 {
		got := webhookstest.IDs(webhookstest.Pass(t, s, workable.ResourceEvents, atssync.Cursor{Since: testSince}))
		var re []string
		for _, id := range got {
			if strings.Contains(id, "interview_rescheduled") {
				re = append(re, id)
			}
		}
		if !slices.Equal(re, []string{want}) {
			t.Errorf("pass %d: reschedules %v, want %s", i+1, re, want)
		}
	}
	if !slices.Equal(asked[:2], []string{"workable:3fc9a8", "workable:4ad1b2"}) {
		t.Errorf("Known asked for %v, want the candidates of the two events", asked)
	}

	// Once goodwill holds the reschedule, the interview has not moved again.
	st := at("2026-11-25T10:00:00Z")
	known["workable:3fc9a8"] = append(known["workable:3fc9a8"], interactions.Interaction{ApplicationID: "workable:3fc9a8",
		Kind: interactions.KindInterviewRescheduled, Source: "workable", InterviewID: "workable:4770c5c",
		OccurredAt: testNow, ScheduledFor: &st, ExternalID: want})
	if got := webhookstest.IDs(webhookstest.Pass(t, s, workable.ResourceEvents, atssync.Cursor{Since: testSince})); slices.Contains(got, want) {
		t.Errorf("after the reschedule was stored: %v", got)
	}

	// A failing lookup fails the page: a reschedule is not lost for want of it.
	s.Known = func(context.Context, string) ([]interactions.Interaction, error) {
		return nil, errors.New("store down")
	}
	if _, err := s.Pull(context.Background(), workable.ResourceEvents, atssync.Cursor{Since: testSince}); err == nil || !strings.Contains(err.Error(), "store down") {
		t.Errorf("Pull with a failing Known: %v, want its error", err)
	}
}

// TestSyncErrors: Workable's refusals reach the runner as *workable.APIError with
// the status, and nothing of the page is returned.
func TestSyncErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		token    string
		fail     string // path answered with status
		status   int
		resource string
	}{
		// A wrong token: 401 on the first request.
		{"unauthorized", "wrong", "", http.StatusUnauthorized, workable.ResourceMembers},
		// A 429 reaches a plain client as an error (the runner's client waits it out).
		{"rate limited", workabletest.Token, "/candidates", http.StatusTooManyRequests, workable.ResourceCandidates},
		// A failing activity stream fails the whole page.
		{"activities", workabletest.Token, "/candidates/3fc9a8/activities", http.StatusInternalServerError, workable.ResourceCandidates},
		// Stages are needed to name moves.
		{"stages", workabletest.Token, "/stages", http.StatusServiceUnavailable, workable.ResourceCandidates},
		// A hiring team that fails (not a missing job) fails the page.
		{"hiring team", workabletest.Token, "/jobs/GROOV003/members", http.StatusBadGateway, workable.ResourceCandidates},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			if tc.fail != "" {
				f.Fail(tc.fail, tc.status, 100)
			}
			s := workable.New(workable.Config{Token: tc.token, APIURL: f.URL()}, f.Client(), func() time.Time { return testNow })
			p, err := s.Pull(context.Background(), tc.resource, atssync.Cursor{Since: testSince})
			var apiErr *workable.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tc.status {
				t.Fatalf("Pull: %v, want an APIError with status %d", err, tc.status)
			}
			if strings.Contains(err.Error(), "updated_after") || strings.Contains(err.Error(), workabletest.Token) {
				t.Errorf("error %q carries the query or the token", err)
			}
			if len(p.Interactions) != 0 || len(p.Users) != 0 || p.More {
				t.Errorf("page %+v returned with the error", p)
			}
		})
	}

	// A job Workable no longer shows has no owner; its candidates are read anyway.
	f := newFake(t)
	f.Edit(func(a *workabletest.Account) { delete(a.JobMembers, "GROOV005") })
	s := newSync(f, 100)
	for _, p := range webhookstest.Pass(t, s, workable.ResourceCandidates, atssync.Cursor{Since: testSince}) {
		for _, in := range p.Interactions {
			if in.JobID == "workable:GROOV005" && in.RecruiterID != "" {
				t.Errorf("%s: owner %s of a job without a hiring team", in.ExternalID, in.RecruiterID)
			}
		}
	}
	if _, err := s.Pull(context.Background(), "applications", atssync.Cursor{}); err == nil {
		t.Error("Pull of an unknown resource: no error")
	}
}

// TestSyncVendor: the names the runner reads, and the pace it is given: Workable's
// documented 10 requests every 10 seconds, one at a time.
func TestSyncVendor(t *testing.T) {
	var v atssync.Vendor = workable.New(workable.Config{Subdomain: "acme"}, http.DefaultClient, time.Now)
	if v.Name() != "workable" || !slices.Equal(v.Resources(), []string{"members", "candidates", "events"}) {
		t.Errorf("Name %q, Resources %v", v.Name(), v.Resources())
	}
	cc := workable.ClientConfig(workable.Config{Subdomain: "acme"})
	if cc.Rate != 1 || cc.Burst != 1 || cc.BaseURL != "https://acme.workable.com/spi/v3" || cc.Vendor != "workable" {
		t.Errorf("client config %+v, want 1 request a second, burst 1, under https://acme.workable.com/spi/v3", cc)
	}
	if _, err := workable.NewVendor(workable.Config{Subdomain: "acme"}, time.Now); err == nil {
		t.Error("NewVendor without a token: no error")
	}
}

// TestSyncResumed: a pass cut off after a page resumes in another process from the
// stored cursor: the next page is read from its paging.next, the stages, jobs and
// hiring teams are read again there, and the pass ends with the same cursor as one
// never cut off.
func TestSyncResumed(t *testing.T) {
	f := newFake(t)
	whole := webhookstest.Pass(t, newSync(f, 2), workable.ResourceCandidates, atssync.Cursor{Since: testSince})
	first, err := newSync(f, 2).Pull(context.Background(), workable.ResourceCandidates, atssync.Cursor{Since: testSince})
	if err != nil || !first.More {
		t.Fatalf("first page: %v, more %v", err, first.More)
	}
	before := len(f.Requests())
	rest := webhookstest.Pass(t, newSync(f, 2), workable.ResourceCandidates, first.Next) // a new process
	if got, want := webhookstest.IDs(rest), webhookstest.IDs(whole[1:]); !slices.Equal(got, want) {
		t.Errorf("resumed pass read %v, want %v", got, want)
	}
	if got, want := rest[len(rest)-1].Next, whole[len(whole)-1].Next; got != want {
		t.Errorf("resumed pass ends at %+v, want %+v", got, want)
	}
	var reread []string
	for _, r := range f.Requests()[before:] {
		path, q, _ := strings.Cut(r, "?")
		if path == "/stages" || path == "/jobs" || strings.HasPrefix(path, "/jobs/") {
			reread = append(reread, path)
		}
		if path == "/candidates" && !strings.Contains(q, "since_id=5be2c3") {
			t.Errorf("resumed at %s, want the first page's paging.next", r)
		}
	}
	if !slices.Equal(reread, []string{"/stages", "/jobs", "/jobs/GROOV005/members"}) {
		t.Errorf("the resumed process read %v, want the stages, jobs and the page's hiring team", reread)
	}
	for _, p := range rest {
		for _, in := range p.Interactions {
			if in.RecruiterID != "workable:2b7f9c41" || in.Job == nil || in.Job.Department != "Operations" {
				t.Errorf("%s: owner %q, job %+v", in.ExternalID, in.RecruiterID, in.Job)
			}
		}
	}
}
