package service_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestParkedOfferApplied: an Ashby offer names only its application. Before the
// application is known it is parked — 202 {"parked": true, "reason"}, the delivery log
// says parked, Ashby's connector counts it — and it is written, with the application's
// candidate, when the application arrives by webhook.
func TestParkedOfferApplied(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, webhookEnv(), service.Options{})
	const app = "ashby:e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f6a7b8"
	offer := whFixture(t, "ashby", "offerUpdate.json")

	r := signDelivery(t, "ashby", offer, "", whSecret).post(t, srv, "/webhooks/ashby")
	var parked struct {
		Parked bool   `json:"parked"`
		Reason string `json:"reason"`
	}
	if r.Status != http.StatusAccepted {
		t.Fatalf("offer before its application: %d %s, want 202", r.Status, r.Body)
	}
	r.JSON(t, &parked)
	if !parked.Parked || !bytes.Contains([]byte(parked.Reason), []byte(app)) {
		t.Fatalf("answer %s, want parked, naming the application", r.Body)
	}
	if got := deliveries(t, srv, "source=ashby&outcome=parked"); len(got) != 1 {
		t.Fatalf("parked deliveries %v, want the offer", got)
	}
	var body connectorsBody
	srv.Do(t, http.MethodGet, "/v1/connectors", servicetest.AdminKey, nil).JSON(t, &body)
	for _, c := range body.Connectors {
		if c.Vendor == "ashby" && c.Counts["parked"] != 1 {
			t.Errorf("ashby counts %v, want parked 1", c.Counts)
		}
	}

	// The application arrives: the offer is written with its candidate.
	if r := signDelivery(t, "ashby", whFixture(t, "ashby", "applicationSubmit.json"), "", whSecret).post(t, srv, "/webhooks/ashby"); r.Status != http.StatusOK {
		t.Fatalf("applicationSubmit: %d %s", r.Status, r.Body)
	}
	timelineHas(t, srv, app, map[string]any{"kind": "offer_extended", "candidate_id": "ashby:5b0c1f9e-2d3a-4b5c-8d6e-7f8091a2b3c4"})
	servicetest.Eventually(t, 5*time.Second, "the offer's delivery stored", func() bool {
		return len(deliveries(t, srv, "source=ashby&outcome=parked")) == 0
	})
	// A redelivery now is a duplicate, not a second offer.
	if r := signDelivery(t, "ashby", offer, "", whSecret).post(t, srv, "/webhooks/ashby"); r.Status != http.StatusOK {
		t.Fatalf("the offer again: %d %s", r.Status, r.Body)
	}
	if n := countApp(t, srv, app); n != 2 {
		t.Errorf("%d interactions, want the application and one offer", n)
	}
}
