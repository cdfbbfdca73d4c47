package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/client"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

func note(app, ext string, at time.Time) client.Interaction {
	return client.Interaction{
		ApplicationID: app, CandidateID: "cand-" + app, Kind: "note", OccurredAt: at,
		Source: "clienttest", ExternalID: ext,
	}
}

// appliedPreferences records the Preference-Applied header of every POST's answer.
type appliedPreferences struct {
	mu      sync.Mutex
	applied []string
}

func (a *appliedPreferences) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost {
		a.mu.Lock()
		a.applied = append(a.applied, res.Header.Get("Preference-Applied"))
		a.mu.Unlock()
	}
	return res, err
}

// TestPostInteractions writes a batch through a real server, reads it back, and
// writes it again: the second answer names the same ids, as duplicates. Every write
// asks for (and gets) the minimal answer, which holds all the client reads.
func TestPostInteractions(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	prefs := &appliedPreferences{}
	c := client.New(in.URL+"/", servicetest.AdminKey, &http.Client{Transport: prefs})
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	score := 9
	items := []client.Interaction{
		note("app-c", "n-1", at),
		{
			ApplicationID: "app-c", CandidateID: "cand-app-c", Kind: "survey_response", OccurredAt: at.Add(time.Minute),
			Source: "clienttest", ExternalID: "s-1", Score: &score, Channel: "email",
			Candidate: &client.Person{Name: "Ada Lovelace", Email: "ada@example.com"},
			Metadata:  []byte(`{"k":"v"}`),
		},
	}
	first, err := c.PostInteractions(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if stored, dups := first.Counts(); first.Status != http.StatusCreated || stored != 2 || dups != 0 {
		t.Fatalf("first post: status %d, %d stored, %d duplicates; want 201, 2, 0", first.Status, stored, dups)
	}
	again, err := c.PostInteractions(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if stored, dups := again.Counts(); stored != 0 || dups != 2 {
		t.Errorf("second post: %d stored, %d duplicates; want 0, 2", stored, dups)
	}
	for i := range items {
		if again.Interactions[i].ID != first.Interactions[i].ID {
			t.Errorf("item %d: duplicate names %s, the original is %s", i, again.Interactions[i].ID, first.Interactions[i].ID)
		}
	}

	// One interaction on its own: 201, then 200 and the original's id.
	single := note("app-c", "n-2", at.Add(2*time.Minute))
	one, err := c.PostInteraction(ctx, single)
	if err != nil || one.Status != http.StatusCreated || len(one.Interactions) != 1 || one.Interactions[0].Duplicate {
		t.Fatalf("single post: %+v %v", one, err)
	}
	dup, err := c.PostInteraction(ctx, single)
	if err != nil || dup.Status != http.StatusOK || !dup.Interactions[0].Duplicate || dup.Interactions[0].ID != one.Interactions[0].ID {
		t.Errorf("single post again: %+v %v, want 200, a duplicate of %s", dup, err, one.Interactions[0].ID)
	}
	if want := []string{"return=minimal", "return=minimal", "return=minimal", "return=minimal"}; !slices.Equal(prefs.applied, want) {
		t.Errorf("Preference-Applied of the four writes: %q, want %q", prefs.applied, want)
	}

	var page struct {
		Interactions []struct {
			ExternalID string         `json:"external_id"`
			OccurredAt time.Time      `json:"occurred_at"`
			Score      *int           `json:"score"`
			Candidate  *client.Person `json:"candidate"`
			Metadata   map[string]any `json:"metadata"`
		} `json:"interactions"`
	}
	status, err := c.Do(ctx, http.MethodGet, "/v1/interactions?application_id="+url.QueryEscape("app-c"), nil, &page)
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET: %d %v", status, err)
	}
	if len(page.Interactions) != 3 {
		t.Fatalf("%d interactions listed, want 3", len(page.Interactions))
	}
	survey := page.Interactions[1] // newest first: n-2, s-1, n-1
	if survey.ExternalID != "s-1" || !survey.OccurredAt.Equal(at.Add(time.Minute)) || survey.Score == nil || *survey.Score != 9 ||
		survey.Candidate == nil || survey.Candidate.Name != "Ada Lovelace" || survey.Metadata["k"] != "v" {
		t.Errorf("stored %+v", survey)
	}
}

// TestErrors: answers outside 2xx are *Error with the problem the service sent;
// a request nobody answers is not.
func TestErrors(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour)

	bad := note("app-e", "e-2", at)
	bad.Kind = "bogus"
	_, err := client.New(in.URL, servicetest.AdminKey, nil).PostInteractions(ctx, []client.Interaction{note("app-e", "e-1", at), bad})
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Fatalf("invalid batch: err = %v, want a *client.Error", err)
	}
	want := []client.FieldError{{Field: "interactions[1].kind", Message: `unknown kind "bogus"`}}
	if ce.Status != http.StatusBadRequest || ce.Problem.Status != http.StatusBadRequest || !cmp.Equal(ce.Problem.Errors, want) || ce.Temporary() {
		t.Errorf("invalid batch: %d %+v, want 400 with %v", ce.Status, ce.Problem, want)
	}
	if got := ce.Error(); got != `400 Bad Request: `+ce.Problem.Detail+`; interactions[1].kind: unknown kind "bogus"` {
		t.Errorf("Error() = %q", got)
	}

	_, err = client.New(in.URL, "gw_wrong_key_0123456789abcdef0123456789abc", nil).Do(ctx, http.MethodGet, "/v1/keys", nil, nil)
	if !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized || ce.Problem.Type == "" {
		t.Errorf("wrong key: err = %v, want a 401 problem", err)
	}

	c := client.New(in.URL, "", nil)
	if err := c.Health(ctx); err != nil {
		t.Errorf("Health: %v", err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
	in.HTTP.Close()
	if err := c.Health(ctx); err == nil || errors.As(err, &ce) {
		t.Errorf("Health of a closed server: err = %v, want the transport's error", err)
	}
}

// TestFlush: the request the client sends, and a 503 that asks to retry later.
func TestFlush(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		if len(got) == 1 {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"type":"urn:goodwill:problem:unavailable","title":"Service Unavailable","status":503,"detail":"still catching up"}`))
	}))
	defer srv.Close()
	c := client.New(srv.URL, "gw_k", nil)
	if err := c.Flush(context.Background()); err != nil {
		t.Fatalf("first flush: %v", err)
	}
	err := c.Flush(context.Background())
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 503 || ce.RetryAfter != 7*time.Second || !ce.Temporary() ||
		ce.Error() != "503 Service Unavailable: still catching up" {
		t.Errorf("second flush: %v (%+v)", err, ce)
	}
	if want := []string{"POST /v1/interactions/flush Bearer gw_k", "POST /v1/interactions/flush Bearer gw_k"}; !cmp.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
}

// TestErrorText: how an answer that is not a problem renders.
func TestErrorText(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  client.Error
		want string
	}{
		// A proxy's plain-text answer: its start is shown.
		{"text", client.Error{Status: 502, Body: []byte("  bad gateway\n")}, "502 Bad Gateway: bad gateway"},
		// No body at all.
		{"empty", client.Error{Status: 500}, "500 Internal Server Error"},
		// A problem with field errors and no detail.
		{"fields", client.Error{Status: 400, Problem: client.Problem{Errors: []client.FieldError{{"a", "x"}, {"b", "y"}}}}, "400 Bad Request; a: x; b: y"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
