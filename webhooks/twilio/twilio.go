// Package twilio receives Twilio's webhooks: inbound SMS, routed by sender to a
// recruiter's alert command or a candidate's message, and the delivery status of SMS
// goodwill sent (see Receiver). Sending SMS is alerts/twilio's.
package twilio

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// InboundSMS is what goodwill reads of Twilio's incoming-message webhook (an
// application/x-www-form-urlencoded POST).
type InboundSMS struct {
	MessageSid string // "SM…", Twilio's id of the message
	From       string // the sender, E.164
	To         string // our Twilio number, E.164
	Body       string // the text, as sent
}

// maxSidBytes bounds a Twilio message id (they have 34 characters): it becomes a key.
const maxSidBytes = 64

// Sid reports whether sid can be a Twilio message id: printable, without spaces,
// at most 64 bytes.
func Sid(sid string) bool {
	return sid != "" && len(sid) <= maxSidBytes && sid == webhooks.CleanLine(sid) && !strings.Contains(sid, " ")
}

// ParseInboundSMS reads Twilio's incoming-message form. The error wraps
// ErrMalformedBody when MessageSid or From is missing, or MessageSid is not an id.
func ParseInboundSMS(form url.Values) (InboundSMS, error) {
	m := InboundSMS{
		MessageSid: strings.TrimSpace(form.Get("MessageSid")),
		From:       strings.TrimSpace(form.Get("From")),
		To:         strings.TrimSpace(form.Get("To")),
		Body:       form.Get("Body"),
	}
	if m.MessageSid == "" {
		m.MessageSid = strings.TrimSpace(form.Get("SmsSid")) // older name of the same field
	}
	switch {
	case m.MessageSid == "":
		return m, webhooks.Malformed("MessageSid is missing")
	case !Sid(m.MessageSid):
		return m, webhooks.Malformed("MessageSid is not a Twilio id (printable, at most %d bytes)", maxSidBytes)
	case m.From == "":
		return m, webhooks.Malformed("From is missing")
	}
	return m, nil
}

var commandCodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,31}$`)

// ParseCommand recognises a recruiter's reply: "ACK", "ACK <code>", "SNOOZE <duration>"
// or "SNOOZE <duration> <code>", in any case, with surrounding spaces and a trailing
// "." or "!" allowed. Durations are the API's ("30m", "2h", "1d"), not zero. Anything
// else is not a command (ok false): the caller treats it as an ordinary message.
func ParseCommand(body string) (cmd webhooks.Command, ok bool) {
	words := strings.Fields(strings.TrimRight(strings.TrimSpace(body), ".!"))
	if len(words) == 0 || len(words) > 3 {
		return webhooks.Command{}, false
	}
	code := func(s string) (string, bool) {
		s = strings.TrimPrefix(s, "#")
		if !commandCodeRE.MatchString(s) {
			return "", false
		}
		return strings.ToUpper(s), true
	}
	switch strings.ToUpper(words[0]) {
	case "ACK":
		switch len(words) {
		case 1:
			return webhooks.Command{Verb: "ack"}, true
		case 2:
			if c, ok := code(words[1]); ok {
				return webhooks.Command{Verb: "ack", Code: c}, true
			}
		}
	case "SNOOZE":
		if len(words) < 2 {
			return webhooks.Command{}, false
		}
		dur := strings.ToLower(words[1])
		d, err := interactions.ParseDuration(dur)
		if err != nil || (d.Days == 0 && d.Rest == 0) {
			return webhooks.Command{}, false
		}
		cmd = webhooks.Command{Verb: "snooze", For: dur}
		if len(words) == 3 {
			c, ok := code(words[2])
			if !ok {
				return webhooks.Command{}, false
			}
			cmd.Code = c
		}
		return cmd, true
	}
	return webhooks.Command{}, false
}

// Verify reports whether signature (the X-Twilio-Signature header) is Twilio's
// signature of a form POST to rawURL: base64(HMAC-SHA1(authToken, rawURL followed by
// each form key and its value, keys sorted)), per twilio.com/docs/usage/security. It
// uses twilio-go's client.RequestValidator, which also tries the URL with its default
// port added and removed, and takes the first value of a repeated key. rawURL must be
// the public URL Twilio called (GOODWILL_PUBLIC_URL + path, with any query string).
func Verify(authToken, rawURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			params[k] = vs[0]
		}
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(rawURL, params, strings.TrimSpace(signature))
}
