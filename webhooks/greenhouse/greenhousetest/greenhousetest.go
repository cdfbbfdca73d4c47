// Package greenhousetest is a fake of Greenhouse's Harvest v3 API and token endpoint
// sized for benchmarks: it serves a generated history of many applications with every
// lookup the sync makes answered from an index, so that the fake costs next to nothing
// beside the service it is measured against. It answers as the package's own test fake
// (webhooks/greenhouse/fake_test.go) does, after Harvest v3's public documentation
// (harvestdocs.greenhouse.io: docs/authentication, docs/pagination, docs/list-endpoints):
//
//   - POST /token: HTTP Basic ClientID:Secret, grant_type=client_credentials; answers
//     access_token and expires_at.
//   - GET /v3/<resource>: Bearer token; a bare JSON array sorted by id descending; Link:
//     <…?cursor=…>; rel="next" while there is more; a cursor must be the only query
//     parameter; per_page 1–500; ids, application_ids and candidate_ids filter by
//     comma-separated ids (at most 50); <time field>=gte|<RFC 3339>.
package greenhousetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The credential the fake accepts.
const (
	ClientID = "client-bench"
	Secret   = "secret-bench"
	UserID   = "101"
)

// Row is one record of a resource, as Harvest v3 writes it.
type Row map[string]any

// Fake is a Harvest v3 API over fixed data. It is an http.Handler: serve it and point
// GOODWILL_GREENHOUSE_API_URL at <its URL>/v3 and …_TOKEN_URL at <its URL>/token.
type Fake struct {
	mux *http.ServeMux

	mu      sync.Mutex
	rows    map[string][]Row                       // resource → rows, by id descending
	byField map[string]map[string]map[string][]int // resource → field → value → row indexes
	times   map[string]map[string][]time.Time      // resource → time field → each row's time
	cursors map[string]cursor
	issued  int
	served  int // cursors handed out
}

type cursor struct {
	resource string
	rows     []int // indexes into rows[resource]
	offset   int
	perPage  int
}

// idFields are the fields the id filters match: ids → id, application_ids →
// application_id, candidate_ids → candidate_id.
var idFields = map[string]string{"ids": "id", "application_ids": "application_id", "candidate_ids": "candidate_id"}

// timeFields are the fields the gte filters may name.
var timeFields = []string{"created_at", "updated_at", "last_activity_at"}

// New returns a fake serving data (resource → rows).
func New(data map[string][]Row) *Fake {
	f := &Fake{rows: map[string][]Row{}, byField: map[string]map[string]map[string][]int{},
		times: map[string]map[string][]time.Time{}, cursors: map[string]cursor{}}
	for res, rows := range data {
		rows = append([]Row(nil), rows...)
		sort.SliceStable(rows, func(i, j int) bool { return num(rows[i]["id"]) > num(rows[j]["id"]) })
		f.rows[res] = rows
		f.byField[res] = map[string]map[string][]int{}
		f.times[res] = map[string][]time.Time{}
		for _, field := range idFields {
			idx := map[string][]int{}
			for i, r := range rows {
				if v, ok := r[field]; ok && v != nil {
					k := key(v)
					idx[k] = append(idx[k], i)
				}
			}
			f.byField[res][field] = idx
		}
		for _, field := range timeFields {
			ts := make([]time.Time, len(rows))
			for i, r := range rows {
				ts[i], _ = time.Parse(time.RFC3339Nano, fmt.Sprint(r[field]))
			}
			f.times[res][field] = ts
		}
	}
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("POST /token", f.token)
	f.mux.HandleFunc("GET /v3/{resource}", f.list)
	return f
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != ClientID || secret != Secret || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	f.issued++
	tok := fmt.Sprintf("token-%d", f.issued)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_at":%q}`, tok,
		time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05+0000"))
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request) {
	resource := r.PathValue("resource")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer token-") {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Unauthorized"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	var cur cursor
	if c := q.Get("cursor"); c != "" {
		var found bool
		if cur, found = f.cursors[c]; len(q) != 1 || !found || cur.resource != resource {
			unprocessable(w, "the cursor is invalid, expired or not alone")
			return
		}
		delete(f.cursors, c)
	} else {
		per := 100
		if p := q.Get("per_page"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 500 {
				unprocessable(w, "per_page must be 1 to 500")
				return
			}
			per = n
		}
		rows, err := f.filter(resource, q)
		if err != nil {
			unprocessable(w, err.Error())
			return
		}
		cur = cursor{resource: resource, rows: rows, perPage: per}
	}
	end := min(cur.offset+cur.perPage, len(cur.rows))
	if end < len(cur.rows) {
		f.served++
		k := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d:%d", resource, end, f.served))
		f.cursors[k] = cursor{resource: resource, rows: cur.rows, offset: end, perPage: cur.perPage}
		w.Header().Set("Link", fmt.Sprintf(`<http://%s/v3/%s?cursor=%s>; rel="next"`, r.Host, resource, k))
	}
	page := make([]Row, 0, end-cur.offset)
	for _, i := range cur.rows[cur.offset:end] {
		page = append(page, f.rows[resource][i])
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

// filter returns the indexes of resource's rows the query keeps, by id descending.
func (f *Fake) filter(resource string, q url.Values) ([]int, error) {
	rows := f.rows[resource]
	var keep []int
	idFiltered := false
	for param, field := range idFields {
		v := q.Get(param)
		if v == "" {
			continue
		}
		ids := strings.Split(v, ",")
		if len(ids) > 50 {
			return nil, fmt.Errorf("%s takes at most 50 ids", param)
		}
		idFiltered = true
		for _, id := range ids {
			keep = append(keep, f.byField[resource][field][id]...)
		}
	}
	if !idFiltered {
		keep = make([]int, len(rows))
		for i := range rows {
			keep[i] = i
		}
	}
	for _, field := range timeFields {
		v := q.Get(field)
		if v == "" {
			continue
		}
		op, at, ok := strings.Cut(v, "|")
		since, err := time.Parse(time.RFC3339, at)
		if !ok || op != "gte" || err != nil {
			return nil, fmt.Errorf("%s must be gte|<RFC 3339>", field)
		}
		ts := f.times[resource][field]
		out := keep[:0:0]
		for _, i := range keep {
			if !ts[i].IsZero() && !ts[i].Before(since) {
				out = append(out, i)
			}
		}
		keep = out
	}
	for p := range q {
		if _, ok := idFields[p]; !ok && p != "per_page" && p != "created_at" && p != "updated_at" && p != "last_activity_at" {
			return nil, fmt.Errorf("unknown filter %s", p)
		}
	}
	sort.Ints(keep) // rows are by id descending already
	return keep, nil
}

func unprocessable(w http.ResponseWriter, msg string) {
	w.WriteHeader(http.StatusUnprocessableEntity)
	fmt.Fprintf(w, `{"message":%q}`, msg)
}

func key(v any) string {
	if n, ok := v.(int); ok {
		return strconv.Itoa(n)
	}
	if n, ok := v.(float64); ok {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func num(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

// History returns n applications applied at start + i·step, each with the five events
// the sync reads for it — applied, moved to an onsite stage a day later, an interview
// scheduled on the second day, an email to the candidate on the third, rejected on the
// fifth — and its candidate; one user (UserID), job, department and source.
func History(n int, start time.Time, step time.Duration) map[string][]Row {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	data := map[string][]Row{
		"users":       {{"id": 101, "name": "Rita Recruiter", "primary_email": "rita@example.com", "deactivated": false}},
		"jobs":        {{"id": 3001, "name": "Backend Engineer", "department_id": 4001}},
		"departments": {{"id": 4001, "name": "Engineering"}},
		"sources":     {{"id": 5001, "name": "LinkedIn"}},
	}
	for i := range n {
		at := start.Add(time.Duration(i) * step)
		app, cand := 100000+i, 200000+i
		email := fmt.Sprintf("candidate%d@example.com", i)
		data["applications"] = append(data["applications"], Row{
			"id": app, "candidate_id": cand, "job_id": 3001, "recruiter_id": 101, "source_id": 5001,
			"stage_id": 6002, "stage_name": "Onsite", "status": "rejected", "prospect": false,
			"created_at": ts(at), "updated_at": ts(at.Add(120 * time.Hour)), "last_activity_at": ts(at.Add(120 * time.Hour)),
			"rejected_at": ts(at.Add(120 * time.Hour)),
		})
		data["candidates"] = append(data["candidates"], Row{
			"id": cand, "first_name": "Candidate", "last_name": strconv.Itoa(i),
			"email_addresses": []Row{{"value": email, "type": "personal"}}, "phone_numbers": []Row{},
		})
		data["application_stages"] = append(data["application_stages"],
			Row{"id": 300000 + 2*i, "application_id": app, "job_interview_stage_id": 6001, "current": false, "entered_at": ts(at)},
			Row{"id": 300001 + 2*i, "application_id": app, "job_interview_stage_id": 6002, "current": true, "entered_at": ts(at.Add(24 * time.Hour))})
		data["interviews"] = append(data["interviews"], Row{
			"id": 400000 + i, "application_id": app, "job_id": 3001, "status": "complete",
			"starts_at": ts(at.Add(72 * time.Hour)), "ends_at": ts(at.Add(72*time.Hour + 45*time.Minute)),
			"scheduled_at": ts(at.Add(48 * time.Hour)), "created_at": ts(at.Add(48 * time.Hour)), "updated_at": ts(at.Add(48 * time.Hour)),
		})
		data["notes"] = append(data["notes"], Row{
			"id": 500000 + i, "application_id": app, "candidate_id": cand, "user_id": 101, "type": "EMAIL",
			"email_from": "rita@example.com", "email_to": email, "created_at": ts(at.Add(60 * time.Hour)), "updated_at": ts(at.Add(60 * time.Hour)),
		})
	}
	return data
}
