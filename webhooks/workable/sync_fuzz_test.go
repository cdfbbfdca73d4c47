package workable

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// answerDoer answers every request with body, as a Workable that lists the same
// object for every endpoint; after a bound it answers {}.
type answerDoer struct {
	body []byte
	n    int
}

func (d *answerDoer) Do(r *http.Request) (*http.Response, error) {
	d.n++
	body := d.body
	if d.n > 20 {
		body = []byte(`{}`)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// FuzzSyncParse parses whatever Workable might answer as each list (members,
// candidates, activities, events) and maps it: the parsing and mapping never panic,
// and every interaction that passes interactions' validation carries the receiver's
// ids (workable:<id>) and no time in the future. Seeds: the fake account of
// testdata/sync/workable.json, one candidate with its activities each.
func FuzzSyncParse(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sync", "workable.json"))
	if err != nil {
		f.Fatal(err)
	}
	var fx map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fx); err != nil {
		f.Fatal(err)
	}
	var acts map[string]json.RawMessage
	_ = json.Unmarshal(fx["activities"], &acts)
	var cands, events, members []json.RawMessage
	_ = json.Unmarshal(fx["candidates"], &cands)
	_ = json.Unmarshal(fx["events"], &events)
	_ = json.Unmarshal(fx["members"], &members)
	for i, c := range cands {
		var head struct{ ID string }
		_ = json.Unmarshal(c, &head)
		seed, _ := json.Marshal(map[string]any{
			"members": members[i%len(members) : i%len(members)+1], "events": events[i%len(events) : i%len(events)+1],
			"candidates": []json.RawMessage{c}, "activities": acts[head.ID],
			"paging": map[string]string{"next": []string{"", "http://fuzz.invalid/spi/v3/candidates?since_id=x"}[i%2]},
		})
		f.Add(seed)
	}
	f.Add([]byte(`{"candidates":[{"id":"x\u0000y","phone":7,"job":{"shortcode":"a b"}}],"activities":[{"action":"moved","target_stage":{"id":"","name":""}}]}`))
	f.Add([]byte(`{"candidates":[{"id":"c","created_at":"9999-12-31T23:59:59Z","updated_at":"0001-01-01T00:00:00Z","disqualified":true,"hired_at":"2026-13-45"}],"events":[{"id":"e","candidate":{"id":"c"},"starts_at":"2026-11-25T10:00:00Z","ends_at":"2026-11-24T10:00:00Z"}]}`))

	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ref := &reference{
		stages: map[string]apiStage{"hired": {Slug: "hired", Name: "Hired", Kind: "hired"}, "interview": {Slug: "interview", Name: "Interview"}},
		jobs:   map[string]apiJob{"GROOV003": {Shortcode: "GROOV003", Title: "Backend Engineer", Department: "Engineering"}},
		byID:   map[string]string{"61884e2": "GROOV003"},
		owners: map[string]string{},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := context.Background()
		c := &Client{BaseURL: "http://fuzz.invalid/spi/v3", Token: "t", HTTP: &answerDoer{body: body}}
		u := c.url("/x", nil)
		s := New(Config{Token: "t", APIURL: c.BaseURL}, c.HTTP, func() time.Time { return now })
		var p atssync.Page
		p.Counts = map[string]int{}
		if members, _, err := page[apiMember](ctx, c, u, "members"); err == nil {
			for _, m := range members {
				_ = vendorID(m.ID)
			}
		}
		acts, _, _ := page[apiActivity](ctx, c, u, "activities")
		if cands, next, err := page[apiCandidate](ctx, c, u, "candidates"); err == nil {
			_ = c.under(next)
			for _, cand := range cands {
				if vendorID(cand.ID) == "" {
					continue
				}
				for _, in := range mapCandidate(cand, acts, ref, "workable:m1", now) {
					s.add(&p, in, now)
				}
			}
		}
		if events, _, err := page[apiEvent](ctx, c, u, "events"); err == nil {
			for _, e := range events {
				for _, in := range mapEvent(e, ref, now) {
					s.add(&p, in, now)
				}
			}
		}
		for _, it := range p.Interactions {
			if !strings.HasPrefix(it.ApplicationID, "workable:") || it.Source != "workable" ||
				!strings.HasPrefix(it.ExternalID, "sync:workable:") || it.OccurredAt.IsZero() {
				t.Errorf("interaction %+v", it)
			}
			if it.OccurredAt.After(now.Add(5 * time.Minute)) {
				t.Errorf("%s occurs at %v, after now", it.ExternalID, it.OccurredAt)
			}
		}
	})
}
