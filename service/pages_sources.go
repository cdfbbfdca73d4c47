package service

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla/scores"
)

// The dashboard's Sources panel: per attribution source, the funnel of the period's
// applications, cost per hire, time to hire and experience score side by side. It
// reads GET /v1/scores?group_by=attribution_source for the dashboard's period.

// sourcesView is the Sources panel.
type sourcesView struct {
	Steps    []string // the funnel's step labels, in order
	Currency string
	Rows     []sourceRow
}

// sourceRow is one attribution source.
type sourceRow struct {
	Key                                 string
	Steps                               []sourceStep
	CostPerHire, TimeToHire, Experience figure
}

// sourceStep is one funnel step of a source: its count, the share of the source's
// applications that reached it, and the bar's width (0–100).
type sourceStep struct {
	Step           string
	Count          int
	Percent, Width string
}

// sourceSteps are the funnel's steps: the API's field and the column's label.
var sourceSteps = []struct{ field, label string }{
	{"applications", "Received"},
	{"contacted", "Contacted"},
	{"interviewed", "Interviewed"},
	{"offered", "Offered"},
	{"hired", "Hired"},
}

// sourcesPanel reads the attribution sources of q's period (q as the dashboard reads
// it: its recruiters, drill-down included), the most applications first.
func (s *api) sourcesPanel(c *gin.Context, q scores.Query) (sourcesView, error) {
	q.GroupBy = scores.ByAttributionSource
	groups, err := s.scoreGroups(c, q)
	if err != nil {
		return sourcesView{}, err
	}
	return sourcesOf(groups, s.spend.Currency()), nil
}

// sourcesOf lays groups by attribution source out as the panel shows them: the most
// applications first, ties by name, applications without a source last.
func sourcesOf(groups []scores.Group, currency string) sourcesView {
	v := sourcesView{Currency: currency}
	for _, st := range sourceSteps {
		v.Steps = append(v.Steps, st.label)
	}
	groups = slices.Clone(groups)
	slices.SortStableFunc(groups, func(a, b scores.Group) int {
		if an, bn := a.Key == interactions.NoAttribution, b.Key == interactions.NoAttribution; an != bn {
			if an {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(b.Applications, a.Applications); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	for i := range groups {
		g := &groups[i]
		if g.Applications == 0 {
			continue // touched by the period's events, but none of its applications
		}
		row := sourceRow{Key: g.Key}
		for _, st := range sourceSteps {
			n := g.Applications
			switch st.field {
			case "contacted":
				n = deref(g.Contacted)
			case "interviewed":
				n = deref(g.Interviewed)
			case "offered":
				n = deref(g.Offered)
			case "hired":
				n = deref(g.Hired)
			}
			p := float64(n) / float64(g.Applications)
			row.Steps = append(row.Steps, sourceStep{Step: st.field, Count: n, Percent: percent(&p), Width: coord(min(p, 1) * 100)})
		}
		row.CostPerHire = figure{Field: "cost_per_hire", Label: "Cost per hire", Value: jsonValue(g.CostPerHire.Value), Text: "—"}
		if v := g.CostPerHire.Value; v != nil {
			row.CostPerHire.Text = strconv.FormatFloat(*v, 'f', 2, 64) + " " + currency
		}
		row.TimeToHire = figure{Field: "time_to_hire_p50_days", Label: "Time to hire", Value: jsonValue(g.TimeToHireP50Days.Value), Text: "—"}
		if v := g.TimeToHireP50Days.Value; v != nil {
			row.TimeToHire.Text = strconv.FormatFloat(*v, 'f', -1, 64) + " days"
			if *v == 1 {
				row.TimeToHire.Text = "1 day"
			}
		}
		row.Experience = figureOf(g, "experience_score", "Experience score")
		v.Rows = append(v.Rows, row)
	}
	return v
}

func deref(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}
