package webhooks

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// farFuture validates fuzzed items without the "not in the future" rule, which depends
// on the vendor's clock rather than on the mapping.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// addFixtures seeds f with the testdata payloads of vendor.
func addFixtures(f *testing.F, vendor string) {
	f.Helper()
	for _, p := range fixtures(f, vendor) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
}

// fuzzParse checks a vendor's Parse on arbitrary bodies: no panic, errors only of the
// malformed kind and without items, and every item it maps passes Input.Validate.
func fuzzParse(f *testing.F, r Receiver, h http.Header) {
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := r.Parse(h, body, testNow)
		if err != nil {
			if !errors.Is(err, ErrMalformedBody) {
				t.Fatalf("Parse error %v does not wrap ErrMalformedBody", err)
			}
			if len(d.Items) > 0 {
				t.Fatalf("Parse returned %d items with an error", len(d.Items))
			}
			return
		}
		if len(d.Items) > maxItems {
			t.Fatalf("%d items", len(d.Items))
		}
		if (len(d.Items) > 0) == (d.Ping || d.Ignored != "") {
			t.Fatalf("items=%d ping=%v ignored=%q", len(d.Items), d.Ping, d.Ignored)
		}
		if r.Source() == "standard" {
			return // Standard leaves semantic validation to the caller, like POST /v1/interactions
		}
		for i, in := range d.Items {
			if _, errs := in.Validate("", farFuture); len(errs) > 0 {
				t.Fatalf("item %d does not validate: %+v\n%+v", i, errs, in)
			}
			if in.ExternalID == "" {
				t.Fatalf("item %d has no external_id", i)
			}
		}
	})
}

func FuzzGreenhouseParse(f *testing.F) {
	addFixtures(f, "greenhouse")
	fuzzParse(f, Greenhouse{}, hdr("Greenhouse-Event-ID", "1"))
}

func FuzzLeverParse(f *testing.F) {
	addFixtures(f, "lever")
	fuzzParse(f, Lever{}, nil)
}

func FuzzAshbyParse(f *testing.F) {
	addFixtures(f, "ashby")
	fuzzParse(f, Ashby{}, nil)
}

func FuzzWorkableParse(f *testing.F) {
	addFixtures(f, "workable")
	fuzzParse(f, Workable{Label: "candidate_moved"}, nil)
}

func FuzzStandardParse(f *testing.F) {
	addFixtures(f, "standard")
	fuzzParse(f, Standard{}, hdr("webhook-id", "msg_fuzz"))
}

// fuzzHeader checks a header-signed vendor's Verify on arbitrary header values: no
// panic, only the documented errors, and never success for a value not made with the
// secret.
func fuzzHeader(f *testing.F, r Receiver, name string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	body := []byte(`{"action":"ping"}`)
	f.Fuzz(func(t *testing.T, v string) {
		err := r.Verify(hdr(name, v), body, []string{secretA}, testNow)
		switch {
		case err == nil:
			t.Fatalf("%s %q verified without the secret's signature", name, v)
		case errors.Is(err, ErrMissingSignature), errors.Is(err, ErrMalformedSignature), errors.Is(err, ErrBadSignature):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzGreenhouseSignatureHeader(f *testing.F) {
	fuzzHeader(f, Greenhouse{}, "Signature", "sha256 "+hexMAC(secretB, "x"), "sha256", "sha256  ", "", "sha1 00")
}

func FuzzAshbySignatureHeader(f *testing.F) {
	fuzzHeader(f, Ashby{}, "Ashby-Signature", "sha256="+hexMAC(secretB, "x"), "sha256=", "=", "sha256=zz")
}

func FuzzWorkableSignatureHeader(f *testing.F) {
	fuzzHeader(f, Workable{}, "X-Workable-Signature", hexMAC(secretB, "x"), "00", "g")
}

// FuzzLeverVerify feeds arbitrary bodies to Lever's in-body signature check.
func FuzzLeverVerify(f *testing.F) {
	addFixtures(f, "lever")
	f.Add(leverBodyAt(secretB, testNow, hexMAC))
	f.Add([]byte(`{"token":"t","triggeredAt":"1","signature":"00"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		err := Lever{}.Verify(nil, body, []string{secretA}, testNow)
		switch {
		case err == nil:
			t.Fatalf("a body verified without the secret's signature: %s", body)
		case errors.Is(err, ErrMissingSignature), errors.Is(err, ErrMalformedSignature),
			errors.Is(err, ErrBadSignature), errors.Is(err, ErrStaleTimestamp):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzStandardSignatureHeader feeds arbitrary webhook-signature values to the parser
// and to Verify.
func FuzzStandardSignatureHeader(f *testing.F) {
	body := []byte(`{"application_id":"a"}`)
	h := standardHeaders(standardKeyB, "msg_1", testNow, body)
	f.Add(h.Get("webhook-signature"))
	f.Add("v1,")
	f.Add("v1a,abc v1,AAAA v2,xyz")
	f.Add(",,, v1,,")
	f.Fuzz(func(t *testing.T, v string) {
		sigs, err := StandardSignatures(v)
		if err != nil && !errors.Is(err, ErrMalformedSignature) {
			t.Fatalf("unexpected error %v", err)
		}
		if len(sigs) > maxSignatures {
			t.Fatalf("%d signatures read", len(sigs))
		}
		hh := h.Clone()
		hh.Set("webhook-signature", v)
		if (Standard{}).Verify(hh, body, []string{standardSecretA}, testNow) == nil {
			t.Fatalf("webhook-signature %q verified without the secret's signature", v)
		}
	})
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"ACK", "ack 7F3K", "SNOOZE 2h", "snooze 1d2h 7f3k", "ACK #", "SNOOZE 99999999d", "  .!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, ok := ParseCommand(body)
		if !ok {
			if c != (Command{}) {
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
			if !errors.Is(err, ErrMalformedBody) {
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
		ok := VerifyTwilio(token, u, fm, sig)
		if want := twilioSign(token, u, fm); ok && sig != want && strings.TrimSpace(sig) != want {
			t.Fatalf("signature %q verified; Twilio's is %q", sig, want)
		}
		if VerifyTwilio("", u, fm, sig) {
			t.Fatal("verified without a token")
		}
	})
}
