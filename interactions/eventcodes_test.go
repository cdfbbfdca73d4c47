package interactions

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// codesEvent is a compact event of application a-1, h hours after base.
func codesEvent(id string, h int, kind Kind) Interaction {
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := base.Add(time.Duration(h) * time.Hour)
	it := Interaction{Key: "test:" + id, ID: id, ApplicationID: "a-1", CandidateID: "c-1", Kind: kind, OccurredAt: at,
		Direction: Outbound, Channel: "email", Source: "test", ExternalID: id, ReceivedAt: at.Add(time.Minute)}
	if kind == KindStageChanged {
		it.Direction, it.Channel, it.Stage = Internal, "", "onsite"
	}
	if kind == KindInterviewScheduled {
		when := at.Add(48 * time.Hour)
		it.ScheduledFor = &when
	}
	return it.Compact()
}

// TestEncodeApplication: the projector's encoding of an application is the driver's,
// byte for byte, whether it encodes every event or reuses the encoding of the events
// written before (new events after them, or between them); and it reuses them.
func TestEncodeApplication(t *testing.T) {
	first := []Interaction{codesEvent("e1", 0, KindApplicationReceived), codesEvent("e3", 2, KindMessage), codesEvent("e5", 4, KindStageChanged)}
	SortEvents(first)
	app := DeriveApplication("a-1", first)
	app.UpdatedAt = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	want, err := bson.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	got, codes, err := encodeApplication(app, nil, eventCodes{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("first encoding differs from the driver's:\n got %v\nwant %v", got, bson.Raw(want))
	}
	if !codes.of(app.Events) {
		t.Fatal("the codes are not of the encoded events")
	}

	for _, tc := range []struct {
		name string
		add  []Interaction
	}{
		{"after", []Interaction{codesEvent("e6", 5, KindMessage)}},
		{"between", []Interaction{codesEvent("e2", 1, KindInterviewScheduled), codesEvent("e4", 3, KindMessage)}},
		{"before", []Interaction{codesEvent("e0", -1, KindMessage)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, _ := MergeEvents(app.Events, tc.add)
			next := DeriveApplication("a-1", events)
			next.UpdatedAt = app.UpdatedAt.Add(time.Minute)
			want, err := bson.Marshal(next)
			if err != nil {
				t.Fatal(err)
			}
			got, nextCodes, err := encodeApplication(next, app.Events, codes)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from the driver's:\n got %v\nwant %v", got, bson.Raw(want))
			}
			var back Application
			if err := bson.Unmarshal(got, &back); err != nil || len(back.Events) != len(events) {
				t.Fatalf("decoded %d events, err %v; want %d", len(back.Events), err, len(events))
			}
			// The earlier events' documents are those encoded before, not encoded again.
			reused := 0
			for _, d := range nextCodes.docs {
				for _, old := range codes.docs {
					if &d[0] == &old[0] {
						reused++
					}
				}
			}
			if reused != len(app.Events) {
				t.Errorf("reused %d of the %d earlier events' encodings", reused, len(app.Events))
			}
		})
	}
	// Codes of other events are not used.
	other := append([]Interaction(nil), app.Events...)
	if codes.of(other) {
		t.Error("codes taken for a copy of the events")
	}
}

// TestProjectorReusesEventCodes: the projector replaces a stored application with its
// earlier events' encoding kept from its last write, and the document stored is the
// application with every event.
func TestProjectorReusesEventCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	p, store := newProjector(t, now)
	at := func(h int) string { return now.Add(time.Duration(h-48) * time.Hour).Format(time.RFC3339) }
	for i := range 4 {
		in := Input{ApplicationID: "a-1", CandidateID: "c-1", Kind: "message", OccurredAt: at(i), Direction: "outbound",
			Channel: "email", RecruiterID: "r-1", Source: "test", ExternalID: fmt.Sprintf("x-%d", i)}
		if i == 0 {
			in.Kind, in.Direction, in.Channel = "application_received", "", ""
		}
		if err := p.Apply(ctx, stored(t, now, in)); err != nil {
			t.Fatal(err)
		}
		if i > 0 && !p.codes["a-1"].of(p.apps["a-1"].Events) {
			t.Fatalf("after event %d the projector keeps no encoding of the events it wrote", i)
		}
	}
	var got Application
	if err := store.applications.FindOne(ctx, bson.M{"_id": "a-1"}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.EventCount != 4 || len(got.Events) != 4 {
		t.Fatalf("stored %d events (event_count %d), want 4", len(got.Events), got.EventCount)
	}
	for i, e := range got.Events {
		if want := fmt.Sprintf("x-%d", i); e.ExternalID != want {
			t.Errorf("event %d is %q, want %q", i, e.ExternalID, want)
		}
	}
}
