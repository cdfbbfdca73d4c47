package service_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// escalationScenario starts a server where alice's breach escalates to her manager
// boss (whose manager is bigboss) within seconds, and returns it with alice's breach
// and its escalation once both exist. Deliveries go to the log channel, whose address
// is the recipient's id.
func escalationScenario(t *testing.T) (srv *servicetest.Instance, breach, escalation alertJSON) {
	t.Helper()
	srv = servicetest.Start(t, nil, service.Options{})
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	put := func(path string, body any) {
		t.Helper()
		if r := srv.Do(t, http.MethodPut, path, servicetest.AdminKey, body); r.Status >= 300 {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	put("/v1/sla/policies/first_response", map[string]any{"name": "fast", "metric": "first_response", "target": "2s",
		"calendar": "24x7", "warn_ratio": 1, "escalate_after": "2s", "enabled": true})
	for id, manager := range map[string]string{"alice": "boss", "boss": "bigboss", "bigboss": "", "carol": "boss"} {
		put("/v1/recruiters/"+id, map[string]any{"name": id, "email": id + "@example.com", "manager_id": manager,
			"channels":     map[string]any{"escalated": []string{"email"}},
			"working_days": everyDay})
	}
	in := interaction("esc-1", "esc-1-received")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "alice"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	defer func() {
		if t.Failed() {
			r := srv.Do(t, "GET", "/v1/alerts", servicetest.AdminKey, nil)
			t.Logf("alerts: %s", r.Body)
		}
	}()
	servicetest.Eventually(t, 20*time.Second, "the escalation", func() bool {
		var ok bool
		escalation, ok = alertOf(t, srv, "esc-1", "escalated")
		return ok && len(escalation.Deliveries) > 0
	})
	breach, _ = alertOf(t, srv, "esc-1", "breached")
	if escalation.RecruiterID != "boss" || breach.RecruiterID != "alice" || breach.State != "open" || escalation.State != "open" {
		t.Fatalf("breach %+v, escalation %+v", breach, escalation)
	}
	return srv, breach, escalation
}

// TestEscalationPermissions: a report cannot acknowledge or snooze the escalation of
// its own breach sent to its manager, by id or through the queue's acknowledgement of
// the breach; the manager, someone above the manager and an admin can.
func TestEscalationPermissions(t *testing.T) {
	t.Parallel()
	srv, breach, esc := escalationScenario(t)
	alice := srv.NewKey(t, "recruiter", "alice")
	boss := srv.NewKey(t, "recruiter", "boss")
	bigboss := srv.NewKey(t, "recruiter", "bigboss")
	state := func(level string) string {
		t.Helper()
		a, _ := alertOf(t, srv, "esc-1", level)
		return a.State
	}

	// The report, by id: 403, and nothing changes.
	if r := srv.Do(t, http.MethodPost, "/v1/alerts/"+esc.ID+"/ack", alice, nil); r.Status != http.StatusForbidden {
		t.Errorf("alice acks boss's escalation: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPost, "/v1/alerts/"+esc.ID+"/snooze", alice, map[string]string{"for": "1h"}); r.Status != http.StatusForbidden {
		t.Errorf("alice snoozes boss's escalation: %d %s", r.Status, r.Body)
	}
	if s := state("escalated"); s != "open" {
		t.Fatalf("the escalation is %s after alice's tries", s)
	}

	// The report's queue offers the breach, not the escalation; acknowledging the
	// breach there leaves the escalation open; naming the escalation is refused.
	b := newBrowser(t, srv)
	p := b.get("/queue", "Authorization", "Bearer "+alice)
	row := queueRows(t, p, "overdue")["esc-1"]
	if row == nil {
		t.Fatalf("alice's queue lacks esc-1: %s", p.Body)
	}
	if got := attr(row, "data-alert-id"); got != breach.ID {
		t.Errorf("alice's queue row acknowledges %q, want her breach %q", got, breach.ID)
	}
	p = b.post("/queue/ack", url.Values{"alert_id": {esc.ID}}, "Authorization", "Bearer "+alice)
	if p.Status != http.StatusForbidden {
		t.Errorf("alice's queue ack of the escalation: %d", p.Status)
	}
	p = b.post("/queue/ack", url.Values{"alert_id": {breach.ID}}, "Authorization", "Bearer "+alice)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("alice's queue ack of her breach: %d %s", p.Status, p.Body)
	}
	if s := state("breached"); s != "acknowledged" {
		t.Errorf("alice's breach is %s after her queue ack", s)
	}
	if s := state("escalated"); s != "open" {
		t.Fatalf("alice's queue ack of her breach left the escalation %s", s)
	}

	// An admin and someone above the recipient may snooze it; the recipient may ack it.
	for name, key := range map[string]string{"admin": servicetest.AdminKey, "bigboss": bigboss} {
		if r := srv.Do(t, http.MethodPost, "/v1/alerts/"+esc.ID+"/snooze", key, map[string]string{"for": "1h"}); r.Status != http.StatusOK {
			t.Errorf("%s snoozes the escalation: %d %s", name, r.Status, r.Body)
		}
	}
	if r := srv.Do(t, http.MethodPost, "/v1/alerts/"+esc.ID+"/ack", boss, nil); r.Status != http.StatusOK {
		t.Errorf("boss acks the escalation: %d %s", r.Status, r.Body)
	}
	if s := state("escalated"); s != "acknowledged" {
		t.Errorf("the escalation is %s after boss's ack", s)
	}
}

// TestEscalationAdminAck: an admin may acknowledge an escalation through the API and
// the queue.
func TestEscalationAdminAck(t *testing.T) {
	t.Parallel()
	srv, _, esc := escalationScenario(t)
	b := newBrowser(t, srv)
	p := b.post("/queue/ack", url.Values{"alert_id": {esc.ID}}, "Authorization", "Bearer "+servicetest.AdminKey)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("admin's queue ack of the escalation: %d %s", p.Status, p.Body)
	}
	if a, _ := alertOf(t, srv, "esc-1", "escalated"); a.State != "acknowledged" {
		t.Errorf("the escalation is %s after admin's queue ack", a.State)
	}
}

// TestAlertDeliveryAddresses: deliveries[].to is shown to admins and to the alert's
// recipient only — not to a report looking at its manager's escalation, nor to a
// manager looking at its report's alert.
func TestAlertDeliveryAddresses(t *testing.T) {
	t.Parallel()
	srv, breach, esc := escalationScenario(t)
	keys := map[string]string{
		"admin": servicetest.AdminKey, "alice": srv.NewKey(t, "recruiter", "alice"),
		"boss": srv.NewKey(t, "recruiter", "boss"), "bigboss": srv.NewKey(t, "recruiter", "bigboss"),
	}
	// toShown lists, per alert id, whether each delivery carries "to".
	toShown := func(key, query string) map[string][]bool {
		t.Helper()
		r := srv.Do(t, http.MethodGet, "/v1/alerts?"+query, key, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var out struct {
			Alerts []struct {
				ID         string
				Deliveries []map[string]json.RawMessage
			}
		}
		r.JSON(t, &out)
		m := map[string][]bool{}
		for _, a := range out.Alerts {
			for _, d := range a.Deliveries {
				_, ok := d["to"]
				m[a.ID] = append(m[a.ID], ok)
			}
		}
		return m
	}
	for _, tc := range []struct {
		key            string
		breach, escTo  bool // whether "to" is shown on the breach's and the escalation's deliveries
		seesBreach     bool
		seesEscalation bool
	}{
		{key: "admin", breach: true, escTo: true, seesBreach: true, seesEscalation: true},
		// alice's list holds the alerts sent to her and her reports: her breach only.
		{key: "alice", breach: true, seesBreach: true},
		// boss sees his report's breach, not her addresses.
		{key: "boss", breach: false, escTo: true, seesBreach: true, seesEscalation: true},
		{key: "bigboss", breach: false, escTo: false, seesBreach: true, seesEscalation: true},
	} {
		got := toShown(keys[tc.key], "")
		check := func(id string, sees, want bool) {
			d, ok := got[id]
			if ok != sees {
				t.Errorf("%s sees alert %s: %v, want %v", tc.key, id, ok, sees)
				return
			}
			for _, shown := range d {
				if shown != want {
					t.Errorf("%s: alert %s delivery to shown %v, want %v", tc.key, id, shown, want)
				}
			}
		}
		check(breach.ID, tc.seesBreach, tc.breach)
		check(esc.ID, tc.seesEscalation, tc.escTo)
	}
	// The answers of ack and snooze follow the same rule.
	r := srv.Do(t, http.MethodPost, "/v1/alerts/"+breach.ID+"/snooze", keys["boss"], map[string]string{"for": "1h"})
	if r.Status != http.StatusOK {
		t.Fatalf("boss snoozes alice's breach: %d %s", r.Status, r.Body)
	}
	var a struct{ Deliveries []map[string]any }
	r.JSON(t, &a)
	for _, d := range a.Deliveries {
		if _, ok := d["to"]; ok {
			t.Errorf("boss's snooze answer shows alice's address: %v", d)
		}
	}
}

// TestSMSReplyActsOnOwnAlerts: an SMS reply acts as the phone's recruiter, on alerts
// sent to them only: a report's "ACK <code>" naming the escalation of its breach,
// which went to its manager, changes nothing, and a plain "ACK" takes its own breach.
func TestSMSReplyActsOnOwnAlerts(t *testing.T) {
	t.Parallel()
	tw := newFakeTwilioAPI(t)
	srv := servicetest.Start(t, fakeTwilioEnv(tw, nil), service.Options{})
	const alicePhone, bossPhone = "+14155550151", "+14155550152"
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	put := func(path string, body any) {
		t.Helper()
		if r := srv.Do(t, http.MethodPut, path, servicetest.AdminKey, body); r.Status >= 300 {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	put("/v1/sla/policies/first_response", map[string]any{"name": "fast", "metric": "first_response", "target": "2s",
		"calendar": "24x7", "warn_ratio": 1, "escalate_after": "2s", "enabled": true})
	put("/v1/recruiters/alice", map[string]any{"name": "alice", "phone": alicePhone, "manager_id": "boss", "working_days": everyDay})
	put("/v1/recruiters/boss", map[string]any{"name": "boss", "phone": bossPhone, "working_days": everyDay})
	in := interaction("sms-1", "sms-1-received")
	in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	in["recruiter_id"] = "alice"
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 20*time.Second, "the escalation SMS", func() bool { return len(tw.to(bossPhone)) == 1 })
	esc, _ := alertOf(t, srv, "sms-1", "escalated")
	reply := func(body string) {
		t.Helper()
		v := url.Values{"MessageSid": {fmt.Sprintf("SM%s%08x", strings.Repeat("cd", 12), len(body))}, "From": {alicePhone},
			"To": {alertsFrom}, "Body": {body}}
		r := srv.Do(t, http.MethodPost, "/webhooks/twilio/sms", "", v.Encode(), "Content-Type", "application/x-www-form-urlencoded",
			"X-Twilio-Signature", twilioSignature(alertsToken, alertsPublicURL+"/webhooks/twilio/sms", v))
		if r.Status != http.StatusOK {
			t.Fatalf("reply %q: %d %s", body, r.Status, r.Body)
		}
	}
	reply("ACK " + esc.Code)
	if a, _ := alertOf(t, srv, "sms-1", "escalated"); a.State != "open" {
		t.Fatalf("alice's ACK %s left her manager's escalation %s", esc.Code, a.State)
	}
	reply("ACK")
	if a, _ := alertOf(t, srv, "sms-1", "breached"); a.State != "acknowledged" {
		t.Errorf("alice's ACK left her breach %s", a.State)
	}
	if a, _ := alertOf(t, srv, "sms-1", "escalated"); a.State != "open" {
		t.Errorf("alice's ACK left her manager's escalation %s", a.State)
	}
}
