package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

func TestErasure(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	personal := []string{"Grace Hopper", "grace@example.com", "+14155550123", "private note"}
	first := interaction("e-app", "e1")
	first["candidate"] = map[string]string{"name": personal[0], "email": personal[1], "phone": personal[2]}
	first["metadata"] = map[string]string{"note": personal[3]}
	// Another application of the same person, under another candidate id, by email.
	other := interaction("e-app-2", "e2")
	other["candidate_id"] = "cand-other"
	other["candidate"] = map[string]string{"email": strings.ToUpper(personal[1])}
	bystander := interaction("e-app-3", "e3")
	bystander["candidate"] = map[string]string{"name": "Someone Else"}
	for _, it := range []map[string]any{first, other, bystander} {
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, it); r.Status != http.StatusCreated {
			t.Fatalf("seed: %d %s", r.Status, r.Body)
		}
	}

	for _, tc := range []struct{ name, body string }{
		{"none", `{}`},
		{"two", `{"email":"a@example.com","phone":"+14155550100"}`},
	} {
		expectProblem(t, srv.Do(t, http.MethodPost, "/v1/erasures", servicetest.AdminKey, tc.body), http.StatusBadRequest, "body")
	}

	r := srv.Do(t, http.MethodPost, "/v1/erasures", servicetest.AdminKey, map[string]string{"email": personal[1]})
	if r.Status != http.StatusAccepted {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	var er struct{ ID, State string }
	r.JSON(t, &er)
	if er.ID == "" || er.State == "" {
		t.Fatalf("erasure %s", r.Body)
	}
	servicetest.Eventually(t, 10*time.Second, "the erasure", func() bool {
		var got struct{ State string }
		srv.Do(t, http.MethodGet, "/v1/erasures/"+er.ID, servicetest.AdminKey, nil).JSON(t, &got)
		return got.State == "done"
	})
	done := srv.Do(t, http.MethodGet, "/v1/erasures/"+er.ID, servicetest.AdminKey, nil)
	if strings.Contains(strings.ToLower(string(done.Body)), personal[1]) {
		t.Fatalf("the finished erasure still names the email: %s", done.Body)
	}

	// Nothing personal is left in the log or the timelines; the counts stay.
	list := srv.Do(t, http.MethodGet, "/v1/interactions?limit=1000", servicetest.AdminKey, nil)
	timeline := srv.Do(t, http.MethodGet, "/v1/applications/e-app/timeline", servicetest.AdminKey, nil)
	for _, body := range []string{string(list.Body), string(timeline.Body)} {
		for _, p := range personal {
			if strings.Contains(strings.ToLower(body), strings.ToLower(p)) {
				t.Fatalf("%q survived the erasure: %s", p, body)
			}
		}
	}
	if !strings.Contains(string(list.Body), "Someone Else") || countApp(t, srv, "e-app") != 1 || countApp(t, srv, "e-app-2") != 1 {
		t.Fatalf("the erasure removed too much: %s", list.Body)
	}

	// A later event about the same person is stored without their details.
	later := interaction("e-app", "e4")
	later["kind"] = "note"
	later["candidate"] = map[string]string{"name": personal[0], "email": personal[1]}
	w := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, later)
	if w.Status != http.StatusCreated || strings.Contains(string(w.Body), personal[1]) || w.Map(t)["erased"] != true {
		t.Fatalf("later event: %d %s", w.Status, w.Body)
	}
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/erasures/nope", servicetest.AdminKey, nil), http.StatusNotFound, "")
}
