// Package webhooks is what happens to a webhook delivery, whichever vendor sent it,
// and what the vendors' receivers share.
//
// Ingest is the use case: verify the signature → map the payload → validate → record
// the delivery with its raw body → write the interactions → mark the record stored (a
// refused delivery is logged without its body: nothing of it is stored);
// Replay maps stored raw bodies again; the delivery log (Store) keeps every delivery
// with its outcome. Ingest works over interfaces it declares (DeliveryLog, Writer,
// Receivers, Throttle); the composition root (service) builds it. Outcomes that are
// not errors (ping, ignored, duplicate, parked, throttled) come back as a Result;
// errors are *interactions.Error codes, EndpointError and SignatureError. An event
// that names only its application (Delivery.Thin) takes the candidate of the known
// application, or is parked until the application arrives (park.go).
//
// Each vendor is a folder holding its Receiver, its fixtures, goldens and fuzz
// targets: webhooks/greenhouse, lever, ashby, workable and standard (Standard Webhooks,
// body = the interaction schema), and webhooks/twilio (inbound SMS and status
// callbacks, a use case of its own over Ingest's steps). A Receiver:
//
//	Verify(h, body, secrets, now) error      // refused: errors.Is one of the Err* sentinels
//	Parse(h, body, now) (Delivery, error)    // malformed: errors.Is(err, ErrMalformedBody)
//
// A valid delivery that carries nothing worth logging comes back with Delivery.Ignored
// set to the reason (answer 200 {"ignored": true, "reason": ...}); a vendor's ping or
// test event with Delivery.Ping. Every Input mapped from a vendor payload passes
// Input.Validate as long as the vendor's clock is sane (occurred_at is taken from the
// payload); Standard's items are the sender's own and are only decoded, so Ingest
// validates them as POST /v1/interactions does. Lever (HiredArchiveReasons) and
// Workable (Label, the URL's {label}) take options the composition root sets.
//
// Mapping rules shared by all vendors, with the helpers of this package that apply
// them (Prefixed, ExternalID, Text, ContactDetails, …):
//   - ids are prefixed with the vendor, "greenhouse:265293", so vendors never collide;
//   - source is the vendor name, and external_id is derived from the event, the object
//     and a time or event id in the payload, so a redelivery of the same event maps to
//     the same idempotency key; it never depends on the time of arrival;
//   - occurred_at comes from the payload; only where the payload has no usable time is
//     the time of arrival (Parse's now) used, and then it is left out of external_id;
//   - candidate contact details are kept only when valid: an email that Input.Validate
//     accepts, a phone number that is E.164 once spaces, dots, dashes and brackets are
//     removed; anything else is dropped rather than failing the delivery.
package webhooks
