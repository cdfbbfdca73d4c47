package atssync

import (
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// TestPrepareKeepsAttribution: what a vendor's sync read of where a candidate came
// from, a hire's employee id and a lead's pool survive the runner's check — on
// application_received, on details_updated (the sync's alone may carry it), on hired
// and on pool_added.
func TestPrepareKeepsAttribution(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	attr := &interactions.Attribution{Source: "linkedin", Medium: "referral", ReferrerID: "lever:u1"}
	for _, it := range []interactions.Interaction{
		{Kind: interactions.KindApplicationReceived, Direction: interactions.Inbound, Attribution: attr},
		{Kind: interactions.KindDetailsUpdated, Direction: interactions.Internal, Attribution: attr},
		{Kind: interactions.KindHired, Direction: interactions.Outbound, EmployeeID: "E7"},
		{Kind: interactions.KindPoolAdded, Direction: interactions.Internal, PoolID: "leads"},
	} {
		if it.PoolID == "" {
			it.ApplicationID = "lever:a"
		}
		it.CandidateID, it.Source, it.ExternalID = "lever:c", "lever", "sync:lever:"+string(it.Kind)
		it.OccurredAt = now.Add(-time.Hour)
		got, err := prepare(it, "lever", now)
		if err != nil {
			t.Fatalf("%s: %v", it.Kind, err)
		}
		if (it.Attribution != nil && (got.Attribution == nil || *got.Attribution != *attr || !got.Referral)) || got.EmployeeID != it.EmployeeID || got.PoolID != it.PoolID {
			t.Errorf("%s: attribution %+v, referral %v, employee_id %q, pool_id %q; want %+v, %q, %q", it.Kind, got.Attribution, got.Referral, got.EmployeeID, got.PoolID, it.Attribution, it.EmployeeID, it.PoolID)
		}
	}
}
