package service_test

import (
	"net/http"
	"testing"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestRecruiterActive: every recruiter has active, true unless an admin says false;
// a PUT without it makes the recruiter active again.
func TestRecruiterActive(t *testing.T) {
	srv := servicetest.Start(t, nil, service.Options{})
	admin := servicetest.AdminKey
	active := func(id string) any {
		t.Helper()
		r := srv.Do(t, http.MethodGet, "/v1/recruiters/"+id, admin, "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", id, r.Status, r.Body)
		}
		return r.Map(t)["active"]
	}
	steps := []struct {
		name   string
		body   string
		status int
		want   any
	}{
		// Left out: active.
		{"default", `{"name":"Ann"}`, http.StatusCreated, true},
		// An admin deactivates.
		{"deactivate", `{"name":"Ann","active":false}`, http.StatusOK, false},
		// A PUT replaces the entry: without active, active again.
		{"put without", `{"name":"Ann"}`, http.StatusOK, true},
		// Not a boolean.
		{"not a boolean", `{"name":"Ann","active":"no"}`, http.StatusBadRequest, true},
	}
	for _, st := range steps {
		r := srv.Do(t, http.MethodPut, "/v1/recruiters/ann", admin, st.body)
		if r.Status != st.status {
			t.Fatalf("%s: PUT %d %s, want %d", st.name, r.Status, r.Body, st.status)
		}
		if r.Status < 300 && r.Map(t)["active"] != st.want {
			t.Errorf("%s: PUT answered active %v, want %v", st.name, r.Map(t)["active"], st.want)
		}
		if got := active("ann"); got != st.want {
			t.Errorf("%s: GET active = %v, want %v", st.name, got, st.want)
		}
	}
	var list struct{ Recruiters []map[string]any }
	srv.Do(t, http.MethodGet, "/v1/recruiters", admin, "").JSON(t, &list)
	if len(list.Recruiters) != 1 || list.Recruiters[0]["active"] != true {
		t.Errorf("list = %v, want ann with active true", list.Recruiters)
	}
}
