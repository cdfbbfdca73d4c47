package service_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/ashby/ashbytest"
)

// Ids of webhooks/ashby/testdata/sync/ashby.json.
const (
	ashbyAda     = "e244839f-1a9f-5fbc-a1e1-df6ea935da27" // Ada Lovelace's application, in Onsite
	ashbyAdaCand = "a9dfd751-9727-57dd-a2c8-3badefcf9699"
	ashbyAlan    = "7f6302b2-c4fc-5a28-96b2-d2a5b91d59eb" // hired, with an accepted offer
	ashbyMaya    = "f0b37f29-706d-5462-9419-bd8e725eaaaa" // Ada's Recruiter
	ashbyOmar    = "d5136f9c-f4b8-5577-91a8-fa3c87bfcac9" // deactivated
	ashbyGrace   = "bf0f4fef-1356-5219-a999-79ea246e5f84" // Maya's manager
)

func startAshby(t *testing.T) (*ashbytest.Fake, *servicetest.Instance) {
	t.Helper()
	fake := ashbytest.Start(t, filepath.Join("..", "webhooks", "ashby", "testdata", "sync", "ashby.json"))
	env := webhookEnv()
	env["GOODWILL_SYNC_INTERVAL"] = "1s"
	env["GOODWILL_SYNC_LOOKBACK"] = "3650d" // the fixture's times are fixed
	env["GOODWILL_ASHBY_API_KEY"] = ashbytest.Key
	env["GOODWILL_ASHBY_API_URL"] = fake.URL()
	return fake, servicetest.Start(t, env, service.Options{})
}

type ashbyTimeline struct {
	Application  map[string]any   `json:"application"`
	Interactions []map[string]any `json:"interactions"`
}

func ashbyTimelineOf(t *testing.T, srv *servicetest.Instance, app string) (ashbyTimeline, bool) {
	t.Helper()
	var tl ashbyTimeline
	r := srv.Do(t, http.MethodGet, "/v1/applications/ashby:"+app+"/timeline", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		return tl, false
	}
	r.JSON(t, &tl)
	return tl, true
}

// TestAshbySync: with GOODWILL_ASHBY_API_KEY set, the Ashby sync runs under the runner
// against (a fake of) Ashby's API, paced by the runner's client through a 429. Ashby's
// users are in the directory, a deactivated one inactive; an application shows the
// candidate's name, the hiring team's Recruiter as owner, the job with its department
// and the stage; its interviews are on the timeline with their times, and an accepted
// offer is an offer_extended.
func TestAshbySync(t *testing.T) {
	fake, srv := startAshby(t)
	fake.Fail("application.list", http.StatusTooManyRequests, 1)
	const admin = servicetest.AdminKey
	passAfter(t, srv, "ashby", time.Time{})

	var body connectorsBody
	srv.Do(t, http.MethodGet, "/v1/connectors", admin, nil).JSON(t, &body)
	for _, c := range body.Connectors {
		if c.Vendor != "ashby" {
			continue
		}
		if !c.Configured || c.Counts["users"] < 3 || c.Counts["applications_updated"] < 5 || c.Counts["interviews"] < 3 || c.Counts["missed_events_recovered"] == 0 {
			t.Errorf("ashby connector %+v", c)
		}
		if tok := c.Cursor["applications"].Token; !strings.Contains(tok, `"sync":"st-`) {
			t.Errorf("applications cursor %q: want Ashby's syncToken", tok)
		}
	}
	if fake.Count("application.list") < 2 {
		t.Errorf("application.list asked %d times: the 429 was not retried", fake.Count("application.list"))
	}

	var rec map[string]any
	srv.Do(t, http.MethodGet, "/v1/recruiters/ashby:"+ashbyMaya, admin, nil).JSON(t, &rec)
	if rec["name"] != "Maya Patel" || rec["email"] != "maya@acme.example" || rec["active"] != true || rec["manager_id"] != "ashby:"+ashbyGrace {
		t.Errorf("ashby:%s = %v", ashbyMaya, rec)
	}
	srv.Do(t, http.MethodGet, "/v1/recruiters/ashby:"+ashbyOmar, admin, nil).JSON(t, &rec)
	if rec["name"] != "Omar Haddad" || rec["active"] != false {
		t.Errorf("the deactivated user: %v", rec)
	}

	var tl ashbyTimeline
	servicetest.Eventually(t, 10*time.Second, "Ada's synced application", func() bool {
		tl, _ = ashbyTimelineOf(t, srv, ashbyAda)
		return tl.Application["recruiter_id"] == "ashby:"+ashbyMaya
	})
	job, _ := tl.Application["job"].(map[string]any)
	if job["title"] != "Senior Backend Engineer" || job["department"] != "Engineering" || tl.Application["stage"] != "Onsite" ||
		tl.Application["candidate_name"] != "Ada Lovelace" {
		t.Errorf("application %v", tl.Application)
	}
	var kinds []string
	var onsite map[string]any
	for _, in := range tl.Interactions {
		kinds = append(kinds, in["kind"].(string))
		if in["kind"] == "interview_scheduled" {
			onsite = in
		}
	}
	slices.Sort(kinds)
	want := []string{"application_received", "details_updated", "interview_canceled", "interview_scheduled", "stage_changed", "stage_changed"}
	if !slices.Equal(kinds, want) {
		t.Errorf("timeline kinds %v, want %v", kinds, want)
	}
	if onsite == nil || onsite["scheduled_for"] != "2026-11-10T15:00:00.000Z" || onsite["duration"] != "1h" {
		t.Errorf("the onsite interview %v, want its time and length", onsite)
	}

	servicetest.Eventually(t, 10*time.Second, "Alan's offer", func() bool {
		tl, _ = ashbyTimelineOf(t, srv, ashbyAlan)
		return slices.ContainsFunc(tl.Interactions, func(in map[string]any) bool { return in["kind"] == "offer_extended" })
	})
}

// TestAshbyWebhookAndSyncOnce: a stage change and an interview Ashby both sends by
// webhook and reports through its API are stored once, whichever goodwill hears of
// first. The webhook's stage change stands when the sync reads it later; a late
// webhook of a stage change the sync recorded is answered as a duplicate; an
// interview carries the same idempotency key from either side.
func TestAshbyWebhookAndSyncOnce(t *testing.T) {
	fake, srv := startAshby(t)
	passAfter(t, srv, "ashby", time.Time{})

	// app is Ada's application as Ashby holds it, in stage title since at.
	app := func(stageID, title string, at time.Time) map[string]any {
		return map[string]any{
			"id": ashbyAda, "createdAt": "2026-11-02T09:00:00.000Z", "updatedAt": at.UTC().Format(time.RFC3339Nano), "status": "Active",
			"candidate":             map[string]any{"id": ashbyAdaCand, "name": "Ada Lovelace", "primaryEmailAddress": map[string]any{"value": "ada@example.com", "type": "Personal", "isPrimary": true}},
			"currentInterviewStage": map[string]any{"id": stageID, "title": title, "type": "Active"},
			"job":                   map[string]any{"id": "d8fb2da2-aedf-52dd-9a24-9a905d872ca5", "title": "Senior Backend Engineer", "departmentId": "efd926ad-ad93-590e-b718-6d40058772b0"},
			"hiringTeam":            []map[string]any{{"userId": ashbyMaya, "role": "Recruiter"}},
		}
	}
	// moveInAshby makes Ashby report the application moved to a stage at at.
	moveInAshby := func(stageID, title string, at time.Time) {
		t.Helper()
		raw, err := json.Marshal(app(stageID, title, at))
		if err != nil {
			t.Fatal(err)
		}
		fake.Edit(func(a *ashbytest.Account) {
			for i, old := range a.Applications {
				if strings.Contains(string(old), ashbyAda) {
					a.Applications[i] = raw
				}
			}
			entry, _ := json.Marshal(map[string]any{"id": "hist-" + stageID, "stageId": stageID, "title": title,
				"enteredStageAt": at.UTC().Format(time.RFC3339Nano), "stageNumber": len(a.History[ashbyAda])})
			a.History[ashbyAda] = append(a.History[ashbyAda], entry)
		})
	}
	webhook := func(action, actionID string, data map[string]any) (answer struct{ Stored, Duplicates int }) {
		t.Helper()
		body, err := json.Marshal(map[string]any{"action": action, "webhookActionId": actionID, "data": data})
		if err != nil {
			t.Fatal(err)
		}
		r := signDelivery(t, "ashby", body, actionID, whSecret).post(t, srv, "/webhooks/ashby")
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", action, r.Status, r.Body)
		}
		r.JSON(t, &answer)
		return answer
	}
	events := func(kind, stage string) []map[string]any {
		t.Helper()
		tl, _ := ashbyTimelineOf(t, srv, ashbyAda)
		var out []map[string]any
		for _, in := range tl.Interactions {
			if in["kind"] == kind && (stage == "" || in["stage"] == stage) {
				out = append(out, in)
			}
		}
		return out
	}

	// synced waits until the timeline shows the sync's reading of the application as
	// updated at at: what the same page wrote is then on the timeline too.
	synced := func(at time.Time) {
		t.Helper()
		servicetest.Eventually(t, 20*time.Second, "the sync's reading of "+at.String(), func() bool {
			return slices.ContainsFunc(events("details_updated", ""), func(in map[string]any) bool {
				o, err := time.Parse(time.RFC3339Nano, in["occurred_at"].(string))
				return err == nil && o.Equal(at)
			})
		})
	}

	// The webhook first, then the sync.
	at := time.Now().Add(-30 * time.Second).Truncate(time.Millisecond)
	if a := webhook("candidateStageChange", "wh-final", map[string]any{"application": app("stage-final", "Final Round", at)}); a.Stored != 1 {
		t.Fatalf("the webhook's stage change: %+v, want stored", a)
	}
	moveInAshby("stage-final", "Final Round", at)
	synced(at)
	if got := events("stage_changed", "Final Round"); len(got) != 1 || strings.HasPrefix(got[0]["external_id"].(string), "sync:") {
		t.Errorf("webhook then sync: %v, want the webhook's record alone", got)
	}

	// The sync first, then the webhook.
	at = time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	moveInAshby("stage-refs", "Reference Check", at)
	servicetest.Eventually(t, 20*time.Second, "the sync's stage change", func() bool { return len(events("stage_changed", "Reference Check")) == 1 })
	if a := webhook("candidateStageChange", "wh-refs", map[string]any{"application": app("stage-refs", "Reference Check", at)}); a.Stored != 0 || a.Duplicates != 1 {
		t.Errorf("the late webhook: %+v, want stored 0, duplicates 1", a)
	}
	passAfter(t, srv, "ashby", time.Now())
	time.Sleep(time.Second) // the projector's lag, for a repeat that would have been stored
	if got := events("stage_changed", "Reference Check"); len(got) != 1 || !strings.HasPrefix(got[0]["external_id"].(string), "sync:ashby:stage_changed:") {
		t.Errorf("sync then webhook: %v, want the sync's record alone", got)
	}

	// An interview the sync recorded: its webhook carries the same key.
	sched := map[string]any{"id": "3b4b2375-bb56-5911-9768-67465bb7595b", "status": "Scheduled", "applicationId": ashbyAda, "candidateId": ashbyAdaCand,
		"updatedAt": "2026-11-06T10:00:00.000Z", "interviewEvents": []map[string]any{{"id": "8265417b-3c5a-51f1-a8ff-f36b1b0fa99e",
			"startTime": "2026-11-10T15:00:00.000Z", "endTime": "2026-11-10T16:00:00.000Z", "createdAt": "2026-11-06T10:00:00.000Z", "updatedAt": "2026-11-06T10:00:00.000Z"}}}
	if a := webhook("interviewScheduleUpdate", "wh-iv", map[string]any{"interviewSchedule": sched}); a.Stored != 0 || a.Duplicates != 1 {
		t.Errorf("the interview's webhook after the sync: %+v, want a duplicate", a)
	}
	// A new interview by webhook first: the sync's reading of it is the same record.
	sched["id"], sched["updatedAt"] = "sched-new", time.Now().UTC().Format(time.RFC3339)
	ev := sched["interviewEvents"].([]map[string]any)[0]
	ev["id"], ev["startTime"], ev["endTime"] = "event-new", "2026-12-20T10:00:00.000Z", "2026-12-20T10:30:00.000Z"
	if a := webhook("interviewScheduleUpdate", "wh-iv2", map[string]any{"interviewSchedule": sched}); a.Stored != 1 {
		t.Fatalf("the new interview's webhook: %+v, want stored", a)
	}
	raw, _ := json.Marshal(sched)
	fake.Edit(func(a *ashbytest.Account) { a.Schedules = append(a.Schedules, raw) })
	passAfter(t, srv, "ashby", time.Now())
	if got := events("interview_scheduled", ""); len(got) != 2 {
		t.Errorf("interviews %v, want the onsite and the new one, once each", got)
	}
	// Alan's accepted offer, which the sync recorded: its webhook names only the
	// application, takes its candidate and repeats the sync's record.
	offer := map[string]any{"id": "f5907e8a-e21a-5b44-80c0-c33e14c3ecd7", "decidedAt": "2026-11-18T09:00:00.000Z", "applicationId": ashbyAlan,
		"acceptanceStatus": "Accepted", "offerStatus": "CandidateAccepted", "latestVersion": map[string]any{"id": "e5118660-a140-5ef0-bb14-a4f314c08365", "createdAt": "2026-11-15T12:00:00.000Z"}}
	if a := webhook("offerUpdate", "wh-offer", map[string]any{"offer": offer}); a.Stored != 0 || a.Duplicates != 1 {
		t.Errorf("the offer's webhook after the sync: %+v, want a duplicate", a)
	}
}
