package service_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestSMSFromPoolMember: an SMS from a talent pool's member, who has no application,
// is a candidate-level inbound message on their timeline, not ignored (nor refused
// for the pool's nurture record, which is no application).
func TestSMSFromPoolMember(t *testing.T) {
	t.Parallel()
	tw := newFakeTwilioAPI(t)
	srv := servicetest.Start(t, fakeTwilioEnv(tw, nil), service.Options{})
	const gracePhone = "+14155550177"
	added := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	joined := poolEvent("pool_added", "silver", "cand-grace", added)
	joined["candidate"] = map[string]string{"name": "Grace", "phone": gracePhone}
	postPool(t, srv, servicetest.AdminKey, joined, http.StatusCreated)
	servicetest.Eventually(t, 0, "grace's nurture clock", func() bool { return len(nurtureClocks(t, srv, "cand-grace")) == 1 })

	v := url.Values{"MessageSid": {"SM" + strings.Repeat("ef", 16)}, "From": {gracePhone}, "To": {alertsFrom}, "Body": {"Still interested!"}}
	r := srv.Do(t, http.MethodPost, "/webhooks/twilio/sms", "", v.Encode(), "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", twilioSignature(alertsToken, alertsPublicURL+"/webhooks/twilio/sms", v))
	if r.Status != http.StatusOK {
		t.Fatalf("inbound SMS: %d %s", r.Status, r.Body)
	}
	r = srv.Do(t, http.MethodGet, "/v1/interactions?source=twilio&candidate_id=cand-grace", servicetest.AdminKey, nil)
	var page struct {
		Interactions []map[string]any `json:"interactions"`
	}
	r.JSON(t, &page)
	if len(page.Interactions) != 1 {
		t.Fatalf("SMS touchpoints of grace: %s, want one", r.Body)
	}
	if it := page.Interactions[0]; it["application_id"] != nil || it["kind"] != "message" || it["direction"] != "inbound" || it["channel"] != "sms" {
		t.Errorf("stored %v, want a candidate-level inbound SMS message", it)
	}
}
