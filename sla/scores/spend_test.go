package scores

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// TestPeriodSpend checks the pro-rating: each month's spend times the share of its
// days the period covers.
func TestPeriodSpend(t *testing.T) {
	spend := []Spend{
		{Source: "linkedin", Month: "2026-02", Amount: "2800"}, // 28 days: 100 a day
		{Source: "linkedin", Month: "2026-03", Amount: "3100"}, // 31 days: 100 a day
		{Source: "indeed", Month: "2026-03", Amount: "620"},    // 20 a day
		{Source: "indeed", Month: "2026-05", Amount: "999"},    // outside every period below
	}
	d := func(s string) time.Time { return day(s) }
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     map[string]float64
	}{
		// The last 10 days of February and the first 5 of March.
		{"across two months", d("02-19"), d("03-05"), map[string]float64{"linkedin": 1500, "indeed": 100}},
		{"a whole month", d("03-01"), d("03-31"), map[string]float64{"linkedin": 3100, "indeed": 620}},
		{"one day", d("02-28"), d("02-28"), map[string]float64{"linkedin": 100}},
		{"no spend known", d("01-01"), d("01-31"), map[string]float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PeriodSpend(spend, tc.from, tc.to)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if math.Abs(got[k]-v) > 1e-9 {
					t.Errorf("%s: %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestParseSpend(t *testing.T) {
	s := &SpendStore{currency: "USD"}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		source, month, amount, currency string
		wantAmount                      string
		field                           string // the field a 400 names, "" when valid
	}{
		{" LinkedIn ", "2026-03", "1250.50", "usd", "1250.5", ""},
		{"indeed", "2026-03", "007", "", "7", ""},
		{"indeed", "2026-03", "10", "EUR", "", "currency"},
		{"indeed", "2026-13", "10", "", "", "month"},
		{"indeed", "2026-03", "-10", "", "", "amount"},
		{"indeed", "2026-03", "1e3", "", "", "amount"},
		{"indeed", "2026-03", "1.23456", "", "", "amount"},
		{" ", "2026-03", "1", "", "", "source"},
	} {
		sp, err := s.ParseSpend(tc.source, tc.month, tc.amount, tc.currency, now)
		if tc.field != "" {
			if _, fields := fieldsOfErr(err); len(fields) != 1 || fields[0] != tc.field {
				t.Errorf("%+v: err %v, want one naming %s", tc, err, tc.field)
			}
			continue
		}
		if err != nil || sp.Amount != tc.wantAmount || sp.Source != "linkedin" && sp.Source != "indeed" || sp.Currency != "USD" {
			t.Errorf("%+v: %+v, %v", tc, sp, err)
		}
	}
}

func fieldsOfErr(err error) (string, []string) {
	var e *interactions.Error
	if !errors.As(err, &e) {
		return "", nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return string(e.Code), out
}
