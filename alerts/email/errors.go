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
)

// Kind says what a failure means for the caller.
type Kind int

// The kinds of failure.
const (
	// Permanent: a 5xx reply, or an address, message ID or setup that cannot work.
	// Retrying will not help.
	Permanent Kind = iota + 1
	// Retryable: a 4xx reply, or a network failure before the end of the message was
	// sent. Retry with backoff.
	Retryable
	// Ambiguous: the whole message was sent but the server's answer never came. It may
	// have been accepted; a resend carries the same Message-ID, so a duplicate is
	// recognisable.
	Ambiguous
)

func (k Kind) String() string {
	switch k {
	case Permanent:
		return "permanent"
	case Retryable:
		return "retryable"
	case Ambiguous:
		return "ambiguous"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is the error Send returns.
type Error struct {
	Kind Kind
	Code int // the SMTP reply code, or 0
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("email send (%s): %v", e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, or 0 when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsPermanent reports whether err is a Permanent *Error.
func IsPermanent(err error) bool { return KindOf(err) == Permanent }

// IsRetryable reports whether err is a Retryable *Error.
func IsRetryable(err error) bool { return KindOf(err) == Retryable }

// IsAmbiguous reports whether err is an Ambiguous *Error.
func IsAmbiguous(err error) bool { return KindOf(err) == Ambiguous }

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
			e.Kind = Permanent
			return e
		case mail.ErrSMTPDataClose:
			// The final "." went out; no reply code means the answer was lost.
			if e.Code == 0 {
				e.Kind = Ambiguous
				return e
			}
		}
	}
	switch {
	case e.Code >= 500:
		e.Kind = Permanent
	case e.Code >= 400:
		e.Kind = Retryable
	case se != nil, network(err), ctx.Err() != nil:
		// A failure on the wire before the message was complete: it was not delivered.
		e.Kind = Retryable
	default:
		// Setup that cannot work: certificate verification, no usable authentication, …
		e.Kind = Permanent
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
