package service

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/outbound"
	"github.com/goodwillhq/goodwill/alerts/webhook"
	"github.com/goodwillhq/goodwill/interactions"
)

// Outgoing alert webhooks (alerts/webhook): admins subscribe receivers to alert
// events; the secret that signs their deliveries is shown once, when created.

// maxAlertWebhooks bounds the subscriptions: each event is recorded once per
// subscription.
const maxAlertWebhooks = 50

// alertWebhookView is a subscription as the API shows it; Secret only in the answer
// that creates it.
type alertWebhookView struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Secret    string   `json:"secret,omitempty"`
	CreatedAt string   `json:"created_at"`
}

func viewAlertWebhook(sub webhook.Subscription) alertWebhookView {
	return alertWebhookView{ID: sub.ID, URL: sub.URL, Events: sub.Events, CreatedAt: interactions.APITime(sub.CreatedAt)}
}

// postAlertWebhook answers POST /v1/alert-webhooks {"url","events"} with 201 and the
// subscription, its secret included. The URL must pass the outgoing address rules.
func (s *api) postAlertWebhook(c *gin.Context) {
	var req struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	var fields []interactions.FieldError
	req.URL = strings.TrimSpace(req.URL)
	if req.URL == "" {
		fields = append(fields, interactions.FieldError{Field: "url", Message: "is required"})
	} else if _, err := s.outbound.CheckURL(ctx(c), req.URL); err != nil {
		var oe *outbound.Error
		if !errors.As(err, &oe) {
			fail(c, err)
			return
		}
		fields = append(fields, interactions.FieldError{Field: "url", Message: oe.Msg})
	}
	events := []string{}
	if len(req.Events) == 0 {
		fields = append(fields, interactions.FieldError{Field: "events", Message: "must name at least one of " + strings.Join(alerts.EventTypes, ", ")})
	}
	for i, e := range req.Events {
		e = strings.TrimSpace(e)
		if !slices.Contains(alerts.EventTypes, e) {
			fields = append(fields, interactions.FieldError{Field: fmt.Sprintf("events[%d]", i), Message: "must be one of " + strings.Join(alerts.EventTypes, ", ")})
			continue
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	if subs, err := s.hookStore.List(ctx(c)); err != nil {
		fail(c, err)
		return
	} else if len(subs) >= maxAlertWebhooks {
		fail(c, interactions.Errorf(interactions.CodeConflict, "there are %d alert webhooks already, the most there may be", maxAlertWebhooks))
		return
	}
	sub, err := s.alertHooks.Subscribe(ctx(c), req.URL, events)
	if err != nil {
		fail(c, err)
		return
	}
	v := viewAlertWebhook(sub)
	v.Secret = sub.Secret
	c.JSON(http.StatusCreated, v)
}

// listAlertWebhooks answers GET /v1/alert-webhooks, oldest first, in pages.
func (s *api) listAlertWebhooks(c *gin.Context) {
	limit, after, fields := pageRequest(c, maxPageLimit)
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	subs, err := s.hookStore.List(ctx(c))
	if err != nil {
		fail(c, err)
		return
	}
	subs, next := pageOf(subs, limit, after, func(sub *webhook.Subscription) interactions.Cursor {
		return interactions.Cursor{T: sub.CreatedAt, ID: sub.ID}
	})
	out := make([]alertWebhookView, len(subs))
	for i, sub := range subs {
		out[i] = viewAlertWebhook(sub)
	}
	c.JSON(http.StatusOK, listAnswer("alert_webhooks", out, next))
}

// deleteAlertWebhook answers DELETE /v1/alert-webhooks/{id}: 204, and its pending
// deliveries are not sent.
func (s *api) deleteAlertWebhook(c *gin.Context) {
	if err := s.alertHooks.Unsubscribe(ctx(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// alertWebhookDeliveryView is a delivery with the API's time format.
type alertWebhookDeliveryView struct {
	ID            string                    `json:"id"`
	Type          string                    `json:"type"`
	AlertID       string                    `json:"alert_id"`
	State         string                    `json:"state"`
	Attempts      []alertWebhookAttemptView `json:"attempts"`
	NextAttemptAt *string                   `json:"next_attempt_at,omitempty"`
	CreatedAt     string                    `json:"created_at"`
}

type alertWebhookAttemptView struct {
	At         string `json:"at"`
	Status     int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// listAlertWebhookDeliveries answers GET /v1/alert-webhooks/{id}/deliveries: the
// subscription's deliveries, newest first, with every attempt.
func (s *api) listAlertWebhookDeliveries(c *gin.Context) {
	limit, after, fields := pageRequest(c, defaultPageLimit)
	if len(fields) > 0 {
		fail(c, interactions.Invalid(fields...))
		return
	}
	if _, err := s.hookStore.Get(ctx(c), c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	list, err := s.hookStore.Deliveries(ctx(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	list, next := pageOfDescending(list, limit, after)
	out := make([]alertWebhookDeliveryView, len(list))
	for i, d := range list {
		v := alertWebhookDeliveryView{ID: d.ID, Type: d.Type, AlertID: d.AlertID, State: d.State,
			Attempts: make([]alertWebhookAttemptView, len(d.Attempts)), NextAttemptAt: apiTime(d.NextAt),
			CreatedAt: interactions.APITime(d.CreatedAt)}
		for j, a := range d.Attempts {
			v.Attempts[j] = alertWebhookAttemptView{At: interactions.APITime(a.At), Status: a.Status, Error: a.Error, DurationMS: a.DurationMS}
		}
		out[i] = v
	}
	c.JSON(http.StatusOK, listAnswer("deliveries", out, next))
}

// pageOfDescending pages deliveries listed newest first (then by id) after the
// cursor's position.
func pageOfDescending(list []webhook.Delivery, limit int, after *interactions.Cursor) ([]webhook.Delivery, string) {
	start := 0
	if after != nil {
		for start < len(list) && (list[start].CreatedAt.After(after.T) ||
			list[start].CreatedAt.Equal(after.T) && list[start].ID <= after.ID) {
			start++
		}
	}
	list = list[start:]
	if len(list) <= limit {
		return list, ""
	}
	list = list[:limit]
	last := list[len(list)-1]
	return list, interactions.EncodeCursor(interactions.Cursor{T: last.CreatedAt, ID: last.ID})
}
