package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/teams"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
)

// --- recruiters ---

func (s *api) putRecruiter(c *gin.Context) {
	var r directory.Recruiter
	if err := decodeJSON(c, &r); err != nil {
		fail(c, err)
		return
	}
	if r.ID != "" && r.ID != c.Param("id") {
		fail(c, interactions.Invalid(interactions.FieldError{Field: "id", Message: "must match the id in the path"}))
		return
	}
	r.ID = c.Param("id")
	if err := s.checkRecruiter(ctx(c), &r, nil); err != nil {
		fail(c, err)
		return
	}
	created, err := s.directory.Put(ctx(c), r)
	if err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.RecruiterChanged, r.ID) {
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, r)
}

// checkRecruiter is the one check of a recruiter's entry before it is saved, on every
// path that saves one (PUT /v1/recruiters/{id}; a recruiter editing their own entry
// goes through it too): Recruiter.Validate and the Teams webhook URL's host, then the
// Slack user (a slack_user_id given must be the Slack user the email finds; without
// one, the one found is set: directory.CheckSlackUser). For a change of an existing
// entry, prev, that keeps its email and slack_user_id, Slack is not asked again.
// Errors are CodeInvalid or CodeConflict naming the field, or CodeUnavailable.
func (s *api) checkRecruiter(ctx context.Context, r, prev *directory.Recruiter) error {
	errs := r.Validate(s.cfg.SMSCountries)
	if r.TeamsWebhookURL != "" {
		if err := teams.CheckURL(s.outbound, r.TeamsWebhookURL); err != nil {
			errs = append(errs, interactions.FieldError{Field: "teams_webhook_url", Message: err.Error()})
		}
	}
	if len(errs) > 0 {
		return interactions.Invalid(errs...)
	}
	if prev != nil && r.SlackUserID == prev.SlackUserID && strings.EqualFold(r.Email, prev.Email) {
		r.SlackEmail = prev.SlackEmail // nothing new to check against Slack
		return nil
	}
	return directory.CheckSlackUser(ctx, slackUsers(s.slack), r)
}

func (s *api) getRecruiter(c *gin.Context) {
	if key := caller(c); key.Role == auth.RoleRecruiter {
		visible, err := s.visibleSet(c, key)
		if err != nil {
			fail(c, err)
			return
		}
		if !visible[c.Param("id")] {
			fail(c, interactions.Errorf(interactions.CodeNotFound, "no recruiter %q", c.Param("id")))
			return
		}
	}
	r, err := s.directory.Get(ctx(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, recruiterFor(c, r))
}

// recruiterFor returns r as the caller of c may see it: a Teams webhook URL, a bearer
// secret, only to admins.
func recruiterFor(c *gin.Context, r directory.Recruiter) directory.Recruiter {
	if caller(c).Role != auth.RoleAdmin {
		r.TeamsWebhookURL = ""
	}
	return r
}

// listRecruiters answers GET /v1/recruiters, by id, in pages (default: 1000).
func (s *api) listRecruiters(c *gin.Context) {
	limit, after, fields := pageRequest(c, maxPageLimit)
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	list, err := s.directory.List(ctx(c))
	if err != nil {
		fail(c, err)
		return
	}
	if key := caller(c); key.Role == auth.RoleRecruiter {
		visible, err := s.visibleSet(c, key)
		if err != nil {
			fail(c, err)
			return
		}
		mine := list[:0]
		for _, r := range list {
			if visible[r.ID] {
				mine = append(mine, recruiterFor(c, r))
			}
		}
		list = mine
	}
	list, next := pageOf(list, limit, after, func(r *directory.Recruiter) interactions.Cursor {
		return interactions.Cursor{ID: r.ID}
	})
	c.JSON(http.StatusOK, listAnswer("recruiters", list, next))
}

// --- alerts ---

func (s *api) listAlerts(c *gin.Context) {
	f := alerts.Filter{State: alerts.State(c.Query("state")), Level: alerts.Level(c.Query("level"))}
	var fields []interactions.FieldError
	var err error
	f.Limit, f.After, fields = pageRequest(c, defaultPageLimit)
	switch f.State {
	case "", alerts.StateOpen, alerts.StateAcknowledged, alerts.StateSnoozed, alerts.StateResolved:
	default:
		fields = append(fields, interactions.FieldError{Field: "state", Message: "must be open, acknowledged, snoozed or resolved"})
	}
	switch f.Level {
	case "", alerts.LevelWarning, alerts.LevelBreached, alerts.LevelEscalated:
	default:
		fields = append(fields, interactions.FieldError{Field: "level", Message: "must be warning, breached or escalated"})
	}
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	if f.RecruiterIDs, err = s.recruiterScope(c, c.Query("recruiter_id")); err != nil {
		fail(c, err)
		return
	}
	list, next, err := s.alertStore.Page(ctx(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]alertView, len(list))
	for i, a := range list {
		out[i] = viewAlert(c, a)
	}
	c.JSON(http.StatusOK, listAnswer("alerts", out, next))
}

// alertView renders an alert with the API's time format. Its deliveries' addresses
// (phone numbers, email addresses) are shown only to admins and to the alert's
// recipient.
type alertView struct {
	alerts.Alert
	Deliveries []alertDeliveryView `json:"deliveries"`
	DueAt      string              `json:"due_at"`
	CreatedAt  string              `json:"created_at"`
}

// alertDeliveryView is a delivery as the API shows it: To is left out when the caller may
// not see the recipient's address.
type alertDeliveryView struct {
	alerts.Delivery
	To *string `json:"to,omitempty"`
}

// viewAlert renders a for the caller of c.
func viewAlert(c *gin.Context, a alerts.Alert) alertView {
	key := caller(c)
	showTo := key.Role == auth.RoleAdmin || key.Role == auth.RoleRecruiter && key.RecruiterID == a.RecruiterID
	v := alertView{Alert: a, Deliveries: make([]alertDeliveryView, len(a.Deliveries)),
		DueAt: interactions.APITime(a.DueAt), CreatedAt: interactions.APITime(a.CreatedAt)}
	for i, d := range a.Deliveries {
		v.Deliveries[i] = alertDeliveryView{Delivery: d}
		if showTo {
			v.Deliveries[i].To = &d.To
		}
	}
	return v
}

// mayActOnAlert is the one check before a person acknowledges or snoozes an alert,
// on every path (the API, the queue page): nil when the caller may act on a;
// CodeNotFound when it may not even see it; CodeForbidden when it sees it but may not
// act on it.
//
// Admins may act on any alert. A recruiter key sees the alerts sent to it or to its
// reports and those of its own and its reports' applications. It may act on those,
// except an escalation: only its recipient (the manager it went to) or someone above
// the recipient may act on one, so that a report cannot silence its manager's
// escalation of its own breach. The SMS reply and the signed link act as the
// recipient of the alert itself (alerts.Dispatcher.Command matches the recipient).
func (s *api) mayActOnAlert(c *gin.Context, a alerts.Alert) error {
	key := caller(c)
	if key.Role != auth.RoleRecruiter {
		return nil
	}
	visible, err := s.visibleSet(c, key)
	if err != nil {
		return err
	}
	switch {
	case !visible[a.RecruiterID] && !visible[a.OwnerID]:
		return interactions.Errorf(interactions.CodeNotFound, "no alert %q", a.ID)
	case a.Level == alerts.LevelEscalated && !visible[a.RecruiterID]:
		return interactions.Errorf(interactions.CodeForbidden,
			"alert %s is an escalation to %s: only they or someone above them may act on it", a.ID, a.RecruiterID)
	}
	return nil
}

func (s *api) ackAlert(c *gin.Context) {
	if err := s.mayActOnPathAlert(c); err != nil {
		fail(c, err)
		return
	}
	a, err := s.dispatcher.Ack(ctx(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.AlertAcknowledged, a.ID) {
		return
	}
	c.JSON(http.StatusOK, viewAlert(c, a))
}

// mayActOnPathAlert checks mayActOnAlert for the alert named in the path.
func (s *api) mayActOnPathAlert(c *gin.Context) error {
	a, err := s.alertStore.Get(ctx(c), c.Param("id"))
	if err != nil {
		return err
	}
	return s.mayActOnAlert(c, a)
}

func (s *api) snoozeAlert(c *gin.Context) {
	var req struct {
		For interactions.Duration `json:"for"`
	}
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	if err := s.mayActOnPathAlert(c); err != nil {
		fail(c, err)
		return
	}
	a, err := s.dispatcher.Snooze(ctx(c), c.Param("id"), req.For.Wall())
	if err != nil {
		fail(c, err)
		return
	}
	if !s.audit(c, audit.AlertSnoozed, a.ID) {
		return
	}
	c.JSON(http.StatusOK, viewAlert(c, a))
}

// --- the signed acknowledgement link ---

// linkLifetime is how long an alert's link works.
const linkLifetime = 72 * time.Hour

// alertLinks makes the signed links to alerts' acknowledgement pages that the alerts
// pipeline puts in its messages.
type alertLinks struct {
	cfg         Config
	signingKeys [][]byte
}

// link returns the signed link to an alert's acknowledgement page.
func (l alertLinks) link(alertID string, now time.Time) string {
	exp := strconv.FormatInt(now.Add(linkLifetime).Unix(), 10)
	return l.cfg.PublicURL + "/alerts/" + url.PathEscape(alertID) + "/ack?exp=" + exp + "&sig=" + linkSignature(l.signingKeys[0], alertID, exp)
}

func linkSignature(key []byte, alertID, exp string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("alert-ack\x00" + alertID + "\x00" + exp))
	return hex.EncodeToString(m.Sum(nil))
}

// checkLink verifies a link's signature with any signing key, and its expiry.
func (s *api) checkLink(c *gin.Context, alertID, exp, sig string) bool {
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.now().Unix() > t {
		return false
	}
	for _, k := range s.signingKeys {
		if hmac.Equal([]byte(linkSignature(k, alertID, exp)), []byte(sig)) {
			return true
		}
	}
	return false
}

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}} — goodwill</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#111}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#0b5cad;color:#fff;cursor:pointer}
button:focus{outline:3px solid #f90;outline-offset:2px}</style></head>
<body><main><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Form}}<form method="post"><input type="hidden" name="exp" value="{{.Exp}}"><input type="hidden" name="sig" value="{{.Sig}}">
<button type="submit">Acknowledge</button></form>{{end}}</main></body></html>`))

type ackPageData struct {
	Title, Text, Exp, Sig string
	Form                  bool
}

// ackLinkPage shows the acknowledgement page. Fetching it changes nothing, so link
// previewers do not acknowledge; the button POSTs.
func (s *api) ackLinkPage(c *gin.Context) {
	id, exp, sig := c.Param("id"), c.Query("exp"), c.Query("sig")
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	if !s.checkLink(c, id, exp, sig) {
		s.renderAck(c, http.StatusForbidden, ackPageData{Title: "This link has expired", Text: "Ask for a new alert, or acknowledge it from the API or by replying ACK to the SMS."})
		return
	}
	a, err := s.alertStore.Get(ctx(c), id)
	if err != nil {
		s.renderAck(c, http.StatusNotFound, ackPageData{Title: "No such alert", Text: "It may have been erased."})
		return
	}
	text := "A candidate is waiting: " + a.Metric + ", due " + a.DueAt.UTC().Format("Mon 2 Jan 15:04 MST") + "."
	if a.State == alerts.StateAcknowledged || a.State == alerts.StateResolved {
		s.renderAck(c, http.StatusOK, ackPageData{Title: "Already " + string(a.State), Text: text})
		return
	}
	s.renderAck(c, http.StatusOK, ackPageData{Title: "Acknowledge alert " + a.Code, Text: text, Exp: exp, Sig: sig, Form: true})
}

// ackLinkPost acknowledges through the signed link: the signature is the credential.
func (s *api) ackLinkPost(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			fail(c, err)
			return
		}
		fail(c, interactions.Invalid(interactions.FieldError{Field: "body", Message: "is not a form: " + err.Error()}))
		return
	}
	id := c.Param("id")
	if !s.checkLink(c, id, c.PostForm("exp"), c.PostForm("sig")) {
		s.renderAck(c, http.StatusForbidden, ackPageData{Title: "This link has expired", Text: "Acknowledge from the API or by replying ACK to the SMS."})
		return
	}
	a, err := s.dispatcher.Ack(ctx(c), id)
	if err != nil && interactions.ErrorCode(err) != interactions.CodeConflict {
		fail(c, err)
		return
	}
	if err == nil && !s.auditAs(c, audit.Recruiter(a.RecruiterID), audit.AlertAcknowledged, a.ID) {
		return
	}
	s.renderAck(c, http.StatusOK, ackPageData{Title: "Acknowledged", Text: "Thank you. Alert " + a.Code + " will not escalate."})
}

func (s *api) renderAck(c *gin.Context, status int, d ackPageData) {
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := ackPage.Execute(c.Writer, d); err != nil {
		logger(c).Warn("render the acknowledgement page", "err", err)
	}
}
