// Package alerts tells recruiters, before a candidate is left waiting, that an SLA clock
// is about to be missed or has been: by SMS (alerts/twilio) and email (alerts/email).
//
// The Dispatcher is a pipeline of stages with one signature (Stage, over Batch) on a
// durable outbox (Store): route → dedupe when a transition comes in; group → defer →
// throttle → send → retry → record → write at every flush. Each stage is a small type
// (RouteStage, …, WriteStage) declaring what it needs as a one- or two-method
// interface; MultiStage chains them. A flush writes to the store in a few calls
// whatever its size (journal.go), and sends its messages side by side.
//
// When several replicas share one MongoDB, each sends the alerts of the SLA
// partitions it owns (Config.Owns, Dispatcher.Acquired and Lost); acknowledgements and
// snoozes received by any replica are written to the store and read again by the
// owner before it sends or escalates.
//
// The package also holds what the channels share: Message and its renderings, SMSBody
// (at most two GSM-7 segments) and EmailContent (a subject, a plain-text and an HTML
// body from templates).
//
// Whom an alert goes to, through which channels and when (delegates while away,
// inactive recruiters, the "default" recruiter, quiet hours and working days) comes
// from the recruiters directory, interactions/directory, which the dispatcher reads
// through its Directory interface.
//
// What happens to alerts (created, acknowledged, snoozed, resolved, escalated) is
// told to Config.Events as Event values: alerts/webhook delivers them to outgoing
// webhooks.
//
// The channel integrations are one package per vendor, each with New, a Sender and a
// Channel that serves it as an SMS or Email: alerts/twilio and alerts/email; and
// alerts/teams, whose Sender is the Teams channel. They
// import this package for the one failure taxonomy (Failure: permanent, worth
// retrying, or ambiguous — the message may have gone out — carried by SendError); the
// pipeline never imports a channel. Nothing here reads the clock; callers pass "now".
package alerts
