package directory

import (
	"testing"
	"time"
)

func TestQuietUntil(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	london, _ := time.LoadLocation("Europe/London")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	night := &QuietHours{Start: "20:00", End: "08:00"}
	week := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	tests := []struct {
		name string
		r    Recruiter
		t    time.Time
		want time.Time
	}{
		// A working day outside quiet hours: now.
		{"allowed", Recruiter{Timezone: "America/New_York", QuietHours: night}, time.Date(2026, 3, 4, 12, 0, 0, 0, ny), time.Date(2026, 3, 4, 12, 0, 0, 0, ny)},
		// Evening: the wrapped window ends the next morning.
		{"evening wraps midnight", Recruiter{Timezone: "America/New_York", QuietHours: night}, time.Date(2026, 3, 4, 21, 0, 0, 0, ny), time.Date(2026, 3, 5, 8, 0, 0, 0, ny)},
		// Early morning: the same day's end of quiet hours.
		{"early morning", Recruiter{Timezone: "America/New_York", QuietHours: night}, time.Date(2026, 3, 4, 7, 59, 59, 0, ny), time.Date(2026, 3, 4, 8, 0, 0, 0, ny)},
		// The start is inclusive.
		{"at the start", Recruiter{Timezone: "America/New_York", QuietHours: night}, time.Date(2026, 3, 4, 20, 0, 0, 0, ny), time.Date(2026, 3, 5, 8, 0, 0, 0, ny)},
		// Friday night → Monday morning, across the spring-forward weekend (EST → EDT).
		{"weekend across DST start", Recruiter{Timezone: "America/New_York", QuietHours: night}, utc("2026-03-07T02:00:00Z"), utc("2026-03-09T12:00:00Z")},
		// Saturday without quiet hours: Monday midnight.
		{"weekend, no quiet hours", Recruiter{Timezone: "America/New_York"}, time.Date(2026, 3, 7, 12, 0, 0, 0, ny), time.Date(2026, 3, 9, 0, 0, 0, 0, ny)},
		// Quiet 01:00–02:30 on the night clocks jump 02:00 → 03:00: allowed again at 03:00 EDT.
		{"DST gap inside quiet hours", Recruiter{Timezone: "America/New_York", QuietHours: &QuietHours{Start: "01:00", End: "02:30"}, WorkingDays: week}, utc("2026-03-08T06:30:00Z"), utc("2026-03-08T07:00:00Z")},
		// Quiet until 01:30 on the night clocks fall back: the first 01:30 (EDT).
		{"DST fall back", Recruiter{Timezone: "America/New_York", QuietHours: &QuietHours{Start: "00:00", End: "01:30"}, WorkingDays: week}, utc("2026-11-01T04:30:00Z"), utc("2026-11-01T05:30:00Z")},
		// London's spring forward (01:00 GMT → 02:00 BST) with night quiet hours: 08:00 BST.
		{"London DST start", Recruiter{Timezone: "Europe/London", QuietHours: night, WorkingDays: week}, utc("2026-03-28T23:00:00Z"), time.Date(2026, 3, 29, 8, 0, 0, 0, london)},
		// A window that does not wrap.
		{"lunch", Recruiter{Timezone: "Europe/London", QuietHours: &QuietHours{Start: "12:00", End: "13:00"}}, time.Date(2026, 7, 1, 12, 30, 0, 0, london), time.Date(2026, 7, 1, 13, 0, 0, 0, london)},
		// Quiet hours running into the weekend: Monday's end of quiet hours.
		{"into the weekend", Recruiter{Timezone: "Europe/Berlin", QuietHours: &QuietHours{Start: "22:00", End: "06:00"}}, time.Date(2026, 10, 23, 22, 0, 0, 0, berlin), time.Date(2026, 10, 26, 6, 0, 0, 0, berlin)},
		// The recruiter's zone, not t's, decides: 09:00 in New York is 15:00 in Berlin.
		{"recruiter's zone", Recruiter{Timezone: "Europe/Berlin", QuietHours: &QuietHours{Start: "14:00", End: "16:00"}}, time.Date(2026, 6, 3, 9, 0, 0, 0, ny), time.Date(2026, 6, 3, 16, 0, 0, 0, berlin)},
		// No zone: t's location.
		{"no zone", Recruiter{QuietHours: night}, time.Date(2026, 6, 3, 22, 0, 0, 0, berlin), time.Date(2026, 6, 4, 8, 0, 0, 0, berlin)},
		// Only Sundays: a Monday waits six days.
		{"sundays only", Recruiter{Timezone: "UTC", WorkingDays: []string{"sun"}}, utc("2026-06-01T10:00:00Z"), utc("2026-06-07T00:00:00Z")},
		// No usable working day: never deferred.
		{"no working day", Recruiter{Timezone: "UTC", WorkingDays: []string{"xyz"}}, utc("2026-06-06T10:00:00Z"), utc("2026-06-06T10:00:00Z")},
		// Invalid quiet hours are ignored.
		{"invalid quiet hours", Recruiter{Timezone: "UTC", QuietHours: &QuietHours{Start: "25:00", End: "08:00"}}, utc("2026-06-03T23:00:00Z"), utc("2026-06-03T23:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := QuietUntil(tt.r, tt.t)
			if !got.Equal(tt.want) {
				t.Errorf("QuietUntil(%v) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
}
