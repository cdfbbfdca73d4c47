package service

import (
	"slices"
	"testing"

	"github.com/goodwillhq/goodwill/sla/scores"
)

// TestSourcesOf checks the Sources panel's layout rules on groups as the API gives
// them.
func TestSourcesOf(t *testing.T) {
	n := func(v int) *int { return &v }
	f := func(v float64) *float64 { return &v }
	groups := []scores.Group{
		{Key: "(none)", Applications: 9, Contacted: n(9), Interviewed: n(0), Offered: n(0), Hired: n(0)},
		{Key: "indeed", Applications: 4, Contacted: n(2), Interviewed: n(1), Offered: n(1), Hired: n(1),
			CostPerHire: scores.Some(f(1250.5)), TimeToHireP50Days: scores.Some(f(1))},
		{Key: "linkedin", Applications: 4, Contacted: n(4), Interviewed: n(2), Offered: n(0), Hired: n(0),
			CostPerHire: scores.Some(nil), TimeToHireP50Days: scores.Some(nil)},
		{Key: "agency", Applications: 0}, // its applications came before the period
		{Key: "referral", Applications: 6, Contacted: n(6), Interviewed: n(3), Offered: n(2), Hired: n(2),
			TimeToHireP50Days: scores.Some(f(12.5))},
	}
	v := sourcesOf(groups, "EUR")

	var keys []string
	for _, r := range v.Rows {
		keys = append(keys, r.Key)
	}
	// Most applications first, ties by name, no source last, none without applications.
	if want := []string{"referral", "indeed", "linkedin", "(none)"}; !slices.Equal(keys, want) {
		t.Fatalf("rows %v, want %v", keys, want)
	}
	if want := []string{"Received", "Contacted", "Interviewed", "Offered", "Hired"}; !slices.Equal(v.Steps, want) {
		t.Errorf("steps %v, want %v", v.Steps, want)
	}
	for _, tc := range []struct {
		name       string
		row        sourceRow
		counts     []int
		widths     []string
		cost, time string
	}{
		// Shares of the source's own applications; a cost in the currency; one day.
		{"indeed", v.Rows[1], []int{4, 2, 1, 1, 1}, []string{"100", "50", "25", "25", "25"}, "1250.50 EUR", "1 day"},
		// No spend, no hire: dashes.
		{"linkedin", v.Rows[2], []int{4, 4, 2, 0, 0}, []string{"100", "100", "50", "0", "0"}, "—", "—"},
		// Cost not set (no spend route answered), half days.
		{"referral", v.Rows[0], []int{6, 6, 3, 2, 2}, []string{"100", "100", "50", "33.3", "33.3"}, "—", "12.5 days"},
	} {
		var counts []int
		var widths []string
		for _, s := range tc.row.Steps {
			counts, widths = append(counts, s.Count), append(widths, s.Width)
		}
		if !slices.Equal(counts, tc.counts) || !slices.Equal(widths, tc.widths) {
			t.Errorf("%s: counts %v widths %v, want %v %v", tc.name, counts, widths, tc.counts, tc.widths)
		}
		if tc.row.CostPerHire.Text != tc.cost || tc.row.TimeToHire.Text != tc.time {
			t.Errorf("%s: cost %q, time to hire %q, want %q, %q", tc.name, tc.row.CostPerHire.Text, tc.row.TimeToHire.Text, tc.cost, tc.time)
		}
	}
}
