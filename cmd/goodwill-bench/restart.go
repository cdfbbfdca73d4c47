package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/sla"
)

// The restart section: the real goodwill binary serving its own embedded store (as
// `goodwill serve` runs by default), n applications posted through the API, each with
// an open first_response clock; then the process is stopped cleanly (SIGTERM) and
// started again, and killed (SIGKILL) and started again. Each start is timed from the
// process's start to /readyz answering 200 (serving) and to its "detecting": true
// (ready and detecting). A binary whose /readyz has no "detecting" serves only once it
// detects: its first 200 counts for both.

// restartTimes is one start.
type restartTimes struct {
	serving   time.Duration // process start → /readyz 200
	detecting time.Duration // process start → /readyz "detecting": true
	open      int           // open clocks the engine watched once detecting
}

type restartResult struct {
	open         int
	post         time.Duration // posting the n applications until their clocks are open
	clean, crash restartTimes
	load         [2]string // load average before the first and after the last start
	binary       string    // given with -restart-binary, else "" (built from this tree)
	// A clock open before the clean stop and due just after the restart: how long
	// after the process started it was due, and how long after its due time its breach
	// was recorded (-1 when it was not).
	soonAfterStart, soonLate time.Duration
	scores                   *scoresRestart // the scores bench's store restarted, when measured
}

// soonTarget is the target of the policy of the clock due just after the restart: long
// enough for the clean stop to end before it.
const soonTarget = 30 * time.Second

// goodwillProcess is one `goodwill serve` process.
type goodwillProcess struct {
	cmd   *exec.Cmd
	url   string
	start time.Time
	exit  chan error
}

func startGoodwill(ctx context.Context, bin, dataDir, logFile string) (*goodwillProcess, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logs, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = append(os.Environ(), "GOODWILL_DATA_DIR="+dataDir, "GOODWILL_ADDR="+addr,
		"GOODWILL_BOOTSTRAP_KEY="+adminKey, "GOODWILL_ALERTS=log", "GOODWILL_MONGODB_URI=")
	cmd.Stdout, cmd.Stderr = logs, logs
	p := &goodwillProcess{cmd: cmd, url: "http://" + addr, exit: make(chan error, 1)}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, err
	}
	go func() { p.exit <- cmd.Wait(); logs.Close() }()
	return p, nil
}

// waitDetecting polls /readyz until it says detecting, and times it.
func (p *goodwillProcess) waitDetecting(ctx context.Context, limit time.Duration) (restartTimes, error) {
	var t restartTimes
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.exit:
			return t, fmt.Errorf("goodwill exited while starting: %v", err)
		case <-ctx.Done():
			return t, ctx.Err()
		default:
		}
		resp, err := client.Get(p.url + "/readyz")
		if err == nil {
			var body struct {
				Detecting *bool `json:"detecting"`
			}
			derr := json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && derr == nil {
				at := time.Since(p.start)
				if t.serving == 0 {
					t.serving = at
				}
				if body.Detecting == nil || *body.Detecting {
					t.detecting = at
					return t, nil
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return t, fmt.Errorf("not ready and detecting within %s", limit)
}

// stop ends the process with sig and waits for it.
func (p *goodwillProcess) stop(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return err
	}
	select {
	case <-p.exit:
		return nil
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("goodwill did not stop within a minute of %s", sig)
	}
}

// openClocks reads goodwill_sla_open_clocks from /metrics.
func (p *goodwillProcess) openClocks(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "goodwill_sla_open_clocks "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no goodwill_sla_open_clocks in /metrics: %v", sc.Err())
}

// buildGoodwill returns bin, or when it is "" a goodwill binary built from this tree
// into dir.
func buildGoodwill(ctx context.Context, bin, dir string, progress io.Writer) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "goodwill")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/goodwillhq/goodwill/cmd/goodwill")
	build.Stderr = progress
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build goodwill (run inside the module): %w", err)
	}
	return bin, nil
}

func runRestart(ctx context.Context, n int, bin string, progress io.Writer) (*restartResult, error) {
	dir, err := os.MkdirTemp("", "goodwill-restart-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	r := &restartResult{open: n, binary: bin}
	if bin, err = buildGoodwill(ctx, bin, dir, progress); err != nil {
		return nil, err
	}
	data, logFile := filepath.Join(dir, "data"), filepath.Join(dir, "goodwill.log")
	p, err := startGoodwill(ctx, bin, data, logFile)
	if err != nil {
		return nil, err
	}
	defer func() { _ = p.cmd.Process.Kill() }()
	if _, err := p.waitDetecting(ctx, time.Minute); err != nil {
		return nil, err
	}

	// The policy of the clock due just after the restart: 30 s, only for its job.
	api := &apiClient{url: p.url, http: &http.Client{Timeout: time.Minute}}
	err = api.do(ctx, http.MethodPut, "/v1/sla/policies/restart-soon", map[string]any{
		"name": "due just after the restart", "metric": "first_response", "target": soonTarget.String(), "calendar": "24x7",
		"warn_ratio": 1, "enabled": true, "scope": map[string]any{"job_ids": []string{"job-soon"}},
	})
	if err != nil {
		return nil, err
	}

	// n applications received now, each with an open first_response clock (the
	// default policy: days away), 1,000 per request.
	t := time.Now()
	occurred := time.Now().UTC().Format(time.RFC3339Nano)
	for lo := 0; lo < n; lo += 1000 {
		var items []map[string]any
		for i := lo; i < min(lo+1000, n); i++ {
			items = append(items, map[string]any{
				"application_id": fmt.Sprintf("rs-%06d", i), "candidate_id": fmt.Sprintf("c-%06d", i),
				"kind": "application_received", "occurred_at": occurred,
				"recruiter_id": fmt.Sprintf("r-%03d", i%500), "external_id": fmt.Sprintf("rs-%06d-received", i),
				"job_id": fmt.Sprintf("job-%02d", i%50),
			})
		}
		if err := api.do(ctx, http.MethodPost, "/v1/interactions", map[string]any{"interactions": items}); err != nil {
			return nil, err
		}
	}
	for {
		open, err := p.openClocks(ctx)
		if err != nil {
			return nil, err
		}
		if open >= n {
			break
		}
		if time.Since(t) > 10*time.Minute {
			return nil, fmt.Errorf("%d of %d clocks open after 10 minutes", open, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.post = time.Since(t)
	fmt.Fprintf(progress, " (posted in %.1f s)", r.post.Seconds())

	// One more application, whose clock (the 30 s policy) falls due 30 s from now:
	// the clean stop ends before, and the restart begins a second before it.
	soonAt := time.Now().UTC().Truncate(time.Millisecond)
	err = api.do(ctx, http.MethodPost, "/v1/interactions", map[string]any{"interactions": []map[string]any{{
		"application_id": "rs-soon", "candidate_id": "c-soon", "kind": "application_received",
		"occurred_at": soonAt.Format(time.RFC3339Nano), "recruiter_id": "r-000", "external_id": "rs-soon-received", "job_id": "job-soon",
	}}})
	if err != nil {
		return nil, err
	}
	for open := 0; open < n+1; time.Sleep(50 * time.Millisecond) {
		if open, err = p.openClocks(ctx); err != nil {
			return nil, err
		}
	}
	soonDue := soonAt.Add(soonTarget)

	r.load[0] = loadAvg()
	for _, run := range []struct {
		sig  syscall.Signal
		into *restartTimes
	}{{syscall.SIGTERM, &r.clean}, {syscall.SIGKILL, &r.crash}} {
		if err := p.stop(run.sig); err != nil {
			return nil, err
		}
		if run.sig == syscall.SIGTERM {
			time.Sleep(time.Until(soonDue.Add(-time.Second)))
		}
		if p, err = startGoodwill(ctx, bin, data, logFile); err != nil {
			return nil, err
		}
		if run.sig == syscall.SIGTERM {
			r.soonAfterStart = soonDue.Sub(p.start)
		}
		if *run.into, err = p.waitDetecting(ctx, 5*time.Minute); err != nil {
			return nil, fmt.Errorf("after %s: %w (log: %s)", run.sig, err, logFile)
		}
		if run.into.open, err = p.openClocks(ctx); err != nil {
			return nil, err
		}
		run.into.open--                                      // the clock due just after the restart
		time.Sleep(time.Until(soonDue.Add(5 * time.Second))) // recorded before the kill
	}
	r.load[1] = loadAvg()
	if err := p.stop(syscall.SIGTERM); err != nil {
		return nil, err
	}
	r.soonLate, err = breachLateness(ctx, data, "rs-soon")
	return r, err
}

// breachLateness opens the stopped store in dir and returns how long after its due
// time the breach of the application's clock was recorded; -1 when it was not.
func breachLateness(ctx context.Context, dir, applicationID string) (time.Duration, error) {
	store, err := openReady(ctx, dir, "goodwill")
	if err != nil {
		return 0, err
	}
	defer store.Close(context.Background())
	var f sla.Fired
	err = store.DB.Collection("sla_transitions").FindOne(ctx, bson.M{"application_id": applicationID, "state": "breached"}).Decode(&f)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	return f.RecordedAt.Sub(f.At), nil
}

func restartSection(when time.Time, m machine, r *restartResult) string {
	var b strings.Builder
	b.WriteString("<!-- restart:start -->\n## Restart: ready and detecting with open clocks\n\n")
	fmt.Fprintf(&b, "Run %s by `go run ./cmd/goodwill-bench` (`make bench`).\n\nMachine: %s; load average %s "+
		"before the first restart, %s after the last (other work on the machine competes for the same cores).\n\n",
		when.UTC().Format("2006-01-02 15:04 MST"), m, r.load[0], r.load[1])
	built := "built from this tree"
	if r.binary != "" {
		built = "`" + r.binary + "`"
	}
	fmt.Fprintf(&b, "Workload: the `goodwill serve` binary (%s) on its own embedded store; %s applications "+
		"posted through `POST /v1/interactions` (1,000 per request; %.1f s until every clock was open), each with "+
		"an open `first_response` clock of the default policy. Then the process is stopped with SIGTERM and started "+
		"again, and killed with SIGKILL and started again. Each start is timed from the process's start to `/readyz` "+
		"answering 200 (serving) and to its `\"detecting\": true` (every open clock is in the scheduler).\n\n",
		built, thousands(r.open), r.post.Seconds())
	b.WriteString("| start | serving s | ready and detecting s | open clocks once detecting | target | |\n|---|---:|---:|---:|---|---|\n")
	var targets strings.Builder
	row := func(what string, t restartTimes, limit time.Duration) {
		met := verdict(t.detecting <= limit && t.open == r.open)
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %s | ≤ %.0f s | %s |\n", what, t.serving.Seconds(), t.detecting.Seconds(),
			thousands(t.open), limit.Seconds(), met)
		fmt.Fprintf(&targets, "| %s open clocks, ready and detecting %s: ≤ %.0f s | %.1f s | %s |\n",
			thousands(r.open), strings.TrimSuffix(what, " (SIGTERM)"), limit.Seconds(), t.detecting.Seconds(), met)
	}
	row("after a clean stop (SIGTERM)", r.clean, 3*time.Second)
	row("after `kill -9`", r.crash, 10*time.Second)
	soon := "not recorded"
	if r.soonLate >= 0 {
		soon = fmt.Sprintf("%.2f s after its due time", r.soonLate.Seconds())
	}
	soonMet := verdict(r.soonLate >= 0 && r.soonLate <= 2*time.Second)
	fmt.Fprintf(&b, "\nA clock open before the clean stop and due %.1f s after the restart began (a 30 s policy of its own job): "+
		"its breach was recorded %s.\n", r.soonAfterStart.Seconds(), soon)
	fmt.Fprintf(&targets, "| a clock due just after the restart (%.1f s after it began) is alerted within 2 s of its deadline | %s | %s |\n",
		r.soonAfterStart.Seconds(), soon, soonMet)
	if r.scores != nil {
		b.WriteString(scoresRestartTable(r.scores, &targets))
	}
	b.WriteString("\n| target | measured | |\n|---|---|---|\n" + targets.String())
	b.WriteString("<!-- restart:end -->\n")
	return b.String()
}

// runRestartSection measures restarts and writes their section.
func runRestartSection(ctx context.Context, o settings, progress io.Writer) error {
	fmt.Fprintf(progress, "%-48s", fmt.Sprintf("restart, %s open clocks …", thousands(o.restartClocks)))
	t := time.Now()
	r, err := runRestart(ctx, o.restartClocks, o.restartBinary, progress)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, " %.1f s\n", time.Since(t).Seconds())
	if o.scoresApps > 0 {
		fmt.Fprintf(progress, "%-48s", fmt.Sprintf("restart, the scores store of %s applications …", thousands(o.scoresApps)))
		t := time.Now()
		if r.scores, err = runScoresRestart(ctx, o.scoresApps, o.seed, o.restartBinary, progress); err != nil {
			return err
		}
		fmt.Fprintf(progress, " %.1f s\n", time.Since(t).Seconds())
	}
	section := restartSection(time.Now(), thisMachine(), r)
	fmt.Fprintln(progress)
	fmt.Fprint(progress, section)
	if o.out != "" {
		return writeSection(o.out, "restart", section)
	}
	return nil
}

// scoresRestart is the scores section's store (a year of history written straight
// into an embedded store) served by the goodwill binary: started for the first time
// (every clock derived, the scores book filled from every application), then after a
// clean stop, then after kill -9.
type scoresRestart struct {
	apps, interactions  int
	write               time.Duration
	first, clean, crash restartTimes
	orgApps             [3]int // the applications group_by=org counts over the scores period after each start
	load                [2]string
}

func runScoresRestart(ctx context.Context, apps int, seed uint64, bin string, progress io.Writer) (*scoresRestart, error) {
	dir, err := os.MkdirTemp("", "goodwill-restart-scores-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if bin, err = buildGoodwill(ctx, bin, dir, progress); err != nil {
		return nil, err
	}
	data, logFile := filepath.Join(dir, "data"), filepath.Join(dir, "goodwill.log")
	now := time.Now().UTC().Truncate(time.Millisecond)
	gen := newScoresGen(apps, now, seed)
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from := to.AddDate(0, 0, -(scoresPeriodDays - 1))
	written := &scoresResult{}
	start := time.Now()
	_, err = writeScoresStore(ctx, data, "goodwill", func(db *mongo.Database) error {
		return gen.write(ctx, db, from, to.AddDate(0, 0, 1), written)
	})
	if err != nil {
		return nil, err
	}
	r := &scoresRestart{apps: apps, interactions: written.interactions, write: time.Since(start)}
	fmt.Fprintf(progress, " (written in %.1f s)", r.write.Seconds())
	period := "/v1/scores?group_by=org&from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly)
	r.load[0] = loadAvg()
	var p *goodwillProcess
	for i, run := range []struct {
		sig  syscall.Signal
		into *restartTimes
	}{{0, &r.first}, {syscall.SIGTERM, &r.clean}, {syscall.SIGKILL, &r.crash}} {
		if p != nil {
			if err := p.stop(run.sig); err != nil {
				return nil, err
			}
		}
		if p, err = startGoodwill(ctx, bin, data, logFile); err != nil {
			return nil, err
		}
		defer func(p *goodwillProcess) { _ = p.cmd.Process.Kill() }(p)
		if *run.into, err = p.waitDetecting(ctx, 10*time.Minute); err != nil {
			return nil, fmt.Errorf("start %d: %w (log: %s)", i+1, err, logFile)
		}
		if run.into.open, err = p.openClocks(ctx); err != nil {
			return nil, err
		}
		api := &apiClient{url: p.url, http: &http.Client{Timeout: time.Minute}}
		body, err := api.call(ctx, http.MethodGet, period, nil)
		if err != nil {
			return nil, err
		}
		var out struct {
			Groups []struct {
				Applications int `json:"applications"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(body, &out); err != nil || len(out.Groups) != 1 {
			return nil, fmt.Errorf("scores after start %d: %v %s", i+1, err, body)
		}
		r.orgApps[i] = out.Groups[0].Applications
	}
	r.load[1] = loadAvg()
	return r, p.stop(syscall.SIGTERM)
}

// scoresRestartTable renders the scores store's restarts, and adds their targets'
// rows to targets.
func scoresRestartTable(r *scoresRestart, targets io.Writer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nThe scores section's store: %s applications with a year of history (%s interactions, "+
		"written straight into the embedded store in %.1f s), served by the same binary. Its first start derives "+
		"every application's clocks and fills the scores book from every application; then it is stopped with "+
		"SIGTERM and started again, and killed with SIGKILL and started again. \"Applications\" is what "+
		"`group_by=org` counts over the scores period once detecting: the same after each start when the book is "+
		"filled. Load average %s before, %s after.\n\n", thousands(r.apps), thousands(r.interactions), r.write.Seconds(), r.load[0], r.load[1])
	b.WriteString("| start | serving s | ready and detecting s | open clocks | applications | target | |\n|---|---:|---:|---:|---:|---|---|\n")
	for i, row := range []struct {
		what   string
		t      restartTimes
		target time.Duration
	}{{"first start (no checkpoint)", r.first, 0}, {"after a clean stop (SIGTERM)", r.clean, 10 * time.Second}, {"after `kill -9`", r.crash, 30 * time.Second}} {
		target, met := "", ""
		if row.target > 0 {
			target = fmt.Sprintf("≤ %.0f s", row.target.Seconds())
			met = verdict(row.t.detecting <= row.target && row.t.open == r.first.open && r.orgApps[i] == r.orgApps[0])
			fmt.Fprintf(targets, "| scores bench's store, %s (%s applications): clocks derived and scores filled %s | %.1f s | %s |\n",
				strings.TrimSuffix(row.what, " (SIGTERM)"), thousands(r.apps), target, row.t.detecting.Seconds(), met)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %s | %s | %s | %s |\n", row.what, row.t.serving.Seconds(), row.t.detecting.Seconds(),
			thousands(row.t.open), thousands(r.orgApps[i]), target, met)
	}
	return b.String()
}
