package scores

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// attributed sets the attribution of an application_received (or of the sync's
// details_updated).
func attributed(source, campaign, referrer string) evOpt {
	return func(e *interactions.Interaction) {
		e.Attribution = (&interactions.Attribution{Source: source, Campaign: campaign, ReferrerID: referrer}).Normalized()
		e.Referral = e.Attribution != nil && e.Attribution.ReferrerID != ""
	}
}

func employeeID(id string) evOpt { return func(e *interactions.Interaction) { e.EmployeeID = id } }

// TestFunnelBySourceRecomputed builds applications from several sources, some
// referred by earlier hires, and checks every funnel and referral figure against a
// count made straight from the events.
func TestFunnelBySourceRecomputed(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	sources := []string{"LinkedIn", " indeed", "careers", "", "Referral"}
	campaigns := []string{"spring", "", "Spring "}
	var apps []app
	for i := range 300 {
		a := app{id: "app" + strconv.Itoa(i), recruiter: "rec" + strconv.Itoa(i%4), job: "job" + strconv.Itoa(i%7)}
		at := start.Add(time.Duration(rng.Int64N(int64(80 * 24 * time.Hour))))
		referrer := ""
		if rng.IntN(4) == 0 {
			referrer = "E" + strconv.Itoa(rng.IntN(40))
		}
		a.steps = append(a.steps, step{kind: evReceived, when: at, opts: []evOpt{attributed(sources[rng.IntN(len(sources))], campaigns[rng.IntN(len(campaigns))], referrer)}})
		next := func(k interactions.Kind, opts ...evOpt) bool {
			at = at.Add(time.Duration(rng.Int64N(int64(10 * 24 * time.Hour))))
			if !at.Before(now) {
				return false
			}
			a.steps = append(a.steps, step{kind: k, when: at, opts: opts})
			return true
		}
		func() {
			if rng.IntN(5) == 0 || !next(evMessage) {
				return
			}
			if rng.IntN(2) == 0 || !next(evScheduled, interview("i"+a.id, "")) {
				return
			}
			if rng.IntN(2) == 0 || !next(evOffer) {
				return
			}
			switch rng.IntN(3) {
			case 0:
				next(evRejected, notified())
			default:
				next(evHired, employeeID("E"+strconv.Itoa(i%40)))
			}
		}()
		apps = append(apps, a)
	}
	b := book(time.UTC, wall, now, apps...)
	q := Query{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)}

	// Straight from the events.
	type want struct {
		apps, contacted, interviewed, offered, hired int
		days                                         []float64
	}
	bySource, byCampaign := map[string]*want{}, map[string]*want{}
	var hires, referralHires, whoReferred int
	type referral struct {
		referrer string
		at       time.Time
	}
	var allReferrals []referral
	for _, a := range apps {
		r := a.events()[0]
		if r.Attribution != nil && r.Attribution.ReferrerID != "" {
			allReferrals = append(allReferrals, referral{r.Attribution.ReferrerID, r.OccurredAt})
		}
	}
	for _, a := range apps {
		ev := a.events()
		r := ev[0]
		if d := r.OccurredAt; d.Before(q.From) || !d.Before(q.To.AddDate(0, 0, 1)) {
			continue
		}
		src, camp := r.Attribution.SourceKey(), r.Attribution.CampaignKey()
		for mi, m := range []map[string]*want{bySource, byCampaign} {
			k := []string{src, camp}[mi]
			w := m[k]
			if w == nil {
				w = &want{}
				m[k] = w
			}
			w.apps++
			var contacted, interviewed, offered bool
			for _, e := range ev {
				contacted = contacted || e.IsContact()
				interviewed = interviewed || e.Kind == evScheduled
				offered = offered || e.Kind == evOffer
				if e.Kind == evHired {
					w.hired++
					w.days = append(w.days, math.Round(e.OccurredAt.Sub(r.OccurredAt).Hours()/24))
				}
			}
			for _, step := range []struct {
				n  *int
				ok bool
			}{{&w.contacted, contacted}, {&w.interviewed, interviewed}, {&w.offered, offered}} {
				if step.ok {
					*step.n++
				}
			}
		}
		for _, e := range ev {
			if e.Kind != evHired {
				continue
			}
			hires++
			if r.Referral {
				referralHires++
			}
			if slices.ContainsFunc(allReferrals, func(x referral) bool { return x.referrer == e.EmployeeID && x.at.After(e.OccurredAt) }) {
				whoReferred++
			}
		}
	}
	median := func(xs []float64) *float64 {
		if len(xs) == 0 {
			return nil
		}
		slices.Sort(xs)
		return &xs[int(math.Ceil(0.5*float64(len(xs))))-1]
	}
	for _, by := range []struct {
		g    GroupBy
		want map[string]*want
	}{{ByAttributionSource, bySource}, {ByCampaign, byCampaign}} {
		q.GroupBy = by.g
		groups := b.Scores(q, now)
		if len(groups) != len(by.want) {
			t.Errorf("%s: %d groups, want %d", by.g, len(groups), len(by.want))
		}
		for _, g := range groups {
			w := by.want[g.Key]
			if w == nil {
				t.Errorf("%s: unexpected group %q", by.g, g.Key)
				continue
			}
			got := [5]int{g.Applications, *g.Contacted, *g.Interviewed, *g.Offered, *g.Hired}
			if exp := [5]int{w.apps, w.contacted, w.interviewed, w.offered, w.hired}; got != exp {
				t.Errorf("%s %q: applications, contacted, interviewed, offered, hired = %v, want %v", by.g, g.Key, got, exp)
			}
			m := median(w.days)
			if !g.TimeToHireP50Days.Set || (m == nil) != (g.TimeToHireP50Days.Value == nil) || (m != nil && *m != *g.TimeToHireP50Days.Value) {
				t.Errorf("%s %q: time to hire %+v, want %v", by.g, g.Key, g.TimeToHireP50Days, m)
			}
		}
	}
	if _, ok := bySource[interactions.NoAttribution]; !ok {
		t.Fatal("the scenario has no application without a source")
	}
	if whoReferred == 0 || referralHires == 0 {
		t.Fatalf("the scenario has %d referral hires, %d hires who referred: nothing to check", referralHires, whoReferred)
	}
	q.GroupBy = ByOrg
	org := b.Scores(q, now)[0]
	share := math.Round(float64(referralHires)/float64(hires)*10000) / 10000
	if *org.ReferralHires != referralHires || *org.HiresWhoReferred != whoReferred || *org.ReferralShareOfHires.Value != share {
		t.Errorf("org: referral hires %d, share %v, hires who referred %d; want %d, %v, %d",
			*org.ReferralHires, *org.ReferralShareOfHires.Value, *org.HiresWhoReferred, referralHires, share, whoReferred)
	}

	// The loop follows late and removed referrals: applying the referrals again in
	// reverse order, and then dropping them, moves the figure accordingly.
	for i := len(apps) - 1; i >= 0; i-- {
		apply(b, wall, now, apps[i])
	}
	if got := *b.Scores(q, now)[0].HiresWhoReferred; got != whoReferred {
		t.Errorf("after applying again in reverse: %d hires who referred, want %d", got, whoReferred)
	}
	for _, a := range apps {
		a.steps = slices.Clone(a.steps)
		a.steps[0].opts = nil
		apply(b, wall, now, a)
	}
	if got := b.Scores(q, now)[0]; *got.HiresWhoReferred != 0 || *got.ReferralHires != 0 {
		t.Errorf("without referrals: %d hires who referred, %d referral hires; want 0", *got.HiresWhoReferred, *got.ReferralHires)
	}
}

// TestAttributionArrivesLate: an application received without attribution groups
// under (none) until the ATS sync's details_updated brings its source, campaign and
// referrer; then it moves, whole, to that source and campaign, its hire counts as a
// referral hire, and its referrer's earlier hire as a hire who referred. Cost per
// application and per hire follow.
func TestAttributionArrivesLate(t *testing.T) {
	t.Parallel()
	now := moment("03-20 00:00")
	referrer := app{id: "h", recruiter: "rec", job: "job", steps: []step{
		at(evReceived, "03-01 09:00", attributed("indeed", "", "")),
		at(evMessage, "03-01 10:00"),
		at(evHired, "03-03 09:00", employeeID("E1")),
	}}
	late := app{id: "a", recruiter: "rec", job: "job", steps: []step{
		at(evReceived, "03-05 09:00"),
		at(evMessage, "03-05 10:00"),
		at(evScheduled, "03-06 09:00", interview("iv-a", "03-07 09:00")),
		at(evOffer, "03-09 09:00"),
		at(evHired, "03-10 09:00"),
	}}
	b := book(time.UTC, wall, now, referrer, late)
	q := Query{From: day("03-01"), To: day("03-19")}

	type row struct{ apps, contacted, interviewed, offered, hired int }
	groups := func(by GroupBy) map[string]row {
		t.Helper()
		q := q
		q.GroupBy = by
		out := map[string]row{}
		for _, g := range b.Scores(q, now) {
			if g.Applications > 0 {
				out[g.Key] = row{g.Applications, *g.Contacted, *g.Interviewed, *g.Offered, *g.Hired}
			}
		}
		return out
	}
	org := func() (referralHires, whoReferred int) {
		q := q
		q.GroupBy = ByOrg
		g := b.Scores(q, now)[0]
		return *g.ReferralHires, *g.HiresWhoReferred
	}
	before := map[string]row{"indeed": {1, 1, 0, 0, 1}, interactions.NoAttribution: {1, 1, 1, 1, 1}}
	if got := groups(ByAttributionSource); !maps.Equal(got, before) {
		t.Fatalf("before: %v, want %v", got, before)
	}
	if r, w := org(); r != 0 || w != 0 {
		t.Fatalf("before: %d referral hires, %d hires who referred; want 0, 0", r, w)
	}

	late.steps = append(slices.Clone(late.steps), at(interactions.KindDetailsUpdated, "03-12 09:00", attributed("LinkedIn", "Spring", "E1")))
	apply(b, wall, now, late)
	after := map[string]row{"indeed": {1, 1, 0, 0, 1}, "linkedin": {1, 1, 1, 1, 1}}
	if got := groups(ByAttributionSource); !maps.Equal(got, after) {
		t.Errorf("by source: %v, want %v", got, after)
	}
	if got, want := groups(ByCampaign), map[string]row{"spring": {1, 1, 1, 1, 1}, interactions.NoAttribution: {1, 1, 0, 0, 1}}; !maps.Equal(got, want) {
		t.Errorf("by campaign: %v, want %v", got, want)
	}
	if r, w := org(); r != 1 || w != 1 {
		t.Errorf("%d referral hires, %d hires who referred; want 1, 1", r, w)
	}
	q.GroupBy = ByAttributionSource
	gs := b.Scores(q, now)
	AddCosts(gs, map[string]float64{"linkedin": 900, interactions.NoAttribution: 50})
	for _, g := range gs {
		switch g.Key {
		case "linkedin":
			if *g.CostPerApplication.Value != 900 || *g.CostPerHire.Value != 900 {
				t.Errorf("linkedin: cost per application %v, per hire %v; want 900, 900", *g.CostPerApplication.Value, *g.CostPerHire.Value)
			}
		case interactions.NoAttribution:
			if g.Applications != 0 || g.CostPerApplication.Value != nil {
				t.Errorf("(none) after the move: %d applications, cost per application %v", g.Applications, g.CostPerApplication.Value)
			}
		}
	}
}
