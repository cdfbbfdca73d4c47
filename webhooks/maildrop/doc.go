// Package maildrop is the email dropbox: an SMTP receiver that logs the email
// recruiters and candidates exchange as touchpoints, without storing the mail.
//
// Recruiters send or redirect copies of their email to a dropbox address of
// GOODWILL_MAIL_DOMAIN: their personal log+<token>@<domain> (Addresses issues it),
// or the organisation's log@<domain> that server-side routing rules use. The SMTP
// Server refuses at RCPT anything else (other domains: no relaying; unknown tokens),
// bounds messages, recipients, connections and each client address's rate, and
// checks DKIM where the configuration asks for it. Receiver then maps each message:
// Parse reads its header with go-message (never its body), Mapper turns it into
// interactions (source "email", channel "email", kind "message") or into the reason
// it is not a touchpoint, and the shared webhooks.Ingest steps record the delivery
// (without its body) and write the interactions idempotently.
//
// What is kept of a message: who (the candidate and application, the recruiter as
// actor), when (the self-reported rule), the direction, and the subject only when
// Config.KeepSubject is set. Neither the raw message nor its body or attachments is
// stored, and log lines never carry an email address.
package maildrop
