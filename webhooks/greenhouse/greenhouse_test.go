package greenhouse

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// TestGolden maps every fixture and compares the result with its .golden.json.
func TestGolden(t *testing.T) { webhookstest.Golden(t, Receiver{}) }

// TestGoldenItemsValidate checks that every mapped item of every golden file passes
// Input.Validate, and that only valid outcomes are recorded.
func TestGoldenItemsValidate(t *testing.T) { webhookstest.GoldenItemsValidate(t, "greenhouse") }

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
		// Not JSON.
		{"greenhouse not json", Receiver{}, nil, "action=ping"},
		// A JSON array, not an object.
		{"greenhouse array", Receiver{}, nil, `[{"action":"ping"}]`},
		// No action.
		{"greenhouse no action", Receiver{}, nil, `{"payload":{}}`},
		// A mapped event without its application.
		{"greenhouse no application", Receiver{}, nil, `{"action":"reject_candidate","payload":{}}`},
		// An application without a candidate id.
		{"greenhouse no candidate", Receiver{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":1}}}`},
		// An id of the wrong JSON type.
		{"greenhouse object id", Receiver{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":{},"candidate":{"id":2}}}}`},
		// An id longer than interactions accept.
		{"greenhouse long id", Receiver{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":"` + strings.Repeat("9", 250) + `","candidate":{"id":2}}}}`},
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
		{Receiver{}, `{"action":"job_created","payload":{"job":{"id":1}}}`}, // a job event
	} {
		d, err := c.r.Parse(http.Header{}, []byte(c.body), webhookstest.Now)
		if err != nil || d.Ignored == "" || len(d.Items) > 0 {
			t.Errorf("%s %s: got %+v, %v; want ignored", c.r.Source(), c.body, d, err)
		}
	}
}

func FuzzGreenhouseParse(f *testing.F) {
	webhookstest.AddFixtures(f)
	webhookstest.FuzzParse(f, Receiver{}, webhookstest.Hdr("Greenhouse-Event-ID", "1"))
}

func FuzzGreenhouseSignatureHeader(f *testing.F) {
	webhookstest.FuzzHeader(f, Receiver{}, "Signature", "sha256 "+webhookstest.HexMAC(webhookstest.SecretB, "x"), "sha256", "sha256  ", "", "sha1 00")
}

func TestGreenhouseVerify(t *testing.T) {
	body := webhookstest.ReadFixture(t, "testdata/candidate_stage_change.json")
	good := "sha256 " + webhookstest.HexMAC(webhookstest.SecretA, string(body))
	runSigCases(t, Receiver{}, webhookstest.Now, []sigCase{
		// The documented form, "sha256 <hex>".
		{"good", webhookstest.Hdr("Signature", good), body, []string{webhookstest.SecretA}, nil},
		// Signed with a secret we do not have.
		{"wrong secret", webhookstest.Hdr("Signature", good), body, []string{webhookstest.SecretB}, webhooks.ErrBadSignature},
		// The second secret of a rotation list matches.
		{"second secret", webhookstest.Hdr("Signature", good), body, []string{webhookstest.SecretB, webhookstest.SecretA}, nil},
		// No Signature header at all.
		{"missing header", webhookstest.Hdr(), body, []string{webhookstest.SecretA}, webhooks.ErrMissingSignature},
		// The body was changed after signing.
		{"tampered body", webhookstest.Hdr("Signature", good), append([]byte(" "), body...), []string{webhookstest.SecretA}, webhooks.ErrBadSignature},
		// base64 instead of hex.
		{"base64 encoding", webhookstest.Hdr("Signature", "sha256 "+webhookstest.B64MAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature},
		// Another algorithm name.
		{"sha1 prefix", webhookstest.Hdr("Signature", "sha1 "+webhookstest.HexMAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature},
		// Nothing configured: the source accepts nothing.
		{"no secret", webhookstest.Hdr("Signature", good), body, nil, webhooks.ErrNoSecret},
		// Upper-case hex is still hex.
		{"upper-case hex", webhookstest.Hdr("Signature", "sha256 "+hexUpper(webhookstest.HexMAC(webhookstest.SecretA, string(body)))), body, []string{webhookstest.SecretA}, nil},
	})
}

func hexUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
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
