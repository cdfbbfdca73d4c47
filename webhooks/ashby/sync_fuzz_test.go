package ashby

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// FuzzAPIResponse reads whatever Ashby might answer to a list endpoint and maps it as a
// pass does: reading never panics, a failure is an *APIError, and every interaction
// a page would carry is one POST /v1/interactions accepts, with an external id under
// the sync's or the receiver's prefixes. Seeds: each list of testdata/sync/ashby.json
// in Ashby's envelope, and Ashby's error shapes.
func FuzzAPIResponse(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sync", "ashby.json"))
	if err != nil {
		f.Fatal(err)
	}
	var fx map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fx); err != nil {
		f.Fatal(err)
	}
	for _, list := range []string{"users", "applications", "interview_schedules", "offers", "departments"} {
		seed, _ := json.Marshal(map[string]any{"success": true, "results": fx[list], "moreDataAvailable": false, "syncToken": "st-1"})
		f.Add(http.StatusOK, seed)
	}
	f.Add(http.StatusOK, []byte(`{"success":false,"errorInfo":{"code":"sync_token_expired","message":"x"}}`))
	f.Add(http.StatusOK, []byte(`{"success":false,"errors":[{"code":"incremental_sync_too_large","message":"y"}]}`))
	f.Add(http.StatusOK, []byte(`{"success":true,"results":[{"id":"a\u0000","candidate":{"id":7}}],"moreDataAvailable":true}`))
	f.Add(http.StatusForbidden, []byte(`{"success":false,"errors":["missing_endpoint_permission"]}`))
	f.Add(http.StatusBadGateway, []byte(`<html>bad gateway</html>`))

	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		env, err := decodeEnvelope("application.list", status, body)
		if err != nil {
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			return
		}
		page := atssync.Page{Counts: map[string]int{}}
		if apps, err := decodeList[apiApplication]("application.list", env); err == nil {
			for i := range apps.Results {
				var hist []apiHistory
				_ = json.Unmarshal(env.Results, &hist)
				for _, in := range mapApplication(&apps.Results[i], hist, "Dept", now) {
					add(&page, in, now)
				}
			}
		}
		if scheds, err := decodeList[apiSchedule]("interviewSchedule.list", env); err == nil {
			for i := range scheds.Results {
				d := webhooks.Delivery{Source: "ashby", Event: "interviewScheduleUpdate"}
				scheds.Results[i].CandidateID = "c"
				if (Receiver{}).schedule(&d, &scheds.Results[i], now) == nil {
					for _, in := range d.Items {
						add(&page, in, now)
					}
				}
			}
		}
		if users, err := decodeList[apiUser]("user.list", env); err == nil {
			for _, u := range users.Results {
				if id := vendorID(u.ID); id != "" && (!strings.HasPrefix(id, "ashby:") || id != webhooks.CleanLine(id)) {
					t.Errorf("user id %q", id)
				}
			}
		}
		_, _ = decodeList[apiOffer]("offer.list", env)
		for _, it := range page.Interactions {
			if it.Source != "ashby" || it.ExternalID == "" || len(it.ExternalID) > webhooks.MaxTextBytes {
				t.Errorf("interaction %+v: source or external id", it)
			}
			if !strings.HasPrefix(it.ExternalID, "sync:ashby:") && !strings.HasPrefix(it.ExternalID, "interview") && !strings.HasPrefix(it.ExternalID, "sha256:") {
				t.Errorf("external id %q: not the sync's nor the receiver's", it.ExternalID)
			}
			if it.Kind == interactions.KindDetailsUpdated && it.Candidate != nil && it.Candidate.Email != "" && webhooks.ValidEmail(it.Candidate.Email) == "" {
				t.Errorf("email %q", it.Candidate.Email)
			}
		}
	})
}
