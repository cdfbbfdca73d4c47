// Package levertest is a fake of Lever's API for tests of the Lever sync, in the
// package and end to end. It answers as Lever's API reference describes
// (hire.lever.co/developer/documentation: "Authentication", "Pagination", "Users",
// "Opportunities", "Interviews"; see webhooks/lever/api.go): Basic auth with the key as
// user name, lists in {"data","hasNext","next"} pages of at most limit items from the
// opaque offset token, deactivated users only with includeDeactivated=true, and
// opportunities filtered by updated_at_start and served only when expanded as the sync
// needs them.
package levertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Key is the API key the fake accepts.
const Key = "lever-test-key"

// Account is the content of the fake Lever account, each list as Lever returns its
// items (testdata/sync/lever.json beside the sync).
type Account struct {
	Users          []json.RawMessage            `json:"users"`
	Stages         []json.RawMessage            `json:"stages"`
	Postings       []json.RawMessage            `json:"postings"`
	ArchiveReasons []json.RawMessage            `json:"archive_reasons"`
	Opportunities  []json.RawMessage            `json:"opportunities"`
	Interviews     map[string][]json.RawMessage `json:"interviews"` // by opportunity id
}

// Fake is a running fake of Lever's API.
type Fake struct {
	srv *httptest.Server

	mu       sync.Mutex
	account  Account
	updated  []int64        // each opportunity's updatedAt, as account holds them
	requests []string       // path?query of each request
	fail     map[string]int // path (without /v1) → status to answer instead
}

// Start serves the account read from the JSON file at path until the test ends.
func Start(t testing.TB, path string) *Fake {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var a Account
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f := New(a)
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// Load reads an account from the JSON file at path.
func Load(path string) (Account, error) {
	var a Account
	raw, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(raw, &a)
	}
	if err != nil {
		return a, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// New returns a fake serving account that is not listening: serve it yourself (it is
// an http.Handler, its API under /v1), as a benchmark does. URL and Client are for a
// fake Start returned.
func New(a Account) *Fake {
	f := &Fake{fail: map[string]int{}, account: a}
	f.reindex()
	return f
}

// reindex reads each opportunity's updatedAt once, for the filter of every page.
func (f *Fake) reindex() {
	f.updated = make([]int64, len(f.account.Opportunities))
	for i, o := range f.account.Opportunities {
		var v struct{ UpdatedAt int64 }
		_ = json.Unmarshal(o, &v)
		f.updated[i] = v.UpdatedAt
	}
}

// URL is the API's root, as GOODWILL_LEVER_API_URL takes it.
func (f *Fake) URL() string { return f.srv.URL + "/v1" }

// Client is an HTTP client for the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

// Edit changes the account under the fake's lock.
func (f *Fake) Edit(fn func(*Account)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.account)
	f.reindex()
}

// Fail answers requests for path (as "/stages", without /v1) with status; 0 stops.
func (f *Fake) Fail(path string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[path] = status
}

// Requests returns "path?query" of every request so far.
func (f *Fake) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func problem(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%q,"message":%q}`, code, msg)
}

// ServeHTTP answers one request of the API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	user, pass, ok := r.BasicAuth()
	if !ok || user != Key || pass != "" {
		problem(w, http.StatusUnauthorized, "Unauthorized", "Invalid API key")
		return
	}
	if r.Method != http.MethodGet {
		problem(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1")
	if !ok {
		problem(w, http.StatusNotFound, "NotFound", r.URL.Path)
		return
	}
	if status := f.fail[path]; status != 0 {
		problem(w, status, http.StatusText(status), "forced by the test")
		return
	}
	q := r.URL.Query()
	var items []json.RawMessage
	switch {
	case path == "/users":
		for _, u := range f.account.Users {
			var v struct{ DeactivatedAt *int64 }
			_ = json.Unmarshal(u, &v)
			if v.DeactivatedAt == nil || q.Get("includeDeactivated") == "true" {
				items = append(items, u)
			}
		}
	case path == "/stages":
		items = f.account.Stages
	case path == "/postings":
		items = f.account.Postings
	case path == "/archive_reasons":
		items = f.account.ArchiveReasons
	case path == "/opportunities":
		for _, e := range []string{"owner", "contact", "stage", "applications"} {
			if !slices.Contains(q["expand"], e) {
				problem(w, http.StatusBadRequest, "BadRequest", "the fake serves opportunities expanded only; missing expand="+e)
				return
			}
		}
		start, _ := strconv.ParseInt(q.Get("updated_at_start"), 10, 64)
		for i, o := range f.account.Opportunities {
			if f.updated[i] >= start {
				items = append(items, o)
			}
		}
	case strings.HasPrefix(path, "/opportunities/") && strings.HasSuffix(path, "/interviews"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/opportunities/"), "/interviews")
		items = f.account.Interviews[id]
	default:
		problem(w, http.StatusNotFound, "NotFound", path)
		return
	}
	page(w, q, items)
}

// page answers one page of items. The next token is shaped like Lever's: URL-encoded
// JSON (amp-labs/connectors providers/lever/test/opportunities.json shows one), which
// clients send back as the offset query value, encoded once more; the fake decodes it.
func page(w http.ResponseWriter, q map[string][]string, items []json.RawMessage) {
	limit := 100
	if l := first(q["limit"]); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			problem(w, http.StatusBadRequest, "BadRequest", "limit must be 1–100")
			return
		}
		limit = n
	}
	from := 0
	if o := first(q["offset"]); o != "" {
		var tok []string
		raw, err := url.QueryUnescape(o)
		if err != nil || json.Unmarshal([]byte(raw), &tok) != nil || len(tok) != 2 || tok[1] != "after id" {
			problem(w, http.StatusBadRequest, "BadRequest", "not an offset token: "+o)
			return
		}
		from, _ = strconv.Atoi(tok[0])
	}
	from = min(max(from, 0), len(items))
	to := min(from+limit, len(items))
	body := map[string]any{"data": append([]json.RawMessage{}, items[from:to]...), "hasNext": to < len(items)}
	if to < len(items) {
		tok, _ := json.Marshal([]string{strconv.Itoa(to), "after id"})
		body["next"] = url.QueryEscape(string(tok))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// History returns n opportunities and their interviews for a backfill: each applied at
// start + i·step to the fixture's posting 513d232d… and went through three stages, had
// one interview, and was archived as under-qualified, which the sync reads as five
// events (application_received, two stage_changed, interview_scheduled, rejected) and
// the opportunity's details. Ids are deterministic (prefix and i), so that tests can
// name them; the opportunity's id is Opportunity(prefix, i).
func History(prefix string, n int, start time.Time, step time.Duration) ([]json.RawMessage, map[string][]json.RawMessage) {
	opps := make([]json.RawMessage, 0, n)
	ivs := make(map[string][]json.RawMessage, n)
	for i := range n {
		id := Opportunity(prefix, i)
		at := start.Add(time.Duration(i) * step).UnixMilli()
		const hour = int64(time.Hour / time.Millisecond)
		o := map[string]any{
			"id":      id,
			"name":    fmt.Sprintf("Candidate %s %d", prefix, i),
			"contact": map[string]any{"id": fmt.Sprintf("%s-contact-%d", prefix, i), "name": fmt.Sprintf("Candidate %s %d", prefix, i), "emails": []string{fmt.Sprintf("c%d@%s.example.com", i, prefix)}},
			"emails":  []string{fmt.Sprintf("c%d@%s.example.com", i, prefix)},
			"stage":   map[string]any{"id": "6e9c9dd8-0bc7-4b2a-9f8e-4c2c6bd8c2a1", "text": "On-site interview"},
			"stageChanges": []map[string]any{
				{"toStageId": "applicant-new", "toStageIndex": 1, "updatedAt": at},
				{"toStageId": "2ca03d97-d4f2-4a97-89de-96c8b0d07924", "toStageIndex": 2, "updatedAt": at + 24*hour},
				{"toStageId": "6e9c9dd8-0bc7-4b2a-9f8e-4c2c6bd8c2a1", "toStageIndex": 3, "updatedAt": at + 72*hour},
			},
			"owner":  map[string]any{"id": "b6816cb5-cf05-433c-b07f-2ca3eea60f54"},
			"origin": "applied",
			"applications": []map[string]any{{
				"id": fmt.Sprintf("%s-app-%d", prefix, i), "opportunityId": id, "createdAt": at,
				"type": "posting", "posting": "513d232d-2bfa-4120-a6d2-bf5fccbe0598",
			}},
			"archived":  map[string]any{"archivedAt": at + 120*hour, "reason": "4105fb10-1f79-44ec-b873-33886dc01348"},
			"createdAt": at,
			"updatedAt": at + 120*hour,
		}
		raw, _ := json.Marshal(o)
		opps = append(opps, raw)
		iv, _ := json.Marshal(map[string]any{
			"id": fmt.Sprintf("%s-interview-%d", prefix, i), "createdAt": at + 48*hour, "date": at + 96*hour,
			"duration": 45, "user": "b6816cb5-cf05-433c-b07f-2ca3eea60f54", "canceledAt": nil,
		})
		ivs[id] = []json.RawMessage{iv}
	}
	return opps, ivs
}

// Opportunity is the id of History's i-th opportunity with prefix.
func Opportunity(prefix string, i int) string { return fmt.Sprintf("%s-opp-%05d", prefix, i) }

// AddHistory adds History's opportunities and interviews to the account.
func (f *Fake) AddHistory(prefix string, n int, start time.Time, step time.Duration) {
	opps, ivs := History(prefix, n, start, step)
	f.Edit(func(a *Account) {
		a.Opportunities = append(a.Opportunities, opps...)
		if a.Interviews == nil {
			a.Interviews = map[string][]json.RawMessage{}
		}
		for k, v := range ivs {
			a.Interviews[k] = v
		}
	})
}
