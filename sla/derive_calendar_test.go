package sla

import (
	"testing"

	"github.com/goodwillhq/goodwill/interactions"
)

// The compiled business calendar is what Derive counts on in production.
var _ BusinessClock = (*BusinessCalendar)(nil)

// TestDeriveOnBusinessCalendar derives with the real calendar: a holiday and a weekend
// move the deadline, and the explain says so.
func TestDeriveOnBusinessCalendar(t *testing.T) {
	t.Parallel()
	cal := DefaultCalendar("Europe/London", "")
	cal.ExtraHolidays = []string{"2026-03-09"}
	bc, err := cal.Compile()
	if err != nil {
		t.Fatal(err)
	}
	env := only(MetricFirstResponse)
	env.Calendars = map[string]BusinessClock{CalendarBusiness: bc, Calendar24x7: TwentyFourSeven()}
	// Friday 16:00 + 2 business days, skipping the weekend and Monday's holiday.
	got := Derive([]interactions.Interaction{ev("e1", kReceived, "03-06 16:00")}, env, moment("03-06 17:00"))
	if len(got) != 1 {
		t.Fatalf("got %d clocks, want 1", len(got))
	}
	c := got[0]
	if short(c.DueAt) != "03-11 16:00" || c.DueAt.Location().String() != "UTC" {
		t.Errorf("due %v, want 2026-03-11 16:00 UTC", c.DueAt)
	}
	if len(c.Explain) < 3 {
		t.Errorf("explain lacks the calendar's rules: %q", c.Explain)
	}
	checkInvariants(t, got, moment("03-06 17:00"))
}
