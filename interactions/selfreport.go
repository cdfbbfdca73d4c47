package interactions

import "time"

// Limits on self-reported touchpoints.
const (
	// MaxSelfReportedAge is how long before its receipt a self-reported touchpoint
	// may have occurred.
	MaxSelfReportedAge = 24 * time.Hour
	// BackdatedAfter is the age at receipt from which a self-reported touchpoint is
	// stored Backdated.
	BackdatedAfter = 15 * time.Minute
)

// SelfReported applies the rule of self-reported touchpoints to the items of one
// write. A touchpoint is self-reported when the person it credits logs it by hand
// (recruiter keys, the email dropbox, chat buttons), as opposed to a system that
// records events as they happen or imports history (ingest and admin keys, ATS
// webhooks), which are late by nature. For each item, received_at being its receipt:
//
//   - occurred_at may lie at most MaxSelfReportedAge before receipt: otherwise the
//     write is CodeInvalid naming the field (as ParseWrite names it, per batch);
//   - an item that occurred more than BackdatedAfter before receipt is marked
//     Backdated. It is stored and counts as it is; the flag shows that it was
//     logged late.
//
// Items must come from Validate or ParseWrite (ReceivedAt set).
func SelfReported(items []Interaction, batch bool) error {
	var fields []FieldError
	for i := range items {
		it := &items[i]
		age := it.ReceivedAt.Sub(it.OccurredAt)
		switch {
		case age > MaxSelfReportedAge:
			fields = append(fields, FieldError{ItemField(batch, i, "occurred_at"),
				"must be at most 24 hours before now for a touchpoint you log yourself"})
		case age > BackdatedAfter:
			it.Backdated = true
		}
	}
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	return nil
}
