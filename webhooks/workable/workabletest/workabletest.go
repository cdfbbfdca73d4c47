// Package workabletest is a fake of Workable's SPI v3 for tests of the Workable sync,
// in the package and end to end. It answers as Workable's API reference describes
// (workable.readme.io/reference; see webhooks/workable/api.go):
//
//   - "Authorization: Bearer <Token>" on every request, else 401 {"error"};
//   - lists as {"<name>": [...], "paging": {"next": "<absolute URL>"}}: at most limit
//     items (default 50, more than 100 refused with 400), in the account's order
//     (oldest first), the next page's URL carrying since_id and every filter;
//   - /members (status active by default, inactive or all), /jobs (updated_after),
//     /jobs/:shortcode/members, /stages, /candidates (updated_after, created_after),
//     /candidates/:id ({"candidate": {...}}), /candidates/:id/activities, /events
//     (start_date, end_date, candidate_id, cancelled ones only with
//     include_cancelled=true);
//   - X-Rate-Limit-Limit, X-Rate-Limit-Remaining and X-Rate-Limit-Reset (the Unix time
//     of the next interval) on every answer, and 429 past the limit of an interval
//     ("Rate limiting"); a limit of 100,000 requests every 10 seconds unless the test sets
//     Workable's (Limit).
//
// Tests can also force answers (Fail: 5xx, 429 with Retry-After) and slow them down
// (Delay).
package workabletest

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

// Token is the account token the fake accepts.
const Token = "workable-test-token"

// Account is the content of the fake Workable account, each list as Workable returns
// its items (testdata/sync/workable.json beside the sync).
type Account struct {
	Members    []json.RawMessage            `json:"members"`
	Jobs       []json.RawMessage            `json:"jobs"`
	JobMembers map[string][]json.RawMessage `json:"job_members"` // by job shortcode
	Stages     []json.RawMessage            `json:"stages"`
	Candidates []json.RawMessage            `json:"candidates"` // as GET /candidates lists them
	// Details are what GET /candidates/:id adds to the listed candidate, by id.
	Details    map[string]json.RawMessage   `json:"details"`
	Activities map[string][]json.RawMessage `json:"activities"` // by candidate id
	Events     []json.RawMessage            `json:"events"`
}

// Fake is a running fake of Workable's API.
type Fake struct {
	srv *httptest.Server

	mu       sync.Mutex
	account  Account
	requests []string // path?query of each request
	fails    []fail
	delay    time.Duration
	limit    int
	interval time.Duration
	window   time.Time                  // start of the current interval
	used     int                        // requests in it
	limited  int                        // requests answered 429 for the rate limit
	index    map[string]json.RawMessage // listed candidates by id; nil: to build
}

type fail struct {
	path   string // "" any
	status int
	left   int
}

// Base is the API's path on the fake's host.
const Base = "/spi/v3"

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
	return StartAccount(t, a)
}

// Load reads an account from the JSON file at path.
func Load(path string) (Account, error) {
	var a Account
	raw, err := os.ReadFile(path)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return a, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// StartAccount serves a until the test ends.
func StartAccount(t testing.TB, a Account) *Fake {
	t.Helper()
	f := New(a)
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// New returns a fake serving a as an http.Handler (the API under Base), for a server
// of the caller's (the benchmark's); URL and Client are for StartAccount's fakes only.
func New(a Account) *Fake {
	return &Fake{account: a, limit: 100_000, interval: 10 * time.Second}
}

// URL is the API's root, as GOODWILL_WORKABLE_API_URL takes it.
func (f *Fake) URL() string { return f.srv.URL + Base }

// Client is an HTTP client for the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

// Edit changes the account under the fake's lock.
func (f *Fake) Edit(fn func(*Account)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.account)
	f.index = nil
}

// Fail answers the next n requests for path (as "/candidates", without /spi/v3; ""
// for any) with status, in place of what it was told for path before; a 429 carries
// Retry-After: 1. n 0 answers path normally again.
func (f *Fake) Fail(path string, status, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails = slices.DeleteFunc(f.fails, func(fl fail) bool { return fl.path == path })
	if n > 0 {
		f.fails = append(f.fails, fail{path: path, status: status, left: n})
	}
}

// Delay makes every answer wait d first (a slow API).
func (f *Fake) Delay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// Limit sets the rate limit: n requests every interval (Workable's account tokens:
// 10 every 10 seconds).
func (f *Fake) Limit(n int, interval time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit, f.interval, f.window, f.used = n, interval, time.Time{}, 0
}

// Limited is how many requests were answered 429 for going over the rate limit.
func (f *Fake) Limited() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limited
}

// Requests returns "path?query" of every request so far, path without /spi/v3.
func (f *Fake) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func refuse(w http.ResponseWriter, status int, msg string) {
	answer(w, status, map[string]string{"error": msg})
}

// ServeHTTP answers one request of the API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path, ok := strings.CutPrefix(r.URL.Path, Base)
	f.requests = append(f.requests, path+"?"+r.URL.RawQuery)

	now := time.Now()
	if f.window.IsZero() || now.Sub(f.window) >= f.interval {
		f.window, f.used = now.Truncate(f.interval), 0
	}
	f.used++
	reset := f.window.Add(f.interval)
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(f.limit))
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(max(0, f.limit-f.used)))
	w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix()+boolInt(reset.Nanosecond() > 0), 10))
	if f.used > f.limit {
		f.limited++
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(reset).Seconds()+0.999))))
		refuse(w, http.StatusTooManyRequests, "Rate limit exceeded")
		return
	}

	if r.Header.Get("Authorization") != "Bearer "+Token {
		refuse(w, http.StatusUnauthorized, "Not authorized")
		return
	}
	if r.Method != http.MethodGet || !ok {
		refuse(w, http.StatusNotFound, "Not found")
		return
	}
	for i := range f.fails {
		fl := &f.fails[i]
		if fl.left > 0 && (fl.path == "" || fl.path == path) {
			fl.left--
			if fl.status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "1")
			}
			refuse(w, fl.status, http.StatusText(fl.status))
			return
		}
	}
	q := r.URL.Query()
	switch parts := strings.Split(strings.Trim(path, "/"), "/"); {
	case path == "/members":
		status := q.Get("status")
		if status == "" {
			status = "active"
		}
		if status != "active" && status != "inactive" && status != "all" {
			refuse(w, http.StatusBadRequest, "status must be active, inactive or all")
			return
		}
		f.list(w, r, "members", filter(f.account.Members, func(m obj) bool {
			active, _ := m["active"].(bool)
			return status == "all" || active == (status == "active")
		}))
	case path == "/jobs":
		after, ok := timeParam(w, q, "updated_after")
		if !ok {
			return
		}
		f.list(w, r, "jobs", filter(f.account.Jobs, func(j obj) bool { return after.IsZero() || timeField(j, "updated_at").After(after) }))
	case len(parts) == 3 && parts[0] == "jobs" && parts[2] == "members":
		team, ok := f.account.JobMembers[parts[1]]
		if !ok {
			refuse(w, http.StatusNotFound, "Not found")
			return
		}
		f.list(w, r, "members", team)
	case path == "/stages":
		answer(w, http.StatusOK, map[string]any{"stages": nonNil(f.account.Stages)})
	case path == "/candidates":
		updated, ok := timeParam(w, q, "updated_after")
		if !ok {
			return
		}
		created, ok := timeParam(w, q, "created_after")
		if !ok {
			return
		}
		f.list(w, r, "candidates", filter(f.account.Candidates, func(c obj) bool {
			return (updated.IsZero() || timeField(c, "updated_at").After(updated)) &&
				(created.IsZero() || timeField(c, "created_at").After(created))
		}))
	case len(parts) == 2 && parts[0] == "candidates":
		c, ok := f.candidate(parts[1])
		if !ok {
			refuse(w, http.StatusNotFound, "Not found")
			return
		}
		answer(w, http.StatusOK, map[string]any{"candidate": c})
	case len(parts) == 3 && parts[0] == "candidates" && parts[2] == "activities":
		if _, ok := f.candidate(parts[1]); !ok {
			refuse(w, http.StatusNotFound, "Not found")
			return
		}
		f.list(w, r, "activities", f.account.Activities[parts[1]])
	case path == "/events":
		start, ok := timeParam(w, q, "start_date")
		if !ok {
			return
		}
		end, ok := timeParam(w, q, "end_date")
		if !ok {
			return
		}
		cancelled := q.Get("include_cancelled") == "true"
		f.list(w, r, "events", filter(f.account.Events, func(e obj) bool {
			at := timeField(e, "starts_at")
			c, _ := e["candidate"].(map[string]any)
			gone, _ := e["cancelled"].(bool)
			return (start.IsZero() || !at.Before(start)) && (end.IsZero() || !at.After(end)) &&
				(cancelled || !gone) && (q.Get("candidate_id") == "" || (c != nil && c["id"] == q.Get("candidate_id")))
		}))
	default:
		refuse(w, http.StatusNotFound, "Not found")
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

type obj = map[string]any

// candidate is the listed candidate id with its details merged in.
func (f *Fake) candidate(id string) (obj, bool) {
	if f.index == nil {
		f.index = map[string]json.RawMessage{}
		for _, raw := range f.account.Candidates {
			var head struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &head) == nil {
				f.index[head.ID] = raw
			}
		}
	}
	raw, ok := f.index[id]
	var c obj
	if !ok || json.Unmarshal(raw, &c) != nil {
		return nil, false
	}
	if d, ok := f.account.Details[id]; ok {
		var more obj
		_ = json.Unmarshal(d, &more)
		for k, v := range more {
			c[k] = v
		}
	}
	return c, true
}

func filter(items []json.RawMessage, keep func(obj) bool) []json.RawMessage {
	var out []json.RawMessage
	for _, raw := range items {
		var o obj
		if json.Unmarshal(raw, &o) == nil && keep(o) {
			out = append(out, raw)
		}
	}
	return out
}

func nonNil(items []json.RawMessage) []json.RawMessage {
	if items == nil {
		return []json.RawMessage{}
	}
	return items
}

// timeField reads an RFC 3339 field of o; the zero time when absent.
func timeField(o obj, name string) time.Time {
	s, _ := o[name].(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// timeParam reads a time filter: ISO 8601 (RFC 3339 or the basic 20150708T115616Z)
// or Unix seconds, as reference/jobs documents; anything else is answered 400.
func timeParam(w http.ResponseWriter, q url.Values, name string) (time.Time, bool) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	if t, err := time.Parse("20060102T150405Z", v); err == nil {
		return t, true
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0), true
	}
	refuse(w, http.StatusBadRequest, name+" must be an ISO 8601 time")
	return time.Time{}, false
}

// list answers one page of items from since_id, with the next page's URL.
func (f *Fake) list(w http.ResponseWriter, r *http.Request, name string, items []json.RawMessage) {
	q := r.URL.Query()
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			refuse(w, http.StatusBadRequest, "limit cannot be more than 100")
			return
		}
		limit = n
	}
	ids := make([]string, len(items))
	for i, raw := range items {
		var o struct {
			ID any `json:"id"`
		}
		_ = json.Unmarshal(raw, &o)
		ids[i] = fmt.Sprint(o.ID)
	}
	from := 0
	if since := q.Get("since_id"); since != "" {
		from = slices.Index(ids, since)
		if from < 0 {
			refuse(w, http.StatusBadRequest, "since_id names no "+name)
			return
		}
	}
	to := min(from+limit, len(items))
	body := map[string]any{name: nonNil(items[from:to])}
	if to < len(items) {
		q.Set("since_id", ids[to])
		q.Set("limit", strconv.Itoa(limit))
		body["paging"] = map[string]string{"next": "http://" + r.Host + r.URL.Path + "?" + q.Encode()}
	}
	answer(w, http.StatusOK, body)
}

// History makes n disqualified candidates of the account's job GROOV003
// (testdata/sync/workable.json), the i-th created at start + i×step, each with its
// activity stream and an interview event, for a benchmark's first connect. Each maps
// to five events: applied, two moves (phone-screen, interview), the interview and the
// rejection, and to a details_updated; the listed candidates carry their phone, so
// the sync reads no details. Ids are <prefix><i>.
func History(prefix string, n int, start time.Time, step time.Duration) (candidates []json.RawMessage, activities map[string][]json.RawMessage, events []json.RawMessage) {
	const owner, ownerName = "13e0eb0e", "Helena Wong"
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	mustJSON := func(v any) json.RawMessage {
		raw, err := json.Marshal(v)
		if err != nil {
			panic(err) // maps of strings
		}
		return raw
	}
	candidates = make([]json.RawMessage, 0, n)
	events = make([]json.RawMessage, 0, n)
	activities = make(map[string][]json.RawMessage, n)
	member := map[string]any{"id": owner, "name": ownerName}
	for i := range n {
		at := start.Add(time.Duration(i) * step)
		id, name := fmt.Sprintf("%s%05d", prefix, i), fmt.Sprintf("Candidate %s %d", prefix, i)
		rejected := at.Add(120 * time.Hour)
		candidates = append(candidates, mustJSON(map[string]any{
			"id": id, "name": name, "firstname": "Candidate", "lastname": fmt.Sprintf("%s %d", prefix, i),
			"job": map[string]any{"shortcode": "GROOV003", "title": "Backend Engineer"}, "stage": "interview", "stage_kind": "interview",
			"disqualified": true, "withdrew": false, "disqualification_reason": "Not a fit", "sourced": false,
			"email": fmt.Sprintf("c%d@%s.example.com", i, prefix), "phone": fmt.Sprintf("+1 555 01%05d", i), "domain": "linkedin.com",
			"created_at": ts(at), "updated_at": ts(rejected), "hired_at": nil,
		}))
		activities[id] = []json.RawMessage{
			mustJSON(map[string]any{"id": id + "-a1", "action": "applied", "stage_name": "Applied", "created_at": ts(at), "body": nil}),
			mustJSON(map[string]any{"id": id + "-a2", "action": "moved", "stage_name": "Applied", "action_stage": map[string]any{"id": "applied", "name": "Applied"},
				"target_stage": map[string]any{"id": "phone-screen", "name": "Phone Screen"}, "created_at": ts(at.Add(24 * time.Hour)), "member": member, "body": nil}),
			mustJSON(map[string]any{"id": id + "-a3", "action": "moved", "stage_name": "Phone Screen", "action_stage": map[string]any{"id": "phone-screen", "name": "Phone Screen"},
				"target_stage": map[string]any{"id": "interview", "name": "Interview"}, "created_at": ts(at.Add(72 * time.Hour)), "member": member, "body": nil}),
			mustJSON(map[string]any{"id": id + "-a4", "action": "disqualified", "stage_name": nil, "created_at": ts(rejected), "member": member, "body": "Not a fit"}),
		}
		events = append(events, mustJSON(map[string]any{
			"id": id + "-e", "title": "Interview with " + name, "type": "interview",
			"starts_at": ts(at.Add(96 * time.Hour)), "ends_at": ts(at.Add(96*time.Hour + 45*time.Minute)), "cancelled": false,
			"job": map[string]any{"id": "61884e2", "title": "Backend Engineer"}, "members": []any{map[string]any{"id": owner, "name": ownerName, "status": "accepted"}},
			"candidate": map[string]any{"id": id, "name": name},
		}))
	}
	return candidates, activities, events
}
