package service_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/sla/scores"
)

// scoresNow is the server's clock in the scores tests: a Wednesday, after every
// seeded event. It is fixed, and ahead of the real clock so that the scheduler never
// waits on a deadline it cannot reach.
var scoresNow = time.Date(2031, 3, 19, 12, 0, 0, 0, time.UTC)

// scoresPeriod covers every seeded event.
const scoresPeriod = "from=2031-02-01&to=2031-03-19"

// groupFields are the fields of a score group the API documents, exactly.
var groupFields = []string{"key", "name", "applications", "first_response_p50_hours",
	"first_response_p90_hours", "first_response_pending", "reply_p50_hours",
	"attainment_by_metric", "sla_attainment", "breaches", "silent_now", "ghosted",
	"ghosting_rate", "interviews", "missed_interviews", "survey_responses", "cnps",
	"experience_score"}

// csvHeader is the CSV's header row: the fields, attainment_by_metric spread over the
// metrics in their order.
var csvHeader = []string{"key", "name", "applications", "first_response_p50_hours",
	"first_response_p90_hours", "first_response_pending", "reply_p50_hours",
	"attainment_first_response", "attainment_reply", "attainment_contact_gap",
	"attainment_stage_stall", "attainment_interview_outcome", "attainment_interview_feedback",
	"attainment_closure", "attainment_promise", "sla_attainment", "breaches", "silent_now",
	"ghosted", "ghosting_rate", "interviews", "missed_interviews", "survey_responses", "cnps",
	"experience_score"}

func scoresOf(t *testing.T, srv *servicetest.Instance, key, query string) []scores.Group {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/scores?"+query, key, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("scores?%s: %d %s", query, r.Status, r.Body)
	}
	var out struct{ Groups []scores.Group }
	r.JSON(t, &out)
	return out.Groups
}

// seedScores writes the directory and the scenario the figures are computed from, on
// the default calendar (UTC, Monday–Friday 09:00–17:00) and policies:
//
//   - ana (team Core) answers every candidate within an hour, rejects them the next
//     day with a notified rejection, and gets surveys 10, 10, 9, 7, 3;
//   - gus (team Field, reporting to mia) answers two candidates after 72 hours and
//     never answers three: one open since March, one open since February, one rejected
//     without a word; one interview goes without outcome or feedback; surveys 0, 2,
//     6, 8, 9.
func seedScores(t *testing.T, srv *servicetest.Instance) {
	t.Helper()
	for _, r := range []struct{ id, body string }{
		{"ana", `{"name":"Ana Prompt","team":"Core"}`},
		{"mia", `{"name":"Mia Manager","team":"Field"}`},
		{"gus", `{"name":"=Gus Ghost","team":"Field","manager_id":"mia"}`},
	} {
		if res := srv.Do(t, http.MethodPut, "/v1/recruiters/"+r.id, servicetest.AdminKey, r.body); res.Status >= 300 {
			t.Fatalf("put recruiter %s: %d %s", r.id, res.Status, res.Body)
		}
	}
	var items []map[string]any
	add := func(app, kind, at string, extra map[string]any) {
		it := map[string]any{"application_id": app, "candidate_id": "cand-" + app, "kind": kind,
			"occurred_at": "2031-" + at + ":00Z", "external_id": fmt.Sprintf("%s-%d", app, len(items))}
		for k, v := range extra {
			it[k] = v
		}
		items = append(items, it)
	}
	received := func(app, at, recruiter, job, title string) {
		add(app, "application_received", at, map[string]any{"recruiter_id": recruiter, "job_id": job, "job": map[string]any{"title": title}})
	}
	outbound := map[string]any{"direction": "outbound", "channel": "email"}
	notified := map[string]any{"candidate_notified": true}
	survey := func(app, at string, score int) { add(app, "survey_response", at, map[string]any{"score": score}) }

	// ana: first responses after 0.5, 1, 0.25, 0.75 and 1 hours.
	for i, a := range []struct{ got, answered string }{
		{"03-03T09:00", "03-03T09:30"}, {"03-03T10:00", "03-03T11:00"}, {"03-03T11:00", "03-03T11:15"},
		{"03-03T12:00", "03-03T12:45"}, {"03-03T13:00", "03-03T14:00"},
	} {
		app := fmt.Sprintf("a%d", i+1)
		received(app, a.got, "ana", "job-be", `Backend Engineer, "Core"`)
		add(app, "message", a.answered, outbound)
		add(app, "rejected", "03-04T10:00", notified)
	}
	for i, s := range []struct {
		at    string
		score int
	}{{"03-12T12:00", 10}, {"03-12T12:00", 10}, {"03-12T12:00", 9}, {"03-13T12:00", 7}, {"03-13T12:00", 3}} {
		survey(fmt.Sprintf("a%d", i+1), s.at, s.score)
	}

	// gus.
	job := func(app, at string) { received(app, at, "gus", "job-fe", "@Frontend Engineer") }
	job("g1", "03-03T09:00") // never answered: first_response due 03-05 09:00
	job("g2", "03-03T14:00") // rejected without a word after its first_response breached
	add("g2", "rejected", "03-07T10:00", nil)
	job("g3", "02-03T09:00") // never answered: breached since 02-05 09:00, over 30 days
	job("g4", "03-03T11:00") // answered after 72 h; an interview without outcome or feedback
	add("g4", "message", "03-06T11:00", outbound)
	add("g4", "interview_scheduled", "03-06T12:00", map[string]any{"scheduled_for": "2031-03-10T15:00:00Z", "interview_id": "g4-i1"})
	add("g4", "rejected", "03-12T10:00", notified)
	job("g5", "03-03T15:00") // answered after 72 h
	add("g5", "message", "03-06T15:00", outbound)
	add("g5", "rejected", "03-07T09:00", notified)
	survey("g1", "03-12T12:00", 0)
	survey("g2", "03-12T12:00", 2)
	survey("g3", "03-12T12:00", 6)
	survey("g4", "03-13T12:00", 8)
	survey("g5", "03-13T12:00", 9)

	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{"interactions": items}); r.Status != http.StatusCreated {
		t.Fatalf("seed: %d %s", r.Status, r.Body)
	}
}

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }

// The expected figures, by hand from the scenario. Time figures come from fixed
// histogram buckets (within ±5%), so floats compare within 6%.
var (
	wantAna = scores.Group{
		Key: "ana", Name: "Ana Prompt", Applications: 5,
		FirstResponseP50Hours: f64(0.75), FirstResponseP90Hours: f64(1),
		AttainmentByMetric: map[string]float64{"first_response": 1, "contact_gap": 1},
		SLAAttainment:      f64(1),
		GhostingRate:       f64(0),                  // 0 ghosted of 5 rejected
		SurveyResponses:    intp(5), CNPS: intp(40), // 3 promoters, 1 detractor
	}
	wantGus = scores.Group{
		Key: "gus", Name: "=Gus Ghost", Applications: 5,
		FirstResponseP50Hours: f64(72), FirstResponseP90Hours: f64(72),
		FirstResponsePending: 2, // g1 and g3
		AttainmentByMetric: map[string]float64{
			"first_response": 0, "contact_gap": 1, // g4's two and g5's one, all met
			"interview_outcome": 0, "interview_feedback": 0, "closure": 0,
		},
		SLAAttainment: f64(0.2), // (0 + 1 + 0 + 0 + 0) / 5
		// five first responses, the interview's outcome and feedback, g2's closure
		Breaches:         8,
		SilentNow:        2,        // g1, g3
		Ghosted:          2,        // g2 (rejected, no contact since), g3 (breached for 30 days)
		GhostingRate:     f64(0.5), // 2 / (3 rejected + 1 ghosted while open)
		Interviews:       1,        // g4's, on March 10
		MissedInterviews: 1,
		SurveyResponses:  intp(5), CNPS: intp(-40), // 1 promoter, 3 detractors
	}
	wantOrg = scores.Group{
		Key: "org", Name: "Organisation", Applications: 10,
		// 0.25 0.5 0.75 1 1 72 72
		FirstResponseP50Hours: f64(1), FirstResponseP90Hours: f64(72),
		FirstResponsePending: 2,
		AttainmentByMetric: map[string]float64{
			"first_response": 0.5, "contact_gap": 1,
			"interview_outcome": 0, "interview_feedback": 0, "closure": 0,
		},
		SLAAttainment: f64(0.3),
		Breaches:      8, SilentNow: 2, Ghosted: 2,
		GhostingRate:     f64(2.0 / 9), // 2 / (8 rejected + 1 ghosted while open)
		Interviews:       1,
		MissedInterviews: 1,
		SurveyResponses:  intp(10), CNPS: intp(0),
		// No hires: no share.
		ReferralHires: intp(0), ReferralShareOfHires: scores.Some(nil), HiresWhoReferred: intp(0),
	}
	// The experience score's formula is the README's: it is checked apart.
	groupOpts = cmp.Options{
		cmpopts.EquateApprox(0.06, 0.01),
		cmpopts.IgnoreFields(scores.Group{}, "ExperienceScore"),
	}
)

// TestScores runs the scores API over one seeded server: the figures against the
// hand-computed ones, who sees what, the CSV, the sentiment split and validation.
func TestScores(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{Now: func() time.Time { return scoresNow }})
	keys := map[string]string{
		"admin":     servicetest.AdminKey,
		"viewer":    srv.NewKey(t, "viewer", ""),
		"ana":       srv.NewKey(t, "recruiter", "ana"),
		"mia":       srv.NewKey(t, "recruiter", "mia"),
		"ingest":    srv.NewKey(t, "ingest", ""),
		"no key":    "",
		"wrong key": "gw_not_a_key_0123456789abcdef0123456789abcd",
	}
	seedScores(t, srv)
	// The projector and the SLA engine feed the book within a second of the 201.
	deadline := time.Now().Add(5 * time.Second)
	for {
		org := scoresOf(t, srv, servicetest.AdminKey, "group_by=org&"+scoresPeriod)
		if len(org) == 1 && org[0].Applications == 10 && org[0].SurveyResponses != nil && *org[0].SurveyResponses == 10 && org[0].Breaches == 8 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Run("figures", func(t *testing.T) {
		for _, tc := range []struct {
			groupBy string
			want    []scores.Group
		}{
			{"org", []scores.Group{wantOrg}},
			{"recruiter", []scores.Group{wantAna, wantGus}},
			{"team", []scores.Group{rekey(wantAna, "Core", "Core"), rekey(wantGus, "Field", "Field")}},
			{"job", []scores.Group{rekey(wantAna, "job-be", `Backend Engineer, "Core"`), rekey(wantGus, "job-fe", "@Frontend Engineer")}},
		} {
			t.Run(tc.groupBy, func(t *testing.T) {
				got := scoresOf(t, srv, servicetest.AdminKey, "group_by="+tc.groupBy+"&"+scoresPeriod)
				if d := cmp.Diff(tc.want, got, groupOpts); d != "" {
					t.Errorf("groups (-want +got):\n%s", d)
				}
				for _, g := range got {
					if g.ExperienceScore == nil || *g.ExperienceScore < 0 || *g.ExperienceScore > 100 {
						t.Errorf("%s: experience_score %v, want 0–100", g.Key, g.ExperienceScore)
					}
				}
				if len(got) == 2 && got[0].ExperienceScore != nil && got[1].ExperienceScore != nil && *got[0].ExperienceScore <= *got[1].ExperienceScore {
					t.Errorf("experience_score: the prompt recruiter's %d is not above the ghost's %d", *got[0].ExperienceScore, *got[1].ExperienceScore)
				}
			})
		}
	})

	t.Run("exactly the documented fields", func(t *testing.T) {
		r := srv.Do(t, http.MethodGet, "/v1/scores?group_by=recruiter&"+scoresPeriod, servicetest.AdminKey, nil)
		var out map[string][]map[string]json.RawMessage
		r.JSON(t, &out)
		if len(out) != 1 || len(out["groups"]) == 0 {
			t.Fatalf("answer %s", r.Body)
		}
		for _, g := range out["groups"] {
			var fields []string
			for k := range g {
				fields = append(fields, k)
			}
			if d := cmp.Diff(groupFields, fields, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
			if string(g["reply_p50_hours"]) != "null" {
				t.Errorf("reply_p50_hours = %s, want null (no reply clocks)", g["reply_p50_hours"])
			}
		}
	})

	t.Run("the answer is what encoding/json writes", func(t *testing.T) {
		for _, groupBy := range []string{"org", "recruiter", "team", "job"} {
			r := srv.Do(t, http.MethodGet, "/v1/scores?group_by="+groupBy+"&"+scoresPeriod, servicetest.AdminKey, nil)
			if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("%s: Content-Type %q", groupBy, ct)
			}
			var out struct {
				Groups []scores.Group `json:"groups"`
			}
			r.JSON(t, &out)
			want, err := json.Marshal(map[string]any{"groups": out.Groups})
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Body) != string(want) {
				t.Errorf("%s: answer\n%s\nwant what encoding/json writes of it\n%s", groupBy, r.Body, want)
			}
		}
	})

	t.Run("fewer than five survey answers hide the score", func(t *testing.T) {
		// From March 13 on: two answers each.
		got := scoresOf(t, srv, servicetest.AdminKey, "group_by=recruiter&from=2031-03-13&to=2031-03-19")
		want := []scores.Group{{Key: "ana", Name: "Ana Prompt"}, {Key: "gus", Name: "=Gus Ghost"}}
		opt := cmp.Transformer("survey", func(g scores.Group) [4]any { return [4]any{g.Key, g.Name, g.SurveyResponses, g.CNPS} })
		if d := cmp.Diff(want, got, opt); d != "" {
			t.Errorf("groups (-want +got):\n%s", d)
		}
	})

	t.Run("defaults: the organisation over the last 30 days", func(t *testing.T) {
		got := scoresOf(t, srv, servicetest.AdminKey, "")
		explicit := scoresOf(t, srv, servicetest.AdminKey, "group_by=org&from=2031-02-18&to=2031-03-19")
		if d := cmp.Diff(explicit, got); d != "" {
			t.Errorf("default query (-explicit +default):\n%s", d)
		}
		if len(got) != 1 || got[0].Applications != 9 { // g3 applied on February 3
			t.Errorf("default period: %+v, want the org with 9 applications", got)
		}
	})

	t.Run("who sees what", func(t *testing.T) {
		for _, tc := range []struct {
			key, groupBy string
			want         []scores.Group
		}{
			{"viewer", "recruiter", []scores.Group{wantAna, wantGus}},
			{"ana", "recruiter", []scores.Group{wantAna}},
			{"ana", "org", []scores.Group{asOrg(rekey(wantAna, "org", "Organisation"))}},
			// mia sees her report; she has no applications of her own
			{"mia", "recruiter", []scores.Group{wantGus}},
			{"mia", "team", []scores.Group{rekey(wantGus, "Field", "Field")}},
		} {
			t.Run(tc.key+" by "+tc.groupBy, func(t *testing.T) {
				got := scoresOf(t, srv, keys[tc.key], "group_by="+tc.groupBy+"&"+scoresPeriod)
				if d := cmp.Diff(tc.want, got, groupOpts); d != "" {
					t.Errorf("groups (-want +got):\n%s", d)
				}
			})
		}
	})

	t.Run("sentiment", func(t *testing.T) {
		type cohort struct{ Responses, CNPS *int }
		type answer struct {
			From, To string
			AllMet   cohort `json:"all_met"`
			Breached cohort
		}
		for _, tc := range []struct {
			key, query string
			want       answer
		}{
			{"admin", scoresPeriod, answer{"2031-02-01", "2031-03-19", cohort{intp(5), intp(40)}, cohort{intp(5), intp(-40)}}},
			{"viewer", scoresPeriod, answer{"2031-02-01", "2031-03-19", cohort{intp(5), intp(40)}, cohort{intp(5), intp(-40)}}},
			// Two answers a side: below the floor of five, nothing shows.
			{"admin", "from=2031-03-13&to=2031-03-19", answer{From: "2031-03-13", To: "2031-03-19"}},
			// mia sees only gus's candidates, who all lived through a breach: the
			// breached side alone would show all of her scope's 5 answers, telling that
			// the other side has none, so both are withheld.
			{"mia", scoresPeriod, answer{From: "2031-02-01", To: "2031-03-19"}},
			// The default period, the last 30 days, holds every answer.
			{"admin", "", answer{"2031-02-18", "2031-03-19", cohort{intp(5), intp(40)}, cohort{intp(5), intp(-40)}}},
		} {
			t.Run(tc.key+" "+tc.query, func(t *testing.T) {
				r := srv.Do(t, http.MethodGet, "/v1/scores/sentiment?"+tc.query, keys[tc.key], nil)
				if r.Status != http.StatusOK {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				var got answer
				r.JSON(t, &got)
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("sentiment (-want +got):\n%s\n%s", d, r.Body)
				}
			})
		}
	})

	t.Run("csv", func(t *testing.T) {
		for _, groupBy := range []string{"recruiter", "job", "org"} {
			t.Run(groupBy, func(t *testing.T) {
				query := "group_by=" + groupBy + "&" + scoresPeriod
				r := srv.Do(t, http.MethodGet, "/v1/scores.csv?"+query, keys["viewer"], nil)
				if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
					t.Fatalf("%d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
				}
				if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="scores-`+groupBy+`-2031-02-01-2031-03-19.csv"` {
					t.Errorf("Content-Disposition %q", cd)
				}
				rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
				if err != nil {
					t.Fatalf("parse %s: %v", r.Body, err)
				}
				header := csvHeader
				if groupBy == "org" {
					header = append(slices.Clone(csvHeader), "referral_hires", "referral_share_of_hires", "hires_who_referred")
				}
				if d := cmp.Diff(header, rows[0]); d != "" {
					t.Fatalf("header (-want +got):\n%s", d)
				}
				// Every cell says what the JSON says.
				var js struct{ Groups []map[string]any }
				srv.Do(t, http.MethodGet, "/v1/scores?"+query, keys["viewer"], nil).JSON(t, &js)
				if len(rows)-1 != len(js.Groups) || len(js.Groups) == 0 {
					t.Fatalf("%d rows for %d groups:\n%s", len(rows)-1, len(js.Groups), r.Body)
				}
				for i, g := range js.Groups {
					for j, col := range rows[0] {
						want := csvCell(g, col)
						if got := rows[i+1][j]; got != want {
							t.Errorf("row %d, %s = %q, want %q", i+1, col, got, want)
						}
					}
				}
			})
		}
		// Text that a spreadsheet would run as a formula starts with a quote; quotes
		// and commas are quoted; numbers stay numbers (a negative cNPS too).
		r := srv.Do(t, http.MethodGet, "/v1/scores.csv?group_by=recruiter&"+scoresPeriod, servicetest.AdminKey, nil)
		for _, want := range []string{"\ngus,'=Gus Ghost,5,", ",-40,"} {
			if !strings.Contains(string(r.Body), want) {
				t.Errorf("CSV lacks %q:\n%s", want, r.Body)
			}
		}
		r = srv.Do(t, http.MethodGet, "/v1/scores.csv?group_by=job&"+scoresPeriod, servicetest.AdminKey, nil)
		for _, want := range []string{"\njob-be,\"Backend Engineer, \"\"Core\"\"\",5,", "\njob-fe,'@Frontend Engineer,5,"} {
			if !strings.Contains(string(r.Body), want) {
				t.Errorf("CSV lacks %q:\n%s", want, r.Body)
			}
		}
	})

	t.Run("roles", func(t *testing.T) {
		for _, path := range []string{"/v1/scores", "/v1/scores.csv", "/v1/scores/sentiment"} {
			for _, tc := range []struct {
				key    string
				status int
			}{
				{"admin", 200}, {"viewer", 200}, {"ana", 200}, {"ingest", 403}, {"no key", 401}, {"wrong key", 401},
			} {
				t.Run(path+" as "+tc.key, func(t *testing.T) {
					r := srv.Do(t, http.MethodGet, path, keys[tc.key], nil)
					if tc.status == http.StatusOK {
						if r.Status != http.StatusOK {
							t.Fatalf("%d %s", r.Status, r.Body)
						}
						return
					}
					expectProblem(t, r, tc.status, "")
				})
			}
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			name, query, field string
		}{
			{"unknown group_by", "group_by=week", "group_by"},
			{"from not a date", "from=2031-13-01", "from"},
			{"to not a date", "to=yesterday", "to"},
			{"from with a time", "from=2031-03-01T00:00:00Z", "from"},
			{"from after to", "from=2031-03-10&to=2031-03-09", "from"},
			{"from after today", "from=2031-03-20", "from"},
			{"367 days", "from=2030-03-18&to=2031-03-19", "from"},
		} {
			for _, path := range []string{"/v1/scores", "/v1/scores.csv", "/v1/scores/sentiment"} {
				if tc.field == "group_by" && path == "/v1/scores/sentiment" {
					continue // the split has no groups
				}
				t.Run(tc.name+" "+path, func(t *testing.T) {
					expectProblem(t, srv.Do(t, http.MethodGet, path+"?"+tc.query, servicetest.AdminKey, nil), http.StatusBadRequest, tc.field)
				})
			}
		}
		// A year and one day is the longest period; one day the shortest.
		for _, q := range []string{"from=2030-03-19&to=2031-03-19", "from=2031-03-19&to=2031-03-19", "group_by=&from=&to="} {
			if r := srv.Do(t, http.MethodGet, "/v1/scores?"+q, servicetest.AdminKey, nil); r.Status != http.StatusOK {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}
	})

	// Last, as it changes the directory: scores follow it within seconds.
	t.Run("directory changes show", func(t *testing.T) {
		r := srv.Do(t, http.MethodPut, "/v1/recruiters/ana", servicetest.AdminKey, `{"name":"Ana Renamed","team":"Core"}`)
		if r.Status != http.StatusOK {
			t.Fatalf("put: %d %s", r.Status, r.Body)
		}
		servicetest.Eventually(t, 10*time.Second, "the new name in the scores", func() bool {
			got := scoresOf(t, srv, servicetest.AdminKey, "group_by=recruiter&"+scoresPeriod)
			return len(got) > 0 && got[0].Name == "Ana Renamed"
		})
	})
}

// rekey returns g as the group with another key and name.
// asOrg adds the org group's referral figures to g, of applications without hires.
func asOrg(g scores.Group) scores.Group {
	g.ReferralHires, g.ReferralShareOfHires, g.HiresWhoReferred = intp(0), scores.Some(nil), intp(0)
	return g
}

func rekey(g scores.Group, key, name string) scores.Group {
	g.Key, g.Name = key, name
	return g
}

// csvCell is what the CSV should hold in column col for the JSON group g.
func csvCell(g map[string]any, col string) string {
	v, ok := g[col]
	if metric, isAttainment := strings.CutPrefix(col, "attainment_"); isAttainment {
		v, ok = g["attainment_by_metric"].(map[string]any)[metric]
	}
	if !ok || v == nil {
		return ""
	}
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		if v != "" && slices.Contains([]byte("=+-@\t\r"), v[0]) {
			return "'" + v
		}
		return v
	}
	return fmt.Sprint(v)
}

// BenchmarkScoresByJob measures GET /v1/scores?group_by=job in process, over loopback,
// for 2,000 jobs (about a megabyte of JSON): the query, the names, the JSON and HTTP.
// The groups hold fewer applications than the bench's (cmd/goodwill-bench), so the
// query's part is smaller. The server runs on an embedded store of its own, as
// goodwill serve does by default.
// Run with: go test -run '^$' -bench ScoresByJob -benchmem ./service
func BenchmarkScoresByJob(b *testing.B) {
	const jobs, appsPerJob = 2000, 2
	own := map[string]string{"GOODWILL_MONGODB_URI": "", "GOODWILL_DATA_DIR": b.TempDir()}
	srv := servicetest.Start(b, own, service.Options{Now: func() time.Time { return scoresNow }})
	var items []map[string]any
	post := func() {
		if r := srv.Do(b, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{"interactions": items}); r.Status != http.StatusCreated {
			b.Fatalf("seed: %d %s", r.Status, r.Body)
		}
		items = items[:0]
	}
	for i := range jobs * appsPerJob {
		app, job := fmt.Sprintf("app-%05d", i), fmt.Sprintf("job-%04d", i%jobs)
		received := time.Date(2031, 2, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i%(40*24)) * time.Hour)
		add := func(kind string, at time.Time, extra map[string]any) {
			it := map[string]any{"application_id": app, "candidate_id": "cand-" + app, "kind": kind,
				"occurred_at": at.Format(time.RFC3339), "external_id": fmt.Sprintf("%s-%d", app, len(items))}
			for k, v := range extra {
				it[k] = v
			}
			items = append(items, it)
		}
		add("application_received", received, map[string]any{"recruiter_id": fmt.Sprintf("rec-%03d", i%200),
			"job_id": job, "job": map[string]any{"title": "Job title " + job}})
		if i%7 != 0 {
			add("message", received.Add(time.Duration(i%50)*time.Hour), map[string]any{"direction": "outbound", "channel": "email"})
		}
		if i%3 == 0 {
			add("rejected", received.Add(96*time.Hour), map[string]any{"candidate_notified": i%2 == 0})
		}
		if len(items) > 900 {
			post()
		}
	}
	post()
	url := "/v1/scores?group_by=job&" + scoresPeriod
	servicetest.Eventually(b, time.Minute, "every application in the book", func() bool {
		org := srv.Do(b, http.MethodGet, "/v1/scores?group_by=org&"+scoresPeriod, servicetest.AdminKey, nil)
		var out struct{ Groups []scores.Group }
		return json.Unmarshal(org.Body, &out) == nil && len(out.Groups) == 1 && out.Groups[0].Applications == jobs*appsPerJob
	})
	key := srv.NewKey(b, "viewer", "")
	size := 0
	for b.Loop() {
		r := srv.Do(b, http.MethodGet, url, key, nil)
		if r.Status != http.StatusOK {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
		size = len(r.Body)
	}
	b.SetBytes(int64(size))
}
