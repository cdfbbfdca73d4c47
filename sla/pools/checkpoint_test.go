package pools

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

// TestBookCheckpoint: a book restored from a checkpoint holds every candidate's
// memberships and nurture clocks as saved (every field of a clock), in place of what
// it held; a damaged checkpoint is refused.
func TestBookCheckpoint(t *testing.T) {
	t.Parallel()
	pools := map[string]sla.Pool{"leads": {ID: "leads", Cadence: interactions.MustParseDuration("3d"), Calendar: sla.Calendar24x7, WarnRatio: 0.5}}
	cals := map[string]sla.BusinessClock{sla.Calendar24x7: sla.Wall{}}
	now := t0.Add(10 * 24 * time.Hour)
	fill := func(b *Book, cands ...string) {
		for i, cand := range cands {
			at := t0.Add(time.Duration(i) * time.Hour)
			events := []interactions.Interaction{
				{ID: cand + "-1", CandidateID: cand, Kind: interactions.KindPoolAdded, PoolID: "leads", Direction: interactions.Internal, OccurredAt: at, ReceivedAt: at, Source: "api"},
				{ID: cand + "-2", CandidateID: cand, Kind: interactions.KindMessage, Direction: interactions.Outbound, OccurredAt: at.Add(24 * time.Hour), ReceivedAt: at.Add(24 * time.Hour), Source: "api"},
			}
			id := interactions.NurtureID(cand)
			b.Apply(interactions.DeriveApplication(id, events), sla.DeriveNurture(id, events, pools, cals, now), now)
		}
	}
	saved := NewBook()
	fill(saved, "c1", "c2", "c3")
	w := &sla.CheckpointWriter{}
	saved.SaveCheckpoint(w)

	restored := NewBook()
	fill(restored, "old")
	restore, err := restored.LoadCheckpoint(sla.NewCheckpointReader(w.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	restore()
	if got := restored.Members("leads"); !cmp.Equal(got, []string{"c1", "c2", "c3"}) {
		t.Fatalf("members %v", got)
	}
	for _, cand := range []string{"c1", "c2", "c3"} {
		wm, wc := saved.Candidate(cand)
		gm, gc := restored.Candidate(cand)
		if diff := cmp.Diff(wm, gm); diff != "" {
			t.Errorf("%s memberships (-saved +restored):\n%s", cand, diff)
		}
		if len(wc) == 0 || wc[0].StartedBy == "" {
			t.Fatalf("%s: no nurture clock to compare: %+v", cand, wc)
		}
		if diff := cmp.Diff(wc, gc); diff != "" {
			t.Errorf("%s clocks (-saved +restored):\n%s", cand, diff)
		}
	}
	if got, want := restored.Figures("leads", t0, now, now), saved.Figures("leads", t0, now, now); !cmp.Equal(got, want) {
		t.Errorf("figures %+v, saved %+v", got, want)
	}
	if _, err := restored.LoadCheckpoint(sla.NewCheckpointReader(w.Bytes()[:len(w.Bytes())/2])); err == nil {
		t.Error("a damaged checkpoint was taken")
	}
}
