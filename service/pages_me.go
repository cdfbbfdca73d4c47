package service

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
)

// The queue page's "My alerts" form: a signed-in recruiter's own alert settings,
// saved as PATCH /v1/me saves them.

// myAlerts is the form's content: the recruiter's settings as they stand.
type myAlerts struct {
	CSRF                 string
	QuietStart, QuietEnd string
	Days                 []myOption // working days, Monday first
	Levels               []myLevel  // channels per alert level
	DigestOn             bool
	DigestAt             string
	AwayUntil            string // a date, in the recruiter's zone; "" when not away
	Delegate             string
	Delegates            []recruiterOption
	Phone                string
	Zone                 string
}

type myOption struct {
	Value, Label string
	Checked      bool
}

type myLevel struct {
	Level, Label string
	Channels     []myOption
}

// myAlertsOf fills the form from r, whose dates are shown in zone.
func myAlertsOf(r directory.Recruiter, zone *time.Location, csrf string) *myAlerts {
	m := &myAlerts{CSRF: csrf, DigestOn: r.Digest.Enabled, DigestAt: cmpOr(r.Digest.At, directory.DefaultDigestAt),
		Delegate: r.DelegateID, Phone: r.Phone, Zone: zone.String()}
	if r.QuietHours != nil {
		m.QuietStart, m.QuietEnd = r.QuietHours.Start, r.QuietHours.End
	}
	for _, d := range []struct{ v, l string }{{"mon", "Mon"}, {"tue", "Tue"}, {"wed", "Wed"}, {"thu", "Thu"}, {"fri", "Fri"}, {"sat", "Sat"}, {"sun", "Sun"}} {
		m.Days = append(m.Days, myOption{Value: d.v, Label: d.l, Checked: slices.Contains(r.WorkingDays, d.v)})
	}
	for _, l := range []struct {
		level, label string
		list         []string
	}{{"warning", "Warnings", r.Channels.Warning}, {"breached", "Breaches", r.Channels.Breached}, {"escalated", "Escalations", r.Channels.Escalated}} {
		lv := myLevel{Level: l.level, Label: l.label}
		for _, ch := range []struct{ v, l string }{{directory.ChannelSMS, "SMS"}, {directory.ChannelEmail, "Email"}} {
			lv.Channels = append(lv.Channels, myOption{Value: ch.v, Label: ch.l, Checked: slices.Contains(l.list, ch.v)})
		}
		m.Levels = append(m.Levels, lv)
	}
	if r.AwayUntil != nil {
		m.AwayUntil = r.AwayUntil.In(zone).Format(time.DateOnly)
	}
	return m
}

// queueMe answers POST /queue/me, the "My alerts" form: the whole form becomes one
// merge patch of the signed-in recruiter's entry.
func (s *api) queueMe(c *gin.Context) {
	key := caller(c)
	if key.Role != auth.RoleRecruiter {
		s.queueProblem(c, http.StatusForbidden, "Only a recruiter has alert settings of its own.")
		return
	}
	cur, err := s.directory.Get(ctx(c), key.RecruiterID)
	if err != nil {
		s.pageFail(c, err)
		return
	}
	zone := s.zone()
	if loc, err := time.LoadLocation(cur.Timezone); err == nil && cur.Timezone != "" {
		zone = loc
	}
	patch, err := myAlertsPatch(c, zone)
	if err == nil {
		var changed bool
		var r directory.Recruiter
		r, changed, err = s.patchSelf(ctx(c), key.RecruiterID, patch)
		if err == nil {
			if changed && !s.audit(c, audit.RecruiterChanged, r.ID) {
				return
			}
			queueBack(c, "settings-saved")
			return
		}
	}
	var e *interactions.Error
	if !errors.As(err, &e) || e.Code == interactions.CodeUnavailable || e.Code == interactions.CodeInternal {
		s.pageFail(c, err)
		return
	}
	text := e.Message
	if len(e.Fields) > 0 {
		text = "Not saved: " + e.Fields[0].Field + " " + e.Fields[0].Message + "."
	}
	s.queueProblem(c, statusOf[e.Code], text)
}

// myAlertsPatch reads the form into a merge patch of every field it shows.
func myAlertsPatch(c *gin.Context, zone *time.Location) (map[string]any, error) {
	patch := map[string]any{}
	start, end := strings.TrimSpace(c.PostForm("quiet_start")), strings.TrimSpace(c.PostForm("quiet_end"))
	if start == "" && end == "" {
		patch["quiet_hours"] = nil
	} else {
		patch["quiet_hours"] = map[string]any{"start": start, "end": end}
	}
	days := []any{}
	for _, d := range c.PostFormArray("working_days") {
		days = append(days, d)
	}
	patch["working_days"] = days
	channels := map[string]any{}
	for _, level := range []string{"warning", "breached", "escalated"} {
		list := []any{}
		for _, ch := range c.PostFormArray("channels_" + level) {
			list = append(list, ch)
		}
		channels[level] = list
	}
	patch["channels"] = channels
	digest := map[string]any{"enabled": c.PostForm("digest_enabled") != ""}
	if at := strings.TrimSpace(c.PostForm("digest_at")); at != "" {
		digest["at"] = at
	}
	patch["digest"] = digest
	if away := strings.TrimSpace(c.PostForm("away_until")); away == "" {
		patch["away_until"] = nil
	} else {
		day, err := time.ParseInLocation(time.DateOnly, away, zone)
		if err != nil {
			return nil, interactions.Invalid(interactions.FieldError{Field: "away_until", Message: "must be a date like 2026-12-24"})
		}
		patch["away_until"] = interactions.APITime(day)
	}
	if d := strings.TrimSpace(c.PostForm("delegate_id")); d == "" {
		patch["delegate_id"] = nil
	} else {
		patch["delegate_id"] = d
	}
	if p := strings.TrimSpace(c.PostForm("phone")); p == "" {
		patch["phone"] = nil
	} else {
		patch["phone"] = p
	}
	return patch, nil
}
