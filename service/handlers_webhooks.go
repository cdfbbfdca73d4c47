package service

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Webhook deliveries. The flow of an ATS delivery:
//
//	verify the signature (401, logged as rejected without the body)
//	→ parse (400, logged as rejected) → ping / ignored: logged, 200
//	→ validate every item (400, logged as rejected)
//	→ record the delivery with its raw body under its key (a redelivery collides: 200 duplicate)
//	→ write the interactions (idempotent by (source, external_id))
//	→ mark the record stored → 200.
//
// A failure after the record is written leaves it pending, and the vendor's retry
// completes the write instead of being answered as a duplicate.

// webhookReceiver returns the receiver of a source; label is the URL's {label}.
func (s *Server) webhookReceiver(source, label string) (webhooks.Receiver, bool) {
	r, ok := webhooks.ByName(source)
	switch {
	case ok && source == "workable":
		return webhooks.Workable{Label: label}, true
	case ok && source == "lever":
		return webhooks.Lever{HiredArchiveReasons: s.cfg.LeverHiredReasons}, true
	}
	return r, ok
}

// postWebhook receives POST /webhooks/{source} and /webhooks/{source}/{label}.
func (s *Server) postWebhook(c *gin.Context) {
	source, label := c.Param("source"), c.Param("label")
	recv, ok := s.webhookReceiver(source, label)
	if !ok {
		abortProblem(c, http.StatusNotFound, "not-found", fmt.Sprintf("no webhook source %q: use greenhouse, lever, ashby, workable or standard", source))
		return
	}
	// The label before the signature: a URL that cannot be a subscription's is not
	// there, whether or not the source has a secret, and nothing of it is stored.
	if _, hasLabel := c.Params.Get("label"); hasLabel && !webhooks.ValidLabel(label) {
		webhooks.CountRejected(source, webhooks.RejectBadLabel)
		abortProblem(c, http.StatusNotFound, "not-found", "a webhook label is 1 to 64 of a-z, 0-9, '_' and '-'")
		return
	}
	body, err := readBody(c)
	if err != nil {
		fail(c, err)
		return
	}
	now := s.now()
	rec := webhooks.Record{Source: source, Label: label, ReceivedAt: now, Headers: webhooks.KeptHeaders(c.Request.Header)}
	if err := recv.Verify(c.Request.Header, body, s.cfg.WebhookSecrets[source], now); err != nil {
		if errors.Is(err, webhooks.ErrNoSecret) {
			err = fmt.Errorf("%w: set GOODWILL_WEBHOOK_SECRET_%s", err, strings.ToUpper(source))
		}
		s.rejectSignature(c, rec, webhooks.VerifyReason(err), err.Error())
		return
	}
	d, err := recv.Parse(c.Request.Header, body, now)
	rec.Event, rec.DeliveryID = d.Event, d.DeliveryID
	if d.DeliveryID != "" {
		// A delivery id seen before is a redelivery, whatever the body says now (Lever
		// does not sign its body).
		got, gerr := s.deliveries.Get(ctx(c), webhooks.DeliveryKey(source, d.DeliveryID, nil))
		switch {
		case gerr == nil && (got.Outcome == webhooks.OutcomeStored || got.Outcome == webhooks.OutcomePending):
			res, err := s.redelivered(c, rec, got, now)
			s.answerDelivery(c, res, err)
			return
		case gerr != nil && interactions.ErrorCode(gerr) != interactions.CodeNotFound:
			fail(c, gerr)
			return
		}
	}
	if err != nil {
		s.rejectDelivery(c, rec, webhooks.RejectMalformed, err.Error())
		failMalformed(c, err)
		return
	}
	switch {
	case d.Ping:
		if s.noteDelivery(c, rec, body, webhooks.OutcomePing, "") {
			c.JSON(http.StatusOK, gin.H{"ping": true})
		}
		return
	case d.Ignored != "" || len(d.Items) == 0:
		reason := cmp.Or(d.Ignored, "the delivery maps to no interaction")
		if s.noteDelivery(c, rec, body, webhooks.OutcomeIgnored, reason) {
			c.JSON(http.StatusOK, gin.H{"ignored": true, "reason": reason})
		}
		return
	}
	items, err := validateDelivery(d, body, now)
	if err != nil {
		s.rejectDelivery(c, rec, webhooks.RejectMalformed, err.Error())
		fail(c, err)
		return
	}
	res, err := s.storeDelivery(c, rec, body, items, now)
	s.answerDelivery(c, res, err)
}

// answerDelivery answers a delivery that was stored, or found to be a redelivery.
func (s *Server) answerDelivery(c *gin.Context, res deliveryResult, err error) {
	switch {
	case err != nil:
		fail(c, err)
	case res.duplicate:
		c.JSON(http.StatusOK, gin.H{"duplicate": true, "interactions": res.ids})
	default:
		c.JSON(http.StatusOK, gin.H{"stored": res.stored, "duplicates": res.duplicates, "interactions": res.ids})
	}
}

// failMalformed answers 400 for a body Parse refused, with field errors where the
// receiver names them (Standard Webhooks).
func failMalformed(c *gin.Context, err error) {
	var e *interactions.Error
	if errors.As(err, &e) {
		abortProblem(c, http.StatusBadRequest, string(interactions.CodeInvalid), err.Error(), e.Fields...)
		return
	}
	abortProblem(c, http.StatusBadRequest, string(interactions.CodeInvalid), err.Error())
}

// validateDelivery validates a delivery's items as POST /v1/interactions does. Field
// names carry "interactions[i]." when the delivery holds several items or is a
// Standard Webhooks batch.
func validateDelivery(d webhooks.Delivery, body []byte, now time.Time) ([]interactions.Interaction, error) {
	batch := len(d.Items) > 1
	if !batch && d.Source == "standard" {
		var top map[string]json.RawMessage
		if json.Unmarshal(body, &top) == nil {
			_, batch = top["interactions"]
		}
	}
	items := make([]interactions.Interaction, 0, len(d.Items))
	var fields []interactions.FieldError
	for i, in := range d.Items {
		prefix := ""
		if batch {
			prefix = "interactions[" + strconv.Itoa(i) + "]."
		}
		it, errs := in.Validate(prefix, now)
		fields = append(fields, errs...)
		items = append(items, it)
	}
	if len(fields) > 0 {
		return nil, interactions.Invalid(fields...)
	}
	return items, nil
}

// rejectDelivery counts a refused delivery in
// goodwill_webhook_deliveries_rejected_total and logs it without its body, at most
// once per source and reason per minute (a flood writes next to nothing). reason is
// one of webhooks.RejectReasons, detail says what was wrong. A failure to log is only
// logged: the answer is the refusal either way.
func (s *Server) rejectDelivery(c *gin.Context, rec webhooks.Record, reason, detail string) {
	webhooks.CountRejected(rec.Source, reason)
	rec.Outcome, rec.Rejection, rec.Reason = webhooks.OutcomeRejected, reason, detail
	if _, err := s.deliveries.LogRejection(ctx(c), rec); err != nil {
		logger(c).Warn("record rejected webhook delivery", "source", rec.Source, "err", err)
	}
}

// rejectSignature answers a delivery whose signature check failed (reason no_secret,
// bad_signature or stale) with 401, or, once its client address has failed too often,
// with 429 and Retry-After (reason rate_limited). Only failures count: a valid
// signature from the same address is never refused.
func (s *Server) rejectSignature(c *gin.Context, rec webhooks.Record, reason, detail string) {
	if s.throttled(c) {
		s.rejectDelivery(c, rec, webhooks.RejectRateLimited, "too many failed signature checks from the client address: "+detail)
		return
	}
	s.rejectDelivery(c, rec, reason, detail)
	abortProblem(c, http.StatusUnauthorized, "bad-signature", detail)
}

// noteDelivery logs a delivery that stores nothing (ping, ignored, an SMS from an
// unknown number) under its delivery key, without its body: a redelivery adds no
// entry. It answers 503 and returns false when the store fails.
func (s *Server) noteDelivery(c *gin.Context, rec webhooks.Record, body []byte, outcome, reason string) bool {
	rec.Key = webhooks.DeliveryKey(rec.Source, rec.DeliveryID, body)
	rec.Outcome, rec.Reason, rec.Body, rec.CandidateIDs = outcome, reason, "", nil
	if _, _, err := s.deliveries.Insert(ctx(c), rec); err != nil {
		fail(c, err)
		return false
	}
	return true
}

// deliveryResult is what storing a delivery did.
type deliveryResult struct {
	duplicate  bool     // a redelivery of a delivery already stored: nothing was written
	stored     int      // interactions new to the log
	duplicates int      // interactions whose idempotency key was stored before
	ids        []string // the interactions' ids, originals for duplicates
}

// storeDelivery records a verified, valid delivery with its raw body, then writes its
// interactions, then marks the record stored: 2xx may follow only after all three.
// A record already stored means a redelivery: a bodyless "duplicate" entry is logged
// and nothing else is written. A record left pending by an earlier failure is
// completed, from its stored body when the new one differs (Lever signs no body).
func (s *Server) storeDelivery(c *gin.Context, rec webhooks.Record, body []byte, items []interactions.Interaction, now time.Time) (deliveryResult, error) {
	rec.Key = webhooks.DeliveryKey(rec.Source, rec.DeliveryID, body)
	rec.Outcome, rec.Body, rec.CandidateIDs = webhooks.OutcomePending, string(body), candidateIDs(items)
	got, existed, err := s.deliveries.Insert(ctx(c), rec)
	if err != nil {
		return deliveryResult{}, err
	}
	if existed && (got.Outcome != webhooks.OutcomePending || got.Body != string(body)) {
		return s.redelivered(c, rec, got, now)
	}
	return s.writeDelivery(c, got.Key, items)
}

// redelivered handles a delivery whose key is recorded already as got. A stored
// delivery (or one whose body was erased) is a duplicate: a bodyless entry is logged
// and nothing else is written. A pending one, left by a failure, is completed from
// the body first recorded.
func (s *Server) redelivered(c *gin.Context, rec, got webhooks.Record, now time.Time) (deliveryResult, error) {
	if got.Outcome == webhooks.OutcomePending && got.Body != "" {
		items, err := s.reparse(got, now)
		if err != nil {
			return deliveryResult{}, err
		}
		return s.writeDelivery(c, got.Key, items)
	}
	dup := rec
	dup.Outcome, dup.Body, dup.CandidateIDs = webhooks.OutcomeDuplicate, "", nil
	dup.Reason = "a redelivery of " + got.Key + ", first received " + interactions.APITime(got.ReceivedAt)
	dup.InteractionIDs = got.InteractionIDs
	if err := s.deliveries.Log(ctx(c), dup); err != nil {
		logger(c).Warn("record duplicate webhook delivery", "source", rec.Source, "err", err)
	}
	return deliveryResult{duplicate: true, ids: nonNil(got.InteractionIDs)}, nil
}

// writeDelivery writes a delivery's interactions and marks its record stored. When
// the writer stripped an item because its person was erased (a tombstone), the raw
// body is dropped too.
func (s *Server) writeDelivery(c *gin.Context, key string, items []interactions.Interaction) (deliveryResult, error) {
	res := deliveryResult{ids: []string{}}
	erased := false
	if len(items) > 0 {
		stored, err := s.writer.Write(ctx(c), items)
		if err != nil {
			return res, err
		}
		for _, it := range stored {
			res.ids = append(res.ids, it.ID)
			erased = erased || it.Erased
			if it.Duplicate {
				res.duplicates++
			} else {
				res.stored++
			}
		}
	}
	err := s.deliveries.Finish(ctx(c), key, webhooks.OutcomeStored, res.ids, res.stored, res.duplicates, erased)
	return res, err
}

// reparse maps a stored raw body again with the current mapping. A delivery that now
// maps to nothing gives no items.
func (s *Server) reparse(rec webhooks.Record, now time.Time) ([]interactions.Interaction, error) {
	recv, ok := s.webhookReceiver(rec.Source, rec.Label)
	if !ok {
		return nil, interactions.Errorf(interactions.CodeInvalid, "deliveries from %s cannot be parsed again", rec.Source)
	}
	body := []byte(rec.Body)
	d, err := recv.Parse(rec.Header(), body, rec.ReceivedAt)
	if err != nil {
		return nil, interactions.Errorf(interactions.CodeInvalid, "%s", err.Error())
	}
	if d.Ping || d.Ignored != "" {
		return nil, nil
	}
	return validateDelivery(d, body, now)
}

func candidateIDs(items []interactions.Interaction) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it.CandidateID] {
			seen[it.CandidateID] = true
			out = append(out, it.CandidateID)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// --- the delivery log and replay (admin) ---

type deliveryView struct {
	ID             string   `json:"id"`
	Source         string   `json:"source"`
	Label          string   `json:"label,omitempty"`
	Event          string   `json:"event,omitempty"`
	DeliveryID     string   `json:"delivery_id,omitempty"`
	Outcome        string   `json:"outcome"`
	Rejection      string   `json:"rejection,omitempty"`
	Reason         string   `json:"reason,omitempty"`
	InteractionIDs []string `json:"interaction_ids"`
	ReceivedAt     *string  `json:"received_at"`
	Erased         bool     `json:"erased,omitempty"`
}

func viewDelivery(r webhooks.Record) deliveryView {
	return deliveryView{ID: r.ID, Source: r.Source, Label: r.Label, Event: r.Event, DeliveryID: r.DeliveryID,
		Outcome: r.Outcome, Rejection: r.Rejection, Reason: r.Reason, InteractionIDs: nonNil(r.InteractionIDs),
		ReceivedAt: apiTime(&r.ReceivedAt), Erased: r.Erased}
}

// listWebhookDeliveries answers GET /v1/webhook-deliveries, newest first.
func (s *Server) listWebhookDeliveries(c *gin.Context) {
	f := webhooks.Filter{Source: c.Query("source"), Outcome: c.Query("outcome"), Cursor: c.Query("cursor")}
	var fields []interactions.FieldError
	var err error
	if f.Limit, err = parseLimit(c.Query("limit")); err != nil {
		fields = append(fields, interactions.FieldError{Field: "limit", Message: err.Error()})
	}
	if f.Outcome != "" && !slices.Contains(webhooks.Outcomes, f.Outcome) {
		fields = append(fields, interactions.FieldError{Field: "outcome", Message: "must be one of " + strings.Join(webhooks.Outcomes, ", ")})
	}
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	recs, next, err := s.deliveries.List(ctx(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]deliveryView, len(recs))
	for i, r := range recs {
		out[i] = viewDelivery(r)
	}
	resp := gin.H{"deliveries": out}
	if next != "" {
		resp["next_cursor"] = next
	}
	c.JSON(http.StatusOK, resp)
}

// replayWebhooks answers POST /v1/webhook-deliveries/replay: every stored raw body
// (of source, received since) is parsed again with the current mapping and its
// interactions written. Idempotency keys make a replay of unchanged mappings store
// nothing new; a delivery left pending is completed. Deliveries that no longer parse
// or validate are counted as failed; a store failure stops the replay with 503
// (running it again is harmless).
func (s *Server) replayWebhooks(c *gin.Context) {
	var req struct {
		Source string `json:"source"`
		Since  string `json:"since"`
	}
	body, err := readBody(c)
	if err != nil {
		fail(c, err)
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			fail(c, interactions.Invalid(interactions.DecodeError(err, "")))
			return
		}
	}
	var since time.Time
	if req.Since != "" {
		if since, err = time.Parse(time.RFC3339Nano, req.Since); err != nil {
			fail(c, interactions.Invalid(interactions.FieldError{Field: "since", Message: "must be an RFC 3339 time"}))
			return
		}
	}
	if _, ok := webhooks.ByName(req.Source); req.Source != "" && !ok {
		fail(c, interactions.Invalid(interactions.FieldError{Field: "source", Message: "must be one of " + strings.Join(WebhookSources, ", ")}))
		return
	}
	if !s.audit(c, audit.ReplayRequested, req.Source) { // "" replays every source
		return
	}
	now := s.now()
	var deliveries, stored, duplicates, failed int
	err = s.deliveries.EachBody(ctx(c), req.Source, since, func(rec webhooks.Record) error {
		if _, ok := webhooks.ByName(rec.Source); !ok {
			return nil // Twilio's bodies need the sender lookups of their time
		}
		deliveries++
		items, err := s.reparse(rec, now)
		if err != nil {
			if interactions.ErrorCode(err) == interactions.CodeInvalid {
				failed++
				logger(c).Warn("replay: a stored webhook body no longer maps", "delivery", rec.ID, "source", rec.Source, "err", err)
				return nil
			}
			return err
		}
		if len(items) == 0 {
			return nil // the current mapping ignores it
		}
		res, err := s.writeDelivery(c, rec.Key, items)
		if err != nil {
			return err
		}
		stored += res.stored
		duplicates += res.duplicates
		return nil
	})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": deliveries, "stored": stored, "duplicates": duplicates, "failed": failed})
}

// --- expiry ---

// purgingDeliveries purges the delivery log a minute after start and then daily,
// until ctx ends (expiry is a purge job: the embedded store has no TTL index).
func (s *Server) purgingDeliveries(ctx context.Context) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = 24 * time.Hour
		n, err := s.PurgeDeliveryLog(ctx)
		if err != nil {
			s.log.Warn("webhooks: purging the delivery log failed; retrying tomorrow", "err", err)
		} else if n > 0 {
			s.log.Info("webhooks: purged the delivery log", "deleted", n)
		}
	}
}

// PurgeDeliveryLog deletes what the webhook delivery log holds from before
// GOODWILL_DELIVERY_LOG_RETENTION ago: records of every outcome with their raw
// bodies, and the keys of Twilio callbacks acted on. It runs daily on its own; it
// returns how many documents it deleted.
func (s *Server) PurgeDeliveryLog(ctx context.Context) (int64, error) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return s.deliveries.Purge(pctx, s.now().Add(-s.cfg.DeliveryLogRetention.Wall()))
}

// --- Twilio ---

// emptyTwiML answers a Twilio message webhook without replying.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// maxSMSText bounds the text of an inbound SMS kept in an interaction's metadata.
const maxSMSText = 2000

func twiml(c *gin.Context) { c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(emptyTwiML)) }

// twilioRequest reads and verifies a Twilio webhook: a form POST signed with
// X-Twilio-Signature over GOODWILL_PUBLIC_URL + the path (and query). It answers
// 401 (or 400 for a signed but unreadable form) and returns false on failure.
func (s *Server) twilioRequest(c *gin.Context, label string) (url.Values, webhooks.Record, []byte, bool) {
	rec := webhooks.Record{Source: "twilio", Label: label, ReceivedAt: s.now(), Headers: webhooks.KeptHeaders(c.Request.Header)}
	body, err := readBody(c)
	if err != nil {
		fail(c, err)
		return nil, rec, nil, false
	}
	if s.cfg.TwilioAuthToken == "" {
		s.rejectSignature(c, rec, webhooks.RejectNoSecret, "Twilio is not configured: set TWILIO_AUTH_TOKEN")
		return nil, rec, nil, false
	}
	form, perr := url.ParseQuery(string(body))
	if !webhooks.VerifyTwilio(s.cfg.TwilioAuthToken, s.cfg.PublicURL+c.Request.URL.RequestURI(), form, c.GetHeader("X-Twilio-Signature")) {
		s.rejectSignature(c, rec, webhooks.RejectBadSignature, "X-Twilio-Signature is missing or does not match (checked against GOODWILL_PUBLIC_URL + the path)")
		return nil, rec, nil, false
	}
	if perr != nil {
		s.rejectDelivery(c, rec, webhooks.RejectMalformed, "the body is not a form: "+perr.Error())
		abortProblem(c, http.StatusBadRequest, string(interactions.CodeInvalid), "the body is not an application/x-www-form-urlencoded form")
		return nil, rec, nil, false
	}
	return form, rec, body, true
}

// twilioSMS receives POST /webhooks/twilio/sms, an inbound SMS. From a recruiter's
// phone, a command is logged for the alerts to act on; from a candidate's phone, an
// inbound message is stored on their most recent application; from anyone else,
// nothing is stored. The answer is always an empty TwiML response: nothing is sent back.
func (s *Server) twilioSMS(c *gin.Context) {
	form, rec, body, ok := s.twilioRequest(c, "sms")
	if !ok {
		return
	}
	m, err := webhooks.ParseInboundSMS(form)
	if err != nil {
		s.rejectDelivery(c, rec, webhooks.RejectMalformed, err.Error())
		abortProblem(c, http.StatusBadRequest, string(interactions.CodeInvalid), err.Error())
		return
	}
	rec.Event, rec.DeliveryID = "inbound_sms", m.MessageSid
	rec.SMS = &webhooks.SMSInfo{MessageSid: m.MessageSid}
	// Each message acts once: a replay of a signed request, or Twilio's retry of one
	// already handled, is answered without doing anything.
	once, ok := s.twilioOnce(c, "twilio:sms:"+m.MessageSid, rec.ReceivedAt)
	if !ok {
		return
	}
	if !s.twilioInboundSMS(c, rec, body, m) {
		once.forget(c)
	}
}

// twilioInboundSMS acts on an inbound SMS seen for the first time and answers; it
// reports false when it answered a failure.
func (s *Server) twilioInboundSMS(c *gin.Context, rec webhooks.Record, body []byte, m webhooks.InboundSMS) bool {
	recruiter, isRecruiter, err := s.directory.ByPhone(ctx(c), m.From)
	if err != nil {
		fail(c, err)
		return false
	}
	if isRecruiter {
		rec.SMS.RecruiterID = recruiter.ID
		outcome, reason := webhooks.OutcomeCommand, ""
		if cmd, ok := webhooks.ParseCommand(m.Body); ok {
			rec.SMS.Command = &cmd
			reason, err = s.smsCommand(c, recruiter.ID, cmd)
			if err != nil {
				fail(c, err)
				return false
			}
		} else {
			outcome, reason = webhooks.OutcomeIgnored, "a recruiter's message that is not ACK, ACK <code> or SNOOZE <duration> [<code>]"
		}
		// The command has acted: a failure to log it must not undo the key.
		if s.noteDelivery(c, rec, nil, outcome, reason) {
			twiml(c)
		}
		return true
	}

	candidates, err := s.deliveries.CandidatesByPhone(ctx(c), m.From)
	if err != nil {
		fail(c, err)
		return false
	}
	app, found, err := s.deliveries.LatestApplication(ctx(c), candidates)
	if err != nil {
		fail(c, err)
		return false
	}
	if !found {
		reason := "the sender is not a known candidate or recruiter"
		if len(candidates) > 0 {
			reason = "the sender's candidate has no application"
		}
		return s.noteDelivery(c, rec, nil, webhooks.OutcomeIgnored, reason) && twimlOK(c)
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
		s.rejectDelivery(c, rec, webhooks.RejectMalformed, err.Error())
		fail(c, err)
		return true // the same message would be refused again
	}
	if _, err := s.storeDelivery(c, rec, body, []interactions.Interaction{it}, rec.ReceivedAt); err != nil {
		fail(c, err)
		return false
	}
	return twimlOK(c)
}

func twimlOK(c *gin.Context) bool {
	twiml(c)
	return true
}

// onceKey is a Twilio callback's key, recorded before acting on it.
type onceKey struct {
	s   *Server
	key string
}

// twilioOnce records key before a Twilio callback acts. A key seen before is a
// replay: it answers 200 (empty TwiML for messages) and returns false, as it does,
// with 503, when the store fails.
func (s *Server) twilioOnce(c *gin.Context, key string, at time.Time) (onceKey, bool) {
	first, err := s.deliveries.First(ctx(c), key, at)
	switch {
	case err != nil:
		fail(c, err)
		return onceKey{}, false
	case !first:
		if strings.HasPrefix(key, "twilio:sms:") {
			twiml(c)
		} else {
			c.Status(http.StatusOK)
		}
		return onceKey{}, false
	}
	return onceKey{s, key}, true
}

// forget drops the key after acting failed, so that Twilio's retry acts. If that
// fails too, the callback is lost: it is logged.
func (k onceKey) forget(c *gin.Context) {
	if err := k.s.deliveries.Forget(ctx(c), k.key); err != nil {
		logger(c).Warn("a failed Twilio callback will not be retried", "key", k.key, "err", err)
	}
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

// twilioStatus receives POST /webhooks/twilio/status, the delivery status of an SMS
// goodwill sent. It is logged (MessageSid, MessageStatus, ErrorCode) for the alerts to
// read; each status of a message once.
func (s *Server) twilioStatus(c *gin.Context) {
	form, rec, _, ok := s.twilioRequest(c, "status")
	if !ok {
		return
	}
	sid := cmp.Or(strings.TrimSpace(form.Get("MessageSid")), strings.TrimSpace(form.Get("SmsSid")))
	status := cmp.Or(strings.TrimSpace(form.Get("MessageStatus")), strings.TrimSpace(form.Get("SmsStatus")))
	if !webhooks.TwilioSid(sid) || status == "" || len(status) > 32 {
		reason := "MessageSid and MessageStatus are required, as Twilio sends them"
		s.rejectDelivery(c, rec, webhooks.RejectMalformed, reason)
		abortProblem(c, http.StatusBadRequest, string(interactions.CodeInvalid), reason)
		return
	}
	// Each status of a message acts once (a message is sent, then delivered): a replay
	// is answered without doing anything.
	once, ok := s.twilioOnce(c, "twilio:status:"+sid+":"+status, rec.ReceivedAt)
	if !ok {
		return
	}
	rec.Event, rec.DeliveryID = "status:"+status, sid
	rec.SMS = &webhooks.SMSInfo{MessageSid: sid, Status: status, ErrorCode: strings.TrimSpace(form.Get("ErrorCode"))}
	rec.Key = webhooks.DeliveryKey("twilio", "status:"+sid+":"+status, nil)
	rec.Outcome = webhooks.OutcomeStatus
	if _, _, err := s.deliveries.Insert(ctx(c), rec); err != nil {
		once.forget(c)
		fail(c, err)
		return
	}
	if _, err := s.dispatcher.SMSStatus(ctx(c), sid, status, rec.SMS.ErrorCode); err != nil {
		once.forget(c)
		fail(c, err)
		return
	}
	c.Status(http.StatusOK)
}

// smsCommand carries out a recruiter's SMS reply on their latest or named alert and
// says what it did.
func (s *Server) smsCommand(c *gin.Context, recruiterID string, cmd webhooks.Command) (string, error) {
	var dur time.Duration
	if cmd.Verb == "snooze" {
		d, err := interactions.ParseDuration(cmd.For)
		if err != nil {
			return "not a duration: " + cmd.For, nil
		}
		dur = d.Wall()
	}
	a, ok, err := s.dispatcher.Command(ctx(c), recruiterID, cmd.Verb, cmd.Code, dur)
	switch {
	case err != nil && interactions.ErrorCode(err) != interactions.CodeInvalid && interactions.ErrorCode(err) != interactions.CodeConflict:
		return "", err
	case err != nil:
		return err.Error(), nil
	case !ok:
		return "no open alert matched", nil
	}
	// Only logged when it cannot be stored: a 503 would make Twilio's retry act on the
	// recruiter's next alert.
	action := audit.AlertAcknowledged
	if cmd.Verb == "snooze" {
		action = audit.AlertSnoozed
	}
	_ = s.record(c, audit.Recruiter(recruiterID), action, a.ID)
	return cmd.Verb + " " + a.ID, nil
}
