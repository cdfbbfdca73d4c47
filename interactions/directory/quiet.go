package directory

import (
	"slices"
	"time"
)

// QuietUntil returns the first moment at or after t when r may be alerted: t itself when
// it is a working day outside quiet hours, otherwise the end of the quiet hours or the
// start of the next working day, whichever comes first and is allowed. Days and times are
// those of r's time zone; an empty or unknown Timezone means t's location (so pass t in
// the organisation's zone). Quiet hours may wrap midnight: "20:00"–"08:00" is quiet from
// 20:00 until 08:00 the next morning. Across a DST change, wall-clock times that do not
// exist are skipped and the first allowed instant is returned. A recruiter with no usable
// working day (not possible after Validate) is never deferred. Invalid quiet hours are
// ignored.
func QuietUntil(r Recruiter, t time.Time) time.Time {
	loc := t.Location()
	if r.Timezone != "" {
		if l, err := time.LoadLocation(r.Timezone); err == nil {
			loc = l
		}
	}
	t = t.In(loc)
	w := newWindow(r)
	if !w.anyDay() || w.allowed(t) {
		return t
	}
	// The disallowed stretches end at a quiet-hours end, at a midnight, or at a zone
	// change (when the wall clock jumps). Try those moments in order over the next
	// eight days.
	var cands []time.Time
	y, m, d := t.Date()
	for i := 0; i <= 8; i++ {
		cands = append(cands, time.Date(y, m, d+i, 0, 0, 0, 0, loc))
		if w.quiet {
			cands = append(cands, time.Date(y, m, d+i, w.end/60, w.end%60, 0, 0, loc))
		}
	}
	horizon := cands[len(cands)-1]
	for cur := t; cur.Before(horizon); {
		_, end := cur.ZoneBounds()
		if end.IsZero() || !end.After(cur) {
			break
		}
		cands = append(cands, end)
		cur = end
	}
	slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
	for _, c := range cands {
		if c.After(t) && w.allowed(c) {
			return c
		}
	}
	return t
}

// window is r's allowed times: working days, minus quiet hours.
type window struct {
	days       [7]bool // by time.Weekday
	quiet      bool
	start, end int // minutes after midnight
}

func newWindow(r Recruiter) window {
	var w window
	days := r.WorkingDays
	if days == nil {
		days = DefaultWorkingDays
	}
	for _, d := range days {
		if i := slices.Index(weekdays, d); i >= 0 {
			w.days[i] = true
		}
	}
	if q := r.QuietHours; q != nil {
		s, okS := parseHHMM(q.Start)
		e, okE := parseHHMM(q.End)
		if okS && okE && s != e {
			w.quiet, w.start, w.end = true, s, e
		}
	}
	return w
}

func (w window) anyDay() bool { return slices.Contains(w.days[:], true) }

// allowed reports whether t (in the recruiter's zone) is on a working day outside quiet
// hours.
func (w window) allowed(t time.Time) bool {
	if !w.days[t.Weekday()] {
		return false
	}
	if !w.quiet {
		return true
	}
	tod := t.Hour()*60 + t.Minute()
	if w.start < w.end {
		return tod < w.start || tod >= w.end
	}
	return tod < w.start && tod >= w.end // wraps midnight
}
