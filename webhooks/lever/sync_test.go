package lever_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/lever"
	"github.com/goodwillhq/goodwill/webhooks/lever/levertest"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// testNow is when the tests' passes run; testSince is the first pass's lookback.
var (
	testNow   = webhookstest.Now
	testSince = testNow.Add(-30 * 24 * time.Hour)
)

const testKey = levertest.Key

// newFake starts the fake Lever account of testdata/sync/lever.json.
func newFake(t *testing.T) *levertest.Fake {
	t.Helper()
	return levertest.Start(t, filepath.Join("testdata", "sync", "lever.json"))
}

// newSync returns a sync against the fake with pages of pageSize, at testNow.
func newSync(f *levertest.Fake, pageSize int, cfg lever.Config) *lever.Sync {
	cfg.APIKey, cfg.APIURL, cfg.PageSize = testKey, f.URL(), pageSize
	return lever.New(cfg, f.Client(), func() time.Time { return testNow })
}

// TestSyncGolden runs a pass of each resource against the fake account in pages of
// two and compares the pages with their golden files: the directory with a
// deactivated user and managers, and the opportunities (an active one with
// interviews, an anonymised rejected one, a hired referral with a canceled interview,
// one updated before the lookback, one changed a moment ago).
func TestSyncGolden(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 2, lever.Config{})
	webhookstest.GoldenSync(t, "users", webhookstest.Pass(t, s, lever.ResourceUsers, atssync.Cursor{}))
	webhookstest.GoldenSync(t, "opportunities", webhookstest.Pass(t, s, lever.ResourceOpportunities, atssync.Cursor{Since: testSince}))

	// The opportunities were asked for as changed since the lookback, expanded.
	var asked bool
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "/v1/opportunities?") {
			asked = true
			if !strings.Contains(r, "updated_at_start="+strconv.FormatInt(testSince.UnixMilli(), 10)) {
				t.Errorf("request %s: not since the lookback", r)
			}
		}
	}
	if !asked {
		t.Error("no request for opportunities")
	}
}

// TestSyncPaging: every page is asked for from the token of the one before, the
// opportunities' token carries the pass's start, and the last page's cursor starts the
// next pass Overlap before this one started.
func TestSyncPaging(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 2, lever.Config{})
	users := webhookstest.Pass(t, s, lever.ResourceUsers, atssync.Cursor{})
	// The last page's cursor has no token: the next pass reads the directory from its
	// first page (a zero cursor would leave the runner on the last page's).
	if len(users) != 3 || users[2].Next != (atssync.Cursor{Since: testNow}) {
		t.Errorf("users: %d pages, last cursor %+v; want 3 pages (5 users by 2), then since the pass", len(users), users[len(users)-1].Next)
	}
	var n int
	for _, p := range users {
		n += len(p.Users)
	}
	if n != 5 {
		t.Errorf("users: %d, want all 5 (the deactivated one too)", n)
	}

	opps := webhookstest.Pass(t, s, lever.ResourceOpportunities, atssync.Cursor{Since: testSince})
	if len(opps) != 2 {
		t.Fatalf("opportunities: %d pages, want 2 (4 changed by 2)", len(opps))
	}
	if tok := opps[0].Next.Token; !strings.HasPrefix(tok, strconv.FormatInt(testNow.UnixMilli(), 10)+".") || opps[0].Next.Since != testSince {
		t.Errorf("first page's cursor %+v: want the pass's start in the token and the lookback kept", opps[0].Next)
	}
	if want := (atssync.Cursor{Since: testNow.Add(-lever.Overlap)}); opps[1].Next != want {
		t.Errorf("last page's cursor %+v, want %+v", opps[1].Next, want)
	}
	offsets := map[string]int{}
	for _, r := range f.Requests() {
		if path, _, _ := strings.Cut(r, "?"); strings.Contains(r, "offset=") {
			offsets[path]++
		}
	}
	// 5 users, 5 stages, 3 archive reasons and 4 opportunities, by 2.
	want := map[string]int{"/v1/users": 2, "/v1/stages": 2, "/v1/archive_reasons": 1, "/v1/opportunities": 1}
	if diff := cmp.Diff(want, offsets); diff != "" {
		t.Errorf("requests with an offset (-want +got):\n%s", diff)
	}

	// A pass that starts soon after the last one started never moves the cursor back.
	s2 := lever.New(lever.Config{APIKey: testKey, APIURL: f.URL()}, f.Client(), func() time.Time { return testNow })
	since := testNow.Add(-time.Minute)
	p, err := s2.Pull(context.Background(), lever.ResourceOpportunities, atssync.Cursor{Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if p.More || p.Next.Since != since {
		t.Errorf("cursor %+v more %v, want since kept at %v", p.Next, p.More, since)
	}
}

// TestSyncStaleToken: an offset token Lever refuses (one saved before a restart)
// starts the read again from the first page instead of failing every pass.
func TestSyncStaleToken(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 2, lever.Config{})
	p, err := s.Pull(context.Background(), lever.ResourceUsers, atssync.Cursor{Token: "expired"})
	if err != nil || len(p.Users) != 2 || p.Users[0].ID != "lever:b6816cb5-cf05-433c-b07f-2ca3eea60f54" {
		t.Errorf("users from a stale token: %+v, %v; want the first page", p.Users, err)
	}
	earlier := testNow.Add(-time.Hour).UnixMilli()
	p, err = s.Pull(context.Background(), lever.ResourceOpportunities,
		atssync.Cursor{Since: testSince, Token: strconv.FormatInt(earlier, 10) + ".expired"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Next.Token, strconv.FormatInt(testNow.UnixMilli(), 10)+".") || p.Next.Since != testSince || len(p.Interactions) == 0 {
		t.Errorf("opportunities from a stale token: next %+v, %d interactions; want a new pass from the same since", p.Next, len(p.Interactions))
	}
}

// kinds lists "kind application discriminator" of the interactions of pages.
func kinds(pages []webhookstest.SyncPage) []string {
	var out []string
	for _, p := range pages {
		for _, in := range p.Interactions {
			out = append(out, in.ExternalID)
		}
	}
	return out
}

// TestSyncReschedule: a pass that reads another start for an interview than the pass
// before records interview_rescheduled at the new time, once per new time (the same
// external id on every later pass).
func TestSyncReschedule(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 100, lever.Config{})
	const opp, iv = "1bd11d54-9d97-444a-a4e3-1cd56ceedbc5", "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	first := kinds(webhookstest.Pass(t, s, lever.ResourceOpportunities, atssync.Cursor{Since: testSince}))
	for _, id := range first {
		if strings.Contains(id, "interview_rescheduled") {
			t.Errorf("first pass: %s; a first reading is no reschedule", id)
		}
	}
	moved := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	f.Edit(func(a *levertest.Account) {
		ivs := a.Interviews[opp]
		var v map[string]any
		_ = json.Unmarshal(ivs[0], &v)
		v["date"] = moved.UnixMilli()
		ivs[0], _ = json.Marshal(v)
	})
	want := "sync:lever:interview_rescheduled:" + opp + ":" + iv + "@" + strconv.FormatInt(moved.UnixMilli(), 10)
	for i := range 2 {
		pages := webhookstest.Pass(t, s, lever.ResourceOpportunities, atssync.Cursor{Since: testSince})
		var found *interactions.Interaction
		for _, p := range pages {
			for _, in := range p.Interactions {
				if in.ExternalID == want {
					found = &in
				}
			}
		}
		if found == nil {
			t.Fatalf("pass %d: no %s in %v", i+2, want, kinds(pages))
		}
		if found.ScheduledFor == nil || !found.ScheduledFor.Equal(moved) || found.InterviewID != "lever:"+iv || found.Duration.String() != "45m" {
			t.Errorf("pass %d: %+v, want scheduled_for %v, duration 45m", i+2, found, moved)
		}
	}
}

// TestSyncArchiveReasons: the archive reasons Lever reports decide what is a hire, in
// place of the configured ones; a key that may not read them falls back to those.
func TestSyncArchiveReasons(t *testing.T) {
	const hire = "sync:lever:hired:3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b:1795172400000"
	const reject = "sync:lever:rejected:3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b:1795172400000"
	const hiredReason = "0092d31b-502b-4f0d-b4da-3827e1a2991f"
	for _, tc := range []struct {
		name       string
		status     int      // forced answer to /archive_reasons, 0 for Lever's list
		configured []string // GOODWILL_LEVER_HIRED_REASONS
		want       string
		wantHired  []string
	}{
		// Lever's types win over a configuration that lists nothing.
		{"from the API", 0, nil, hire, []string{hiredReason}},
		// Lever's types win over a stale configuration.
		{"API over configuration", 0, []string{"stale"}, hire, []string{hiredReason}},
		// Forbidden to the key: the configured reasons decide.
		{"configured", http.StatusForbidden, []string{hiredReason}, hire, []string{hiredReason}},
		// Forbidden and not configured: an archive is a rejection, as for the receiver.
		{"neither", http.StatusForbidden, nil, reject, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			if tc.status != 0 {
				f.Fail("/archive_reasons", tc.status)
			}
			s := newSync(f, 100, lever.Config{HiredArchiveReasons: tc.configured})
			got := kinds(webhookstest.Pass(t, s, lever.ResourceOpportunities, atssync.Cursor{Since: testSince}))
			if !slices.Contains(got, tc.want) {
				t.Errorf("no %s in %v", tc.want, got)
			}
			if diff := cmp.Diff(tc.wantHired, s.HiredArchiveReasons()); diff != "" {
				t.Errorf("HiredArchiveReasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSyncStageName: after a pass the sync names Lever's stage ids for the receiver.
func TestSyncStageName(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 100, lever.Config{})
	if got := s.StageName("offer"); got != "" {
		t.Errorf("before a pass: %q, want none", got)
	}
	webhookstest.Pass(t, s, lever.ResourceOpportunities, atssync.Cursor{Since: testSince})
	if got := s.StageName("2ca03d97-d4f2-4a97-89de-96c8b0d07924"); got != "Phone screen" {
		t.Errorf("StageName: %q, want Phone screen", got)
	}
}

// TestSyncKeepNames: a replica that runs no pass still names stages and hires for its
// receiver: KeepNames reads Lever's stages and archive reasons (not the postings), and
// a pass resumed on that replica afterwards reads the postings it lacks.
func TestSyncKeepNames(t *testing.T) {
	f := newFake(t)
	s := newSync(f, 100, lever.Config{HiredArchiveReasons: []string{"configured"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.KeepNames(ctx, time.Hour); close(done) }()
	for deadline := time.Now().Add(5 * time.Second); s.StageName("offer") == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("KeepNames read no stage names")
		}
	}
	cancel()
	<-done
	if got := s.HiredArchiveReasons(); !slices.Equal(got, []string{"0092d31b-502b-4f0d-b4da-3827e1a2991f"}) {
		t.Errorf("HiredArchiveReasons %v, want Lever's", got)
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "/v1/postings") {
			t.Errorf("KeepNames read the postings: %s", r)
		}
	}

	resumed := atssync.Cursor{Since: testSince, Token: strconv.FormatInt(testNow.UnixMilli(), 10) + `.["0","after id"]`}
	p, err := s.Pull(context.Background(), lever.ResourceOpportunities, resumed)
	if err != nil {
		t.Fatal(err)
	}
	var titled bool
	for _, in := range p.Interactions {
		titled = titled || (in.Kind == interactions.KindDetailsUpdated && in.Job != nil && in.Job.Title != "")
	}
	if !titled {
		t.Error("a pass resumed after KeepNames names no job: the postings were not read")
	}
}

// TestSyncErrors: Lever's refusals reach the runner as *lever.APIError with the
// status, and nothing of the page is returned.
func TestSyncErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		key      string
		fail     string // path answered with status
		status   int
		resource string
	}{
		// A wrong key: 401 on the first request.
		{"unauthorized", "wrong", "", http.StatusUnauthorized, lever.ResourceUsers},
		// Lever rate-limits: 429 reaches the runner's retrying client as an error.
		{"rate limited", testKey, "/opportunities", http.StatusTooManyRequests, lever.ResourceOpportunities},
		// A failing interview list fails the whole page.
		{"interviews", testKey, "/opportunities/1bd11d54-9d97-444a-a4e3-1cd56ceedbc5/interviews", http.StatusInternalServerError, lever.ResourceOpportunities},
		// Stages are needed to name stage changes.
		{"stages", testKey, "/stages", http.StatusServiceUnavailable, lever.ResourceOpportunities},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			if tc.fail != "" {
				f.Fail(tc.fail, tc.status)
			}
			s := lever.New(lever.Config{APIKey: tc.key, APIURL: f.URL()}, f.Client(), func() time.Time { return testNow })
			p, err := s.Pull(context.Background(), tc.resource, atssync.Cursor{Since: testSince})
			var apiErr *lever.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tc.status {
				t.Fatalf("Pull: %v, want an APIError with status %d", err, tc.status)
			}
			if len(p.Interactions) != 0 || len(p.Users) != 0 || p.More {
				t.Errorf("page %+v returned with the error", p)
			}
		})
	}

	f := newFake(t)
	s := newSync(f, 100, lever.Config{})
	if _, err := s.Pull(context.Background(), "candidates", atssync.Cursor{}); err == nil {
		t.Error("Pull of an unknown resource: no error")
	}
	if _, err := s.Pull(context.Background(), lever.ResourceOpportunities, atssync.Cursor{Token: "not ours"}); err == nil {
		t.Error("Pull with a foreign token: no error")
	}
}

// TestSyncVendor: the names the runner reads.
func TestSyncVendor(t *testing.T) {
	var v atssync.Vendor = lever.New(lever.Config{}, http.DefaultClient, time.Now)
	if v.Name() != "lever" || !slices.Equal(v.Resources(), []string{"users", "opportunities"}) {
		t.Errorf("Name %q, Resources %v", v.Name(), v.Resources())
	}
	if rps, burst := lever.New(lever.Config{}, nil, time.Now).RateLimit(); rps != 10 || burst != 20 {
		t.Errorf("RateLimit %v/s burst %d, want Lever's documented 10/s, 20", rps, burst)
	}
}
