package greenhouse_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
)

// TestServerSyncsGreenhouse: with GOODWILL_GREENHOUSE_* set, goodwill serve syncs the
// fake Harvest through the runner's paced client: the connector's pass is ok, the
// users are recruiters (a deactivated one inactive), and a rejection Greenhouse
// emailed the candidate about is stored as a notified one.
func TestServerSyncsGreenhouse(t *testing.T) {
	cfg := greenhouse.StartFakeHarvest(t)
	srv := servicetest.Start(t, map[string]string{
		"GOODWILL_SYNC_INTERVAL":            "1s",
		"GOODWILL_SYNC_LOOKBACK":            "3650d", // the fixture's November 2026
		"GOODWILL_GREENHOUSE_CLIENT_ID":     cfg.ClientID,
		"GOODWILL_GREENHOUSE_CLIENT_SECRET": cfg.ClientSecret,
		"GOODWILL_GREENHOUSE_USER_ID":       cfg.UserID,
		"GOODWILL_GREENHOUSE_API_URL":       cfg.APIURL,
		"GOODWILL_GREENHOUSE_TOKEN_URL":     cfg.TokenURL,
	}, service.Options{})
	admin := servicetest.AdminKey

	var body struct {
		Connectors []struct {
			Vendor     string `json:"vendor"`
			Configured bool   `json:"configured"`
			LastPass   *struct {
				Outcome string  `json:"outcome"`
				Error   *string `json:"error"`
			} `json:"last_pass"`
			Counts map[string]int `json:"counts"`
		} `json:"connectors"`
	}
	servicetest.Eventually(t, 20*time.Second, "a finished Greenhouse pass", func() bool {
		srv.Do(t, http.MethodGet, "/v1/connectors", admin, nil).JSON(t, &body)
		for _, c := range body.Connectors {
			if c.Vendor == "greenhouse" {
				return c.LastPass != nil && c.LastPass.Outcome != "running"
			}
		}
		return false
	})
	for _, c := range body.Connectors {
		if c.Vendor != "greenhouse" {
			continue
		}
		if !c.Configured || c.LastPass.Outcome != "ok" || c.Counts["users"] < 3 || c.Counts["interviews"] == 0 || c.Counts["messages"] == 0 {
			t.Errorf("greenhouse connector: configured %v, pass %+v (error %v), counts %v", c.Configured, c.LastPass, c.LastPass.Error, c.Counts)
		}
	}

	var dan map[string]any
	srv.Do(t, http.MethodGet, "/v1/recruiters/greenhouse:102", admin, nil).JSON(t, &dan)
	if dan["name"] != "Dan Departed" || dan["active"] != false {
		t.Errorf("greenhouse:102 = %v, want Dan Departed, inactive", dan)
	}

	var tl struct {
		Interactions []map[string]any `json:"interactions"`
	}
	servicetest.Eventually(t, 5*time.Second, "the rejection on the timeline", func() bool {
		r := srv.Do(t, http.MethodGet, "/v1/applications/greenhouse:1003/timeline", admin, nil)
		if r.Status != http.StatusOK {
			return false
		}
		r.JSON(t, &tl)
		for _, it := range tl.Interactions {
			if it["kind"] == "rejected" {
				return true
			}
		}
		return false
	})
	for _, it := range tl.Interactions {
		if it["kind"] == "rejected" && (it["candidate_notified"] != true || it["external_id"] != "reject_candidate:1003:2026-11-12T09:00:00Z") {
			t.Errorf("rejection %v: want notified, under the receiver's external id", it)
		}
	}
}
