package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/google/go-cmp/cmp"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		body string
		want webhooks.Command
		ok   bool
	}{
		{"ACK", webhooks.Command{Verb: "ack"}, true},                                              // the latest alert
		{"ack", webhooks.Command{Verb: "ack"}, true},                                              // any case
		{"  Ack.\n", webhooks.Command{Verb: "ack"}, true},                                         // spaces and a full stop
		{"ack 7F3K", webhooks.Command{Verb: "ack", Code: "7F3K"}, true},                           // a named alert
		{"ACK 7f3k!", webhooks.Command{Verb: "ack", Code: "7F3K"}, true},                          // code upper-cased, "!" dropped
		{"ACK #7F3K", webhooks.Command{Verb: "ack", Code: "7F3K"}, true},                          // "#" before the code
		{"SNOOZE 2h", webhooks.Command{Verb: "snooze", For: "2h"}, true},                          // the latest alert, 2 hours
		{"snooze 1D", webhooks.Command{Verb: "snooze", For: "1d"}, true},                          // units in any case
		{"Snooze 1h30m 7F3K", webhooks.Command{Verb: "snooze", For: "1h30m", Code: "7F3K"}, true}, // a named alert
		{"SNOOZE", webhooks.Command{}, false},                                                     // no duration
		{"SNOOZE 0s", webhooks.Command{}, false},                                                  // zero is no snooze
		{"SNOOZE two hours", webhooks.Command{}, false},                                           // not a duration
		{"SNOOZE 2", webhooks.Command{}, false},                                                   // a number without unit
		{"ACK 7F3K please", webhooks.Command{}, false},                                            // extra words: a message
		{"ACK ✓", webhooks.Command{}, false},                                                      // not a code
		{"acknowledged", webhooks.Command{}, false},                                               // not the keyword
		{"Thanks, will call her tomorrow", webhooks.Command{}, false},                             // an ordinary reply
		{"", webhooks.Command{}, false},                                                           // empty
		{"STOP", webhooks.Command{}, false},                                                       // Twilio's keyword, not ours
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
			if (err != nil) != c.err || (err != nil && !errors.Is(err, webhooks.ErrMalformedBody)) {
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
		if got := Verify(c.token, c.url, c.form, c.sig); got != c.want {
			t.Errorf("%s: VerifyTwilio = %v, want %v", c.name, got, c.want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"ACK", "ack 7F3K", "SNOOZE 2h", "snooze 1d2h 7f3k", "ACK #", "SNOOZE 99999999d", "  .!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, ok := ParseCommand(body)
		if !ok {
			if c != (webhooks.Command{}) {
				t.Fatalf("not a command but %+v", c)
			}
			return
		}
		switch c.Verb {
		case "ack":
			if c.For != "" {
				t.Fatalf("ack with a duration: %+v", c)
			}
		case "snooze":
			if c.For == "" {
				t.Fatalf("snooze without a duration: %+v", c)
			}
		default:
			t.Fatalf("verb %q", c.Verb)
		}
		if len(c.Code) > 32 {
			t.Fatalf("code %q", c.Code)
		}
	})
}

// FuzzParseInboundSMS reads arbitrary form bodies as Twilio's incoming-message
// webhook: no panic, errors only of the malformed kind, and a parsed message always
// has its id and sender.
func FuzzParseInboundSMS(f *testing.F) {
	for _, s := range []string{
		"MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155550100&To=%2B14155550199&Body=ACK+7F3K",
		"SmsSid=SM9&From=%2B14155550100&Body=SNOOZE+2h",
		"From=%2B14155550100", "MessageSid=&From=", "%zz", "MessageSid=SM1&MessageSid=SM2&From=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // answered 400 before parsing
		}
		m, err := ParseInboundSMS(form)
		if err != nil {
			if !errors.Is(err, webhooks.ErrMalformedBody) {
				t.Fatalf("error %v does not wrap ErrMalformedBody", err)
			}
			return
		}
		if m.MessageSid == "" || m.From == "" {
			t.Fatalf("parsed without id or sender: %+v", m)
		}
		ParseCommand(m.Body)
	})
}

// FuzzVerifyTwilio checks X-Twilio-Signature on arbitrary headers and form values:
// no panic, and nothing verifies but the signature of the exact URL and form under
// the token.
func FuzzVerifyTwilio(f *testing.F) {
	const token = "fuzztoken0123456789"
	const u = "https://goodwill.example.com/webhooks/twilio/sms"
	form := url.Values{"MessageSid": {"SM1"}, "From": {"+14155550100"}, "Body": {"ACK"}}
	good := twilioSign(token, u, form)
	f.Add(good, "ACK")
	f.Add("", "")
	f.Add("not base64!", "ACK")
	f.Add(good[:len(good)-2], "ACK")
	f.Add(good, "SNOOZE 1d")
	f.Fuzz(func(t *testing.T, sig, body string) {
		fm := url.Values{"MessageSid": {"SM1"}, "From": {"+14155550100"}, "Body": {body}}
		ok := Verify(token, u, fm, sig)
		if want := twilioSign(token, u, fm); ok && sig != want && strings.TrimSpace(sig) != want {
			t.Fatalf("signature %q verified; Twilio's is %q", sig, want)
		}
		if Verify("", u, fm, sig) {
			t.Fatal("verified without a token")
		}
	})
}
