package ashby

import (
	"testing"

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
	webhookstest.ParseMalformed(t, []webhookstest.Malformed{
		// Ashby without an action.
		webhookstest.Bad("ashby no action", Receiver{}, nil, `{"data":{}}`),
		// Ashby application event without its application.
		webhookstest.Bad("ashby no application", Receiver{}, nil, `{"action":"candidateHire","data":{}}`),
	})
}

// TestUnknownEvents checks that valid but unknown events are ignored with a reason.
func TestUnknownEvents(t *testing.T) {
	webhookstest.ParseIgnored(t, Receiver{},
		`{"action":"jobPostingPublish","data":{}}`,                                                       // a posting event
		`{"action":"interviewScheduleUpdate","data":{"interviewSchedule":{"status":"NeedsScheduling"}}}`, // not yet scheduled
	)
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
	webhookstest.VerifyCases(t, Receiver{}, webhookstest.Now, []webhookstest.SigCase{
		// The documented form, "sha256=<hex>".
		webhookstest.Sig("good", webhookstest.Hdr("Ashby-Signature", good), body, []string{webhookstest.SecretA}, nil),
		// Signed with a secret we do not have.
		webhookstest.Sig("wrong secret", webhookstest.Hdr("Ashby-Signature", good), body, []string{webhookstest.SecretB}, webhooks.ErrBadSignature),
		// The second secret (another webhook's) matches.
		webhookstest.Sig("second secret", webhookstest.Hdr("Ashby-Signature", good), body, []string{webhookstest.SecretB, webhookstest.SecretA}, nil),
		// No Ashby-Signature header.
		webhookstest.Sig("missing header", webhookstest.Hdr(), body, []string{webhookstest.SecretA}, webhooks.ErrMissingSignature),
		// The body was changed after signing.
		webhookstest.Sig("tampered body", webhookstest.Hdr("Ashby-Signature", good), []byte(string(body)+"\n"), []string{webhookstest.SecretA}, webhooks.ErrBadSignature),
		// base64 instead of hex.
		webhookstest.Sig("base64 encoding", webhookstest.Hdr("Ashby-Signature", "sha256="+webhookstest.B64MAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature),
		// The hex without the algorithm prefix.
		webhookstest.Sig("no prefix", webhookstest.Hdr("Ashby-Signature", webhookstest.HexMAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature),
		// Nothing configured.
		webhookstest.Sig("no secret", webhookstest.Hdr("Ashby-Signature", good), body, []string{""}, webhooks.ErrNoSecret),
	})
}
