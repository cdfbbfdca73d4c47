package interactions

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// pipeline is the write path on a fresh database: writer, projector and eraser.
type pipeline struct {
	store     *Store
	writer    *Writer
	projector *Projector
	eraser    *Eraser
}

func newPipeline(t *testing.T, now func() time.Time) *pipeline {
	t.Helper()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	if err := store.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	guard, err := NewTombstones(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &pipeline{store: store, projector: NewProjector(ProjectorConfig{Store: store, Guard: guard, Log: log, Now: now})}
	if err := p.projector.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p.writer = NewWriter(WriterConfig{Store: store, Guard: guard, OnCommit: p.projector.Feed})
	p.eraser = NewEraser(EraserConfig{Store: store, Guard: guard, Log: log, Now: now})
	ectx, cancel := context.WithCancel(ctx)
	if err := p.eraser.Start(ectx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = p.writer.Close(ctx)
		_ = p.projector.Close(ctx)
	})
	return p
}

// write stores interactions built from inputs and waits until they are projected.
func (p *pipeline) write(t *testing.T, now time.Time, inputs ...Input) {
	t.Helper()
	var items []Interaction
	for i, in := range inputs {
		it, errs := in.Validate("", now)
		if len(errs) > 0 {
			t.Fatalf("input %d: %v", i, errs)
		}
		items = append(items, it)
	}
	if _, err := p.writer.Write(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, it := range items {
		for {
			app, err := p.store.Application(context.Background(), it.DocID())
			if err == nil && hasEvent(app, it.ID) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("interaction %s never projected", it.ID)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func hasEvent(app Application, id string) bool {
	for _, e := range app.Events {
		if e.ID == id {
			return true
		}
	}
	return false
}

func TestRetention(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := newPipeline(t, clock)
	day := func(d int) string { return now.AddDate(0, 0, -d).Format(time.RFC3339) }
	person := &Person{Name: "Old Candidate", Email: "old@example.com"}
	p.write(t, now,
		// Closed 40 days ago: expired under 30 days of retention.
		Input{ApplicationID: "a-old", CandidateID: "c-old", Kind: "application_received", OccurredAt: day(60), Candidate: person},
		Input{ApplicationID: "a-old", CandidateID: "c-old", Kind: "rejected", OccurredAt: day(40)},
		// Closed 10 days ago: kept.
		Input{ApplicationID: "a-recent", CandidateID: "c-recent", Kind: "application_received", OccurredAt: day(20), Candidate: &Person{Name: "Recent"}},
		Input{ApplicationID: "a-recent", CandidateID: "c-recent", Kind: "hired", OccurredAt: day(10)},
		// One application closed long ago, another still open: kept.
		Input{ApplicationID: "a-mixed-1", CandidateID: "c-mixed", Kind: "withdrawn", OccurredAt: day(90), Candidate: &Person{Name: "Mixed"}},
		Input{ApplicationID: "a-mixed-2", CandidateID: "c-mixed", Kind: "application_received", OccurredAt: day(5)},
	)
	r := &Retention{Store: p.store, Eraser: p.eraser, Keep: 30 * 24 * time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock}
	n, err := r.RunOnce(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 erasure", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := p.store.Candidate(context.Background(), "c-old")
		if err == nil && c.Erased && c.Name == "" && c.Email == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("c-old not erased: %+v %v", c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{"c-recent", "c-mixed"} {
		if c, err := p.store.Candidate(context.Background(), id); err != nil || c.Erased || c.Name == "" {
			t.Errorf("%s: %+v %v; want kept", id, c, err)
		}
	}
	// A second run requests nothing new.
	if n, err := r.RunOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("second run = %d, %v", n, err)
	}
}
