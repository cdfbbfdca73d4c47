package service_test

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/sla/scores"
)

// TestFunnelBySourceAndSpend is what a new user tries: applications from two
// sources and a referral hire, a month's spend for the sources, and the scores by
// source over a period spanning two months, in the API, the CSV and the dashboard's
// Sources panel. Every figure is worked out by hand.
func TestFunnelBySourceAndSpend(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{Now: func() time.Time { return time.Date(2031, 4, 10, 12, 0, 0, 0, time.UTC) }})
	var items []map[string]any
	add := func(app, kind, at string, extra map[string]any) {
		it := map[string]any{"application_id": app, "candidate_id": "cand-" + app, "kind": kind,
			"occurred_at": "2031-" + at + ":00Z", "external_id": fmt.Sprintf("%s-%d", app, len(items))}
		for k, v := range extra {
			it[k] = v
		}
		items = append(items, it)
	}
	received := func(app, at string, attribution map[string]any) {
		add(app, "application_received", at, map[string]any{"attribution": attribution})
	}
	message := map[string]any{"direction": "outbound", "channel": "email"}
	// linkedin (written in two spellings): three applications in the period, one hired
	// after 14 days (employee E1), one only contacted; one before the period.
	received("l1", "02-15T09:00", map[string]any{"source": "LinkedIn", "campaign": "Spring"})
	add("l1", "message", "02-15T10:00", message)
	add("l1", "interview_scheduled", "02-18T09:00", map[string]any{"interview_id": "iv-l1"})
	add("l1", "offer_extended", "02-25T09:00", nil)
	add("l1", "hired", "03-01T09:00", map[string]any{"employee_id": "E1"})
	received("l2", "03-02T09:00", map[string]any{"source": " linkedin "})
	add("l2", "message", "03-02T12:00", message)
	received("l3", "03-14T09:00", map[string]any{"source": "linkedin"})
	received("l0", "02-10T09:00", map[string]any{"source": "linkedin"}) // before the period
	// indeed: two applications, one hired after 3 days.
	received("i1", "03-03T09:00", map[string]any{"source": "indeed"})
	add("i1", "call", "03-03T11:00", message)
	add("i1", "hired", "03-06T09:00", map[string]any{"employee_id": "E2"})
	received("i2", "03-04T09:00", map[string]any{"source": "indeed"})
	// E1, hired on March 1, refers r1 on March 10: a referral hire, and l1's hire is
	// a hire who referred.
	received("r1", "03-10T09:00", map[string]any{"source": "employee-referral", "referrer_id": "E1"})
	add("r1", "message", "03-10T10:00", message)
	add("r1", "hired", "03-12T09:00", map[string]any{"employee_id": "E3"})
	// No attribution at all.
	received("n1", "03-05T09:00", nil)
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{"interactions": items}); r.Status != http.StatusCreated {
		t.Fatalf("seed: %d %s", r.Status, r.Body)
	}

	// Spend: linkedin in February (28 days) and March (31 days), indeed in March only.
	viewer := srv.NewKey(t, "viewer", "")
	for _, sp := range []struct{ path, body string }{
		{"/v1/spend/LinkedIn/2031-02", `{"amount": 2800, "currency": "USD"}`},
		{"/v1/spend/linkedin/2031-03", `{"amount": 3100}`},
		{"/v1/spend/indeed/2031-03", `{"amount": 620.00}`},
	} {
		if r := srv.Do(t, http.MethodPut, sp.path, servicetest.AdminKey, sp.body); r.Status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", sp.path, r.Status, r.Body)
		}
	}
	if r := srv.Do(t, http.MethodPut, "/v1/spend/indeed/2031-03", servicetest.AdminKey, `{"amount": 5, "currency": "EUR"}`); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"currency"`) {
		t.Errorf("spend in EUR: %d %s, want 400 naming currency", r.Status, r.Body)
	}
	if r := srv.Do(t, http.MethodPut, "/v1/spend/indeed/2031-03", viewer, `{"amount": 5}`); r.Status != http.StatusForbidden {
		t.Errorf("spend by a viewer: %d, want 403", r.Status)
	}
	var listed struct {
		Currency string
		Spend    []scores.Spend
	}
	srv.Do(t, http.MethodGet, "/v1/spend?from=2031-03&to=2031-03", viewer, nil).JSON(t, &listed)
	if listed.Currency != "USD" || len(listed.Spend) != 2 || listed.Spend[0].Source != "indeed" || listed.Spend[0].Amount != "620" || listed.Spend[1].Source != "linkedin" {
		t.Errorf("GET /v1/spend: %+v", listed)
	}

	// February 15 to March 14: 14 of February's 28 days and 14 of March's 31.
	period := "from=2031-02-15&to=2031-03-14"
	linkedinSpend := 2800*14/28.0 + 3100*14/31.0 // 1400 + 1400
	indeedSpend := 620 * 14 / 31.0               // 280
	type want struct {
		apps, contacted, interviewed, offered, hired int
		ttH, perApp, perHire                         *float64
	}
	fp := func(v float64) *float64 { v = math.Round(v*100) / 100; return &v }
	wants := map[string]want{
		"linkedin":          {3, 2, 1, 1, 1, fp(14), fp(linkedinSpend / 3), fp(linkedinSpend)},
		"indeed":            {2, 1, 0, 0, 1, fp(3), fp(indeedSpend / 2), fp(indeedSpend)},
		"employee-referral": {1, 1, 0, 0, 1, fp(2), nil, nil},
		"(none)":            {1, 0, 0, 0, 0, nil, nil, nil},
	}
	var groups []scores.Group
	servicetest.Eventually(t, 5*time.Second, "the scores by source", func() bool {
		groups = scoresOf(t, srv, viewer, "group_by=attribution_source&"+period)
		n := 0
		for _, g := range groups {
			n += g.Applications
		}
		return n == 7 && len(groups) == 4 && groups[len(groups)-1].Hired != nil && *groups[len(groups)-1].Hired == 1
	})
	for _, g := range groups {
		w, ok := wants[g.Key]
		if !ok {
			t.Errorf("unexpected group %q", g.Key)
			continue
		}
		got := [5]int{g.Applications, *g.Contacted, *g.Interviewed, *g.Offered, *g.Hired}
		if exp := [5]int{w.apps, w.contacted, w.interviewed, w.offered, w.hired}; got != exp {
			t.Errorf("%s: applications, contacted, interviewed, offered, hired %v, want %v", g.Key, got, exp)
		}
		for _, f := range []struct {
			name string
			got  scores.Optional
			want *float64
		}{{"time_to_hire_p50_days", g.TimeToHireP50Days, w.ttH}, {"cost_per_application", g.CostPerApplication, w.perApp}, {"cost_per_hire", g.CostPerHire, w.perHire}} {
			if !f.got.Set || (f.got.Value == nil) != (f.want == nil) || f.want != nil && *f.got.Value != *f.want {
				t.Errorf("%s %s: %+v, want %v", g.Key, f.name, f.got, f.want)
			}
		}
	}

	// The referral loop: three hires, one through a referral, and one (E1) who
	// referred someone afterwards.
	org := scoresOf(t, srv, viewer, "group_by=org&"+period)[0]
	if *org.ReferralHires != 1 || *org.ReferralShareOfHires.Value != 0.3333 || *org.HiresWhoReferred != 1 {
		t.Errorf("org: referral hires %d, share %v, hires who referred %d; want 1, 0.3333, 1",
			*org.ReferralHires, *org.ReferralShareOfHires.Value, *org.HiresWhoReferred)
	}

	// The dashboard shows the sources: a row each, with the same funnel, cost per hire
	// and time to hire, for the period chosen on the page.
	b := signedIn(t, srv, viewer)
	pg := b.get("/dashboard?" + period)
	if pg.Status != http.StatusOK {
		t.Fatalf("dashboard: %d %s", pg.Status, pg.Body)
	}
	rows := map[string]map[string]string{} // source → data-field → data-value
	texts := map[string]map[string]string{}
	var order []string
	for _, tr := range findAll(byID(t, pg.Doc, "sources-table"), func(n *html.Node) bool { return hasAttr(n, "data-source") }) {
		src := attr(tr, "data-source")
		order = append(order, src)
		rows[src], texts[src] = map[string]string{}, map[string]string{}
		for _, td := range findAll(tr, func(n *html.Node) bool { return hasAttr(n, "data-field") }) {
			rows[src][attr(td, "data-field")] = attr(td, "data-value")
			texts[src][attr(td, "data-field")] = strings.Join(strings.Fields(textOf(td)), " ")
		}
	}
	if want := []string{"linkedin", "indeed", "employee-referral", "(none)"}; !slices.Equal(order, want) {
		t.Errorf("the dashboard's sources: %v, want %v", order, want)
	}
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	for src, w := range wants {
		got := rows[src]
		exp := map[string]string{"applications": strconv.Itoa(w.apps), "contacted": strconv.Itoa(w.contacted),
			"interviewed": strconv.Itoa(w.interviewed), "offered": strconv.Itoa(w.offered), "hired": strconv.Itoa(w.hired),
			"cost_per_hire": num(w.perHire), "time_to_hire_p50_days": num(w.ttH)}
		for field, v := range exp {
			if got[field] != v {
				t.Errorf("dashboard, %s %s: %q, want %q", src, field, got[field], v)
			}
		}
	}
	if got := texts["linkedin"]; got["cost_per_hire"] != "2800.00 USD" || got["time_to_hire_p50_days"] != "14 days" || got["contacted"] != "2 (66.7%)" {
		t.Errorf("dashboard, linkedin reads %v", got)
	}
	// Another period, another panel: March alone leaves out February's hire.
	march := b.get("/dashboard?from=2031-03-01&to=2031-03-14")
	var marchApps []string
	for _, tr := range findAll(byID(t, march.Doc, "sources-table"), withAttr("data-source", "linkedin")) {
		for _, td := range findAll(tr, withAttr("data-field", "applications")) {
			marchApps = append(marchApps, attr(td, "data-value"))
		}
	}
	if !slices.Equal(marchApps, []string{"2"}) {
		t.Errorf("dashboard for March: linkedin's applications %v, want [2]", marchApps)
	}

	// The campaign grouping and the CSV carry the same funnel.
	camp := scoresOf(t, srv, viewer, "group_by=campaign&"+period)
	if len(camp) != 2 || camp[1].Key != "spring" || *camp[1].Hired != 1 || camp[1].CostPerHire.Set {
		t.Errorf("by campaign: %+v", camp)
	}
	csv := srv.Do(t, http.MethodGet, "/v1/scores.csv?group_by=attribution_source&"+period, viewer, nil)
	if !strings.Contains(string(csv.Body), ",contacted,interviewed,offered,hired,time_to_hire_p50_days,cost_per_application,cost_per_hire\n") ||
		!strings.Contains(string(csv.Body), "\nlinkedin,linkedin,3,") || !strings.HasSuffix(strings.TrimSpace(string(csv.Body)), ",2,1,1,1,14,933.33,2800") {
		t.Errorf("CSV by source:\n%s", csv.Body)
	}
}
