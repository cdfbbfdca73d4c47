package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/service/storage"
)

// TestRestartFromCheckpoint: on its own store, a clean stop saves the SLA engine's
// checkpoint, and the next start answers the queue and the scores exactly as before
// the stop — and as a start that rebuilds from every application does.
func TestRestartFromCheckpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := servicetest.Start(t, map[string]string{"GOODWILL_MONGODB_URI": "", "GOODWILL_DATA_DIR": dir}, service.Options{})
	now := time.Now().UTC()
	var items []map[string]any
	add := func(app, kind string, at time.Time, extra map[string]any) {
		it := map[string]any{
			"application_id": app, "candidate_id": "cand-" + app, "kind": kind,
			"occurred_at": at.Format(time.RFC3339Nano), "recruiter_id": fmt.Sprintf("rec-%d", len(app)%3),
			"job_id": "job-1", "external_id": fmt.Sprintf("%s-%d", app, len(items)),
		}
		for k, v := range extra {
			it[k] = v
		}
		items = append(items, it)
	}
	for i := range 24 {
		app := fmt.Sprintf("app-%02d", i)
		received := now.Add(-time.Duration(i*7+5) * time.Hour)
		add(app, "application_received", received, nil)
		if i%3 == 0 {
			add(app, "message", received.Add(2*time.Hour), map[string]any{"direction": "outbound"})
		}
		if i%4 == 0 {
			add(app, "stage_changed", received.Add(3*time.Hour), map[string]any{"stage": "screen"})
			add(app, "survey_response", received.Add(4*time.Hour), map[string]any{"score": i % 11})
		}
	}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{"interactions": items}); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions/flush", servicetest.AdminKey, nil); r.Status != http.StatusOK {
		t.Fatalf("flush: %d %s", r.Status, r.Body)
	}
	answers := func() string {
		t.Helper()
		var all []any
		for _, path := range []string{
			"/v1/sla/overdue",
			"/v1/scores?group_by=recruiter",
			"/v1/scores?group_by=job",
			"/v1/scores/sentiment",
		} {
			r := srv.Do(t, http.MethodGet, path, servicetest.AdminKey, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
			var v map[string]any
			r.JSON(t, &v)
			if items, ok := v["items"].([]any); ok {
				for _, it := range items {
					delete(it.(map[string]any), "overdue_seconds") // grows as time passes
				}
			}
			all = append(all, v)
		}
		b, err := json.Marshal(all)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := answers()
	if len(before) < 200 {
		t.Fatalf("too little to compare: %s", before)
	}

	checkpoint := func(f func(db *storage.Store)) func() {
		return func() {
			ctx := context.Background()
			st, err := storage.Open(ctx, storage.Options{DataDir: dir, DB: srv.Config.DB})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close(ctx)
			if err := st.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			f(st)
		}
	}
	srv.RestartAfter(t, checkpoint(func(st *storage.Store) {
		n, err := st.DB.Collection("sla_checkpoint").CountDocuments(context.Background(), bson.M{})
		if err != nil || n == 0 {
			t.Errorf("the clean stop saved no checkpoint: %d chunks, %v", n, err)
		}
	}))
	if got := answers(); got != before {
		t.Errorf("after a restart from the checkpoint:\n%s\nbefore:\n%s", got, before)
	}

	// Without its chunks the next start rebuilds from every application, alike.
	srv.RestartAfter(t, checkpoint(func(st *storage.Store) {
		if _, err := st.DB.Collection("sla_checkpoint").DeleteMany(context.Background(), bson.M{}); err != nil {
			t.Fatal(err)
		}
	}))
	if got := answers(); got != before {
		t.Errorf("after a rebuild:\n%s\nbefore:\n%s", got, before)
	}
}
