package interactions

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestCandidateLevelValidation: which kinds may, must or must not name an
// application, and pool_id's rules.
func TestCandidateLevelValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		field string // the field the error names; "" when valid
	}{
		{"pool_added", `{"kind":"pool_added","candidate_id":"c1","pool_id":"leads"}`, ""},
		{"pool_removed", `{"kind":"pool_removed","candidate_id":"c1","pool_id":"leads"}`, ""},
		{"pool_added needs pool_id", `{"kind":"pool_added","candidate_id":"c1"}`, "pool_id"},
		{"pool_added refuses application_id", `{"kind":"pool_added","candidate_id":"c1","pool_id":"leads","application_id":"a1"}`, "application_id"},
		{"bad pool_id", `{"kind":"pool_added","candidate_id":"c1","pool_id":"Leads!"}`, "pool_id"},
		{"pool_id only on pool kinds", `{"kind":"note","candidate_id":"c1","pool_id":"leads","application_id":"a1"}`, "pool_id"},
		{"candidate-level message", `{"kind":"message","direction":"outbound","candidate_id":"c1"}`, ""},
		{"candidate-level call", `{"kind":"call","direction":"outbound","candidate_id":"c1"}`, ""},
		{"candidate-level note", `{"kind":"note","candidate_id":"c1"}`, ""},
		{"other kinds need an application", `{"kind":"interview_completed","interview_id":"i","candidate_id":"c1"}`, "application_id"},
		{"reserved application ids", `{"kind":"note","candidate_id":"c1","application_id":"nurture:c1"}`, "application_id"},
		{"candidate_id still required", `{"kind":"note"}`, "candidate_id"},
		{"pool kinds are internal", `{"kind":"pool_added","candidate_id":"c1","pool_id":"leads","direction":"outbound"}`, "direction"},
	}
	for _, tt := range tests {
		body := tt.body[:len(tt.body)-1] + fmt.Sprintf(`,"occurred_at":%q}`, now.Format(time.RFC3339))
		items, _, err := ParseWrite([]byte(body), "", now)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if items[0].PoolID == "" && items[0].Kind == KindPoolAdded {
				t.Errorf("%s: pool_id lost", tt.name)
			}
			continue
		}
		var e *Error
		if err == nil || !asError(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != tt.field {
			t.Errorf("%s: %v, want one error on %s", tt.name, err, tt.field)
		}
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	*target = e
	return ok
}

// TestProjectorNurtureDocument: candidate-level events go to the candidate's nurture
// document, with the contacts and applications of a pooled candidate's applications;
// a candidate never pooled has none.
func TestProjectorNurtureDocument(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, store := newProjector(t, now)
	at := now
	mk := func(id, app, cand string, kind Kind, dir Direction) Interaction {
		at = at.Add(time.Minute)
		return Interaction{ID: id, Key: id, ApplicationID: app, CandidateID: cand, Kind: kind, Direction: dir,
			OccurredAt: at, ReceivedAt: at, Source: "api", PoolID: map[bool]string{true: "leads"}[kind == KindPoolAdded]}
	}
	batch := []Interaction{
		mk("e1", "", "pooled", KindPoolAdded, Internal),
		mk("e2", "app-p", "pooled", KindApplicationReceived, Inbound),
		mk("e3", "app-p", "pooled", KindMessage, Outbound),
		mk("e4", "app-p", "pooled", KindMessage, Inbound), // no contact
		mk("e5", "", "pooled", KindNote, Internal),
		mk("e6", "app-x", "other", KindMessage, Outbound),
	}
	if err := p.Apply(ctx, batch); err != nil {
		t.Fatal(err)
	}
	doc, err := store.Application(ctx, NurtureID("pooled"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range doc.Events {
		ids = append(ids, e.ID)
	}
	if fmt.Sprint(ids) != "[e1 e2 e3 e5]" || doc.CandidateID != "pooled" || doc.RecruiterID != "" {
		t.Fatalf("nurture document %v %+v", ids, doc)
	}
	if app, err := store.Application(ctx, "app-p"); err != nil || app.EventCount != 3 {
		t.Fatalf("application %+v %v", app, err)
	}
	if _, err := store.Application(ctx, NurtureID("other")); ErrorCode(err) != CodeNotFound {
		t.Fatalf("a candidate never pooled has a nurture document: %v", err)
	}
	// A new projector over the same store knows who is pooled: a contact of the pooled
	// candidate reaches their nurture document, one of the other candidate does not.
	p2 := NewProjector(ProjectorConfig{Store: store, Guard: p.guard, Log: p.log, Now: p.now})
	if err := p2.Apply(ctx, []Interaction{
		mk("e7", "app-p", "pooled", KindCall, Outbound),
		mk("e8", "app-x", "other", KindCall, Outbound),
	}); err != nil {
		t.Fatal(err)
	}
	if doc, err := store.Application(ctx, NurtureID("pooled")); err != nil || !hasEvent(doc, "e7") {
		t.Fatalf("after a restart, a pooled candidate's contact is not in their nurture document: %v", err)
	}
	if _, err := store.Application(ctx, NurtureID("other")); ErrorCode(err) != CodeNotFound {
		t.Fatalf("after a restart, a candidate never pooled has a nurture document: %v", err)
	}
}

// TestProjectorNurtureOutOfOrder: events of a candidate's applications applied before
// their first pool_added (a backfill storing the pool_added after a webhook stored
// later contacts) are in the nurture document it creates, and their effect on the
// nurture clocks depends on when they occurred, not on when they arrived.
func TestProjectorNurtureOutOfOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, store := newProjector(t, now)
	day := func(d int) time.Time { return now.AddDate(0, 0, d-30) }
	mk := func(id, app, cand string, kind Kind, dir Direction, at time.Time) Interaction {
		it := Interaction{ID: id, Key: id, ApplicationID: app, CandidateID: cand, Kind: kind, Direction: dir,
			OccurredAt: at, ReceivedAt: now, Source: "api"}
		if kind == KindPoolAdded {
			it.PoolID = "leads"
		}
		return it
	}
	applies := [][]Interaction{
		{
			// Applied before being pooled: in the document, before pool_added (the
			// rejection is no contact: not there).
			mk("old-recv", "app-old", "cand", KindApplicationReceived, Inbound, day(0)),
			mk("old-rej", "app-old", "cand", KindRejected, Internal, day(2)),
			// Contacted on day 12, stored before the pool_added of day 10.
			mk("touch", "app-old", "cand", KindMessage, Outbound, day(12)),
			mk("reply", "app-old", "cand", KindMessage, Inbound, day(13)), // no contact
			// Another candidate's applications, whose pool_added comes in the same
			// Apply as a later contact.
			mk("b-recv", "app-b", "cand-b", KindApplicationReceived, Inbound, day(20)),
		},
		{
			mk("added", "", "cand", KindPoolAdded, Internal, day(10)),
			mk("b-added", "", "cand-b", KindPoolAdded, Internal, day(5)),
			mk("b-touch", "app-b", "cand-b", KindCall, Outbound, day(21)),
			// Never pooled: no nurture document.
			mk("x-touch", "app-x", "cand-x", KindCall, Outbound, day(21)),
		},
	}
	for _, items := range applies {
		if err := p.Apply(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	for cand, want := range map[string]string{
		"cand":   "[old-recv added touch]",
		"cand-b": "[b-added b-recv b-touch]",
	} {
		doc, err := store.Application(ctx, NurtureID(cand))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range doc.Events {
			ids = append(ids, e.ID)
		}
		if fmt.Sprint(ids) != want {
			t.Errorf("nurture document of %s: %v, want %s", cand, ids, want)
		}
	}
	if _, err := store.Application(ctx, NurtureID("cand-x")); ErrorCode(err) != CodeNotFound {
		t.Fatalf("a candidate never pooled has a nurture document: %v", err)
	}
	// A later contact is routed as before: the document is known now.
	if err := p.Apply(ctx, []Interaction{mk("touch-2", "app-old", "cand", KindCall, Outbound, day(20))}); err != nil {
		t.Fatal(err)
	}
	if doc, err := store.Application(ctx, NurtureID("cand")); err != nil || !hasEvent(doc, "touch-2") || doc.EventCount != 4 {
		t.Fatalf("a later contact: %+v %v", doc, err)
	}
}

// TestRetentionOfPoolMembers: a pool member with no activity for the retention period
// is purged like a closed application; an active one, or a closed applicant who is
// still nurtured, is kept.
func TestRetentionOfPoolMembers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := newPipeline(t, clock)
	day := func(d int) string { return now.AddDate(0, 0, -d).Format(time.RFC3339) }
	p.write(t, now,
		// Added 60 days ago, last touched 40 days ago: purged under 30 days.
		Input{CandidateID: "c-idle", Kind: "pool_added", PoolID: "leads", OccurredAt: day(60), Candidate: &Person{Name: "Idle Lead"}},
		Input{CandidateID: "c-idle", Kind: "message", Direction: "outbound", OccurredAt: day(40)},
		// Touched 10 days ago: kept.
		Input{CandidateID: "c-warm", Kind: "pool_added", PoolID: "leads", OccurredAt: day(60), Candidate: &Person{Name: "Warm Lead"}},
		Input{CandidateID: "c-warm", Kind: "note", OccurredAt: day(10)},
		// An application closed long ago, but nurtured since: kept.
		Input{ApplicationID: "a-silver", CandidateID: "c-silver", Kind: "rejected", OccurredAt: day(90), Candidate: &Person{Name: "Silver"}},
		Input{CandidateID: "c-silver", Kind: "pool_added", PoolID: "silver", OccurredAt: day(5)},
	)
	r := &Retention{Store: p.store, Eraser: p.eraser, Keep: 30 * 24 * time.Hour, Log: p.projector.log, Now: clock}
	if n, err := r.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 erasure", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := p.store.Candidate(context.Background(), "c-idle")
		if err == nil && c.Erased && c.Name == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("c-idle not erased: %+v %v", c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{"c-warm", "c-silver"} {
		if c, err := p.store.Candidate(context.Background(), id); err != nil || c.Erased || c.Name == "" {
			t.Errorf("%s: %+v %v; want kept", id, c, err)
		}
	}
}

// TestProjectorNurtureManyCreated: an Apply that creates more nurture documents than
// one query by candidate names finds each candidate's earlier contacts too.
func TestProjectorNurtureManyCreated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, store := newProjector(t, now)
	n := fewCandidates + 20
	var contacts, added []Interaction
	for i := range n {
		c := fmt.Sprintf("cand-%03d", i)
		contacts = append(contacts, Interaction{ID: "touch-" + c, Key: "touch-" + c, ApplicationID: "app-" + c, CandidateID: c,
			Kind: KindCall, Direction: Outbound, OccurredAt: now.Add(-time.Hour), ReceivedAt: now, Source: "api"})
		added = append(added, Interaction{ID: "added-" + c, Key: "added-" + c, CandidateID: c, PoolID: "leads",
			Kind: KindPoolAdded, Direction: Internal, OccurredAt: now.Add(-2 * time.Hour), ReceivedAt: now, Source: "api"})
	}
	// Another candidate's application, not pooled: not copied anywhere.
	contacts = append(contacts, Interaction{ID: "touch-x", Key: "touch-x", ApplicationID: "app-x", CandidateID: "cand-x",
		Kind: KindCall, Direction: Outbound, OccurredAt: now.Add(-time.Hour), ReceivedAt: now, Source: "api"})
	for _, items := range [][]Interaction{contacts, added} {
		if err := p.Apply(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		c := fmt.Sprintf("cand-%03d", i)
		doc, err := store.Application(ctx, NurtureID(c))
		if err != nil || len(doc.Events) != 2 || !hasEvent(doc, "touch-"+c) {
			t.Fatalf("nurture document of %s: %+v %v", c, doc.Events, err)
		}
	}
}
