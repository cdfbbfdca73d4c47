package greenhouse_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"
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

// TestServerWebhookAndSyncOnce: the move of application 1001 into Onsite, which
// Greenhouse both sends (candidate_stage_change) and reports through Harvest
// (application_stages), is stored once, whichever goodwill hears of first.
func TestServerWebhookAndSyncOnce(t *testing.T) {
	raw, err := os.ReadFile("testdata/candidate_stage_change.json")
	if err != nil {
		t.Fatal(err)
	}
	// The web hook of the move Harvest reports at 10:00:00, sent two minutes later.
	var hook map[string]any
	if err := json.Unmarshal(raw, &hook); err != nil {
		t.Fatal(err)
	}
	app := hook["payload"].(map[string]any)["application"].(map[string]any)
	app["id"], app["last_activity_at"] = 1001, "2026-11-06T10:02:00Z"
	app["current_stage"] = map[string]any{"id": 6002, "name": "Onsite"}
	app["candidate"].(map[string]any)["id"] = 2001
	body, err := json.Marshal(hook)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "gh-secret"
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	sig := "sha256 " + hex.EncodeToString(mac.Sum(nil))

	for _, order := range []string{"webhook then sync", "sync then webhook"} {
		t.Run(order, func(t *testing.T) {
			cfg, deny := greenhouse.StartFakeHarvestDenying(t)
			webhookFirst := order == "webhook then sync"
			deny(webhookFirst)
			srv := servicetest.Start(t, map[string]string{
				"GOODWILL_WEBHOOK_SECRET_GREENHOUSE": secret,
				"GOODWILL_SYNC_INTERVAL":             "1s",
				"GOODWILL_SYNC_LOOKBACK":             "3650d",
				"GOODWILL_GREENHOUSE_CLIENT_ID":      cfg.ClientID,
				"GOODWILL_GREENHOUSE_CLIENT_SECRET":  cfg.ClientSecret,
				"GOODWILL_GREENHOUSE_USER_ID":        cfg.UserID,
				"GOODWILL_GREENHOUSE_API_URL":        cfg.APIURL,
				"GOODWILL_GREENHOUSE_TOKEN_URL":      cfg.TokenURL,
			}, service.Options{})
			onsite := func() []map[string]any {
				var tl struct {
					Interactions []map[string]any `json:"interactions"`
				}
				srv.Do(t, http.MethodGet, "/v1/applications/greenhouse:1001/timeline", servicetest.AdminKey, nil).JSON(t, &tl)
				var out []map[string]any
				for _, in := range tl.Interactions {
					if in["kind"] == "stage_changed" && in["stage"] == "Onsite" {
						out = append(out, in)
					}
				}
				return out
			}
			send := func() servicetest.Response {
				r := srv.Do(t, http.MethodPost, "/webhooks/greenhouse", "", body, "Signature", sig, "Greenhouse-Event-ID", "gh-onsite")
				if r.Status != http.StatusOK {
					t.Fatalf("web hook: %d %s", r.Status, r.Body)
				}
				return r
			}
			synced := func() bool {
				for _, in := range onsite() {
					if in["external_id"] == "sync:greenhouse:stage_changed:1001:6002" {
						return true
					}
				}
				r := srv.Do(t, http.MethodGet, "/v1/applications/greenhouse:1001/timeline", servicetest.AdminKey, nil)
				return r.Status == http.StatusOK && strings.Contains(string(r.Body), "details_updated")
			}
			if webhookFirst {
				send()
				servicetest.Eventually(t, 10*time.Second, "the web hook's stage change", func() bool { return len(onsite()) == 1 })
				deny(false)
				servicetest.Eventually(t, 20*time.Second, "the sync's details", synced)
			} else {
				servicetest.Eventually(t, 20*time.Second, "the sync's stage change", func() bool { return len(onsite()) == 1 })
				var answer struct{ Stored, Duplicates int }
				send().JSON(t, &answer)
				if answer.Stored != 0 || answer.Duplicates != 1 {
					t.Errorf("the late web hook: %+v, want stored 0, duplicates 1", answer)
				}
			}
			time.Sleep(200 * time.Millisecond) // the projector's lag
			if got := onsite(); len(got) != 1 {
				t.Errorf("stage changes into Onsite: %v, want one", got)
			}
		})
	}
}

// TestServerParkedOfferSynced: an offer web hook for an application goodwill does not
// know yet is parked (202), and written with the application's candidate once the sync
// brings the application.
func TestServerParkedOfferSynced(t *testing.T) {
	raw, err := os.ReadFile("testdata/offer_created.json")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.Replace(string(raw), `"application_id": 265293`, `"application_id": 1001`, 1))
	const secret = "gh-secret"
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	cfg, deny := greenhouse.StartFakeHarvestDenying(t)
	deny(true)
	srv := servicetest.Start(t, map[string]string{
		"GOODWILL_WEBHOOK_SECRET_GREENHOUSE": secret,
		"GOODWILL_SYNC_INTERVAL":             "1s",
		"GOODWILL_SYNC_LOOKBACK":             "3650d",
		"GOODWILL_GREENHOUSE_CLIENT_ID":      cfg.ClientID,
		"GOODWILL_GREENHOUSE_CLIENT_SECRET":  cfg.ClientSecret,
		"GOODWILL_GREENHOUSE_USER_ID":        cfg.UserID,
		"GOODWILL_GREENHOUSE_API_URL":        cfg.APIURL,
		"GOODWILL_GREENHOUSE_TOKEN_URL":      cfg.TokenURL,
	}, service.Options{})
	r := srv.Do(t, http.MethodPost, "/webhooks/greenhouse", "", body, "Signature", "sha256 "+hex.EncodeToString(mac.Sum(nil)), "Greenhouse-Event-ID", "gh-offer")
	if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"parked":true`) {
		t.Fatalf("offer before its application: %d %s, want 202 parked", r.Status, r.Body)
	}
	deny(false)
	servicetest.Eventually(t, 20*time.Second, "the parked offer on the synced application", func() bool {
		var tl struct {
			Interactions []map[string]any `json:"interactions"`
		}
		r := srv.Do(t, http.MethodGet, "/v1/applications/greenhouse:1001/timeline", servicetest.AdminKey, nil)
		if r.Status != http.StatusOK {
			return false
		}
		r.JSON(t, &tl)
		for _, in := range tl.Interactions {
			if in["kind"] == "offer_extended" {
				return in["candidate_id"] == "greenhouse:2001"
			}
		}
		return false
	})
}
