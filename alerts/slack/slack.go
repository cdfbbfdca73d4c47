// Package slack sends alerts as Slack direct messages with buttons, finds a message
// again after an ambiguous failure, looks Slack users up by email, and handles the
// clicks on the buttons (interactions.go). It is built on github.com/slack-go/slack.
//
// A message goes to a user's DM with the app: conversations.open, then
// chat.postMessage with Block Kit blocks (blocks.go) and message metadata carrying the
// alert ids, by which Lookup (conversations.history with include_all_metadata) finds
// it again. Every error a Client returns is an *Error whose Kind, an alerts.Failure,
// tells the caller what to do; Channel turns a Client into the pipeline's alerts.Slack.
//
// The app needs the bot scopes chat:write, im:write, im:history and users:read.email.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/goodwillhq/goodwill/alerts"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// DefaultTimeout bounds one request when Config.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// MetadataEventType is the event_type of the metadata of the messages this package
// posts; its event_payload holds "alert_ids" (https://api.slack.com/reference/metadata).
const MetadataEventType = "goodwill_alert"

// Config says how to reach Slack.
type Config struct {
	Token  string // the bot token, "xoxb-…" (GOODWILL_SLACK_BOT_TOKEN)
	APIURL string // default DefaultAPIURL; tests point it at a fake (slacktest)
	// QueueURL is the link to the queue page that every message ends with; empty
	// leaves it out.
	QueueURL string
	// HTTPClient supplies the transport and timeout (default: DefaultTimeout).
	// Redirects are never followed.
	HTTPClient *http.Client
}

// Client talks to one Slack workspace as its app's bot. It is safe for concurrent use.
type Client struct {
	api  *slack.Client
	http *http.Client
	cfg  Config
	dms  sync.Map // Slack user id → the id of its DM with the app (conversations.open)
}

// New checks cfg and returns a Client. It does not contact Slack.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, errors.New("slack: the bot token is required")
	}
	if strings.ContainsAny(cfg.Token, " \t\r\n") {
		return nil, errors.New("slack: the bot token must not contain white space")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("slack: the API URL %q is not an http(s) URL", cfg.APIURL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
			ForceAttemptHTTP2: true,
		}}
	}
	noRedirects := *hc
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		api:  slack.New(cfg.Token, slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(&noRedirects)),
		http: &noRedirects,
		cfg:  cfg,
	}, nil
}

// call runs f with a context that notes whether the request was written, and
// classifies its error.
func call(ctx context.Context, op string, posting bool, f func(ctx context.Context) error) error {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	if err := f(ctx); err != nil {
		return classify(op, err, wrote.Load(), posting)
	}
	return nil
}

// UserByEmail finds the workspace's user with that email (users.lookupByEmail,
// https://docs.slack.dev/reference/methods/users.lookupByEmail/; scope
// users:read.email), and opens the app's DM with them for the alerts to come. found
// is false when Slack knows no such user.
func (c *Client) UserByEmail(ctx context.Context, email string) (id string, found bool, err error) {
	var u *slack.User
	err = call(ctx, "users.lookupByEmail", false, func(ctx context.Context) (err error) {
		u, err = c.api.GetUserByEmailContext(ctx, email)
		return err
	})
	var e *Error
	if errors.As(err, &e) && (e.Code == "users_not_found" || e.Code == "user_not_found") {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if u.Deleted {
		return "", false, nil
	}
	// Open the user's DM now, while nothing waits on it, so that the first alert to
	// them makes one call to Slack rather than two; a failure here is retried then.
	_, _ = c.dm(ctx, u.ID)
	return u.ID, true, nil
}

// dm returns the id of the user's DM with the app (conversations.open,
// https://docs.slack.dev/reference/methods/conversations.open/; scope im:write),
// opened once per user and process.
func (c *Client) dm(ctx context.Context, user string) (string, error) {
	if id, ok := c.dms.Load(user); ok {
		return id.(string), nil
	}
	var ch *slack.Channel
	err := call(ctx, "conversations.open", false, func(ctx context.Context) (err error) {
		ch, _, _, err = c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}, ReturnIM: false})
		return err
	})
	if err != nil {
		return "", err
	}
	if ch == nil || ch.ID == "" {
		return "", &Error{Kind: alerts.Retryable, Op: "conversations.open", Err: errors.New("no channel in the answer")}
	}
	c.dms.Store(user, ch.ID)
	return ch.ID, nil
}

// Post sends msg to the user as a direct message (chat.postMessage,
// https://docs.slack.dev/reference/methods/chat.postMessage/; scope chat:write), with
// the alerts' ids in its metadata, and returns the message's id: "<channel>/<ts>".
func (c *Client) Post(ctx context.Context, user string, msg alerts.Message) (string, error) {
	channel, err := c.dm(ctx, user)
	if err != nil {
		return "", err
	}
	ids := make([]any, len(msg.Alerts))
	for i, it := range msg.Alerts {
		ids[i] = it.ID
	}
	var ts string
	err = call(ctx, "chat.postMessage", true, func(ctx context.Context) (err error) {
		_, ts, err = c.api.PostMessageContext(ctx, channel,
			slack.MsgOptionText(Summary(msg), false),
			slack.MsgOptionBlocks(Blocks(msg, c.cfg.QueueURL)...),
			slack.MsgOptionMetadata(slack.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{"alert_ids": ids}}),
		)
		return err
	})
	if err != nil {
		return "", err
	}
	return channel + "/" + ts, nil
}

// historyPages bounds how many pages of a DM's history Lookup reads.
const historyPages = 5

// Lookup finds a message posted to the user's DM since then whose metadata carries
// the alert id ref (conversations.history with include_all_metadata,
// https://docs.slack.dev/reference/methods/conversations.history/; scope im:history),
// and returns its id as Post does.
func (c *Client) Lookup(ctx context.Context, user, ref string, since time.Time) (string, bool, error) {
	channel, err := c.dm(ctx, user)
	if err != nil {
		return "", false, err
	}
	params := &slack.GetConversationHistoryParameters{
		ChannelID: channel, IncludeAllMetadata: true, Limit: 200, Inclusive: true,
		Oldest: strconv.FormatInt(since.Add(-time.Minute).Unix(), 10),
	}
	for range historyPages {
		var page *slack.GetConversationHistoryResponse
		err := call(ctx, "conversations.history", false, func(ctx context.Context) (err error) {
			page, err = c.api.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return "", false, err
		}
		for _, m := range page.Messages {
			if carries(m.Metadata, ref) {
				return channel + "/" + m.Timestamp, true, nil
			}
		}
		if !page.HasMore || page.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = page.ResponseMetaData.NextCursor
	}
	return "", false, nil
}

// carries says whether a message's metadata names the alert.
func carries(md slack.SlackMetadata, alertID string) bool {
	if md.EventType != MetadataEventType {
		return false
	}
	ids, _ := md.EventPayload["alert_ids"].([]any)
	return slices.ContainsFunc(ids, func(v any) bool { s, _ := v.(string); return s == alertID })
}

// Update replaces a message's blocks (chat.update,
// https://docs.slack.dev/reference/methods/chat.update/; scope chat:write).
func (c *Client) Update(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	return call(ctx, "chat.update", false, func(ctx context.Context) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
}

// Redacted is what a message says once Redact has run.
const Redacted = "This alert was removed: the candidate's data was erased."

// Redact replaces a posted message (its id as Post returns it) with Redacted and no
// blocks (chat.update), for an erasure. A message Slack no longer has is a Permanent
// error (message_not_found).
func (c *Client) Redact(ctx context.Context, providerID string) error {
	channel, ts, ok := strings.Cut(providerID, "/")
	if !ok || channel == "" || ts == "" {
		return &Error{Kind: alerts.Permanent, Op: "chat.update", Err: fmt.Errorf("%q is not a Slack message id", providerID)}
	}
	return c.Update(ctx, channel, ts, Redacted, nil)
}

// Ephemeral answers a click with a message only the clicking user sees, through the
// interaction's response_url
// (https://docs.slack.dev/interactivity/handling-user-interaction/#message_responses).
func (c *Client) Ephemeral(ctx context.Context, responseURL, text string) error {
	return call(ctx, "response_url", false, func(ctx context.Context) error {
		return slack.PostWebhookCustomHTTPContext(ctx, responseURL, c.http, &slack.WebhookMessage{
			Text: text, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: false,
		})
	})
}
