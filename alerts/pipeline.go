package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/goodwillhq/goodwill/interactions/directory"
)

// Stage is one step of the alert pipeline. It takes batches and returns what the next
// stage gets: the same batches changed, fewer of them, or (GroupStage) others. "now" is
// read once per run of the pipeline and handed to every stage; no stage reads the
// clock. An error stops the chain for the batches given: nothing of them is recorded,
// so the next flush takes them again.
type Stage interface {
	Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error)
}

// Batch is what moves through the pipeline. At intake (RouteStage, DedupeStage) it
// holds new alerts, without channel or address. From GroupStage on it is what goes to
// one address on one channel as one message: the alerts (oldest first) whose delivery
// there is pending or deferred, the recipient, and, once a stage has decided it, what
// becomes of those deliveries.
//
// The alerts are copies: stages change the batch's delivery of each (and may add a
// fallback email delivery); RecordStage writes the changes back to the live alerts and
// the outbox.
type Batch struct {
	Channel string // sms, email or log
	To      string // the phone number, email address, or recruiter id for log
	Alerts  []Alert

	// Recipient is who gets the message now (the alerts' recruiter, or its delegate
	// while it is away), set by DeferStage; zero when the directory no longer has them.
	Recipient directory.Recruiter
	// Settled says a stage has decided what becomes of the deliveries (deferred,
	// throttled, sent, failed or to be retried): later stages leave the batch alone,
	// except RecordStage, which records it.
	Settled bool
	// Err is SendStage's failure, for RetryStage; nil after a successful send.
	Err error
	// smsDay is the day whose SMS count ThrottleStage raised for this message ("" for
	// none): given back when the message does not go out.
	smsDay string
	// flush names the run of the pipeline the batch is part of: its flush document.
	flush string
	// noted says the journal holds the batch's message as one that may go out.
	noted bool
	// recorded holds the alerts as RecordStage left them in the live set, for
	// WriteStage.
	recorded []Alert
}

// deliveries calls f with each alert of the batch and its delivery on the batch's
// channel to the batch's address.
func (b *Batch) deliveries(f func(a *Alert, dl *Delivery)) {
	for i := range b.Alerts {
		if dl := b.Alerts[i].deliveryTo(b.Channel, b.To); dl != nil {
			f(&b.Alerts[i], dl)
		}
	}
}

// MultiStage runs stages in order, each on what the previous one returned; it stops
// when no batch is left or at the first error.
type MultiStage []Stage

// Exec implements Stage.
func (ms MultiStage) Exec(ctx context.Context, now time.Time, batches []Batch) ([]Batch, error) {
	var err error
	for _, s := range ms {
		if len(batches) == 0 {
			return nil, nil
		}
		if batches, err = s.Exec(ctx, now, batches); err != nil {
			return nil, fmt.Errorf("%T: %w", s, err)
		}
	}
	return batches, nil
}
