package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// MaxSkew is how far a request's X-Slack-Request-Timestamp may be from now: older
// (or newer) requests are refused, so that a recorded click cannot be replayed.
const MaxSkew = 5 * time.Minute

// Errors of Verify.
var (
	ErrStale        = errors.New("slack: the request timestamp is missing or more than 5 minutes from now")
	ErrBadSignature = errors.New("slack: the request signature does not match")
)

// Verify checks that a request comes from Slack
// (https://api.slack.com/docs/verifying-requests-from-slack): its X-Slack-Signature is
// "v0=" and the hex HMAC-SHA256, keyed with the app's signing secret, of
// "v0:<X-Slack-Request-Timestamp>:<body>", and the timestamp is within MaxSkew of now.
// The body must be the raw bytes received.
func Verify(h http.Header, body []byte, secret string, now time.Time) error {
	tsText := h.Get("X-Slack-Request-Timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	if secret == "" || !hmac.Equal([]byte(h.Get("X-Slack-Signature")), []byte(Sign(secret, tsText, body))) {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the X-Slack-Signature Slack sends with body at the timestamp ts (Unix
// seconds, as in X-Slack-Request-Timestamp).
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// The verbs of a click.
const (
	VerbAck    = "ack"
	VerbSnooze = "snooze"
)

// Click is a click on one of the buttons of an alert message (a block_actions
// interaction payload,
// https://docs.slack.dev/reference/interaction-payloads/block_actions-payload/).
type Click struct {
	UserID  string        // the Slack user who clicked
	AlertID string        // the button's value
	Verb    string        // VerbAck or VerbSnooze
	For     time.Duration // how long a snooze lasts
	// Where the message is, and what it showed: Acted rewrites its blocks.
	ChannelID, MessageTS, BlockID string
	Blocks                        []slack.Block
	// ResponseURL answers the click with a message only the clicker sees.
	ResponseURL string
}

// ErrNotAClick: the payload is not a click on an alert's button (another kind of
// interaction, or another button): it is answered and ignored.
var ErrNotAClick = errors.New("slack: not a click on an alert's button")

// ParseClick reads an interaction request's body, the form field "payload" holding
// the JSON payload. A payload that cannot be read is an error; one that is not a
// click on an alert button is ErrNotAClick.
func ParseClick(body []byte) (Click, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Click{}, fmt.Errorf("slack: the body is not a form: %w", err)
	}
	raw := form.Get("payload")
	if raw == "" {
		return Click{}, errors.New("slack: the form has no payload")
	}
	var p slack.InteractionCallback
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return Click{}, fmt.Errorf("slack: the payload is not an interaction: %w", err)
	}
	if p.Type != slack.InteractionTypeBlockActions || len(p.ActionCallback.BlockActions) == 0 || p.User.ID == "" {
		return Click{}, ErrNotAClick
	}
	a := p.ActionCallback.BlockActions[0]
	c := Click{
		UserID: p.User.ID, AlertID: a.Value, BlockID: a.BlockID, ResponseURL: p.ResponseURL,
		ChannelID: p.Container.ChannelID, MessageTS: p.Container.MessageTs, Blocks: p.Message.Blocks.BlockSet,
	}
	if c.ChannelID == "" {
		c.ChannelID = p.Channel.ID
	}
	if c.MessageTS == "" {
		c.MessageTS = p.Message.Timestamp
	}
	switch a.ActionID {
	case ActionAck:
		c.Verb = VerbAck
	case ActionSnooze1h:
		c.Verb, c.For = VerbSnooze, time.Hour
	case ActionSnooze1d:
		c.Verb, c.For = VerbSnooze, 24*time.Hour
	default:
		return Click{}, ErrNotAClick
	}
	if strings.TrimSpace(c.AlertID) == "" {
		return Click{}, ErrNotAClick
	}
	return c, nil
}
