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
// object for every endpoint; after a bound it answers {} so that a paging.next
// pointing back under the API cannot loop the fuzzer for long.
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

// FuzzSyncParse feeds whatever Workable might answer to every resource of a pass: the
// parsing and mapping never panic, and every interaction a page holds passed
// interactions' validation with the receiver's ids (workable:<id>). Seeds: the fake
// account of testdata/sync/workable.json, answered whole for every endpoint.
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
	var cands []json.RawMessage
	_ = json.Unmarshal(fx["candidates"], &cands)
	for i, c := range cands {
		var head struct{ ID string }
		_ = json.Unmarshal(c, &head)
		seed, _ := json.Marshal(map[string]any{
			"members": fx["members"], "jobs": fx["jobs"], "stages": fx["stages"], "events": fx["events"],
			"candidates": []json.RawMessage{c}, "activities": acts[head.ID], "candidate": c,
			"paging": map[string]string{"next": []string{"", "http://fuzz.invalid/spi/v3/candidates?since_id=x", "https://elsewhere.invalid/x"}[i%3]},
		})
		f.Add(seed)
	}
	f.Add([]byte(`{"candidates":[{"id":"x\u0000y","phone":7,"job":{"shortcode":"a b"}}],"activities":[{"action":"moved","target_stage":{"id":"","name":""}}]}`))
	f.Add([]byte(`{"candidates":[{"id":"c","created_at":"9999-12-31T23:59:59Z","updated_at":"0001-01-01T00:00:00Z","disqualified":true,"hired_at":"2026-13-45"}],"events":[{"id":"e","candidate":{"id":"c"},"starts_at":"2026-11-25T10:00:00Z","ends_at":"2026-11-24T10:00:00Z"}]}`))

	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	since := now.Add(-30 * 24 * time.Hour)
	f.Fuzz(func(t *testing.T, body []byte) {
		s := New(Config{Token: "t", APIURL: "http://fuzz.invalid/spi/v3"}, &answerDoer{body: body}, func() time.Time { return now })
		for _, res := range s.Resources() {
			p, err := s.Pull(context.Background(), res, atssync.Cursor{Since: since})
			if err != nil {
				continue
			}
			for _, u := range p.Users {
				if !strings.HasPrefix(u.ID, "workable:") {
					t.Errorf("user id %q", u.ID)
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
		}
	})
}
