// Package teams posts alerts to Microsoft Teams through a Workflows incoming webhook
// ("Post to a chat when a webhook request is received"): an Adaptive Card whose
// button opens the alert's signed acknowledgement page. There is no bot: the card is
// the whole conversation.
//
// A Teams webhook URL is a bearer secret (its query carries the signature): nothing
// here logs it or puts it in an error. It must be https on a Microsoft host
// (Hosts) and passes the outgoing address rules of alerts/outbound, at connect time
// too. Teams answers 202 Accepted without saying whether the message was posted, so
// a success means accepted, not delivered.
package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/outbound"
)

// Hosts are the host suffixes a Teams webhook URL may have: Power Automate /
// Workflows (logic.azure.com, powerplatform.com, powerautomate.com) and the retiring
// Office 365 connectors (webhook.office.com).
var Hosts = []string{".logic.azure.com", ".powerplatform.com", ".powerautomate.com", ".webhook.office.com"}

// CheckURL returns why raw may not be a Teams webhook URL, or nil: it must be https
// on one of Hosts (with the outgoing-webhook switch on, an IP address or localhost
// too, for tests and private networks) and pass the policy's address rules. The
// host is not resolved here; the address is checked when connecting. The error never
// holds the URL.
func CheckURL(policy outbound.Policy, raw string) error {
	u, err := policy.CheckForm(raw)
	if err != nil {
		return err
	}
	host := strings.ToLower(u.Hostname())
	if policy.AllowPrivate {
		if _, err := netip.ParseAddr(host); err == nil || host == "localhost" {
			return nil
		}
	}
	if u.Scheme != "https" {
		return &outbound.Error{Msg: "must be an https URL"}
	}
	for _, h := range Hosts {
		if strings.HasSuffix(host, h) {
			return nil
		}
	}
	return &outbound.Error{Msg: "must be a Teams Workflows webhook URL on a Microsoft host (*" + strings.Join(Hosts, ", *") + ")"}
}

// Config is what a Sender needs.
type Config struct {
	// Policy is the outgoing address policy (GOODWILL_ALLOW_PRIVATE_WEBHOOKS).
	Policy outbound.Policy
	// Timeout bounds one post; 0 means 15 s.
	Timeout time.Duration
}

// Sender posts cards; it satisfies alerts.Teams.
type Sender struct {
	policy outbound.Policy
	client *http.Client
}

// New returns a Sender.
func New(cfg Config) *Sender {
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	return &Sender{policy: cfg.Policy, client: cfg.Policy.Client(cfg.Timeout)}
}

// Post sends m as an Adaptive Card to the webhook. Its errors are *alerts.SendError:
// Permanent for a URL that is not allowed and for 4xx answers but 408 and 429 (the
// workflow is gone or refuses the card), Retryable for 408, 429, 5xx and failures
// before the request was sent, Ambiguous when the request went out and no answer came.
func (s *Sender) Post(ctx context.Context, webhookURL string, m alerts.Message) error {
	if err := CheckURL(s.policy, webhookURL); err != nil {
		return &alerts.SendError{Failure: alerts.Permanent, Err: err}
	}
	body, err := json.Marshal(Card(m))
	if err != nil {
		return &alerts.SendError{Failure: alerts.Permanent, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return &alerts.SendError{Failure: alerts.Permanent, Err: errors.New("the Teams webhook URL is not usable")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "goodwill")
	var sent atomic.Bool
	req = req.WithContext(withWrote(ctx, &sent))
	res, err := s.client.Do(req)
	if err != nil {
		failure := alerts.Retryable
		switch {
		case outbound.Refused(err):
			failure = alerts.Permanent
		case sent.Load():
			failure = alerts.Ambiguous
		}
		return &alerts.SendError{Failure: failure, Err: fmt.Errorf("teams: %w", outbound.Scrub(err))}
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout || res.StatusCode >= 500:
		return &alerts.SendError{Failure: alerts.Retryable, Err: fmt.Errorf("teams: %s", statusText(res.StatusCode, answer))}
	default:
		return &alerts.SendError{Failure: alerts.Permanent, Err: fmt.Errorf("teams: %s", statusText(res.StatusCode, answer))}
	}
}

// statusText says what Teams answered, with the start of its body on one line.
func statusText(code int, body []byte) string {
	s := fmt.Sprintf("HTTP %d", code)
	if text := strings.Join(strings.Fields(string(body)), " "); text != "" {
		s += ": " + text
	}
	return s
}
