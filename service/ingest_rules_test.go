package service_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// ago is an occurred_at d before now.
func ago(d time.Duration) string { return time.Now().Add(-d).UTC().Format(time.RFC3339Nano) }

// post posts body to /v1/interactions with key.
func post(t *testing.T, srv *servicetest.Instance, key string, body any) servicetest.Response {
	t.Helper()
	return srv.Do(t, http.MethodPost, "/v1/interactions", key, body)
}

// mustPost posts and fails the test on anything but want.
func mustPost(t *testing.T, srv *servicetest.Instance, key string, body any, want int) servicetest.Response {
	t.Helper()
	r := post(t, srv, key, body)
	if r.Status != want {
		t.Fatalf("post: %d %s; want %d", r.Status, r.Body, want)
	}
	return r
}

// awaitApp waits until the projector shows the applications.
func awaitApp(t *testing.T, srv *servicetest.Instance, apps ...string) {
	t.Helper()
	servicetest.Eventually(t, 3*time.Second, "the projector", func() bool {
		for _, app := range apps {
			if srv.Do(t, http.MethodGet, "/v1/applications/"+app+"/timeline", servicetest.AdminKey, nil).Status != http.StatusOK {
				return false
			}
		}
		return true
	})
}

// TestDuplicateDisclosesNothing: a repeated idempotency key tells keys other than
// admin only the original's id, alone and in a batch.
func TestDuplicateDisclosesNothing(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	ingest := srv.NewKey(t, "ingest", "")
	orig := interaction("d-app", "d1")
	orig["candidate"] = map[string]string{"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+14155550100"}
	orig["metadata"] = map[string]any{"secret": "salary 100k"}
	first := mustPost(t, srv, servicetest.AdminKey, orig, http.StatusCreated).Map(t)

	probe := interaction("d-app", "d1") // the guessed key, with nothing of the original
	r := mustPost(t, srv, ingest, probe, http.StatusOK)
	if d := cmp.Diff(map[string]any{"id": first["id"], "duplicate": true}, r.Map(t)); d != "" {
		t.Errorf("single duplicate for an ingest key (-want +got):\n%s", d)
	}
	var batch struct{ Interactions []map[string]any }
	mustPost(t, srv, ingest, map[string]any{"interactions": []any{probe, interaction("d-app", "d2")}}, http.StatusCreated).JSON(t, &batch)
	if d := cmp.Diff(map[string]any{"id": first["id"], "duplicate": true}, batch.Interactions[0]); d != "" {
		t.Errorf("batch duplicate for an ingest key (-want +got):\n%s", d)
	}
	if fresh := batch.Interactions[1]; fresh["kind"] != "application_received" || fresh["duplicate"] != nil {
		t.Errorf("a new item of the batch is answered in full: %v", fresh)
	}
	// An admin key still gets the original in full.
	full := mustPost(t, srv, servicetest.AdminKey, probe, http.StatusOK).Map(t)
	if full["candidate"] == nil || full["metadata"] == nil || full["duplicate"] != true {
		t.Errorf("admin duplicate: %v", full)
	}
}

// TestKeyReusedByAnotherApplication: an idempotency key reused for another
// application is 409 and says nothing of the original; a batch holding one is
// refused whole, before anything of it is written.
func TestKeyReusedByAnotherApplication(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	ingest := srv.NewKey(t, "ingest", "")
	orig := interaction("k-victim", "k1")
	orig["candidate"] = map[string]string{"name": "Ada Lovelace"}
	mustPost(t, srv, servicetest.AdminKey, orig, http.StatusCreated)

	for _, tc := range []struct {
		name  string
		key   string
		body  any
		field string
	}{
		{"single, ingest key", ingest, interaction("k-other", "k1"), "external_id"},
		{"single, admin key", servicetest.AdminKey, interaction("k-other", "k1"), "external_id"},
		{"batch, stored key second", ingest, map[string]any{"interactions": []any{
			interaction("k-other", "k2"), interaction("k-other", "k1"), interaction("k-other", "k3"),
		}}, "interactions[1].external_id"},
		{"batch naming one new key for two applications", ingest, map[string]any{"interactions": []any{
			interaction("k-x", "k4"), interaction("k-y", "k4"),
		}}, "interactions[1].external_id"},
	} {
		r := post(t, srv, tc.key, tc.body)
		expectProblem(t, r, http.StatusConflict, tc.field)
		if typ := r.Map(t)["type"]; typ != "urn:goodwill:problem:conflict" {
			t.Errorf("%s: type %v", tc.name, typ)
		}
		for _, leak := range []string{"k-victim", "Ada", "cand-k-victim"} {
			if strings.Contains(string(r.Body), leak) {
				t.Errorf("%s: the answer tells of the original (%q): %s", tc.name, leak, r.Body)
			}
		}
	}
	// Nothing of the refused batches was written: their new keys are free.
	for _, ext := range []string{"k2", "k3", "k4"} {
		app := "k-other"
		if ext == "k4" {
			app = "k-x"
		}
		mustPost(t, srv, ingest, interaction(app, ext), http.StatusCreated)
	}
	// The same application repeating its key is still a plain duplicate.
	mustPost(t, srv, ingest, interaction("k-victim", "k1"), http.StatusOK)
}

// TestReservedSources: only an admin key writes the sources of goodwill's own
// receivers through the API.
func TestReservedSources(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	ingest := srv.NewKey(t, "ingest", "")
	recruiter := srv.NewKey(t, "recruiter", "r-res")
	for _, source := range []string{"greenhouse", "lever", "ashby", "workable", "standard", "twilio", "email", "slack", "queue", "sync"} {
		it := interaction("res-"+source, "new_candidate_application:1")
		it["source"] = source
		it["occurred_at"] = ago(time.Minute)
		for name, key := range map[string]string{"ingest": ingest, "recruiter": recruiter} {
			r := post(t, srv, key, it)
			expectProblem(t, r, http.StatusForbidden, "source")
			if r.Map(t)["type"] != "urn:goodwill:problem:forbidden" {
				t.Errorf("%s, %s key: %s", source, name, r.Body)
			}
		}
		mustPost(t, srv, servicetest.AdminKey, it, http.StatusCreated) // an admin import of vendor history
	}
	// In a batch, the item is named, and nothing is written.
	reserved := interaction("res-batch", "b2")
	reserved["source"] = "lever"
	r := post(t, srv, ingest, map[string]any{"interactions": []any{interaction("res-batch", "b1"), reserved}})
	expectProblem(t, r, http.StatusForbidden, "interactions[1].source")
	mustPost(t, srv, ingest, interaction("res-batch", "b1"), http.StatusCreated)
	// Other sources stay open to every writing key.
	custom := interaction("res-custom", "c1")
	custom["source"] = "my-ats"
	mustPost(t, srv, ingest, custom, http.StatusCreated)
}

// TestRecruiterKeepsToTheirCandidates: a recruiter key cannot reach another
// recruiter's candidate by naming it on its own applications.
func TestRecruiterKeepsToTheirCandidates(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	alice := srv.NewKey(t, "recruiter", "alice")
	seed := func(app, cand, recruiter, name string) {
		it := interaction(app, "seed-"+app)
		it["candidate_id"], it["recruiter_id"] = cand, recruiter
		it["candidate"] = map[string]string{"name": name, "phone": "+14155550111"}
		mustPost(t, srv, servicetest.AdminKey, it, http.StatusCreated)
	}
	seed("bob-app", "cand-bob", "bob", "Bea Bobson")
	seed("alice-app", "cand-alice", "alice", "Al Alison")
	awaitApp(t, srv, "bob-app", "alice-app")

	msg := func(app, cand string) map[string]any {
		return map[string]any{"application_id": app, "candidate_id": cand, "kind": "message", "direction": "outbound",
			"channel": "sms", "occurred_at": ago(time.Minute)}
	}
	// Her existing application keeps its candidate.
	hijack := msg("alice-app", "cand-bob")
	hijack["candidate"] = map[string]string{"phone": "+14155550199"}
	expectProblem(t, post(t, srv, alice, hijack), http.StatusConflict, "candidate_id")
	// A new application may name only a candidate that is new or that she sees: 404
	// (which tells that the id exists; candidate ids are ATS ids, not secrets).
	fresh := msg("alice-new", "cand-bob")
	fresh["candidate"] = map[string]string{"name": "Mallory", "phone": "+14155550199"}
	expectProblem(t, post(t, srv, alice, fresh), http.StatusNotFound, "candidate_id")
	// Within one batch, a new application gets one candidate.
	expectProblem(t, post(t, srv, alice, map[string]any{"interactions": []any{msg("alice-b", "cand-new-1"), msg("alice-b", "cand-new-2")}}),
		http.StatusConflict, "interactions[1].candidate_id")

	// Nothing of it reached Bob's candidate.
	var list struct{ Interactions []map[string]any }
	srv.Do(t, http.MethodGet, "/v1/interactions?candidate_id=cand-bob", servicetest.AdminKey, nil).JSON(t, &list)
	if len(list.Interactions) != 1 {
		t.Fatalf("cand-bob has %d interactions, want only the seed", len(list.Interactions))
	}
	var tl struct{ Application map[string]any }
	srv.Do(t, http.MethodGet, "/v1/applications/bob-app/timeline", servicetest.AdminKey, nil).JSON(t, &tl)
	if tl.Application["candidate_name"] != "Bea Bobson" {
		t.Errorf("Bob's candidate is now %v", tl.Application["candidate_name"])
	}

	// What she may do: write on her application, open one for a new candidate or for
	// a candidate she already sees, and update their details.
	own := msg("alice-app", "cand-alice")
	own["candidate"] = map[string]string{"name": "Al Alison-Smith"}
	mustPost(t, srv, alice, own, http.StatusCreated)
	mustPost(t, srv, alice, msg("alice-new", "cand-brand-new"), http.StatusCreated)
	mustPost(t, srv, alice, msg("alice-second", "cand-alice"), http.StatusCreated)
	servicetest.Eventually(t, 3*time.Second, "her candidate's new name", func() bool {
		srv.Do(t, http.MethodGet, "/v1/applications/alice-app/timeline", alice, nil).JSON(t, &tl)
		return tl.Application["candidate_name"] == "Al Alison-Smith"
	})
	// An admin key is not bound by these rules.
	mustPost(t, srv, servicetest.AdminKey, msg("alice-app", "cand-bob"), http.StatusCreated)
}

// TestSelfReportedTouchpoints: a recruiter key logs touchpoints of the last 24 hours
// only, those older than 15 minutes marked backdated; ingest and admin keys are
// exempt. A hold lasts at most 90 days, for every key.
func TestSelfReportedTouchpoints(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	rec := srv.NewKey(t, "recruiter", "r-self")
	ingest := srv.NewKey(t, "ingest", "")
	call := func(app string, age time.Duration) map[string]any {
		return map[string]any{"application_id": app, "candidate_id": "cand-" + app, "kind": "call", "direction": "outbound",
			"channel": "phone", "occurred_at": ago(age)}
	}

	expectProblem(t, post(t, srv, rec, call("s-app", 25*time.Hour)), http.StatusBadRequest, "occurred_at")
	expectProblem(t, post(t, srv, rec, map[string]any{"interactions": []any{call("s-app", time.Minute), call("s-app", 48*time.Hour)}}),
		http.StatusBadRequest, "interactions[1].occurred_at")

	late := mustPost(t, srv, rec, call("s-app", 20*time.Minute), http.StatusCreated).Map(t)
	if late["backdated"] != true {
		t.Errorf("a call logged 20 minutes late: %v", late)
	}
	prompt := mustPost(t, srv, rec, call("s-app", 5*time.Minute), http.StatusCreated).Map(t)
	if _, ok := prompt["backdated"]; ok {
		t.Errorf("a call logged 5 minutes late: %v", prompt)
	}
	for name, key := range map[string]string{"ingest": ingest, "admin": servicetest.AdminKey} {
		old := mustPost(t, srv, key, call("s-import-"+name, 30*24*time.Hour), http.StatusCreated).Map(t)
		if _, ok := old["backdated"]; ok {
			t.Errorf("%s key: %v", name, old)
		}
	}

	// The timeline shows the flag.
	awaitApp(t, srv, "s-app")
	var tl struct{ Interactions []map[string]any }
	servicetest.Eventually(t, 3*time.Second, "both calls on the timeline", func() bool {
		srv.Do(t, http.MethodGet, "/v1/applications/s-app/timeline", rec, nil).JSON(t, &tl)
		return len(tl.Interactions) == 2
	})
	flags := map[any]any{}
	for _, it := range tl.Interactions {
		flags[it["id"]] = it["backdated"]
	}
	if d := cmp.Diff(map[any]any{late["id"]: true, prompt["id"]: nil}, flags); d != "" {
		t.Errorf("timeline backdated flags (-want +got):\n%s", d)
	}
	// It counts as it is: the silent-candidate clock runs from the late call's
	// occurred_at, not from its receipt.
	servicetest.Eventually(t, 3*time.Second, "a contact_gap clock from the late call", func() bool {
		var sla struct{ Clocks []map[string]any }
		srv.Do(t, http.MethodGet, "/v1/applications/s-app/sla", servicetest.AdminKey, nil).JSON(t, &sla)
		for _, c := range sla.Clocks {
			if c["metric"] == "contact_gap" && c["started_at"] == late["occurred_at"] {
				return true
			}
		}
		return false
	})

	// hold.until at most 90 days after the hold's occurred_at, for every key.
	hold := func(app string, days int) map[string]any {
		occurred := time.Now().Add(-time.Minute).UTC()
		return map[string]any{"application_id": app, "candidate_id": "cand-" + app, "kind": "hold",
			"occurred_at": occurred.Format(time.RFC3339), "until": occurred.AddDate(0, 0, days).Format(time.RFC3339)}
	}
	for _, key := range []string{rec, ingest, servicetest.AdminKey} {
		expectProblem(t, post(t, srv, key, hold("s-app", 91)), http.StatusBadRequest, "until")
		mustPost(t, srv, key, hold("s-app", 90), http.StatusCreated)
	}
}

// TestQueueShowsBackdated: the queue marks a clock started by a touchpoint that was
// logged late.
func TestQueueShowsBackdated(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/reply", servicetest.AdminKey, map[string]any{
		"name": "fast replies", "metric": "reply", "target": "30m", "calendar": "24x7", "enabled": true,
	}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/r-queue", servicetest.AdminKey, `{"name":"Quinn"}`); r.Status >= 300 {
		t.Fatalf("recruiter: %d %s", r.Status, r.Body)
	}
	key := srv.NewKey(t, "recruiter", "r-queue")
	inbound := func(app string) map[string]any {
		return map[string]any{"application_id": app, "candidate_id": "cand-" + app, "kind": "message", "direction": "inbound",
			"channel": "phone", "occurred_at": ago(2 * time.Hour), "recruiter_id": "r-queue"}
	}
	// The candidate's call, logged two hours late by the recruiter; another, on time
	// through the ATS (an ingest key is not self-reported).
	mustPost(t, srv, key, inbound("q-late"), http.StatusCreated)
	mustPost(t, srv, srv.NewKey(t, "ingest", ""), inbound("q-ats"), http.StatusCreated)

	b := signedIn(t, srv, key)
	var rows map[string]*html.Node
	servicetest.Eventually(t, 3*time.Second, "both replies overdue in the queue", func() bool {
		p := b.get("/queue")
		if p.Status != http.StatusOK {
			t.Fatalf("queue: %d %s", p.Status, p.Body)
		}
		rows = queueRows(t, p, "overdue")
		return rows["q-late"] != nil && rows["q-ats"] != nil
	})
	if attr(rows["q-late"], "data-backdated") != "true" || len(findAll(rows["q-late"], withAttr("data-testid", "backdated"))) != 1 {
		t.Errorf("the late call's row is not marked backdated")
	}
	if hasAttr(rows["q-ats"], "data-backdated") || len(findAll(rows["q-ats"], withAttr("data-testid", "backdated"))) != 0 {
		t.Errorf("the ATS's row is marked backdated")
	}
}

// TestWebhookKeyOfAnotherApplication: a receiver's event whose idempotency key is held
// by another application is refused loudly (409), not taken for a duplicate.
func TestWebhookKeyOfAnotherApplication(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, webhookEnv(), service.Options{})
	planted := interaction("wk-planted", "evt-1")
	planted["source"] = "standard"
	mustPost(t, srv, servicetest.AdminKey, planted, http.StatusCreated)

	real := interaction("wk-real", "evt-1")
	real["source"] = "standard"
	real["occurred_at"] = ago(time.Minute)
	body, err := json.Marshal(real)
	if err != nil {
		t.Fatal(err)
	}
	r := signDelivery(t, "standard", body, "msg_wk_1", whSecret).post(t, srv, "/webhooks/standard")
	expectProblem(t, r, http.StatusConflict, "external_id")
	if n := countApp(t, srv, "wk-real"); n != 0 {
		t.Errorf("the refused event stored %d interactions", n)
	}
	// The delivery log says it was refused, and why; it is not left pending.
	if got := deliveries(t, srv, "source=standard&outcome=refused"); len(got) != 1 || !strings.Contains(got[0]["reason"].(string), "another application") {
		t.Errorf("refused deliveries %v, want the one, with its reason", got)
	}
	if got := deliveries(t, srv, "source=standard&outcome=pending"); len(got) != 0 {
		t.Errorf("pending deliveries %v, want none", got)
	}
}
