package alerts

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Level says how urgent an alert is.
type Level string

// The alert levels.
const (
	LevelWarning   Level = "warning"   // the clock is about to be missed
	LevelBreached  Level = "breached"  // the clock's deadline has passed
	LevelEscalated Level = "escalated" // a breach stayed unacknowledged; sent to the manager
)

// severity orders levels: escalated first.
func (l Level) severity() int {
	switch l {
	case LevelEscalated:
		return 3
	case LevelBreached:
		return 2
	case LevelWarning:
		return 1
	}
	return 0
}

// Recipient is the person a Message goes to.
type Recipient struct {
	RecruiterID string
	Name        string
	Email       string
	Phone       string // E.164
}

// Item is one alert inside a Message.
type Item struct {
	ID        string // the alert's id
	Code      string // the alert's short code, e.g. "7F3K", which an SMS reply "ACK 7F3K" acknowledges
	Level     Level
	Candidate string // the candidate's name
	Job       string // the job title
	Metric    string // the SLA metric, e.g. "first_response"
	// What names what is overdue in words, e.g. "first response"; empty derives it from
	// Metric.
	What string
	// By is how long the clock is overdue (breached, escalated) or, for a warning, how
	// long until it is due. The sign is ignored.
	By   time.Duration
	Link string // the signed acknowledgement link
}

// Message is what one send to one recipient carries: one alert, or several grouped.
type Message struct {
	Recipient Recipient
	Alerts    []Item
}

// metricWords says in words what each SLA metric waits for.
var metricWords = map[string]string{
	"first_response":     "first response",
	"reply":              "reply",
	"contact_gap":        "follow-up",
	"stage_stall":        "next step",
	"interview_outcome":  "interview outcome",
	"interview_feedback": "interview feedback",
	"closure":            "rejection notice",
	"promise":            "promised contact",
	"nurture":            "nurture touch",
}

// what returns what is overdue, in words.
func (it Item) what() string {
	if it.What != "" {
		return it.What
	}
	if w, ok := metricWords[it.Metric]; ok {
		return w
	}
	if it.Metric == "" {
		return "response"
	}
	return strings.ReplaceAll(it.Metric, "_", " ")
}

// timing says "due in 45m" for a warning and "overdue by 2h 15m" otherwise.
func (it Item) timing() string {
	if it.Level == LevelWarning {
		return "due in " + HumanDuration(it.By)
	}
	return "overdue by " + HumanDuration(it.By)
}

// HumanDuration writes d (sign ignored) in at most two units, rounded down: "2d 3h",
// "5h", "2h 15m", "45m"; less than a minute is "under 1m".
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	mins := int64(d / time.Minute)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", hours, m)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	}
	return "under 1m"
}

// ordered returns the alerts most urgent first: escalated, breached, warning; within a
// level the longest overdue (or soonest due) first. The input is not modified.
func ordered(items []Item) []Item {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b Item) int {
		if c := cmp.Compare(b.Level.severity(), a.Level.severity()); c != 0 {
			return c
		}
		by := cmp.Compare(abs(b.By), abs(a.By))
		if a.Level == LevelWarning {
			by = -by
		}
		if by != 0 {
			return by
		}
		return cmp.Compare(a.ID, b.ID) // one order for a message, whatever the group's
	})
	return out
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// candidates counts the distinct candidate names.
func candidates(items []Item) int {
	seen := map[string]bool{}
	for _, it := range items {
		seen[it.Candidate] = true
	}
	return len(seen)
}

// mixedLevels reports whether the items are not all of one level.
func mixedLevels(items []Item) bool {
	for _, it := range items[1:] {
		if it.Level != items[0].Level {
			return true
		}
	}
	return false
}

// clean makes a user-supplied string safe for one line: control characters and runs of
// white space become one space.
func clean(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

// truncate cuts s to at most n runes, marking a cut with "...".
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 3 {
		return string(r[:n])
	}
	return strings.TrimRight(string(r[:n-3]), " ") + "..."
}

// Describe says in words what is overdue (or due soon) and by how long, as every
// channel's message does: "first response", "overdue by 2h 15m".
func (it Item) Describe() (what, timing string) { return it.what(), it.timing() }

// Ordered returns the items most urgent first, as every channel lists them (the input
// is not modified).
func Ordered(items []Item) []Item { return ordered(items) }
