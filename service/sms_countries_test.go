package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/alerts/email/mailtest"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestSMSCountriesAtSendTime: a number stored while its country was allowed gets no
// SMS once GOODWILL_SMS_COUNTRIES no longer names it: the SMS delivery fails for
// good, saying why, and the alert goes by email instead; numbers still allowed get
// their SMS.
func TestSMSCountriesAtSendTime(t *testing.T) {
	t.Parallel()
	tw := newFakeTwilioAPI(t)
	mailbox := mailtest.Start(t, nil)
	srv := servicetest.Start(t, fakeTwilioEnv(tw, map[string]string{
		"GOODWILL_SMTP_URL":      mailbox.URL(),
		"GOODWILL_EMAIL_FROM":    "alerts@goodwill.example.com",
		"GOODWILL_SMS_COUNTRIES": "US,GB",
	}), service.Options{})
	const (
		ukPhone = "+447700900123"
		usPhone = "+14155550140"
	)
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	put := func(path string, body any) {
		t.Helper()
		if r := srv.Do(t, http.MethodPut, path, servicetest.AdminKey, body); r.Status >= 300 {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	put("/v1/sla/policies/first_response", map[string]any{"name": "fast", "metric": "first_response", "target": "2s",
		"calendar": "24x7", "warn_ratio": 1, "enabled": true})
	for id, phone := range map[string]string{"uk": ukPhone, "us": usPhone} {
		put("/v1/recruiters/"+id, map[string]any{"name": id, "phone": phone, "email": id + "@example.com",
			"channels": map[string]any{"breached": []string{"sms"}}, "working_days": everyDay})
	}

	// GB leaves the list; the directory still holds the UK number.
	srv.Config.SMSCountries = []string{"US"}
	srv.Restart(t)
	for _, id := range []string{"uk", "us"} {
		in := interaction("sc-"+id, "sc-"+id)
		in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
		in["recruiter_id"] = id
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
	}
	servicetest.Eventually(t, 15*time.Second, "the US SMS and the UK email", func() bool {
		return len(tw.to(usPhone)) == 1 && len(mailbox.Messages()) == 1
	})
	time.Sleep(500 * time.Millisecond) // time for a stray SMS to show
	if got := tw.to(ukPhone); len(got) != 0 {
		t.Errorf("%d SMS to a number outside the SMS countries: %+v", len(got), got)
	}
	if to := mailbox.Messages()[0].To; to != "uk@example.com" {
		t.Errorf("fallback email to %q", to)
	}
	servicetest.Eventually(t, 3*time.Second, "the UK alert's deliveries recorded", func() bool {
		a, ok := alertOf(t, srv, "sc-uk", "breached")
		return ok && len(a.Deliveries) == 2 && a.Deliveries[1].Status == "sent"
	})
	a, _ := alertOf(t, srv, "sc-uk", "breached")
	sms, mail := a.Deliveries[0], a.Deliveries[1]
	if sms.Channel != "sms" || sms.Status != "failed" || !strings.Contains(sms.Error, "outside the SMS countries (US)") ||
		strings.Contains(sms.Error, ukPhone) || mail.Channel != "email" || mail.To != "uk@example.com" {
		t.Errorf("deliveries %+v", a.Deliveries)
	}
}
