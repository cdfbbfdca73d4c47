package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// Markers around this harness's section of BENCHMARKS.md. Other harnesses keep their
// own sections between their own markers; writing replaces only this one.
const (
	markStart = "<!-- ingest:start -->"
	markEnd   = "<!-- ingest:end -->"
)

// report is one run's results.
type report struct {
	opts     settings
	when     time.Time
	machine  machine
	work     *workload
	goodwill *result
	naive    *result
	raw      *result
	floor    *result // the naive handler storing nothing
	// goodwillX, projX and floorX are the goodwill column and the floor with the load
	// generator in another process: their CPU is the serving process's alone.
	goodwillX *result
	projX     *projection
	floorX    *result
	info      []*result // informational rows
	// projAlone is the projector-alone row, if run (also in info).
	projAlone *result
	proj      *projection
	ops       []opCost

	loadBefore, loadAfter string // /proc/loadavg: the machine may be shared
}

// loadAvg returns the 1-, 5- and 15-minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

type machine struct {
	CPUs   int
	Model  string
	Memory string
	Go     string
	OSArch string
}

// String describes the machine in one line.
func (m machine) String() string {
	return fmt.Sprintf("%d CPUs (`nproc`), %s, %s memory, %s, %s", m.CPUs, m.Model, m.Memory, m.Go, m.OSArch)
}

func thisMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Model: "unknown", Memory: "unknown", Go: runtime.Version(), OSArch: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int64
			if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
				m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				break
			}
		}
		f.Close()
	}
	return m
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func secMS(s float64) string {
	if math.IsNaN(s) {
		return "–"
	}
	return fmt.Sprintf("%.0f ms", s*1000)
}

// lagQ renders a quantile of p's lag histogram, saying so when it is past the top
// bucket (the histogram cannot tell how far).
func (p *projection) lagQ(q float64) string {
	h := p.Lag
	v := h.Quantile(q)
	if h.Beyond(q) {
		return "> " + secMS(v) + " (past the top bucket)"
	}
	return secMS(v)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ratios of goodwill's throughput.
func (r *report) vsRaw() float64   { return r.goodwill.Throughput() / r.raw.Throughput() }
func (r *report) vsNaive() float64 { return r.goodwill.Throughput() / r.naive.Throughput() }

// target is one of the benchmark's targets.
type target struct {
	What     string
	Measured string
	Met      bool
}

func (r *report) targets() []target {
	p99 := r.goodwill.Quantile(0.99)
	return []target{
		{"ingest ≥ 50% of the raw InsertMany ceiling", fmt.Sprintf("%.0f%%", 100*r.vsRaw()), r.vsRaw() >= 0.5},
		{"ingest ≥ 3× the naive InsertOne baseline", fmt.Sprintf("%.2f×", r.vsNaive()), r.vsNaive() >= 3},
		{fmt.Sprintf("p99 ≤ 25 ms at %d concurrent clients", r.opts.clients), ms(p99) + " ms", p99 <= 25*time.Millisecond},
		{"every request sent and answered 201", fmt.Sprintf("%s of %s sent, %d errors", thousands(r.goodwill.Count), thousands(len(r.work.bodies)), r.goodwill.Errors),
			r.goodwill.Errors == 0 && r.goodwill.Count == len(r.work.bodies)},
		{"projector lag reported; derived state within 1 s of the 201: histogram p99, and drain after the last 201",
			r.proj.lagQ(0.99) + fmt.Sprintf("; drain %s ms", ms(r.proj.Drain)), caughtUpInTime(r.proj)},
	}
}

// caughtUpInTime: derived state was within a second of the 201s, by the lag
// histogram's p99 and by the drain after the last 201.
func caughtUpInTime(p *projection) bool {
	lag := p.Lag.Quantile(0.99)
	return p.CaughtUp && !math.IsNaN(lag) && lag <= 1 && !p.Lag.Beyond(0.99) && p.Drain <= time.Second
}

// Targets of the service measured alone (the load generator in another process).
const (
	targetServiceCPU = 160 * time.Microsecond // CPU per request, until derived state caught up
	targetP99        = 25 * time.Millisecond
)

// perRequest is d per request of res.
func perRequest(d time.Duration, res *result) time.Duration {
	return d / time.Duration(max(res.Count, 1))
}

// serviceTargets are the targets of the run with the load generator in another
// process; nil when it was not run.
func (r *report) serviceTargets() []target {
	g, p := r.goodwillX, r.projX
	if g == nil || p == nil {
		return nil
	}
	cpu := perRequest(p.CPU, g)
	p99 := g.Quantile(0.99)
	return []target{
		{fmt.Sprintf("service CPU ≤ %s ms per request under live ingest, load generator in another process (its process's own CPU from the first request until derived state caught up)", ms(targetServiceCPU)),
			fmt.Sprintf("%s ms (%s ms while loading)", ms3(cpu), ms3(perRequest(g.CPU, g))), cpu <= targetServiceCPU && p.CaughtUp},
		{fmt.Sprintf("p99 ≤ %d ms at %d concurrent clients, load generator in another process", targetP99.Milliseconds(), r.opts.clients), ms(p99) + " ms", p99 <= targetP99},
		{"the same run: every request sent and answered 201, derived state within 1 s of the 201 (lag p99; drain after the last 201)",
			fmt.Sprintf("%s of %s sent, %d errors; %s; drain %s ms", thousands(g.Count), thousands(len(r.work.bodies)), g.Errors, p.lagQ(0.99), ms(p.Drain)),
			g.Errors == 0 && g.Count == len(r.work.bodies) && caughtUpInTime(p)},
	}
}

// ms3 renders d in milliseconds with three decimals.
func ms3(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Nanoseconds())/1e6) }

// serviceBound says, from this run's own rows, what CPU per request a service doing
// only the HTTP floor (its serving side), the raw InsertMany and the projector alone
// would need, against the target and the measured figure. "" when a row it needs was
// not run.
func (r *report) serviceBound() string {
	if r.floorX == nil || r.goodwillX == nil || r.projX == nil || r.projAlone == nil || r.raw.CPU <= 0 || r.projAlone.CPU <= 0 {
		return ""
	}
	per := func(res *result) time.Duration { return perRequest(res.CPU, res) }
	f, s, p := per(r.floorX), per(r.raw), per(r.projAlone)
	sum := f + s + p
	got := perRequest(r.projX.CPU, r.goodwillX)
	verdict := fmt.Sprintf("**%.2f× the target of %s µs: the target cannot be met on this machine** while the store runs in "+
		"the service's process, whatever the rest of the service costs", float64(sum)/float64(targetServiceCPU), us(targetServiceCPU))
	if sum <= targetServiceCPU {
		verdict = fmt.Sprintf("within the target of %s µs, which leaves %s µs per request for the rest",
			us(targetServiceCPU), us(targetServiceCPU-sum))
	}
	return fmt.Sprintf("The service alone, with the load generator in another process: its process used %s µs of CPU per "+
		"request from the first request until derived state caught up (the load generator %s µs per request, in its own "+
		"process). A bound from this run's own rows, the service's side only: the HTTP floor's serving side (the naive "+
		"handler storing nothing, its load generator in another process) costs %s µs per request, the raw InsertMany %s µs "+
		"per document and the projector alone %s µs per interaction (the store's side of both included: it runs in the "+
		"same process); a service doing only these three per request needs %s µs, %s. The measured %s µs less these "+
		"three, %s µs, is what the rest costs: auth, logging and metrics, the group-commit writer, the projector's "+
		"smaller batches on the live path, the SLA engine and the scores.",
		us(got), us(perRequest(r.goodwillX.GeneratorCPU, r.goodwillX)), us(f), us(s), us(p), us(sum), verdict, us(got), us(got-sum)) +
		r.latencyBound(got)
}

// latencyBound says what the CPU per request implies for the latency of clients that
// each wait for their answer before sending again: by Little's law, their mean
// latency is at least clients × CPU per request ÷ CPUs, with every CPU the service's.
func (r *report) latencyBound(cpu time.Duration) string {
	clients, cpus := max(r.opts.clients, 1), max(r.machine.CPUs, 1)
	least := time.Duration(int64(cpu) * int64(clients) / int64(cpus))
	at := time.Duration(int64(targetServiceCPU) * int64(clients) / int64(cpus))
	return fmt.Sprintf(" And latency: %d clients that each wait for their answer keep %d requests in the service, so by "+
		"Little's law the mean latency is at least %d × %s µs ÷ %d CPUs = %s ms even with every CPU the service's "+
		"(the p99 is higher, and higher still while other work shares the cores); at the target's %s µs it would be "+
		"%s ms.", clients, clients, clients, us(cpu), cpus, ms(least), us(targetServiceCPU), ms(at))
}

// us renders d in whole microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d.Nanoseconds())/1e3) }

// bound is what this run's own rows say of any service that answers over HTTP,
// stores each interaction and projects it: the sum of their CPU per item spread over
// every core. "" when a row it needs was not run.
func (r *report) bound() string {
	if r.floor == nil || r.projAlone == nil || r.floor.CPU <= 0 || r.raw.CPU <= 0 || r.projAlone.CPU <= 0 {
		return ""
	}
	per := func(res *result) float64 { return res.CPU.Seconds() / float64(max(res.Count, 1)) }
	f, s, p := per(r.floor), per(r.raw), per(r.projAlone)
	cpus := float64(r.machine.CPUs)
	most, free := cpus/(f+s+p), cpus/(f+s)
	return fmt.Sprintf("A bound from this run's own rows, in CPU per item (the whole process, its garbage collector "+
		"included): the HTTP floor costs %.0f µs per request, the raw ceiling's InsertMany %.0f µs per document, and "+
		"the projector alone %.0f µs per interaction. A service doing only these three — no auth, no logging, no SLA "+
		"engine or scores — with all %d CPUs busy all the time answers at most **%s requests/s: %.0f%% of the raw "+
		"ceiling and %.2f× the naive column**; with derived state costing nothing at all, %s requests/s (%.0f%%, "+
		"%.2f×). A target beyond these bounds cannot be met on this machine by grouping writes: the store is in the "+
		"process, so each round trip to it is CPU on the same cores as the HTTP side, whereas the ratios assume a "+
		"store whose round trip costs more waiting than CPU (MongoDB over a network, `w:majority`), which group "+
		"commit shares between requests.",
		1e6*f, 1e6*s, 1e6*p, r.machine.CPUs,
		thousands(int(math.Round(most))), 100*most/max(r.raw.Throughput(), 1), most/max(r.naive.Throughput(), 1),
		thousands(int(math.Round(free))), 100*free/max(r.raw.Throughput(), 1), free/max(r.naive.Throughput(), 1))
}

func (r *report) row(b *strings.Builder, name string, res *result, latency string) {
	notes := res.Notes
	if res.Errors > 0 {
		notes = append([]string{fmt.Sprintf("%d errors, first: %s", res.Errors, res.FirstError)}, notes...)
	}
	fmt.Fprintf(b, "| %s | %s %s | %s | %s | %s | %s |\n", name, thousands(res.Count), res.Unit,
		thousands(int(math.Round(res.Throughput()))), ms(res.Quantile(0.5)), ms(res.Quantile(0.99)),
		strings.Join(append([]string{latency}, notes...), "; "))
}

// section renders this harness's section of BENCHMARKS.md, markers included.
func (r *report) section() string {
	var b strings.Builder
	m := r.machine
	b.WriteString(markStart + "\n")
	b.WriteString("## Ingest: group commit against per-request InsertOne and the raw InsertMany ceiling\n\n")
	fmt.Fprintf(&b, "Run %s UTC by `go run ./cmd/goodwill-bench%s` (`make bench`).\n\n", r.when.UTC().Format("2006-01-02 15:04"), r.opts.flagsString())
	fmt.Fprintf(&b, "Machine: %d CPUs (`nproc`), %s, %s memory, %s, %s; load average %s before the run, %s after "+
		"(other work on the machine competes for the same cores).\n\n", m.CPUs, m.Model, m.Memory, m.Go, m.OSArch, r.loadBefore, r.loadAfter)
	kinds := make([]string, 0, len(r.work.kinds))
	for _, k := range []string{"application_received", "message outbound", "message inbound", "stage_changed"} {
		kinds = append(kinds, fmt.Sprintf("%s %s", thousands(r.work.kinds[k]), k))
	}
	fmt.Fprintf(&b, "Workload: %s single-interaction `POST /v1/interactions` from %d concurrent keep-alive "+
		"clients over loopback (a Go load generator in the same process; the rows marked so, from one in another process, the benchmark's own executable started again), over %s distinct applications "+
		"(%s); every application starts with `application_received` carrying the candidate's name, "+
		"email and phone and the job; a third of the inbound messages carry the candidate's email; "+
		"every `external_id` is unique. %s The embedded store (FerretDB v1 on SQLite, in-process, with the same settings "+
		"for every column): goodwill on its own, as `goodwill serve` runs without `GOODWILL_MONGODB_URI`; the other "+
		"columns on another, a separate database each, each `interactions` collection of the shape goodwill keeps on this store (on FerretDB: the `_id` index only, as goodwill creates no secondary index there). The "+
		"service runs as `goodwill serve` does (Info logging, /metrics, auth on every request) with "+
		"its projector applying to the per-application documents meanwhile. Latency is per request, "+
		"from sending to the end of the response, as the client sees it; for the raw ceiling, per "+
		"InsertMany of %d.\n\n",
		thousands(len(r.work.bodies)), r.opts.clients, thousands(r.work.apps), strings.Join(kinds, ", "), r.work.timing(), r.opts.batch)

	b.WriteString("| column | requests / docs | throughput /s | p50 ms | p99 ms | notes |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|\n")
	bs := r.proj.Batch
	r.row(&b, "**goodwill** (group commit, projector running)", r.goodwill,
		fmt.Sprintf("%s InsertMany batches, mean %.1f interactions, mean %.1f ms each", thousands(int(bs.Count)), bs.Mean(), 1000*r.proj.BatchSeconds.Mean()))
	if g, p := r.goodwillX, r.projX; g != nil && p != nil {
		r.row(&b, "**goodwill**, load generator in another process", g,
			fmt.Sprintf("the service's process: **%s ms of CPU per request** until derived state caught up (%s ms while loading), "+
				"%.1f KB of Go heap allocated per request, %d garbage collections; "+
				"the load generator %s ms per request; %s InsertMany batches, mean %.1f interactions",
				ms3(perRequest(p.CPU, g)), ms3(perRequest(g.CPU, g)), float64(p.Allocated)/1024/float64(max(g.Count, 1)), p.GCs,
				ms3(perRequest(g.GeneratorCPU, g)), thousands(int(p.Batch.Count)), p.Batch.Mean()))
	}
	r.row(&b, "naive (one InsertOne per request)", r.naive, "same decoding and validation (`interactions.ParseWrite`), no auth, no projector")
	r.row(&b, fmt.Sprintf("raw InsertMany ceiling (%d per batch, sequential)", r.opts.batch), r.raw, "no HTTP; latency per batch")
	if r.floor != nil {
		r.row(&b, "_(info)_ HTTP floor: the naive handler storing nothing", r.floor, "the same load generator, HTTP server and decoding; no store, no auth")
	}
	if f := r.floorX; f != nil {
		r.row(&b, "_(info)_ HTTP floor, load generator in another process", f,
			fmt.Sprintf("the serving process: %s ms of CPU per request; the load generator %s ms per request",
				ms3(perRequest(f.CPU, f)), ms3(perRequest(f.GeneratorCPU, f))))
	}
	for _, in := range r.info {
		r.row(&b, "_(info)_ "+in.Column, in, "latency per batch")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Ratios: goodwill ÷ raw ceiling = **%.2f**; goodwill ÷ naive = **%.2f×**.\n\n", r.vsRaw(), r.vsNaive())
	if r.proj.CaughtUp {
		fmt.Fprintf(&b, "Projector lag: every application document reflected all %s interactions "+
			"(checked by summing `event_count` in the applications collection; %d/%d sampled "+
			"timelines complete through the API) **%s ms after the last 201**. ",
			thousands(r.goodwill.Count-r.goodwill.Errors), r.proj.Timelines, r.proj.TimelinesOf, ms(r.proj.Drain))
	} else {
		fmt.Fprintf(&b, "Projector lag: **the projector had not caught up %s s after the last 201** (the drain "+
			"timeout): it had applied %s of %s interactions, %.0f per second since the load began. ",
			fmt.Sprintf("%.0f", r.proj.Drain.Seconds()), thousands(r.proj.Applied), thousands(r.goodwill.Count-r.goodwill.Errors),
			float64(r.proj.Applied)/(r.goodwill.Elapsed+r.proj.Drain).Seconds())
	}
	fmt.Fprintf(&b, "`goodwill_projector_lag_seconds` over the run (from `/metrics`, %s observations; it measures from an interaction's "+
		"receipt, before its 201, to the end of the Apply that stored it and handed it to the SLA engine and the scores, so it "+
		"is stricter than the promise, which counts from the 201): p50 %s, p99 %s, mean %s.\n\n",
		thousands(int(r.proj.Lag.Count)), r.proj.lagQ(0.5), r.proj.lagQ(0.99), secMS(r.proj.Lag.Mean()))
	fmt.Fprintf(&b, "Where the time went: the process (service, embedded store and load generator alike) used %.1f s of CPU "+
		"from the first request until the drain ended, %s ms per request (%s ms per request while loading; "+
		"the naive column %s ms). The projector spent %.1f s storing derived state and %.1f s handing it to its "+
		"consumers (the SLA engine, which records each transition due, and the scores roll-ups).\n\n",
		r.proj.CPU.Seconds(), ms(perRequest(r.proj.CPU, r.goodwill)), ms(perRequest(r.goodwill.CPU, r.goodwill)),
		ms(perRequest(r.naive.CPU, r.naive)), r.proj.StoreSeconds, r.proj.ConsumerSeconds)
	if bound := r.bound(); bound != "" {
		b.WriteString(bound + "\n\n")
	}
	if bound := r.serviceBound(); bound != "" {
		b.WriteString(bound + "\n\n")
	}
	b.WriteString("| target | measured | |\n|---|---|---|\n")
	for _, t := range append(r.targets(), r.serviceTargets()...) {
		met := "met"
		if !t.Met {
			met = "**not met**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.What, t.Measured, met)
	}
	if len(r.ops) > 0 {
		fmt.Fprintf(&b, "\nStore primitives, one call at a time, on a collection shaped like `applications` (two secondary "+
			"indexes) holding %s small documents — what each round trip of the projector costs on this store. "+
			"The embedded store is FerretDB v1.24.0 with the patches in third_party/ferretdb/PATCHES.md: reads, "+
			"updates and deletes by `_id` use its index, the updates of one request by `_id` share one transaction, "+
			"a replacement by `_id` is written without reading the stored document, and documents are decoded in one pass:\n\n", thousands(r.work.apps))
		b.WriteString("| operation | calls | p50 ms | p99 ms | mean ms |\n|---|---:|---:|---:|---:|\n")
		for _, o := range r.ops {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", o.Op, o.N, ms(o.P50), ms(o.P99), ms(o.Mean))
		}
	}
	b.WriteString(markEnd + "\n")
	return b.String()
}

// header starts a new BENCHMARKS.md.
const header = `# goodwill benchmarks

Written by ` + "`make bench`" + `. Each harness owns a section between its own
` + "`<!-- name:start -->`" + ` and ` + "`<!-- name:end -->`" + ` markers and rewrites only that
section, so the sections of several harnesses live side by side.

`

// writeSection puts the section called name (between its "<!-- name:start -->" and
// "<!-- name:end -->" markers) into the file at path: in place of the previous one, at
// the end when there is none, or in a new file.
func writeSection(path, name, section string) error {
	markStart, markEnd := "<!-- "+name+":start -->", "<!-- "+name+":end -->"
	old, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return os.WriteFile(path, []byte(header+section), 0o644)
	case err != nil:
		return err
	}
	s := string(old)
	i := strings.Index(s, markStart)
	j := strings.Index(s, markEnd)
	if i >= 0 && j > i {
		rest := strings.TrimPrefix(s[j+len(markEnd):], "\n")
		return os.WriteFile(path, []byte(s[:i]+section+rest), 0o644)
	}
	if s != "" && !strings.HasSuffix(s, "\n\n") {
		s = strings.TrimRight(s, "\n") + "\n\n"
	}
	return os.WriteFile(path, []byte(s+section), 0o644)
}

// publish ends the progress line of a section begun at started with how long it took,
// prints section and note (if any) to progress, and writes section into o.out (if
// set) between name's markers.
func publish(o settings, progress io.Writer, started time.Time, name, section, note string) error {
	fmt.Fprintf(progress, " %.1f s\n", time.Since(started).Seconds())
	fmt.Fprintln(progress)
	fmt.Fprint(progress, section)
	fmt.Fprint(progress, note)
	if o.out != "" {
		return writeSection(o.out, name, section)
	}
	return nil
}
