// Package ashbytest is a fake of Ashby's API for tests of the Ashby sync, in the
// package and end to end. It answers as Ashby's API reference describes
// (developers.ashbyhq.com; see webhooks/ashby/api.go): POST /<category>.<method> with
// a JSON body, Basic auth with the key as user name and an empty password (401
// without, 403 with another key), errors as 200 {"success": false, "errorInfo":
// {"code","message"}} ("Responses & Errors"), and list endpoints paged with limit
// (1–100), cursor and nextCursor while moreDataAvailable, the last page carrying a
// syncToken that later lists only what changed since ("Pagination and Incremental
// Synchronization"). A syncToken the test expires answers sync_token_expired;
// TooLarge makes every incremental list answer incremental_sync_too_large. Faults
// (429 with Retry-After, 5xx) and slow answers are set per endpoint.
package ashbytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Key is the API key the fake accepts.
const Key = "ashby-test-key"

// Account is the content of the fake Ashby organisation, each list as Ashby returns
// its items (testdata/sync/ashby.json beside the sync).
type Account struct {
	Users        []json.RawMessage            `json:"users"`
	Departments  []json.RawMessage            `json:"departments"`
	Applications []json.RawMessage            `json:"applications"`
	History      map[string][]json.RawMessage `json:"history"` // by application id
	Schedules    []json.RawMessage            `json:"interview_schedules"`
	Offers       []json.RawMessage            `json:"offers"`
}

// Request is one request the fake answered: the endpoint and its JSON body.
type Request struct {
	Method string
	Body   map[string]any
}

type fault struct {
	status int
	times  int // answers left; <0: always
}

// Fake is a running fake of Ashby's API.
type Fake struct {
	srv *httptest.Server

	mu        sync.Mutex
	account   Account
	seq       int            // the organisation's version: bumped by each Edit
	changed   map[string]int // "<list>/<id>" → the version it last changed in
	expiredTo int            // syncTokens of versions up to this are expired
	tooLarge  bool
	requests  []Request
	faults    map[string]*fault
	slow      map[string]time.Duration
	index     map[string]json.RawMessage // applications by id; nil: to build
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

// New returns a fake serving a as an http.Handler of the API's root, for a server of
// the caller's (the benchmark's); URL and Client are for Start's fakes only.
func New(a Account) *Fake {
	return &Fake{account: a, seq: 1, changed: map[string]int{}, faults: map[string]*fault{}, slow: map[string]time.Duration{}}
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

// URL is the API's root, as GOODWILL_ASHBY_API_URL takes it.
func (f *Fake) URL() string { return f.srv.URL }

// Client is an HTTP client for the fake.
func (f *Fake) Client() *http.Client { return f.srv.Client() }

// Edit changes the account under the fake's lock. Every item whose JSON changed (or
// that is new) is listed by the next incremental lists.
func (f *Fake) Edit(fn func(*Account)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	before := f.snapshot()
	fn(&f.account)
	f.index = nil
	f.seq++
	for k, v := range f.snapshot() {
		if before[k] != v {
			f.changed[k] = f.seq
		}
	}
}

// snapshot is every listed item's JSON by "<list>/<id>".
func (f *Fake) snapshot() map[string]string {
	out := map[string]string{}
	for name, items := range map[string][]json.RawMessage{
		"users": f.account.Users, "applications": f.account.Applications,
		"interview_schedules": f.account.Schedules, "offers": f.account.Offers,
	} {
		for _, it := range items {
			out[name+"/"+idOf(it)] = string(it)
		}
	}
	return out
}

// ExpireSyncTokens makes every syncToken given so far answer sync_token_expired.
func (f *Fake) ExpireSyncTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expiredTo = f.seq
}

// TooLarge makes every list with a syncToken answer incremental_sync_too_large (on),
// or not.
func (f *Fake) TooLarge(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tooLarge = on
}

// Fail answers the next times requests to method (e.g. "application.list") with
// status; times < 0: every request; status 0 removes the fault. A 429 carries
// Retry-After: 1; a 403 Ashby's missing_endpoint_permission.
func (f *Fake) Fail(method string, status, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == 0 {
		delete(f.faults, method)
		return
	}
	f.faults[method] = &fault{status: status, times: times}
}

// Slow delays every answer to method by d (0: none).
func (f *Fake) Slow(method string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slow[method] = d
}

// Requests returns the requests answered so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// Count is how many requests to method were answered.
func (f *Fake) Count(method string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// failure answers as Ashby answers what would be a 4xx: 200, success false.
func failure(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusOK, map[string]any{"success": false, "errors": []string{code},
		"errorInfo": map[string]string{"code": code, "message": msg, "requestId": "01JSJ8FEK5ZN4XQBZP7DBKK7ZC"}})
}

// ServeHTTP answers one request of the API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/")
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body map[string]any
	bodyErr := json.Unmarshal(raw, &body)
	f.mu.Lock()
	delay := f.slow[method]
	f.requests = append(f.requests, Request{Method: method, Body: body})
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
	user, pass, ok := r.BasicAuth()
	switch {
	case !ok:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"success": false, "errorInfo": map[string]string{"code": "unauthorized", "message": "Missing API key"}})
		return
	case user != Key || pass != "":
		writeJSON(w, http.StatusForbidden, map[string]any{"success": false, "errorInfo": map[string]string{"code": "forbidden", "message": "Invalid or disabled API key"}})
		return
	case r.Method != http.MethodPost:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"success": false})
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		failure(w, "invalid_input", "Content-Type must be application/json")
		return
	}
	if bodyErr != nil || body == nil {
		failure(w, "invalid_input", "the body is not a JSON object")
		return
	}
	if ft := f.faults[method]; ft != nil && ft.times != 0 {
		if ft.times > 0 {
			ft.times--
		}
		switch ft.status {
		case http.StatusTooManyRequests:
			w.Header().Set("Retry-After", "1")
			writeJSON(w, ft.status, map[string]any{"success": false, "errorInfo": map[string]string{"code": "rate_limit_exceeded", "message": "Too many requests"}})
		case http.StatusForbidden:
			writeJSON(w, ft.status, map[string]any{"success": false, "errors": []string{"missing_endpoint_permission"},
				"errorInfo": map[string]string{"code": "missing_endpoint_permission", "message": "The API key lacks the permission for " + method}})
		default:
			writeJSON(w, ft.status, map[string]any{"success": false, "errorInfo": map[string]string{"code": "internal_error", "message": "forced by the test"}})
		}
		return
	}
	switch method {
	case "user.list":
		var items []json.RawMessage
		for _, u := range f.account.Users {
			var v struct {
				IsEnabled bool `json:"isEnabled"`
			}
			_ = json.Unmarshal(u, &v)
			if v.IsEnabled || body["includeDeactivated"] == true {
				items = append(items, u)
			}
		}
		f.list(w, body, "users", items)
	case "department.list":
		f.list(w, body, "", f.account.Departments)
	case "application.list":
		f.list(w, body, "applications", f.account.Applications)
	case "interviewSchedule.list":
		f.list(w, body, "interview_schedules", f.account.Schedules)
	case "offer.list":
		f.list(w, body, "offers", f.account.Offers)
	case "application.listHistory":
		id, _ := body["applicationId"].(string)
		if _, ok := f.application(id); !ok {
			failure(w, "application_not_found", "Application not found")
			return
		}
		f.list(w, body, "", f.account.History[id])
	case "application.info":
		id, _ := body["applicationId"].(string)
		if a, ok := f.application(id); ok {
			writeJSON(w, http.StatusOK, map[string]any{"success": true, "results": a})
			return
		}
		failure(w, "application_not_found", "Application not found - are you lacking permissions to edit candidates?")
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"success": false, "errorInfo": map[string]string{"code": "not_found", "message": method}})
	}
}

// application is the application whose id is id. The caller holds f.mu.
func (f *Fake) application(id string) (json.RawMessage, bool) {
	if f.index == nil {
		f.index = make(map[string]json.RawMessage, len(f.account.Applications))
		for _, a := range f.account.Applications {
			if k := idOf(a); k != "" {
				if _, dup := f.index[k]; !dup {
					f.index[k] = a
				}
			}
		}
	}
	a, ok := f.index[id]
	return a, ok
}

// pageCursor is the fake's nextCursor: where the next page starts, and the syncToken
// version the pass lists changes since.
type pageCursor struct {
	Offset int `json:"o"`
	Since  int `json:"s"`
}

// list answers one page of items. name is the list's name for incremental sync, ""
// for a list without syncToken.
func (f *Fake) list(w http.ResponseWriter, body map[string]any, name string, items []json.RawMessage) {
	limit := 100
	if l, ok := body["limit"]; ok {
		n, isNum := l.(float64)
		if !isNum || n < 1 || n > 100 || n != float64(int(n)) {
			failure(w, "invalid_input", "limit must be a whole number from 1 to 100")
			return
		}
		limit = int(n)
	}
	since := 0
	if tok, ok := body["syncToken"].(string); ok && tok != "" {
		if name == "" {
			failure(w, "invalid_input", "this endpoint does not support syncToken")
			return
		}
		v, err := strconv.Atoi(strings.TrimPrefix(tok, "st-"))
		switch {
		case err != nil || !strings.HasPrefix(tok, "st-") || v > f.seq:
			failure(w, "sync_token_invalid", "The sync token is not valid")
			return
		case v <= f.expiredTo:
			failure(w, "sync_token_expired", "The sync token has expired; start a full sync")
			return
		case f.tooLarge:
			failure(w, "incremental_sync_too_large", "Too many changes since the sync token; start a full sync")
			return
		}
		since = v
	}
	from := 0
	if c, ok := body["cursor"].(string); ok && c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		var pc pageCursor
		if err != nil || json.Unmarshal(raw, &pc) != nil || pc.Since != since {
			failure(w, "invalid_next_cursor", "The cursor is not valid for this request")
			return
		}
		from = pc.Offset
	}
	var listed []json.RawMessage
	for _, it := range items {
		if since == 0 || f.changed[name+"/"+idOf(it)] > since {
			listed = append(listed, it)
		}
	}
	from = min(max(from, 0), len(listed))
	to := min(from+limit, len(listed))
	out := map[string]any{"success": true, "results": append([]json.RawMessage{}, listed[from:to]...), "moreDataAvailable": to < len(listed)}
	if to < len(listed) {
		raw, _ := json.Marshal(pageCursor{Offset: to, Since: since})
		out["nextCursor"] = base64.RawURLEncoding.EncodeToString(raw)
	} else if name != "" {
		out["syncToken"] = "st-" + strconv.Itoa(f.seq)
	}
	writeJSON(w, http.StatusOK, out)
}

// idOf is an item's "id".
func idOf(raw json.RawMessage) string {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(raw, &v)
	var s string
	if json.Unmarshal(v.ID, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(v.ID))
}

// Set replaces field of the item of list ("applications", "interview_schedules",
// "offers", "users") whose id is id by value, as an Edit.
func (f *Fake) Set(list, id, field string, value any) error {
	var err error
	f.Edit(func(a *Account) {
		var items []json.RawMessage
		switch list {
		case "users":
			items = a.Users
		case "applications":
			items = a.Applications
		case "interview_schedules":
			items = a.Schedules
		case "offers":
			items = a.Offers
		}
		for i, it := range items {
			if idOf(it) != id {
				continue
			}
			var m map[string]any
			if err = json.Unmarshal(it, &m); err != nil {
				return
			}
			m[field] = value
			items[i], err = json.Marshal(m)
			return
		}
		err = fmt.Errorf("no %s %q", list, id)
	})
	return err
}

// The ids History's records name: the account's (testdata/sync/ashby.json) recruiter,
// department and stages.
const (
	historyRecruiter  = "f0b37f29-706d-5462-9419-bd8e725eaaaa"
	historyDepartment = "efd926ad-ad93-590e-b718-6d40058772b0"
	historyReview     = "e948600f-4db9-511d-b1b3-99fcbacf71ce"
	historyScreen     = "d991182f-d367-5088-8ded-f25a28cdd0fa"
	historyOnsite     = "ae6fc8d4-b9c1-53de-be16-1c3ff3522080"
	historyArchived   = "1b1c2b8c-3c40-5ff3-a020-1866598ff2d3"
)

// History makes n archived applications, the i-th created at start + i×step, each
// with its stage history and an interview schedule, for a benchmark's first connect.
// Each maps to five events: applied, two stage changes (Phone Screen, Onsite), the
// interview (its schedule held: Complete) and the rejection (Archived), and to a
// details_updated. Ids are <prefix>-app-<i> and so on.
func History(prefix string, n int, start time.Time, step time.Duration) (apps []json.RawMessage, history map[string][]json.RawMessage, schedules []json.RawMessage) {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	mustJSON := func(v any) json.RawMessage {
		raw, err := json.Marshal(v)
		if err != nil {
			panic(err) // maps of strings
		}
		return raw
	}
	apps = make([]json.RawMessage, 0, n)
	schedules = make([]json.RawMessage, 0, n)
	history = make(map[string][]json.RawMessage, n)
	for i := range n {
		at := start.Add(time.Duration(i) * step)
		id, cand := fmt.Sprintf("%s-app-%05d", prefix, i), fmt.Sprintf("%s-cand-%05d", prefix, i)
		archived := at.Add(120 * time.Hour)
		apps = append(apps, mustJSON(map[string]any{
			"id": id, "createdAt": ts(at), "updatedAt": ts(archived), "status": "Archived", "customFields": []any{},
			"candidate": map[string]any{"id": cand, "name": fmt.Sprintf("Candidate %s %d", prefix, i),
				"primaryEmailAddress": map[string]any{"value": fmt.Sprintf("c%d@%s.example.com", i, prefix), "type": "Personal", "isPrimary": true}},
			"currentInterviewStage": map[string]any{"id": historyArchived, "title": "Archived", "type": "Archived", "orderInInterviewPlan": 3},
			"source":                map[string]any{"id": "70843b66-e865-59ba-b900-73837f8acf6a", "title": "LinkedIn", "isArchived": false},
			"archiveReason":         map[string]any{"id": "5d4f6c2a-1c1f-4a8e-9d55-3c3f2b1a0e91", "text": "Not a fit", "reasonType": "RejectedByOrg"},
			"archivedAt":            ts(archived),
			"job":                   map[string]any{"id": "d8fb2da2-aedf-52dd-9a24-9a905d872ca5", "title": "Senior Backend Engineer", "departmentId": historyDepartment},
			"hiringTeam":            []any{map[string]any{"userId": historyRecruiter, "role": "Recruiter", "firstName": "Maya", "lastName": "Patel", "email": "maya@acme.example"}},
		}))
		for n, st := range []struct {
			stage, title string
			after        time.Duration
		}{{historyReview, "Application Review", 0}, {historyScreen, "Phone Screen", 24 * time.Hour}, {historyOnsite, "Onsite", 72 * time.Hour}, {historyArchived, "Archived", 120 * time.Hour}} {
			history[id] = append(history[id], mustJSON(map[string]any{
				"id": fmt.Sprintf("%s-hist-%05d-%d", prefix, i, n), "stageId": st.stage, "title": st.title,
				"enteredStageAt": ts(at.Add(st.after)), "stageNumber": n, "allowedActions": []string{"none"}, "actorId": historyRecruiter,
			}))
		}
		created := at.Add(48 * time.Hour)
		schedules = append(schedules, mustJSON(map[string]any{
			"id": fmt.Sprintf("%s-schedule-%05d", prefix, i), "status": "Complete", "applicationId": id, "candidateId": cand,
			"interviewStageId": historyOnsite, "createdAt": ts(created), "updatedAt": ts(created),
			"interviewEvents": []any{map[string]any{
				"id": fmt.Sprintf("%s-event-%05d", prefix, i), "interviewerUserIds": []string{historyRecruiter},
				"createdAt": ts(created), "updatedAt": ts(created),
				"startTime": ts(at.Add(96 * time.Hour)), "endTime": ts(at.Add(96*time.Hour + 45*time.Minute)),
			}},
		}))
	}
	return apps, history, schedules
}
