package scores

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Complementary suppression. Survey figures (survey_responses, cnps) of a group of
// fewer than MinRespondents responses are withheld. That alone is not enough when
// sibling groups add up to a total that is shown: with exactly one sibling withheld,
// the total minus the others gives it away. Sibling groups here are the groups of one
// answer, which split its scope (the organisation, or the recruiters a key may see)
// whose total group_by=org shows, and, grouped by recruiter, the recruiters of one
// team, whose total group_by=team shows. In every such set where exactly one group's
// figures are withheld, the next smallest group's are withheld too (fewest responses,
// then by key), until no set has exactly one. The experience score of a group whose
// figures are withheld this way leaves cNPS out, as it does below MinRespondents.

// withheldInputs is what suppression needs of a group besides its figures: its team
// (grouped by recruiter) and what its experience score is computed from.
type withheldInputs struct {
	team                      string
	rejected, ghostedRejected int64
}

// suppressComplementary withholds the survey figures of groups as the rule above
// says; byTeam also takes each team's recruiters as a set of siblings. rest is
// parallel to groups; figures come from s.
func suppressComplementary(groups []Group, rest []withheldInputs, byTeam bool, s *slab) {
	if len(groups) < 2 {
		return
	}
	// The smaller sets first, the whole answer last, starting over after each
	// change: a team's own sibling hides first, rather than the smallest group of
	// the organisation.
	var sets [][]int
	if byTeam {
		teams := map[string][]int{}
		for i, r := range rest {
			teams[r.team] = append(teams[r.team], i)
		}
		for _, team := range slices.Sorted(maps.Keys(teams)) {
			if len(teams[team]) < len(groups) {
				sets = append(sets, teams[team])
			}
		}
	}
	all := make([]int, len(groups))
	for i := range groups {
		all[i] = i
	}
	sets = append(sets, all)
	for changed := true; changed; {
		changed = false
		for _, set := range sets {
			if i, ok := loneShown(groups, set); ok {
				withhold(&groups[i], rest[i], s)
				changed = true
				break
			}
		}
	}
}

// loneShown returns the group of set to withhold when exactly one of set's groups is
// withheld: the shown one with the fewest responses (ties: the smallest key).
func loneShown(groups []Group, set []int) (int, bool) {
	withheld, pick := 0, -1
	for _, i := range set {
		g := &groups[i]
		if g.SurveyResponses == nil {
			withheld++
			continue
		}
		if pick < 0 || cmp.Or(cmp.Compare(*g.SurveyResponses, *groups[pick].SurveyResponses), strings.Compare(g.Key, groups[pick].Key)) < 0 {
			pick = i
		}
	}
	return pick, withheld == 1 && pick >= 0
}

// withhold clears a group's survey figures and computes its experience score without
// them.
func withhold(g *Group, r withheldInputs, s *slab) {
	g.SurveyResponses, g.CNPS = nil, nil
	g.ExperienceScore = experience(s, *g, r.rejected, r.ghostedRejected)
}
