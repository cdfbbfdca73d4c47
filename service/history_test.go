package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// projectorHold is an Options.Applied hook that holds the projector while held.
type projectorHold struct {
	held    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newProjectorHold() *projectorHold {
	return &projectorHold{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (h *projectorHold) applied(ctx context.Context, _ []interactions.Application, _ time.Time) error {
	if !h.held.Load() {
		return nil
	}
	select {
	case h.entered <- struct{}{}:
	default:
	}
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// historyBatch is n applications' application_received, each with a candidate reply
// an hour later, as one batch body.
func historyBatch(prefix string, n int) map[string]any {
	var items []any
	for i := range n {
		app := fmt.Sprintf("%s-%d", prefix, i)
		items = append(items, map[string]any{
			"application_id": app, "candidate_id": "cand-" + app, "kind": "application_received",
			"occurred_at": "2026-10-01T10:00:00Z", "external_id": app + "-received",
		}, map[string]any{
			"application_id": app, "candidate_id": "cand-" + app, "kind": "message", "direction": "outbound",
			"channel": "email", "occurred_at": "2026-10-01T11:00:00Z", "external_id": app + "-reply",
		})
	}
	return map[string]any{"interactions": items}
}

// TestHistoryHeaderKeys: admin and ingest keys may write history; a recruiter or
// viewer key asking for it is refused with a problem naming the header, and a value
// other than true or false is a 400 naming it.
func TestHistoryHeaderKeys(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	ingest := srv.NewKey(t, "ingest", "")
	recruiter := srv.NewKey(t, "recruiter", "rec-1")
	viewer := srv.NewKey(t, "viewer", "")
	for i, tc := range []struct {
		name, key, value string
		status           int
	}{
		{"admin", servicetest.AdminKey, "true", http.StatusCreated},
		{"ingest", ingest, "true", http.StatusCreated},
		{"ingest false", ingest, "false", http.StatusCreated},
		{"recruiter", recruiter, "true", http.StatusForbidden},
		{"viewer", viewer, "true", http.StatusForbidden},
		{"bad value", ingest, "yes", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := interaction(fmt.Sprintf("hk-%d", i), "")
			if tc.key == recruiter {
				body["recruiter_id"] = "rec-1"
			}
			r := srv.Do(t, http.MethodPost, "/v1/interactions", tc.key, body, "X-Goodwill-History", tc.value)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.status < 400 {
				return
			}
			expectProblem(t, r, tc.status, "")
			if !strings.Contains(string(r.Body), "X-Goodwill-History") {
				t.Errorf("the problem does not name the header: %s", r.Body)
			}
		})
	}
	for _, key := range []string{recruiter, viewer} {
		r := srv.Do(t, http.MethodPost, "/v1/interactions/flush", key, nil)
		expectProblem(t, r, http.StatusForbidden, "")
	}
}

// TestHistoryFlush: a history batch is answered at once and the projector keeps it
// back for more; a flush makes it apply it and waits for it (held here in the SLA
// engine's wake), and once the flush answers 200 the timelines and clocks show every
// event without polling.
func TestHistoryFlush(t *testing.T) {
	t.Parallel()
	hold := newProjectorHold()
	// The embedded store, as goodwill serve runs by default: a projector that owns its
	// store holds history back (with replicas, following the log applies it anyway).
	embedded := map[string]string{"GOODWILL_MONGODB_URI": "", "GOODWILL_DATA_DIR": t.TempDir()}
	srv := servicetest.Start(t, embedded, service.Options{Applied: hold.applied})
	ingest := srv.NewKey(t, "ingest", "")
	hold.held.Store(true)
	const n = 150
	r := srv.Do(t, http.MethodPost, "/v1/interactions", ingest, historyBatch("hf", n), "X-Goodwill-History", "true")
	if r.Status != http.StatusCreated {
		t.Fatalf("history batch: %d %s", r.Status, r.Body)
	}
	select {
	case <-hold.entered:
		t.Fatal("the projector applied history at once: the header did not take the history path")
	case <-time.After(300 * time.Millisecond): // far less than the projector holds history back
	}
	flushed := make(chan servicetest.Response, 1)
	go func() { flushed <- srv.Do(t, http.MethodPost, "/v1/interactions/flush", ingest, nil) }()
	<-hold.entered // the flush made the projector apply the batch
	select {
	case r := <-flushed:
		t.Fatalf("flush answered while the projector was held: %d %s", r.Status, r.Body)
	case <-time.After(300 * time.Millisecond):
	}
	hold.held.Store(false)
	close(hold.release)
	if r := <-flushed; r.Status != http.StatusOK {
		t.Fatalf("flush: %d %s", r.Status, r.Body)
	}
	for i := range n {
		app := fmt.Sprintf("hf-%d", i)
		if got := kindsOf(t, srv, app); got["application_received"] != 1 || got["message"] != 1 {
			t.Fatalf("%s: timeline after the flush holds %v", app, got)
		}
		var responded bool
		for _, c := range clocksOf(t, srv, app) {
			responded = responded || (c.Metric == "first_response" && c.StoppedAt != nil)
		}
		if !responded {
			t.Fatalf("%s: no stopped first_response clock after the flush: %+v", app, clocksOf(t, srv, app))
		}
	}
	// Nothing outstanding: the flush answers at once.
	if r := srv.Do(t, http.MethodPost, "/v1/interactions/flush", servicetest.AdminKey, nil); r.Status != http.StatusOK {
		t.Fatalf("second flush: %d %s", r.Status, r.Body)
	}
}

// TestHistoryFlushTimesOut: a flush that the projector does not finish within the
// flush limit answers 503 with Retry-After.
func TestHistoryFlushTimesOut(t *testing.T) {
	t.Parallel()
	hold := newProjectorHold()
	srv := servicetest.Start(t, nil, service.Options{Applied: hold.applied, FlushLimit: 200 * time.Millisecond})
	hold.held.Store(true)
	defer close(hold.release)
	r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, historyBatch("ht", 3), "X-Goodwill-History", "true")
	if r.Status != http.StatusCreated {
		t.Fatalf("history batch: %d %s", r.Status, r.Body)
	}
	<-hold.entered
	start := time.Now()
	r = srv.Do(t, http.MethodPost, "/v1/interactions/flush", servicetest.AdminKey, nil)
	expectProblem(t, r, http.StatusServiceUnavailable, "")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the flush took %s, past its limit", d)
	}
}
