package atssync

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// fakeVendor is an ATS read the way a time-cursored API is: "users" in one page,
// "applications" as its events by time, pageSize at a time, each page starting after
// the cursor's Since. With a doer it first asks api for leave to answer, as a vendor
// client asks its API for a page.
type fakeVendor struct {
	name     string
	pageSize int
	users    []User
	events   []interactions.Interaction // by OccurredAt
	doer     Doer
	api      string

	mu    sync.Mutex
	pulls []string // "<resource>@<cursor since>"
}

func (f *fakeVendor) Name() string        { return f.name }
func (f *fakeVendor) Resources() []string { return []string{"users", "applications"} }

func (f *fakeVendor) Pull(ctx context.Context, resource string, cur Cursor) (Page, error) {
	f.mu.Lock()
	f.pulls = append(f.pulls, resource+"@"+interactions.APITime(cur.Since))
	f.mu.Unlock()
	if f.doer != nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.api+"/v1/"+resource, nil)
		if err != nil {
			return Page{}, err
		}
		resp, err := f.doer.Do(req)
		if err != nil {
			return Page{}, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return Page{}, fmt.Errorf("%s: %s", resource, resp.Status)
		}
	}
	if resource == "users" {
		return Page{Users: f.users, Next: Cursor{Since: cur.Since}, Counts: map[string]int{CountUsers: len(f.users)}}, nil
	}
	var page Page
	for _, e := range f.events {
		if !e.OccurredAt.After(cur.Since) {
			continue
		}
		if len(page.Interactions) == f.pageSize {
			page.More = true
			break
		}
		page.Interactions = append(page.Interactions, e)
		page.Next = Cursor{Since: e.OccurredAt}
	}
	page.Counts = map[string]int{CountApplicationsUpdated: len(page.Interactions)}
	return page, nil
}

func (f *fakeVendor) pullCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pulls)
}

// fakeDirectory keeps the users put, by id.
type fakeDirectory struct {
	mu    sync.Mutex
	users map[string]User
}

func (d *fakeDirectory) PutATSUsers(ctx context.Context, users []User) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.users == nil {
		d.users = map[string]User{}
	}
	for _, u := range users {
		d.users[u.ID] = u
	}
	return nil
}

// rig is the real write path on a fresh database of the embedded store.
type rig struct {
	db     *mongo.Database
	store  *interactions.Store
	guard  *interactions.Tombstones
	writer *interactions.Writer
	dir    *fakeDirectory
	now    time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db := storagetest.NewDB(t)
	store := interactions.NewStore(db)
	guard, err := interactions.NewTombstones(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	w := interactions.NewWriter(interactions.WriterConfig{Store: store, Guard: guard, OnCommit: func([]interactions.Interaction) {}})
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return &rig{db: db, store: store, guard: guard, writer: w, dir: &fakeDirectory{},
		now: time.Now().UTC().Truncate(time.Millisecond)}
}

func (r *rig) runner(v Vendor, edit func(*Config)) *Runner {
	cfg := Config{Vendors: []Vendor{v}, DB: r.db, Writer: r.writer, Directory: r.dir,
		Interval: time.Hour, Lookback: 30 * 24 * time.Hour, LeaseTTL: 3 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	return NewRunner(cfg)
}

// events are n events of one application at the hours before r.now.
func (r *rig) events(vendor string, n int) []interactions.Interaction {
	var out []interactions.Interaction
	for i := range n {
		out = append(out, interactions.Interaction{
			ApplicationID: vendor + ":app-1", CandidateID: vendor + ":cand-1", Kind: interactions.KindNote,
			OccurredAt: r.now.Add(time.Duration(i-n) * time.Hour), Source: vendor,
			ExternalID: fmt.Sprintf("sync:%s:note:app-1:%d", vendor, i),
		})
	}
	return out
}

// stored returns the external ids stored for the application, oldest first, and
// fails on an id stored twice.
func (r *rig) stored(t *testing.T, app string) []string {
	t.Helper()
	list, _, err := r.store.List(context.Background(), interactions.Filter{ApplicationID: app, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range slices.Backward(list) {
		if slices.Contains(out, it.ExternalID) {
			t.Errorf("%s stored twice", it.ExternalID)
		}
		out = append(out, it.ExternalID)
	}
	return out
}

func (r *rig) connector(t *testing.T, run *Runner, vendor string) Connector {
	t.Helper()
	list, err := run.Connectors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.Vendor == vendor {
			return c
		}
	}
	t.Fatalf("no connector %q in %+v", vendor, list)
	return Connector{}
}

// TestRunnerKilledMidPass: a pass cut off after a page is written but before its
// cursor is saved resumes from the last saved cursor: the page is read again, written
// again as duplicates (nothing stored twice), counted once, and nothing is skipped.
func TestRunnerKilledMidPass(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	v := &fakeVendor{name: "lever", pageSize: 2, users: []User{{ID: "lever:u1", Name: "Ann", Active: true}}}
	v.events = r.events("lever", 5)
	run := r.runner(v, nil)

	ctx, kill := context.WithCancel(context.Background())
	pagesWritten := 0
	run.afterWrite = func(_ context.Context, _, resource string) {
		if resource == "applications" {
			if pagesWritten++; pagesWritten == 2 {
				kill() // between the second page's write and its cursor's save
			}
		}
	}
	ran, err := run.Pass(ctx, "lever")
	if !ran || err == nil {
		t.Fatalf("killed pass: ran %v, err %v; want ran with an error", ran, err)
	}
	if got := r.stored(t, "lever:app-1"); len(got) != 4 {
		t.Fatalf("after the kill %d stored, want 4 (two pages written): %v", len(got), got)
	}
	c := r.connector(t, run, "lever")
	if c.Cursors["applications"].Since != v.events[1].OccurredAt {
		t.Errorf("cursor after the kill %v, want the first page's end %v", c.Cursors["applications"].Since, v.events[1].OccurredAt)
	}
	if c.LastPass == nil || c.LastPass.Outcome != OutcomeFailed {
		t.Errorf("last pass %+v, want failed", c.LastPass)
	}

	run.afterWrite = nil
	if ran, err := run.Pass(context.Background(), "lever"); !ran || err != nil {
		t.Fatalf("resumed pass: ran %v, err %v", ran, err)
	}
	var want []string
	for _, e := range v.events {
		want = append(want, e.ExternalID)
	}
	if got := r.stored(t, "lever:app-1"); !slices.Equal(got, want) {
		t.Errorf("stored %v, want each of %v once", got, want)
	}
	c = r.connector(t, run, "lever")
	if c.Cursors["applications"].Since != v.events[4].OccurredAt {
		t.Errorf("cursor %v, want the last event's time %v", c.Cursors["applications"].Since, v.events[4].OccurredAt)
	}
	if c.Counts[CountApplicationsUpdated] != 5 || c.Counts[CountUsers] != 2 || c.LastPass.Outcome != OutcomeOK {
		t.Errorf("counts %v, last pass %+v; want 5 applications updated, 2 users (two passes), ok", c.Counts, c.LastPass)
	}
	if _, ok := r.dir.users["lever:u1"]; !ok {
		t.Errorf("users not put in the directory: %v", r.dir.users)
	}
}

// TestRunnerLookback: a vendor's first pass starts GOODWILL_SYNC_LOOKBACK ago.
func TestRunnerLookback(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	v := &fakeVendor{name: "lever", pageSize: 10}
	v.events = r.events("lever", 3)
	run := r.runner(v, func(c *Config) { c.Lookback = 2*time.Hour + time.Minute; c.Now = func() time.Time { return r.now } })
	if _, err := run.Pass(context.Background(), "lever"); err != nil {
		t.Fatal(err)
	}
	want := "applications@" + interactions.APITime(r.now.Add(-2*time.Hour-time.Minute))
	if !slices.Contains(v.pulls, want) {
		t.Errorf("pulls %v, want %s", v.pulls, want)
	}
	if got := r.stored(t, "lever:app-1"); len(got) != 2 { // the event 3 h ago is older
		t.Errorf("stored %v, want the 2 events within the lookback", got)
	}
}

// TestRunnerOneReplica: of two runners on one store, one syncs a vendor; when it
// stops (releasing the lease), the other takes over.
func TestRunnerOneReplica(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := &fakeVendor{name: "lever", pageSize: 10}
	b := &fakeVendor{name: "lever", pageSize: 10}
	edit := func(c *Config) { c.Interval = 50 * time.Millisecond }
	ra, rb := r.runner(a, edit), r.runner(b, edit)
	ra.Start(context.Background())
	waitFor(t, func() bool { return a.pullCount() > 0 })
	rb.Start(context.Background())
	defer rb.Close(context.Background())
	time.Sleep(500 * time.Millisecond)
	if a.pullCount() < 4 || b.pullCount() != 0 {
		t.Fatalf("pulls: first runner %d, second %d; want several and none", a.pullCount(), b.pullCount())
	}
	ra.Close(context.Background())
	waitFor(t, func() bool { return b.pullCount() > 0 })
	n := a.pullCount()
	time.Sleep(200 * time.Millisecond)
	if a.pullCount() != n {
		t.Errorf("the stopped runner still pulls")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunnerThroughClient: a vendor whose API answers 429 (Retry-After) and 503 along
// the way still completes its pass through Client, only later.
func TestRunnerThroughClient(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	var calls atomic.Int64
	api := newFakeAPI(t, func(n int64, w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		switch n {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = io.WriteString(w, "{}")
		}
	})
	client := testClient(t, api, nil)
	v := &fakeVendor{name: "greenhouse", pageSize: 2, doer: client, api: api.srv.URL}
	v.events = r.events("greenhouse", 3)
	run := r.runner(v, nil)
	start := time.Now()
	if ran, err := run.Pass(context.Background(), "greenhouse"); !ran || err != nil {
		t.Fatalf("pass: ran %v, err %v", ran, err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("pass took %v: the 429 was not waited out", d)
	}
	if got := r.stored(t, "greenhouse:app-1"); len(got) != 3 {
		t.Errorf("stored %v, want 3", got)
	}
}

// TestRunnerTombstones: an erased candidate read again from the ATS is stored without
// their details, as the writer does for every source.
func TestRunnerTombstones(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	if err := r.guard.Bury(ctx, []string{"lever:cand-1"}, []string{"gone@example.com"}, nil); err != nil {
		t.Fatal(err)
	}
	v := &fakeVendor{name: "lever", pageSize: 10}
	v.events = r.events("lever", 1)
	v.events[0].Kind = interactions.KindDetailsUpdated
	v.events[0].Candidate = &interactions.Person{Name: "Gone Person", Email: "gone@example.com"}
	v.events[0].Metadata = map[string]any{"note": "private"}
	if _, err := r.runner(v, nil).Pass(ctx, "lever"); err != nil {
		t.Fatal(err)
	}
	list, _, err := r.store.List(ctx, interactions.Filter{ApplicationID: "lever:app-1", Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("stored %v, %v", list, err)
	}
	if got := list[0]; got.Candidate != nil || got.Metadata != nil || !got.Erased {
		t.Errorf("stored %+v: want no details, erased", got)
	}
}

// TestRunnerSkipsInvalid: an item the API would refuse, or from another source, or
// without an external id, is skipped; the rest of the page is written and the pass
// goes on.
func TestRunnerSkipsInvalid(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	v := &fakeVendor{name: "lever", pageSize: 10}
	v.events = r.events("lever", 4)
	v.events[0].Kind = "bogus"
	v.events[1].Source = "greenhouse"
	v.events[2].ExternalID = ""
	if _, err := r.runner(v, nil).Pass(context.Background(), "lever"); err != nil {
		t.Fatal(err)
	}
	if got := r.stored(t, "lever:app-1"); !slices.Equal(got, []string{v.events[3].ExternalID}) {
		t.Errorf("stored %v, want only %s", got, v.events[3].ExternalID)
	}
}

// TestConnectorsUnconfigured: without vendors every known one is listed, not
// configured, with zero counts; nothing runs.
func TestConnectorsUnconfigured(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	run := NewRunner(Config{DB: r.db, Writer: r.writer, Directory: r.dir})
	run.Start(context.Background())
	defer run.Close(context.Background())
	list, err := run.Connectors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Vendor)
		if c.Configured || c.LastPass != nil || len(c.Counts) != len(CountNames) {
			t.Errorf("%+v: want not configured, no pass, zero counts", c)
		}
	}
	if !slices.Equal(names, KnownVendors) {
		t.Errorf("vendors %v, want %v", names, KnownVendors)
	}
}

// TestLeaseExpires: a replica that stops renewing (it died) loses the vendor to
// another once the lease expires, not before; the dead one then counts itself out.
func TestLeaseExpires(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	coll := r.db.Collection(collLeases)
	a := &lease{coll: coll, vendor: "lever", owner: "a", ttl: 400 * time.Millisecond, now: time.Now}
	b := &lease{coll: coll, vendor: "lever", owner: "b", ttl: 400 * time.Millisecond, now: time.Now}
	if ok, err := a.acquire(ctx); !ok || err != nil {
		t.Fatalf("a: %v %v", ok, err)
	}
	if ok, err := b.acquire(ctx); ok || err != nil {
		t.Fatalf("b took a live lease: %v %v", ok, err)
	}
	time.Sleep(450 * time.Millisecond)
	if a.owns() {
		t.Error("a still counts itself the owner past its deadline")
	}
	if ok, err := b.acquire(ctx); !ok || err != nil {
		t.Fatalf("b could not take the expired lease: %v %v", ok, err)
	}
	if ok, err := a.acquire(ctx); ok || err != nil {
		t.Fatalf("a renewed a lease b holds: %v %v", ok, err)
	}
	if !b.owns() || a.owns() {
		t.Errorf("owns: a %v, b %v; want b alone", a.owns(), b.owns())
	}
}

// TestRunnerCountsRecovered: missed_events_recovered counts each event the sync
// stores, when it stores it, of the kinds a webhook delivers: a page written before a
// kill and written again after it counts once; notes and what a webhook delivered
// first do not count.
func TestRunnerCountsRecovered(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	v := &fakeVendor{name: "lever", pageSize: 2}
	v.events = r.events("lever", 5)
	for i := range v.events[:4] {
		v.events[i].Kind, v.events[i].Stage = interactions.KindStageChanged, fmt.Sprintf("stage %d", i)
	}
	// The webhook delivered the fourth stage change already.
	hook := v.events[3]
	hook.ExternalID, hook.OccurredAt = "event:stage-3", hook.OccurredAt.Add(time.Minute)
	hook.Direction = interactions.Internal
	hook.ID, hook.Key, hook.ReceivedAt = "01900000-0000-7000-8000-000000000003", "lever:event:stage-3", r.now
	if _, err := r.writer.WriteEvents(context.Background(), []interactions.Interaction{hook}); err != nil {
		t.Fatal(err)
	}
	run := r.runner(v, func(c *Config) { c.Writer = r.writer.Events() })
	ctx, kill := context.WithCancel(context.Background())
	run.afterWrite = func(_ context.Context, _, resource string) {
		if resource == "applications" {
			kill() // after the first page's write, before its cursor's save
		}
	}
	if _, err := run.Pass(ctx, "lever"); err == nil {
		t.Fatal("the killed pass did not fail")
	}
	if n := r.connector(t, run, "lever").Counts[CountMissedEventsRecovered]; n != 2 {
		t.Errorf("after the kill: %d recovered, want the first page's 2", n)
	}
	run.afterWrite = nil
	if _, err := run.Pass(context.Background(), "lever"); err != nil {
		t.Fatal(err)
	}
	if n := r.connector(t, run, "lever").Counts[CountMissedEventsRecovered]; n != 3 {
		t.Errorf("%d recovered, want 3: stages 0-2 once each, not the webhook's stage 3 nor the note", n)
	}
}
