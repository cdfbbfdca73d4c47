package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/alerts"
	slackalerts "github.com/goodwillhq/goodwill/alerts/slack"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// newSlack returns the Slack client of the slack alert channel, or nil when Slack is
// not configured.
func newSlack(cfg Config) (*slackalerts.Client, error) {
	if !cfg.Slack.Enabled() {
		return nil, nil
	}
	c, err := slackalerts.New(slackalerts.Config{Token: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL, QueueURL: cfg.PublicURL + "/queue"})
	if err != nil {
		return nil, fmt.Errorf("GOODWILL_SLACK_BOT_TOKEN: %w", err)
	}
	return c, nil
}

// slackChannel is c as the pipeline's Slack channel; nil (off) when c is.
func slackChannel(c *slackalerts.Client) alerts.Slack {
	if c == nil {
		return nil
	}
	return slackalerts.Channel(c)
}

// slackUsers is c as the directory's lookup of Slack users; nil (no lookup) when c is.
func slackUsers(c *slackalerts.Client) directory.SlackUsers {
	if c == nil {
		return nil
	}
	return c
}

// slackSyncDirectory is the recruiters directory as the ATS sync writes it, with
// Slack on: after each page of users it looks up the Slack users of those whose email
// is new or changed (directory.Store.ResolveSlackUsers), so that no lookup waits for
// an alert to be sent.
type slackSyncDirectory struct {
	*directory.Store
	users directory.SlackUsers
	log   *slog.Logger
}

func (d slackSyncDirectory) PutATSUsers(ctx context.Context, users []atssync.User) error {
	if err := d.Store.PutATSUsers(ctx, users); err != nil {
		return err
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	if err := d.ResolveSlackUsers(ctx, d.users, ids); err != nil {
		d.log.Warn("slack: looking up recruiters' Slack users failed; the next sync pass goes on", "err", err)
	}
	return nil
}

// syncDirectory is the directory the ATS sync writes: with Slack on, one that looks
// up the users' Slack users too.
func syncDirectory(recruiters *directory.Store, c *slackalerts.Client, log *slog.Logger) atssync.Directory {
	if c == nil {
		return recruiters
	}
	return slackSyncDirectory{Store: recruiters, users: c, log: log}
}

// slackActTimeout bounds what a click does after it is answered.
const slackActTimeout = 30 * time.Second

// slackInteractions receives POST /webhooks/slack/interactions, the clicks on the
// buttons of Slack alerts. A request not signed with GOODWILL_SLACK_SIGNING_SECRET
// within the last 5 minutes is refused with 401 and nothing happens (and counted in
// goodwill_webhook_deliveries_rejected_total{source="slack"}). A signed click is
// answered at once with 200 — Slack waits 3 s at most — and acted on after (slackAct).
func (s *api) slackInteractions(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		fail(c, err)
		return
	}
	if s.slack == nil || s.cfg.Slack.SigningSecret == "" {
		webhooks.CountRejected("slack", webhooks.RejectNoSecret)
		fail(c, &webhooks.SignatureError{Reason: webhooks.RejectNoSecret, Detail: "Slack is not configured: GOODWILL_SLACK_SIGNING_SECRET is not set"})
		return
	}
	if err := slackalerts.Verify(c.Request.Header, body, s.cfg.Slack.SigningSecret, s.now()); err != nil {
		reason := webhooks.RejectBadSignature
		if errors.Is(err, slackalerts.ErrStale) {
			reason = webhooks.RejectStale
		}
		webhooks.CountRejected("slack", reason)
		if s.throttled(c) {
			return
		}
		fail(c, &webhooks.SignatureError{Reason: reason, Detail: err.Error()})
		return
	}
	click, err := slackalerts.ParseClick(body)
	if errors.Is(err, slackalerts.ErrNotAClick) {
		c.Status(http.StatusOK)
		return
	}
	if err != nil {
		webhooks.CountRejected("slack", webhooks.RejectMalformed)
		fail(c, interactions.Invalid(interactions.FieldError{Field: "payload", Message: err.Error()}))
		return
	}
	c.Status(http.StatusOK)
	addr := c.ClientIP()
	go s.slackAct(click, addr)
}

// slackAct acts on a click as the Slack user who clicked: the active recruiter with
// that slack_user_id must be the alert's recipient or someone above them (their
// manager, or above), as for an escalation on the API; anyone else is told, in a
// message only they see, that the alert is not theirs, and nothing changes. Then the
// alert is acknowledged or snoozed, the audit trail records it (actor
// recruiter:<id>), and the message is updated to say who did what and when.
func (s *api) slackAct(click slackalerts.Click, clientAddr string) {
	ctx, cancel := context.WithTimeout(context.Background(), slackActTimeout)
	defer cancel()
	log := s.log.With("slack_user", click.UserID, "alert", click.AlertID)
	tell := func(text string) {
		if click.ResponseURL == "" {
			return
		}
		if err := s.slack.Ephemeral(ctx, click.ResponseURL, text); err != nil {
			log.Warn("slack: answering a click failed", "err", err)
		}
	}
	now := s.now()
	clicker, ok, err := s.directory.BySlackUser(ctx, click.UserID, now)
	if err != nil {
		log.Warn("slack: a click could not be acted on", "err", err)
		tell("goodwill could not act on this just now; please try again.")
		return
	}
	if !ok {
		tell("This alert is not yours: your Slack user is not an active recruiter in goodwill.")
		return
	}
	a, err := s.alertStore.Get(ctx, click.AlertID)
	if interactions.ErrorCode(err) == interactions.CodeNotFound {
		tell("This alert no longer exists.")
		return
	}
	if err != nil {
		log.Warn("slack: a click could not be acted on", "err", err)
		tell("goodwill could not act on this just now; please try again.")
		return
	}
	visible, err := auth.Visible(ctx, s.directory, clicker.ID)
	if err != nil {
		log.Warn("slack: a click could not be acted on", "err", err)
		tell("goodwill could not act on this just now; please try again.")
		return
	}
	if !slices.Contains(visible, a.RecruiterID) {
		tell("This alert is not yours: only its recipient or someone above them may acknowledge or snooze it.")
		return
	}
	action, done := audit.AlertAcknowledged, "Acknowledged"
	if click.Verb == slackalerts.VerbSnooze {
		action, done = audit.AlertSnoozed, "Snoozed for "+alerts.HumanDuration(click.For)
		_, err = s.dispatcher.Snooze(ctx, a.ID, click.For)
	} else {
		_, err = s.dispatcher.Ack(ctx, a.ID)
	}
	if interactions.ErrorCode(err) == interactions.CodeConflict {
		tell("Nothing changed: " + err.Error() + ".")
		return
	}
	if err != nil {
		log.Warn("slack: a click could not be acted on", "err", err)
		tell("goodwill could not act on this just now; please try again.")
		return
	}
	e := audit.Entry{At: now, Actor: audit.Recruiter(clicker.ID), Action: action, Target: a.ID, IP: clientAddr}
	_ = recordEntry(ctx, s.trail, log, e)
	blocks := slackalerts.Acted(click.Blocks, click.BlockID, done, click.UserID, now)
	if err := s.slack.Update(ctx, click.ChannelID, click.MessageTS, done+": "+a.Code, blocks); err != nil {
		log.Warn("slack: updating the alert's message failed", "err", err)
	}
}
