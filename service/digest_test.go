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

// TestDigestEndToEnd: a recruiter turns its digest on with PATCH /v1/me and gets one
// email at that time (New York's 08:30 on a Monday), listing its overdue candidate
// with a link to the queue; restarts send no second one.
func TestDigestEndToEnd(t *testing.T) {
	t.Parallel()
	mailbox := mailtest.Start(t, nil)
	// Monday 9 March 2026, 08:31 in New York (EDT), as the server's clock.
	skew := time.Until(time.Date(2026, 3, 9, 12, 31, 0, 0, time.UTC))
	now := func() time.Time { return time.Now().Add(skew) }
	srv := servicetest.Start(t, map[string]string{
		"GOODWILL_SMTP_URL": mailbox.URL(), "GOODWILL_EMAIL_FROM": "alerts@goodwill.example.com",
		"GOODWILL_PUBLIC_URL": "https://goodwill.example.com",
	}, service.Options{Now: now})
	for path, body := range map[string]string{
		"/v1/sla/policies/first_response": `{"name":"fast","metric":"first_response","target":"1h","calendar":"24x7","enabled":true}`,
		"/v1/recruiters/ann":              `{"name":"Ann","email":"ann@example.com","timezone":"America/New_York"}`,
	} {
		if r := srv.Do(t, http.MethodPut, path, servicetest.AdminKey, body); r.Status/100 != 2 {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	in := interaction("dg-1", "dg-1-received")
	in["occurred_at"] = now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	in["recruiter_id"] = "ann"
	in["candidate"] = map[string]string{"name": "Ada Lovelace"}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	_, key := createKey(t, srv, "ann", "recruiter", "ann")
	if r := patchMe(t, srv, key, `{"quiet_hours":{"start":"20:00","end":"07:00"},"digest":{"enabled":true,"at":"08:30"}}`); r.Status != http.StatusOK {
		t.Fatalf("PATCH /v1/me: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 5*time.Second, "the overdue clock", func() bool {
		var o struct{ Items []any }
		srv.Do(t, http.MethodGet, "/v1/sla/overdue?recruiter_id=ann", servicetest.AdminKey, nil).JSON(t, &o)
		return len(o.Items) == 1
	})
	// The digest's pass runs at start, then every 30 s: a restart brings it now.
	srv.Restart(t)
	servicetest.Eventually(t, 10*time.Second, "the digest", func() bool { return len(mailbox.Messages()) >= 1 })
	m := mailbox.Messages()[0]
	text := parseEmail(t, m.Data).Parts["text/plain"]
	if !strings.Contains(m.To, "ann@example.com") || m.Subject != "goodwill digest: 1 overdue, 0 due today" ||
		!strings.Contains(text, "Ada Lovelace: first response overdue by 2h https://goodwill.example.com/queue?recruiter=ann#clock-dg-1/first_response/") {
		t.Fatalf("digest to %s, %q:\n%s", m.To, m.Subject, text)
	}
	srv.Restart(t)
	time.Sleep(3 * time.Second)
	if n := len(mailbox.Messages()); n != 1 {
		t.Fatalf("%d digests on one day", n)
	}
}
