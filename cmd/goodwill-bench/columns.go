package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/storage"
)

// adminKey is the bootstrap key of the goodwill column's server.
const adminKey = "gw_bench_admin_key_0123456789abcdef0123456789"

// bench holds what the columns share: the store, the workload and the options.
type bench struct {
	opts  settings
	store *storage.Store
	runID string
	work  *workload
	docs  []interactions.Interaction
	log   io.Writer // progress
	// indexes: whether collections get goodwill's secondary indexes, as goodwill
	// creates them on this store (not on FerretDB).
	indexes bool
}

// database returns a fresh database of the store for one column, with the indexes
// goodwill keeps on its interactions collection, so that every column writes into a
// collection of the same shape.
func (b *bench) database(ctx context.Context, column string, indexes bool) (*mongo.Database, error) {
	db := b.store.Client.Database("bench_" + column + "_" + b.runID)
	if indexes {
		if err := interactions.NewStore(db).EnsureIndexes(ctx); err != nil {
			return nil, err
		}
	}
	return db, nil
}

// runRaw inserts the workload's documents with sequential unordered InsertMany calls of
// opts.batch documents: the store's ceiling. Latencies are per batch.
func (b *bench) runRaw(ctx context.Context, column string, indexes bool) (*result, error) {
	db, err := b.database(ctx, column, indexes)
	if err != nil {
		return nil, err
	}
	coll := db.Collection("interactions")
	r := &result{Count: len(b.docs), Unit: "docs"}
	cpu := cpuTime()
	start := time.Now()
	for chunk := range slices.Chunk(b.docs, b.opts.batch) {
		t0 := time.Now()
		if _, err := coll.InsertMany(ctx, chunk, options.InsertMany().SetOrdered(false)); err != nil {
			return nil, fmt.Errorf("raw InsertMany: %w", err)
		}
		r.Latencies = append(r.Latencies, time.Since(t0))
	}
	r.Elapsed = time.Since(start)
	r.CPU = cpuTime() - cpu
	return r, nil
}

// runProjector applies the workload's documents with the projector alone (no HTTP, no
// writer), in sequential batches of opts.batch: what derived state costs per item.
func (b *bench) runProjector(ctx context.Context, n int) (*result, error) {
	db, err := b.database(ctx, "proj", b.indexes)
	if err != nil {
		return nil, err
	}
	st := interactions.NewStore(db)
	guard, err := interactions.NewTombstones(ctx, st)
	if err != nil {
		return nil, err
	}
	p := interactions.NewProjector(interactions.ProjectorConfig{Store: st, Guard: guard, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now})
	docs := b.docs[:n]
	apps := map[string]bool{}
	for _, d := range docs {
		apps[d.ApplicationID] = true
	}
	r := &result{Count: n, Unit: "docs", apps: len(apps)}
	cpu := cpuTime()
	start := time.Now()
	for chunk := range slices.Chunk(docs, b.opts.batch) {
		chunk = slices.Clone(chunk) // Apply strips personal data in place
		t0 := time.Now()
		if err := p.Apply(ctx, chunk); err != nil {
			return nil, fmt.Errorf("projector Apply: %w", err)
		}
		r.Latencies = append(r.Latencies, time.Since(t0))
	}
	r.Elapsed = time.Since(start)
	r.CPU = cpuTime() - cpu
	if err := checkApplications(ctx, db, n, len(apps)); err != nil {
		return nil, err
	}
	return r, nil
}

// naiveHandler is the baseline: it decodes and validates a POST /v1/interactions body
// as goodwill does and stores each interaction with its own InsertOne. With a nil
// collection it stores nothing: the floor of any HTTP service on this machine.
func naiveHandler(coll *mongo.Collection) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/interactions" {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, service.MaxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		items, batch, err := interactions.ParseWrite(body, r.Header.Get("Idempotency-Key"), time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, it := range items {
			if coll == nil {
				break
			}
			if _, err := coll.InsertOne(r.Context(), it); err != nil && !mongo.IsDuplicateKeyError(err) {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		var out any = items[0]
		if batch {
			out = map[string]any{"interactions": items}
		}
		_ = json.NewEncoder(w).Encode(out)
	})
}

// startService starts goodwill in this process with the given GOODWILL_* variables
// and opts, logging at Info level as in production, to nowhere, so that logging
// costs what it does. It returns once the service is ready and detecting (its SLA
// engine has every open clock in its schedule). closeService stops it.
func startService(ctx context.Context, vars map[string]string, opts service.Options) (s *service.Server, closeService func(), err error) {
	cfg, err := service.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err = service.New(ctx, cfg, log, opts)
	if err != nil {
		return nil, nil, err
	}
	for !s.Detecting() {
		if ctx.Err() != nil {
			_ = s.Close(context.Background())
			return nil, nil, ctx.Err()
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s, func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.Close(cctx)
	}, nil
}

// startServing starts goodwill (startService) and serves its API on a loopback port
// (serve) at url; stop shuts both down.
func startServing(ctx context.Context, vars map[string]string, opts service.Options) (s *service.Server, url string, stop func(), err error) {
	s, closeService, err := startService(ctx, vars, opts)
	if err != nil {
		return nil, "", nil, err
	}
	url, stopServing, err := serve(s.Handler())
	if err != nil {
		closeService()
		return nil, "", nil, err
	}
	return s, url, func() { stopServing(); closeService() }, nil
}

// serve runs h on a loopback port until the returned stop is called.
func serve(h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// runNaive drives the naive handler.
func (b *bench) runNaive(ctx context.Context) (*result, error) {
	db, err := b.database(ctx, "naive", b.indexes)
	if err != nil {
		return nil, err
	}
	r, err := b.driveNaive(ctx, db.Collection("interactions"))
	if err != nil {
		return nil, err
	}
	n, err := db.Collection("interactions").EstimatedDocumentCount(ctx)
	if err == nil && int(n) != len(b.work.bodies) {
		r.Notes = append(r.Notes, fmt.Sprintf("stored %d of %d", n, len(b.work.bodies)))
	}
	return r, nil
}

// runFloor drives the naive handler storing nothing: what the load generator, the HTTP
// round trip and the decoding cost on their own. external puts the load generator in
// another process: then the CPU is the serving side's alone.
func (b *bench) runFloor(ctx context.Context, external bool) (*result, error) {
	if external {
		url, stop, err := serve(naiveHandler(nil))
		if err != nil {
			return nil, err
		}
		defer stop()
		r, _, err := driveElsewhere(ctx, url+"/v1/interactions", "", b.work.bodies, b.opts.clients, http.StatusCreated, b.opts.loadTimeout)
		return r, err
	}
	return b.driveNaive(ctx, nil)
}

// driveNaive serves the naive handler over coll and drives it with the workload.
func (b *bench) driveNaive(ctx context.Context, coll *mongo.Collection) (*result, error) {
	url, stop, err := serve(naiveHandler(coll))
	if err != nil {
		return nil, err
	}
	defer stop()
	client := newClient(b.opts.clients)
	defer client.CloseIdleConnections()
	cpu := cpuTime()
	r := drive(ctx, client, url+"/v1/interactions", "", b.work.bodies, b.opts.clients, http.StatusCreated, b.opts.loadTimeout)
	r.CPU = cpuTime() - cpu
	return r, nil
}

// projection is what the goodwill column measured of derived state.
type projection struct {
	CaughtUp     bool          // derived state reflected every interaction within the drain timeout
	Applied      int           // interactions the projector applied by then
	Drain        time.Duration // from the last 201 until derived state reflected every interaction (or the timeout)
	Applications int           // application documents then
	Lag          histogram     // goodwill_projector_lag_seconds observed during the run
	Batch        histogram     // goodwill_write_batch_size
	BatchSeconds histogram     // goodwill_write_batch_seconds
	Timelines    int           // sampled timelines that matched
	TimelinesOf  int
	// Seconds the projector spent storing derived state, and handing it to its
	// consumers (the SLA engine, the scores book), over the run.
	StoreSeconds, ConsumerSeconds float64
	CPU                           time.Duration // process CPU from the first request until the drain ended
	// Allocated is the Go heap this process allocated meanwhile, GCs its garbage
	// collections: with the load generator in another process, the service's alone.
	Allocated uint64
	GCs       uint32
}

// runGoodwill starts the service on its own embedded store, as `goodwill serve` runs
// without GOODWILL_MONGODB_URI (a store named by URI is taken as shared by several
// replicas), serves it on a loopback port and drives it; then it waits for the
// projector to catch up. external drives it from a load generator in another process
// (driveElsewhere), so that this process's CPU is the service's own; only that run is
// profiled (-cpuprofile).
func (b *bench) runGoodwill(ctx context.Context, external bool) (*result, *projection, error) {
	dbName := "bench_goodwill_" + b.runID
	if external {
		dbName = "bench_goodwillx_" + b.runID
	}
	dir, err := os.MkdirTemp("", "goodwill-bench-ingest-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	vars := map[string]string{
		"GOODWILL_DATA_DIR":      dir,
		"GOODWILL_DB":            dbName,
		"GOODWILL_BOOTSTRAP_KEY": adminKey,
		"GOODWILL_ADDR":          "127.0.0.1:0",
	}
	s, closeService, err := startService(ctx, vars, service.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("start goodwill: %w", err)
	}
	defer closeService()
	// The bench reads the service's store through the socket it listens on.
	own, err := mongo.Connect(options.Client().ApplyURI(s.StoreURI()))
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = own.Disconnect(context.Background()) }()
	url, stop, err := serve(s.Handler())
	if err != nil {
		return nil, nil, err
	}
	defer stop()
	client := newClient(b.opts.clients)
	defer client.CloseIdleConnections()
	before, err := scrape(ctx, client, url+"/metrics")
	if err != nil {
		return nil, nil, err
	}

	profile := b.opts.cpuprofile != "" && external
	if profile {
		f, err := os.Create(b.opts.cpuprofile)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, nil, err
		}
		defer pprof.StopCPUProfile()
	}
	if external && b.opts.memprofile != "" {
		if err := writeAllocs(b.opts.memprofile + ".base"); err != nil {
			return nil, nil, err
		}
	}
	var mem0 runtime.MemStats
	runtime.ReadMemStats(&mem0)
	cpu := cpuTime()
	var r *result
	var loadEnd time.Time
	if external {
		if r, loadEnd, err = driveElsewhere(ctx, url+"/v1/interactions", adminKey, b.work.bodies, b.opts.clients, http.StatusCreated, b.opts.loadTimeout); err != nil {
			return nil, nil, err
		}
	} else {
		start := time.Now()
		r = drive(ctx, client, url+"/v1/interactions", adminKey, b.work.bodies, b.opts.clients, http.StatusCreated, b.opts.loadTimeout)
		loadEnd = start.Add(r.Elapsed)
		r.CPU = cpuTime() - cpu
	}

	// Projector lag: until the projector has applied every interaction …
	p := &projection{CaughtUp: true}
	sent := b.work.bodies[:r.Count]
	n := float64(r.Count - r.Errors)
	apps := b.work.appsIn(sent)
	deadline := time.Now().Add(b.opts.drainTimeout)
	var caughtUp time.Time
	// The CPU and the heap are counted until then too, not through the check below,
	// which is the benchmark's own work (in the service's process, it reads the store).
	var cpuAt time.Duration
	var mem1 runtime.MemStats
	stopCounting := func() {
		cpuAt = cpuTime()
		runtime.ReadMemStats(&mem1)
		if external && b.opts.memprofile != "" {
			if err := writeAllocs(b.opts.memprofile); err != nil {
				r.Notes = append(r.Notes, "memprofile: "+err.Error())
			}
		}
	}
	for p.CaughtUp {
		now, err := scrape(ctx, client, url+"/metrics")
		if err != nil {
			return nil, nil, err
		}
		p.Applied = int(now["goodwill_projector_applied_total"] - before["goodwill_projector_applied_total"])
		if float64(p.Applied) >= n {
			caughtUp = time.Now()
			stopCounting()
			break
		}
		if time.Now().After(deadline) {
			p.CaughtUp = false
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// … and the application documents say so. The projector counts an interaction
	// once it is stored and handed on, so the first check normally passes; the check
	// itself (a scan of every application) is not part of the drain, unless it has to
	// be repeated: then the drain ends when the passing check starts.
	db := own.Database(dbName)
	for first := true; p.CaughtUp; first = false {
		t, tCPU, tMem := time.Now(), cpuTime(), mem1
		runtime.ReadMemStats(&tMem)
		err := checkApplications(ctx, db, int(n), len(apps))
		if err == nil {
			if !first {
				caughtUp, cpuAt, mem1 = t, tCPU, tMem
			}
			break
		}
		if time.Now().After(deadline) {
			r.Notes = append(r.Notes, err.Error())
			p.CaughtUp = false
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !p.CaughtUp {
		caughtUp = time.Now() // the drain timeout
		stopCounting()
	}
	p.Drain = caughtUp.Sub(loadEnd)
	p.CPU = cpuAt - cpu
	p.Allocated, p.GCs = mem1.TotalAlloc-mem0.TotalAlloc, mem1.NumGC-mem0.NumGC
	if profile {
		pprof.StopCPUProfile()
	}
	p.Applications = len(apps)

	after, err := scrape(ctx, client, url+"/metrics")
	if err != nil {
		return nil, nil, err
	}
	d := after.sub(before)
	p.Lag = d.histogram("goodwill_projector_lag_seconds")
	p.Batch = d.histogram("goodwill_write_batch_size")
	p.BatchSeconds = d.histogram("goodwill_write_batch_seconds")
	p.StoreSeconds = d[`goodwill_projector_apply_seconds_sum{step="store"}`]
	p.ConsumerSeconds = d[`goodwill_projector_apply_seconds_sum{step="consumers"}`]

	// A sample of timelines through the API.
	ids := make([]string, 0, len(apps))
	for id := range apps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i := 0; p.CaughtUp && i < len(ids) && p.TimelinesOf < 5; i += max(1, len(ids)/5) {
		id := ids[i]
		p.TimelinesOf++
		got, err := timelineLen(ctx, client, url, id)
		if err != nil {
			r.Notes = append(r.Notes, "timeline "+id+": "+err.Error())
			continue
		}
		if got == apps[id] {
			p.Timelines++
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("timeline %s has %d interactions, want %d", id, got, apps[id]))
		}
	}
	return r, p, nil
}

// timelineLen returns how many interactions an application's timeline shows.
func timelineLen(ctx context.Context, client *http.Client, url, id string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/applications/"+id+"/timeline", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return 0, fmt.Errorf("status %d: %.200s", res.StatusCode, b)
	}
	var tl struct {
		Interactions []json.RawMessage `json:"interactions"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tl); err != nil {
		return 0, err
	}
	return len(tl.Interactions), nil
}

// checkApplications reads the applications collection directly: there must be apps
// documents whose event counts add up to n.
func checkApplications(ctx context.Context, db *mongo.Database, n, apps int) error {
	cur, err := db.Collection("applications").Aggregate(ctx, mongo.Pipeline{
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: nil},
			{Key: "events", Value: bson.D{{Key: "$sum", Value: "$event_count"}}},
		}}},
	})
	if err != nil {
		return err
	}
	var got []struct {
		Events int `bson:"events"`
	}
	if err := cur.All(ctx, &got); err != nil {
		return err
	}
	if len(got) == 0 {
		return errors.New("no applications derived")
	}
	count, err := db.Collection("applications").CountDocuments(ctx, bson.D{})
	if err != nil {
		return err
	}
	if got[0].Events != n || int(count) != apps {
		return fmt.Errorf("derived state has %d applications with %d events, want %d with %d", count, got[0].Events, apps, n)
	}
	return nil
}

// writeAllocs writes the process's allocations profile (since its start) to path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}
