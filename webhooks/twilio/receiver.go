package twilio

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Receiver is what happens to Twilio's webhooks: an inbound SMS is routed by its
// sender (a recruiter's command for the alerts, a candidate's message as an
// interaction, anyone else's logged and dropped); a delivery-status callback is logged
// and handed to the alerts. Each callback acts once: a replay of a signed request, or
// Twilio's retry of one already handled, does nothing.
type Receiver struct {
	cfg Config
}

// Config is what Receiver works with; every field is required.
type Config struct {
	// Ingest holds the steps every receiver shares: the delivery log, the rejection
	// metric, throttling of failed signatures, record → write → mark.
	Ingest *webhooks.Ingest
	// AuthToken is TWILIO_AUTH_TOKEN; "" accepts nothing.
	AuthToken string
	// PublicURL is GOODWILL_PUBLIC_URL: Twilio signs the URL it called.
	PublicURL  string
	Recruiters Recruiters
	Candidates Candidates
	Alerts     Alerts
	Audit      Audit
	Now        func() time.Time
}

// Recruiters finds the recruiter whose phone number is phone (E.164).
type Recruiters interface {
	RecruiterByPhone(ctx context.Context, phone string) (recruiterID string, ok bool, err error)
}

// Candidates finds a candidate's application by phone number (interactions.Store).
type Candidates interface {
	CandidatesByPhone(ctx context.Context, phone string) ([]string, error)
	LatestApplication(ctx context.Context, candidateIDs []string) (interactions.ApplicationRef, bool, error)
}

// Alerts acts on what Twilio tells about alerts. Command applies a recruiter's ACK or
// SNOOZE to their latest alert or the one with code and returns its id; ok is false
// when none matched; CodeInvalid and CodeConflict errors say why it could not act.
// SMSStatus records the delivery status of a message sent.
type Alerts interface {
	Command(ctx context.Context, recruiterID, verb, code string, snooze time.Duration) (alertID string, ok bool, err error)
	SMSStatus(ctx context.Context, messageSid, status, errorCode string) (bool, error)
}

// Audit records in the audit trail that a recruiter's SMS command (verb "ack" or
// "snooze") acted on an alert. The command has acted whatever happens: a failure is
// the Audit's to log.
type Audit interface {
	CommandActed(ctx context.Context, recruiterID, verb, alertID, clientAddr string)
}

// New returns the receiver over cfg.
func New(cfg Config) *Receiver { return &Receiver{cfg: cfg} }

// Request is one of Twilio's form POSTs.
type Request struct {
	Header     http.Header // X-Twilio-Signature
	URI        string      // the path and query called; Twilio signs PublicURL + URI
	Body       io.Reader
	ClientAddr string // for throttling failed signatures and the audit trail
}

// maxSMSText bounds the text of an inbound SMS kept in an interaction's metadata.
const maxSMSText = 2000

// read reads and verifies a Twilio webhook. When it fails, stop is what to answer
// with err: a Throttled result, or a SignatureError, or CodeInvalid for a signed but
// unreadable form.
func (r *Receiver) read(ctx context.Context, req Request, label string) (form url.Values, rec webhooks.Record, body []byte, stop *webhooks.Result, err error) {
	rec = webhooks.Record{Source: "twilio", Label: label, ReceivedAt: r.cfg.Now(), Headers: webhooks.KeptHeaders(req.Header)}
	if req.Body != nil {
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, rec, nil, &webhooks.Result{}, err
		}
	}
	if r.cfg.AuthToken == "" {
		res, err := r.cfg.Ingest.RejectSignature(ctx, rec, req.ClientAddr, webhooks.RejectNoSecret, "Twilio is not configured: set TWILIO_AUTH_TOKEN")
		return nil, rec, nil, &res, err
	}
	form, perr := url.ParseQuery(string(body))
	if !Verify(r.cfg.AuthToken, r.cfg.PublicURL+req.URI, form, req.Header.Get("X-Twilio-Signature")) {
		res, err := r.cfg.Ingest.RejectSignature(ctx, rec, req.ClientAddr, webhooks.RejectBadSignature, "X-Twilio-Signature is missing or does not match (checked against GOODWILL_PUBLIC_URL + the path)")
		return nil, rec, nil, &res, err
	}
	if perr != nil {
		r.cfg.Ingest.Reject(ctx, rec, webhooks.RejectMalformed, "the body is not a form: "+perr.Error())
		return nil, rec, nil, &webhooks.Result{}, interactions.Errorf(interactions.CodeInvalid, "the body is not an application/x-www-form-urlencoded form")
	}
	return form, rec, body, nil, nil
}

// SMS handles POST /webhooks/twilio/sms, an inbound SMS. From a recruiter's phone, a
// command (ACK, SNOOZE) acts on their alert and is logged; from a candidate's phone,
// an inbound message is stored on their most recent application; from anyone else,
// nothing is stored. Nothing is ever sent back. A nil error means "answer empty
// TwiML" (a Throttled result excepted); errors are SignatureError, CodeInvalid and
// CodeUnavailable. After a failure the message is not marked handled, so that
// Twilio's retry acts.
func (r *Receiver) SMS(ctx context.Context, req Request) (webhooks.Result, error) {
	form, rec, body, stop, err := r.read(ctx, req, "sms")
	if stop != nil {
		return *stop, err
	}
	m, err := ParseInboundSMS(form)
	if err != nil {
		r.cfg.Ingest.Reject(ctx, rec, webhooks.RejectMalformed, err.Error())
		return webhooks.Result{}, interactions.Errorf(interactions.CodeInvalid, "%s", err.Error())
	}
	rec.Event, rec.DeliveryID = "inbound_sms", m.MessageSid
	rec.SMS = &webhooks.SMSInfo{MessageSid: m.MessageSid}
	key := "twilio:sms:" + m.MessageSid
	if first, err := r.cfg.Ingest.Once(ctx, key, rec.ReceivedAt); err != nil || !first {
		return webhooks.Result{}, err
	}
	retry, err := r.inbound(ctx, req.ClientAddr, rec, body, m)
	if retry {
		r.cfg.Ingest.Forget(ctx, key)
	}
	return webhooks.Result{}, err
}

// inbound routes an inbound SMS seen for the first time by its sender. retry reports
// a failure after which Twilio's retry should act again.
func (r *Receiver) inbound(ctx context.Context, clientAddr string, rec webhooks.Record, body []byte, m InboundSMS) (retry bool, err error) {
	recruiterID, isRecruiter, err := r.cfg.Recruiters.RecruiterByPhone(ctx, m.From)
	if err != nil {
		return true, err
	}
	if isRecruiter {
		rec.SMS.RecruiterID = recruiterID
		outcome, reason := webhooks.OutcomeCommand, ""
		if cmd, ok := ParseCommand(m.Body); ok {
			rec.SMS.Command = &cmd
			if reason, err = r.command(ctx, recruiterID, clientAddr, cmd); err != nil {
				return true, err
			}
		} else {
			outcome, reason = webhooks.OutcomeIgnored, "a recruiter's message that is not ACK, ACK <code> or SNOOZE <duration> [<code>]"
		}
		// The command has acted: a failure to log it must not undo the key.
		return false, r.cfg.Ingest.Note(ctx, rec, nil, outcome, reason)
	}

	candidates, err := r.cfg.Candidates.CandidatesByPhone(ctx, m.From)
	if err != nil {
		return true, err
	}
	app, found, err := r.cfg.Candidates.LatestApplication(ctx, candidates)
	if err != nil {
		return true, err
	}
	if !found && len(candidates) == 1 {
		// A candidate with no application (a talent pool's member, say): the reply
		// touches the candidate, not an application.
		app = interactions.ApplicationRef{CandidateID: candidates[0]}
	} else if !found {
		reason := "the sender is not a known candidate or recruiter"
		if len(candidates) > 1 {
			reason = "the sender's number belongs to several candidates, none with an application"
		}
		if err := r.cfg.Ingest.Note(ctx, rec, nil, webhooks.OutcomeIgnored, reason); err != nil {
			return true, err
		}
		return false, nil
	}
	meta, _ := json.Marshal(map[string]string{"text": cutText(m.Body, maxSMSText)})
	in := interactions.Input{
		ApplicationID: app.ID,
		CandidateID:   app.CandidateID,
		Kind:          string(interactions.KindMessage),
		Direction:     string(interactions.Inbound),
		Channel:       "sms",
		Source:        "twilio",
		ExternalID:    m.MessageSid,
		OccurredAt:    interactions.APITime(rec.ReceivedAt),
		Metadata:      meta,
	}
	it, errs := in.Validate("", rec.ReceivedAt)
	if len(errs) > 0 {
		err := interactions.Invalid(errs...)
		r.cfg.Ingest.Reject(ctx, rec, webhooks.RejectMalformed, err.Error())
		return false, err // the same message would be refused again
	}
	if _, err := r.cfg.Ingest.Store(ctx, rec, body, []interactions.Interaction{it}, rec.ReceivedAt); err != nil {
		return true, err
	}
	return false, nil
}

// command carries out a recruiter's SMS reply on their latest or named alert and
// says what it did.
func (r *Receiver) command(ctx context.Context, recruiterID, clientAddr string, cmd webhooks.Command) (string, error) {
	var dur time.Duration
	if cmd.Verb == "snooze" {
		d, err := interactions.ParseDuration(cmd.For)
		if err != nil {
			return "not a duration: " + cmd.For, nil
		}
		dur = d.Wall()
	}
	alertID, ok, err := r.cfg.Alerts.Command(ctx, recruiterID, cmd.Verb, cmd.Code, dur)
	switch {
	case err != nil && interactions.ErrorCode(err) != interactions.CodeInvalid && interactions.ErrorCode(err) != interactions.CodeConflict:
		return "", err
	case err != nil:
		return err.Error(), nil
	case !ok:
		return "no open alert matched", nil
	}
	// Only logged when it cannot be stored: failing would make Twilio's retry act on
	// the recruiter's next alert.
	r.cfg.Audit.CommandActed(ctx, recruiterID, cmd.Verb, alertID, clientAddr)
	return cmd.Verb + " " + alertID, nil
}

// Status handles POST /webhooks/twilio/status, the delivery status of an SMS goodwill
// sent: it is logged (MessageSid, MessageStatus, ErrorCode) and handed to the alerts,
// each status of a message once. A nil error means "answer 200" (a Throttled result
// excepted); errors are SignatureError, CodeInvalid and CodeUnavailable.
func (r *Receiver) Status(ctx context.Context, req Request) (webhooks.Result, error) {
	form, rec, _, stop, err := r.read(ctx, req, "status")
	if stop != nil {
		return *stop, err
	}
	sid := cmp.Or(strings.TrimSpace(form.Get("MessageSid")), strings.TrimSpace(form.Get("SmsSid")))
	status := cmp.Or(strings.TrimSpace(form.Get("MessageStatus")), strings.TrimSpace(form.Get("SmsStatus")))
	if !Sid(sid) || status == "" || len(status) > 32 {
		reason := "MessageSid and MessageStatus are required, as Twilio sends them"
		r.cfg.Ingest.Reject(ctx, rec, webhooks.RejectMalformed, reason)
		return webhooks.Result{}, interactions.Errorf(interactions.CodeInvalid, "%s", reason)
	}
	// Each status of a message acts once (a message is sent, then delivered): a replay
	// does nothing.
	key := "twilio:status:" + sid + ":" + status
	if first, err := r.cfg.Ingest.Once(ctx, key, rec.ReceivedAt); err != nil || !first {
		return webhooks.Result{}, err
	}
	rec.Event, rec.DeliveryID = "status:"+status, sid
	rec.SMS = &webhooks.SMSInfo{MessageSid: sid, Status: status, ErrorCode: strings.TrimSpace(form.Get("ErrorCode"))}
	rec.Key = webhooks.DeliveryKey("twilio", "status:"+sid+":"+status, nil)
	if err := r.cfg.Ingest.Note(ctx, rec, nil, webhooks.OutcomeStatus, ""); err != nil {
		r.cfg.Ingest.Forget(ctx, key)
		return webhooks.Result{}, err
	}
	if _, err := r.cfg.Alerts.SMSStatus(ctx, sid, status, rec.SMS.ErrorCode); err != nil {
		r.cfg.Ingest.Forget(ctx, key)
		return webhooks.Result{}, err
	}
	return webhooks.Result{}, nil
}

// cutText cuts s to at most n bytes at a rune boundary.
func cutText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
