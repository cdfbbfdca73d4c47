package sla

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/interactions"
)

func mustCompile(c Calendar) *BusinessCalendar {
	bc, err := c.Compile()
	if err != nil {
		panic(err)
	}
	return bc
}

// weekHours builds Calendar.Hours giving each listed weekday key the same intervals.
func weekHours(days string, spans ...[]string) map[string][][]string {
	hours := map[string][][]string{}
	for _, key := range strings.Split(days, ",") {
		hours[key] = slices.Clone(spans)
	}
	return hours
}

var (
	// Mon–Fri 09:00–17:00 with national public holidays.
	nyUS  = mustCompile(DefaultCalendar("America/New_York", "US"))
	lonGB = mustCompile(DefaultCalendar("Europe/London", "GB"))
	berDE = mustCompile(DefaultCalendar("Europe/Berlin", "DE"))
	// Mon–Fri 09:00–17:00, no public holidays, one extra holiday.
	lonExtra = mustCompile(Calendar{
		Timezone:      "Europe/London",
		Hours:         weekHours("mon,tue,wed,thu,fri", []string{"09:00", "17:00"}),
		ExtraHolidays: []string{"2026-12-24"},
	})
	// Mon–Fri 09:00–12:00 and 13:00–17:00, no holidays.
	lonSplit = mustCompile(Calendar{
		Timezone: "Europe/London",
		Hours:    weekHours("mon,tue,wed,thu,fri", []string{"09:00", "12:00"}, []string{"13:00", "17:00"}),
	})
	// Every day, all day, in Berlin: business time is real time, days keep the wall clock.
	berAllDay = mustCompile(Calendar{
		Timezone: "Europe/Berlin",
		Hours:    weekHours("mon,tue,wed,thu,fri,sat,sun", []string{"00:00", "24:00"}),
	})
	// Different hours per day: Mon 09–17, Tue 10–17, Wed 09–11 and 14–17, Thu 09–17, Fri 09–13.
	lonUneven = mustCompile(Calendar{
		Timezone: "Europe/London",
		Hours: map[string][][]string{
			"mon": {{"09:00", "17:00"}},
			"tue": {{"10:00", "17:00"}},
			"wed": {{"09:00", "11:00"}, {"14:00", "17:00"}},
			"thu": {{"09:00", "17:00"}},
			"fri": {{"09:00", "13:00"}},
		},
	})
)

// tm parses "2006-01-02 15:04" or "2006-01-02 15:04:05" in bc's zone.
func tm(t testing.TB, bc *BusinessCalendar, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout += ":05"
	}
	v, err := time.ParseInLocation(layout, s, bc.Location())
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return v
}

func dur(s string) interactions.Duration { return interactions.MustParseDuration(s) }

func fmtIn(bc *BusinessCalendar, v time.Time) string {
	return v.In(bc.Location()).Format("Mon 2006-01-02 15:04:05 MST")
}

func TestAdd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		bc    *BusinessCalendar
		start string
		d     string
		want  string
	}{
		// A Friday start with 1d lands on Monday at the same time.
		{"weekend 1d", lonGB, "2026-11-20 10:00", "1d", "2026-11-23 10:00"},
		// Hours continue after the weekend: 1h on Friday, 3h on Monday.
		{"weekend 4h", lonGB, "2026-11-20 16:00", "4h", "2026-11-23 12:00"},
		// 2d from Friday counts Monday and Tuesday.
		{"weekend 2d", lonGB, "2026-11-20 10:00", "2d", "2026-11-24 10:00"},
		// US Thanksgiving (Thursday 2026-11-26) is skipped.
		{"US Thanksgiving", nyUS, "2026-11-25 10:00", "1d", "2026-11-27 10:00"},
		// Independence Day 2026 is a Saturday, observed Friday 2026-07-03.
		{"US observed Friday", nyUS, "2026-07-02 10:00", "1d", "2026-07-06 10:00"},
		// Christmas 2027 is a Saturday, observed Friday 2027-12-24.
		{"US Christmas observed", nyUS, "2027-12-23 10:00", "1d", "2027-12-27 10:00"},
		// New Year's Day 2028 is a Saturday, observed Friday 2027-12-31 (the year before).
		{"US New Year observed in previous year", nyUS, "2027-12-30 10:00", "1d", "2028-01-03 10:00"},
		// GB: Christmas Friday, weekend, Boxing Day observed Monday 2026-12-28.
		{"GB Boxing Day observed", lonGB, "2026-12-24 10:00", "1d", "2026-12-29 10:00"},
		// GB 2025: Christmas Thursday, Boxing Day Friday, then the weekend.
		{"GB Boxing Day 2025", lonGB, "2025-12-24 10:00", "1d", "2025-12-29 10:00"},
		// GB Easter 2026: Good Friday 04-03 and Easter Monday 04-06.
		{"GB Easter", lonGB, "2026-04-02 10:00", "1d", "2026-04-07 10:00"},
		// German Unity Day 2026 is a Saturday: no weekday is lost.
		{"DE Unity Day on Saturday", berDE, "2026-10-02 10:00", "1d", "2026-10-05 10:00"},
		// German Unity Day 2025 is a Friday and is skipped.
		{"DE Unity Day on Friday", berDE, "2025-10-02 10:00", "1d", "2025-10-06 10:00"},
		// DE: Christmas Eve is a business day; 25th, 26th (Saturday) and Sunday are not.
		{"DE Christmas", berDE, "2026-12-23 10:00", "2d", "2026-12-28 10:00"},
		// An extra holiday (2026-12-24) is skipped; Christmas is not a holiday without a country.
		{"extra holiday", lonExtra, "2026-12-23 10:00", "1d", "2026-12-25 10:00"},
		// Extra holiday in the middle of business hours counting.
		{"extra holiday hours", lonExtra, "2026-12-23 16:00", "2h", "2026-12-25 10:00"},
		// New York springs forward on Sunday 2026-03-08: 10:00 EST Friday → 10:00 EDT Monday.
		{"DST spring New York", nyUS, "2026-03-06 10:00", "1d", "2026-03-09 10:00"},
		// New York falls back on Sunday 2026-11-01: 10:00 EDT Friday → 10:00 EST Monday.
		{"DST autumn New York", nyUS, "2026-10-30 10:00", "1d", "2026-11-02 10:00"},
		// Berlin springs forward on Sunday 2026-03-29.
		{"DST spring Berlin", berDE, "2026-03-27 10:00", "1d", "2026-03-30 10:00"},
		// Berlin falls back on Sunday 2026-10-25.
		{"DST autumn Berlin", berDE, "2026-10-23 10:00", "1d", "2026-10-26 10:00"},
		// All-day calendar: 1d over the spring-forward Sunday is 23 real hours, same wall clock.
		{"DST all-day 1d spring", berAllDay, "2026-03-28 10:00", "1d", "2026-03-29 10:00"},
		// All-day calendar: 24h over the spring-forward night is 24 real hours, an hour later on the wall.
		{"DST all-day 24h spring", berAllDay, "2026-03-28 12:00", "24h", "2026-03-29 13:00"},
		// All-day calendar: 24h over the fall-back night ends an hour earlier on the wall.
		{"DST all-day 24h autumn", berAllDay, "2026-10-24 12:00", "24h", "2026-10-25 11:00"},
		// Split hours: 30m before lunch and 30m after.
		{"split 1h over lunch", lonSplit, "2026-11-23 11:30", "1h", "2026-11-23 13:30"},
		// Split hours: 30m before lunch and 1h30m after.
		{"split 2h over lunch", lonSplit, "2026-11-23 11:30", "2h", "2026-11-23 14:30"},
		// Split hours: a start during lunch starts at 13:00.
		{"split start at lunch", lonSplit, "2026-11-23 12:30", "1h", "2026-11-23 14:00"},
		// Split hours: 1d keeps 11:30.
		{"split 1d", lonSplit, "2026-11-23 11:30", "1d", "2026-11-24 11:30"},
		// Split hours: 7h is a full business day, from 09:00 to 17:00.
		{"split 7h", lonSplit, "2026-11-23 09:00", "7h", "2026-11-23 17:00"},
		// Before opening: the clock starts at 09:00.
		{"before opening", lonGB, "2026-11-23 07:30", "1d", "2026-11-24 09:00"},
		// After closing: the clock starts at 09:00 the next business day.
		{"after closing", lonGB, "2026-11-23 18:00", "1d", "2026-11-25 09:00"},
		// Exactly at closing is outside hours.
		{"at closing", lonGB, "2026-11-23 17:00", "1h", "2026-11-24 10:00"},
		// Exactly at opening is inside hours.
		{"at opening", lonGB, "2026-11-23 09:00", "1h", "2026-11-23 10:00"},
		// On a Sunday: the clock starts Monday 09:00.
		{"Sunday", lonGB, "2026-11-22 12:00", "2h", "2026-11-23 11:00"},
		// On a holiday (GB Christmas, a Friday): the clock starts Tuesday 09:00 after Boxing Day observed.
		{"on a holiday", lonGB, "2026-12-25 12:00", "1h", "2026-12-29 10:00"},
		// Friday after closing, Monday a US holiday (Memorial Day 2026-05-25).
		{"after closing before holiday Monday", nyUS, "2026-05-22 18:00", "1d", "2026-05-27 09:00"},
		// 20h spans three days: 4h Monday, 8h Tuesday, 8h Wednesday; ends at closing.
		{"20h over days", lonGB, "2026-11-23 13:00", "20h", "2026-11-25 17:00"},
		// 8h from opening ends at closing the same day, not at the next opening.
		{"8h ends at closing", lonGB, "2026-11-23 09:00", "8h", "2026-11-23 17:00"},
		// 40h from Wednesday noon crosses a weekend: ends Wednesday noon a week later.
		{"40h one week", lonGB, "2026-11-18 12:00", "40h", "2026-11-25 12:00"},
		// Minutes and seconds count business time too.
		{"minutes and seconds", lonGB, "2026-11-20 16:59", "1m30s", "2026-11-23 09:00:30"},
		// 1d4h: one business day first, then four business hours.
		{"1d4h", lonGB, "2026-11-20 15:00", "1d4h", "2026-11-24 11:00"},
		// 0s inside hours is the start itself.
		{"0s inside hours", lonGB, "2026-11-23 10:15", "0s", "2026-11-23 10:15"},
		// 0s outside hours is the next business moment.
		{"0s on Saturday", lonGB, "2026-11-21 10:15", "0s", "2026-11-23 09:00"},
		// 10d = two working weeks.
		{"10d", lonGB, "2026-11-02 10:00", "10d", "2026-11-16 10:00"},
		// Uneven hours: Thursday 15:00 + 1d, Friday closes at 13:00 → end of Friday's hours.
		{"clamp after closing", lonUneven, "2026-11-19 15:00", "1d", "2026-11-20 13:00"},
		// Uneven hours: the clamped deadline plus 1h continues on Monday.
		{"clamp then hours", lonUneven, "2026-11-19 15:00", "1d1h", "2026-11-23 10:00"},
		// Uneven hours: Monday 09:30 + 1d, Tuesday opens at 10:00 → Tuesday's opening.
		{"clamp before opening", lonUneven, "2026-11-23 09:30", "1d", "2026-11-24 10:00"},
		// Uneven hours: Tuesday 12:00 + 1d falls in Wednesday's break → end of the morning.
		{"clamp in break", lonUneven, "2026-11-24 12:00", "1d", "2026-11-25 11:00"},
		// Uneven hours: Tuesday 15:00 + 1d is inside Wednesday's afternoon.
		{"no clamp in afternoon", lonUneven, "2026-11-24 15:00", "1d", "2026-11-25 15:00"},
		// 24x7: 2d is 48 hours, weekends included.
		{"24x7 2d", twentyFourSeven, "2026-11-21 10:00", "2d", "2026-11-23 10:00"},
		// 24x7: 30m.
		{"24x7 30m", twentyFourSeven, "2026-11-21 23:45", "30m", "2026-11-22 00:15"},
		// 24x7: 0s.
		{"24x7 0s", twentyFourSeven, "2026-11-21 23:45", "0s", "2026-11-21 23:45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start, want := tm(t, tt.bc, tt.start), tm(t, tt.bc, tt.want)
			got := tt.bc.Add(start, dur(tt.d))
			if !got.Equal(want) {
				t.Errorf("Add(%s, %s) = %s, want %s", tt.start, tt.d, fmtIn(tt.bc, got), fmtIn(tt.bc, want))
			}
			if got.Location() != tt.bc.Location() {
				t.Errorf("result in %v, want %v", got.Location(), tt.bc.Location())
			}
			if due, _ := tt.bc.Explain(start, dur(tt.d)); !due.Equal(got) {
				t.Errorf("Explain due %s, Add %s", fmtIn(tt.bc, due), fmtIn(tt.bc, got))
			}
		})
	}
}

// TestAddInputZone checks that the input's zone does not matter, only the instant.
func TestAddInputZone(t *testing.T) {
	t.Parallel()
	start := tm(t, nyUS, "2026-03-06 10:00")
	want := tm(t, nyUS, "2026-03-09 10:00")
	for _, loc := range []*time.Location{time.UTC, berDE.Location(), nyUS.Location()} {
		if got := nyUS.Add(start.In(loc), dur("1d")); !got.Equal(want) {
			t.Errorf("start in %v: got %s, want %s", loc, fmtIn(nyUS, got), fmtIn(nyUS, want))
		}
	}
	// A monotonic clock reading on the input does not leak into the result.
	now := time.Now()
	if got := nyUS.Add(now, dur("0s")); got.String() != got.Round(0).String() {
		t.Errorf("result carries a monotonic reading: %s", got)
	}
}

func TestNegativeDurationCountsAsZero(t *testing.T) {
	t.Parallel()
	start := tm(t, lonGB, "2026-11-21 10:00") // Saturday
	want := tm(t, lonGB, "2026-11-23 09:00")
	if got := lonGB.Add(start, interactions.Duration{Days: -1, Rest: -time.Hour}); !got.Equal(want) {
		t.Errorf("got %s, want %s", fmtIn(lonGB, got), fmtIn(lonGB, want))
	}
}

func TestBusinessMoment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bc       *BusinessCalendar
		at       string
		business bool
		next     string
	}{
		// Inside hours.
		{lonGB, "2026-11-23 10:00", true, "2026-11-23 10:00"},
		// Opening is inside.
		{lonGB, "2026-11-23 09:00", true, "2026-11-23 09:00"},
		// Just before closing is inside.
		{lonGB, "2026-11-23 16:59:59", true, "2026-11-23 16:59:59"},
		// Closing is outside.
		{lonGB, "2026-11-23 17:00", false, "2026-11-24 09:00"},
		// Before opening.
		{lonGB, "2026-11-23 08:59", false, "2026-11-23 09:00"},
		// Saturday.
		{lonGB, "2026-11-21 10:00", false, "2026-11-23 09:00"},
		// Friday after closing.
		{lonGB, "2026-11-20 17:30", false, "2026-11-23 09:00"},
		// Holiday (GB Christmas) on a Friday.
		{lonGB, "2026-12-25 10:00", false, "2026-12-29 09:00"},
		// Lunch break.
		{lonSplit, "2026-11-23 12:00", false, "2026-11-23 13:00"},
		// After lunch.
		{lonSplit, "2026-11-23 13:00", true, "2026-11-23 13:00"},
		// 24x7 is always open.
		{twentyFourSeven, "2026-11-21 03:00", true, "2026-11-21 03:00"},
	}
	for _, tt := range tests {
		v := tm(t, tt.bc, tt.at)
		if got := tt.bc.IsBusinessMoment(v); got != tt.business {
			t.Errorf("IsBusinessMoment(%s) = %v, want %v", tt.at, got, tt.business)
		}
		if got, want := tt.bc.NextBusinessMoment(v), tm(t, tt.bc, tt.next); !got.Equal(want) {
			t.Errorf("NextBusinessMoment(%s) = %s, want %s", tt.at, fmtIn(tt.bc, got), fmtIn(tt.bc, want))
		}
	}
}

func TestBetween(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bc   *BusinessCalendar
		a, b string
		want time.Duration
	}{
		// Same day inside hours.
		{lonGB, "2026-11-23 10:00", "2026-11-23 12:30", 150 * time.Minute},
		// Over a weekend: 1h Friday, 1h Monday.
		{lonGB, "2026-11-20 16:00", "2026-11-23 10:00", 2 * time.Hour},
		// Entirely outside hours.
		{lonGB, "2026-11-21 10:00", "2026-11-22 23:00", 0},
		// b before a.
		{lonGB, "2026-11-23 12:00", "2026-11-23 10:00", 0},
		// Equal moments.
		{lonGB, "2026-11-23 12:00", "2026-11-23 12:00", 0},
		// A week of business days.
		{lonGB, "2026-11-23 00:00", "2026-11-30 00:00", 40 * time.Hour},
		// Christmas week 2026 in GB: 24th, 29th–31st (25th, 28th are holidays).
		{lonGB, "2026-12-24 00:00", "2027-01-01 00:00", 32 * time.Hour},
		// The lunch break does not count.
		{lonSplit, "2026-11-23 11:00", "2026-11-23 14:00", 2 * time.Hour},
		// The extra holiday does not count.
		{lonExtra, "2026-12-23 16:00", "2026-12-25 10:00", 2 * time.Hour},
		// All-day calendar over the spring-forward night: 47 real hours.
		{berAllDay, "2026-03-28 12:00", "2026-03-30 12:00", 47 * time.Hour},
		// All-day calendar over the fall-back night: 49 real hours.
		{berAllDay, "2026-10-24 12:00", "2026-10-26 12:00", 49 * time.Hour},
		// 24x7 is plain elapsed time.
		{twentyFourSeven, "2026-11-21 10:00", "2026-11-23 10:00", 48 * time.Hour},
		// 24x7 with b before a.
		{twentyFourSeven, "2026-11-23 10:00", "2026-11-21 10:00", 0},
	}
	for _, tt := range tests {
		if got := tt.bc.Between(tm(t, tt.bc, tt.a), tm(t, tt.bc, tt.b)); got != tt.want {
			t.Errorf("Between(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestWarnAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bc    *BusinessCalendar
		start string
		d     string
		ratio float64
		want  string
	}{
		// 75% of 1d (8 business hours) is 6h.
		{lonGB, "2026-11-23 09:00", "1d", 0.75, "2026-11-23 15:00"},
		// 75% of 2d (16 business hours) is 12h: into Tuesday.
		{lonGB, "2026-11-23 09:00", "2d", 0.75, "2026-11-24 13:00"},
		// Over a weekend: due Monday 16:00 after 8h; half is 1h Friday + 3h Monday.
		{lonGB, "2026-11-20 16:00", "1d", 0.5, "2026-11-23 12:00"},
		// Hours target: 75% of 8h from Friday 16:00 is 1h Friday + 5h Monday.
		{lonGB, "2026-11-20 16:00", "8h", 0.75, "2026-11-23 14:00"},
		// Starting on Saturday: the warning counts from Monday 09:00.
		{lonGB, "2026-11-21 10:00", "1d", 0.5, "2026-11-23 13:00"},
		// Ratio 0 is the clock's start.
		{lonGB, "2026-11-21 10:00", "1d", 0, "2026-11-23 09:00"},
		// Ratio 1 is the deadline.
		{lonGB, "2026-11-20 10:00", "1d", 1, "2026-11-23 10:00"},
		// A ratio above 1 is clamped to the deadline.
		{lonGB, "2026-11-20 10:00", "1d", 1.5, "2026-11-23 10:00"},
		// NaN counts as 0.
		{lonGB, "2026-11-21 10:00", "1d", math.NaN(), "2026-11-23 09:00"},
		// A clamped deadline: Thu 15:00 + 1d → Fri 13:00 (6h of business time); 50% is 3h.
		{lonUneven, "2026-11-19 15:00", "1d", 0.5, "2026-11-20 10:00"},
		// 24x7: 75% of 2d is 36h.
		{twentyFourSeven, "2026-11-21 10:00", "2d", 0.75, "2026-11-22 22:00"},
		// 24x7: 50% of 30m.
		{twentyFourSeven, "2026-11-21 10:00", "30m", 0.5, "2026-11-21 10:15"},
	}
	for _, tt := range tests {
		got := tt.bc.WarnAt(tm(t, tt.bc, tt.start), dur(tt.d), tt.ratio)
		if want := tm(t, tt.bc, tt.want); !got.Equal(want) {
			t.Errorf("WarnAt(%s, %s, %v) = %s, want %s", tt.start, tt.d, tt.ratio, fmtIn(tt.bc, got), fmtIn(tt.bc, want))
		}
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		bc    *BusinessCalendar
		start string
		d     string
		want  []string
	}{
		// Nothing to explain: inside hours, same week.
		{"plain", lonGB, "2026-11-23 10:00", "1d", nil},
		// A Saturday start.
		{"Saturday start", lonGB, "2026-11-28 14:05", "2d", []string{
			"started outside business hours (Saturday 2026-11-28 14:05); clock starts Monday 2026-11-30 09:00 Europe/London",
		}},
		// A weekend inside the days.
		{"weekend days", lonGB, "2026-11-20 10:00", "1d", []string{
			"skipped weekend 2026-11-21–2026-11-22",
		}},
		// Holidays, observed and extra, and a weekend.
		{"Christmas", lonGB, "2026-12-23 16:00", "2d", []string{
			"skipped holiday 2026-12-25 (Christmas Day)",
			"skipped weekend 2026-12-26–2026-12-27",
			"skipped holiday 2026-12-28 (Boxing Day, observed)",
		}},
		// The extra holiday's name.
		{"extra holiday", lonExtra, "2026-12-23 10:00", "1d", []string{
			"skipped holiday 2026-12-24 (extra holiday)",
		}},
		// US Thanksgiving.
		{"Thanksgiving", nyUS, "2026-11-25 10:00", "1d", []string{
			"skipped holiday 2026-11-26 (Thanksgiving Day)",
		}},
		// Overnight gaps while counting hours.
		{"outside hours", lonGB, "2026-11-23 16:00", "10h", []string{
			"skipped outside hours 2026-11-23 17:00 – 2026-11-24 09:00",
			"skipped outside hours 2026-11-24 17:00 – 2026-11-25 09:00",
		}},
		// A lunch break while counting hours.
		{"break", lonSplit, "2026-11-23 11:30", "2h", []string{
			"skipped outside hours 2026-11-23 12:00–13:00",
		}},
		// Before opening.
		{"before opening", lonGB, "2026-11-23 07:30", "0s", []string{
			"started before opening (Monday 2026-11-23 07:30); clock starts Monday 2026-11-23 09:00 Europe/London",
		}},
		// After closing on Friday before a US holiday Monday.
		{"after closing", nyUS, "2026-05-22 18:00", "1h", []string{
			"started after closing (Friday 2026-05-22 18:00); clock starts Tuesday 2026-05-26 09:00 America/New_York",
			"skipped holiday 2026-05-25 (Memorial Day)",
		}},
		// On a holiday.
		{"on a holiday", lonGB, "2026-12-25 12:00", "1h", []string{
			"started on a holiday (Christmas Day, Friday 2026-12-25 12:00); clock starts Tuesday 2026-12-29 09:00 Europe/London",
			"skipped holiday 2026-12-28 (Boxing Day, observed)",
		}},
		// During a break.
		{"in a break", lonSplit, "2026-11-23 12:15", "30m", []string{
			"started during a break (Monday 2026-11-23 12:15); clock starts Monday 2026-11-23 13:00 Europe/London",
		}},
		// A clamped deadline, then hours over the weekend.
		{"clamped", lonUneven, "2026-11-19 15:00", "1d1h", []string{
			"Friday 2026-11-20 has no business hours at 15:00; deadline moved to 13:00 (end of hours)",
			"skipped weekend 2026-11-21–2026-11-22",
		}},
		// Clamped to an opening.
		{"clamped to opening", lonUneven, "2026-11-23 09:30", "1d", []string{
			"Tuesday 2026-11-24 has no business hours at 09:30; deadline moved to 10:00 (opening)",
		}},
		// Clamped to the start of a break.
		{"clamped to break", lonUneven, "2026-11-24 12:00", "1d", []string{
			"Wednesday 2026-11-25 has no business hours at 12:00; deadline moved to 11:00 (start of a break)",
		}},
		// 24x7 has nothing to explain.
		{"24x7", twentyFourSeven, "2026-11-21 10:00", "2d", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := tm(t, tt.bc, tt.start)
			due, lines := tt.bc.Explain(start, dur(tt.d))
			if !reflect.DeepEqual(lines, tt.want) {
				t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tt.want, "\n"))
			}
			if add := tt.bc.Add(start, dur(tt.d)); !due.Equal(add) {
				t.Errorf("Explain due %s, Add %s", fmtIn(tt.bc, due), fmtIn(tt.bc, add))
			}
			// Deterministic.
			if _, again := tt.bc.Explain(start, dur(tt.d)); !reflect.DeepEqual(lines, again) {
				t.Errorf("second call gave %q", again)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func() Calendar { return DefaultCalendar("Europe/London", "GB") }
	tests := []struct {
		name   string
		modify func(c *Calendar)
		fields []string
	}{
		// The default calendar is valid.
		{"default", func(c *Calendar) {}, nil},
		// Split hours, a Saturday, 24:00 and extra holidays are valid.
		{"rich", func(c *Calendar) {
			c.Hours["mon"] = [][]string{{"09:00", "12:00"}, {"12:00", "17:00"}}
			c.Hours["sat"] = [][]string{{"00:00", "24:00"}}
			c.ExtraHolidays = []string{"2026-12-24", "2026-12-31"}
		}, nil},
		// No country is valid.
		{"no holidays", func(c *Calendar) { c.Holidays = "" }, nil},
		// A weekday with no intervals is a closed day, not an error.
		{"empty weekday", func(c *Calendar) { c.Hours["fri"] = nil }, nil},
		// The zone is required.
		{"no timezone", func(c *Calendar) { c.Timezone = "" }, []string{"timezone"}},
		// Unknown zone.
		{"bad timezone", func(c *Calendar) { c.Timezone = "Mars/Olympus_Mons" }, []string{"timezone"}},
		// The machine's zone is not allowed.
		{"Local timezone", func(c *Calendar) { c.Timezone = "Local" }, []string{"timezone"}},
		// Overlapping intervals.
		{"overlap", func(c *Calendar) {
			c.Hours["mon"] = [][]string{{"09:00", "12:00"}, {"11:00", "17:00"}}
		}, []string{"hours.mon[1]"}},
		// Unsorted intervals.
		{"unsorted", func(c *Calendar) {
			c.Hours["tue"] = [][]string{{"13:00", "17:00"}, {"09:00", "12:00"}}
		}, []string{"hours.tue[1]"}},
		// Start after end.
		{"reversed", func(c *Calendar) { c.Hours["wed"] = [][]string{{"17:00", "09:00"}} }, []string{"hours.wed[0]"}},
		// Empty interval.
		{"empty interval", func(c *Calendar) { c.Hours["wed"] = [][]string{{"09:00", "09:00"}} }, []string{"hours.wed[0]"}},
		// Malformed times.
		{"bad times", func(c *Calendar) {
			c.Hours["thu"] = [][]string{{"9:00", "12:00"}, {"13:00", "24:30"}, {"13:00", "17:60"}, {"x", "y"}}
		}, []string{"hours.thu[0]", "hours.thu[1]", "hours.thu[2]", "hours.thu[3]"}},
		// Not a pair.
		{"not a pair", func(c *Calendar) {
			c.Hours["fri"] = [][]string{{"09:00"}, {"09:00", "12:00", "17:00"}}
		}, []string{"hours.fri[0]", "hours.fri[1]"}},
		// An overlap is checked against the last valid interval.
		{"overlap after invalid", func(c *Calendar) {
			c.Hours["mon"] = [][]string{{"09:00", "12:00"}, {"bad", "13:00"}, {"11:00", "17:00"}}
		}, []string{"hours.mon[1]", "hours.mon[2]"}},
		// Unknown weekday keys.
		{"unknown weekday", func(c *Calendar) {
			c.Hours["monday"] = [][]string{{"09:00", "17:00"}}
			c.Hours["Tue"] = nil
		}, []string{"hours.Tue", "hours.monday"}},
		// No business hours at all.
		{"no hours", func(c *Calendar) { c.Hours = nil }, []string{"hours"}},
		// Unsupported country.
		{"bad country", func(c *Calendar) { c.Holidays = "XX" }, []string{"holidays"}},
		// Country codes are upper case.
		{"lower-case country", func(c *Calendar) { c.Holidays = "gb" }, []string{"holidays"}},
		// Malformed extra holidays.
		{"bad extra holidays", func(c *Calendar) {
			c.ExtraHolidays = []string{"2026-12-24", "2026-13-01", "24/12/2026", "2026-2-01"}
		}, []string{"extra_holidays[1]", "extra_holidays[2]", "extra_holidays[3]"}},
		// Too many extra holidays.
		{"too many extra holidays", func(c *Calendar) {
			c.ExtraHolidays = make([]string, maxExtraHolidays+1)
			for i := range c.ExtraHolidays {
				c.ExtraHolidays[i] = time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			}
		}, []string{"extra_holidays"}},
		// Several fields at once, in order.
		{"several", func(c *Calendar) {
			c.Timezone = "Nowhere"
			c.Hours["sun"] = [][]string{{"10:00", "09:00"}}
			c.Holidays = "ZZ"
			c.ExtraHolidays = []string{"soon"}
		}, []string{"timezone", "hours.sun[0]", "holidays", "extra_holidays[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.modify(&c)
			errs := c.Validate()
			var fields []string
			for _, fe := range errs {
				fields = append(fields, fe.Field)
				if fe.Message == "" {
					t.Errorf("%s: empty message", fe.Field)
				}
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields %q, want %q (%v)", fields, tt.fields, errs)
			}
			bc, err := c.Compile()
			if len(tt.fields) == 0 {
				if err != nil || bc == nil {
					t.Errorf("Compile: %v", err)
				}
				return
			}
			var ie *interactions.Error
			if !errors.As(err, &ie) || ie.Code != interactions.CodeInvalid || !slices.Equal(ie.Fields, errs) {
				t.Errorf("Compile error %v, want an invalid error with fields %v", err, errs)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	c := DefaultCalendar("Europe/London", "XX")
	c.Hours["mon"] = [][]string{{"09:00", "12:00"}, {"11:00", "17:00"}}
	var lines []string
	for _, fe := range c.Validate() {
		lines = append(lines, fe.Field+": "+fe.Message)
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"hours.mon[1]: overlaps or precedes hours.mon[0]",
		`holidays: unsupported country "XX"`,
		"US", "GB", "DE",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("%q does not contain %q", got, want)
		}
	}
}

func TestSupportedCountries(t *testing.T) {
	t.Parallel()
	got := SupportedCountries()
	if !slices.IsSorted(got) {
		t.Errorf("not sorted: %v", got)
	}
	for _, code := range []string{"US", "GB", "DE", "FR", "CA", "AU", "JP", "NL"} {
		if !slices.Contains(got, code) {
			t.Errorf("%s missing from %v", code, got)
		}
	}
	for _, code := range got {
		if len(code) != 2 || strings.ToUpper(code) != code || len(countryHolidays[code]) == 0 {
			t.Errorf("bad entry %q", code)
		}
	}
}

func TestDefaultCalendar(t *testing.T) {
	t.Parallel()
	c := DefaultCalendar("", "")
	if c.Timezone != "UTC" {
		t.Errorf("timezone %q, want UTC", c.Timezone)
	}
	bc := mustCompile(c)
	mon := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i, wd := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		d := mon.AddDate(0, 0, i)
		want := i < 5
		if got := bc.IsBusinessMoment(d); got != want {
			t.Errorf("%s 09:00 business = %v, want %v", wd, got, want)
		}
		if got := bc.IsBusinessMoment(d.Add(8 * time.Hour)); got {
			t.Errorf("%s 17:00 is business time", wd)
		}
	}
	// Days do not share interval slices.
	c.Hours["mon"][0][0] = "10:00"
	if c.Hours["tue"][0][0] != "09:00" {
		t.Error("weekdays share their intervals")
	}
}

func TestCalendarJSONAndBSON(t *testing.T) {
	t.Parallel()
	body := `{"timezone":"Europe/London","hours":{"mon":[["09:00","12:00"],["13:00","17:00"]],"tue":[["09:00","17:00"]]},"holidays":"US","extra_holidays":["2026-12-24"]}`
	var c Calendar
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	want := Calendar{
		Timezone:      "Europe/London",
		Hours:         map[string][][]string{"mon": {{"09:00", "12:00"}, {"13:00", "17:00"}}, "tue": {{"09:00", "17:00"}}},
		Holidays:      "US",
		ExtraHolidays: []string{"2026-12-24"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("decoded %+v, want %+v", c, want)
	}
	if errs := c.Validate(); errs != nil {
		t.Fatalf("Validate: %v", errs)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != body {
		t.Errorf("encoded %s\nwant    %s", out, body)
	}

	raw, err := bson.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var doc bson.M
	if err := bson.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"timezone", "hours", "holidays", "extra_holidays"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("BSON document lacks %q: %v", key, doc)
		}
	}
	var back Calendar
	if err := bson.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("BSON round trip %+v, want %+v", back, want)
	}
}

// TestAddProperties checks, over random starts, that Add is monotonic in the start
// and agrees with Between, WarnAt and Explain.
func TestAddProperties(t *testing.T) {
	t.Parallel()
	cals := map[string]*BusinessCalendar{
		"lonGB":     lonGB,
		"nyUS":      nyUS,
		"lonSplit":  lonSplit,
		"lonUneven": lonUneven,
		"berAllDay": berAllDay,
		"24x7":      twentyFourSeven,
	}
	durations := []string{"0s", "1s", "30m", "8h", "1d", "2d", "1d4h", "3d7h30m", "10d", "100h"}
	rng := rand.New(rand.NewPCG(1, 2))
	from := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).Unix()
	to := time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC).Unix()
	starts := make([]time.Time, 2000)
	for i := range starts {
		starts[i] = time.Unix(from+rng.Int64N(to-from), 0)
		if i%4 == 0 { // whole hours hit boundaries more often
			starts[i] = starts[i].Truncate(time.Hour)
		}
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })

	for name, bc := range cals {
		for _, ds := range durations {
			t.Run(name+"/"+ds, func(t *testing.T) {
				t.Parallel()
				d := dur(ds)
				var prev time.Time
				for i, s := range starts {
					got := bc.Add(s, d)
					if got.Before(s) {
						t.Fatalf("Add(%s) = %s is before the start", fmtIn(bc, s), fmtIn(bc, got))
					}
					if i > 0 && got.Before(prev) {
						t.Fatalf("not monotonic: Add(%s) = %s < Add(%s) = %s",
							fmtIn(bc, s), fmtIn(bc, got), fmtIn(bc, starts[i-1]), fmtIn(bc, prev))
					}
					prev = got
					clockStart := bc.NextBusinessMoment(s)
					if !bc.IsBusinessMoment(clockStart) || clockStart.Before(s) {
						t.Fatalf("NextBusinessMoment(%s) = %s", fmtIn(bc, s), fmtIn(bc, clockStart))
					}
					if d.Days == 0 {
						if el := bc.Between(clockStart, got); el != d.Rest {
							t.Fatalf("Between(start, Add(%s, %s)) = %v", fmtIn(bc, s), ds, el)
						}
					} else if bc != twentyFourSeven && d.Rest == 0 {
						// The deadline is on a business day, at the start's time of day or clamped.
						if !bc.IsBusinessMoment(got) && !bc.IsBusinessMoment(got.Add(-time.Nanosecond)) {
							t.Fatalf("Add(%s, %s) = %s is not at business hours", fmtIn(bc, s), ds, fmtIn(bc, got))
						}
					}
					warn := bc.WarnAt(s, d, 0.75)
					if warn.Before(clockStart) || warn.After(got) {
						t.Fatalf("WarnAt(%s, %s) = %s outside [%s, %s]", fmtIn(bc, s), ds, fmtIn(bc, warn), fmtIn(bc, clockStart), fmtIn(bc, got))
					}
					if i%50 == 0 {
						if due, _ := bc.Explain(s, d); !due.Equal(got) {
							t.Fatalf("Explain(%s, %s) = %s, Add %s", fmtIn(bc, s), ds, fmtIn(bc, due), fmtIn(bc, got))
						}
					}
				}
			})
		}
	}
}

// TestDSTWallClock checks that whole days keep the local time of day across every
// daylight-saving change of the year.
func TestDSTWallClock(t *testing.T) {
	t.Parallel()
	for _, bc := range []*BusinessCalendar{nyUS, berDE, lonGB} {
		for d := time.Date(2026, 1, 1, 10, 0, 0, 0, bc.Location()); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
			if !bc.IsBusinessMoment(d) {
				continue
			}
			for _, n := range []int{1, 3, 7} {
				got := bc.Add(d, interactions.Duration{Days: n})
				if h, m, _ := got.Clock(); h != 10 || m != 0 {
					t.Errorf("%v: Add(%s, %dd) = %s, want 10:00 local", bc.Location(), d.Format(time.DateOnly), n, fmtIn(bc, got))
				}
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	bc := mustCompile(DefaultCalendar("America/New_York", "US"))
	var wg sync.WaitGroup
	results := make([][]time.Time, 8)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for y := 2020; y < 2040; y++ {
				start := time.Date(y, 12, 23, 10, 0, 0, 0, bc.Location())
				results[g] = append(results[g], bc.Add(start, dur("3d")))
			}
		}()
	}
	wg.Wait()
	for g := range results[1:] {
		if !slices.EqualFunc(results[0], results[g+1], time.Time.Equal) {
			t.Errorf("goroutine %d disagrees", g+1)
		}
	}
}

func TestCivilDays(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		y int
		m time.Month
		d int
	}{{1970, 1, 1}, {1969, 12, 31}, {2000, 2, 29}, {2026, 12, 25}, {1, 1, 1}, {2400, 3, 1}, {-44, 3, 15}} {
		want := int(time.Date(tt.y, tt.m, tt.d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
		if tt.y < 1970 {
			want = int(math.Floor(float64(time.Date(tt.y, tt.m, tt.d, 0, 0, 0, 0, time.UTC).Unix()) / 86400))
		}
		got := dayOf(tt.y, tt.m, tt.d)
		if int(got) != want {
			t.Errorf("dayOf(%d-%d-%d) = %d, want %d", tt.y, tt.m, tt.d, got, want)
		}
		if y, m, d := got.date(); y != tt.y || m != tt.m || d != tt.d {
			t.Errorf("date(%d) = %d-%d-%d", got, y, m, d)
		}
		if wd := time.Date(tt.y, tt.m, tt.d, 0, 0, 0, 0, time.UTC).Weekday(); got.weekday() != wd {
			t.Errorf("weekday(%d-%d-%d) = %v, want %v", tt.y, tt.m, tt.d, got.weekday(), wd)
		}
	}
	for d := day(-1_000_000); d < 1_000_000; d += 97 {
		y, m, dd := d.date()
		if back := dayOf(y, m, dd); back != d {
			t.Fatalf("round trip %d → %d-%d-%d → %d", d, y, m, dd, back)
		}
	}
}
