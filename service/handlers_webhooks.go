package service

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/webhooks"
	twiliohooks "github.com/goodwillhq/goodwill/webhooks/twilio"
)

// Webhook routes. What happens to a delivery is webhooks.Ingest's (ATS vendors and
// Standard Webhooks) or twilio.Receiver's; these handlers only translate requests and
// answers. Errors leave through fail.

// postWebhook receives POST /webhooks/{source} and /webhooks/{source}/{label}.
func (s *api) postWebhook(c *gin.Context) {
	_, labeled := c.Params.Get("label")
	res, err := s.webhooks.Receive(ctx(c), webhooks.Request{
		Source: c.Param("source"), Label: c.Param("label"), Labeled: labeled,
		Header: c.Request.Header, Body: c.Request.Body, ClientAddr: c.ClientIP(),
	})
	switch {
	case err != nil:
		fail(c, err)
	case res.Throttled:
		tooManyFailures(c, res.RetryAfter)
	case res.Outcome == webhooks.OutcomePing:
		c.JSON(http.StatusOK, gin.H{"ping": true})
	case res.Outcome == webhooks.OutcomeIgnored:
		c.JSON(http.StatusOK, gin.H{"ignored": true, "reason": res.Reason})
	case res.Outcome == webhooks.OutcomeParked:
		c.JSON(http.StatusAccepted, gin.H{"parked": true, "reason": res.Reason})
	case res.Outcome == webhooks.OutcomeDuplicate:
		c.JSON(http.StatusOK, gin.H{"duplicate": true, "interactions": res.InteractionIDs})
	default:
		c.JSON(http.StatusOK, gin.H{"stored": res.Stored, "duplicates": res.Duplicates, "interactions": res.InteractionIDs})
	}
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
	ids := r.InteractionIDs
	if ids == nil {
		ids = []string{}
	}
	return deliveryView{ID: r.ID, Source: r.Source, Label: r.Label, Event: r.Event, DeliveryID: r.DeliveryID,
		Outcome: r.Outcome, Rejection: r.Rejection, Reason: r.Reason, InteractionIDs: ids,
		ReceivedAt: apiTime(&r.ReceivedAt), Erased: r.Erased}
}

// listWebhookDeliveries answers GET /v1/webhook-deliveries, newest first.
func (s *api) listWebhookDeliveries(c *gin.Context) {
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
	recs, next, err := s.webhooks.List(ctx(c), f)
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

// replayWebhooks answers POST /v1/webhook-deliveries/replay {"source", "since"}
// (both optional): see webhooks.Ingest.Replay. A store failure stops the replay with
// 503 (running it again is harmless).
func (s *api) replayWebhooks(c *gin.Context) {
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
	if req.Source != "" && !slices.Contains(WebhookSources, req.Source) {
		fail(c, interactions.Invalid(interactions.FieldError{Field: "source", Message: "must be one of " + strings.Join(WebhookSources, ", ")}))
		return
	}
	if !s.audit(c, audit.ReplayRequested, req.Source) { // "" replays every source
		return
	}
	res, err := s.webhooks.Replay(ctx(c), req.Source, since)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": res.Deliveries, "stored": res.Stored, "duplicates": res.Duplicates, "failed": res.Failed})
}

// --- Twilio ---

// emptyTwiML answers a Twilio message webhook without replying.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// twilioRequest is a Twilio webhook as the receiver reads it.
func twilioRequest(c *gin.Context) twiliohooks.Request {
	return twiliohooks.Request{Header: c.Request.Header, URI: c.Request.URL.RequestURI(), Body: c.Request.Body, ClientAddr: c.ClientIP()}
}

// twilioSMS receives POST /webhooks/twilio/sms, an inbound SMS. The answer is an empty
// TwiML response: nothing is sent back.
func (s *api) twilioSMS(c *gin.Context) {
	res, err := s.twilio.SMS(ctx(c), twilioRequest(c))
	switch {
	case err != nil:
		fail(c, err)
	case res.Throttled:
		tooManyFailures(c, res.RetryAfter)
	default:
		c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(emptyTwiML))
	}
}

// twilioStatus receives POST /webhooks/twilio/status, the delivery status of an SMS
// goodwill sent.
func (s *api) twilioStatus(c *gin.Context) {
	res, err := s.twilio.Status(ctx(c), twilioRequest(c))
	switch {
	case err != nil:
		fail(c, err)
	case res.Throttled:
		tooManyFailures(c, res.RetryAfter)
	default:
		c.Status(http.StatusOK)
	}
}
