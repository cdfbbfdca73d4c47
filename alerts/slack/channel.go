package slack

import (
	"context"
	"errors"
	"time"

	"github.com/goodwillhq/goodwill/alerts"
)

// Channel returns c as the pipeline's Slack channel. Its errors are *alerts.SendError
// wrapping the *Error, Unreachable set when the user cannot get direct messages from
// the app (see Unreachable): the alert then falls back to email.
func Channel(c *Client) alerts.Slack { return channel{c} }

type channel struct{ c *Client }

func (ch channel) Send(ctx context.Context, user string, msg alerts.Message) (string, error) {
	id, err := ch.c.Post(ctx, user, msg)
	if err != nil {
		return "", sendError(err)
	}
	return id, nil
}

func (ch channel) Lookup(ctx context.Context, user, ref string, since time.Time) (string, bool, error) {
	id, found, err := ch.c.Lookup(ctx, user, ref, since)
	if err != nil {
		return "", false, sendError(err)
	}
	return id, found, nil
}

func (ch channel) Redact(ctx context.Context, providerID string) error {
	if err := ch.c.Redact(ctx, providerID); err != nil {
		return sendError(err)
	}
	return nil
}

// sendError classifies err for the pipeline (alerts.NewSendError), with Slack's
// Retry-After.
func sendError(err error) error {
	var retryAfter time.Duration
	var e *Error
	if errors.As(err, &e) {
		retryAfter = e.RetryAfter
	}
	return alerts.NewSendError(err, Unreachable(err), retryAfter)
}
