package workable_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
	"github.com/goodwillhq/goodwill/webhooks/workable"
	"github.com/goodwillhq/goodwill/webhooks/workable/workabletest"
)

// scale is how much faster than Workable's documented limit these tests run: the
// fake allows 10 requests every second instead of every 10 seconds, and the client is
// paced at 10 a second instead of 1.
const scale = 10

// pacedSync returns a sync against f through the runner's client, configured as
// workable.ClientConfig configures it, at scale times the rate.
func pacedSync(t *testing.T, f *workabletest.Fake) *workable.Sync {
	t.Helper()
	cfg := workable.Config{Token: workabletest.Token, APIURL: f.URL()}
	cc := workable.ClientConfig(cfg)
	cc.Rate *= scale
	cc.Backoff, cc.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	cc.Transport = f.Client().Transport
	client, err := atssync.NewClient(cc)
	if err != nil {
		t.Fatal(err)
	}
	return workable.New(cfg, client, func() time.Time { return testNow })
}

// fullPass runs every resource once, as the runner does, and returns the external ids.
func fullPass(t *testing.T, s *workable.Sync) []string {
	t.Helper()
	var out []string
	for _, res := range s.Resources() {
		out = append(out, webhookstest.IDs(webhookstest.Pass(t, s, res, atssync.Cursor{Since: testSince}))...)
	}
	slices.Sort(out)
	return out
}

// TestSyncPacing: through the runner's client at Workable's documented rate (scaled),
// a pass never goes over the limit the fake enforces (no 429), and it takes as long
// as its requests need at that rate, not longer: the requests are spaced by the rate
// and the pass ends within 1.2 times (requests ÷ rate).
func TestSyncPacing(t *testing.T) {
	f := newFake(t)
	f.Limit(workable.RequestsPerWindow, workable.RateWindow/scale)
	s := pacedSync(t, f)
	start := time.Now()
	got := fullPass(t, s)
	took := time.Since(start)
	n := len(f.Requests())
	if f.Limited() != 0 {
		t.Errorf("%d requests over Workable's limit", f.Limited())
	}
	perSecond := float64(workable.RequestsPerWindow) / workable.RateWindow.Seconds() * scale
	need := time.Duration(float64(n-1) / perSecond * float64(time.Second))
	if took < need*9/10 || took > time.Duration(float64(n)/perSecond*1.2*float64(time.Second))+200*time.Millisecond {
		t.Errorf("%d requests took %v; at %.0f a second they need %v", n, took, perSecond, need)
	}
	if len(got) == 0 {
		t.Error("the pass read nothing")
	}
}

// TestSyncRetries: a 429 with Retry-After, 5xx answers and slow answers slow the
// pass down but change nothing of what it reads.
func TestSyncRetries(t *testing.T) {
	want := fullPass(t, newSync(newFake(t), 100))

	f := newFake(t)
	f.Fail("/candidates", http.StatusTooManyRequests, 1)
	f.Fail("/candidates/3fc9a8/activities", http.StatusServiceUnavailable, 2)
	f.Fail("/events", http.StatusInternalServerError, 1)
	f.Delay(20 * time.Millisecond)
	s := pacedSync(t, f)
	start := time.Now()
	got := fullPass(t, s)
	if !slices.Equal(got, want) {
		t.Errorf("with failures the pass read %v, want %v", got, want)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("the pass took %v: the 429's Retry-After of 1s was not waited out", took)
	}
	count := map[string]int{}
	for _, r := range f.Requests() {
		path, _, _ := strings.Cut(r, "?")
		count[path]++
	}
	if count["/candidates"] != 2 || count["/candidates/3fc9a8/activities"] != 3 || count["/events"] != 2 {
		t.Errorf("requests %v: want each failed one retried", count)
	}
}

// TestRequestsPerApplication measures what a first pass costs in requests: 1,000
// candidates with 5 activities each, over 20 jobs, with 500 events. Workable's
// documented list answers carry the phone, so a candidate costs its activity stream
// and its share of the list pages, the jobs and their hiring teams; the events add a
// request per 100. The figure is what the backfill benchmark divides by.
func TestRequestsPerApplication(t *testing.T) {
	const apps, jobs, events = 1000, 20, 500
	var a workabletest.Account
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a.JobMembers = map[string][]json.RawMessage{}
	a.Activities = map[string][]json.RawMessage{}
	a.Members = []json.RawMessage{raw(map[string]any{"id": "m1", "name": "Helena Wong", "email": "h@acme.example", "active": true})}
	a.Stages = []json.RawMessage{raw(map[string]any{"slug": "interview", "name": "Interview", "kind": "interview"})}
	for j := range jobs {
		sc := fmt.Sprintf("JOB%03d", j)
		a.Jobs = append(a.Jobs, raw(map[string]any{"id": fmt.Sprint(j), "shortcode": sc, "title": "Job", "department": "Eng", "updated_at": "2026-11-01T00:00:00Z"}))
		a.JobMembers[sc] = []json.RawMessage{raw(map[string]any{"id": "m1", "collaboration_role": "recruiting_admin"})}
	}
	for i := range apps {
		id := fmt.Sprintf("c%05d", i)
		a.Candidates = append(a.Candidates, raw(map[string]any{"id": id, "name": "Candidate " + id, "email": id + "@example.com", "phone": "+14155550100",
			"job": map[string]string{"shortcode": fmt.Sprintf("JOB%03d", i%jobs)}, "stage": "interview",
			"created_at": "2026-11-10T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"}))
		for k := range 5 {
			a.Activities[id] = append(a.Activities[id], raw(map[string]any{"id": fmt.Sprintf("%s-%d", id, k), "action": "moved",
				"target_stage": map[string]string{"id": "interview", "name": "Interview"}, "created_at": fmt.Sprintf("2026-11-1%dT10:00:00Z", k)}))
		}
	}
	for e := range events {
		a.Events = append(a.Events, raw(map[string]any{"id": fmt.Sprintf("e%04d", e), "type": "interview", "candidate": map[string]string{"id": fmt.Sprintf("c%05d", e)},
			"starts_at": "2026-11-25T10:00:00Z", "ends_at": "2026-11-25T11:00:00Z"}))
	}
	f := workabletest.StartAccount(t, a)
	s := newSync(f, 0) // pages of 100, as the server reads
	fullPass(t, s)
	n := len(f.Requests())
	per := float64(n) / apps
	t.Logf("%d requests for %d applications: %.3f per application", n, apps, per)
	// 1 000 activity streams, 10 candidate pages, 20 hiring teams, 5 event pages, and
	// one each of members, stages and jobs.
	if want := apps + apps/100 + jobs + events/100 + 3; n != want {
		t.Errorf("%d requests, want %d", n, want)
	}
}
