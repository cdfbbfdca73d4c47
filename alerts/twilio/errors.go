package twilio

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/twilio/twilio-go/client"

	"github.com/goodwillhq/goodwill/alerts"
)

// Twilio error codes that mean the number cannot receive SMS from this account.
const (
	CodeInvalidNumber  = 21211 // the To number is not a valid phone number
	CodeUnsubscribed   = 21610 // the recipient replied STOP
	CodeNotSMSCapable  = 21614 // the To number is not a mobile number
	codeTooManyRequest = 20429
)

// Error is the error every Sender method returns. Its Kind is, for this channel:
// Permanent when Twilio refused the request (a 4xx other than 429, e.g. an invalid,
// unsubscribed or landline number: fall back to email); Retryable when Twilio did not
// take the message (429, 5xx, or the connection failed before the request was
// written); Ambiguous when the request was written but no usable answer came back (a
// timeout or a reset connection: the message may exist, Lookup before sending again).
type Error struct {
	Kind   alerts.Failure
	Op     string // "send", "lookup" or "redact"
	Status int    // the HTTP status Twilio answered, or 0
	Code   int    // Twilio's error code, or 0
	Err    error  // the cause: a *client.TwilioRestError, a transport error, …
}

func (e *Error) Error() string {
	return fmt.Sprintf("twilio %s (%s): %v", e.Op, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Failure returns e.Kind: alerts.FailureOf finds it in an error's chain.
func (e *Error) Failure() alerts.Failure { return e.Kind }

// Unreachable reports whether err says the number cannot get SMS from this account:
// invalid, unsubscribed (STOP), or not SMS-capable. Such a recipient should be alerted
// by email until the number changes.
func Unreachable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case CodeInvalidNumber, CodeUnsubscribed, CodeNotSMSCapable:
		return true
	}
	return false
}

// classify turns what twilio-go returned, and what the transport saw, into an *Error.
func (c *call) classify(op string, err error) *Error {
	status, _ := c.status.Load().(int)
	e := &Error{Op: op, Status: status, Err: err}
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		e.Code = rest.Code
		if rest.Status != 0 {
			e.Status = rest.Status
		}
		if status == 0 && rest.Status == 0 {
			e.Status = http.StatusBadRequest // twilio-go's own checks
		}
	}
	switch {
	case e.Status == http.StatusTooManyRequests || e.Code == codeTooManyRequest || e.Status >= 500:
		e.Kind = alerts.Retryable
	case e.Status >= 400:
		e.Kind = alerts.Permanent
	case e.Status != 0:
		// A 2xx or 3xx we could not use: Twilio answered, the message may exist.
		e.Kind = alerts.Ambiguous
	case c.wrote.Load():
		e.Kind = alerts.Ambiguous
	default:
		e.Kind = alerts.Retryable
	}
	return e
}
