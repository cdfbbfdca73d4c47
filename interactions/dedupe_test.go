package interactions

import (
	"context"
	"testing"
	"time"
)

func TestSameEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC)
	start := at.Add(72 * time.Hour)
	other := start.Add(time.Hour)
	ev := func(kind Kind, off time.Duration, f func(*Interaction)) Interaction {
		in := Interaction{Key: "k-" + string(kind) + off.String(), ApplicationID: "lever:o1", Kind: kind, OccurredAt: at.Add(off), Source: "lever"}
		if f != nil {
			f(&in)
		}
		return in
	}
	stage := func(s string) func(*Interaction) { return func(in *Interaction) { in.Stage = s } }
	iv := func(id string, when *time.Time) func(*Interaction) {
		return func(in *Interaction) { in.InterviewID, in.ScheduledFor = id, when }
	}
	for _, tc := range []struct {
		name     string
		have, in Interaction
		want     bool
	}{
		// An application is received once, whenever each side says it was.
		{"received, days apart", ev(KindApplicationReceived, 0, nil), ev(KindApplicationReceived, 72*time.Hour, nil), true},
		{"received, another application", ev(KindApplicationReceived, 0, nil), ev(KindApplicationReceived, 0, func(in *Interaction) { in.ApplicationID = "lever:o2" }), false},
		{"stage, same name, 4m59s apart", ev(KindStageChanged, 0, stage("Onsite")), ev(KindStageChanged, 4*time.Minute+59*time.Second, stage("Onsite")), true},
		{"stage, 5m1s apart", ev(KindStageChanged, 0, stage("Onsite")), ev(KindStageChanged, 5*time.Minute+time.Second, stage("Onsite")), false},
		{"stage, another stage", ev(KindStageChanged, 0, stage("Onsite")), ev(KindStageChanged, time.Second, stage("Offer")), false},
		// The receiver knew only Lever's stage id; the sync reads its name and id.
		{"stage, id against name", ev(KindStageChanged, 0, stage("2ca03d97")), ev(KindStageChanged, time.Second, func(in *Interaction) {
			in.Stage, in.Metadata = "Onsite", map[string]any{"stage_id": "2ca03d97"}
		}), true},
		{"stage, name against id", ev(KindStageChanged, 0, func(in *Interaction) {
			in.Stage, in.Metadata = "Onsite", map[string]any{"stage_id": "2ca03d97"}
		}), ev(KindStageChanged, time.Second, stage("2ca03d97")), true},
		{"rejected, a minute apart", ev(KindRejected, 0, nil), ev(KindRejected, -time.Minute, nil), true},
		{"rejected, an hour apart", ev(KindRejected, 0, nil), ev(KindRejected, time.Hour, nil), false},
		{"another kind", ev(KindRejected, 0, nil), ev(KindHired, 0, nil), false},
		{"interview, same start", ev(KindInterviewScheduled, 0, iv("i1", &start)), ev(KindInterviewScheduled, time.Minute, iv("i1", &start)), true},
		{"interview, another interview", ev(KindInterviewScheduled, 0, iv("i1", &start)), ev(KindInterviewScheduled, time.Minute, iv("i2", &start)), false},
		// The webhook had no start: the sync's record with it says something new.
		{"interview, start the other lacks", ev(KindInterviewScheduled, 0, iv("i1", nil)), ev(KindInterviewScheduled, time.Minute, iv("i1", &start)), false},
		{"interview, another start", ev(KindInterviewScheduled, 0, iv("i1", &start)), ev(KindInterviewScheduled, time.Minute, iv("i1", &other)), false},
		// The webhook without a start, after the sync's record with one.
		{"interview, no start after one", ev(KindInterviewScheduled, 0, iv("i1", &start)), ev(KindInterviewScheduled, time.Minute, iv("i1", nil)), true},
		{"canceled, same interview", ev(KindInterviewCanceled, 0, iv("i1", nil)), ev(KindInterviewCanceled, 2*time.Minute, iv("i1", nil)), true},
		// Messages are distinct touchpoints, however alike.
		{"message", ev(KindMessage, 0, nil), ev(KindMessage, time.Second, nil), false},
		{"details", ev(KindDetailsUpdated, 0, nil), ev(KindDetailsUpdated, time.Second, nil), false},
		// The same key is the idempotency check's, not this one's.
		{"same key", ev(KindRejected, 0, nil), ev(KindRejected, 0, nil), false},
	} {
		if got := SameEvent(tc.have, tc.in); got != tc.want {
			t.Errorf("%s: SameEvent = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestWriteEvents: WriteEvents leaves out an event its application holds under
// another key — stored a moment ago and not projected yet, projected (a new writer,
// which remembers nothing), or earlier in the same call — and answers it as a
// duplicate of the event it repeats; Write stores every item.
func TestWriteEvents(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	p := newPipeline(t, func() time.Time { return now })
	ctx := context.Background()
	item := func(app, ext, kind, stage string, off time.Duration) Interaction {
		it, errs := Input{ApplicationID: app, CandidateID: "c-" + app, Kind: kind, Stage: stage, Source: "lever", ExternalID: ext,
			OccurredAt: now.Add(-time.Hour + off).Format(time.RFC3339)}.Validate("", now)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		return it
	}
	write := func(w *Writer, items ...Interaction) []Interaction {
		t.Helper()
		got, err := w.WriteEvents(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// The webhook, then the sync's record of the same stage change a minute later,
	// before the projector can have added the first.
	hook := write(p.writer, item("a1", "event:1", "stage_changed", "Onsite", 0))[0]
	got := write(p.writer, item("a1", "sync:1", "stage_changed", "Onsite", time.Minute), item("a1", "sync:2", "stage_changed", "Offer", 2*time.Minute))
	if !got[0].Duplicate || got[0].ID != hook.ID {
		t.Errorf("the repeat: %+v, want a duplicate of %s", got[0], hook.ID)
	}
	if got[1].Duplicate {
		t.Errorf("another stage was left out: %+v", got[1])
	}
	offer := got[1]

	// A writer that stored nothing yet finds the events in the application document.
	p.write(t, now, Input{ApplicationID: "a1", CandidateID: "c-a1", Kind: "note", OccurredAt: now.Format(time.RFC3339)})
	fresh := NewWriter(WriterConfig{Store: p.store, Guard: p.writer.guard})
	t.Cleanup(func() { _ = fresh.Close(ctx) })
	if got := write(fresh, item("a1", "event:2", "stage_changed", "Offer", 3*time.Minute))[0]; !got.Duplicate || got.ID != offer.ID {
		t.Errorf("the webhook after the sync: %+v, want a duplicate of %s", got, offer.ID)
	}

	// Within one call: the second application_received of a2 repeats the first.
	got = write(p.writer, item("a2", "x:1", "application_received", "", 0), item("a2", "x:2", "application_received", "", time.Hour))
	if got[0].Duplicate || !got[1].Duplicate || got[1].ID != got[0].ID {
		t.Errorf("one call: %+v, want the second a duplicate of the first", got)
	}

	// Write (the API) stores what it is given.
	plain, err := p.writer.Write(ctx, []Interaction{item("a1", "api:1", "stage_changed", "Onsite", 0)})
	if err != nil || plain[0].Duplicate {
		t.Errorf("Write: %+v, %v; want it stored", plain, err)
	}
	stored, err := p.store.ByKeys(ctx, []string{"lever:sync:1", "lever:sync:2", "lever:event:2", "lever:x:2", "lever:api:1"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"lever:sync:1": false, "lever:sync:2": true, "lever:event:2": false, "lever:x:2": false, "lever:api:1": true} {
		if _, ok := stored[key]; ok != want {
			t.Errorf("%s stored = %v, want %v", key, ok, want)
		}
	}
}
