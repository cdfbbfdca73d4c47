package directory

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// DefaultRecruiterID is the recruiter alerted for applications with no known recruiter.
const DefaultRecruiterID = "default"

// The channels an alert can go through.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
	ChannelTeams = "teams" // a Teams Workflows webhook (TeamsWebhookURL)
	ChannelSlack = "slack" // a direct message from the Slack app to SlackUserID
)

// Recruiter is an entry of the recruiters directory.
type Recruiter struct {
	ID         string     `json:"id" bson:"_id"`
	Name       string     `json:"name" bson:"name"`
	Email      string     `json:"email,omitempty" bson:"email,omitempty"`
	Phone      string     `json:"phone,omitempty" bson:"phone,omitempty"` // E.164
	Timezone   string     `json:"timezone,omitempty" bson:"timezone,omitempty"`
	Team       string     `json:"team,omitempty" bson:"team,omitempty"`
	ManagerID  string     `json:"manager_id,omitempty" bson:"manager_id,omitempty"`
	DelegateID string     `json:"delegate_id,omitempty" bson:"delegate_id,omitempty"`
	AwayUntil  *time.Time `json:"away_until,omitempty" bson:"away_until,omitempty"`
	Channels   Channels   `json:"channels" bson:"channels"`
	// TeamsWebhookURL is a Teams Workflows incoming-webhook URL for a chat with the
	// recruiter: the "teams" channel posts there. It is a bearer secret (whoever has it
	// can post): shown to admins only, never logged. The service checks its host.
	TeamsWebhookURL string `json:"teams_webhook_url,omitempty" bson:"teams_webhook_url,omitempty"`
	// SlackUserID is the recruiter's Slack user ("U…" or "W…"), where the slack
	// channel sends: looked up by Email when the entry is saved and on each pass of the
	// ATS sync (slack.go); one set by hand must be the one that lookup finds.
	SlackUserID string `json:"slack_user_id,omitempty" bson:"slack_user_id,omitempty"`
	// SlackEmail is the email SlackUserID was looked up for: the sync looks again only
	// when Email changes.
	SlackEmail string `json:"-" bson:"slack_email,omitempty"`
	// QuietHours, if set, is a daily window in the recruiter's time zone when no alert
	// is delivered.
	QuietHours  *QuietHours `json:"quiet_hours,omitempty" bson:"quiet_hours,omitempty"`
	WorkingDays []string    `json:"working_days" bson:"working_days"` // "mon" … "sun"
	// Digest asks for one email a day listing the recruiter's overdue and due-today
	// candidates.
	Digest Digest `json:"digest" bson:"digest,omitempty"`
	// Active is false for someone who left or no longer recruits (an admin or the ATS
	// sync says so): an inactive recruiter gets no alerts (its delegate or the
	// "default" recruiter does) and signs in as no one. nil (an entry stored before
	// the field existed, or a PUT without it) means true; Validate and the directory's
	// reads fill it in, so callers may use IsActive or *Active.
	Active *bool `json:"active" bson:"active,omitempty"`
}

// IsActive reports whether the recruiter is active (nil counts as active).
func (r Recruiter) IsActive() bool { return r.Active == nil || *r.Active }

// normalise fills in what an entry read from the store may lack.
func (r *Recruiter) normalise() {
	if r.Active == nil {
		t := true
		r.Active = &t
	}
}

// Channels lists, per alert level, the channels ("sms", "email", "slack") used to reach the
// recruiter. A nil list takes the default (see Recruiter.Validate); an empty one turns
// that level's alerts off for this recruiter.
type Channels struct {
	Warning   []string `json:"warning" bson:"warning"`
	Breached  []string `json:"breached" bson:"breached"`
	Escalated []string `json:"escalated" bson:"escalated"`
}

// Digest is the daily digest's setting: when Enabled, one email at At ("HH:MM" in the
// recruiter's time zone, DefaultDigestAt when empty) on each working day that has
// overdue or due-today candidates. Off by default.
type Digest struct {
	Enabled bool   `json:"enabled" bson:"enabled"`
	At      string `json:"at,omitempty" bson:"at,omitempty"`
}

// DefaultDigestAt is when the digest goes out when it is enabled without a time.
const DefaultDigestAt = "08:30"

// QuietHours is a daily window, "HH:MM" to "HH:MM" local time, start inclusive and end
// exclusive; it wraps midnight when End is before Start ("20:00" to "08:00").
type QuietHours struct {
	Start string `json:"start" bson:"start"`
	End   string `json:"end" bson:"end"`
}

// channelNames are the channels Channels may name.
var channelNames = []string{ChannelSMS, ChannelEmail, ChannelTeams, ChannelSlack}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // indexed by time.Weekday

// Defaults filled in by Validate.
var (
	DefaultWorkingDays       = []string{"mon", "tue", "wed", "thu", "fri"}
	DefaultWarningChannels   = []string{ChannelEmail}
	DefaultBreachedChannels  = []string{ChannelSMS, ChannelEmail}
	DefaultEscalatedChannels = []string{ChannelSMS}
)

const maxIDLen = 128

// Validate normalises r (trims, lower-cases days and channels, sorts working days into
// week order), fills in defaults, and returns what is wrong with it; nil means r may be
// stored. Defaults: working days Monday–Friday; channels warning [email], breached [sms,
// email], escalated [sms] for each level left unset (nil); no quiet hours; no digest
// (DefaultDigestAt when it is enabled without a time). An empty
// Timezone means the organisation's (see QuietUntil).
//
// smsCountries (ISO 3166 codes, e.g. "US", "GB") are the countries whose numbers may get
// SMS (GOODWILL_SMS_COUNTRIES): the phone must be E.164 and within one of them (see
// CallingCodes). A manager or delegate may not be the recruiter itself.
func (r *Recruiter) Validate(smsCountries []string) []interactions.FieldError {
	var errs []interactions.FieldError
	bad := func(field, msg string) { errs = append(errs, interactions.FieldError{Field: field, Message: msg}) }

	r.ID = strings.TrimSpace(r.ID)
	switch {
	case r.ID == "":
		bad("id", "is required")
	case len(r.ID) > maxIDLen:
		bad("id", fmt.Sprintf("must be at most %d bytes", maxIDLen))
	case strings.ContainsFunc(r.ID, func(c rune) bool { return c < ' ' || c == 0x7f || c == '/' }):
		bad("id", "must not contain control characters or '/'")
	}
	r.Name = strings.TrimSpace(r.Name)
	r.TeamsWebhookURL = strings.TrimSpace(r.TeamsWebhookURL)
	r.Email = strings.TrimSpace(r.Email)
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Name != "" || a.Address != r.Email {
			bad("email", "must be an email address like ann@example.com")
		}
	}
	r.Phone = strings.TrimSpace(r.Phone)
	if r.Phone != "" {
		if msg := checkPhone(r.Phone, smsCountries); msg != "" {
			bad("phone", msg)
		}
	}
	r.SlackUserID = strings.TrimSpace(r.SlackUserID)
	if r.SlackUserID != "" && !slackUserID.MatchString(r.SlackUserID) {
		bad("slack_user_id", "must be a Slack user id like U012AB3CDE")
	}
	r.Timezone = strings.TrimSpace(r.Timezone)
	if r.Timezone != "" {
		if _, err := time.LoadLocation(r.Timezone); err != nil || strings.EqualFold(r.Timezone, "local") {
			bad("timezone", "must be an IANA time zone like Europe/Berlin")
		}
	}
	r.ManagerID, r.DelegateID = strings.TrimSpace(r.ManagerID), strings.TrimSpace(r.DelegateID)
	if r.ManagerID != "" && r.ManagerID == r.ID {
		bad("manager_id", "must not be the recruiter itself")
	}
	if r.DelegateID != "" && r.DelegateID == r.ID {
		bad("delegate_id", "must not be the recruiter itself")
	}
	if r.AwayUntil != nil && r.AwayUntil.IsZero() {
		r.AwayUntil = nil
	}
	r.normalise()

	for _, c := range []struct {
		field string
		list  *[]string
		def   []string
	}{
		{"channels.warning", &r.Channels.Warning, DefaultWarningChannels},
		{"channels.breached", &r.Channels.Breached, DefaultBreachedChannels},
		{"channels.escalated", &r.Channels.Escalated, DefaultEscalatedChannels},
	} {
		if *c.list == nil {
			*c.list = slices.Clone(c.def)
			continue
		}
		out := []string{}
		for i, ch := range *c.list {
			ch = strings.ToLower(strings.TrimSpace(ch))
			if !slices.Contains(channelNames, ch) {
				bad(fmt.Sprintf("%s[%d]", c.field, i), `must be "sms", "email", "teams" or "slack"`)
				continue
			}
			if !slices.Contains(out, ch) {
				out = append(out, ch)
			}
		}
		*c.list = out
	}

	if r.QuietHours != nil {
		s, okS := parseHHMM(r.QuietHours.Start)
		e, okE := parseHHMM(r.QuietHours.End)
		if !okS {
			bad("quiet_hours.start", `must be a time of day like "20:00"`)
		}
		if !okE {
			bad("quiet_hours.end", `must be a time of day like "08:00"`)
		}
		if okS && okE && s == e {
			bad("quiet_hours.end", "must differ from start")
		}
	}

	r.Digest.At = strings.TrimSpace(r.Digest.At)
	if r.Digest.At != "" {
		if _, ok := parseHHMM(r.Digest.At); !ok {
			bad("digest.at", `must be a time of day like "08:30"`)
		}
	} else if r.Digest.Enabled {
		r.Digest.At = DefaultDigestAt
	}

	if r.WorkingDays == nil {
		r.WorkingDays = slices.Clone(DefaultWorkingDays)
	} else {
		seen := map[int]bool{}
		for i, d := range r.WorkingDays {
			idx := slices.Index(weekdays, strings.ToLower(strings.TrimSpace(d)))
			if idx < 0 {
				bad(fmt.Sprintf("working_days[%d]", i), `must be one of "mon" … "sun"`)
				continue
			}
			seen[idx] = true
		}
		if len(r.WorkingDays) == 0 {
			bad("working_days", "must name at least one day")
		}
		out := []string{}
		for _, idx := range []int{1, 2, 3, 4, 5, 6, 0} { // week order, Monday first
			if seen[idx] {
				out = append(out, weekdays[idx])
			}
		}
		if len(out) > 0 {
			r.WorkingDays = out
		}
	}
	return errs
}

// parseHHMM parses "HH:MM" (00:00–23:59) into minutes after midnight.
func parseHHMM(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	return h*60 + m, true
}
