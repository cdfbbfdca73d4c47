package workable

import (
	"testing"

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
	webhookstest.ParseMalformed(t, []webhookstest.Malformed{
		// Workable without an event type or a label naming one.
		webhookstest.Bad("workable no event", Receiver{}, nil, `{"data":{"id":"x"}}`),
		// Workable without the candidate.
		webhookstest.Bad("workable no data", Receiver{}, nil, `{"event_type":"candidate_created"}`),
	})
}

// TestUnknownEvents checks that valid but unknown events are ignored with a reason.
func TestUnknownEvents(t *testing.T) {
	webhookstest.ParseIgnored(t, Receiver{},
		`{"event_type":"employee_created","data":{"id":"e"}}`, // an employee event
	)
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
	webhookstest.VerifyCases(t, Receiver{}, webhookstest.Now, []webhookstest.SigCase{
		// Hex HMAC-SHA256 of the body.
		webhookstest.Sig("good", webhookstest.Hdr("X-Workable-Signature", good), body, []string{webhookstest.SecretA}, nil),
		// Signed with another account token.
		webhookstest.Sig("wrong secret", webhookstest.Hdr("X-Workable-Signature", good), body, []string{webhookstest.SecretB}, webhooks.ErrBadSignature),
		// The second token of a list matches.
		webhookstest.Sig("second secret", webhookstest.Hdr("X-Workable-Signature", good), body, []string{webhookstest.SecretB, webhookstest.SecretA}, nil),
		// No X-Workable-Signature header.
		webhookstest.Sig("missing header", webhookstest.Hdr(), body, []string{webhookstest.SecretA}, webhooks.ErrMissingSignature),
		// The body was changed after signing.
		webhookstest.Sig("tampered body", webhookstest.Hdr("X-Workable-Signature", good), body[1:], []string{webhookstest.SecretA}, webhooks.ErrBadSignature),
		// base64 instead of hex.
		webhookstest.Sig("base64 encoding", webhookstest.Hdr("X-Workable-Signature", webhookstest.B64MAC(webhookstest.SecretA, string(body))), body, []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature),
		// Nothing configured.
		webhookstest.Sig("no secret", webhookstest.Hdr("X-Workable-Signature", good), body, nil, webhooks.ErrNoSecret),
	})
}
