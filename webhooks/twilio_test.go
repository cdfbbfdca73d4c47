package webhooks

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		body string
		want Command
		ok   bool
	}{
		{"ACK", Command{Verb: "ack"}, true},                                              // the latest alert
		{"ack", Command{Verb: "ack"}, true},                                              // any case
		{"  Ack.\n", Command{Verb: "ack"}, true},                                         // spaces and a full stop
		{"ack 7F3K", Command{Verb: "ack", Code: "7F3K"}, true},                           // a named alert
		{"ACK 7f3k!", Command{Verb: "ack", Code: "7F3K"}, true},                          // code upper-cased, "!" dropped
		{"ACK #7F3K", Command{Verb: "ack", Code: "7F3K"}, true},                          // "#" before the code
		{"SNOOZE 2h", Command{Verb: "snooze", For: "2h"}, true},                          // the latest alert, 2 hours
		{"snooze 1D", Command{Verb: "snooze", For: "1d"}, true},                          // units in any case
		{"Snooze 1h30m 7F3K", Command{Verb: "snooze", For: "1h30m", Code: "7F3K"}, true}, // a named alert
		{"SNOOZE", Command{}, false},                                                     // no duration
		{"SNOOZE 0s", Command{}, false},                                                  // zero is no snooze
		{"SNOOZE two hours", Command{}, false},                                           // not a duration
		{"SNOOZE 2", Command{}, false},                                                   // a number without unit
		{"ACK 7F3K please", Command{}, false},                                            // extra words: a message
		{"ACK ✓", Command{}, false},                                                      // not a code
		{"acknowledged", Command{}, false},                                               // not the keyword
		{"Thanks, will call her tomorrow", Command{}, false},                             // an ordinary reply
		{"", Command{}, false},                                                           // empty
		{"STOP", Command{}, false},                                                       // Twilio's keyword, not ours
	} {
		got, ok := ParseCommand(c.body)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v, %v", c.body, got, ok, c.want, c.ok)
		}
	}
}

func TestParseInboundSMS(t *testing.T) {
	for _, c := range []struct {
		name string
		form url.Values
		want InboundSMS
		err  bool
	}{
		// Twilio's fields.
		{"full", url.Values{"MessageSid": {"SM123"}, "From": {"+14155550100"}, "To": {"+14155550199"}, "Body": {"ACK"}, "AccountSid": {"AC1"}},
			InboundSMS{MessageSid: "SM123", From: "+14155550100", To: "+14155550199", Body: "ACK"}, false},
		// The older SmsSid name.
		{"sms sid", url.Values{"SmsSid": {"SM9"}, "From": {"+14155550100"}, "Body": {" hi "}},
			InboundSMS{MessageSid: "SM9", From: "+14155550100", Body: " hi "}, false},
		// No sender.
		{"no from", url.Values{"MessageSid": {"SM1"}}, InboundSMS{MessageSid: "SM1"}, true},
		// No message id.
		{"no sid", url.Values{"From": {"+14155550100"}}, InboundSMS{From: "+14155550100"}, true},
		// A message id too long to be Twilio's.
		{"long sid", url.Values{"MessageSid": {strings.Repeat("S", 65)}, "From": {"+14155550100"}},
			InboundSMS{MessageSid: strings.Repeat("S", 65), From: "+14155550100"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseInboundSMS(c.form)
			if (err != nil) != c.err || (err != nil && !errors.Is(err, ErrMalformedBody)) {
				t.Fatalf("err %v, want error %v", err, c.err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// twilioSign computes X-Twilio-Signature as Twilio documents it
// (twilio.com/docs/usage/security): the full URL, then each POST parameter's name and
// value with names in alphabetical order, HMAC-SHA1 under the auth token, base64.
func twilioSign(token, u string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := u
	for _, k := range keys {
		s += k + form.Get(k)
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifyTwilio(t *testing.T) {
	const token = "12345"
	const u = "https://goodwill.example.com/webhooks/twilio/sms"
	form := url.Values{
		"MessageSid": {"SM0123456789abcdef0123456789abcdef"},
		"AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"From":       {"+14155550100"},
		"To":         {"+14155550199"},
		"Body":       {"ACK 7F3K"},
		"NumMedia":   {"0"},
	}
	good := twilioSign(token, u, form)
	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("Body", "SNOOZE 1d")
	for _, c := range []struct {
		name  string
		token string
		url   string
		form  url.Values
		sig   string
		want  bool
	}{
		{"good", token, u, form, good, true},                                                               // as Twilio signs it
		{"wrong token", "54321", u, form, good, false},                                                     // another account
		{"tampered form", token, u, tampered, good, false},                                                 // body changed
		{"other url", token, "https://goodwill.example.com/webhooks/twilio/status", form, good, false},     // another path
		{"explicit port", token, "https://goodwill.example.com:443/webhooks/twilio/sms", form, good, true}, // default port added by a proxy
		{"hex signature", token, u, form, "0123abcd", false},                                               // not base64 of a SHA-1
		{"empty signature", token, u, form, "", false},                                                     // header missing
		{"empty token", "", u, form, good, false},                                                          // Twilio not configured
	} {
		if got := VerifyTwilio(c.token, c.url, c.form, c.sig); got != c.want {
			t.Errorf("%s: VerifyTwilio = %v, want %v", c.name, got, c.want)
		}
	}
}
