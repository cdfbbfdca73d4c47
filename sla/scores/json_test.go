package scores

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAppendJSON checks that AppendJSON writes exactly what encoding/json writes.
func TestAppendJSON(t *testing.T) {
	full := Group{
		Key: "job-1", Name: "Engineer", Applications: 12,
		FirstResponseP50Hours: f(3.5), FirstResponseP90Hours: f(26.04), FirstResponsePending: 1,
		ReplyP50Hours:      f(0.01),
		AttainmentByMetric: map[string]float64{"reply": 0.5, "first_response": 1, "closure": 0.3333, "promise": 0},
		SLAAttainment:      f(0.4583), Breaches: 7, SilentNow: 2, Ghosted: 1, GhostingRate: f(0.25),
		Interviews: 4, MissedInterviews: 1, SurveyResponses: n(6), CNPS: n(-17), ExperienceScore: n(64),
	}
	nasty := full
	nasty.Key = "<a href=\"x\">&amp;</a>\\ \b\f\n\r\t\x00\x1f\x7f"
	nasty.Name = "caf\u00e9 \u2028\u2029 \xff\xfe broken \xe2\x82 日本語 \U0001F600"
	nasty.AttainmentByMetric = map[string]float64{"z<": 1e-7, "a\"": 1e21, "m": math.Copysign(0, -1), "é": 123456789.125, "b": -2.5e-9}
	tests := []struct {
		name   string
		groups []Group
	}{
		{"nil", nil},
		{"empty", []Group{}},
		{"zero group: nil pointers and map", []Group{{}}},
		{"empty map", []Group{{Key: "org", Name: "Organisation", AttainmentByMetric: map[string]float64{}}}},
		{"every field", []Group{full}},
		{"escapes, invalid UTF-8, extreme floats", []Group{nasty, full}},
		{"random", randomGroups(rand.New(rand.NewPCG(7, 8)), 500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.groups)
			if err != nil {
				t.Fatal(err)
			}
			got := AppendJSON([]byte("prefix"), tt.groups)
			if string(got[:6]) != "prefix" {
				t.Fatalf("AppendJSON overwrote what was in the buffer: %.20q", got)
			}
			if string(got[6:]) != string(want) {
				t.Errorf("AppendJSON differs from encoding/json at byte %d:\n got %.300s\nwant %.300s",
					firstDiff(got[6:], want), got[6:], want)
			}
		})
	}
}

func TestAppendJSONUnsupportedFloats(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		got := string(AppendJSON(nil, []Group{{SLAAttainment: &v}}))
		var back []map[string]any
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatalf("%v: not JSON: %v: %s", v, err, got)
		}
		if back[0]["sla_attainment"] != nil {
			t.Errorf("%v: sla_attainment = %v, want null", v, back[0]["sla_attainment"])
		}
	}
}

// randomGroups returns groups with the figures a book produces: hours and ratios
// rounded as the book rounds them, some fields missing.
func randomGroups(rng *rand.Rand, count int) []Group {
	opt := func(v float64) *float64 {
		if rng.IntN(4) == 0 {
			return nil
		}
		return &v
	}
	optInt := func(v int) *int {
		if rng.IntN(4) == 0 {
			return nil
		}
		return &v
	}
	metrics := []string{"first_response", "reply", "contact_gap", "stage_stall", "interview_outcome", "interview_feedback", "closure", "promise"}
	groups := make([]Group, count)
	for i := range groups {
		g := &groups[i]
		g.Key = "job-" + string(rune('a'+rng.IntN(26))) + string(rune(0x4e00+rng.IntN(100)))
		g.Name = "Title " + string(rune(rng.IntN(0x300)))
		g.Applications = rng.IntN(1000)
		g.FirstResponseP50Hours = opt(reported[rng.IntN(nBuckets)])
		g.FirstResponseP90Hours = opt(reported[rng.IntN(nBuckets)])
		g.FirstResponsePending = rng.IntN(10)
		g.ReplyP50Hours = opt(reported[rng.IntN(nBuckets)])
		g.AttainmentByMetric = map[string]float64{}
		for _, m := range metrics {
			if rng.IntN(3) > 0 {
				g.AttainmentByMetric[m] = round(rng.Float64(), 4)
			}
		}
		g.SLAAttainment = opt(round(rng.Float64(), 4))
		g.Breaches = rng.IntN(100)
		g.SilentNow = rng.IntN(10)
		g.Ghosted = rng.IntN(10)
		g.GhostingRate = opt(round(rng.Float64(), 4))
		g.Interviews = rng.IntN(50)
		g.MissedInterviews = rng.IntN(5)
		g.SurveyResponses = optInt(rng.IntN(40))
		g.CNPS = optInt(rng.IntN(201) - 100)
		g.ExperienceScore = optInt(rng.IntN(101))
		if rng.IntN(2) == 0 { // grouped by attribution
			g.Contacted, g.Interviewed, g.Offered, g.Hired = n(rng.IntN(90)), n(rng.IntN(50)), n(rng.IntN(9)), n(rng.IntN(5))
			g.TimeToHireP50Days = Some(opt(float64(rng.IntN(nHireDays))))
			g.CostPerApplication, g.CostPerHire = Some(opt(round(rng.Float64()*500, 2))), Some(opt(round(rng.Float64()*9000, 2)))
		}
		if rng.IntN(3) == 0 { // the org group
			g.ReferralHires, g.HiresWhoReferred = n(rng.IntN(9)), n(rng.IntN(3))
			g.ReferralShareOfHires = Some(opt(round(rng.Float64(), 4)))
		}
	}
	return groups
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestAppendFloat checks the decimal shortcut against strconv over the figures the
// book writes (multiples of 0.0001 and 0.01) and others.
func TestAppendFloat(t *testing.T) {
	check := func(v float64) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFloat(nil, v); string(got) != string(want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", v, got, want)
		}
	}
	for n := -20000; n <= 300_000; n++ {
		check(round(float64(n)/10000, 4))
		check(round(float64(n)/100, 2))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50_000 {
		check(round(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(14))), 4))
		if v := math.Float64frombits(rng.Uint64()); !math.IsNaN(v) && !math.IsInf(v, 0) {
			check(v)
		}
		check(float64(rng.Int64N(1<<53)) / 1e4)
	}
	for _, v := range []float64{0, math.Copysign(0, -1), 1e-7, 99999999999.9999, 1e11, 1e15, -1e15, 999999999999999.9, 1e21, 5e-324, math.MaxFloat64} {
		check(v)
	}
}
