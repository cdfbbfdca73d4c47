package slack

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/goodwillhq/goodwill/alerts"
)

// Slack's error codes (the "error" of an ok:false answer) that mean the user cannot be
// reached by this app: the alert falls back to email. See the "Errors" of
// https://docs.slack.dev/reference/methods/chat.postMessage/ and
// https://docs.slack.dev/reference/methods/conversations.open/.
var unreachableCodes = map[string]bool{
	"channel_not_found": true, // the DM is gone, or the app may not see it
	"user_not_found":    true,
	"users_not_found":   true,
	"account_inactive":  true, // a deactivated user (or workspace)
	"not_in_channel":    true,
	"user_disabled":     true,
	"cannot_dm_bot":     true,
	"is_archived":       true,
}

// Codes after which Slack may have done what was asked ("it's possible some aspect of
// the operation succeeded", https://docs.slack.dev/reference/methods/chat.postMessage/),
// and those that say Slack is busy or down: retry.
var (
	maybeDoneCodes = map[string]bool{"fatal_error": true, "internal_error": true, "request_timeout": true}
	busyCodes      = map[string]bool{"ratelimited": true, "service_unavailable": true, "team_added_to_org": true}
)

// Error is the error every Client method returns. Its Kind is, for this channel:
// Permanent when Slack refused the request (an ok:false error such as invalid_auth,
// missing_scope, channel_not_found; see Unreachable); Retryable when Slack did not
// take it (429 with Retry-After, ratelimited, a 5xx, or the connection failed before
// the request was written); Ambiguous when a chat.postMessage was written but no
// usable answer came back (a timeout, a reset connection, fatal_error): the message
// may exist, Lookup before posting again.
type Error struct {
	Kind       alerts.Failure
	Op         string        // the Web API method, e.g. "chat.postMessage"
	Code       string        // Slack's error code of an ok:false answer, or ""
	Status     int           // the HTTP status when it was not 200, or 0
	RetryAfter time.Duration // a 429's Retry-After
	Err        error
}

func (e *Error) Error() string {
	return fmt.Sprintf("slack %s (%s): %v", e.Op, e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Failure returns e.Kind: alerts.FailureOf finds it in an error's chain.
func (e *Error) Failure() alerts.Failure { return e.Kind }

// Unreachable reports whether err says the user cannot get direct messages from this
// app: channel_not_found, user_not_found, account_inactive, not_in_channel and the
// like. Such a recipient is alerted by email instead.
func Unreachable(err error) bool {
	var e *Error
	return errors.As(err, &e) && unreachableCodes[e.Code]
}

// classify turns what slack-go returned into an *Error. wrote says whether the
// request was written to the connection; posting says whether the call creates a
// message, where a lost answer is ambiguous rather than retryable.
func classify(op string, err error, wrote, posting bool) *Error {
	e := &Error{Op: op, Err: err}
	var rate *slack.RateLimitedError
	var resp slack.SlackErrorResponse
	var status slack.StatusCodeError
	switch {
	case errors.As(err, &rate):
		e.Kind, e.Status, e.RetryAfter = alerts.Retryable, http.StatusTooManyRequests, rate.RetryAfter
	case errors.As(err, &resp):
		e.Code = resp.Err
		switch {
		case busyCodes[e.Code]:
			e.Kind = alerts.Retryable
		case maybeDoneCodes[e.Code] && posting:
			e.Kind = alerts.Ambiguous
		case maybeDoneCodes[e.Code]:
			e.Kind = alerts.Retryable
		default:
			e.Kind = alerts.Permanent
		}
	case errors.As(err, &status):
		e.Status = status.Code
		switch {
		case status.Code == http.StatusGatewayTimeout && posting:
			e.Kind = alerts.Ambiguous
		case status.Code == http.StatusTooManyRequests || status.Code >= 500:
			e.Kind = alerts.Retryable
		default: // a 4xx or a redirect: Slack will not take it from us
			e.Kind = alerts.Permanent
		}
	case wrote && posting:
		e.Kind = alerts.Ambiguous
	default:
		e.Kind = alerts.Retryable
	}
	return e
}
