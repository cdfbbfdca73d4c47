package interactions

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestEventListStorage: events are stored as one binary value and read back whole;
// an application stored with its events as an array (as earlier versions did) reads
// the same.
func TestEventListStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	score := 9
	events := EventList{
		{Key: "api:1", ID: "0190a000-0000-7000-8000-000000000001", ApplicationID: "a-1", CandidateID: "c-1",
			Kind: KindApplicationReceived, Direction: Inbound, OccurredAt: at, ReceivedAt: at, Source: "api", ExternalID: "1"},
		{Key: "api:2", ID: "0190a000-0000-7000-8000-000000000002", ApplicationID: "a-1", CandidateID: "c-1",
			Kind: KindSurveyResponse, Direction: Inbound, OccurredAt: at.Add(time.Hour), ReceivedAt: at.Add(time.Hour),
			Source: "api", Score: &score, ScheduledFor: &at},
	}
	for _, tc := range []struct {
		id     string
		stored any // the document as written
		want   EventList
		binary bool // stored as a binary value
	}{
		// What the projector writes.
		{"a-binary", Application{ID: "a-binary", Status: StatusOpen, Events: events}, events, true},
		// No events at all.
		{"a-empty", Application{ID: "a-empty", Status: StatusOpen}, nil, true},
		// An array of documents, as earlier versions wrote.
		{"a-array", bson.M{"_id": "a-array", "status": "open", "events": []Interaction(events)}, events, false},
	} {
		if _, err := store.applications.InsertOne(ctx, tc.stored); err != nil {
			t.Fatal(err)
		}
		id := tc.id
		var raw bson.Raw
		if err := store.applications.FindOne(ctx, bson.M{"_id": id}).Decode(&raw); err != nil {
			t.Fatal(err)
		}
		if got := raw.Lookup("events").Type == bson.TypeBinary; got != tc.binary {
			t.Errorf("%s: stored as %s", id, raw.Lookup("events").Type)
		}
		app, err := store.Application(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, app.Events); d != "" {
			t.Errorf("%s: events read back (-want +got):\n%s", id, d)
		}
	}
}
