package lease

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

const testPartitions = 64

// testTTL is short so that handovers take a second or two; the race detector slows the
// embedded store down about tenfold, so it gets longer leases.
var testTTL = time.Second * time.Duration(raceScale)

// recorder keeps every change a manager reports, and the partitions the manager still
// owned when it reported them lost.
type recorder struct {
	m           *Manager
	holder      Holder // what start gives the manager: record, and what a test adds
	mu          sync.Mutex
	changes     []Change
	ownedAtLoss []int
}

func (r *recorder) record(_ context.Context, c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
	for _, p := range c.Lost {
		if r.m.Owns(p) {
			r.ownedAtLoss = append(r.ownedAtLoss, p)
		}
	}
}

// check fails t if a partition was still owned when reported lost.
func (r *recorder) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ownedAtLoss) > 0 {
		t.Errorf("partitions %v still owned when reported lost", r.ownedAtLoss)
	}
}

// net returns the partitions acquired and not lost since, and every Taken reported.
func (r *recorder) net() (owned []int, taken []Taken) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := map[int]bool{}
	for _, c := range r.changes {
		for _, t := range c.Acquired {
			set[t.Partition] = true
			taken = append(taken, t)
		}
		for _, p := range c.Lost {
			delete(set, p)
		}
	}
	return sortedKeys(set), taken
}

func (r *recorder) lost() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ps []int
	for _, c := range r.changes {
		ps = append(ps, c.Lost...)
	}
	slices.Sort(ps)
	return ps
}

func newManager(t *testing.T, coll *mongo.Collection, replica string, mark func() int64) (*Manager, *recorder) {
	t.Helper()
	m := New(Config{Collection: coll, Replica: replica, Partitions: testPartitions, TTL: testTTL,
		Log: slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	r := &recorder{m: m}
	r.holder = Holder{Mark: mark, Changed: []func(context.Context, Change){r.record}}
	t.Cleanup(func() { r.check(t) })
	return m, r
}

// tWriter sends log lines to the test's log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// start starts the manager of r with r's holder.
func start(t *testing.T, r *recorder) {
	t.Helper()
	m := r.m
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Start(ctx, r.holder); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
}

func closeManager(t *testing.T, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func all() []int {
	ps := make([]int, testPartitions)
	for i := range ps {
		ps[i] = i
	}
	return ps
}

// waitFor polls cond until it holds or timeout passes, calling each (if not nil) at
// every poll; it reports how long it took.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, each func()) time.Duration {
	t.Helper()
	begin := time.Now()
	for !cond() {
		if each != nil {
			each()
		}
		if time.Since(begin) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(begin)
}

// exclusive fails t if a and b both own a partition. Owns of a is read before and
// after that of b, so a handover between the reads is not mistaken for a double owner.
func exclusive(t *testing.T, a, b *Manager) {
	t.Helper()
	for p := range testPartitions {
		if a.Owns(p) && b.Owns(p) && a.Owns(p) {
			t.Fatalf("partition %d owned by both replicas", p)
		}
	}
}

func leases(t *testing.T, coll *mongo.Collection) map[int]leaseDoc {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Find(ctx, bson.D{{Key: "kind", Value: kindPartition}})
	if err != nil {
		t.Fatal(err)
	}
	var docs []leaseDoc
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	byPartition := map[int]leaseDoc{}
	for _, d := range docs {
		byPartition[d.Partition] = d
	}
	return byPartition
}

func heartbeats(t *testing.T, coll *mongo.Collection) int64 {
	t.Helper()
	n, err := coll.CountDocuments(context.Background(), bson.D{{Key: "kind", Value: kindReplica}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestShare(t *testing.T) {
	for _, tc := range []struct{ partitions, live, want int }{
		{64, 1, 64},  // alone: everything
		{64, 2, 32},  // even split
		{64, 3, 22},  // rounded up so that every partition has room
		{64, 0, 64},  // no heartbeat read yet counts as alone
		{64, 100, 1}, // more replicas than partitions: one each, some idle
	} {
		if got := share(tc.partitions, tc.live); got != tc.want {
			t.Errorf("share(%d, %d) = %d, want %d", tc.partitions, tc.live, got, tc.want)
		}
	}
}

func TestSingleReplicaOwnsAllAndReleasesOnClose(t *testing.T) {
	coll := storagetest.NewDB(t).Collection("leases")
	m, rec := newManager(t, coll, "a", nil)
	start(t, rec)

	if got := m.Owned(); !slices.Equal(got, all()) {
		t.Fatalf("Owned after Start = %v, want all %d partitions", got, testPartitions)
	}
	owned, taken := rec.net()
	if !slices.Equal(owned, all()) {
		t.Fatalf("reported as acquired at Start = %v, want all", owned)
	}
	for _, tk := range taken {
		if tk.Mark != 0 {
			t.Fatalf("fresh partition %d came with mark %d, want 0", tk.Partition, tk.Mark)
		}
	}
	for p, d := range leases(t, coll) {
		if d.Owner != "a" {
			t.Fatalf("stored owner of partition %d = %q, want a", p, d.Owner)
		}
	}
	// Renewals keep everything.
	time.Sleep(2 * testTTL)
	if got := m.Owned(); len(got) != testPartitions {
		t.Fatalf("Owned after renewals = %d partitions, want %d", len(got), testPartitions)
	}

	closeManager(t, m)
	if got := rec.lost(); !slices.Equal(got, all()) {
		t.Fatalf("lost at Close = %v, want all", got)
	}
	if got := m.Owned(); len(got) != 0 {
		t.Fatalf("Owned after Close = %v, want none", got)
	}
	now := time.Now()
	docs := leases(t, coll)
	if len(docs) != testPartitions {
		t.Fatalf("%d lease documents, want %d", len(docs), testPartitions)
	}
	for p, d := range docs {
		if d.Owner != "" || d.Expires.After(now) {
			t.Fatalf("partition %d after Close: owner %q expires %v, want released", p, d.Owner, d.Expires)
		}
	}
	if n := heartbeats(t, coll); n != 0 {
		t.Fatalf("%d heartbeats after Close, want 0", n)
	}
}

func TestStaleDocumentsAreIgnoredAndRemoved(t *testing.T) {
	coll := storagetest.NewDB(t).Collection("leases")
	ctx := context.Background()
	long := time.Now().Add(-11 * testTTL)
	for _, d := range []leaseDoc{
		{ID: replicaDocID("gone"), Kind: kindReplica, Owner: "gone", Expires: long},                              // dead for long
		{ID: replicaDocID("late"), Kind: kindReplica, Owner: "late", Expires: time.Now().Add(-time.Millisecond)}, // just expired
		{ID: "claim-partition-03-7", Kind: kindClaim, Partition: 3, Owner: "gone", Expires: long},                // left by a failed take
		{ID: partitionDocID(3), Kind: kindPartition, Partition: 3, Owner: "gone", Expires: long, Mark: 9, Gen: 7},
	} {
		if _, err := coll.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	m, rec := newManager(t, coll, "a", nil)
	start(t, rec)
	// Neither expired heartbeat counts as a live replica: a takes everything, including
	// the expired lease, whose claim left behind does not block it.
	if got := m.Owned(); !slices.Equal(got, all()) {
		t.Fatalf("Owned = %v, want all", got)
	}
	_, taken := rec.net()
	for _, tk := range taken {
		want := int64(0) // a new document
		if tk.Partition == 3 {
			want = 9 // the dead owner's
		}
		if tk.Mark != want {
			t.Fatalf("partition %d came with mark %d, want %d", tk.Partition, tk.Mark, want)
		}
	}
	for _, tc := range []struct {
		id   string
		want int64
	}{
		{replicaDocID("gone"), 0},   // removed
		{replicaDocID("late"), 1},   // kept: its replica may come back
		{"claim-partition-03-7", 0}, // removed
	} {
		n, err := coll.CountDocuments(ctx, byID(tc.id))
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("%s: %d documents, want %d", tc.id, n, tc.want)
		}
	}
}

func TestUnconfirmedTakeIsAdoptedWhenStored(t *testing.T) {
	coll := storagetest.NewDB(t).Collection("leases")
	ctx := context.Background()
	expires := time.Now().Add(testTTL).Truncate(time.Millisecond)
	for _, d := range []leaseDoc{
		// Written by a's take whose result a could not read.
		{ID: partitionDocID(5), Kind: kindPartition, Partition: 5, Owner: "a", Expires: expires, Mark: 3, Gen: 2},
		// Written by a's take too, but with another expiry: a late renewal, not a take.
		{ID: partitionDocID(6), Kind: kindPartition, Partition: 6, Owner: "a", Expires: expires.Add(time.Millisecond), Gen: 2},
	} {
		if _, err := coll.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	m := New(Config{Collection: coll, Replica: "a", Partitions: testPartitions, TTL: testTTL})
	m.unconfirmed[5] = expires.UnixMilli()
	m.unconfirmed[6] = expires.UnixMilli()
	c, _, err := m.pass(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]Taken{}
	for _, tk := range c.Acquired {
		got[tk.Partition] = tk
	}
	if tk, ok := got[5]; !ok || tk.Mark != 3 || !m.Owns(5) {
		t.Errorf("partition 5: taken %+v (reported %v), owned %v; want it adopted with mark 3", tk, ok, m.Owns(5))
	}
	// Partition 6 is not adopted, but a lease that still names this replica is
	// nobody else's: it is taken again at once, through a claim that moves its
	// generation on.
	var six leaseDoc
	if err := coll.FindOne(ctx, byID(partitionDocID(6))).Decode(&six); err != nil {
		t.Fatal(err)
	}
	if _, ok := got[6]; !ok || !m.Owns(6) || six.Gen != 3 {
		t.Errorf("partition 6: taken %v, owned %v, generation %d; want taken again with generation 3", ok, m.Owns(6), six.Gen)
	}
	if len(c.Acquired) != testPartitions {
		t.Errorf("acquired %d partitions, want all", len(c.Acquired))
	}
}

func TestTwoReplicasSplitFairly(t *testing.T) {
	coll := storagetest.NewDB(t).Collection("leases")
	a, recA := newManager(t, coll, "a", nil)
	b, recB := newManager(t, coll, "b", nil)
	start(t, recA)
	start(t, recB)

	halves := func() bool { return len(a.Owned()) == 32 && len(b.Owned()) == 32 }
	took := waitFor(t, 8*testTTL, "a 32/32 split", halves, func() { exclusive(t, a, b) })
	t.Logf("split after %v", took)
	// It stays split, and every partition has exactly one owner.
	deadline := time.Now().Add(testTTL)
	for time.Now().Before(deadline) {
		exclusive(t, a, b)
		time.Sleep(2 * time.Millisecond)
	}
	if !halves() {
		t.Fatalf("split did not hold: a %d, b %d", len(a.Owned()), len(b.Owned()))
	}
	if got := slices.Concat(a.Owned(), b.Owned()); len(got) != testPartitions {
		t.Fatalf("%d partitions owned in all, want %d", len(got), testPartitions)
	}
	// The reports, which follow Owns, come to agree with it.
	waitFor(t, 4*testTTL, "a's reports matching Owned", func() bool { got, _ := recA.net(); return slices.Equal(got, a.Owned()) }, nil)
	waitFor(t, 4*testTTL, "b's reports matching Owned", func() bool { got, _ := recB.net(); return slices.Equal(got, b.Owned()) }, nil)

	// When a leaves, b takes everything at its next renewal.
	closeManager(t, a)
	took = waitFor(t, 8*testTTL, "b owning all after a left", func() bool { return len(b.Owned()) == testPartitions }, nil)
	t.Logf("b owned all %v after a left", took)
}

func TestThreeReplicasShareFairly(t *testing.T) {
	coll := storagetest.NewDB(t).Collection("leases")
	var ms [3]*Manager
	for i, name := range []string{"a", "b", "c"} {
		var rec *recorder
		ms[i], rec = newManager(t, coll, name, nil)
		start(t, rec)
	}
	fair := func() bool {
		total := 0
		for _, m := range ms {
			n := len(m.Owned())
			if n > share(testPartitions, 3) {
				return false
			}
			total += n
		}
		return total == testPartitions
	}
	took := waitFor(t, 10*testTTL, "every partition owned, none above 22 each", fair, func() {
		for i := range ms {
			exclusive(t, ms[i], ms[(i+1)%3])
		}
	})
	t.Logf("fair after %v: %d %d %d", took, len(ms[0].Owned()), len(ms[1].Owned()), len(ms[2].Owned()))
}

func TestDeadReplicaPartitionsAreTakenOver(t *testing.T) {
	coll := storagetest.NewDB(t).Collection("leases")
	var mark atomic.Int64
	mark.Store(42)
	a, recA := newManager(t, coll, "a", mark.Load)
	b, recB := newManager(t, coll, "b", nil)
	start(t, recA)
	start(t, recB)
	waitFor(t, 8*testTTL, "b owning some", func() bool { return len(b.Owned()) > 0 }, func() { exclusive(t, a, b) })

	a.stop() // a dies: no release, its leases stay in the store until they expire
	died := time.Now()
	took := waitFor(t, 6*testTTL, "b owning all after a died",
		func() bool { return len(b.Owned()) == testPartitions }, func() { exclusive(t, a, b) })
	t.Logf("b owned all %v after a died", took)
	// A dead owner's lease expires TTL after its last renewal; b's next renewal then
	// takes it. Allow one more TTL for a loaded machine.
	if limit := 2*testTTL + testTTL/3; took > limit {
		t.Errorf("takeover took %v, want within %v", took, limit)
	}
	if len(a.Owned()) != 0 {
		t.Fatalf("dead replica still owns %v %v after dying", a.Owned(), time.Since(died))
	}
	// Every partition b got from a came with a's last mark (those released by a to
	// make room for b, and those taken after a's leases expired).
	waitFor(t, 4*testTTL, "b reporting all as acquired", func() bool { got, _ := recB.net(); return slices.Equal(got, all()) }, nil)
	_, taken := recB.net()
	for _, tk := range taken {
		if tk.Mark != 42 {
			t.Fatalf("partition %d reached b with mark %d, want 42", tk.Partition, tk.Mark)
		}
	}
}

func TestMarkAtReleaseReachesNextOwner(t *testing.T) {
	coll := storagetest.NewDB(t).Collection("leases")
	var mark atomic.Int64
	mark.Store(42)
	a, recA := newManager(t, coll, "a", mark.Load)
	// The release happens after the Lost report, so a mark moved on while handling
	// the loss is the one the next owner reads.
	recA.holder.Changed = append(recA.holder.Changed, func(_ context.Context, c Change) {
		if len(c.Lost) > 0 {
			mark.Store(77)
		}
	})
	start(t, recA)
	closeManager(t, a)
	for p, d := range leases(t, coll) {
		if d.Mark != 77 {
			t.Fatalf("stored mark of partition %d = %d, want 77", p, d.Mark)
		}
	}

	_, recB := newManager(t, coll, "b", nil)
	start(t, recB)
	owned, taken := recB.net()
	if !slices.Equal(owned, all()) {
		t.Fatalf("b acquired %v at Start, want all", owned)
	}
	for _, tk := range taken {
		if tk.Mark != 77 {
			t.Fatalf("partition %d reached b with mark %d, want 77", tk.Partition, tk.Mark)
		}
	}
}

func TestLeaseEndsOnLocalClockAndIsTakenAgain(t *testing.T) {
	coll := storagetest.NewDB(t).Collection("leases")
	var offset atomic.Int64 // added to the real clock
	m := New(Config{Collection: coll, Replica: "a", Partitions: testPartitions, TTL: testTTL,
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	rec := &recorder{m: m}
	rec.holder = Holder{Changed: []func(context.Context, Change){rec.record}}
	t.Cleanup(func() { rec.check(t) })
	start(t, rec)

	// Jumping the clock past TTL − TTL/4 after the last renewal ends every lease at
	// once, without waiting for the loop.
	offset.Store(int64(testTTL))
	if got := m.Owned(); len(got) != 0 {
		t.Fatalf("still owns %v after its deadline", got)
	}
	waitFor(t, 4*testTTL, "all reported lost", func() bool { return len(rec.lost()) == testPartitions }, nil)
	// The stored leases have expired on the new clock too, so the next renewal takes
	// them again, reported as acquired.
	waitFor(t, 4*testTTL, "all taken again", func() bool {
		got, _ := rec.net()
		return slices.Equal(got, all()) && slices.Equal(m.Owned(), all())
	}, nil)
}

func TestStoreDownLosesPartitionsByDeadline(t *testing.T) {
	name := storagetest.DBName(t)
	client, err := mongo.Connect(options.Client().ApplyURI(storagetest.URI(t)).SetServerSelectionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	coll := client.Database(name).Collection("leases")
	a, rec := newManager(t, coll, "a", nil)
	start(t, rec)
	if len(a.Owned()) != testPartitions {
		t.Fatalf("owns %d partitions, want %d", len(a.Owned()), testPartitions)
	}

	if err := client.Disconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The last successful renewal started before the disconnection, so every lease ends
	// at most TTL − TTL/4 after it; allow a few renewal periods for a loaded machine.
	took := waitFor(t, 5*testTTL, "all lost", func() bool { return len(rec.lost()) == testPartitions }, nil)
	t.Logf("lost all %v after the store went away", took)
	if limit := testTTL + testTTL/3; took > limit {
		t.Errorf("lost after %v, want within %v", took, limit)
	}
	if got := a.Owned(); len(got) != 0 {
		t.Fatalf("still owns %v with the store gone", got)
	}
}
