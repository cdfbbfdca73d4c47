package service_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

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
