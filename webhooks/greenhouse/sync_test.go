package greenhouse

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// testNow is the sync's clock in tests: after every change in testdata/sync/harvest.json.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// lookback is where a first pass starts (GOODWILL_SYNC_LOOKBACK's default).
var lookback = testNow.Add(-30 * 24 * time.Hour)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestSync(t *testing.T) (*Sync, *fakeHarvest, *clock) {
	t.Helper()
	clk := &clock{t: testNow}
	f := newFakeHarvest(t, clk.now)
	s, err := New(f.config(), http.DefaultClient, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	return s, f, clk
}

// pass pulls every page of resource from cursor, as the runner does.
func pass(t *testing.T, s *Sync, resource string, cursor atssync.Cursor) []atssync.Page {
	t.Helper()
	var pages []atssync.Page
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatalf("%s: more than 50 pages", resource)
		}
		page, err := s.Pull(context.Background(), resource, cursor)
		if err != nil {
			t.Fatalf("%s: Pull: %v", resource, err)
		}
		pages = append(pages, page)
		cursor = page.Next
		if !page.More {
			return pages
		}
	}
}

// TestSyncGolden reads every resource from the fake Harvest over several pages and
// compares what a pass maps with testdata/sync/<resource>.golden.json.
func TestSyncGolden(t *testing.T) {
	for _, resource := range (&Sync{}).Resources() {
		t.Run(resource, func(t *testing.T) {
			s, f, _ := newTestSync(t)
			pages := pass(t, s, resource, atssync.Cursor{Since: lookback})
			got := goldenJSON(t, pages, f.srv.URL)
			webhookstest.GoldenFile(t, filepath.Join("testdata", "sync", resource+".golden.json"), got)
		})
	}
}

// goldenJSON renders pages without what differs between runs: interaction ids and the
// fake's address.
func goldenJSON(t *testing.T, pages []atssync.Page, origin string) []byte {
	t.Helper()
	for i := range pages {
		for j := range pages[i].Interactions {
			pages[i].Interactions[j].ID = ""
		}
	}
	b, err := json.MarshalIndent(pages, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(strings.ReplaceAll(string(b), origin, "http://harvest.test")), '\n')
}

// all collects a pass's interactions by external id.
func all(pages []atssync.Page) map[string]interactions.Interaction {
	out := map[string]interactions.Interaction{}
	for _, p := range pages {
		for _, it := range p.Interactions {
			out[it.ExternalID] = it
		}
	}
	return out
}

// TestUsers: every user is in the directory as greenhouse:<id>; a deactivated one is
// not active; a user without a display name gets first and last name.
func TestUsers(t *testing.T) {
	s, _, _ := newTestSync(t)
	got := map[string]atssync.User{}
	for _, p := range pass(t, s, ResourceUsers, atssync.Cursor{Since: lookback}) {
		for _, u := range p.Users {
			got[u.ID] = u
		}
	}
	want := map[string]atssync.User{
		"greenhouse:101": {ID: "greenhouse:101", Name: "Rita Recruiter", Email: "rita@example.com", Active: true},
		"greenhouse:102": {ID: "greenhouse:102", Name: "Dan Departed", Email: "dan@example.com", Active: false},
		"greenhouse:103": {ID: "greenhouse:103", Name: "Hana Manager", Email: "hana@example.com", Active: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}

	// A pass's last page leaves a cursor without a page token (a runner keeps its
	// previous cursor for a zero one, which would hold a stale page token).
	pages := pass(t, s, ResourceUsers, atssync.Cursor{})
	if last := pages[len(pages)-1].Next; last.Token != "" || last.Since.IsZero() {
		t.Errorf("users' cursor after a pass: %+v", last)
	}
}

// TestApplications checks the rules the golden file shows, one by one.
func TestApplications(t *testing.T) {
	s, _, _ := newTestSync(t)
	pages := pass(t, s, ResourceApplications, atssync.Cursor{Since: lookback})
	got := all(pages)

	// Details: candidate, job with department, owning recruiter, stage, source.
	d := got["sync:greenhouse:details_updated:1001:2026-11-10T15:00:00.000Z"]
	if d.Kind != interactions.KindDetailsUpdated || d.Candidate == nil || *d.Candidate != (interactions.Person{Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+14155550100"}) ||
		d.Job == nil || *d.Job != (interactions.JobInfo{Title: "Backend Engineer", Department: "Engineering"}) ||
		d.RecruiterID != "greenhouse:101" || d.Stage != "Onsite" || d.Referral || d.Metadata["source"] != "LinkedIn" {
		t.Errorf("details of 1001: %+v", d)
	}
	// An anonymised candidate: no contact details, so none are overwritten.
	if d := got["sync:greenhouse:details_updated:1002:2026-11-09T11:00:00.000Z"]; d.Kind == "" || d.Candidate != nil {
		t.Errorf("details of the anonymised 1002: %+v", d)
	}
	// A referral: a referrer, or a source that says so.
	if d := got["sync:greenhouse:details_updated:1004:2026-11-15T17:00:00.000Z"]; !d.Referral {
		t.Errorf("1004 was referred: %+v", d)
	}
	// Missed events under the receiver's ids.
	for _, id := range []string{"new_candidate_application:1001", "hire_candidate:1004", "new_prospect_application:1005"} {
		if _, ok := got[id]; !ok {
			t.Errorf("missing %s", id)
		}
	}
	if sc := got["sync:greenhouse:stage_changed:1001:6002"]; sc.Kind != interactions.KindStageChanged || sc.Stage != "Onsite" ||
		!sc.OccurredAt.Equal(time.Date(2026, 11, 6, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("stage change of 1001: %+v", sc)
	}
	if _, ok := got["sync:greenhouse:stage_changed:1004:6003"]; ok {
		t.Error("1004 never left its first stage: no stage change")
	}
	// Rejections: notified when Greenhouse logged an email to the candidate then.
	without := got["reject_candidate:1002:2026-11-05T16:00:00Z"]
	with := got["reject_candidate:1003:2026-11-12T09:00:00Z"]
	if without.Kind != interactions.KindRejected || without.CandidateNotified {
		t.Errorf("rejection of 1002 (no email): %+v", without)
	}
	if with.Kind != interactions.KindRejected || !with.CandidateNotified || !with.IsContact() {
		t.Errorf("rejection of 1003 (email sent): %+v", with)
	}
	// The application last active before the lookback is not read.
	for id := range got {
		if strings.Contains(id, ":999") {
			t.Errorf("application 999 is older than the lookback: %s", id)
		}
	}
	// The durable cursor is the latest last_activity_at.
	last := pages[len(pages)-1]
	if want := time.Date(2026, 11, 18, 8, 0, 0, 0, time.UTC); last.More || last.Next.Token != "" || !last.Next.Since.Equal(want) {
		t.Errorf("end of pass: More %v, Next %+v; want Since %v", last.More, last.Next, want)
	}
}

// TestNextPassOverlap: the next pass asks for last_activity_at from its cursor less
// the overlap, on the first request only; follow-ups carry the cursor alone.
func TestNextPassOverlap(t *testing.T) {
	s, f, _ := newTestSync(t)
	pages := pass(t, s, ResourceApplications, atssync.Cursor{Since: lookback})
	if len(pages) < 2 {
		t.Fatalf("want several pages, got %d", len(pages))
	}
	pass(t, s, ResourceApplications, pages[len(pages)-1].Next)
	qs := f.queries["applications"]
	want := "last_activity_at=gte%7C2026-11-18T07%3A45%3A00Z&per_page=50"
	if len(qs) != 2 || qs[1] != want {
		t.Errorf("first-page queries %q, want the second to be %q", qs, want)
	}
}

// TestInterviews: interviews on a calendar are scheduled with scheduled_for and
// duration; one moved after it was put on the calendar is also rescheduled; one not
// yet scheduled maps to nothing.
func TestInterviews(t *testing.T) {
	s, _, _ := newTestSync(t)
	got := all(pass(t, s, ResourceInterviews, atssync.Cursor{Since: lookback}))
	sch := got["sync:greenhouse:interview_scheduled:1001:7001"]
	if sch.Kind != interactions.KindInterviewScheduled || sch.InterviewID != "greenhouse:7001" || sch.CandidateID != "greenhouse:2001" ||
		sch.ScheduledFor == nil || !sch.ScheduledFor.Equal(time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)) ||
		sch.Duration == nil || sch.Duration.Wall() != 45*time.Minute {
		t.Errorf("scheduled 7001: %+v", sch)
	}
	if _, ok := got["sync:greenhouse:interview_rescheduled:1001:7001@2026-11-25T15:00:00Z"]; ok {
		t.Error("7001 was not moved")
	}
	re := got["sync:greenhouse:interview_rescheduled:1001:7002@2026-11-27T10:00:00Z"]
	if re.Kind != interactions.KindInterviewRescheduled || re.Duration == nil || re.Duration.Wall() != 90*time.Minute {
		t.Errorf("rescheduled 7002: %+v", re)
	}
	for id := range got {
		if strings.Contains(id, "7003") {
			t.Errorf("7003 is not on a calendar: %s", id)
		}
	}
	if _, ok := got["sync:greenhouse:interview_scheduled:1004:7004"]; !ok {
		t.Error("the completed 7004 was scheduled once")
	}
}

// TestEmails: emails logged on an application are messages on channel email, inbound
// when the candidate wrote, outbound to them, internal among the team; notes and
// emails on no application are not messages.
func TestEmails(t *testing.T) {
	s, _, _ := newTestSync(t)
	got := all(pass(t, s, ResourceEmails, atssync.Cursor{Since: lookback}))
	in, out := got["sync:greenhouse:message:1001:8001"], got["sync:greenhouse:message:1001:8002"]
	if in.Kind != interactions.KindMessage || in.Channel != "email" || in.Direction != interactions.Inbound {
		t.Errorf("8001: %+v", in)
	}
	if out.Direction != interactions.Outbound || out.ActorID != "greenhouse:101" || !out.IsContact() {
		t.Errorf("8002: %+v", out)
	}
	if internal := got["sync:greenhouse:message:1002:8006"]; internal.Direction != interactions.Internal || internal.IsContact() {
		t.Errorf("8006, among the hiring team: %+v", internal)
	}
	if len(got) != 4 {
		t.Errorf("want 8001, 8002, 8005 and 8006, got %d messages", len(got))
	}
}

// TestTokenRenewedBeforeExpiry: a token is used until renewBefore its expiry, then
// replaced before any request is refused.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	s, f, clk := newTestSync(t)
	f.ttl = time.Hour
	ctx := context.Background()
	pull := func() {
		t.Helper()
		if _, err := s.Pull(ctx, ResourceUsers, atssync.Cursor{}); err != nil {
			t.Fatal(err)
		}
	}
	pull()
	clk.add(50 * time.Minute) // 10 minutes left: still used
	pull()
	if f.issued != 1 {
		t.Fatalf("tokens issued %d, want 1 while the first is valid", f.issued)
	}
	clk.add(6 * time.Minute) // 4 minutes left: renewed
	pull()
	if f.issued != 2 {
		t.Errorf("tokens issued %d, want 2: renewed before expiry", f.issued)
	}
	if f.calls["users"] != 3 {
		t.Errorf("API calls %d, want 3: no request refused", f.calls["users"])
	}
}

// TestTokenRenewedOnceOn401: a refused token is renewed and the request retried once;
// a second refusal is the error.
func TestTokenRenewedOnceOn401(t *testing.T) {
	s, f, _ := newTestSync(t)
	ctx := context.Background()
	if _, err := s.Pull(ctx, ResourceUsers, atssync.Cursor{}); err != nil {
		t.Fatal(err)
	}
	f.revoke()
	if _, err := s.Pull(ctx, ResourceUsers, atssync.Cursor{}); err != nil {
		t.Fatalf("after a revoked token: %v", err)
	}
	if f.issued != 2 || f.calls["users"] != 3 {
		t.Errorf("issued %d tokens, %d calls; want 2 and 3", f.issued, f.calls["users"])
	}

	f.deny = true
	_, err := s.Pull(ctx, ResourceUsers, atssync.Cursor{})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("always refused: %v, want a 401 HTTPError", err)
	}
	if f.issued != 3 || f.calls["users"] != 5 {
		t.Errorf("issued %d tokens, %d calls; want one renewal and one retry (3, 5)", f.issued, f.calls["users"])
	}
}

// TestExpiredPageCursor: a page cursor Greenhouse no longer accepts restarts the
// resource from the durable cursor instead of failing the pass.
func TestExpiredPageCursor(t *testing.T) {
	s, f, _ := newTestSync(t)
	stale := atssync.Cursor{Since: lookback, Token: passToken{Next: f.srv.URL + "/v3/applications?cursor=gone"}.encode()}
	page, err := s.Pull(context.Background(), ResourceApplications, stale)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Interactions) == 0 || len(f.queries["applications"]) != 1 {
		t.Errorf("restart: %d interactions, first-page queries %q", len(page.Interactions), f.queries["applications"])
	}
}

// TestStoredTokenElsewhere: a stored page token naming another origin is not
// followed; the resource starts again under the API URL.
func TestStoredTokenElsewhere(t *testing.T) {
	s, f, _ := newTestSync(t)
	foreign := atssync.Cursor{Since: lookback, Token: passToken{Next: "http://127.0.0.1:1/v3/applications?cursor=x"}.encode()}
	page, err := s.Pull(context.Background(), ResourceApplications, foreign)
	if err != nil || len(page.Interactions) == 0 || len(f.queries["applications"]) != 1 {
		t.Errorf("err %v, %d interactions, first-page queries %q", err, len(page.Interactions), f.queries["applications"])
	}
}

// TestNextLinkElsewhere: a next link to another origin is refused, so the bearer
// token never leaves the API.
func TestNextLinkElsewhere(t *testing.T) {
	s, f, _ := newTestSync(t)
	f.nextHost = "http://127.0.0.1:1"
	_, err := s.Pull(context.Background(), ResourceUsers, atssync.Cursor{})
	if err == nil || !strings.Contains(err.Error(), "leaves the API") {
		t.Fatalf("err = %v, want the next link refused", err)
	}
}

// TestConfig: a credential is required, URLs must be http(s).
func TestConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},              // no credential
		{ClientID: "a"}, // no secret
		{ClientID: "a", ClientSecret: "b", APIURL: "ftp://x"},  // not http
		{ClientID: "a", ClientSecret: "b", TokenURL: "://bad"}, // not a URL
	} {
		if _, err := New(cfg, nil, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := New(Config{ClientID: "a", ClientSecret: "b"}, nil, nil); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// TestNextLink parses Link header values.
func TestNextLink(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{`<https://h/v3/jobs?cursor=a>; rel="next"`}, "https://h/v3/jobs?cursor=a"},
		{[]string{`<https://h/a>; rel="prev", <https://h/b>; rel="next"`}, "https://h/b"},
		{[]string{`<https://h/a,b>; rel=next`}, "https://h/a,b"}, // comma inside the URL
		{[]string{`<https://h/a>; rel="prev"`}, ""},
		{[]string{`https://h/a; rel="next"`}, ""}, // no <…>
	} {
		if got := nextLink(tc.in); got != tc.want {
			t.Errorf("nextLink(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzNextLink: any header value parses without panicking, and a link found is what
// stood between < and >.
func FuzzNextLink(f *testing.F) {
	f.Add(`<https://harvest.greenhouse.io/v3/jobs?cursor=abc>; rel="next"`)
	f.Add(`<a>; rel="prev", <b>; rel="next"`)
	f.Add(`<<>>,,;rel=next`)
	f.Fuzz(func(t *testing.T, v string) {
		got := nextLink([]string{v})
		if got != "" && !strings.Contains(v, "<"+got+">") {
			t.Errorf("nextLink(%q) = %q, not a bracketed target", v, got)
		}
	})
}

// FuzzPassToken: a stored token either decodes to a next URL or counts as none.
func FuzzPassToken(f *testing.F) {
	f.Add(passToken{Next: "https://h/v3/x?cursor=1", Max: testNow}.encode())
	f.Add(`{"next":""}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, s string) {
		p := decodeToken(s)
		if p.Next == "" && p != (passToken{}) {
			t.Errorf("decodeToken(%q) = %+v: a token without a next URL must be none", s, p)
		}
	})
}

// TestSameIDsAsReceiver: an event the web hook also delivers gets the receiver's
// external id, so whichever of the two arrives second is a duplicate.
func TestSameIDsAsReceiver(t *testing.T) {
	s, _, _ := newTestSync(t)
	synced := all(pass(t, s, ResourceApplications, atssync.Cursor{Since: lookback}))
	app := func(id int, extra string) string {
		return `{"id": ` + strconv.Itoa(id) + `, "prospect": false, "applied_at": "2026-11-02T09:00:00Z",
			"last_activity_at": "2026-11-15T17:00:00Z"` + extra + `,
			"candidate": {"id": 1, "first_name": "A", "last_name": "B"}, "jobs": []}`
	}
	for _, tc := range []struct{ action, application string }{
		{"new_candidate_application", app(1001, "")},
		{"reject_candidate", app(1003, `, "rejected_at": "2026-11-12T09:00:00Z"`)},
		{"hire_candidate", app(1004, `, "offer": {"id": 1, "resolved_at": "2026-11-15T17:00:00Z"}`)},
	} {
		body := `{"action": "` + tc.action + `", "payload": {"application": ` + tc.application + `}}`
		d, err := Receiver{}.Parse(http.Header{}, []byte(body), testNow)
		if err != nil || len(d.Items) != 1 {
			t.Fatalf("%s: receiver: %v, %d items", tc.action, err, len(d.Items))
		}
		if id := d.Items[0].ExternalID; synced[id].Kind == "" {
			t.Errorf("%s: the receiver's external id %q is not among the sync's", tc.action, id)
		}
	}
}
