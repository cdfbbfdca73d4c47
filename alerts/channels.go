package alerts

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/alerts/email"
	"github.com/goodwillhq/goodwill/alerts/twilio"
	"github.com/goodwillhq/goodwill/interactions"
)

// Failure classifies a failed send.
type Failure int

// The kinds of failure.
const (
	Retry     Failure = iota + 1 // the provider did not take it: try again later
	Permanent                    // the provider refused it: do not try again
	Ambiguous                    // it may have been sent: look before sending again
)

// SendError is a failed send with its class. Unreachable marks a recipient the
// channel can never reach (an invalid or unsubscribed number): fall back to email.
type SendError struct {
	Failure     Failure
	Unreachable bool
	Err         error
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// SMS sends text messages.
type SMS interface {
	// Send sends body to an E.164 number; ref (the alert code) is part of the body.
	Send(ctx context.Context, to, body, ref string) (providerID string, err error)
	// Lookup finds a message sent to the number since then whose body carries ref.
	Lookup(ctx context.Context, to, ref string, since time.Time) (providerID string, found bool, err error)
	// Redact blanks the body of a sent message at the provider (erasure).
	Redact(ctx context.Context, providerID string) error
}

// Email sends email.
type Email interface {
	Send(ctx context.Context, to, subject, text, html, messageID string) error
}

// TwilioSMS adapts a Twilio sender.
func TwilioSMS(s *twilio.Sender) SMS { return twilioSMS{s} }

type twilioSMS struct{ s *twilio.Sender }

func (t twilioSMS) Send(ctx context.Context, to, body, ref string) (string, error) {
	res, err := t.s.Send(ctx, to, body, ref)
	if err != nil {
		return "", classifyTwilio(err)
	}
	return res.ProviderID, nil
}

func (t twilioSMS) Lookup(ctx context.Context, to, ref string, since time.Time) (string, bool, error) {
	res, ok, err := t.s.Lookup(ctx, to, ref, since)
	if err != nil {
		return "", false, classifyTwilio(err)
	}
	return res.ProviderID, ok, nil
}

func (t twilioSMS) Redact(ctx context.Context, providerID string) error {
	if err := t.s.Redact(ctx, providerID); err != nil {
		return classifyTwilio(err)
	}
	return nil
}

func classifyTwilio(err error) error {
	f := Retry
	switch {
	case twilio.IsPermanent(err):
		f = Permanent
	case twilio.IsAmbiguous(err):
		f = Ambiguous
	}
	return &SendError{Failure: f, Unreachable: twilio.Unreachable(err), Err: err}
}

// SMTPEmail adapts an SMTP sender.
func SMTPEmail(s *email.Sender) Email { return smtpEmail{s} }

type smtpEmail struct{ s *email.Sender }

func (m smtpEmail) Send(ctx context.Context, to, subject, text, html, messageID string) error {
	err := m.s.Send(ctx, to, subject, text, html, messageID)
	if err == nil {
		return nil
	}
	f := Retry
	switch {
	case email.IsPermanent(err):
		f = Permanent
	case email.IsAmbiguous(err):
		f = Ambiguous
	}
	return &SendError{Failure: f, Err: err}
}

// failureOf returns the class of a send error; unknown errors are worth retrying.
func failureOf(err error) (Failure, bool) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Failure, se.Unreachable
	}
	return Retry, false
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

// jobTitles keeps the job titles messages name for a minute, so that a burst of alerts
// about one job reads it once. Candidates' names are not kept: each is read for the
// messages of one alert, ahead of time (prefetch, while the alert waits out its
// grouping window) or when the message is written, and dropped once used, when it is
// a minute old, or when the candidate is erased (forget).
type jobTitles struct {
	Names
	now func() time.Time

	mu     sync.Mutex
	titles map[string]cachedJob
	names  map[string]cachedCandidate
}

type cachedJob struct {
	job interactions.JobInfo
	at  time.Time
}

type cachedCandidate struct {
	c  interactions.Candidate
	at time.Time
}

const jobTitleTTL = time.Minute

func (c *jobTitles) Job(ctx context.Context, id string) (interactions.JobInfo, error) {
	now := c.now()
	c.mu.Lock()
	hit, ok := c.titles[id]
	c.mu.Unlock()
	if ok && !now.Before(hit.at) && now.Sub(hit.at) < jobTitleTTL {
		return hit.job, nil
	}
	job, err := c.Names.Job(ctx, id)
	if err != nil {
		return job, err
	}
	c.mu.Lock()
	if c.titles == nil || len(c.titles) >= 10000 {
		c.titles = map[string]cachedJob{}
	}
	c.titles[id] = cachedJob{job, now}
	c.mu.Unlock()
	return job, nil
}

// Candidate returns the name read ahead for the candidate, once, or reads it.
func (c *jobTitles) Candidate(ctx context.Context, id string) (interactions.Candidate, error) {
	now := c.now()
	c.mu.Lock()
	hit, ok := c.names[id]
	delete(c.names, id)
	c.mu.Unlock()
	if ok && !now.Before(hit.at) && now.Sub(hit.at) < jobTitleTTL {
		return hit.c, nil
	}
	return c.Names.Candidate(ctx, id)
}

// prefetch reads a candidate's name for the next message about them.
func (c *jobTitles) prefetch(ctx context.Context, id string) {
	cand, err := c.Names.Candidate(ctx, id)
	if err != nil {
		return // read again when the message is written
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names == nil || len(c.names) >= 10000 {
		c.names = map[string]cachedCandidate{}
	}
	c.names[id] = cachedCandidate{cand, now}
}

// forget drops what was read ahead about candidates (erasure).
func (c *jobTitles) forget(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.names, id)
	}
}
