package sla

import (
	"slices"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// TestEngineDueBy: the open clocks of the recruiters named, due by a time — running
// ones included, unlike Overdue — most overdue first.
func TestEngineDueBy(t *testing.T) {
	t.Parallel()
	_, apps, _, e := newEngine(t, "1h")
	now := time.Now().UTC().Truncate(time.Millisecond)
	receivedBy := func(id, recruiter string, at time.Time) interactions.Application {
		in := received(interactions.KindApplicationReceived, at, at)
		in.RecruiterID = recruiter
		return apps.put(id, in)
	}
	apply(t, e, now,
		receivedBy("soon", "r1", now),                   // due in an hour, running
		receivedBy("late", "r1", now.Add(-2*time.Hour)), // an hour overdue
		receivedBy("other", "r2", now),
	)
	ids := func(items []OverdueItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ApplicationID)
		}
		return out
	}
	for _, tc := range []struct {
		recruiters []string
		until      time.Duration
		want       []string
	}{
		{[]string{"r1"}, 30 * time.Minute, []string{"late"}},
		{[]string{"r1"}, 2 * time.Hour, []string{"late", "soon"}},
		{[]string{"r1", "r2"}, 2 * time.Hour, []string{"late", "other", "soon"}},
		{[]string{"r3"}, 2 * time.Hour, nil},
		{nil, 2 * time.Hour, nil},
	} {
		got := ids(e.DueBy(tc.recruiters, now.Add(tc.until)))
		if tc.want != nil && len(got) == 3 { // "other" and "soon" are due at the same moment: by clock id
			slices.Sort(got[1:])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("DueBy(%v, +%s) = %v, want %v", tc.recruiters, tc.until, got, tc.want)
		}
	}
	if got := e.DueBy([]string{"r1"}, now.Add(2*time.Hour)); got[1].State != StateRunning || got[0].State != StateBreached {
		t.Errorf("states %s, %s", got[0].State, got[1].State)
	}
}
