package service_test

import (
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/workable/workabletest"
)

// workableLena starts the fake Workable account of the Workable sync's tests with only
// Lena Novak's candidacy (3fc9a8, the receiver's candidate_moved fixture), so that a
// pass at Workable's documented pace (a request a second) takes a few seconds; its
// members answer 403 until the test releases them with fake.Fail("/members", 0, 0).
func workableLena(t *testing.T) (*workabletest.Fake, map[string]string) {
	t.Helper()
	fake := workabletest.Start(t, filepath.Join("..", "webhooks", "workable", "testdata", "sync", "workable.json"))
	fake.Edit(func(a *workabletest.Account) { a.Candidates = a.Candidates[1:2] })
	fake.Fail("/members", http.StatusForbidden, 1_000_000) // no pass succeeds before the test says
	env := webhookEnv()
	env["GOODWILL_SYNC_INTERVAL"] = "1s"
	env["GOODWILL_SYNC_LOOKBACK"] = "3650d" // the fixture's times are fixed
	env["GOODWILL_WORKABLE_TOKEN"] = workabletest.Token
	env["GOODWILL_WORKABLE_SUBDOMAIN"] = "acme"
	env["GOODWILL_WORKABLE_API_URL"] = fake.URL()
	return fake, env
}

// workablePass waits for a successful Workable pass and returns the connector.
func workablePass(t *testing.T, srv *servicetest.Instance) map[string]int {
	t.Helper()
	var body connectorsBody
	servicetest.Eventually(t, 60*time.Second, "a successful Workable pass", func() bool {
		srv.Do(t, http.MethodGet, "/v1/connectors", servicetest.AdminKey, nil).JSON(t, &body)
		for _, c := range body.Connectors {
			if c.Vendor == "workable" {
				return c.Configured && c.LastPass != nil && c.LastPass.Outcome == "ok"
			}
		}
		return false
	})
	for _, c := range body.Connectors {
		if c.Vendor == "workable" {
			return c.Counts
		}
	}
	return nil
}

type workableTimeline struct {
	Application  map[string]any   `json:"application"`
	Interactions []map[string]any `json:"interactions"`
}

// kindsOf lists the timeline's kinds, sorted.
func (tl workableTimeline) kinds() []string {
	var out []string
	for _, in := range tl.Interactions {
		out = append(out, in["kind"].(string))
	}
	slices.Sort(out)
	return out
}

// TestWorkableSync: with GOODWILL_WORKABLE_* set, the Workable sync runs under the
// runner, at Workable's pace, against (a fake of) Workable's API. The members are
// recruiters (a deactivated one inactive); the candidacy a webhook had announced gets
// the candidate's name and phone, the job's title and department, its owner (the
// job's recruiting admin), its interview with time and length, and the messages
// exchanged; the stage change the webhook had delivered is stored once.
func TestWorkableSync(t *testing.T) {
	fake, env := workableLena(t)
	srv := servicetest.Start(t, env, service.Options{})
	const admin = servicetest.AdminKey

	// The webhook first: Lena moved to phone-screen (fired 13:20:01).
	body := whFixture(t, "workable", "candidate_moved.json")
	if r := signDelivery(t, "workable", body, "", whSecret).post(t, srv, "/webhooks/workable/candidate_moved"); r.Status != http.StatusOK {
		t.Fatalf("candidate_moved: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 10*time.Second, "the webhook's application", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/applications/workable:3fc9a8/timeline", admin, nil).Status == http.StatusOK
	})
	fake.Fail("/members", 0, 0)
	counts := workablePass(t, srv)
	// Recovered: Lena's application and move to interview, which no webhook
	// delivered, and the four interview events of the account's three events with a
	// candidate (Workable sends no webhook for them).
	if counts["users"] != 3 || counts["applications_updated"] != 1 || counts["interviews"] != 3 || counts["messages"] != 2 ||
		counts["missed_events_recovered"] != 6 {
		t.Errorf("workable counts %v", counts)
	}

	var rec map[string]any
	srv.Do(t, http.MethodGet, "/v1/recruiters/workable:13e0eb0e", admin, nil).JSON(t, &rec)
	if rec["name"] != "Helena Wong" || rec["email"] != "helena.wong@acme.example" || rec["active"] != true {
		t.Errorf("workable:13e0eb0e = %v", rec)
	}
	srv.Do(t, http.MethodGet, "/v1/recruiters/workable:5a1d3e77", admin, nil).JSON(t, &rec)
	if rec["name"] != "Jie Lin" || rec["active"] != false {
		t.Errorf("the deactivated member: %v", rec)
	}

	var tl workableTimeline
	servicetest.Eventually(t, 10*time.Second, "the synced application", func() bool {
		srv.Do(t, http.MethodGet, "/v1/applications/workable:3fc9a8/timeline", admin, nil).JSON(t, &tl)
		return tl.Application["recruiter_id"] == "workable:13e0eb0e" && len(tl.Interactions) >= 7
	})
	job, _ := tl.Application["job"].(map[string]any)
	if job["title"] != "Backend Engineer" || job["department"] != "Engineering" || tl.Application["stage"] != "interview" ||
		tl.Application["candidate_name"] != "Lena Novak" {
		t.Errorf("application %v", tl.Application)
	}
	// One stage_changed into phone-screen: the webhook's; the sync left its own out.
	want := []string{"application_received", "details_updated", "interview_scheduled", "message", "message", "stage_changed", "stage_changed"}
	if got := tl.kinds(); !slices.Equal(got, want) {
		t.Errorf("timeline kinds %v, want %v", got, want)
	}
	for _, in := range tl.Interactions {
		switch in["kind"] {
		case "interview_scheduled":
			if in["scheduled_for"] != "2026-11-25T10:00:00.000Z" || in["duration"] != "1h" || in["interview_id"] != "workable:4770c5c" {
				t.Errorf("interview %v", in)
			}
		case "stage_changed":
			if in["stage"] == "phone-screen" && in["external_id"] != "candidate_moved:ev-8a1c3e" {
				t.Errorf("the move to phone-screen %v: want the webhook's", in)
			}
		case "details_updated":
			if c, _ := in["candidate"].(map[string]any); c["phone"] != "+38612345678" || c["email"] != "lena.novak@example.com" {
				t.Errorf("details %v: want the phone and email the sync read", in)
			}
		}
	}
}

// TestWorkableSyncThenWebhook: a stage change the sync stored first is not stored
// again by its late webhook (the writer's rule: same application, kind and stage
// within five minutes).
func TestWorkableSyncThenWebhook(t *testing.T) {
	fake, env := workableLena(t)
	fake.Fail("/members", 0, 0)
	srv := servicetest.Start(t, env, service.Options{})
	const admin = servicetest.AdminKey
	workablePass(t, srv)
	var tl workableTimeline
	servicetest.Eventually(t, 10*time.Second, "the synced application", func() bool {
		srv.Do(t, http.MethodGet, "/v1/applications/workable:3fc9a8/timeline", admin, nil).JSON(t, &tl)
		return len(tl.Interactions) >= 7
	})
	before := tl.kinds()

	body := whFixture(t, "workable", "candidate_moved.json")
	r := signDelivery(t, "workable", body, "", whSecret).post(t, srv, "/webhooks/workable/candidate_moved")
	if r.Status != http.StatusOK {
		t.Fatalf("candidate_moved: %d %s", r.Status, r.Body)
	}
	time.Sleep(1500 * time.Millisecond) // the projector is at most a second behind
	srv.Do(t, http.MethodGet, "/v1/applications/workable:3fc9a8/timeline", admin, nil).JSON(t, &tl)
	if got := tl.kinds(); !slices.Equal(got, before) {
		t.Errorf("after the late webhook: %v, want %v (its stage change stored once)", got, before)
	}
}
