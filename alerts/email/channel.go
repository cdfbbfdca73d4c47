package email

import (
	"context"

	"github.com/goodwillhq/goodwill/alerts"
)

// Channel returns s as the pipeline's email channel. Its errors are
// *alerts.SendError wrapping the *Error.
func Channel(s *Sender) alerts.Email { return channel{s} }

type channel struct{ s *Sender }

func (c channel) Send(ctx context.Context, to, subject, text, html, messageID string) error {
	err := c.s.Send(ctx, to, subject, text, html, messageID)
	if err == nil {
		return nil
	}
	return alerts.NewSendError(err, false, 0)
}
