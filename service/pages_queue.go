package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/sla"
)

// The queue: a recruiter's overdue and soon-due candidates, with one-click forms to
// acknowledge the alert and to log a reply.

// queueMaxRows bounds each of the queue's tables.
const queueMaxRows = 200

// replyChannels are the channels the "Log a reply" form offers.
var replyChannels = []struct{ Value, Label string }{
	{"email", "Email"}, {"sms", "SMS"}, {"phone", "Phone"}, {"video", "Video"}, {"portal", "Portal"}, {"other", "Other"},
}

// contactStops are the metrics a reply stops (first response, reply, silent
// candidate, silent rejection, promise).
var contactStops = []sla.Metric{sla.MetricFirstResponse, sla.MetricReply, sla.MetricContactGap, sla.MetricClosure, sla.MetricPromise}

// queueNotices are the messages a form's redirect names.
var queueNotices = map[string]notice{
	"acknowledged":   {OK: true, Text: "Acknowledged: the alert will not escalate."},
	"already":        {OK: true, Text: "That alert was already acknowledged or resolved."},
	"reply-logged":   {OK: true, Text: "Reply logged: its clocks have stopped."},
	"reply-pending":  {OK: true, Text: "Reply logged: the queue reflects it within a second."},
	"reply-kept":     {OK: true, Text: "That reply was logged already."},
	"settings-saved": {OK: true, Text: "Your alert settings are saved."},
}

type notice struct {
	OK   bool
	Text string
}

// queuePage is the body of queue.html.tmpl.
type queuePage struct {
	Notice     *notice
	Recruiter  string // the filter
	Recruiters []recruiterOption
	Zone       string
	Mail       *queueMail // a recruiter's email dropbox, when the dropbox is on
	Overdue    queueTable
	DueSoon    queueTable
	Mine       *myAlerts // a recruiter's own settings (pages_me.go); nil for others
}

// queueMail shows recruiters their dropbox address ("" when none was issued yet) and
// the dropbox's domain.
type queueMail struct {
	Address, Domain, RecruiterID string
}

type recruiterOption struct {
	ID, Name string
	Selected bool
}

type queueTable struct {
	ID, Title, Empty, ByLabel string
	Rows                      []queueRow
	More                      int    // rows left out
	CSRF                      string // the forms' token
	Filter                    string // the recruiter filter, kept across a form
	Channels                  []struct{ Value, Label string }
}

type queueRow struct {
	ClockID, ApplicationID, CandidateName, Job, Recruiter string
	Metric, MetricLabel, State                            string
	Due, DueISO, By                                       string
	Seconds                                               int64
	AlertID, AlertLevel, AlertState                       string
	Nonce                                                 string
	// Backdated is set when the touchpoint that started the clock was logged late
	// by the person it concerns (interactions.SelfReported).
	Backdated bool
}

// queue answers GET /queue.
func (s *api) queue(c *gin.Context) {
	var n *notice
	if v, ok := queueNotices[c.Query("notice")]; ok {
		n = &v
	}
	s.renderQueue(c, http.StatusOK, n)
}

// renderQueue shows the queue, with a notice (a form's outcome) if not nil.
func (s *api) renderQueue(c *gin.Context, status int, n *notice) {
	key := caller(c)
	requested := c.Query("recruiter")
	if c.Request.Method == http.MethodPost {
		requested = c.PostForm("recruiter")
	}
	scope, err := s.recruiterScope(c, requested)
	if err != nil {
		s.pageFail(c, err)
		return
	}
	dir, err := s.directory.List(ctx(c))
	if err != nil {
		s.pageFail(c, err)
		return
	}
	names := map[string]string{}
	zone := s.zone()
	body := queuePage{Notice: n, Recruiter: requested}
	var visible []string
	if key.Role == auth.RoleRecruiter {
		if visible, err = auth.Visible(ctx(c), s.directory, key.RecruiterID); err != nil {
			s.pageFail(c, err)
			return
		}
	}
	for _, r := range dir {
		names[r.ID] = r.Name
		if key.Role == auth.RoleRecruiter && r.ID == key.RecruiterID && r.Timezone != "" {
			if loc, err := time.LoadLocation(r.Timezone); err == nil {
				zone = loc
			}
		}
		if visible == nil || slices.Contains(visible, r.ID) {
			body.Recruiters = append(body.Recruiters, recruiterOption{ID: r.ID, Name: cmpOr(r.Name, r.ID), Selected: r.ID == requested})
		}
	}
	body.Zone = zone.String()
	if key.Role == auth.RoleRecruiter && s.cfg.Mail.Domain != "" {
		address, err := s.mailAddressOf(c, key.RecruiterID)
		if err != nil {
			s.pageFail(c, err)
			return
		}
		body.Mail = &queueMail{Address: address, Domain: s.cfg.Mail.Domain, RecruiterID: key.RecruiterID}
	}
	csrf := ""
	if v := c.GetString(ctxSession); v != "" {
		csrf = s.csrfToken(v)
	}
	if key.Role == auth.RoleRecruiter {
		if i := slices.IndexFunc(dir, func(r directory.Recruiter) bool { return r.ID == key.RecruiterID }); i >= 0 {
			body.Mine = myAlertsOf(dir[i], zone, csrf)
		}
	}
	body.Overdue = queueTable{ID: "overdue", Title: "Overdue", ByLabel: "Overdue by", Empty: "Nothing is overdue.",
		CSRF: csrf, Filter: requested, Channels: replyChannels}
	body.DueSoon = queueTable{ID: "due-soon", Title: "Due soon", ByLabel: "Due in", Empty: "Nothing is due soon.",
		CSRF: csrf, Filter: requested, Channels: replyChannels}
	var items []sla.OverdueItem
	if scope == nil || len(scope) > 0 { // an empty scope is nobody, not everybody
		items = s.engine.Overdue(sla.OverdueFilter{RecruiterIDs: scope})
	}
	jobs := map[string]string{}
	mayAct := func(a alerts.Alert) (bool, error) {
		switch err := s.mayActOnAlert(c, a); {
		case err == nil:
			return true, nil
		case interactions.ErrorCode(err) == interactions.CodeNotFound || interactions.ErrorCode(err) == interactions.CodeForbidden:
			return false, nil
		default:
			return false, err
		}
	}
	for _, it := range items {
		t := &body.DueSoon
		if it.State == sla.StateBreached {
			t = &body.Overdue
		}
		if len(t.Rows) >= queueMaxRows {
			t.More++
			continue
		}
		row, err := s.queueRow(ctx(c), it, names, jobs, zone, mayAct)
		if err != nil {
			s.pageFail(c, err)
			return
		}
		t.Rows = append(t.Rows, row)
	}
	title := "Queue"
	if key.Role == auth.RoleRecruiter {
		title = "Your queue"
	}
	s.render(c, status, "queue", s.newPage(c, title, "queue", body))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// queueRow fills one row: the candidate's name, the job's title, the open alert.
// The row's form names the first open alert the caller may act on (mayAct).
func (s *api) queueRow(ctx context.Context, it sla.OverdueItem, recruiters, jobs map[string]string, zone *time.Location,
	mayAct func(alerts.Alert) (bool, error)) (queueRow, error) {
	row := queueRow{
		ClockID: it.ClockID, ApplicationID: it.ApplicationID, Metric: string(it.Metric), MetricLabel: metricLabel(it.Metric),
		State: string(it.State), Recruiter: cmpOr(recruiters[it.RecruiterID], it.RecruiterID),
		Due: it.DueAt.In(zone).Format("Mon 2 Jan 15:04 MST"), DueISO: interactions.APITime(it.DueAt),
		Seconds: it.OverdueSeconds, Nonce: newNonce(),
	}
	row.By = humanDuration(time.Duration(it.OverdueSeconds) * time.Second)
	if it.OverdueSeconds < 0 {
		row.By = humanDuration(-time.Duration(it.OverdueSeconds) * time.Second)
	}
	row.CandidateName, row.Job = "(name not known)", ""
	app, err := s.interactions.Application(ctx, it.ApplicationID)
	switch {
	case err == nil:
		for _, e := range app.Events {
			if e.ID == it.StartedBy {
				row.Backdated = e.Backdated
				break
			}
		}
		if cand, err := s.interactions.Candidate(ctx, app.CandidateID); err == nil && cand.Name != "" {
			row.CandidateName = cand.Name
		} else if err != nil && interactions.ErrorCode(err) != interactions.CodeNotFound {
			return row, err
		}
		if app.JobID != "" {
			title, ok := jobs[app.JobID]
			if !ok {
				job, err := s.interactions.Job(ctx, app.JobID)
				if err != nil && interactions.ErrorCode(err) != interactions.CodeNotFound {
					return row, err
				}
				title = cmpOr(job.Title, app.JobID)
				jobs[app.JobID] = title
			}
			row.Job = title
		}
	case interactions.ErrorCode(err) != interactions.CodeNotFound:
		return row, err
	}
	// The clock's alerts, most urgent first: the form acknowledges the first open one
	// the caller may act on (and the others with it).
	for _, level := range []alerts.Level{alerts.LevelEscalated, alerts.LevelBreached, alerts.LevelWarning} {
		a, err := s.alertStore.Get(ctx, alerts.AlertID(it.StartedBy, string(it.Metric), level))
		if interactions.ErrorCode(err) == interactions.CodeNotFound {
			continue
		}
		if err != nil {
			return row, err
		}
		if a.State != alerts.StateOpen && a.State != alerts.StateSnoozed {
			continue
		}
		ok, err := mayAct(a)
		if err != nil {
			return row, err
		}
		if ok {
			row.AlertID, row.AlertLevel, row.AlertState = a.ID, string(a.Level), string(a.State)
			break
		}
	}
	return row, nil
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// humanDuration reads like "2d 3h", "3h 5m", "45m" or "30s".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	days, h, m := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}

// queueBack sends a browser back to the queue with a notice, keeping its filter.
func queueBack(c *gin.Context, code string) {
	v := url.Values{"notice": {code}}
	if r := c.PostForm("recruiter"); r != "" {
		v.Set("recruiter", r)
	}
	formDone(c, "/queue?"+v.Encode())
}

// queueProblem shows the queue again with what went wrong, at status.
func (s *api) queueProblem(c *gin.Context, status int, text string) {
	if wantsProblem(c) {
		slug := map[int]string{400: "invalid", 403: "forbidden", 404: "not_found", 409: "conflict"}[status]
		abortProblem(c, status, slug, text)
		return
	}
	s.renderQueue(c, status, &notice{Text: text})
}

// queueAck answers POST /queue/ack: it acknowledges the alert named and the other
// open alerts of its clock that the caller may act on (mayActOnAlert), as
// POST /v1/alerts/{id}/ack does.
func (s *api) queueAck(c *gin.Context) {
	id := c.PostForm("alert_id")
	if id == "" {
		s.queueProblem(c, http.StatusBadRequest, "The form names no alert.")
		return
	}
	a, err := s.alertStore.Get(ctx(c), id)
	if err == nil {
		err = s.mayActOnAlert(c, a)
	}
	switch {
	case err == nil:
	case interactions.ErrorCode(err) == interactions.CodeNotFound:
		s.queueProblem(c, http.StatusNotFound, "That alert does not exist, or is not in your queue.")
		return
	case interactions.ErrorCode(err) == interactions.CodeForbidden:
		s.queueProblem(c, http.StatusForbidden, "That alert is an escalation to someone above you: only they may acknowledge it.")
		return
	default:
		s.pageFail(c, err)
		return
	}
	acked := 0
	for _, sid := range alerts.Siblings(a) {
		sib, err := s.alertStore.Get(ctx(c), sid)
		if interactions.ErrorCode(err) == interactions.CodeNotFound {
			continue
		}
		if err == nil {
			err = s.mayActOnAlert(c, sib)
		}
		if code := interactions.ErrorCode(err); err != nil && (code == interactions.CodeNotFound || code == interactions.CodeForbidden) {
			continue // e.g. the escalation of one's own breach, which is one's manager's
		}
		if err != nil {
			s.pageFail(c, err)
			return
		}
		if sib.State != alerts.StateOpen && sib.State != alerts.StateSnoozed {
			continue
		}
		_, err = s.dispatcher.Ack(ctx(c), sid)
		switch {
		case err == nil:
			if !s.audit(c, audit.AlertAcknowledged, sid) {
				return
			}
			acked++
		case interactions.ErrorCode(err) != interactions.CodeConflict: // resolved meanwhile
			s.pageFail(c, err)
			return
		}
	}
	if acked == 0 {
		queueBack(c, "already")
		return
	}
	queueBack(c, "acknowledged")
}

// queueReply answers POST /queue/reply: an outbound message to the application's
// candidate, written as POST /v1/interactions writes it (a recruiter key is its
// actor). The form's nonce is its idempotency key, so a double submit stores once.
func (s *api) queueReply(c *gin.Context) {
	appID, channel, nonce := c.PostForm("application_id"), c.PostForm("channel"), c.PostForm("nonce")
	switch {
	case appID == "":
		s.queueProblem(c, http.StatusBadRequest, "The form names no application.")
		return
	case !slices.ContainsFunc(replyChannels, func(ch struct{ Value, Label string }) bool { return ch.Value == channel }):
		s.queueProblem(c, http.StatusBadRequest, "Choose how you replied: email, SMS, phone, video, portal or other.")
		return
	case len(nonce) != 32 || strings.Trim(nonce, "0123456789abcdef") != "":
		s.queueProblem(c, http.StatusBadRequest, "This form is damaged. Reload the page and try again.")
		return
	}
	app, err := s.interactions.Application(ctx(c), appID)
	if err != nil {
		if interactions.ErrorCode(err) == interactions.CodeNotFound {
			s.queueProblem(c, http.StatusNotFound, "That application does not exist, or is not in your queue.")
			return
		}
		s.pageFail(c, err)
		return
	}
	now := s.now()
	reply := map[string]any{
		"application_id": app.ID, "candidate_id": app.CandidateID, "kind": interactions.KindMessage,
		"direction": interactions.Outbound, "channel": channel, "occurred_at": interactions.APITime(now),
		"source": "queue", "external_id": "reply-" + nonce,
	}
	if interactions.IsNurture(app.ID) { // a nurture touch: the candidate's, not an application's
		delete(reply, "application_id")
	}
	body, _ := json.Marshal(reply)
	items, _, err := interactions.ParseWrite(body, "", now)
	if err == nil && caller(c).Role == auth.RoleRecruiter {
		// Self-reported, like every recruiter write; logged as of now, so never late.
		if err = interactions.SelfReported(items, false); err == nil {
			err = s.checkRecruiterWrite(c, caller(c), items, false)
		}
	}
	var stored []interactions.Interaction
	if err == nil {
		stored, err = s.writer.Write(ctx(c), items)
	}
	switch code := interactions.ErrorCode(err); {
	case err == nil:
	case code == interactions.CodeNotFound:
		s.queueProblem(c, http.StatusNotFound, "That application does not exist, or is not in your queue.")
		return
	case code == interactions.CodeInvalid:
		var e *interactions.Error
		errors.As(err, &e)
		s.queueProblem(c, http.StatusBadRequest, "The reply could not be logged: "+e.Message)
		return
	default:
		s.pageFail(c, err)
		return
	}
	if stored[0].Duplicate {
		queueBack(c, "reply-kept")
		return
	}
	if s.awaitStopped(c, app, c.PostForm("clock_id")) {
		queueBack(c, "reply-logged")
		return
	}
	queueBack(c, "reply-pending")
}

// awaitStopped waits (at most a second and a half) until the queue's clock leaves
// the queue, so that the page the form returns to no longer shows it. It reports
// whether it did.
func (s *api) awaitStopped(c *gin.Context, app interactions.Application, clockID string) bool {
	inQueue := func() (found bool, stops bool) {
		for _, it := range s.engine.Overdue(sla.OverdueFilter{RecruiterIDs: []string{app.RecruiterID}}) {
			if it.ClockID == clockID && it.ApplicationID == app.ID {
				return true, slices.Contains(contactStops, it.Metric)
			}
		}
		return false, true
	}
	found, stops := inQueue()
	if clockID == "" || !stops {
		return false
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for found && time.Now().Before(deadline) {
		select {
		case <-ctx(c).Done():
			return false
		case <-time.After(25 * time.Millisecond):
		}
		found, _ = inQueue()
	}
	return !found
}
