package service_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// interaction is a valid application_received for app; ext is its external_id.
func interaction(app, ext string) map[string]any {
	m := map[string]any{
		"application_id": app,
		"candidate_id":   "cand-" + app,
		"kind":           "application_received",
		"occurred_at":    "2026-11-02T10:00:00Z",
	}
	if ext != "" {
		m["external_id"] = ext
	}
	return m
}

// expectProblem checks an RFC 9457 answer, and that it names field if one is given.
func expectProblem(t *testing.T, r servicetest.Response, status int, field string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q", ct)
	}
	var p struct {
		Type, Title, Detail string
		Status              int
		Errors              []struct{ Field, Message string }
	}
	r.JSON(t, &p)
	if p.Status != status || p.Type == "" || p.Title == "" {
		t.Fatalf("problem %s", r.Body)
	}
	if field == "" {
		return
	}
	for _, e := range p.Errors {
		if e.Field == field && e.Message != "" {
			return
		}
	}
	t.Fatalf("no error for field %q in %s", field, r.Body)
}

var apiTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestPostInteraction(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	in := interaction("app-1", "ext-1")
	in["occurred_at"] = "2026-11-02T11:00:00.123456+01:00"
	in["candidate"] = map[string]string{"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+14155550100"}
	in["job"] = map[string]string{"title": "Engineer", "department": "R&D"}
	in["metadata"] = map[string]any{"note": "hi"}

	r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in)
	if r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	got := r.Map(t)
	if got["occurred_at"] != "2026-11-02T10:00:00.123Z" {
		t.Errorf("occurred_at %v: want UTC with milliseconds", got["occurred_at"])
	}
	if !apiTimeRE.MatchString(got["received_at"].(string)) || got["id"] == "" {
		t.Errorf("received_at %v, id %v", got["received_at"], got["id"])
	}
	if got["direction"] != "inbound" || got["source"] != "api" {
		t.Errorf("direction %v, source %v: want the fixed direction and default source", got["direction"], got["source"])
	}
	if _, dup := got["duplicate"]; dup {
		t.Errorf("a first write is no duplicate: %s", r.Body)
	}

	// A repeat of the idempotency key returns the original, even with another payload.
	in["kind"] = "note"
	again := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in)
	if again.Status != http.StatusOK {
		t.Fatalf("repeat: %d %s", again.Status, again.Body)
	}
	orig := again.Map(t)
	if orig["id"] != got["id"] || orig["kind"] != "application_received" || orig["duplicate"] != true {
		t.Fatalf("repeat answered %s", again.Body)
	}

	// The timeline shows it, with the candidate's name and the derived state.
	servicetest.Eventually(t, 2*time.Second, "the projector", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/applications/app-1/timeline", servicetest.AdminKey, nil).Status == http.StatusOK
	})
	var tl struct {
		Application  map[string]any
		Interactions []map[string]any
		Clocks       []any
	}
	srv.Do(t, http.MethodGet, "/v1/applications/app-1/timeline", servicetest.AdminKey, nil).JSON(t, &tl)
	if len(tl.Interactions) != 1 || tl.Interactions[0]["id"] != got["id"] {
		t.Fatalf("timeline interactions %v", tl.Interactions)
	}
	want := map[string]any{
		"id": "app-1", "candidate_id": "cand-app-1", "candidate_name": "Ada Lovelace", "status": "open",
		"source": "api", "referral": false, "applied_at": "2026-11-02T10:00:00.123Z",
		"last_event_at": "2026-11-02T10:00:00.123Z", "interactions": float64(1),
	}
	if d := cmp.Diff(want, tl.Application); d != "" {
		t.Errorf("application (-want +got):\n%s", d)
	}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	first := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, interaction("b-app", "b1"))
	if first.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", first.Status, first.Body)
	}
	batch := map[string]any{"interactions": []any{
		interaction("b-app", "b1"), // stored already
		interaction("b-app", "b2"),
		interaction("b-app", "b2"), // a repeat within the batch
	}}
	r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, batch)
	if r.Status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	var out struct{ Interactions []map[string]any }
	r.JSON(t, &out)
	var flags []bool
	for _, it := range out.Interactions {
		flags = append(flags, it["duplicate"] == true)
	}
	if d := cmp.Diff([]bool{true, false, true}, flags); d != "" {
		t.Fatalf("duplicate flags (-want +got):\n%s", d)
	}
	if out.Interactions[1]["id"] != out.Interactions[2]["id"] {
		t.Fatalf("a repeat within a batch must answer the stored original")
	}
	if n := countApp(t, srv, "b-app"); n != 2 {
		t.Fatalf("stored %d, want 2", n)
	}
}

// countApp counts the stored interactions of an application through the list.
func countApp(t *testing.T, srv *servicetest.Instance, app string) int {
	t.Helper()
	var out struct{ Interactions []any }
	r := srv.Do(t, http.MethodGet, "/v1/interactions?limit=1000&application_id="+app, servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &out)
	return len(out.Interactions)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	future := time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	with := func(k string, v any) map[string]any {
		m := interaction("v-app", "")
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		// Required fields are named.
		{"no application", with("application_id", nil), "application_id"},
		{"no candidate", with("candidate_id", nil), "candidate_id"},
		{"no kind", with("kind", nil), "kind"},
		{"no occurred_at", with("occurred_at", nil), "occurred_at"},
		// Values are checked.
		{"unknown kind", with("kind", "tweet"), "kind"},
		{"bad time", with("occurred_at", "yesterday"), "occurred_at"},
		{"future", with("occurred_at", future), "occurred_at"},
		{"conflicting direction", with("direction", "outbound"), "direction"},
		{"bad channel", with("channel", "pigeon"), "channel"},
		{"bad source", with("source", "Has Spaces"), "source"},
		{"bad duration", with("duration", "1 hour"), "duration"},
		{"bad email", with("candidate", map[string]string{"email": "not-an-email"}), "candidate.email"},
		{"bad phone", with("candidate", map[string]string{"phone": "555-0100"}), "candidate.phone"},
		{"metadata not object", with("metadata", []int{1}), "metadata"},
		{"metadata too large", with("metadata", map[string]string{"x": strings.Repeat("a", 9000)}), "metadata"},
		{"score on a message", with("score", 5), "score"},
		{"metadata operator key", with("metadata", map[string]any{"a": map[string]int{"$set": 1}}), "metadata"},
		{"metadata dotted key", with("metadata", map[string]int{"a.b": 1}), "metadata"},
		// Wrong JSON types and unknown fields are named.
		{"wrong type", with("candidate_notified", "yes"), "candidate_notified"},
		{"unknown field", with("colour", "red"), "colour"},
		{"unknown nested field", with("candidate", map[string]string{"age": "40"}), "candidate.age"},
		// Kinds need their own fields.
		{"message needs direction", map[string]any{"application_id": "a", "candidate_id": "c", "kind": "message", "occurred_at": "2026-11-02T10:00:00Z"}, "direction"},
		{"interview needs id", map[string]any{"application_id": "a", "candidate_id": "c", "kind": "interview_scheduled", "occurred_at": "2026-11-02T10:00:00Z"}, "interview_id"},
		{"survey needs score", map[string]any{"application_id": "a", "candidate_id": "c", "kind": "survey_response", "occurred_at": "2026-11-02T10:00:00Z"}, "score"},
		{"score range", map[string]any{"application_id": "a", "candidate_id": "c", "kind": "survey_response", "score": 11, "occurred_at": "2026-11-02T10:00:00Z"}, "score"},
		{"hold needs until", map[string]any{"application_id": "a", "candidate_id": "c", "kind": "hold", "occurred_at": "2026-11-02T10:00:00Z"}, "until"},
		{"promise needs promised_by", map[string]any{"application_id": "a", "candidate_id": "c", "kind": "promise", "occurred_at": "2026-11-02T10:00:00Z"}, "promised_by"},
		{"stage change needs stage", map[string]any{"application_id": "a", "candidate_id": "c", "kind": "stage_changed", "occurred_at": "2026-11-02T10:00:00Z"}, "stage"},
		// The body must be an object, and a batch holds 1 to 1000.
		{"not an object", `[1,2]`, "body"},
		{"not JSON", `{"application_id":`, "body"},
		{"empty batch", map[string]any{"interactions": []any{}}, "interactions"},
		{"batch with extra field", map[string]any{"interactions": []any{interaction("x", "")}, "dry_run": true}, "dry_run"},
		// A batch names the index of the bad item.
		{"batch item", map[string]any{"interactions": []any{interaction("v-app", "ok"), with("kind", "tweet")}}, "interactions[1].kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, tc.body)
			expectProblem(t, r, http.StatusBadRequest, tc.field)
		})
	}
	big := map[string]any{"interactions": make([]any, 1001)}
	for i := range 1001 {
		big["interactions"].([]any)[i] = interaction("v-app", "")
	}
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, big), http.StatusBadRequest, "interactions")
	// Nothing of a rejected batch was stored, not even its valid items.
	if n := countApp(t, srv, "v-app"); n != 0 {
		t.Fatalf("a rejected batch stored %d interactions", n)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	body := `{"interactions":[` + strings.Repeat(`{"application_id":"x"},`, 50000) + `{}]}`
	r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, body)
	expectProblem(t, r, http.StatusRequestEntityTooLarge, "")
}

func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	single := interaction("h-app", "")
	batch := map[string]any{"interactions": []any{interaction("h-app", ""), interaction("h-app", "")}}
	for range 2 { // the retry stores nothing new
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, single, "Idempotency-Key", "req-1"); r.Status >= 300 {
			t.Fatalf("single: %d %s", r.Status, r.Body)
		}
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, batch, "Idempotency-Key", "req-2"); r.Status != http.StatusCreated {
			t.Fatalf("batch: %d %s", r.Status, r.Body)
		}
	}
	if n := countApp(t, srv, "h-app"); n != 3 {
		t.Fatalf("stored %d, want 3", n)
	}
	// Without external_id or the header, each request stores anew.
	srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, single)
	srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, single)
	if n := countApp(t, srv, "h-app"); n != 5 {
		t.Fatalf("stored %d, want 5", n)
	}
}

// TestConcurrentDuplicates posts one idempotency key 100 times at once: exactly one
// is stored, and every answer carries its id.
func TestConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	ids := map[any]bool{}
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, interaction("c-app", "same"))
			var m map[string]any
			r.JSON(t, &m)
			mu.Lock()
			statuses[r.Status]++
			ids[m["id"]] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[http.StatusCreated] != 1 || statuses[http.StatusOK] != 99 || len(ids) != 1 {
		t.Fatalf("statuses %v, distinct ids %d", statuses, len(ids))
	}
	if n := countApp(t, srv, "c-app"); n != 1 {
		t.Fatalf("stored %d", n)
	}
}

func TestListFiltersAndCursor(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	var batch []any
	for i := range 25 {
		it := interaction(fmt.Sprintf("l-app-%d", i%2), fmt.Sprintf("l%d", i))
		it["occurred_at"] = time.Date(2026, 11, 2, 10, i, 0, 0, time.UTC).Format(time.RFC3339)
		it["kind"] = "note"
		if i%5 == 0 {
			it["source"] = "greenhouse"
		}
		it["recruiter_id"] = fmt.Sprintf("rec-%d", i%3)
		batch = append(batch, it)
	}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{"interactions": batch}); r.Status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	list := func(query string) ([]string, string) {
		t.Helper()
		r := srv.Do(t, http.MethodGet, "/v1/interactions?"+query, servicetest.AdminKey, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list %s: %d %s", query, r.Status, r.Body)
		}
		var out struct {
			Interactions []struct {
				ExternalID string `json:"external_id"`
			}
			NextCursor string `json:"next_cursor"`
		}
		r.JSON(t, &out)
		var ext []string
		for _, it := range out.Interactions {
			ext = append(ext, it.ExternalID)
		}
		return ext, out.NextCursor
	}
	// Pages of 10 walk the whole list newest first, with no gap or repeat.
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, next := list("limit=10&cursor=" + cursor)
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
		if pages > 5 {
			t.Fatal("the cursor never ends")
		}
	}
	var want []string
	for i := 24; i >= 0; i-- {
		want = append(want, fmt.Sprintf("l%d", i))
	}
	if d := cmp.Diff(want, all); d != "" {
		t.Fatalf("paged list (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"application_id=l-app-0", 13},
		{"source=greenhouse", 5},
		{"recruiter_id=rec-0", 9},
		{"kind=note&application_id=l-app-1", 12},
		{"kind=message", 0},
		{"since=2026-11-02T10:20:00Z", 5},
		{"until=2026-11-02T10:05:00Z", 5},
		{"candidate_id=cand-l-app-1", 12},
	} {
		got, _ := list("limit=1000&" + tc.query)
		if len(got) != tc.want {
			t.Errorf("%s: %d items, want %d", tc.query, len(got), tc.want)
		}
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "since=yesterday", "cursor=garbage!"} {
		r := srv.Do(t, http.MethodGet, "/v1/interactions?"+q, servicetest.AdminKey, nil)
		expectProblem(t, r, http.StatusBadRequest, strings.SplitN(q, "=", 2)[0])
	}
}

func TestRecruiterScope(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	alice := srv.NewKey(t, "recruiter", "alice")
	bob := srv.NewKey(t, "recruiter", "bob")
	mine := interaction("alice-app", "a1")
	mine["recruiter_id"] = "alice"
	theirs := interaction("bob-app", "b1")
	theirs["recruiter_id"] = "bob"
	for _, it := range []map[string]any{mine, theirs} {
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, it); r.Status != http.StatusCreated {
			t.Fatalf("seed: %d %s", r.Status, r.Body)
		}
	}
	servicetest.Eventually(t, 2*time.Second, "the projector", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/applications/bob-app/timeline", servicetest.AdminKey, nil).Status == http.StatusOK &&
			srv.Do(t, http.MethodGet, "/v1/applications/alice-app/timeline", servicetest.AdminKey, nil).Status == http.StatusOK
	})

	// Alice sees her application and not Bob's: 404, exactly as if it did not exist.
	if r := srv.Do(t, http.MethodGet, "/v1/applications/alice-app/timeline", alice, nil); r.Status != http.StatusOK {
		t.Fatalf("own timeline: %d %s", r.Status, r.Body)
	}
	hidden := srv.Do(t, http.MethodGet, "/v1/applications/bob-app/timeline", alice, nil)
	missing := srv.Do(t, http.MethodGet, "/v1/applications/nobody-app/timeline", alice, nil)
	expectProblem(t, hidden, http.StatusNotFound, "")
	if strings.ReplaceAll(string(hidden.Body), "bob-app", "X") != strings.ReplaceAll(string(missing.Body), "nobody-app", "X") {
		t.Fatalf("hidden %s differs from missing %s", hidden.Body, missing.Body)
	}

	// Her list shows only her applications' interactions.
	r := srv.Do(t, http.MethodGet, "/v1/interactions", alice, nil)
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), "bob-app") || !strings.Contains(string(r.Body), "alice-app") {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}

	// She writes as herself on her applications, and not on Bob's.
	recent := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	reply := map[string]any{"application_id": "alice-app", "candidate_id": "cand-alice-app", "kind": "message",
		"direction": "outbound", "occurred_at": recent, "actor_id": "mallory"}
	w := srv.Do(t, http.MethodPost, "/v1/interactions", alice, reply)
	if w.Status != http.StatusCreated || w.Map(t)["actor_id"] != "alice" {
		t.Fatalf("own write: %d %s", w.Status, w.Body)
	}
	reply["application_id"] = "bob-app"
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/interactions", alice, reply), http.StatusNotFound, "")
	// A new application becomes hers; she cannot hand it to Bob.
	fresh := interaction("alice-new", "")
	fresh["occurred_at"] = recent
	w = srv.Do(t, http.MethodPost, "/v1/interactions", alice, fresh)
	if w.Status != http.StatusCreated || w.Map(t)["recruiter_id"] != "alice" {
		t.Fatalf("new application: %d %s", w.Status, w.Body)
	}
	fresh["recruiter_id"] = "bob"
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/interactions", alice, fresh), http.StatusBadRequest, "recruiter_id")
	// Bob's key does not see Alice's.
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/applications/alice-app/timeline", bob, nil), http.StatusNotFound, "")
}

func TestHTTPHygiene(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	// Unknown routes and methods are problems too.
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/nothing", servicetest.AdminKey, nil), http.StatusNotFound, "")
	expectProblem(t, srv.Do(t, http.MethodPut, "/v1/interactions", servicetest.AdminKey, "{}"), http.StatusMethodNotAllowed, "")
	// A request id is echoed, or made up.
	r := srv.Do(t, http.MethodGet, "/healthz", "", nil, "X-Request-ID", "trace-me-42")
	if r.Status != http.StatusOK || r.Header.Get("X-Request-ID") != "trace-me-42" {
		t.Fatalf("healthz: %d, request id %q", r.Status, r.Header.Get("X-Request-ID"))
	}
	if id := srv.Do(t, http.MethodGet, "/healthz", "", nil).Header.Get("X-Request-ID"); id == "" {
		t.Fatal("no request id made up")
	}
	if r := srv.Do(t, http.MethodGet, "/readyz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	// Metrics carry request latency, batch sizes and store errors.
	srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, interaction("m-app", "m1"))
	m := srv.Do(t, http.MethodGet, "/metrics", "", nil)
	for _, name := range []string{"goodwill_http_request_duration_seconds_bucket", "goodwill_write_batch_size_bucket", "goodwill_store_errors_total", "goodwill_projector_lag_seconds"} {
		if !strings.Contains(string(m.Body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// TestPreferMinimal: with Prefer: return=minimal, a write answers each item with its
// id, received_at and duplicate flag only (a duplicate to a key other than admin with
// its id and the flag, as ever), and says Preference-Applied; without it, the items in
// full.
func TestPreferMinimal(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	ingest := srv.NewKey(t, "ingest", "")
	batch := map[string]any{"interactions": []any{interaction("pm-1", "pm-1"), interaction("pm-2", "pm-2")}}
	keys := func(t *testing.T, item map[string]any) string {
		t.Helper()
		var ks []string
		for k := range item {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return strings.Join(ks, ",")
	}
	for _, tc := range []struct {
		name, key string
		body      any
		prefer    string
		status    int
		items     []string // each item's keys, sorted
	}{
		{"batch", servicetest.AdminKey, batch, "return=minimal", http.StatusCreated,
			[]string{"duplicate,id,received_at", "duplicate,id,received_at"}},
		{"batch again, ingest key", ingest, batch, "return=minimal", http.StatusCreated,
			[]string{"duplicate,id", "duplicate,id"}},
		{"batch again, admin key", servicetest.AdminKey, batch, `wait=1, return="minimal"`, http.StatusCreated,
			[]string{"duplicate,id,received_at", "duplicate,id,received_at"}},
		{"single", ingest, interaction("pm-3", "pm-3"), "return=minimal", http.StatusCreated,
			[]string{"duplicate,id,received_at"}},
		{"single again", ingest, interaction("pm-3", "pm-3"), "return=minimal", http.StatusOK,
			[]string{"duplicate,id"}},
		{"representation", ingest, interaction("pm-4", "pm-4"), "return=representation", http.StatusCreated, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Do(t, http.MethodPost, "/v1/interactions", tc.key, tc.body, "Prefer", tc.prefer)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			var items []map[string]any
			if _, isBatch := tc.body.(map[string]any)["interactions"]; isBatch {
				var ans struct {
					Interactions []map[string]any `json:"interactions"`
				}
				r.JSON(t, &ans)
				items = ans.Interactions
			} else {
				var one map[string]any
				r.JSON(t, &one)
				items = []map[string]any{one}
			}
			if tc.items == nil { // not minimal: the interaction in full
				if got := r.Header.Get("Preference-Applied"); got != "" {
					t.Errorf("Preference-Applied %q for %s", got, tc.prefer)
				}
				if items[0]["kind"] != "application_received" || items[0]["id"] == "" {
					t.Errorf("answer %s: want the interaction in full", r.Body)
				}
				return
			}
			if got := r.Header.Get("Preference-Applied"); got != "return=minimal" {
				t.Errorf("Preference-Applied %q, want return=minimal", got)
			}
			if len(items) != len(tc.items) {
				t.Fatalf("%d items, want %d: %s", len(items), len(tc.items), r.Body)
			}
			for i, item := range items {
				if got := keys(t, item); got != tc.items[i] {
					t.Errorf("item %d has %s, want %s: %s", i, got, tc.items[i], r.Body)
				}
				if id, _ := item["id"].(string); id == "" {
					t.Errorf("item %d has no id: %s", i, r.Body)
				}
			}
		})
	}
}
