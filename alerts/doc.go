// Package alerts tells recruiters, before a candidate is left waiting, that an SLA clock
// is about to be missed or has been: by SMS (alerts/twilio) and email (alerts/email).
//
// The Dispatcher is a pipeline of stages with one signature (Stage, over Batch) on a
// durable outbox (Store): route → dedupe when a transition comes in; group → defer →
// throttle → send → retry → record at every flush. Each stage is a small type
// (RouteStage, …, RecordStage) declaring what it needs as a one- or two-method
// interface; MultiStage chains them and ParallelStage runs batches side by side.
//
// The package also holds what the channels share and the recruiters directory:
//
//   - Message and its renderings: SMSBody (at most two GSM-7 segments) and EmailContent
//     (a subject, a plain-text and an HTML body from templates).
//   - Recruiter, its validation and defaults, and Directory, the store of recruiters in
//     the "recruiters" collection with a phone → recruiter mapping in
//     "recruiter_phones" so inbound SMS are matched by _id.
//   - Recipient resolution (delegates while away, the "default" recruiter) and
//     QuietUntil, the next moment a recruiter may be alerted given quiet hours and
//     working days in their own time zone.
//
// The channel integrations are one package per vendor, each with New and a Sender whose
// errors say whether a failure is permanent, worth retrying, or ambiguous (the message
// may have gone out): alerts/twilio and alerts/email. Nothing here reads the clock;
// callers pass "now".
package alerts
