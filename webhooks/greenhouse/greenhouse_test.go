package greenhouse

import (
	"strings"
	"testing"

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
	webhookstest.ParseMalformed(t, []webhookstest.Malformed{
		// Not JSON.
		webhookstest.Bad("greenhouse not json", Receiver{}, nil, "action=ping"),
		// A JSON array, not an object.
		webhookstest.Bad("greenhouse array", Receiver{}, nil, `[{"action":"ping"}]`),
		// No action.
		webhookstest.Bad("greenhouse no action", Receiver{}, nil, `{"payload":{}}`),
		// A mapped event without its application.
		webhookstest.Bad("greenhouse no application", Receiver{}, nil, `{"action":"reject_candidate","payload":{}}`),
		// An application without a candidate id.
		webhookstest.Bad("greenhouse no candidate", Receiver{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":1}}}`),
		// An id of the wrong JSON type.
		webhookstest.Bad("greenhouse object id", Receiver{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":{},"candidate":{"id":2}}}}`),
		// An id longer than interactions accept.
		webhookstest.Bad("greenhouse long id", Receiver{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":"`+strings.Repeat("9", 250)+`","candidate":{"id":2}}}}`),
	})
}

// TestUnknownEvents checks that valid but unknown events are ignored with a reason.
func TestUnknownEvents(t *testing.T) {
	webhookstest.ParseIgnored(t, Receiver{},
		`{"action":"job_created","payload":{"job":{"id":1}}}`, // a job event
	)
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
	webhookstest.VerifyCases(t, Receiver{}, webhookstest.Now, []webhookstest.SigCase{
		// The documented form, "sha256 <hex>".
		webhookstest.Sig("good", webhookstest.Hdr("Signature", good), body, []string{webhookstest.SecretA}, nil),
		// Signed with a secret we do not have.
		webhookstest.Sig("wrong secret", webhookstest.Hdr("Signature", good), body, []string{webhookstest.SecretB}, webhooks.ErrBadSignature),
		// The second secret of a rotation list matches.
		webhookstest.Sig("second secret", webhookstest.Hdr("Signature", good), body, []string{webhookstest.SecretB, webhookstest.SecretA}, nil),
		// No Signature header at all.
		webhookstest.Sig("missing header", webhookstest.Hdr(), body, []string{webhookstest.SecretA}, webhooks.ErrMissingSignature),
		// The body was changed after signing.
		webhookstest.Sig("tampered body", webhookstest.Hdr("Signature", good), append([]byte(" "), body...), []string{webhookstest.SecretA}, webhooks.ErrBadSignature),
		// base64 instead of hex.
		webhookstest.Sig("base64 encoding", webhookstest.Hdr("Signature", "sha256 "+webhookstest.B64MAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature),
		// Another algorithm name.
		webhookstest.Sig("sha1 prefix", webhookstest.Hdr("Signature", "sha1 "+webhookstest.HexMAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature),
		// Nothing configured: the source accepts nothing.
		webhookstest.Sig("no secret", webhookstest.Hdr("Signature", good), body, nil, webhooks.ErrNoSecret),
		// Upper-case hex is still hex.
		webhookstest.Sig("upper-case hex", webhookstest.Hdr("Signature", "sha256 "+hexUpper(webhookstest.HexMAC(webhookstest.SecretA, string(body)))), body, []string{webhookstest.SecretA}, nil),
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
