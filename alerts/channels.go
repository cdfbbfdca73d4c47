package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Failure says what a failed send means for the caller. It is the one taxonomy of
// failures: every channel (alerts/twilio, alerts/email, …) classifies its errors with
// it, and the pipeline acts on it. The zero Failure means "not classified".
type Failure int

// The kinds of failure.
const (
	// Permanent: the provider refused it (a 4xx or 5xx SMTP reply, an invalid number,
	// an unusable address or setup). Retrying will not help.
	Permanent Failure = iota + 1
	// Retryable: the provider did not take it (rate limited, down, or the connection
	// failed before the request was complete). Retry with backoff.
	Retryable
	// Ambiguous: the request went out but no usable answer came back; it may have been
	// sent. Look before sending again (an SMS Lookup), or resend recognisably (the same
	// email Message-ID).
	Ambiguous
)

func (f Failure) String() string {
	switch f {
	case Permanent:
		return "permanent"
	case Retryable:
		return "retryable"
	case Ambiguous:
		return "ambiguous"
	}
	return fmt.Sprintf("Failure(%d)", int(f))
}

// SendError is what a channel returns for a failed send: its class, and the
// provider's error in Err. Unreachable marks a recipient the channel can never reach
// (an invalid or unsubscribed number): fall back to email.
type SendError struct {
	Failure     Failure
	Unreachable bool
	Err         error
	// RetryAfter is how long the provider asked to be left alone (a 429's
	// Retry-After): the next attempt waits at least that long. Zero: the backoff alone.
	RetryAfter time.Duration
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// SMS sends text messages. Its errors are *SendError (any other error counts as
// Retryable); alerts/twilio is one.
type SMS interface {
	// Send sends body to an E.164 number; ref (the alert code) is part of the body.
	Send(ctx context.Context, to, body, ref string) (providerID string, err error)
	// Lookup finds a message sent to the number since then whose body carries ref.
	Lookup(ctx context.Context, to, ref string, since time.Time) (providerID string, found bool, err error)
	// Redact blanks the body of a sent message at the provider (erasure).
	Redact(ctx context.Context, providerID string) error
}

// Email sends email. Its errors are *SendError (any other error counts as
// Retryable); alerts/email is one.
type Email interface {
	Send(ctx context.Context, to, subject, text, html, messageID string) error
}

// Teams posts to Microsoft Teams through a Workflows incoming webhook. Its errors are
// *SendError (any other error counts as Retryable); alerts/teams is one. A nil error
// means Teams accepted the post (202), not that anyone has seen it.
type Teams interface {
	Post(ctx context.Context, webhookURL string, m Message) error
}

// Slack posts direct messages to Slack users. Its errors are *SendError (any other
// error counts as Retryable); alerts/slack is one. The message carries the ids of its
// alerts (Item.ID) in its metadata, so that Lookup can find it again.
type Slack interface {
	// Send posts msg to the Slack user as a direct message from the app, and returns
	// the message's id at Slack.
	Send(ctx context.Context, user string, msg Message) (providerID string, err error)
	// Lookup finds a message posted to the user since then that carries the alert id
	// ref in its metadata.
	Lookup(ctx context.Context, user, ref string, since time.Time) (providerID string, found bool, err error)
	// Redact replaces a posted message with a line that names no one (erasure).
	Redact(ctx context.Context, providerID string) error
}

// FailureOf returns the class of the first error in err's chain that has one (a
// channel's own error, such as alerts/twilio's or alerts/slack's *Error, says it with
// a method Failure), or 0 when none has.
func FailureOf(err error) Failure {
	var c interface{ Failure() Failure }
	if errors.As(err, &c) {
		return c.Failure()
	}
	return 0
}

// NewSendError wraps a channel's own error for the pipeline: its class is
// FailureOf(err), Retryable when err has none; unreachable and retryAfter are as in
// SendError.
func NewSendError(err error, unreachable bool, retryAfter time.Duration) *SendError {
	f := FailureOf(err)
	if f == 0 {
		f = Retryable // not classified: worth another try
	}
	return &SendError{Failure: f, Unreachable: unreachable, Err: err, RetryAfter: retryAfter}
}

// failureOf returns the class of a send error; unknown errors are worth retrying.
func failureOf(err error) (Failure, bool) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Failure, se.Unreachable
	}
	return Retryable, false
}

// retryAfterOf returns how long the provider asked to wait before the next attempt.
func retryAfterOf(err error) time.Duration {
	var se *SendError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// logChannel "sends" by writing a log line: what GOODWILL_ALERTS=log and
// unconfigured channels do. It never logs contact details.
type logChannel struct{ log *slog.Logger }

func (l logChannel) send(m Message) {
	for _, it := range m.Alerts {
		l.log.Info("alert", "recruiter_id", m.Recipient.RecruiterID, "code", it.Code, "level", it.Level,
			"metric", it.Metric, "by", HumanDuration(it.By))
	}
}
