package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"syscall"

	mail "github.com/wneessen/go-mail"

	"github.com/goodwillhq/goodwill/alerts"
)

// Error is the error Send returns. Its Kind is, for this channel: Permanent for a 5xx
// reply, or an address, message ID or setup that cannot work; Retryable for a 4xx
// reply, or a network failure before the end of the message was sent; Ambiguous when
// the whole message was sent but the server's answer never came (it may have been
// accepted; a resend carries the same Message-ID, so a duplicate is recognisable).
type Error struct {
	Kind alerts.Failure
	Code int // the SMTP reply code, or 0
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("email send (%s): %v", e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Failure returns e.Kind: alerts.FailureOf finds it in an error's chain.
func (e *Error) Failure() alerts.Failure { return e.Kind }

// classify turns go-mail's error into an *Error.
func classify(ctx context.Context, err error) *Error {
	e := &Error{Err: err}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		e.Code = tp.Code
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		if c := se.ErrorCode(); c != 0 {
			e.Code = c
		}
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			e.Kind = alerts.Permanent
			return e
		case mail.ErrSMTPDataClose:
			// The final "." went out; no reply code means the answer was lost.
			if e.Code == 0 {
				e.Kind = alerts.Ambiguous
				return e
			}
		}
	}
	switch {
	case e.Code >= 500:
		e.Kind = alerts.Permanent
	case e.Code >= 400:
		e.Kind = alerts.Retryable
	case se != nil, network(err), ctx.Err() != nil:
		// A failure on the wire before the message was complete: it was not delivered.
		e.Kind = alerts.Retryable
	default:
		// Setup that cannot work: certificate verification, no usable authentication, …
		e.Kind = alerts.Permanent
	}
	return e
}

// network reports whether err is a failure of the connection rather than of the setup
// (a certificate that does not verify is setup).
func network(err error) bool {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return false
	}
	var oe *net.OpError
	var ne net.Error
	return errors.As(err, &oe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		(errors.As(err, &ne) && ne.Timeout())
}
