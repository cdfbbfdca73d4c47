package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// demoBuffer is a bytes.Buffer safe for the demo to write while the test reads.
type demoBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *demoBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *demoBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDemo runs `goodwill demo` in-process and waits, through the API with the key it
// prints, for a breached clock and an alert; it stops as soon as it has seen both.
func TestDemo(t *testing.T) {
	var out, errOut demoBuffer
	cmd := newDemo()
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--duration", "60s"})
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
	}()

	urlRE := regexp.MustCompile(`running at (http://\S+)`)
	keyRE := regexp.MustCompile(`export KEY=(gw_[0-9a-f]+)`)
	dirRE := regexp.MustCompile(`embedded store: (\S+)`)
	var base, key, dir string
	get := func(path string, v any) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Logf("GET %s: %v", path, err)
			return false
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, res.Status)
		}
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return true
	}

	start := time.Now()
	var breached, alerted bool
	for !breached || !alerted {
		select {
		case err := <-done:
			t.Fatalf("the demo stopped after %v (breached clock seen: %v, alert seen: %v): %v",
				time.Since(start).Round(time.Second), breached, alerted, err)
		case <-time.After(500 * time.Millisecond):
		}
		if base == "" {
			s := out.String()
			if m, k := urlRE.FindStringSubmatch(s), keyRE.FindStringSubmatch(s); m != nil && k != nil {
				base, key = m[1], k[1]
				dir = dirRE.FindStringSubmatch(s)[1]
				t.Logf("demo ready at %s after %v", base, time.Since(start).Round(100*time.Millisecond))
			}
			continue
		}
		if !breached {
			var overdue struct {
				Items []struct {
					State string `json:"state"`
				} `json:"items"`
			}
			if get("/v1/sla/overdue?state=breached", &overdue) && len(overdue.Items) > 0 {
				if overdue.Items[0].State != "breached" {
					t.Fatalf("overdue?state=breached answered a %q clock", overdue.Items[0].State)
				}
				breached = true
				t.Logf("a breached clock after %v", time.Since(start).Round(100*time.Millisecond))
			}
		}
		if !alerted {
			var list struct {
				Alerts []json.RawMessage `json:"alerts"`
			}
			if get("/v1/alerts", &list) && len(list.Alerts) > 0 {
				alerted = true
				t.Logf("an alert after %v", time.Since(start).Round(100*time.Millisecond))
			}
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop within 30s of its context ending")
	}
	if !strings.Contains(errOut.String(), "applied for") {
		t.Error("the demo printed no simulated event")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the demo's data directory %s is still there (stat: %v)", dir, err)
	}
}
