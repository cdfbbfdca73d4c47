package sla

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

const testNurture = "nurture:cand-1"

// pev is an event of the candidate's nurture document: candidate-level unless app is
// given.
func pev(id string, kind interactions.Kind, when string, opts ...evOpt) interactions.Interaction {
	e := ev(id, kind, when, opts...)
	e.ApplicationID = ""
	return e
}

func pool(id string) evOpt { return func(e *interactions.Interaction) { e.PoolID = id } }
func ofApp(id string) evOpt {
	return func(e *interactions.Interaction) { e.ApplicationID = id }
}

// nurtureRows renders clocks as rows, ids without the document's id.
func nurtureRows(clocks []Clock) []row {
	out := rows(clocks)
	for i := range out {
		out[i].ID = out[i].ID[len(testNurture)+1:]
	}
	return out
}

func TestDeriveNurture(t *testing.T) {
	t.Parallel()
	office := mustCompile(DefaultCalendar("UTC", ""))
	cals := map[string]BusinessClock{CalendarBusiness: office, Calendar24x7: Wall{}}
	pools := map[string]Pool{
		"wall":     {ID: "wall", Cadence: interactions.MustParseDuration("2d"), Calendar: Calendar24x7, WarnRatio: 0.5},
		"business": {ID: "business", Cadence: interactions.MustParseDuration("2d"), Calendar: CalendarBusiness},
	}
	tests := []struct {
		name   string
		events []interactions.Interaction
		now    string
		want   []row
	}{
		{
			// 24x7: due 48 hours after pool_added; breached when nobody touches.
			name:   "untouched on 24x7",
			events: []interactions.Interaction{pev("a", interactions.KindPoolAdded, "03-06 16:00", pool("wall"))},
			now:    "03-09 10:00",
			want:   []row{{"nurture/wall/a", StateBreached, "03-06 16:00", "03-08 16:00", ""}},
		},
		{
			// Business: Friday 16:00 + 2 business days is Tuesday 16:00.
			name:   "untouched on business days",
			events: []interactions.Interaction{pev("a", interactions.KindPoolAdded, "03-06 16:00", pool("business"))},
			now:    "03-09 10:00",
			want:   []row{{"nurture/business/a", StateRunning, "03-06 16:00", "03-10 16:00", ""}},
		},
		{
			// A candidate-level message restarts the clock: met, and the next runs from it.
			name: "a candidate-level contact restarts",
			events: []interactions.Interaction{
				pev("a", interactions.KindPoolAdded, "03-02 10:00", pool("wall")),
				pev("m", interactions.KindMessage, "03-03 10:00"),
			},
			now: "03-03 12:00",
			want: []row{
				{"nurture/wall/a", StateMet, "03-02 10:00", "03-04 10:00", "03-03 10:00"},
				{"nurture/wall/m", StateRunning, "03-03 10:00", "03-05 10:00", ""},
			},
		},
		{
			// A contact of one of the candidate's applications restarts it too; an
			// inbound message and a note are no contacts.
			name: "an application's contact restarts, an inbound message does not",
			events: []interactions.Interaction{
				pev("a", interactions.KindPoolAdded, "03-02 10:00", pool("wall")),
				pev("in", interactions.KindMessage, "03-02 11:00", inbound()),
				pev("n", interactions.KindNote, "03-02 12:00"),
				pev("s", interactions.KindInterviewScheduled, "03-05 10:00", ofApp("app-old"), interview("i")),
			},
			now: "03-05 12:00",
			want: []row{
				{"nurture/wall/a", StateBreached, "03-02 10:00", "03-04 10:00", "03-05 10:00"},
				{"nurture/wall/s", StateRunning, "03-05 10:00", "03-07 10:00", ""},
			},
		},
		{
			// pool_removed stops it canceled; contacts after it start nothing.
			name: "removal",
			events: []interactions.Interaction{
				pev("a", interactions.KindPoolAdded, "03-02 10:00", pool("business")),
				pev("r", interactions.KindPoolRemoved, "03-03 10:00", pool("business")),
				pev("m", interactions.KindMessage, "03-03 11:00"),
			},
			now:  "03-09 10:00",
			want: []row{{"nurture/business/a", StateCanceled, "03-02 10:00", "03-04 10:00", "03-03 10:00"}},
		},
		{
			// Applying converts the membership: the clock stops, and later contacts
			// start none.
			name: "conversion stops it",
			events: []interactions.Interaction{
				pev("a", interactions.KindPoolAdded, "03-02 10:00", pool("business")),
				pev("ap", interactions.KindApplicationReceived, "03-03 10:00", ofApp("app-new")),
				pev("m", interactions.KindMessage, "03-03 11:00", ofApp("app-new")),
			},
			now:  "03-09 10:00",
			want: []row{{"nurture/business/a", StateCanceled, "03-02 10:00", "03-04 10:00", "03-03 10:00"}},
		},
		{
			// Two pools: one contact restarts both; a repeated pool_added changes
			// nothing; an unknown (deleted) pool gives no clock.
			name: "two pools",
			events: []interactions.Interaction{
				pev("a1", interactions.KindPoolAdded, "03-02 10:00", pool("wall")),
				pev("a2", interactions.KindPoolAdded, "03-02 10:00", pool("business")),
				pev("a3", interactions.KindPoolAdded, "03-02 11:00", pool("wall")),
				pev("a4", interactions.KindPoolAdded, "03-02 11:00", pool("gone")),
				pev("c", interactions.KindCall, "03-03 10:00"),
			},
			now: "03-03 10:00",
			want: []row{
				{"nurture/business/a2", StateMet, "03-02 10:00", "03-04 10:00", "03-03 10:00"},
				{"nurture/wall/a1", StateMet, "03-02 10:00", "03-04 10:00", "03-03 10:00"},
				{"nurture/business/c", StateRunning, "03-03 10:00", "03-05 10:00", ""},
				{"nurture/wall/c", StateRunning, "03-03 10:00", "03-05 10:00", ""},
			},
		},
		{
			// Added again after a removal: a new membership, a new clock.
			name: "re-added",
			events: []interactions.Interaction{
				pev("a", interactions.KindPoolAdded, "03-02 10:00", pool("wall")),
				pev("r", interactions.KindPoolRemoved, "03-02 11:00", pool("wall")),
				pev("b", interactions.KindPoolAdded, "03-02 12:00", pool("wall")),
			},
			now: "03-02 13:00",
			want: []row{
				{"nurture/wall/a", StateCanceled, "03-02 10:00", "03-04 10:00", "03-02 11:00"},
				{"nurture/wall/b", StateRunning, "03-02 12:00", "03-04 12:00", ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := DeriveNurture(testNurture, tt.events, pools, cals, moment(tt.now))
			if diff := cmp.Diff(tt.want, nurtureRows(got)); diff != "" {
				t.Errorf("clocks (-want +got):\n%s\nexplain:\n%s", diff, explainAll(got))
			}
			// The same events in reverse order give the same clocks.
			rev := make([]interactions.Interaction, len(tt.events))
			for i, e := range tt.events {
				rev[len(rev)-1-i] = e
			}
			if diff := cmp.Diff(got, DeriveNurture(testNurture, rev, pools, cals, moment(tt.now))); diff != "" {
				t.Errorf("order matters (-forward +reverse):\n%s", diff)
			}
			for _, c := range got {
				if c.Metric != MetricNurture || c.PolicyID[:5] != "pool:" {
					t.Errorf("clock %+v", c)
				}
			}
		})
	}
}

func TestPoolValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pool  Pool
		field string // "" when valid
	}{
		{"valid", Pool{ID: "leads", Cadence: interactions.MustParseDuration("42d")}, ""},
		{"no cadence", Pool{ID: "leads"}, "cadence"},
		{"bad id", Pool{ID: "Leads!", Cadence: interactions.MustParseDuration("1d")}, "id"},
		{"bad calendar", Pool{ID: "leads", Cadence: interactions.MustParseDuration("1d"), Calendar: "weekly"}, "calendar"},
		{"bad warn ratio", Pool{ID: "leads", Cadence: interactions.MustParseDuration("1d"), WarnRatio: 2}, "warn_ratio"},
	}
	for _, tt := range tests {
		errs := tt.pool.Validate()
		switch {
		case tt.field == "" && len(errs) > 0:
			t.Errorf("%s: %v", tt.name, errs)
		case tt.field != "" && (len(errs) != 1 || errs[0].Field != tt.field):
			t.Errorf("%s: %v, want one error on %s", tt.name, errs, tt.field)
		}
	}
}

// TestEnginePoolsAcrossReplicas: a pool changed through one replica reaches the other
// within the versions poll, which re-derives its nurture clocks with it; and a
// pool_added naming an unknown pool creates it quiet.
func TestEnginePoolsAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	apps := &memApps{}
	var yes atomic.Bool
	yes.Store(true)
	rec := &recorder{}
	a := sharedEngine(t, store, apps, rec.consume, &yes, "1d")
	b := sharedEngine(t, store, apps, rec.consume, &yes, "1d")

	if err := a.EnsurePools(ctx, []string{"leads"}); err != nil {
		t.Fatal(err)
	}
	if p, err := a.Pool("leads"); err != nil || p.Alerts || p.OwnerID != "" || p.Cadence.String() != "42d" {
		t.Fatalf("auto-created pool %+v, %v", p, err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	doc := apps.put(interactions.NurtureID("c1"), interactions.Interaction{ID: "p1", Kind: interactions.KindPoolAdded, PoolID: "leads",
		Direction: interactions.Internal, OccurredAt: now, ReceivedAt: now})
	apply(t, b, now, doc)
	// Through a: a 1-hour cadence on 24x7.
	if _, _, err := a.PutPool(ctx, Pool{ID: "leads", Cadence: interactions.MustParseDuration("1h"), Calendar: Calendar24x7, OwnerID: "olga", Alerts: true}, now); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replica b to take the new cadence", func() bool {
		p, err := b.Pool("leads")
		if err != nil || p.OwnerID != "olga" {
			return false
		}
		clocks, err := b.Clocks(ctx, doc)
		return err == nil && len(clocks) == 1 && clocks[0].DueAt.Equal(now.Add(time.Hour))
	})
}
