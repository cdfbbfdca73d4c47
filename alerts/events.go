package alerts

import (
	"context"
	"time"
)

// The types of Event: what outgoing webhooks (alerts/webhook) deliver.
const (
	EventCreated      = "alert.created"      // a warning or breach alert, once
	EventAcknowledged = "alert.acknowledged" // by the API, the queue page, an SMS reply or the signed link
	EventSnoozed      = "alert.snoozed"      // each snooze
	EventResolved     = "alert.resolved"     // its clock stopped
	EventEscalated    = "alert.escalated"    // the escalation alert to the manager, once
)

// EventTypes lists the event types, in the order the documentation gives them.
var EventTypes = []string{EventCreated, EventAcknowledged, EventSnoozed, EventResolved, EventEscalated}

// Event is something that happened to an alert: its type, when, and the alert as it
// stood then.
type Event struct {
	Type  string
	At    time.Time
	Alert Alert
}

// Events takes the events of alerts (alerts/webhook is one). Publish records them
// durably before it returns, so that they are delivered after a restart too; its
// error is logged, and those events are lost.
type Events interface {
	Publish(ctx context.Context, events []Event) error
}

// publish hands events to Config.Events, if any, and logs a failure.
func (d *Dispatcher) publish(ctx context.Context, events ...Event) {
	if d.cfg.Events == nil || len(events) == 0 {
		return
	}
	for i := range events {
		events[i].Alert = events[i].Alert.clone()
	}
	if err := d.cfg.Events.Publish(ctx, events); err != nil {
		d.cfg.Log.Warn("alerts: recording events for outgoing webhooks failed; they are not delivered", "events", len(events), "err", err)
	}
}
