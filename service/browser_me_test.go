package service_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestBrowserMyAlerts: a recruiter signed in on the queue page changes its own alert
// settings with the "My alerts" form; what it saves is what GET /v1/me answers, and a
// phone someone else has is refused on the page, naming the field.
func TestBrowserMyAlerts(t *testing.T) {
	t.Parallel()
	browser := startChromium(t)
	srv := servicetest.Start(t, nil, service.Options{})
	for id, body := range map[string]string{
		"rec-ann": `{"name":"Ann","email":"ann@example.com","timezone":"Europe/Berlin","phone":"+14155550161"}`,
		"rec-bo":  `{"name":"Bo","phone":"+14155550162"}`,
	} {
		if r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+id, servicetest.AdminKey, body); r.Status != http.StatusCreated {
			t.Fatalf("put %s: %d %s", id, r.Status, r.Body)
		}
	}
	keyID, key := createKey(t, srv, "ann", "recruiter", "rec-ann")

	b := newTab(t, browser, srv.URL)
	b.signIn("/queue", key, "/queue")
	if n := b.count("#my-alerts-form"); n != 1 {
		t.Fatalf("%d My alerts forms", n)
	}
	// The form shows the settings as they stand: the defaults.
	if got := eval[[]string](b, `[...document.querySelectorAll('#working-days input:checked')].map(e => e.value)`); strings.Join(got, ",") != "mon,tue,wed,thu,fri" {
		t.Fatalf("working days shown %v", got)
	}
	if eval[bool](b, `document.getElementById('digest_enabled').checked`) {
		t.Fatal("the digest is shown on")
	}

	// Quiet hours, Saturday off… on, no SMS for breaches, and the digest at 07:15.
	b.do("fill in My alerts",
		chromedp.SetValue(chromedp.CSS("#quiet_start"), "20:00"),
		chromedp.SetValue(chromedp.CSS("#quiet_end"), "07:30"),
		chromedp.Click(chromedp.CSS("#day-sat")),
		chromedp.Click(chromedp.CSS("#channel-breached-sms")),
		chromedp.Click(chromedp.CSS("#digest_enabled")),
		chromedp.SetValue(chromedp.CSS("#digest_at"), "07:15"),
	)
	if status := b.click("#save-my-alerts"); status != http.StatusOK {
		t.Fatalf("save: status %d on %s", status, b.where())
	}
	if got := b.text("#queue-notice"); got != "Your alert settings are saved." {
		t.Fatalf("notice %q on %s", got, b.where())
	}
	var me struct {
		QuietHours  struct{ Start, End string } `json:"quiet_hours"`
		WorkingDays []string                    `json:"working_days"`
		Channels    map[string][]string         `json:"channels"`
		Digest      struct {
			Enabled bool
			At      string
		} `json:"digest"`
		Phone string
		Email string
	}
	srv.Do(t, http.MethodGet, "/v1/me", key, nil).JSON(t, &me)
	if me.QuietHours.Start != "20:00" || me.QuietHours.End != "07:30" || strings.Join(me.WorkingDays, ",") != "mon,tue,wed,thu,fri,sat" ||
		strings.Join(me.Channels["breached"], ",") != "email" || strings.Join(me.Channels["escalated"], ",") != "sms" ||
		!me.Digest.Enabled || me.Digest.At != "07:15" || me.Phone != "+14155550161" || me.Email != "ann@example.com" {
		t.Fatalf("saved %+v", me)
	}
	// The page shows what was saved.
	if !eval[bool](b, `document.getElementById('digest_enabled').checked && document.getElementById('day-sat').checked && !document.getElementById('channel-breached-sms').checked`) {
		t.Fatal("the form does not show the saved settings")
	}

	// Bo's phone: refused, naming the field; nothing changes.
	b.do("type Bo's phone", chromedp.SetValue(chromedp.CSS("#phone"), "+14155550162"))
	if status := b.click("#save-my-alerts"); status != http.StatusConflict {
		t.Fatalf("another's phone: status %d", status)
	}
	if got := b.text("#queue-notice"); !strings.Contains(got, "phone") {
		t.Fatalf("notice %q", got)
	}
	srv.Do(t, http.MethodGet, "/v1/me", key, nil).JSON(t, &me)
	if me.Phone != "+14155550161" {
		t.Fatalf("the phone changed to %s", me.Phone)
	}
	// One change, in the audit trail.
	if entries := getAudit(t, srv, "action=recruiter.changed&actor=key:"+keyID).Entries; len(entries) != 1 || entries[0].Target != "rec-ann" {
		t.Fatalf("audit %+v", entries)
	}
}
