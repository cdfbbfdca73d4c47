// Package webhooks is the HTTP-free core of goodwill's webhook receivers:
// for each source it verifies the signature of a delivery and maps the vendor's payload
// to interactions.Input values, the same input POST /v1/interactions takes.
//
// Sources: Greenhouse (Harvest web hooks), Lever, Ashby, Workable and Standard Webhooks
// (standardwebhooks.com, body = the interaction schema). Each is a Receiver:
//
//	Verify(h, body, secrets, now) error      // 401 on error; errors.Is one of the Err* sentinels
//	Parse(h, body, now) (Delivery, error)    // 400 on error (errors.Is(err, ErrMalformedBody))
//
// A valid delivery that carries nothing worth logging comes back with Delivery.Ignored
// set to the reason (answer 200 {"ignored": true, "reason": ...}); a vendor's ping or
// test event with Delivery.Ping. Every Input mapped from a vendor payload passes
// Input.Validate as long as the vendor's clock is sane (occurred_at is taken from the
// payload); Standard's items are the sender's own and are only decoded, so the caller
// validates them as POST /v1/interactions does. ByName returns a receiver with default
// options; Lever (HiredArchiveReasons) and Workable (Label, the URL's {label}) take
// options the HTTP layer can set per request.
//
// Mapping rules shared by all vendors:
//   - ids are prefixed with the vendor, "greenhouse:265293", so vendors never collide;
//   - source is the vendor name, and external_id is derived from the event, the object
//     and a time or event id in the payload, so a redelivery of the same event maps to
//     the same idempotency key; it never depends on the time of arrival;
//   - occurred_at comes from the payload; only where the payload has no usable time is
//     the time of arrival (Parse's now) used, and then it is left out of external_id;
//   - candidate contact details are kept only when valid: an email that Input.Validate
//     accepts, a phone number that is E.164 once spaces, dots, dashes and brackets are
//     removed; anything else is dropped rather than failing the delivery.
//
// The package also holds the Twilio inbound-SMS helpers: ParseInboundSMS, ParseCommand
// (ACK / SNOOZE replies from recruiters) and VerifyTwilio.
package webhooks
