package interactions

import (
	"context"
	"testing"
	"time"
)

// TestDetailsUpdated: the sync's details_updated is internal and never a contact; the
// projector applies what it carries (candidate, job, owning recruiter, stage) as it
// does for any event naming them.
func TestDetailsUpdated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p, store := newProjector(t, now)
	at := func(h int) string { return now.Add(time.Duration(h-48) * time.Hour).Format(time.RFC3339) }
	items := stored(t, now,
		Input{ApplicationID: "a-1", CandidateID: "c-1", Kind: "application_received", OccurredAt: at(0),
			RecruiterID: "r-1", JobID: "j-1", Source: "lever", ExternalID: "recv-1"},
		Input{ApplicationID: "a-1", CandidateID: "c-1", Kind: "details_updated", OccurredAt: at(5),
			RecruiterID: "r-2", JobID: "j-1", Stage: "onsite", Source: "lever", ExternalID: "sync:lever:details_updated:a-1:1",
			Candidate: &Person{Name: "Ada Lovelace", Email: "ada@example.com"},
			Job:       &JobInfo{Title: "Engineer", Department: "R&D"}},
	)
	if items[1].Direction != Internal || items[1].IsContact() {
		t.Fatalf("details_updated: direction %s, contact %v; want internal, no contact", items[1].Direction, items[1].IsContact())
	}
	if err := p.Apply(ctx, items); err != nil {
		t.Fatal(err)
	}
	app, err := store.Application(ctx, "a-1")
	if err != nil {
		t.Fatal(err)
	}
	if app.RecruiterID != "r-2" || app.Stage != "onsite" || app.StageSince == nil || app.LastContactAt != nil {
		t.Errorf("application: recruiter %q, stage %q since %v, last contact %v; want r-2, onsite, set, none",
			app.RecruiterID, app.Stage, app.StageSince, app.LastContactAt)
	}
	cand, err := store.Candidate(ctx, "c-1")
	if err != nil || cand.Name != "Ada Lovelace" || cand.Email != "ada@example.com" {
		t.Errorf("candidate %+v, %v", cand, err)
	}
	job, err := store.Job(ctx, "j-1")
	if err != nil || job != (JobInfo{Title: "Engineer", Department: "R&D"}) {
		t.Errorf("job %+v, %v", job, err)
	}

	// Marked as told, it would be a contact: refused.
	in := Input{ApplicationID: "a-1", CandidateID: "c-1", Kind: "details_updated", OccurredAt: at(6), CandidateNotified: true}
	if _, errs := in.Validate("", now); len(errs) != 1 || errs[0].Field != "candidate_notified" {
		t.Errorf("candidate_notified on details_updated: errors %v, want one on candidate_notified", errs)
	}
	in.Kind = "note"
	if _, errs := in.Validate("", now); len(errs) != 0 {
		t.Errorf("candidate_notified on note: %v", errs)
	}
}
