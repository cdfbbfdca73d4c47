package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/webhooks/lever/levertest"
)

// slowLever serves a fake Lever account slowly, in pages of five opportunities, and
// remembers the opportunity pages asked for (their offset, "" for a first page).
type slowLever struct {
	fake *levertest.Fake
	srv  *httptest.Server

	mu    sync.Mutex
	pages []string
}

func startSlowLever(t *testing.T, opportunities int, at time.Time) *slowLever {
	t.Helper()
	ms := func(d time.Duration) int64 { return at.Add(d).UnixMilli() }
	account := map[string]any{
		"users":           []any{map[string]any{"id": "u1", "name": "Rae Recruiter", "email": "rae@example.com", "deactivatedAt": nil}},
		"stages":          []any{map[string]any{"id": "s1", "text": "New applicant"}, map[string]any{"id": "s2", "text": "Phone screen"}},
		"postings":        []any{map[string]any{"id": "p1", "text": "Engineer", "owner": "u1", "categories": map[string]any{"department": "R&D"}}},
		"archive_reasons": []any{map[string]any{"id": "r1", "text": "Hired", "type": "hired"}},
		"interviews":      map[string]any{},
	}
	var opps []any
	for i := range opportunities {
		id := fmt.Sprintf("opp-%02d", i)
		opps = append(opps, map[string]any{
			"id": id, "name": fmt.Sprintf("Candidate %d", i),
			"contact":      map[string]any{"id": fmt.Sprintf("contact-%02d", i), "name": fmt.Sprintf("Candidate %d", i), "emails": []string{fmt.Sprintf("c%d@example.com", i)}},
			"stage":        map[string]any{"id": "s2", "text": "Phone screen"},
			"stageChanges": []any{map[string]any{"toStageId": "s1", "updatedAt": ms(0)}, map[string]any{"toStageId": "s2", "updatedAt": ms(time.Hour)}},
			"owner":        map[string]any{"id": "u1"},
			"origin":       "applied",
			"applications": []any{map[string]any{"id": "a-" + id, "opportunityId": id, "createdAt": ms(0), "type": "posting", "posting": "p1"}},
			"createdAt":    ms(0), "updatedAt": ms(time.Hour + time.Duration(i)*time.Second),
		})
	}
	account["opportunities"] = opps
	raw, err := json.Marshal(account)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lever.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	l := &slowLever{fake: levertest.Start(t, path)}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/opportunities" {
			q := r.URL.Query()
			q.Set("limit", "5")
			r.URL.RawQuery = q.Encode()
			l.mu.Lock()
			l.pages = append(l.pages, q.Get("offset"))
			l.mu.Unlock()
		}
		time.Sleep(40 * time.Millisecond)
		l.fake.ServeHTTP(w, r)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *slowLever) asked() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.pages)
}

type connectorsView struct {
	Connectors []struct {
		Vendor   string `json:"vendor"`
		LastPass *struct {
			StartedAt string `json:"started_at"`
			Outcome   string `json:"outcome"`
		} `json:"last_pass"`
		Cursor map[string]struct {
			Token string `json:"token"`
		} `json:"cursor"`
	} `json:"connectors"`
}

// TestKill9MidSyncPass kills goodwill with SIGKILL in the middle of a Lever sync pass,
// once a page of opportunities is written and its cursor saved but before the last:
// after a restart the pass resumes from the saved page (not from the start), and
// every opportunity's events are stored, each once.
func TestKill9MidSyncPass(t *testing.T) {
	const n = 40
	lever := startSlowLever(t, n, time.Now().Add(-48*time.Hour))
	dir := t.TempDir()
	env := []string{"GOODWILL_LEVER_API_KEY=" + levertest.Key, "GOODWILL_LEVER_API_URL=" + lever.srv.URL + "/v1",
		"GOODWILL_SYNC_INTERVAL=1h"}
	p := serve(t, dir, env...)

	var v connectorsView
	midPass := func() bool {
		apiGet(t, p.url, "/v1/connectors", &v)
		c := v.Connectors[0]
		return c.Vendor == "lever" && c.LastPass != nil && c.LastPass.Outcome == "running" && c.Cursor["opportunities"].Token != ""
	}
	deadline := time.Now().Add(30 * time.Second)
	for !midPass() {
		if time.Now().After(deadline) {
			t.Fatalf("no pass got past its first page of opportunities: %+v", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	before := len(lever.asked())
	if before >= n/5 {
		t.Fatalf("the pass read all %d pages before the kill: %v", before, lever.asked())
	}

	p2 := serve(t, dir, env...)
	deadline = time.Now().Add(60 * time.Second)
	for {
		apiGet(t, p2.url, "/v1/connectors", &v)
		if c := v.Connectors[0]; c.LastPass != nil && c.LastPass.Outcome == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pass finished after the restart: %+v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := lever.asked()[before:]; len(after) == 0 || after[0] == "" {
		t.Errorf("after the restart the opportunities were read from %v, want from the saved page (an offset)", after)
	}

	// Every opportunity: received, moved to Phone screen, its details; each once.
	for i := range n {
		app := fmt.Sprintf("lever:opp-%02d", i)
		var page struct {
			Interactions []struct {
				Kind       string `json:"kind"`
				ExternalID string `json:"external_id"`
			} `json:"interactions"`
		}
		apiGet(t, p2.url, "/v1/interactions?limit=100&application_id="+url.QueryEscape(app), &page)
		var kinds []string
		for _, it := range page.Interactions {
			kinds = append(kinds, it.Kind)
		}
		slices.Sort(kinds)
		if want := []string{"application_received", "details_updated", "stage_changed"}; !slices.Equal(kinds, want) {
			t.Errorf("%s: %v, want %v once each", app, kinds, want)
		}
	}
	checkLogs(t, "restart", p2.stderr.String())
	if strings.Contains(p2.stderr.String(), "sync pass failed") {
		t.Errorf("a pass failed after the restart:\n%s", p2.stderr)
	}
}
