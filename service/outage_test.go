package service_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// storeProxy forwards TCP connections to the test store and can be cut (listener
// and every live connection closed, new ones refused) and restored on the same port.
type storeProxy struct {
	t       testing.TB
	addr    string
	network string // of the store: "unix" or "tcp"
	target  string

	// loseInsertReply, when set, makes the proxy pass the next insert into the
	// interactions collection to the store but drop the store's reply and close the
	// connection: the write happens, the server never hears so.
	loseInsertReply atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// newStoreProxy starts a proxy to the test store and returns it with the URI through it.
func newStoreProxy(t *testing.T) (*storeProxy, string) {
	t.Helper()
	network, target, uri := proxyTarget(t, storagetest.URI(t))
	p := &storeProxy{t: t, network: network, target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.cut()
		p.wg.Wait()
	})
	return p, strings.Replace(uri, "{proxy}", p.addr, 1)
}

// proxyTarget reads where the test store listens from its URI: a URL-encoded Unix
// socket path (the embedded store) or one host:port (GOODWILL_TEST_MONGODB_URI). uri
// is the same URI with "{proxy}" in place of the host.
func proxyTarget(t *testing.T, storeURI string) (network, target, uri string) {
	t.Helper()
	rest, ok := strings.CutPrefix(storeURI, "mongodb://")
	if !ok {
		t.Fatalf("the outage tests proxy the test store and need a mongodb:// URI with one host, not %s", storeURI)
	}
	hostEnd := strings.IndexAny(rest, "/?")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	hosts, tail := rest[:hostEnd], rest[hostEnd:]
	userinfo := ""
	if i := strings.LastIndex(hosts, "@"); i >= 0 {
		userinfo, hosts = hosts[:i+1], hosts[i+1:]
	}
	if strings.Contains(hosts, ",") {
		t.Fatalf("the outage tests proxy the test store and need a URI with one host (GOODWILL_TEST_MONGODB_URI=mongodb://host:port/)")
	}
	host, err := url.PathUnescape(hosts)
	if err != nil {
		t.Fatalf("store URI host %q: %v", hosts, err)
	}
	if tail == "" {
		tail = "/"
	}
	if strings.HasPrefix(host, "/") {
		network = "unix"
	} else {
		network = "tcp"
		// Talk to this one server only: its replica-set peers are not proxied.
		if strings.Contains(tail, "?") {
			tail += "&directConnection=true"
		} else {
			tail += "?directConnection=true"
		}
	}
	return network, host, "mongodb://" + userinfo + "{proxy}" + tail
}

func (p *storeProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.pipe(c)
			}()
		}
	}()
}

// pipe copies between a client connection and a new store connection until either
// side ends or the proxy is cut.
func (p *storeProxy) pipe(client net.Conn) {
	store, err := net.DialTimeout(p.network, p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, store) {
		client.Close()
		store.Close()
		return
	}
	var dropReply atomic.Bool
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if bytes.Contains(buf[:n], insertInteractions) && p.loseInsertReply.CompareAndSwap(true, false) {
					dropReply.Store(true)
				}
				if _, werr := store.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 64<<10)
		for {
			n, err := store.Read(buf)
			if n > 0 {
				if dropReply.Load() {
					return // the reply is lost; closing both ends follows
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	<-done
	client.Close()
	store.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, store)
	p.mu.Unlock()
}

// insertInteractions is how an insert command into the interactions collection
// starts in BSON: {"insert": "interactions", ...}.
var insertInteractions = []byte("\x02insert\x00\x0d\x00\x00\x00interactions\x00")

// track records live connections; it reports false once the proxy is cut.
func (p *storeProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// cut closes the listener and every live connection: the store is gone.
func (p *storeProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// restore listens again on the same address.
func (p *storeProxy) restore() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("listen again on %s: %v", p.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.serve(ln)
}

// outageItem is one interaction of the outage test.
func outageItem(app string, n int) map[string]any {
	return map[string]any{
		"application_id": app,
		"candidate_id":   "cand-" + app,
		"kind":           "message",
		"direction":      "outbound",
		"channel":        "email",
		"occurred_at":    time.Now().UTC().Add(-time.Hour + time.Duration(n)*time.Second).Format(time.RFC3339Nano),
		"source":         "outage",
		"external_id":    fmt.Sprintf("%s-%d", app, n),
	}
}

// storedIDs lists the external ids of an application's stored interactions.
func storedIDs(t *testing.T, in *servicetest.Instance, app string) []string {
	t.Helper()
	r := in.Do(t, http.MethodGet, "/v1/interactions?limit=1000&application_id="+url.QueryEscape(app), servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", app, r.Status, r.Body)
	}
	var list struct {
		Interactions []struct {
			ExternalID string `json:"external_id"`
		} `json:"interactions"`
	}
	r.JSON(t, &list)
	ids := []string{}
	for _, it := range list.Interactions {
		ids = append(ids, it.ExternalID)
	}
	return sortedStrings(ids)
}

// timelineIDs lists the external ids on an application's timeline; nil while the
// application is not derived yet.
func timelineIDs(t *testing.T, in *servicetest.Instance, app string) []string {
	t.Helper()
	r := in.Do(t, http.MethodGet, "/v1/applications/"+url.PathEscape(app)+"/timeline", servicetest.AdminKey, nil)
	if r.Status == http.StatusNotFound {
		return nil
	}
	if r.Status != http.StatusOK {
		t.Fatalf("timeline %s: %d %s", app, r.Status, r.Body)
	}
	var tl struct {
		Application struct {
			Interactions int `json:"interactions"`
		} `json:"application"`
		Interactions []struct {
			ExternalID string `json:"external_id"`
		} `json:"interactions"`
	}
	r.JSON(t, &tl)
	if tl.Application.Interactions != len(tl.Interactions) {
		t.Errorf("timeline %s: application counts %d interactions, lists %d", app, tl.Application.Interactions, len(tl.Interactions))
	}
	ids := []string{}
	for _, it := range tl.Interactions {
		ids = append(ids, it.ExternalID)
	}
	return sortedStrings(ids)
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// wantUnavailable checks a 503 problem with Retry-After.
func wantUnavailable(t *testing.T, what string, r servicetest.Response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("%s during the outage: %d %s, want 503", what, r.Status, r.Body)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p service.Problem
	r.JSON(t, &p)
	if p.Status != http.StatusServiceUnavailable || p.Type == "" || p.Title == "" {
		t.Errorf("%s: problem %+v, want status 503 with type and title", what, p)
	}
}

// TestStoreOutage takes the store away under a running server and brings it back:
// writes and readiness answer 503 meanwhile, the server recovers by itself, and
// retrying a failed request completes it exactly once.
func TestStoreOutage(t *testing.T) {
	proxy, uri := newStoreProxy(t)
	in := servicetest.Start(t, map[string]string{"GOODWILL_MONGODB_URI": uri}, service.Options{})
	post := func(body any) servicetest.Response {
		t.Helper()
		return in.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, body)
	}

	// Before: a write works.
	if r := post(outageItem("app-before", 0)); r.Status != http.StatusCreated {
		t.Fatalf("write before the outage: %d %s", r.Status, r.Body)
	}

	proxy.cut()
	cutAt := time.Now()
	single := outageItem("app-single", 0)
	batch := map[string]any{"interactions": []any{
		outageItem("app-batch", 0), outageItem("app-batch", 1), outageItem("app-batch", 2), outageItem("app-batch", 3),
	}}
	wantUnavailable(t, "POST one interaction", post(single))
	wantUnavailable(t, "POST a batch", post(batch))
	wantUnavailable(t, "GET /readyz", in.Do(t, http.MethodGet, "/readyz", "", nil))
	if d := time.Since(cutAt); d > 20*time.Second {
		t.Errorf("the 503 answers took %s, want a few seconds", d)
	}
	if r := in.Do(t, http.MethodGet, "/healthz", "", nil); r.Status != http.StatusOK {
		t.Errorf("/healthz during the outage: %d, want 200 (the process is up)", r.Status)
	}

	proxy.restore()
	restoredAt := time.Now()
	servicetest.Eventually(t, 15*time.Second, "/readyz to recover by itself", func() bool {
		return in.Do(t, http.MethodGet, "/readyz", "", nil).Status == http.StatusOK
	})
	t.Logf("ready again %s after the store came back", time.Since(restoredAt).Round(time.Millisecond))

	// Retrying the same requests completes them: 201, or 200 duplicate if the write
	// had reached the store before the connection was cut.
	switch r := post(single); r.Status {
	case http.StatusCreated:
	case http.StatusOK:
		if dup, _ := r.Map(t)["duplicate"].(bool); !dup {
			t.Errorf("retry answered 200 without duplicate: %s", r.Body)
		}
	default:
		t.Fatalf("retry of the single write: %d %s", r.Status, r.Body)
	}
	if r := post(batch); r.Status != http.StatusCreated {
		t.Fatalf("retry of the batch: %d %s", r.Status, r.Body)
	}
	// A second retry is a duplicate.
	if r := post(single); r.Status != http.StatusOK || r.Map(t)["duplicate"] != true {
		t.Errorf("second retry: %d %s, want 200 duplicate", r.Status, r.Body)
	}

	want := map[string][]string{
		"app-before": {"app-before-0"},
		"app-single": {"app-single-0"},
		"app-batch":  {"app-batch-0", "app-batch-1", "app-batch-2", "app-batch-3"},
	}
	for app, ids := range want {
		if diff := cmp.Diff(ids, storedIDs(t, in, app)); diff != "" {
			t.Errorf("stored interactions of %s (-want +got):\n%s", app, diff)
		}
	}
	// Derived state catches up with exactly what is stored: nothing half-written.
	for app, ids := range want {
		var got []string
		deadline := time.Now().Add(10 * time.Second)
		for {
			got = timelineIDs(t, in, app)
			if cmp.Equal(ids, got) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Errorf("timeline of %s (-want +got):\n%s", app, diff)
		}
	}
}

// TestStoreOutageMidStream cuts the store while concurrent writers are busy, then
// retries every request that did not get a 2xx: in the end each interaction is stored
// exactly once and the timelines show exactly what is stored.
func TestStoreOutageMidStream(t *testing.T) {
	proxy, uri := newStoreProxy(t)
	in := servicetest.Start(t, map[string]string{"GOODWILL_MONGODB_URI": uri}, service.Options{})
	client := &http.Client{Timeout: 30 * time.Second}
	send := func(body string) (int, error) {
		req, err := http.NewRequest(http.MethodPost, in.URL+"/v1/interactions", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+servicetest.AdminKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode, nil
	}

	const workers, perWorker, apps = 6, 12, 8
	type request struct {
		app  string
		ext  string
		body string
	}
	var reqs []request
	for w := range workers {
		for i := range perWorker {
			app := fmt.Sprintf("mid-%d", (w*perWorker+i)%apps)
			item := outageItem(app, w*perWorker+i)
			ext := item["external_id"].(string)
			reqs = append(reqs, request{app, ext, mustJSON(t, item)})
		}
	}
	var mu sync.Mutex
	failed := map[int]bool{} // request index → not acknowledged
	var wg sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				k := w*perWorker + i
				status, err := send(reqs[k].body)
				once.Do(func() { close(started) })
				if err != nil || (status != http.StatusCreated && status != http.StatusOK) {
					if err == nil && status != http.StatusServiceUnavailable {
						t.Errorf("%s: status %d, want 201 or 503", reqs[k].ext, status)
					}
					mu.Lock()
					failed[k] = true
					mu.Unlock()
				}
			}
		}()
	}
	<-started
	time.Sleep(100 * time.Millisecond)
	proxy.cut()
	time.Sleep(500 * time.Millisecond)
	proxy.restore()
	wg.Wait()
	t.Logf("%d of %d requests failed during the outage", len(failed), len(reqs))

	servicetest.Eventually(t, 15*time.Second, "/readyz to recover by itself", func() bool {
		return in.Do(t, http.MethodGet, "/readyz", "", nil).Status == http.StatusOK
	})
	for k := range failed {
		ok := false
		for attempt := 0; attempt < 20 && !ok; attempt++ {
			status, err := send(reqs[k].body)
			ok = err == nil && (status == http.StatusCreated || status == http.StatusOK)
			if !ok {
				time.Sleep(250 * time.Millisecond)
			}
		}
		if !ok {
			t.Fatalf("retry of %s never succeeded", reqs[k].ext)
		}
	}

	want := map[string][]string{}
	for _, r := range reqs {
		want[r.app] = append(want[r.app], r.ext)
	}
	for app, ids := range want {
		ids = sortedStrings(ids)
		if diff := cmp.Diff(ids, storedIDs(t, in, app)); diff != "" {
			t.Errorf("stored interactions of %s (-want +got):\n%s", app, diff)
		}
		var got []string
		deadline := time.Now().Add(10 * time.Second)
		for {
			got = timelineIDs(t, in, app)
			if cmp.Equal(ids, got) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Errorf("timeline of %s (-want +got):\n%s", app, diff)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStoreLostWriteReply loses the store's answer to a write that the store did
// make: the client gets a 503, its retry a duplicate, and the interaction must still
// reach derived state (the timeline) although no request ever answered 201 for it.
func TestStoreLostWriteReply(t *testing.T) {
	proxy, uri := newStoreProxy(t)
	in := servicetest.Start(t, map[string]string{"GOODWILL_MONGODB_URI": uri}, service.Options{})
	item := outageItem("app-lost", 0)

	proxy.loseInsertReply.Store(true)
	r := in.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, item)
	if proxy.loseInsertReply.Load() {
		t.Fatalf("the proxy never saw the insert (answer %d %s)", r.Status, r.Body)
	}
	t.Logf("first attempt: %d %s", r.Status, r.Body)
	if r.Status == http.StatusServiceUnavailable {
		wantUnavailable(t, "POST whose reply was lost", r)
	}

	servicetest.Eventually(t, 15*time.Second, "a retry to succeed", func() bool {
		r = in.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, item)
		return r.Status == http.StatusOK || r.Status == http.StatusCreated
	})
	t.Logf("retry: %d %s", r.Status, r.Body)

	if diff := cmp.Diff([]string{"app-lost-0"}, storedIDs(t, in, "app-lost")); diff != "" {
		t.Errorf("stored interactions (-want +got):\n%s", diff)
	}
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = timelineIDs(t, in, "app-lost")
		if len(got) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if diff := cmp.Diff([]string{"app-lost-0"}, got); diff != "" {
		// A write whose answer was lost must still reach derived state.
		t.Fatalf("stored interaction never projected; timeline (-want +got; nil = application never derived):\n%s", diff)
	}
}
