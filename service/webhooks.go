package service

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/ashby"
	"github.com/goodwillhq/goodwill/webhooks/greenhouse"
	"github.com/goodwillhq/goodwill/webhooks/lever"
	"github.com/goodwillhq/goodwill/webhooks/standard"
	"github.com/goodwillhq/goodwill/webhooks/workable"
)

// PurgeDeliveryLog deletes what the webhook delivery log holds from before
// GOODWILL_DELIVERY_LOG_RETENTION ago: records of every outcome with their raw
// bodies, and the keys of Twilio callbacks acted on. It runs daily on its own; it
// returns how many documents it deleted.
func (s *Server) PurgeDeliveryLog(ctx context.Context) (int64, error) {
	return s.webhooks.Purge(ctx)
}

// receivers are the webhook receivers by source (WebhookSources).
type receivers struct {
	leverHiredReasons []string    // GOODWILL_LEVER_HIRED_REASONS
	leverNames        lever.Names // the Lever sync's stage names and hired reasons, if configured
}

// Receiver returns the receiver of a source; label is the URL's {label}, which
// Workable's subscriptions need.
func (r receivers) Receiver(source, label string) (webhooks.Receiver, bool) {
	switch source {
	case "greenhouse":
		return greenhouse.Receiver{}, true
	case "lever":
		return lever.Receiver{HiredArchiveReasons: r.leverHiredReasons, Names: r.leverNames}, true
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
type commandAudit struct {
	trail *audit.Trail
	now   func() time.Time
	log   *slog.Logger
}

func (a commandAudit) CommandActed(ctx context.Context, recruiterID, verb, alertID, clientAddr string) {
	action := audit.AlertAcknowledged
	if verb == "snooze" {
		action = audit.AlertSnoozed
	}
	e := audit.Entry{At: a.now(), Actor: audit.Recruiter(recruiterID), Action: action, Target: alertID, IP: clientAddr}
	_ = recordEntry(ctx, a.trail, a.log, e)
}

// knownApplications finds the candidate of a known application, for the events that
// name only their application (webhooks.Applications).
type knownApplications struct{ store *interactions.Store }

func (k knownApplications) CandidateOf(ctx context.Context, id string) (string, error) {
	app, err := k.store.Application(ctx, id)
	if interactions.ErrorCode(err) == interactions.CodeNotFound {
		return "", nil
	}
	return app.CandidateID, err
}

// arrivals tells the webhook use case of the applications the projector changed, so
// that the deliveries parked for them are applied (webhooks.Ingest.Arrived). The
// projector is built before the use case: it is set once both exist.
type arrivals struct {
	ingest atomic.Pointer[webhooks.Ingest]
}

func (a *arrivals) Applied(_ context.Context, apps []interactions.Application, _ time.Time) error {
	g := a.ingest.Load()
	if g == nil {
		return nil
	}
	ids := make([]string, len(apps))
	for i, app := range apps {
		ids[i] = app.ID
	}
	g.Arrived(ids)
	return nil
}

// connectorCounts adds to the ATS connectors' counts once the sync runner exists
// (webhooks.Counter): parked and orphaned deliveries.
type connectorCounts struct{ s *Server }

func (c connectorCounts) AddCounts(ctx context.Context, vendor string, counts map[string]int) error {
	if r := c.s.syncRunner; r != nil {
		return r.AddCounts(ctx, vendor, counts)
	}
	return nil
}
