package twilio

import (
	"context"
	"time"

	"github.com/goodwillhq/goodwill/alerts"
)

// Channel returns s as the pipeline's SMS channel. Its errors are *alerts.SendError
// wrapping the *Error, Unreachable set when the number cannot get SMS from this
// account (see Unreachable).
func Channel(s *Sender) alerts.SMS { return channel{s} }

type channel struct{ s *Sender }

func (c channel) Send(ctx context.Context, to, body, ref string) (string, error) {
	res, err := c.s.Send(ctx, to, body, ref)
	if err != nil {
		return "", sendError(err)
	}
	return res.ProviderID, nil
}

func (c channel) Lookup(ctx context.Context, to, ref string, since time.Time) (string, bool, error) {
	res, ok, err := c.s.Lookup(ctx, to, ref, since)
	if err != nil {
		return "", false, sendError(err)
	}
	return res.ProviderID, ok, nil
}

func (c channel) Redact(ctx context.Context, providerID string) error {
	if err := c.s.Redact(ctx, providerID); err != nil {
		return sendError(err)
	}
	return nil
}

// sendError classifies err for the pipeline (alerts.NewSendError).
func sendError(err error) error { return alerts.NewSendError(err, Unreachable(err), 0) }
