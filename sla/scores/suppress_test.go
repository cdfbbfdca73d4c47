package scores

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestComplementarySuppression checks which survey figures are withheld beside a
// group under MinRespondents, by the sets of siblings a grouping has.
func TestComplementarySuppression(t *testing.T) {
	t.Parallel()
	type in struct {
		key, team string
		responses int
	}
	tests := []struct {
		name   string
		byTeam bool
		groups []in
		hidden []string // keys whose survey figures end withheld
	}{
		// Nothing under the floor: nothing withheld.
		{"none", false, []in{{"a", "", 5}, {"b", "", 9}}, nil},
		// One under the floor: the next smallest goes with it.
		{"one", false, []in{{"a", "", 12}, {"b", "", 2}, {"c", "", 7}}, []string{"b", "c"}},
		// A withheld group with no responses at all counts the same.
		{"zero", false, []in{{"a", "", 12}, {"b", "", 0}, {"c", "", 7}}, []string{"b", "c"}},
		// Ties go by key.
		{"tie", false, []in{{"a", "", 1}, {"c", "", 7}, {"b", "", 7}}, []string{"a", "b"}},
		// Two under the floor already hide each other.
		{"two", false, []in{{"a", "", 12}, {"b", "", 2}, {"c", "", 3}}, []string{"b", "c"}},
		// A single group has no siblings.
		{"single", false, []in{{"a", "", 2}}, []string{"a"}},
		// Recruiters of a team add up to the team's total: east loses its other
		// recruiter; then two are withheld org-wide, which is enough.
		{"team", true, []in{{"a", "east", 20}, {"b", "east", 2}, {"c", "west", 6}, {"d", "west", 9}}, []string{"a", "b"}},
		// A team of one withheld recruiter: the org-wide set hides the smallest
		// other (c), which leaves c alone withheld in west, so d goes too.
		{"cascade", true, []in{{"a", "east", 1}, {"c", "west", 6}, {"d", "west", 9}}, []string{"a", "c", "d"}},
		// Without byTeam (teams, jobs), only the whole answer is a set.
		{"flat", false, []in{{"a", "east", 20}, {"b", "east", 2}, {"c", "west", 6}, {"d", "west", 9}}, []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &slab{}
			var groups []Group
			var rest []withheldInputs
			for _, g := range tt.groups {
				groups = append(groups, Group{Key: g.key, SurveyResponses: surveyCount(s, int64(g.responses)),
					CNPS: cnps(s, int64(g.responses), int64(g.responses), 0)})
				rest = append(rest, withheldInputs{team: g.team})
			}
			suppressComplementary(groups, rest, tt.byTeam, s)
			var hidden []string
			for _, g := range groups {
				if g.SurveyResponses == nil {
					hidden = append(hidden, g.Key)
					if g.CNPS != nil || g.ExperienceScore != nil {
						t.Errorf("%s: responses withheld, cnps %v experience %v shown", g.Key, g.CNPS, g.ExperienceScore)
					}
				}
			}
			if diff := cmp.Diff(tt.hidden, hidden); diff != "" {
				t.Errorf("withheld (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWithholdExperience checks that a group withheld beside another computes its
// experience score without cNPS.
func TestWithholdExperience(t *testing.T) {
	t.Parallel()
	s := &slab{}
	g := Group{Key: "a", Interviews: 4, MissedInterviews: 1, SurveyResponses: n(8), CNPS: n(100)}
	g.ExperienceScore = experience(s, g, 0, 0) // (10 × 0.75 + 10 × 1) / 20
	if *g.ExperienceScore != 88 {
		t.Fatalf("experience with cNPS %d, want 88", *g.ExperienceScore)
	}
	withhold(&g, withheldInputs{}, s)
	if g.ExperienceScore == nil || *g.ExperienceScore != 75 {
		t.Errorf("experience without cNPS %v, want 75", g.ExperienceScore)
	}
}
