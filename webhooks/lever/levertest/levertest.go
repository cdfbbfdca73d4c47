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
	f := &Fake{fail: map[string]int{}}
	if err := json.Unmarshal(raw, &f.account); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
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
		for _, o := range f.account.Opportunities {
			var v struct{ UpdatedAt int64 }
			_ = json.Unmarshal(o, &v)
			if v.UpdatedAt >= start {
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
