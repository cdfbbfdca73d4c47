package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAlertsSmoke runs the alerts section with a few breaches: each is sent once, and
// the section is written beside the others.
func TestAlertsSmoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(out, []byte(header+markStart+"\ningest numbers\n"+markEnd+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := settings{out: out, alertBreaches: 20, alertsOnly: true}
	if _, err := run(ctx, o, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ingest numbers", "<!-- alerts:start -->", "| 20 | 20 | 0 |", "20 of 20 accepted, 0 twice, 0 refused requests | met"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, b)
		}
	}
}

// TestSlackAlertsSmoke runs the Slack alerts section with a few breaches: each is
// posted once, and the section is written beside the others.
func TestSlackAlertsSmoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(out, []byte(header+markStart+"\ningest numbers\n"+markEnd+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := settings{out: out, slackBreaches: 20, slackOnly: true}
	if _, err := run(ctx, o, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ingest numbers", "<!-- slack-alerts:start -->", "| 20 | 20 | 0 |", "20 of 20 posted, 0 twice, 0 problems | met"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, b)
		}
	}
}
