package interactions

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestPhoneLookups: the lookups inbound SMS routing reads (contacts, applications).
func TestPhoneLookups(t *testing.T) {
	ctx := context.Background()
	db := storagetest.NewDB(t)
	s := NewStore(db)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	insert := func(coll string, docs ...any) {
		t.Helper()
		if _, err := db.Collection(coll).InsertMany(ctx, docs); err != nil {
			t.Fatal(err)
		}
	}
	insert("contacts", bson.M{"_id": "phone:+14155550100", "candidate_ids": bson.A{"c1", "c2"}})
	insert("applications",
		bson.M{"_id": "a-old", "candidate_id": "c1", "status": "open", "last_event_at": t0},
		bson.M{"_id": "a-new", "candidate_id": "c2", "status": "open", "last_event_at": t0.Add(time.Hour)},
		bson.M{"_id": "a-closed", "candidate_id": "c1", "status": "rejected", "last_event_at": t0.Add(2 * time.Hour)},
		bson.M{"_id": "a-gone", "candidate_id": "c3", "status": "hired", "last_event_at": t0},
	)

	ids, err := s.CandidatesByPhone(ctx, "+14155550100")
	if err != nil || len(ids) != 2 {
		t.Fatalf("CandidatesByPhone: %v %v", ids, err)
	}
	if ids, err := s.CandidatesByPhone(ctx, "+14155550999"); err != nil || ids != nil {
		t.Fatalf("CandidatesByPhone of a stranger: %v %v", ids, err)
	}
	for _, c := range []struct {
		candidates []string
		want       string
	}{
		{[]string{"c1", "c2"}, "a-new"}, // open before closed, then the latest event
		{[]string{"c1"}, "a-old"},       // an open one beats a later closed one
		{[]string{"c3"}, "a-gone"},      // only a closed one: still the candidate's
		{[]string{"c9"}, ""},            // no application
		{nil, ""},                       // no candidate
	} {
		app, ok, err := s.LatestApplication(ctx, c.candidates)
		if err != nil || ok != (c.want != "") || app.ID != c.want {
			t.Errorf("LatestApplication(%v) = %q %v %v, want %q", c.candidates, app.ID, ok, err, c.want)
		}
	}
}
