package service_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/lever/levertest"
)

// TestLeverSync: with GOODWILL_LEVER_API_KEY set, the Lever sync runs under the
// runner against (a fake of) Lever's API. Lever's users are in the directory; an
// opportunity's details, stage changes and interviews are on its timeline, except the
// application a webhook had already delivered; and a later stage change webhook
// carries the stage's name, which the sync read.
func TestLeverSync(t *testing.T) {
	const (
		opp     = "1bd11d54-9d97-444a-a4e3-1cd56ceedbc5" // Ada Lovelace's opportunity in the fixture
		contact = "a356f90a-5c96-451c-845a-17cb181b45d0"
		helena  = "b6816cb5-cf05-433c-b07f-2ca3eea60f54" // its owner
	)
	fake := levertest.Start(t, filepath.Join("..", "webhooks", "lever", "testdata", "sync", "lever.json"))
	fake.Fail("/users", http.StatusForbidden) // no pass succeeds before the webhook below
	env := webhookEnv()
	env["GOODWILL_SYNC_INTERVAL"] = "1s"
	env["GOODWILL_SYNC_LOOKBACK"] = "3650d" // the fixture's times are fixed
	env["GOODWILL_LEVER_API_KEY"] = levertest.Key
	env["GOODWILL_LEVER_API_URL"] = fake.URL()
	srv := servicetest.Start(t, env, service.Options{})
	const admin = servicetest.AdminKey

	webhook := func(event string, data map[string]string, token string) {
		t.Helper()
		body, err := json.Marshal(map[string]any{"event": event, "data": data})
		if err != nil {
			t.Fatal(err)
		}
		if r := signDelivery(t, "lever", body, token, whSecret).post(t, srv, "/webhooks/lever"); r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", event, r.Status, r.Body)
		}
	}
	webhook("applicationCreated", map[string]string{"opportunityId": opp, "contactId": contact}, "tok-created")
	servicetest.Eventually(t, 10*time.Second, "the webhook's application", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/applications/lever:"+opp+"/timeline", admin, nil).Status == http.StatusOK
	})
	fake.Fail("/users", 0) // the sync reads the application once the webhook's is known

	var body connectorsBody
	servicetest.Eventually(t, 20*time.Second, "a successful Lever pass", func() bool {
		srv.Do(t, http.MethodGet, "/v1/connectors", admin, nil).JSON(t, &body)
		c := body.Connectors[0]
		return c.Vendor == "lever" && c.LastPass != nil && c.LastPass.Outcome == "ok"
	})
	if c := body.Connectors[0]; !c.Configured || c.Counts["users"] < 5 || c.Counts["applications_updated"] < 4 {
		t.Errorf("lever connector %+v", c)
	}

	var rec map[string]any
	srv.Do(t, http.MethodGet, "/v1/recruiters/lever:"+helena, admin, nil).JSON(t, &rec)
	if rec["name"] != "Helena Wong" || rec["active"] != true || rec["manager_id"] != "lever:6e6931c2-a7d7-4c68-9e24-d3950ae47180" {
		t.Errorf("lever:%s = %v", helena, rec)
	}
	srv.Do(t, http.MethodGet, "/v1/recruiters/lever:89f2a882-6600-41eb-b889-87d51f08e393", admin, nil).JSON(t, &rec)
	if rec["name"] != "Jie Lin" || rec["active"] != false {
		t.Errorf("the deactivated user: %v", rec)
	}

	var tl struct {
		Application  map[string]any   `json:"application"`
		Interactions []map[string]any `json:"interactions"`
	}
	servicetest.Eventually(t, 10*time.Second, "the synced application", func() bool {
		srv.Do(t, http.MethodGet, "/v1/applications/lever:"+opp+"/timeline", admin, nil).JSON(t, &tl)
		return tl.Application["recruiter_id"] == "lever:"+helena
	})
	job, _ := tl.Application["job"].(map[string]any)
	if job["title"] != "Senior Backend Engineer" || tl.Application["stage"] != "On-site interview" || tl.Application["candidate_name"] != "Ada Lovelace" {
		t.Errorf("application %v", tl.Application)
	}
	var kinds []string
	for _, in := range tl.Interactions {
		kinds = append(kinds, in["kind"].(string))
	}
	slices.Sort(kinds)
	// One application_received: the webhook's; the sync left its own out.
	want := []string{"application_received", "details_updated", "interview_scheduled", "interview_scheduled", "stage_changed", "stage_changed"}
	if !slices.Equal(kinds, want) {
		t.Errorf("timeline kinds %v, want %v", kinds, want)
	}

	// The receiver names the stage with the stages the sync read.
	webhook("candidateStageChange", map[string]string{"opportunityId": opp, "contactId": contact,
		"fromStageId": "6e9c9dd8-0bc7-4b2a-9f8e-4c2c6bd8c2a1", "toStageId": "2ca03d97-d4f2-4a97-89de-96c8b0d07924"}, "tok-stage")
	servicetest.Eventually(t, 10*time.Second, "the webhook's stage change", func() bool {
		srv.Do(t, http.MethodGet, "/v1/applications/lever:"+opp+"/timeline", admin, nil).JSON(t, &tl)
		return tl.Application["stage"] == "Phone screen"
	})
}

// TestLeverWebhookAndSyncOnce: a stage change Lever both sends by webhook and reports
// through its API is stored once, whichever goodwill hears of first: the webhook's
// record stands when the sync reads the change later, and a late webhook of a change
// the sync recorded stores nothing new (answered as a duplicate).
func TestLeverWebhookAndSyncOnce(t *testing.T) {
	const (
		opp     = "1bd11d54-9d97-444a-a4e3-1cd56ceedbc5"
		contact = "a356f90a-5c96-451c-845a-17cb181b45d0"
	)
	fake := levertest.Start(t, filepath.Join("..", "webhooks", "lever", "testdata", "sync", "lever.json"))
	env := webhookEnv()
	env["GOODWILL_SYNC_INTERVAL"] = "1s"
	env["GOODWILL_SYNC_LOOKBACK"] = "3650d"
	env["GOODWILL_LEVER_API_KEY"] = levertest.Key
	env["GOODWILL_LEVER_API_URL"] = fake.URL()
	srv := servicetest.Start(t, env, service.Options{})
	const admin = servicetest.AdminKey
	passAfter(t, srv, "lever", time.Now())

	webhook := func(toStage, token string) servicetest.Response {
		t.Helper()
		body, err := json.Marshal(map[string]any{"event": "candidateStageChange", "data": map[string]string{
			"opportunityId": opp, "contactId": contact, "toStageId": toStage}})
		if err != nil {
			t.Fatal(err)
		}
		r := signDelivery(t, "lever", body, token, whSecret).post(t, srv, "/webhooks/lever")
		if r.Status != http.StatusOK {
			t.Fatalf("webhook: %d %s", r.Status, r.Body)
		}
		return r
	}
	// moveInLever makes Lever report the opportunity moved to stage a moment ago.
	moveInLever := func(stage string, ago time.Duration) {
		at := time.Now().Add(-ago).UnixMilli()
		fake.Edit(func(a *levertest.Account) {
			for i, raw := range a.Opportunities {
				var o map[string]any
				if err := json.Unmarshal(raw, &o); err != nil {
					t.Fatal(err)
				}
				if o["id"] != opp {
					continue
				}
				o["stageChanges"] = append(o["stageChanges"].([]any), map[string]any{"toStageId": stage, "updatedAt": at})
				o["updatedAt"] = at
				a.Opportunities[i], _ = json.Marshal(o)
			}
		})
	}
	stageChanges := func(stage string) []map[string]any {
		t.Helper()
		var tl struct {
			Interactions []map[string]any `json:"interactions"`
		}
		srv.Do(t, http.MethodGet, "/v1/applications/lever:"+opp+"/timeline", admin, nil).JSON(t, &tl)
		var out []map[string]any
		for _, in := range tl.Interactions {
			if in["kind"] == "stage_changed" && in["stage"] == stage {
				out = append(out, in)
			}
		}
		return out
	}

	// The webhook first, then the sync.
	webhook("offer", "tok-offer")
	servicetest.Eventually(t, 10*time.Second, "the webhook's stage change", func() bool { return len(stageChanges("Offer")) == 1 })
	moveInLever("offer", 30*time.Second)
	passAfter(t, srv, "lever", time.Now())
	if got := stageChanges("Offer"); len(got) != 1 || strings.HasPrefix(got[0]["external_id"].(string), "sync:") {
		t.Errorf("webhook then sync: %v, want the webhook's record alone", got)
	}

	// The sync first, then the webhook.
	moveInLever("lead-new", time.Minute)
	servicetest.Eventually(t, 20*time.Second, "the sync's stage change", func() bool { return len(stageChanges("New lead")) == 1 })
	var answer struct{ Stored, Duplicates int }
	webhook("lead-new", "tok-lead").JSON(t, &answer)
	if answer.Stored != 0 || answer.Duplicates != 1 {
		t.Errorf("the late webhook: %+v, want stored 0, duplicates 1", answer)
	}
	passAfter(t, srv, "lever", time.Now())
	if got := stageChanges("New lead"); len(got) != 1 || !strings.HasPrefix(got[0]["external_id"].(string), "sync:lever:stage_changed:") {
		t.Errorf("sync then webhook: %v, want the sync's record alone", got)
	}
}

// TestLeverAttributionAfterWebhook: Lever's applicationCreated webhook names no
// source, and it arrives before the sync reads the opportunity, so the sync's own
// application_received is a repeat. The application still gets its attribution, from
// the sync's details_updated, and the scores count it under its source, not (none).
func TestLeverAttributionAfterWebhook(t *testing.T) {
	const (
		opp     = "1bd11d54-9d97-444a-a4e3-1cd56ceedbc5" // Ada Lovelace's opportunity: sources LinkedIn, origin applied
		contact = "a356f90a-5c96-451c-845a-17cb181b45d0"
	)
	fake := levertest.Start(t, filepath.Join("..", "webhooks", "lever", "testdata", "sync", "lever.json"))
	fake.Fail("/users", http.StatusForbidden) // no pass succeeds before the webhook below
	// Ada's opportunity alone, so that the scores count hers only.
	fake.Edit(func(a *levertest.Account) {
		a.Opportunities = slices.DeleteFunc(a.Opportunities, func(raw json.RawMessage) bool {
			var o struct{ ID string }
			return json.Unmarshal(raw, &o) != nil || o.ID != opp
		})
	})
	env := webhookEnv()
	env["GOODWILL_SYNC_INTERVAL"] = "1s"
	env["GOODWILL_SYNC_LOOKBACK"] = "3650d"
	env["GOODWILL_LEVER_API_KEY"] = levertest.Key
	env["GOODWILL_LEVER_API_URL"] = fake.URL()
	srv := servicetest.Start(t, env, service.Options{})
	const admin = servicetest.AdminKey

	body, err := json.Marshal(map[string]any{"event": "applicationCreated", "data": map[string]string{"opportunityId": opp, "contactId": contact}})
	if err != nil {
		t.Fatal(err)
	}
	if r := signDelivery(t, "lever", body, "tok-created", whSecret).post(t, srv, "/webhooks/lever"); r.Status != http.StatusOK {
		t.Fatalf("applicationCreated: %d %s", r.Status, r.Body)
	}
	var tl struct {
		Application  map[string]any   `json:"application"`
		Interactions []map[string]any `json:"interactions"`
	}
	servicetest.Eventually(t, 10*time.Second, "the webhook's application", func() bool {
		r := srv.Do(t, http.MethodGet, "/v1/applications/lever:"+opp+"/timeline", admin, nil)
		if r.Status != http.StatusOK {
			return false
		}
		r.JSON(t, &tl)
		return true
	})
	if tl.Application["attribution"] != nil {
		t.Fatalf("the webhook's application has attribution %v: nothing to check", tl.Application["attribution"])
	}
	bySource := func() map[string]int {
		out := map[string]int{}
		for _, g := range scoresOf(t, srv, admin, "group_by=attribution_source") {
			if g.Applications > 0 {
				out[g.Key] = g.Applications
			}
		}
		return out
	}
	if got := bySource(); got[interactions.NoAttribution] != 1 {
		t.Fatalf("before the sync: %v, want the application under (none)", got)
	}

	fake.Fail("/users", 0)
	passAfter(t, srv, "lever", time.Now())
	servicetest.Eventually(t, 10*time.Second, "the synced details", func() bool {
		srv.Do(t, http.MethodGet, "/v1/applications/lever:"+opp+"/timeline", admin, nil).JSON(t, &tl)
		return tl.Application["recruiter_id"] != nil
	})
	received := 0
	for _, in := range tl.Interactions {
		if in["kind"] == "application_received" {
			received++
		}
	}
	if want := map[string]any{"source": "linkedin", "medium": "applied"}; received != 1 || !reflect.DeepEqual(tl.Application["attribution"], want) {
		t.Errorf("%d application_received, application attribution %v; want 1, %v", received, tl.Application["attribution"], want)
	}
	want := map[string]int{"linkedin": 1}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := bySource()
		if maps.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("applications by attribution source %v, want %v", got, want)
		}
	}
}

// passAfter waits until a pass of vendor that started after t0 has ended well.
func passAfter(t *testing.T, srv *servicetest.Instance, vendor string, t0 time.Time) {
	t.Helper()
	servicetest.Eventually(t, 30*time.Second, "a "+vendor+" pass after "+t0.Format(time.RFC3339Nano), func() bool {
		var body connectorsBody
		srv.Do(t, http.MethodGet, "/v1/connectors", servicetest.AdminKey, nil).JSON(t, &body)
		for _, c := range body.Connectors {
			if c.Vendor != vendor || c.LastPass == nil || c.LastPass.StartedAt == nil || c.LastPass.Outcome != "ok" {
				continue
			}
			started, err := time.Parse(time.RFC3339Nano, *c.LastPass.StartedAt)
			return err == nil && started.After(t0)
		}
		return false
	})
}
