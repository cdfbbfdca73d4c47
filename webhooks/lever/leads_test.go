package lever

import (
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// TestLeadsJoinThePool: an opportunity without an application is a lead — its
// contact's pool_added to "leads", naming no application; one with an application is
// received as usual, and joins no pool.
func TestLeadsJoinThePool(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	refs := &reference{stages: map[string]string{}, postings: map[string]apiPosting{}, reasons: map[string]apiArchiveReason{}}
	s := New(Config{}, nil, func() time.Time { return now })
	created := now.Add(-time.Hour).UnixMilli()
	lead := apiOpportunity{ID: "opp-1", Contact: ref[apiContact]{ID: "contact-1"}, CreatedAt: created}
	var pooled []interactions.Interaction
	for _, it := range s.mapOpportunity(lead, nil, refs, now) {
		if it.Kind == interactions.KindApplicationReceived {
			t.Errorf("a lead was received as an application: %+v", it)
		}
		if it.Kind == interactions.KindPoolAdded {
			pooled = append(pooled, it)
		}
	}
	if len(pooled) != 1 || pooled[0].PoolID != "leads" || pooled[0].ApplicationID != "" || pooled[0].CandidateID != "lever:contact-1" ||
		!pooled[0].OccurredAt.Equal(time.UnixMilli(created).UTC()) {
		t.Fatalf("lead: %+v", pooled)
	}
	applied := lead
	applied.Applications = []ref[apiApplication]{{Obj: &apiApplication{CreatedAt: created}}}
	for _, it := range s.mapOpportunity(applied, nil, refs, now) {
		if it.Kind == interactions.KindPoolAdded {
			t.Errorf("an applicant joined a pool: %+v", it)
		}
	}
}
