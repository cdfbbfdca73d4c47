package service_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestSurveySuppression: survey_responses is null below five respondents, like
// cnps; and where sibling groups add up to a shown total, a lone withheld group
// takes the next smallest with it — recruiters of one team, teams of the
// organisation, the two sides of the sentiment split — in JSON and CSV alike.
//
// Recruiters and their survey answers, each candidate answered within the hour:
// pat 6 and quin 2 (team North), ray 7 (team South), sol 3 (team West): 18 in all.
func TestSurveySuppression(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{Now: func() time.Time { return scoresNow }})
	teams := map[string]string{"pat": "North", "quin": "North", "ray": "South", "sol": "West"}
	answers := map[string]int{"pat": 6, "quin": 2, "ray": 7, "sol": 3}
	var items []map[string]any
	for id, team := range teams {
		if r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+id, servicetest.AdminKey, map[string]any{"name": id, "team": team}); r.Status >= 300 {
			t.Fatalf("recruiter %s: %d %s", id, r.Status, r.Body)
		}
		for i := range answers[id] {
			app := fmt.Sprintf("%s-%d", id, i)
			base := map[string]any{"application_id": app, "candidate_id": "cand-" + app}
			add := func(kind, at string, extra map[string]any) {
				it := map[string]any{"kind": kind, "occurred_at": "2031-03-" + at + ":00Z", "external_id": fmt.Sprintf("%s-%d", app, len(items))}
				for k, v := range base {
					it[k] = v
				}
				for k, v := range extra {
					it[k] = v
				}
				items = append(items, it)
			}
			add("application_received", "03T09:00", map[string]any{"recruiter_id": id, "job_id": "job-" + id})
			add("message", "03T09:30", map[string]any{"direction": "outbound", "channel": "email"})
			add("rejected", "04T10:00", map[string]any{"candidate_notified": true})
			add("survey_response", "12T12:00", map[string]any{"score": 9})
		}
	}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{"interactions": items}); r.Status != http.StatusCreated {
		t.Fatalf("seed: %d %s", r.Status, r.Body)
	}
	// survey returns each group's survey_responses and cnps as JSON text.
	survey := func(groupBy string) map[string][2]string {
		t.Helper()
		r := srv.Do(t, http.MethodGet, "/v1/scores?group_by="+groupBy+"&"+scoresPeriod, servicetest.AdminKey, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("scores: %d %s", r.Status, r.Body)
		}
		var out struct{ Groups []map[string]json.RawMessage }
		r.JSON(t, &out)
		m := map[string][2]string{}
		for _, g := range out.Groups {
			var key string
			_ = json.Unmarshal(g["key"], &key)
			m[key] = [2]string{string(g["survey_responses"]), string(g["cnps"])}
		}
		return m
	}
	servicetest.Eventually(t, 5*time.Second, "the scores", func() bool { return survey("org")["org"][0] == "18" })

	null := [2]string{"null", "null"}
	for _, tc := range []struct {
		groupBy string
		want    map[string][2]string
	}{
		// quin's 2 are withheld, and with them pat's 6: North shows 8. sol's 3 are
		// withheld alone in West, the only one there; org-wide, three are withheld.
		{"recruiter", map[string][2]string{"pat": null, "quin": null, "ray": {"7", "100"}, "sol": null}},
		// West's 3 are withheld: the org's 18 would tell them but for South's 7.
		{"team", map[string][2]string{"North": {"8", "100"}, "South": null, "West": null}},
		// Jobs add up to the org too, but have no teams: quin's and sol's jobs are
		// withheld together, which is enough.
		{"job", map[string][2]string{"job-pat": {"6", "100"}, "job-quin": null, "job-ray": {"7", "100"}, "job-sol": null}},
	} {
		t.Run(tc.groupBy, func(t *testing.T) {
			got := survey(tc.groupBy)
			for key, want := range tc.want {
				if got[key] != want {
					t.Errorf("%s: survey_responses, cnps = %v, want %v", key, got[key], want)
				}
			}
			// The CSV says the same: empty cells where the JSON has null.
			r := srv.Do(t, http.MethodGet, "/v1/scores.csv?group_by="+tc.groupBy+"&"+scoresPeriod, servicetest.AdminKey, nil)
			rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
			if err != nil || len(rows) < 2 {
				t.Fatalf("CSV %s: %v", r.Body, err)
			}
			col := map[string]int{}
			for i, name := range rows[0] {
				col[name] = i
			}
			for _, row := range rows[1:] {
				want := tc.want[row[col["key"]]]
				for i, field := range []string{"survey_responses", "cnps"} {
					w := want[i]
					if w == "null" {
						w = ""
					}
					if got := row[col[field]]; got != w {
						t.Errorf("CSV %s %s = %q, want %q", row[col["key"]], field, got, w)
					}
				}
			}
		})
	}

	// Every candidate's clocks were met: the all-met side would show the 18 of the
	// scores, telling that the breached side has none; both are withheld.
	r := srv.Do(t, http.MethodGet, "/v1/scores/sentiment?"+scoresPeriod, servicetest.AdminKey, nil)
	var sent struct {
		AllMet   map[string]*int `json:"all_met"`
		Breached map[string]*int `json:"breached"`
	}
	r.JSON(t, &sent)
	for side, c := range map[string]map[string]*int{"all_met": sent.AllMet, "breached": sent.Breached} {
		if c["responses"] != nil || c["cnps"] != nil {
			t.Errorf("sentiment %s = responses %v cnps %v, want both null: %s", side, c["responses"], c["cnps"], r.Body)
		}
	}
}
