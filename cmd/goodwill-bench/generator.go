package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The load generator in another process. Measured in the same process, "CPU per
// request" is the service's and the generator's together; so the benchmark also runs
// drive in a copy of itself (its own executable, re-executed with generatorEnv
// naming a job file) and measures the service's process alone: its own CPU
// (getrusage of the process that serves) against the child's (its rusage).

// generatorEnv names the job file of a process started as the load generator.
const generatorEnv = "GOODWILL_BENCH_GENERATOR"

// generatorJob is what the parent tells the load generator.
type generatorJob struct {
	URL        string        `json:"url"`
	Key        string        `json:"key"`
	Bodies     string        `json:"bodies"` // file of the bodies, one JSON document a line
	Clients    int           `json:"clients"`
	WantStatus int           `json:"want_status"`
	Limit      time.Duration `json:"limit"`
}

// generatorResult is what the load generator answers on its standard output.
type generatorResult struct {
	Count      int             `json:"count"`
	Elapsed    time.Duration   `json:"elapsed"`
	Latencies  []time.Duration `json:"latencies"`
	Errors     int             `json:"errors"`
	FirstError string          `json:"first_error"`
	Notes      []string        `json:"notes"`
	// End is the wall clock (Unix nanoseconds) when the last request was answered.
	End int64
}

// runGeneratorChild is main's body in a process started as the load generator: it
// runs the job named by generatorEnv and prints its result. It reports whether this
// process was one.
func runGeneratorChild() bool {
	path := os.Getenv(generatorEnv)
	if path == "" {
		return false
	}
	if err := generate(path); err != nil {
		fmt.Fprintln(os.Stderr, "goodwill-bench load generator:", err)
		os.Exit(1)
	}
	return true
}

func generate(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var job generatorJob
	if err := json.Unmarshal(raw, &job); err != nil {
		return err
	}
	all, err := os.ReadFile(job.Bodies)
	if err != nil {
		return err
	}
	bodies := bytes.Split(bytes.TrimSuffix(all, []byte("\n")), []byte("\n"))
	client := newClient(job.Clients)
	start := time.Now()
	r := drive(context.Background(), client, job.URL, job.Key, bodies, job.Clients, job.WantStatus, job.Limit)
	end := start.Add(r.Elapsed)
	return json.NewEncoder(os.Stdout).Encode(generatorResult{
		Count: r.Count, Elapsed: r.Elapsed, Latencies: r.Latencies, Errors: r.Errors, FirstError: r.FirstError,
		Notes: r.Notes, End: end.UnixNano(),
	})
}

// driveElsewhere is drive run by a load generator in another process. The result's
// CPU is this process's own over the run (the service's, when this process serves
// url), GeneratorCPU the generator's; end is when the last request was answered.
func driveElsewhere(ctx context.Context, url, key string, bodies [][]byte, clients, wantStatus int, limit time.Duration) (r *result, end time.Time, err error) {
	dir, err := os.MkdirTemp("", "goodwill-bench-generator-")
	if err != nil {
		return nil, time.Time{}, err
	}
	defer os.RemoveAll(dir)
	var all bytes.Buffer
	for _, b := range bodies {
		if bytes.IndexByte(b, '\n') >= 0 {
			return nil, time.Time{}, errors.New("load generator: a body holds a newline")
		}
		all.Write(b)
		all.WriteByte('\n')
	}
	job := generatorJob{URL: url, Key: key, Bodies: filepath.Join(dir, "bodies"), Clients: clients, WantStatus: wantStatus, Limit: limit}
	if err := os.WriteFile(job.Bodies, all.Bytes(), 0o600); err != nil {
		return nil, time.Time{}, err
	}
	jobFile := filepath.Join(dir, "job.json")
	raw, _ := json.Marshal(job)
	if err := os.WriteFile(jobFile, raw, 0o600); err != nil {
		return nil, time.Time{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, time.Time{}, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), generatorEnv+"="+jobFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	cpu := cpuTime()
	if err := cmd.Run(); err != nil {
		return nil, time.Time{}, fmt.Errorf("load generator: %w", err)
	}
	own := cpuTime() - cpu
	var g generatorResult
	if err := json.Unmarshal(out.Bytes(), &g); err != nil {
		return nil, time.Time{}, fmt.Errorf("load generator's answer: %w", err)
	}
	r = &result{Count: g.Count, Unit: "requests", Elapsed: g.Elapsed, Latencies: g.Latencies, Errors: g.Errors,
		FirstError: g.FirstError, Notes: g.Notes, CPU: own, external: true,
		GeneratorCPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	return r, time.Unix(0, g.End), nil
}
