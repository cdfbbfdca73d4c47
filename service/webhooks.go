package service

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/ashby"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
	"github.com/goodwillhq/goodwill/webhooks/lever"
	"github.com/goodwillhq/goodwill/webhooks/standard"
	twiliohooks "github.com/goodwillhq/goodwill/webhooks/twilio"
	"github.com/goodwillhq/goodwill/webhooks/workable"
)

// startWebhooks builds the webhook use cases over the delivery log: ATS and Standard
// Webhooks ingest, and Twilio's callbacks. The log takes part in erasure (the raw
// bodies it keeps) and is purged daily until bg ends. It needs the writer, the
// eraser, the recruiters directory and the dispatcher.
func (s *Server) startWebhooks(ctx, bg context.Context, db *mongo.Database, indexed bool) error {
	deliveries := webhooks.NewStore(db)
	if indexed {
		if err := deliveries.EnsureIndexes(ctx); err != nil {
			return err
		}
	}
	s.eraser.Also(deliveries.Erase)
	s.webhooks = webhooks.NewIngest(webhooks.Config{
		Deliveries: deliveries,
		Writer:     s.writer,
		Receivers:  receivers{leverHiredReasons: s.cfg.LeverHiredReasons},
		Secrets:    s.cfg.WebhookSecrets,
		Throttle:   s.failures,
		Retention:  s.cfg.DeliveryLogRetention.Wall(),
		Now:        s.now,
		Log:        s.log,
	})
	recruiters := recruiterByPhone(func(ctx context.Context, phone string) (string, bool, error) {
		r, ok, err := s.directory.ByPhone(ctx, phone)
		return r.ID, ok, err
	})
	s.twilio = twiliohooks.New(twiliohooks.Config{
		Ingest:     s.webhooks,
		AuthToken:  s.cfg.TwilioAuthToken,
		PublicURL:  s.cfg.PublicURL,
		Recruiters: recruiters,
		Candidates: s.interactions,
		Alerts:     alertCommands{s.dispatcher},
		Audit:      commandAudit{s},
		Now:        s.now,
	})
	go s.webhooks.Purging(bg) // GOODWILL_DELIVERY_LOG_RETENTION
	return nil
}

// PurgeDeliveryLog deletes what the webhook delivery log holds from before
// GOODWILL_DELIVERY_LOG_RETENTION ago: records of every outcome with their raw
// bodies, and the keys of Twilio callbacks acted on. It runs daily on its own; it
// returns how many documents it deleted.
func (s *Server) PurgeDeliveryLog(ctx context.Context) (int64, error) {
	return s.webhooks.Purge(ctx)
}

// receivers are the webhook receivers by source (WebhookSources).
type receivers struct {
	leverHiredReasons []string // GOODWILL_LEVER_HIRED_REASONS
}

// Receiver returns the receiver of a source; label is the URL's {label}, which
// Workable's subscriptions need.
func (r receivers) Receiver(source, label string) (webhooks.Receiver, bool) {
	switch source {
	case "greenhouse":
		return greenhouse.Receiver{}, true
	case "lever":
		return lever.Receiver{HiredArchiveReasons: r.leverHiredReasons}, true
	case "ashby":
		return ashby.Receiver{}, true
	case "workable":
		return workable.Receiver{Label: label}, true
	case "standard":
		return standard.Receiver{}, true
	}
	return nil, false
}

// recruiterByPhone finds the recruiter of a phone number for inbound SMS.
type recruiterByPhone func(ctx context.Context, phone string) (recruiterID string, ok bool, err error)

func (f recruiterByPhone) RecruiterByPhone(ctx context.Context, phone string) (string, bool, error) {
	return f(ctx, phone)
}

// alertCommands carries out what Twilio's callbacks say about alerts.
type alertCommands struct{ d *alerts.Dispatcher }

func (a alertCommands) Command(ctx context.Context, recruiterID, verb, code string, snooze time.Duration) (string, bool, error) {
	alert, ok, err := a.d.Command(ctx, recruiterID, verb, code, snooze)
	return alert.ID, ok, err
}

func (a alertCommands) SMSStatus(ctx context.Context, messageSid, status, errorCode string) (bool, error) {
	return a.d.SMSStatus(ctx, messageSid, status, errorCode)
}

// commandAudit records a recruiter's SMS command in the audit trail; a failure is only
// logged, since the command has acted.
type commandAudit struct{ s *Server }

func (a commandAudit) CommandActed(ctx context.Context, recruiterID, verb, alertID, clientAddr string) {
	action := audit.AlertAcknowledged
	if verb == "snooze" {
		action = audit.AlertSnoozed
	}
	e := audit.Entry{At: a.s.now(), Actor: audit.Recruiter(recruiterID), Action: action, Target: alertID, IP: clientAddr}
	_ = a.s.recordEntry(ctx, a.s.log, e)
}
