package ashby

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// TestGolden maps every fixture and compares the result with its .golden.json.
func TestGolden(t *testing.T) { webhookstest.Golden(t, Receiver{}) }

// TestGoldenItemsValidate checks that every mapped item of every golden file passes
// Input.Validate, and that only valid outcomes are recorded.
func TestGoldenItemsValidate(t *testing.T) { webhookstest.GoldenItemsValidate(t, "ashby") }

// TestRedeliverySameKeys parses every fixture twice at different arrival times and
// checks that the idempotency keys do not change.
func TestRedeliverySameKeys(t *testing.T) { webhookstest.RedeliverySameKeys(t, Receiver{}) }

// TestParseMalformed checks that bodies no vendor could have sent are refused with
// ErrMalformedBody (the HTTP layer answers 400).
func TestParseMalformed(t *testing.T) {
	for _, c := range []struct {
		name string
		r    webhooks.Receiver
		h    http.Header
		body string
	}{
		// Ashby without an action.
		{"ashby no action", Receiver{}, nil, `{"data":{}}`},
		// Ashby application event without its application.
		{"ashby no application", Receiver{}, nil, `{"action":"candidateHire","data":{}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := c.h
			if h == nil {
				h = http.Header{}
			}
			d, err := c.r.Parse(h, []byte(c.body), webhookstest.Now)
			if !errors.Is(err, webhooks.ErrMalformedBody) {
				t.Fatalf("Parse: err %v, want ErrMalformedBody", err)
			}
			if len(d.Items) != 0 {
				t.Fatalf("Parse returned items with an error: %+v", d.Items)
			}
		})
	}
}

// TestUnknownEvents checks that valid but unknown events are ignored with a reason.
func TestUnknownEvents(t *testing.T) {
	for _, c := range []struct {
		r    webhooks.Receiver
		body string
	}{
		{Receiver{}, `{"action":"jobPostingPublish","data":{}}`},                                                       // a posting event
		{Receiver{}, `{"action":"interviewScheduleUpdate","data":{"interviewSchedule":{"status":"NeedsScheduling"}}}`}, // not yet scheduled
	} {
		d, err := c.r.Parse(http.Header{}, []byte(c.body), webhookstest.Now)
		if err != nil || d.Ignored == "" || len(d.Items) > 0 {
			t.Errorf("%s %s: got %+v, %v; want ignored", c.r.Source(), c.body, d, err)
		}
	}
}

func FuzzAshbyParse(f *testing.F) {
	webhookstest.AddFixtures(f)
	webhookstest.FuzzParse(f, Receiver{}, nil)
}

func FuzzAshbySignatureHeader(f *testing.F) {
	webhookstest.FuzzHeader(f, Receiver{}, "Ashby-Signature", "sha256="+webhookstest.HexMAC(webhookstest.SecretB, "x"), "sha256=", "=", "sha256=zz")
}

func TestAshbyVerify(t *testing.T) {
	body := webhookstest.ReadFixture(t, "testdata/candidateStageChange.json")
	good := "sha256=" + webhookstest.HexMAC(webhookstest.SecretA, string(body))
	runSigCases(t, Receiver{}, webhookstest.Now, []sigCase{
		// The documented form, "sha256=<hex>".
		{"good", webhookstest.Hdr("Ashby-Signature", good), body, []string{webhookstest.SecretA}, nil},
		// Signed with a secret we do not have.
		{"wrong secret", webhookstest.Hdr("Ashby-Signature", good), body, []string{webhookstest.SecretB}, webhooks.ErrBadSignature},
		// The second secret (another webhook's) matches.
		{"second secret", webhookstest.Hdr("Ashby-Signature", good), body, []string{webhookstest.SecretB, webhookstest.SecretA}, nil},
		// No Ashby-Signature header.
		{"missing header", webhookstest.Hdr(), body, []string{webhookstest.SecretA}, webhooks.ErrMissingSignature},
		// The body was changed after signing.
		{"tampered body", webhookstest.Hdr("Ashby-Signature", good), []byte(string(body) + "\n"), []string{webhookstest.SecretA}, webhooks.ErrBadSignature},
		// base64 instead of hex.
		{"base64 encoding", webhookstest.Hdr("Ashby-Signature", "sha256="+webhookstest.B64MAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature},
		// The hex without the algorithm prefix.
		{"no prefix", webhookstest.Hdr("Ashby-Signature", webhookstest.HexMAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature},
		// Nothing configured.
		{"no secret", webhookstest.Hdr("Ashby-Signature", good), body, []string{""}, webhooks.ErrNoSecret},
	})
}

// sigCase is one signature check: headers and body as sent, the configured secrets,
// and the error expected (nil for success).
type sigCase struct {
	name    string
	header  http.Header
	body    []byte
	secrets []string
	want    error
}

func runSigCases(t *testing.T, r webhooks.Receiver, now time.Time, cases []sigCase) {
	t.Helper()
	for _, c := range cases {
		webhookstest.Verify(t, r, now, c.name, c.header, c.body, c.secrets, c.want)
	}
}
