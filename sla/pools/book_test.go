package pools

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestFiguresRecomputedFromEvents: random histories of pooled candidates go through
// the engine's derivation and the book; the pool's figures must equal those
// recomputed here straight from the raw events, by a simulation of the rules written
// independently of sla.DeriveNurture and Memberships.
func TestFiguresRecomputedFromEvents(t *testing.T) {
	t.Parallel()
	cadence := 3 * 24 * time.Hour
	pools := map[string]sla.Pool{
		"leads": {ID: "leads", Cadence: interactions.MustParseDuration("3d"), Calendar: sla.Calendar24x7, WarnRatio: 0.5},
		"other": {ID: "other", Cadence: interactions.MustParseDuration("1d"), Calendar: sla.Calendar24x7},
	}
	cals := map[string]sla.BusinessClock{sla.Calendar24x7: sla.Wall{}}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		book := NewBook()
		var all []interactions.Interaction
		byCand := map[string][]interactions.Interaction{}
		for c := range 30 {
			cand := fmt.Sprintf("c%d", c)
			at := t0
			n := 0
			for range rng.IntN(12) {
				at = at.Add(time.Duration(rng.IntN(4*24*60)) * time.Minute)
				n++
				e := interactions.Interaction{ID: fmt.Sprintf("%s-%02d", cand, n), CandidateID: cand, OccurredAt: at, ReceivedAt: at, Source: "api"}
				switch r := rng.IntN(10); {
				case r < 3:
					e.Kind, e.PoolID, e.Direction = interactions.KindPoolAdded, []string{"leads", "leads", "other"}[rng.IntN(3)], interactions.Internal
				case r < 4:
					e.Kind, e.PoolID, e.Direction = interactions.KindPoolRemoved, "leads", interactions.Internal
				case r < 5:
					e.Kind, e.ApplicationID, e.Direction = interactions.KindApplicationReceived, cand+"-app", interactions.Inbound
				case r < 8:
					e.Kind, e.Direction = interactions.KindMessage, interactions.Outbound
				default:
					e.Kind, e.Direction = interactions.KindMessage, interactions.Inbound
				}
				byCand[cand] = append(byCand[cand], e)
				all = append(all, e)
			}
		}
		now := t0.Add(40 * 24 * time.Hour)
		for cand, events := range byCand {
			shuffled := slices.Clone(events)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			id := interactions.NurtureID(cand)
			app := interactions.DeriveApplication(id, sortedCopy(shuffled))
			book.Apply(app, sla.DeriveNurture(id, shuffled, pools, cals, now), now)
		}
		from, to := t0.Add(5*24*time.Hour), t0.Add(25*24*time.Hour)
		got := book.Figures("leads", from, to, now)
		want := recompute(all, "leads", cadence, from, to, now)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d: figures (-recomputed +book):\n%s", seed, diff)
		}
		if seed == 0 && (want.Converted == 0 || want.TouchedOnTimeRate == nil) {
			t.Fatalf("seed 0 exercises too little: %+v", want)
		}
	}
}

func sortedCopy(events []interactions.Interaction) []interactions.Interaction {
	out := slices.Clone(events)
	interactions.SortEvents(out)
	return out
}

// recompute walks each candidate's raw events in time order, for one pool on the 24x7
// calendar: a membership runs from pool_added to pool_removed or the next
// application_received; its touch windows run from the start or an outbound message
// to the next outbound message or the membership's end.
func recompute(events []interactions.Interaction, poolID string, cadence time.Duration, from, to, now time.Time) Figures {
	byCand := map[string][]interactions.Interaction{}
	for _, e := range events {
		byCand[e.CandidateID] = append(byCand[e.CandidateID], e)
	}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	var f Figures
	met, breached, active := 0, 0, 0
	var days []float64
	for _, evs := range byCand {
		sort.Slice(evs, func(i, j int) bool {
			if !evs[i].OccurredAt.Equal(evs[j].OccurredAt) {
				return evs[i].OccurredAt.Before(evs[j].OccurredAt)
			}
			return evs[i].ID < evs[j].ID
		})
		member := false
		var added, window time.Time
		closeWindow := func(at time.Time, touched bool) {
			due := window.Add(cadence)
			switch {
			case at.After(due):
				if in(due) {
					breached++
				}
			case touched && in(at):
				met++
			}
		}
		endMembership := func(at time.Time) {
			if added.Before(to) && !at.Before(from) {
				active++
			}
			member = false
		}
		for _, e := range evs {
			t := e.OccurredAt
			switch {
			case e.Kind == interactions.KindPoolAdded && e.PoolID == poolID && !member:
				member, added, window = true, t, t
			case e.Kind == interactions.KindPoolRemoved && e.PoolID == poolID && member:
				closeWindow(t, false)
				endMembership(t)
			case e.Kind == interactions.KindApplicationReceived && member:
				closeWindow(t, false)
				endMembership(t)
				if in(t) {
					f.Converted++
					days = append(days, t.Sub(added).Hours()/24)
				}
			case e.Kind == interactions.KindMessage && e.Direction == interactions.Outbound && member:
				closeWindow(t, true)
				window = t
			}
		}
		if member {
			f.Members++
			if added.Before(to) {
				active++
			}
			if due := window.Add(cadence); !now.Before(due) {
				f.OverdueNow++
				if in(due) {
					breached++
				}
			}
		}
	}
	if met+breached > 0 {
		r := math.Round(float64(met)/float64(met+breached)*10000) / 10000
		f.TouchedOnTimeRate = &r
	}
	if active > 0 {
		r := math.Round(float64(f.Converted)/float64(active)*10000) / 10000
		f.ConversionRate = &r
	}
	if len(days) > 0 {
		sort.Float64s(days)
		m := days[len(days)/2]
		if len(days)%2 == 0 {
			m = (days[len(days)/2-1] + days[len(days)/2]) / 2
		}
		m = math.Round(m*100) / 100
		f.MedianDaysToConvert = &m
	}
	return f
}
