package greenhouse

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHarvest is Greenhouse's Harvest v3 API and token endpoint as the public
// documentation describes them (harvestdocs.greenhouse.io: docs/authentication,
// docs/pagination, docs/list-endpoints):
//
//   - POST /token: HTTP Basic client_id:client_secret, a form with
//     grant_type=client_credentials and sub=<user id>; answers access_token and
//     expires_at (an RFC 3339 time with a "+0000" offset, as Greenhouse's token
//     endpoint writes it).
//   - GET /v3/<resource>: Bearer token; a bare JSON array, sorted by id descending;
//     Link: <…?cursor=…>; rel="next" while there is more. A cursor must be the only
//     query parameter (else 422); per_page 1–500 (else 422); ids, application_ids and
//     candidate_ids filter by comma-separated ids; <time field>=gte|<RFC 3339>.
type fakeHarvest struct {
	t        *testing.T
	srv      *httptest.Server
	clientID string
	secret   string
	userID   string

	mu       sync.Mutex
	now      func() time.Time
	ttl      time.Duration         // lifetime of the tokens it issues
	pageCap  int                   // per_page above this is served as this (forces pages)
	data     map[string][]fakeRow  // resource → rows
	tokens   map[string]bool       // issued and still accepted
	issued   int                   // tokens issued
	calls    map[string]int        // API requests per resource
	queries  map[string][]string   // first-page queries per resource
	cursors  map[string]fakeCursor // cursor → where the listing resumes
	deny     bool                  // answer 401 to every API request
	nextHost string                // when set, Link targets this origin instead
}

type fakeRow map[string]any

type fakeCursor struct {
	resource string
	rows     []fakeRow
	offset   int
	perPage  int
}

func newFakeHarvest(t *testing.T, now func() time.Time) *fakeHarvest {
	t.Helper()
	f := &fakeHarvest{
		t: t, clientID: "client-1", secret: "secret-1", userID: "101",
		now: now, ttl: time.Hour, pageCap: 2,
		tokens: map[string]bool{}, calls: map[string]int{}, queries: map[string][]string{},
		cursors: map[string]fakeCursor{},
	}
	raw, err := os.ReadFile("testdata/sync/harvest.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &f.data); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /v3/{resource}", f.list)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// config is the vendor configuration pointing at the fake.
func (f *fakeHarvest) config() Config {
	return Config{ClientID: f.clientID, ClientSecret: f.secret, UserID: f.userID,
		APIURL: f.srv.URL + "/v3", TokenURL: f.srv.URL + "/token"}
}

func (f *fakeHarvest) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != f.clientID || secret != f.secret {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		f.t.Errorf("token request Content-Type %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("token form: %v", err)
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		f.t.Errorf("grant_type %q, want client_credentials", g)
	}
	if s := r.PostForm.Get("sub"); s != f.userID {
		f.t.Errorf("sub %q, want %q", s, f.userID)
	}
	f.mu.Lock()
	f.issued++
	tok := fmt.Sprintf("token-%d", f.issued)
	f.tokens[tok] = true
	expires := f.now().Add(f.ttl).UTC().Format("2006-01-02T15:04:05+0000")
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_at":%q}`, tok, expires)
}

// revoke makes the API refuse every token issued so far (as after a rotation).
func (f *fakeHarvest) revoke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.tokens {
		f.tokens[k] = false
	}
}

func (f *fakeHarvest) list(w http.ResponseWriter, r *http.Request) {
	resource := r.PathValue("resource")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[resource]++
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if f.deny || !ok || !f.tokens[tok] {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Unauthorized"}`)
		return
	}
	q := r.URL.Query()
	var cur fakeCursor
	if c := q.Get("cursor"); c != "" {
		if len(q) != 1 {
			unprocessable(w, "cursor must be the only query parameter")
			return
		}
		var found bool
		if cur, found = f.cursors[c]; !found || cur.resource != resource {
			unprocessable(w, "the cursor is invalid or expired")
			return
		}
	} else {
		f.queries[resource] = append(f.queries[resource], r.URL.RawQuery)
		per := 100
		if p := q.Get("per_page"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 500 {
				unprocessable(w, "per_page must be 1 to 500")
				return
			}
			per = n
		}
		rows, err := filterRows(f.data[resource], q)
		if err != nil {
			unprocessable(w, err.Error())
			return
		}
		cur = fakeCursor{resource: resource, rows: rows, perPage: min(per, f.pageCap)}
	}
	end := min(cur.offset+cur.perPage, len(cur.rows))
	if end < len(cur.rows) {
		key := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d:%d", resource, end, len(f.cursors)))
		f.cursors[key] = fakeCursor{resource: resource, rows: cur.rows, offset: end, perPage: cur.perPage}
		origin := f.srv.URL
		if f.nextHost != "" {
			origin = f.nextHost
		}
		w.Header().Set("Link", fmt.Sprintf(`<%s/v3/%s?cursor=%s>; rel="next"`, origin, resource, key))
	}
	w.Header().Set("Content-Type", "application/json")
	page := cur.rows[cur.offset:end]
	if page == nil {
		page = []fakeRow{}
	}
	json.NewEncoder(w).Encode(page)
}

func unprocessable(w http.ResponseWriter, msg string) {
	w.WriteHeader(http.StatusUnprocessableEntity)
	fmt.Fprintf(w, `{"message":%q}`, msg)
}

// filterRows applies the list filters the sync uses and sorts by id descending.
func filterRows(rows []fakeRow, q url.Values) ([]fakeRow, error) {
	var out []fakeRow
	for _, row := range rows {
		keep := true
		for key, vals := range q {
			v := vals[0]
			switch key {
			case "per_page":
			case "ids", "application_ids", "candidate_ids":
				if strings.Count(v, ",") >= 50 {
					return nil, fmt.Errorf("%s takes at most 50 ids", key)
				}
				field := map[string]string{"ids": "id", "application_ids": "application_id", "candidate_ids": "candidate_id"}[key]
				keep = keep && contains(strings.Split(v, ","), fmt.Sprint(row[field]))
			case "created_at", "updated_at", "last_activity_at":
				op, at, ok := strings.Cut(v, "|")
				since, err := time.Parse(time.RFC3339, at)
				if !ok || op != "gte" || err != nil {
					return nil, fmt.Errorf("%s must be gte|<RFC 3339>", key)
				}
				t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(row[key]))
				keep = keep && err == nil && !t.Before(since)
			default:
				return nil, fmt.Errorf("unknown filter %s", key)
			}
		}
		if keep {
			out = append(out, row)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return num(out[i]["id"]) > num(out[j]["id"]) })
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// StartFakeHarvest starts the fake Harvest v3 for tests outside the package (the
// server's end-to-end test) and returns the configuration pointing at it.
func StartFakeHarvest(t *testing.T) Config {
	return newFakeHarvest(t, time.Now).config()
}

// StartFakeHarvestDenying is StartFakeHarvest with a switch: while deny(true) holds,
// every API request is refused (401), and no pass can succeed.
func StartFakeHarvestDenying(t *testing.T) (cfg Config, deny func(bool)) {
	f := newFakeHarvest(t, time.Now)
	return f.config(), func(on bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.deny = on
	}
}
