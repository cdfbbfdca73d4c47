package service_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/alerts/email/mailtest"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestEscalationChainEndToEnd: with max_escalations 2, a breach nobody answers climbs
// two managers — the recruiter's, then that manager's — and no further, each level an
// alert of its own.
func TestEscalationChainEndToEnd(t *testing.T) {
	t.Parallel()
	tw := newFakeTwilioAPI(t)
	srv := servicetest.Start(t, fakeTwilioEnv(tw, nil), service.Options{})
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	put := func(path string, body any) {
		t.Helper()
		if r := srv.Do(t, http.MethodPut, path, servicetest.AdminKey, body); r.Status/100 != 2 {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	put("/v1/sla/policies/first_response", map[string]any{"name": "fast", "metric": "first_response", "target": "1s",
		"calendar": "24x7", "warn_ratio": 1, "escalate_after": "2s", "max_escalations": 2, "enabled": true})
	chain := []struct{ id, phone, manager string }{
		{"cara", "+14155550171", "dan"}, {"dan", "+14155550172", "eve"}, {"eve", "+14155550173", "fay"}, {"fay", "+14155550174", ""},
	}
	for _, r := range chain {
		put("/v1/recruiters/"+r.id, map[string]any{"name": r.id, "phone": r.phone, "manager_id": r.manager,
			"channels": map[string]any{"breached": []string{"sms"}, "escalated": []string{"sms"}}, "working_days": everyDay})
	}
	var policy struct {
		Policies []struct {
			ID             string `json:"id"`
			MaxEscalations int    `json:"max_escalations"`
		} `json:"policies"`
	}
	srv.Do(t, http.MethodGet, "/v1/sla/policies", servicetest.AdminKey, nil).JSON(t, &policy)
	for _, p := range policy.Policies {
		if p.ID == "first_response" && p.MaxEscalations != 2 || p.ID == "reply" && p.MaxEscalations != 1 {
			t.Fatalf("policy %+v", p)
		}
	}
	in := interaction("chain-1", "chain-1-received")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "cara"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 20*time.Second, "two escalations", func() bool { return len(tw.to("+14155550173")) >= 1 })
	time.Sleep(3 * time.Second) // another escalate_after: nothing more climbs
	var out struct {
		Alerts []struct {
			ID              string `json:"id"`
			RecruiterID     string `json:"recruiter_id"`
			EscalationLevel int    `json:"escalation_level"`
		} `json:"alerts"`
	}
	srv.Do(t, http.MethodGet, "/v1/alerts?level=escalated", servicetest.AdminKey, nil).JSON(t, &out)
	escalated := out.Alerts
	got := map[int]string{}
	for _, a := range escalated {
		got[a.EscalationLevel] = a.RecruiterID
		if !strings.HasSuffix(a.ID, fmt.Sprintf(":escalated:%d", a.EscalationLevel)) {
			t.Errorf("escalation id %s at level %d", a.ID, a.EscalationLevel)
		}
	}
	if len(escalated) != 2 || got[1] != "dan" || got[2] != "eve" {
		t.Fatalf("escalations %+v", escalated)
	}
	if n := len(tw.to("+14155550174")); n != 0 {
		t.Fatalf("%d SMS to the third manager", n)
	}
	if b, ok := alertOf(t, srv, "chain-1", "breached"); !ok || b.RecruiterID != "cara" {
		t.Fatalf("breach %+v", b)
	}
}

// TestLateUndeliveredEndToEnd: an SMS Twilio took and later reports undelivered is
// followed by exactly one email.
func TestLateUndeliveredEndToEnd(t *testing.T) {
	t.Parallel()
	tw := newFakeTwilioAPI(t)
	mailbox := mailtest.Start(t, nil)
	srv := servicetest.Start(t, fakeTwilioEnv(tw, map[string]string{
		"GOODWILL_SMTP_URL": mailbox.URL(), "GOODWILL_EMAIL_FROM": "alerts@goodwill.example.com",
	}), service.Options{})
	const phone = "+14155550181"
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	for path, body := range map[string]any{
		"/v1/sla/policies/first_response": map[string]any{"name": "fast", "metric": "first_response", "target": "1s",
			"calendar": "24x7", "warn_ratio": 1, "escalate_after": "1h", "enabled": true},
		"/v1/recruiters/gil": map[string]any{"name": "Gil", "phone": phone, "email": "gil@example.com",
			"channels": map[string]any{"breached": []string{"sms"}}, "working_days": everyDay},
	} {
		if r := srv.Do(t, http.MethodPut, path, servicetest.AdminKey, body); r.Status/100 != 2 {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	in := interaction("late-1", "late-1-received")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "gil"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 15*time.Second, "the breach SMS", func() bool { return len(tw.to(phone)) == 1 })
	m := tw.to(phone)[0]
	time.Sleep(500 * time.Millisecond) // no email yet: SMS only
	if n := len(mailbox.Messages()); n != 0 {
		t.Fatalf("%d emails before the failure", n)
	}
	cb, err := url.Parse(m.StatusCallback)
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"sent", "undelivered", "failed"} { // Twilio may report twice
		form := url.Values{"MessageSid": {m.SID}, "MessageStatus": {status}, "ErrorCode": {"30003"}, "To": {phone}, "From": {alertsFrom}}
		r := srv.Do(t, http.MethodPost, cb.RequestURI(), "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded",
			"X-Twilio-Signature", twilioSignature(alertsToken, m.StatusCallback, form))
		if r.Status != http.StatusOK {
			t.Fatalf("status callback %s: %d %s", status, r.Status, r.Body)
		}
	}
	servicetest.Eventually(t, 5*time.Second, "the fallback email", func() bool { return len(mailbox.Messages()) >= 1 })
	time.Sleep(1500 * time.Millisecond) // time for a second one to show
	if msgs := mailbox.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].To, "gil@example.com") {
		t.Fatalf("emails %+v", msgs)
	}
	servicetest.Eventually(t, 5*time.Second, "the deliveries recorded", func() bool {
		a, _ := alertOf(t, srv, "late-1", "breached")
		return len(a.Deliveries) == 2 && a.Deliveries[0].Status == "failed" && a.Deliveries[1].Channel == "email" && a.Deliveries[1].Status == "sent"
	})
}
