package sla

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // calendar zones load even where the system has no tz database

	"github.com/rickar/cal/v2"

	"github.com/goodwillhq/goodwill/interactions"
)

// Calendar is the organisation's business calendar, as stored and as exchanged on
// GET/PUT /v1/calendar:
//
//	{"timezone": "Europe/London",
//	 "hours": {"mon": [["09:00","12:00"], ["13:00","17:00"]], "tue": [["09:00","17:00"]]},
//	 "holidays": "GB",
//	 "extra_holidays": ["2026-12-24"]}
//
// Check it with Validate; turn it into arithmetic with Compile.
type Calendar struct {
	// Timezone is the IANA zone (e.g. "Europe/London") in which the hours and all
	// holiday dates are read.
	Timezone string `json:"timezone" bson:"timezone"`
	// Hours maps a weekday key (mon, tue, wed, thu, fri, sat, sun) to its business
	// intervals. Each interval is a pair ["HH:MM", "HH:MM"] of local wall-clock times,
	// start included and end excluded; "24:00" is allowed as an end. A day's intervals
	// are sorted and do not overlap (they may touch). A weekday left out, or given no
	// intervals, is not a business day.
	Hours map[string][][]string `json:"hours" bson:"hours"`
	// Holidays is "" (no public holidays) or an ISO 3166 alpha-2 country code from
	// SupportedCountries. That country's national public holidays are not business
	// days, on their observed dates (a US holiday on a Saturday is observed, and so
	// skipped, on the Friday before).
	Holidays string `json:"holidays" bson:"holidays"`
	// ExtraHolidays are further non-business dates, "YYYY-MM-DD", in the calendar's
	// zone.
	ExtraHolidays []string `json:"extra_holidays" bson:"extra_holidays"`
}

// weekdayKeys are the keys of Calendar.Hours, indexed by time.Weekday.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// weekOrder is the order in which weekdays are checked and reported.
var weekOrder = [7]time.Weekday{
	time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday,
}

// maxExtraHolidays bounds Calendar.ExtraHolidays.
const maxExtraHolidays = 1000

// DefaultCalendar is the calendar of a fresh store: Monday to Friday 09:00–17:00 in
// timezone (an IANA name; "" means UTC), minus the public holidays of country (an ISO
// 3166 alpha-2 code, or "" for none). It is not validated; call Validate before use.
func DefaultCalendar(timezone, country string) Calendar {
	if timezone == "" {
		timezone = "UTC"
	}
	hours := make(map[string][][]string, 5)
	for _, wd := range weekOrder[:5] {
		hours[weekdayKeys[wd]] = [][]string{{"09:00", "17:00"}}
	}
	return Calendar{Timezone: timezone, Hours: hours, Holidays: country, ExtraHolidays: []string{}}
}

// FieldError is one invalid field of a Calendar, e.g. {"hours.mon[1]", "overlaps …"}.
// It is interactions.FieldError, so interactions.Invalid(c.Validate()...) is the
// HTTP-ready error. Field names the JSON path: "timezone", "hours.mon[1]",
// "holidays", "extra_holidays[0]".
type FieldError = interactions.FieldError

// Validate reports every invalid field of c, in a fixed order (timezone, hours by
// weekday from Monday, holidays, extra_holidays); nil means c is valid. A valid
// calendar has a loadable IANA zone, at least one business interval in the week,
// a supported holiday country or "", and well-formed extra dates.
func (c *Calendar) Validate() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	switch c.Timezone {
	case "":
		add("timezone", "required: an IANA time zone such as Europe/London")
	case "Local":
		add("timezone", `"Local" depends on the machine; use an IANA time zone such as Europe/London`)
	default:
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			add("timezone", "unknown time zone %q; use an IANA name such as Europe/London", c.Timezone)
		}
	}

	week, hourErrs := parseHours(c.Hours)
	errs = append(errs, hourErrs...)
	if len(hourErrs) == 0 && !slices.ContainsFunc(week[:], func(spans []span) bool { return len(spans) > 0 }) {
		add("hours", "no business hours: give at least one weekday an interval such as [\"09:00\", \"17:00\"]")
	}

	if c.Holidays != "" && countryHolidays[c.Holidays] == nil {
		add("holidays", "unsupported country %q; use \"\" or an upper-case ISO 3166 alpha-2 code (supported: %s)",
			c.Holidays, strings.Join(SupportedCountries(), ", "))
	}

	if len(c.ExtraHolidays) > maxExtraHolidays {
		add("extra_holidays", "at most %d dates", maxExtraHolidays)
	}
	for i, s := range c.ExtraHolidays {
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			add(fmt.Sprintf("extra_holidays[%d]", i), "%q is not a date YYYY-MM-DD", s)
		}
	}
	return errs
}

// span is a business interval of a day: wall-clock offsets from local midnight,
// from included, to excluded.
type span struct {
	from, to time.Duration
}

// parseHours parses Calendar.Hours into intervals by time.Weekday.
func parseHours(hours map[string][][]string) ([7][]span, []FieldError) {
	var week [7][]span
	var errs []FieldError
	for _, wd := range weekOrder {
		key := weekdayKeys[wd]
		prev := -1 // index of the last valid interval
		var prevTo time.Duration
		for i, pair := range hours[key] {
			field := fmt.Sprintf("hours.%s[%d]", key, i)
			bad := func(format string, args ...any) {
				errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
			}
			if len(pair) != 2 {
				bad(`must be a pair ["HH:MM", "HH:MM"]`)
				continue
			}
			from, okFrom := parseClock(pair[0])
			to, okTo := parseClock(pair[1])
			switch {
			case !okFrom:
				bad("start %q is not a time HH:MM from 00:00 to 24:00", pair[0])
			case !okTo:
				bad("end %q is not a time HH:MM from 00:00 to 24:00", pair[1])
			case from >= to:
				bad("start %s is not before end %s", pair[0], pair[1])
			case prev >= 0 && from < prevTo:
				bad("overlaps or precedes hours.%s[%d]; a day's intervals must be sorted and must not overlap", key, prev)
			default:
				week[wd] = append(week[wd], span{from, to})
				prev, prevTo = i, to
			}
		}
	}
	var unknown []string
	for key := range hours {
		if !slices.Contains(weekdayKeys[:], key) {
			unknown = append(unknown, key)
		}
	}
	slices.Sort(unknown)
	for _, key := range unknown {
		errs = append(errs, FieldError{Field: "hours." + key, Message: "unknown weekday; use mon, tue, wed, thu, fri, sat or sun"})
	}
	return week, errs
}

// parseClock parses "HH:MM", 00:00 to 24:00, into an offset from midnight.
func parseClock(s string) (time.Duration, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	digit := func(b byte) (int, bool) { return int(b - '0'), b >= '0' && b <= '9' }
	h1, ok1 := digit(s[0])
	h2, ok2 := digit(s[1])
	m1, ok3 := digit(s[3])
	m2, ok4 := digit(s[4])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	h, m := h1*10+h2, m1*10+m2
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

// Compile validates c and returns its arithmetic. When c is invalid the error is an
// *interactions.Error with code CodeInvalid whose Fields are c.Validate().
func (c *Calendar) Compile() (*BusinessCalendar, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, interactions.Invalid(errs...)
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, interactions.Invalid(FieldError{Field: "timezone", Message: err.Error()})
	}
	week, _ := parseHours(c.Hours)
	bc := &BusinessCalendar{
		business: true,
		loc:      loc,
		week:     week,
		holidays: countryHolidays[c.Holidays],
	}
	for _, s := range c.ExtraHolidays {
		t, _ := time.Parse(time.DateOnly, s)
		bc.extra = append(bc.extra, dayOf(t.Date()))
	}
	slices.Sort(bc.extra)
	bc.extra = slices.Compact(bc.extra)
	bc.hasHolidays = len(bc.holidays) > 0 || len(bc.extra) > 0
	return bc, nil
}

// BusinessCalendar is the arithmetic of a compiled Calendar, or of TwentyFourSeven.
// It is safe for concurrent use; create it with Calendar.Compile or TwentyFourSeven
// (the zero value behaves as 24x7 in UTC).
//
// Business time is the union of the day's intervals (Calendar.Hours) on business days:
// weekdays with hours that are not holidays. Intervals are local wall-clock times in
// the calendar's zone, but business time is measured in real elapsed time, so an
// interval that spans a daylight-saving change is an hour shorter or longer that day.
//
// Whether a moment is inside the hours is decided by its local wall clock; in the
// repeated hour of a fall-back night both occurrences count as that wall-clock time.
//
// Times returned are in Location(), without a monotonic clock reading. Inputs may be
// in any zone.
type BusinessCalendar struct {
	business    bool // false: 24x7, every moment is business time
	loc         *time.Location
	week        [7][]span // business intervals by time.Weekday, sorted
	holidays    []*cal.Holiday
	extra       []day // Calendar.ExtraHolidays, sorted and distinct
	hasHolidays bool

	mu    sync.Mutex                           // serialises additions to years
	years atomic.Pointer[map[int]*holidayYear] // copy-on-write cache of holiday sets by year
}

var twentyFourSeven = &BusinessCalendar{loc: time.UTC}

// TwentyFourSeven returns the calendar on which every moment is business time: Add
// is plain addition of d.Wall() (a day is 24 hours) and results are in UTC.
func TwentyFourSeven() *BusinessCalendar { return twentyFourSeven }

// Location returns the calendar's zone (UTC for 24x7).
func (c *BusinessCalendar) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// IsBusinessMoment reports whether t lies inside the business hours of a business day.
// An interval's end is not inside it: with hours 09:00–17:00, 09:00 is a business
// moment and 17:00 is not.
func (c *BusinessCalendar) IsBusinessMoment(t time.Time) bool {
	if !c.business {
		return true
	}
	k := cursor{c: c}
	d, w := c.locate(t)
	if !k.isBusinessDay(d) {
		return false
	}
	for _, sp := range c.week[d.weekday()] {
		if w >= sp.from && w < sp.to {
			return true
		}
	}
	return false
}

// NextBusinessMoment returns t if it is a business moment, otherwise the next opening
// time (the start of the next business interval).
func (c *BusinessCalendar) NextBusinessMoment(t time.Time) time.Time {
	if !c.business {
		return t.In(c.Location())
	}
	return c.nextBusiness(t).In(c.loc)
}

// Add returns the deadline d after start.
//
// On a business calendar:
//   - The clock starts at NextBusinessMoment(start).
//   - Days: the deadline moves to the same local wall-clock time of day on the
//     d.Days-th following business day, so 10:00 stays 10:00 across daylight-saving
//     changes. If that day's hours do not contain that time of day (days with
//     different or split hours), it is clamped into that day's hours: a time before
//     the day's opening becomes the opening, a time in a break or after closing becomes
//     the end of the interval before it. Either way the business time elapsed is the
//     same as at the wall-clock time, and the deadline stays on that business day.
//   - Then d.Rest (hours, minutes, seconds) counts business time only, moving forward
//     across closed periods; the deadline is the earliest moment at which that much
//     business time has elapsed (so 8h from Monday 09:00 on 09:00–17:00 hours is
//     Monday 17:00, not Tuesday 09:00).
//   - So "1d4h" is one business day, then four business hours; "0s" is
//     NextBusinessMoment(start).
//
// On 24x7 the deadline is start + d.Wall(). Negative parts of d count as zero.
func (c *BusinessCalendar) Add(start time.Time, d interactions.Duration) time.Time {
	d = nonNegative(d)
	if !c.business {
		return start.Add(d.Wall()).In(c.Location())
	}
	return c.plan(start, d).due.In(c.loc)
}

// Explain returns Add(start, d) and the calendar rules that set it, as short
// deterministic lines in time order. Lines look like these:
//
//	started outside business hours (Saturday 2026-11-28 14:05); clock starts Monday 2026-11-30 09:00 Europe/London
//	skipped weekend 2026-11-28–2026-11-29
//	skipped holiday 2026-12-25 (Christmas Day)
//	skipped outside hours 2026-11-30 17:00 – 2026-12-01 09:00
//
// It returns no lines when no rule moved the deadline, and none on 24x7. It is slower
// than Add; call it only when an explanation is wanted.
func (c *BusinessCalendar) Explain(start time.Time, d interactions.Duration) (time.Time, []string) {
	d = nonNegative(d)
	if !c.business {
		return c.Add(start, d), nil
	}
	p := c.plan(start, d)
	ex := &explainer{c: c, k: cursor{c: c}}
	if !p.start.Equal(start) {
		ex.explainStart(start, p.start)
	}
	if d.Days > 0 {
		ex.explainDays(p)
	}
	if d.Rest > 0 {
		ex.explainRest(p.counted, p.due)
	}
	ex.flush()
	return p.due.In(c.loc), ex.lines
}

// Between returns the business time elapsed from a to b (zero if b is not after a):
// for pauses and holds. On 24x7 it is b - a.
func (c *BusinessCalendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if !c.business {
		return b.Sub(a)
	}
	k := cursor{c: c}
	da, _ := c.locate(a)
	db, _ := c.locate(b)
	var total time.Duration
	for d := da; d <= db; d++ {
		if !k.isBusinessDay(d) {
			continue
		}
		for _, sp := range c.week[d.weekday()] {
			from, to := c.instant(d, sp.from), c.instant(d, sp.to)
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				total += to.Sub(from)
			}
		}
	}
	return total
}

// WarnAt returns the moment at which ratio of the target's business time has
// elapsed: the business time between NextBusinessMoment(start) and Add(start, d),
// times ratio, added as business time from NextBusinessMoment(start) (the earliest
// such moment). ratio is clamped to [0, 1]: 0 gives NextBusinessMoment(start), 1
// gives Add(start, d). On 24x7 it is start + ratio × d.Wall().
func (c *BusinessCalendar) WarnAt(start time.Time, d interactions.Duration, ratio float64) time.Time {
	d = nonNegative(d)
	if !(ratio > 0) { // also NaN
		ratio = 0
	}
	if ratio >= 1 {
		return c.Add(start, d)
	}
	if !c.business {
		return start.Add(time.Duration(float64(d.Wall()) * ratio)).In(c.Location())
	}
	p := c.plan(start, d)
	part := time.Duration(float64(c.Between(p.start, p.due)) * ratio)
	if part <= 0 {
		return p.start.In(c.loc)
	}
	k := cursor{c: c}
	return c.addBusiness(&k, p.start, part).In(c.loc)
}

func nonNegative(d interactions.Duration) interactions.Duration {
	d.Days = max(d.Days, 0)
	d.Rest = max(d.Rest, 0)
	return d
}

// plan is Add's working: each step of the deadline.
type plan struct {
	start   time.Time     // NextBusinessMoment(start)
	dayN    day           // the d.Days-th business day after start's day (d.Days > 0)
	wall    time.Duration // start's wall-clock time of day (d.Days > 0)
	clamped time.Duration // the time of day used on dayN (d.Days > 0)
	counted time.Time     // after the days; start when d.Days is 0
	due     time.Time     // after the rest: the deadline
}

func (c *BusinessCalendar) plan(start time.Time, d interactions.Duration) plan {
	k := cursor{c: c}
	var p plan
	p.start = c.nextBusiness(start)
	p.counted = p.start
	if d.Days > 0 {
		day0, w := c.locate(p.start)
		dn := day0
		for range d.Days {
			dn = k.nextBusinessDay(dn)
		}
		p.dayN, p.wall = dn, w
		p.clamped = clampToHours(c.week[dn.weekday()], w)
		p.counted = c.instant(dn, p.clamped)
	}
	p.due = p.counted
	if d.Rest > 0 {
		p.due = c.addBusiness(&k, p.counted, d.Rest)
	}
	return p
}

// clampToHours moves the wall-clock time w into spans (see Add).
func clampToHours(spans []span, w time.Duration) time.Duration {
	res := spans[0].from
	for _, sp := range spans {
		if w < sp.from {
			break
		}
		if w < sp.to {
			return w
		}
		res = sp.to
	}
	return res
}

// nextBusiness is NextBusinessMoment without the conversion to the calendar's zone.
func (c *BusinessCalendar) nextBusiness(t time.Time) time.Time {
	k := cursor{c: c}
	d, w := c.locate(t)
	if k.isBusinessDay(d) {
		for _, sp := range c.week[d.weekday()] {
			if w < sp.to {
				if w >= sp.from {
					return t
				}
				return c.instant(d, sp.from)
			}
		}
	}
	d = k.nextBusinessDay(d)
	return c.instant(d, c.week[d.weekday()][0].from)
}

// addBusiness returns the earliest moment at which r (> 0) business time has elapsed
// since t.
func (c *BusinessCalendar) addBusiness(k *cursor, t time.Time, r time.Duration) time.Time {
	d, w := c.locate(t)
	for {
		if k.isBusinessDay(d) {
			for _, sp := range c.week[d.weekday()] {
				if w >= sp.to {
					continue
				}
				from := t // only on t's own interval
				if w <= sp.from {
					from = c.instant(d, sp.from)
				}
				avail := max(c.instant(d, sp.to).Sub(from), 0) // never negative, even at odd DST changes
				if r <= avail {
					return from.Add(r)
				}
				r -= avail
				w = sp.to
			}
		}
		d++
		w = 0
	}
}

// locate returns t's civil day and wall-clock time of day in the calendar's zone.
func (c *BusinessCalendar) locate(t time.Time) (day, time.Duration) {
	t = t.In(c.loc)
	y, m, dd := t.Date()
	hh, mm, ss := t.Clock()
	w := time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute +
		time.Duration(ss)*time.Second + time.Duration(t.Nanosecond())
	return dayOf(y, m, dd), w
}

// instant returns the moment of wall-clock time w on day d in the calendar's zone.
// w may be 24:00 (the next midnight).
func (c *BusinessCalendar) instant(d day, w time.Duration) time.Time {
	y, m, dd := d.date()
	h := w / time.Hour
	w -= h * time.Hour
	mi := w / time.Minute
	w -= mi * time.Minute
	s := w / time.Second
	w -= s * time.Second
	return time.Date(y, m, dd, int(h), int(mi), int(s), int(w), c.loc)
}

// day is a civil date: days since 1970-01-01.
type day int

// dayOf returns the day of a proleptic Gregorian date.
func dayOf(y int, m time.Month, d int) day {
	if m <= time.February {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (int(m) + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return day(era*146097 + doe - 719468)
}

// date returns the year, month and day of d.
func (d day) date() (int, time.Month, int) {
	z := int(d) + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	m := (mp+2)%12 + 1
	if m <= 2 {
		y++
	}
	return y, time.Month(m), dd
}

func (d day) weekday() time.Weekday {
	return time.Weekday((int(d)%7 + 7 + 4) % 7) // 1970-01-01 was a Thursday
}

func (d day) String() string {
	y, m, dd := d.date()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), dd)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// holidayYear is the set of non-business dates (observed public holidays and extra
// holidays) of one year.
type holidayYear struct {
	first, last day       // January 1 and December 31
	bits        [6]uint64 // bit i: first+i is a holiday
}

func (hy *holidayYear) has(d day) bool {
	i := int(d - hy.first)
	return hy.bits[i/64]&(1<<(i%64)) != 0
}

func (hy *holidayYear) set(d day) {
	if d < hy.first || d > hy.last {
		return
	}
	i := int(d - hy.first)
	hy.bits[i/64] |= 1 << (i % 64)
}

// maxCachedYears bounds the holiday cache; other years are computed on each use.
const maxCachedYears = 400

// holidayYear returns the holiday set of d's year, from the cache when it can.
func (c *BusinessCalendar) holidayYear(d day) *holidayYear {
	y, _, _ := d.date()
	if m := c.years.Load(); m != nil {
		if hy, ok := (*m)[y]; ok {
			return hy
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.years.Load()
	if old != nil {
		if hy, ok := (*old)[y]; ok {
			return hy
		}
	}
	hy := c.computeYear(y)
	if old == nil || len(*old) < maxCachedYears {
		m := make(map[int]*holidayYear, 1)
		if old != nil {
			m = make(map[int]*holidayYear, len(*old)+1)
			for k, v := range *old {
				m[k] = v
			}
		}
		m[y] = hy
		c.years.Store(&m)
	}
	return hy
}

func (c *BusinessCalendar) computeYear(y int) *holidayYear {
	hy := &holidayYear{first: dayOf(y, time.January, 1), last: dayOf(y, time.December, 31)}
	for _, h := range c.holidays {
		// A holiday of the year before or after may be observed in y (US New Year's
		// Day on a Saturday is observed on December 31).
		for yy := y - 1; yy <= y+1; yy++ {
			if _, observed := h.Calc(yy); !observed.IsZero() {
				hy.set(dayOf(observed.Date()))
			}
		}
	}
	for _, d := range c.extra {
		hy.set(d)
	}
	return hy
}

// holidayName names the holiday on d, for explanations.
func (c *BusinessCalendar) holidayName(d day) string {
	y, _, _ := d.date()
	for _, h := range c.holidays {
		for yy := y - 1; yy <= y+1; yy++ {
			actual, observed := h.Calc(yy)
			if observed.IsZero() || dayOf(observed.Date()) != d {
				continue
			}
			if dayOf(actual.Date()) != d {
				return h.Name + ", observed"
			}
			return h.Name
		}
	}
	if _, ok := slices.BinarySearch(c.extra, d); ok {
		return "extra holiday"
	}
	return "holiday"
}

// cursor answers "is this a business day" during a walk over days, keeping the
// current year's holiday set at hand.
type cursor struct {
	c  *BusinessCalendar
	hy *holidayYear
}

func (k *cursor) isHoliday(d day) bool {
	if !k.c.hasHolidays {
		return false
	}
	if k.hy == nil || d < k.hy.first || d > k.hy.last {
		k.hy = k.c.holidayYear(d)
	}
	return k.hy.has(d)
}

func (k *cursor) isBusinessDay(d day) bool {
	return len(k.c.week[d.weekday()]) > 0 && !k.isHoliday(d)
}

// nextBusinessDay returns the first business day after d.
func (k *cursor) nextBusinessDay(d day) day {
	for {
		d++
		if k.isBusinessDay(d) {
			return d
		}
	}
}

// explainer writes Explain's lines.
type explainer struct {
	c     *BusinessCalendar
	k     cursor
	lines []string

	// a run of consecutive closed days (not business weekdays) not yet written
	inRun          bool
	runFrom, runTo day
	runWeekend     bool // every day of the run is a Saturday or Sunday

	closedSeen bool // a closed day or holiday was written since the last business interval
}

func (ex *explainer) add(format string, args ...any) {
	ex.flush()
	ex.lines = append(ex.lines, fmt.Sprintf(format, args...))
}

// closed records that d, a non-business day, was skipped.
func (ex *explainer) closed(d day) {
	ex.closedSeen = true
	wd := d.weekday()
	if len(ex.c.week[wd]) > 0 {
		ex.add("skipped holiday %s (%s)", d, ex.c.holidayName(d))
		return
	}
	weekend := wd == time.Saturday || wd == time.Sunday
	if ex.inRun && ex.runTo == d-1 {
		ex.runTo = d
		ex.runWeekend = ex.runWeekend && weekend
		return
	}
	ex.flush()
	ex.inRun, ex.runFrom, ex.runTo, ex.runWeekend = true, d, d, weekend
}

// flush writes the pending run of closed days.
func (ex *explainer) flush() {
	if !ex.inRun {
		return
	}
	ex.inRun = false
	var line string
	switch {
	case ex.runWeekend && ex.runFrom == ex.runTo:
		line = fmt.Sprintf("skipped weekend %s (%s)", ex.runFrom, ex.runFrom.weekday())
	case ex.runWeekend:
		line = fmt.Sprintf("skipped weekend %s–%s", ex.runFrom, ex.runTo)
	case ex.runFrom == ex.runTo:
		line = fmt.Sprintf("skipped non-business day %s (%s)", ex.runFrom, ex.runFrom.weekday())
	default:
		line = fmt.Sprintf("skipped non-business days %s–%s (%s–%s)", ex.runFrom, ex.runTo, ex.runFrom.weekday(), ex.runTo.weekday())
	}
	ex.lines = append(ex.lines, line)
}

// explainStart explains why the clock starts at s rather than at t.
func (ex *explainer) explainStart(t, s time.Time) {
	c := ex.c
	d, w := c.locate(t)
	sd, _ := c.locate(s)
	spans := c.week[d.weekday()]
	at := c.formatMoment(t)
	var why string
	switch {
	case len(spans) == 0:
		why = fmt.Sprintf("started outside business hours (%s)", at)
	case ex.k.isHoliday(d):
		why = fmt.Sprintf("started on a holiday (%s, %s)", c.holidayName(d), at)
	case w < spans[0].from:
		why = fmt.Sprintf("started before opening (%s)", at)
	case w >= spans[len(spans)-1].to:
		why = fmt.Sprintf("started after closing (%s)", at)
	default:
		why = fmt.Sprintf("started during a break (%s)", at)
	}
	ex.add("%s; clock starts %s %s", why, c.formatMoment(s), c.loc)
	// Weekends are evident from the days named; holidays are not.
	for dd := d + 1; dd < sd; dd++ {
		if len(c.week[dd.weekday()]) > 0 && ex.k.isHoliday(dd) {
			ex.add("skipped holiday %s (%s)", dd, c.holidayName(dd))
		}
	}
}

// explainDays explains the whole days of p.
func (ex *explainer) explainDays(p plan) {
	c := ex.c
	d0, _ := c.locate(p.start)
	for dd := d0 + 1; dd < p.dayN; dd++ {
		if !ex.k.isBusinessDay(dd) {
			ex.closed(dd)
		}
	}
	if p.clamped == p.wall {
		return
	}
	spans := c.week[p.dayN.weekday()]
	var where string
	switch {
	case p.clamped > p.wall:
		where = "opening"
	case p.clamped == spans[len(spans)-1].to:
		where = "end of hours"
	default:
		where = "start of a break"
	}
	ex.add("%s has no business hours at %s; deadline moved to %s (%s)",
		formatDay(p.dayN), formatClock(p.wall), formatClock(p.clamped), where)
}

// explainRest explains the business time counted from a to b.
func (ex *explainer) explainRest(a, b time.Time) {
	c := ex.c
	da, _ := c.locate(a)
	db, _ := c.locate(b)
	pos := a // where business time was last counted
	ex.closedSeen = false
	for d := da; d <= db; d++ {
		if !ex.k.isBusinessDay(d) {
			ex.closed(d)
			continue
		}
		for _, sp := range c.week[d.weekday()] {
			from, to := c.instant(d, sp.from), c.instant(d, sp.to)
			if !to.After(a) {
				continue
			}
			if !from.Before(b) {
				break
			}
			if from.After(pos) && !ex.closedSeen {
				ex.add("skipped outside hours %s", c.formatGap(pos, from))
			}
			pos = to
			ex.closedSeen = false
		}
	}
}

// formatGap renders a closed period between two business intervals.
func (c *BusinessCalendar) formatGap(a, b time.Time) string {
	a, b = a.In(c.loc), b.In(c.loc)
	if da, db := dayOf(a.Date()), dayOf(b.Date()); da == db {
		return fmt.Sprintf("%s %s–%s", da, formatTime(a), formatTime(b))
	}
	return fmt.Sprintf("%s %s – %s %s", dayOf(a.Date()), formatTime(a), dayOf(b.Date()), formatTime(b))
}

// formatMoment renders t as e.g. "Monday 2026-11-30 09:00" in the calendar's zone.
func (c *BusinessCalendar) formatMoment(t time.Time) string {
	t = t.In(c.loc)
	return t.Weekday().String() + " " + t.Format(time.DateOnly) + " " + formatTime(t)
}

// formatDay renders d as e.g. "Friday 2026-12-04".
func formatDay(d day) string { return d.weekday().String() + " " + d.String() }

// formatTime renders t's time of day as HH:MM, or HH:MM:SS when it has seconds.
func formatTime(t time.Time) string {
	if t.Second() != 0 || t.Nanosecond() != 0 {
		return t.Format("15:04:05")
	}
	return t.Format("15:04")
}

// formatClock renders a wall-clock offset from midnight as HH:MM, or HH:MM:SS when
// it has seconds.
func formatClock(w time.Duration) string {
	h := int(w / time.Hour)
	m := int(w % time.Hour / time.Minute)
	s := int(w % time.Minute / time.Second)
	if s != 0 || w%time.Second != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}
