package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// Failure says what a failed send means for the caller. It is the one taxonomy of
// failures: every channel (alerts/twilio, alerts/email, …) classifies its errors with
// it, and the pipeline acts on it. The zero Failure means "not classified".
type Failure int

// The kinds of failure.
const (
	// Permanent: the provider refused it (a 4xx or 5xx SMTP reply, an invalid number,
	// an unusable address or setup). Retrying will not help.
	Permanent Failure = iota + 1
	// Retryable: the provider did not take it (rate limited, down, or the connection
	// failed before the request was complete). Retry with backoff.
	Retryable
	// Ambiguous: the request went out but no usable answer came back; it may have been
	// sent. Look before sending again (an SMS Lookup), or resend recognisably (the same
	// email Message-ID).
	Ambiguous
)

func (f Failure) String() string {
	switch f {
	case Permanent:
		return "permanent"
	case Retryable:
		return "retryable"
	case Ambiguous:
		return "ambiguous"
	}
	return fmt.Sprintf("Failure(%d)", int(f))
}

// SendError is what a channel returns for a failed send: its class, and the
// provider's error in Err. Unreachable marks a recipient the channel can never reach
// (an invalid or unsubscribed number): fall back to email.
type SendError struct {
	Failure     Failure
	Unreachable bool
	Err         error
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// SMS sends text messages. Its errors are *SendError (any other error counts as
// Retryable); alerts/twilio is one.
type SMS interface {
	// Send sends body to an E.164 number; ref (the alert code) is part of the body.
	Send(ctx context.Context, to, body, ref string) (providerID string, err error)
	// Lookup finds a message sent to the number since then whose body carries ref.
	Lookup(ctx context.Context, to, ref string, since time.Time) (providerID string, found bool, err error)
	// Redact blanks the body of a sent message at the provider (erasure).
	Redact(ctx context.Context, providerID string) error
}

// Email sends email. Its errors are *SendError (any other error counts as
// Retryable); alerts/email is one.
type Email interface {
	Send(ctx context.Context, to, subject, text, html, messageID string) error
}

// failureOf returns the class of a send error; unknown errors are worth retrying.
func failureOf(err error) (Failure, bool) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Failure, se.Unreachable
	}
	return Retryable, false
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
