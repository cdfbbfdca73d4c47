package service_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})

	// A new key is shown once, has the gw_ prefix and at least 32 random bytes.
	r := srv.Do(t, http.MethodPost, "/v1/keys", servicetest.AdminKey, map[string]string{"name": "ats", "role": "ingest"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var created struct{ ID, Name, Role, Key, CreatedAt string }
	r.JSON(t, &created)
	if !strings.HasPrefix(created.Key, "gw_") || len(created.Key) < 3+43 {
		t.Fatalf("key %q: want gw_ and 32 random bytes", created.Key)
	}
	if created.Role != "ingest" || created.ID == "" {
		t.Fatalf("created %+v", created)
	}

	// The list shows no secrets.
	r = srv.Do(t, http.MethodGet, "/v1/keys", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), created.Key) || !strings.Contains(string(r.Body), created.ID) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}

	// The key works, then stops working at once when deleted, with the same 401 as an
	// unknown key.
	post := func(key string) int {
		return srv.Do(t, http.MethodPost, "/v1/interactions", key, interaction("k-app", "k1")).Status
	}
	if got := post(created.Key); got != http.StatusCreated {
		t.Fatalf("post with new key: %d", got)
	}
	if r := srv.Do(t, http.MethodDelete, "/v1/keys/"+created.ID, servicetest.AdminKey, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	revoked := srv.Do(t, http.MethodPost, "/v1/interactions", created.Key, interaction("k-app", "k2"))
	unknown := srv.Do(t, http.MethodPost, "/v1/interactions", "gw_"+strings.Repeat("x", 43), interaction("k-app", "k3"))
	if revoked.Status != http.StatusUnauthorized || string(revoked.Body) != string(unknown.Body) {
		t.Fatalf("revoked: %d %s; unknown: %d %s", revoked.Status, revoked.Body, unknown.Status, unknown.Body)
	}
	if r := srv.Do(t, http.MethodDelete, "/v1/keys/"+created.ID, servicetest.AdminKey, nil); r.Status != http.StatusNotFound {
		t.Fatalf("delete again: %d", r.Status)
	}
}

func TestKeyValidation(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	for _, tc := range []struct {
		name  string
		body  string
		field string
	}{
		// A role must be one of the four.
		{"bad role", `{"name":"x","role":"root"}`, "role"},
		// A recruiter key is bound to a recruiter.
		{"recruiter without id", `{"name":"x","role":"recruiter"}`, "recruiter_id"},
		// Only recruiter keys take a recruiter id.
		{"id on admin", `{"name":"x","role":"admin","recruiter_id":"r1"}`, "recruiter_id"},
		// A name is required.
		{"no name", `{"role":"admin"}`, "name"},
		// Unknown fields are rejected by name.
		{"unknown field", `{"name":"x","role":"admin","scopes":[]}`, "scopes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Do(t, http.MethodPost, "/v1/keys", servicetest.AdminKey, tc.body)
			expectProblem(t, r, http.StatusBadRequest, tc.field)
		})
	}
}

// TestRoleMatrix checks who may use which route: 401 without a valid key, 403 for a
// role that may not use the route.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	keys := map[string]string{
		"admin":     servicetest.AdminKey,
		"ingest":    srv.NewKey(t, "ingest", ""),
		"recruiter": srv.NewKey(t, "recruiter", "r-matrix"),
		"viewer":    srv.NewKey(t, "viewer", ""),
		"none":      "",
	}
	ok := func(s int) bool { return s < 400 || s == http.StatusNotFound || s == http.StatusBadRequest }
	for _, tc := range []struct {
		method, path string
		body         any
		allowed      []string
	}{
		{"POST", "/v1/keys", `{"name":"n","role":"viewer"}`, []string{"admin"}},
		{"GET", "/v1/keys", nil, []string{"admin"}},
		{"DELETE", "/v1/keys/nope", nil, []string{"admin"}},
		{"POST", "/v1/interactions", interaction("m-app", ""), []string{"admin", "ingest", "recruiter"}},
		{"GET", "/v1/interactions", nil, []string{"admin", "recruiter"}},
		{"GET", "/v1/applications/nope/timeline", nil, []string{"admin", "recruiter"}},
		{"POST", "/v1/erasures", `{"candidate_id":"nobody"}`, []string{"admin"}},
		{"GET", "/v1/erasures/nope", nil, []string{"admin"}},
	} {
		for role, key := range keys {
			t.Run(tc.method+" "+tc.path+" as "+role, func(t *testing.T) {
				r := srv.Do(t, tc.method, tc.path, key, tc.body)
				want := "forbidden"
				switch {
				case role == "none":
					want = "unauthenticated"
				case contains(tc.allowed, role):
					want = "allowed"
				}
				got := "forbidden"
				switch {
				case r.Status == http.StatusUnauthorized:
					got = "unauthenticated"
				case ok(r.Status):
					got = "allowed"
				case r.Status != http.StatusForbidden:
					got = "status " + r.Header.Get("Content-Type")
				}
				if got != want {
					t.Fatalf("got %s (%d %s), want %s", got, r.Status, r.Body, want)
				}
			})
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
