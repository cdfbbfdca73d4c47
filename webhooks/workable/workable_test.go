package workable

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// TestGolden maps every fixture and compares the result with its .golden.json.
func TestGolden(t *testing.T) { webhookstest.Golden(t, Receiver{Label: "candidate_moved"}) }

// TestGoldenItemsValidate checks that every mapped item of every golden file passes
// Input.Validate, and that only valid outcomes are recorded.
func TestGoldenItemsValidate(t *testing.T) { webhookstest.GoldenItemsValidate(t, "workable") }

// TestRedeliverySameKeys parses every fixture twice at different arrival times and
// checks that the idempotency keys do not change.
func TestRedeliverySameKeys(t *testing.T) {
	webhookstest.RedeliverySameKeys(t, Receiver{Label: "candidate_moved"})
}

// TestParseMalformed checks that bodies no vendor could have sent are refused with
// ErrMalformedBody (the HTTP layer answers 400).
func TestParseMalformed(t *testing.T) {
	for _, c := range []struct {
		name string
		r    webhooks.Receiver
		h    http.Header
		body string
	}{
		// Workable without an event type or a label naming one.
		{"workable no event", Receiver{}, nil, `{"data":{"id":"x"}}`},
		// Workable without the candidate.
		{"workable no data", Receiver{}, nil, `{"event_type":"candidate_created"}`},
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
		{Receiver{}, `{"event_type":"employee_created","data":{"id":"e"}}`}, // an employee event
	} {
		d, err := c.r.Parse(http.Header{}, []byte(c.body), webhookstest.Now)
		if err != nil || d.Ignored == "" || len(d.Items) > 0 {
			t.Errorf("%s %s: got %+v, %v; want ignored", c.r.Source(), c.body, d, err)
		}
	}
}

func FuzzWorkableParse(f *testing.F) {
	webhookstest.AddFixtures(f)
	webhookstest.FuzzParse(f, Receiver{Label: "candidate_moved"}, nil)
}

func FuzzWorkableSignatureHeader(f *testing.F) {
	webhookstest.FuzzHeader(f, Receiver{}, "X-Workable-Signature", webhookstest.HexMAC(webhookstest.SecretB, "x"), "00", "g")
}

func TestWorkableVerify(t *testing.T) {
	body := webhookstest.ReadFixture(t, "testdata/candidate_moved.json")
	good := webhookstest.HexMAC(webhookstest.SecretA, string(body))
	runSigCases(t, Receiver{}, webhookstest.Now, []sigCase{
		// Hex HMAC-SHA256 of the body.
		{"good", webhookstest.Hdr("X-Workable-Signature", good), body, []string{webhookstest.SecretA}, nil},
		// Signed with another account token.
		{"wrong secret", webhookstest.Hdr("X-Workable-Signature", good), body, []string{webhookstest.SecretB}, webhooks.ErrBadSignature},
		// The second token of a list matches.
		{"second secret", webhookstest.Hdr("X-Workable-Signature", good), body, []string{webhookstest.SecretB, webhookstest.SecretA}, nil},
		// No X-Workable-Signature header.
		{"missing header", webhookstest.Hdr(), body, []string{webhookstest.SecretA}, webhooks.ErrMissingSignature},
		// The body was changed after signing.
		{"tampered body", webhookstest.Hdr("X-Workable-Signature", good), body[1:], []string{webhookstest.SecretA}, webhooks.ErrBadSignature},
		// base64 instead of hex.
		{"base64 encoding", webhookstest.Hdr("X-Workable-Signature", webhookstest.B64MAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature},
		// Nothing configured.
		{"no secret", webhookstest.Hdr("X-Workable-Signature", good), body, nil, webhooks.ErrNoSecret},
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
