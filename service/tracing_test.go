package service_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestTracingExportsOTLP sets the standard OTEL_* variables to a local OTLP/HTTP
// receiver and expects spans of the HTTP request and of the store commands it ran.
// (Not parallel: the exporter reads the process environment.)
func TestTracingExportsOTLP(t *testing.T) {
	var mu sync.Mutex
	var received []byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, b...)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(collector.Close) // after the server's own cleanup has flushed its spans
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")

	srv := servicetest.Start(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}, service.Options{})
	if !srv.Config.Tracing {
		t.Fatal("tracing is off with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, interaction("t-app", "t1")); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 10*time.Second, "spans at the collector", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return bytes.Contains(received, []byte("/v1/interactions")) && bytes.Contains(received, []byte("mongodb.insert"))
	})
}

// TestTracingOffByDefault: with no OTEL_* variables no exporter is set up.
func TestTracingOffByDefault(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	if srv.Config.Tracing {
		t.Fatal("tracing is on without configuration")
	}
}
