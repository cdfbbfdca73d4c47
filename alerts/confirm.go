package alerts

import (
	"context"
	"time"

	"github.com/goodwillhq/goodwill/interactions/directory"
)

// confirmationBody is the short SMS that confirms an SMS command: what was done, to
// which candidate's alert. It carries no link and no code to reply with.
func confirmationBody(verb, candidate, metric string, snooze time.Duration) string {
	what := Item{Metric: metric}.what()
	done := "acknowledged"
	if verb == "snooze" {
		done = "snoozed for " + HumanDuration(snooze)
	}
	s := "goodwill: " + done + " - " + truncate(gsm7(candidate), 40) + ", " + gsm7(what) + "."
	return truncate(s, SMSMaxChars)
}

// confirm sends the recruiter who sent an SMS command one short SMS back saying what
// it did to alert a. The recruiter's phone is the number the command came from (the
// directory knows it; nothing goes to unknown numbers). It counts against the day's
// SMS to that number and is not sent over the limit, outside GOODWILL_SMS_COUNTRIES,
// or when SMS is off (a log line then, as for alerts). It is sent once, with no
// retry: a failure is logged.
func (d *Dispatcher) confirm(ctx context.Context, recruiterID string, a Alert, verb string, snooze time.Duration) {
	r, err := d.cfg.Directory.Get(ctx, recruiterID)
	if err != nil || r.Phone == "" {
		return
	}
	if d.cfg.SMS == nil || d.cfg.Mode != "on" {
		d.cfg.Log.Info("alert command confirmed", "recruiter_id", recruiterID, "code", a.Code, "verb", verb)
		return
	}
	if d.cfg.SMSCountries != nil && !directory.PhoneAllowed(r.Phone, d.cfg.SMSCountries) {
		return
	}
	day := d.cfg.Now().UTC().Format(time.DateOnly)
	counts, err := d.cfg.Store.reserveSMS(ctx, day, []string{r.Phone})
	if err != nil {
		d.cfg.Log.Warn("alerts: counting a confirmation SMS failed; not sent", "err", err)
		return
	}
	if counts[0] > smsPerDay {
		d.cfg.Log.Info("alerts: confirmation SMS over the day's limit; not sent", "recruiter_id", recruiterID)
		_ = d.cfg.Store.releaseSMS(ctx, r.Phone, day)
		return
	}
	candidate := "a candidate"
	if c, err := d.cfg.Names.Candidate(ctx, a.CandidateID); err == nil && c.Name != "" {
		candidate = c.Name
	}
	if _, err := d.cfg.SMS.Send(ctx, r.Phone, confirmationBody(verb, candidate, a.Metric, snooze), ""); err != nil {
		d.cfg.Log.Warn("alerts: a confirmation SMS failed", "recruiter_id", recruiterID, "err", err)
		if f, _ := failureOf(err); f != Ambiguous {
			_ = d.cfg.Store.releaseSMS(ctx, r.Phone, day)
		}
	}
}
