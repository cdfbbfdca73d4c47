package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// patchMe sends PATCH /v1/me as a merge patch.
func patchMe(t *testing.T, srv *servicetest.Instance, key, body string) servicetest.Response {
	t.Helper()
	return srv.Do(t, http.MethodPatch, "/v1/me", key, body, "Content-Type", "application/merge-patch+json")
}

// TestMe: a recruiter reads and changes its own alert settings with a merge patch;
// the fields only an admin may change are refused by name, a phone someone else has is
// a conflict, and every change is in the audit trail.
func TestMe(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	for id, body := range map[string]string{
		"boss": `{"name":"Boss"}`,
		"r1":   `{"name":"Ann","email":"ann@example.com","phone":"+14155550141","manager_id":"boss","channels":{"breached":["sms","email"]}}`,
		"r2":   `{"name":"Bo","phone":"+14155550142"}`,
	} {
		if r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+id, servicetest.AdminKey, body); r.Status != http.StatusCreated {
			t.Fatalf("put %s: %d %s", id, r.Status, r.Body)
		}
	}
	// A candidate known by a phone.
	in := map[string]any{"application_id": "app-me", "candidate_id": "cand-me", "kind": "application_received",
		"occurred_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "candidate": map[string]string{"name": "Cy", "phone": "+14155550143"}}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
		t.Fatalf("interaction: %d %s", r.Status, r.Body)
	}
	keyID, key := createKey(t, srv, "ann", "recruiter", "r1")

	type me struct {
		ID, Name, Phone string
		ManagerID       string                       `json:"manager_id"`
		DelegateID      string                       `json:"delegate_id"`
		Channels        map[string][]string          `json:"channels"`
		QuietHours      *struct{ Start, End string } `json:"quiet_hours"`
		WorkingDays     []string                     `json:"working_days"`
		Digest          struct {
			Enabled bool   `json:"enabled"`
			At      string `json:"at"`
		} `json:"digest"`
	}
	get := func() me {
		t.Helper()
		r := srv.Do(t, http.MethodGet, "/v1/me", key, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /v1/me: %d %s", r.Status, r.Body)
		}
		var m me
		r.JSON(t, &m)
		return m
	}
	if m := get(); m.ID != "r1" || m.Name != "Ann" || m.Digest.Enabled {
		t.Fatalf("GET /v1/me: %+v", m)
	}

	// Quiet hours and a digest at the default time; the rest stays.
	r := patchMe(t, srv, key, `{"quiet_hours":{"start":"20:00","end":"07:00"},"digest":{"enabled":true}}`)
	if r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	m := get()
	if m.QuietHours == nil || m.QuietHours.Start != "20:00" || !m.Digest.Enabled || m.Digest.At != "08:30" ||
		m.ManagerID != "boss" || m.Phone != "+14155550141" || strings.Join(m.Channels["breached"], ",") != "sms,email" {
		t.Fatalf("after the patch: %+v", m)
	}
	// Objects merge member by member; null removes.
	for _, body := range []string{`{"channels":{"warning":["sms"]},"digest":{"at":"07:45"}}`, `{"quiet_hours":null,"working_days":["mon","tue"]}`,
		`{"delegate_id":"r2","away_until":"2030-01-01T00:00:00Z","phone":"+14155550144"}`} {
		if r := patchMe(t, srv, key, body); r.Status != http.StatusOK {
			t.Fatalf("patch %s: %d %s", body, r.Status, r.Body)
		}
	}
	m = get()
	if strings.Join(m.Channels["warning"], ",") != "sms" || strings.Join(m.Channels["breached"], ",") != "sms,email" ||
		!m.Digest.Enabled || m.Digest.At != "07:45" || m.QuietHours != nil || strings.Join(m.WorkingDays, ",") != "mon,tue" ||
		m.DelegateID != "r2" || m.Phone != "+14155550144" {
		t.Fatalf("after the patches: %+v", m)
	}
	// The same patch again changes nothing, and records nothing.
	if r := patchMe(t, srv, key, `{"phone":"+14155550144"}`); r.Status != http.StatusOK {
		t.Fatalf("no-op patch: %d %s", r.Status, r.Body)
	}

	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"manager", `{"manager_id":"r2"}`, http.StatusForbidden, "manager_id"},
		{"team", `{"team":"sales"}`, http.StatusForbidden, "team"},
		{"email", `{"email":"me@example.com"}`, http.StatusForbidden, "email"},
		{"name", `{"name":"Queen"}`, http.StatusForbidden, "name"},
		{"active", `{"active":false}`, http.StatusForbidden, "active"},
		{"an allowed field does not carry a refused one", `{"digest":{"enabled":false},"manager_id":null}`, http.StatusForbidden, "manager_id"},
		{"not a setting", `{"timezone":"Europe/Berlin"}`, http.StatusBadRequest, "timezone"},
		{"unknown", `{"pager":"on"}`, http.StatusBadRequest, "pager"},
		{"phone outside the SMS countries", `{"phone":"+4915112345678"}`, http.StatusBadRequest, "phone"},
		{"bad digest time", `{"digest":{"at":"8.30"}}`, http.StatusBadRequest, "digest.at"},
		{"bad working day", `{"working_days":["funday"]}`, http.StatusBadRequest, "working_days[0]"},
		{"wrong type", `{"channels":{"warning":"sms"}}`, http.StatusBadRequest, "channels.warning"},
		{"unknown delegate", `{"delegate_id":"nobody"}`, http.StatusBadRequest, "delegate_id"},
		{"own delegate", `{"delegate_id":"r1"}`, http.StatusBadRequest, "delegate_id"},
		{"another recruiter's phone", `{"phone":"+14155550142"}`, http.StatusConflict, "phone"},
		{"a candidate's phone", `{"phone":"+14155550143"}`, http.StatusConflict, "phone"},
		{"not an object", `["phone"]`, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectProblem(t, patchMe(t, srv, key, tc.body), tc.status, tc.field)
		})
	}
	if m := get(); m.Phone != "+14155550144" || m.ManagerID != "boss" || m.Digest.Enabled != true {
		t.Fatalf("a refused patch changed something: %+v", m)
	}
	// A merge patch only.
	if r := srv.Do(t, http.MethodPatch, "/v1/me", key, `{"digest":{"enabled":false}}`); r.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("JSON body: %d %s", r.Status, r.Body)
	}
	// Recruiter keys only.
	for _, k := range []string{servicetest.AdminKey} {
		if r := srv.Do(t, http.MethodGet, "/v1/me", k, nil); r.Status != http.StatusForbidden {
			t.Fatalf("GET /v1/me with an admin key: %d", r.Status)
		}
	}
	// Each change, once, in the audit trail.
	entries := getAudit(t, srv, "action=recruiter.changed&actor=key:"+keyID).Entries
	if len(entries) != 4 {
		t.Fatalf("audit entries %+v, want 4", entries)
	}
	for _, e := range entries {
		if e.Target != "r1" {
			t.Fatalf("audit entry %+v", e)
		}
	}
}

// TestMeSession: a recruiter signed in on the pages reads and patches its own entry
// with its session cookie alone; the merge patch's media type is what keeps another
// site's forms out.
func TestMeSession(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/r1", servicetest.AdminKey, `{"name":"Ann"}`); r.Status != http.StatusCreated {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	_, key := createKey(t, srv, "ann", "recruiter", "r1")
	b := signedIn(t, srv, key)
	send := func(method, body, contentType string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/v1/me", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := send(http.MethodGet, "", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("GET with the session: %d", res.StatusCode)
	}
	if res := send(http.MethodPatch, `{"digest":{"enabled":true}}`, "application/x-www-form-urlencoded"); res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("PATCH as a form: %d", res.StatusCode)
	}
	if res := send(http.MethodPatch, `{"digest":{"enabled":true}}`, "application/merge-patch+json"); res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH with the session: %d", res.StatusCode)
	}
	var me struct {
		Digest struct{ Enabled bool } `json:"digest"`
	}
	srv.Do(t, http.MethodGet, "/v1/me", key, nil).JSON(t, &me)
	if !me.Digest.Enabled {
		t.Fatal("the session's patch was not saved")
	}
	// No key and no session: 401; an admin's session: 403.
	if r := srv.Do(t, http.MethodGet, "/v1/me", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", r.Status)
	}
	admin := signedIn(t, srv, servicetest.AdminKey)
	b = admin
	if res := send(http.MethodGet, "", ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("an admin's session: %d", res.StatusCode)
	}
}
