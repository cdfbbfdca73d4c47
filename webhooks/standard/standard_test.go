package standard

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
	"github.com/google/go-cmp/cmp"
)

// TestGolden maps every fixture and compares the result with its .golden.json.
func TestGolden(t *testing.T) { webhookstest.Golden(t, Receiver{}) }

// TestGoldenItemsValidate checks that every mapped item of every golden file passes
// Input.Validate, and that only valid outcomes are recorded.
func TestGoldenItemsValidate(t *testing.T) { webhookstest.GoldenItemsValidate(t, "standard") }

// TestRedeliverySameKeys parses every fixture twice at different arrival times and
// checks that the idempotency keys do not change.
func TestRedeliverySameKeys(t *testing.T) { webhookstest.RedeliverySameKeys(t, Receiver{}) }

// TestParseMalformed checks that bodies no vendor could have sent are refused with
// ErrMalformedBody (the HTTP layer answers 400).
func TestParseMalformed(t *testing.T) {
	stdHeader := webhookstest.Hdr("webhook-id", "msg_1")
	webhookstest.ParseMalformed(t, []webhookstest.Malformed{
		// Standard body that is not an object.
		webhookstest.Bad("standard array", Receiver{}, stdHeader, `[]`),
		// Standard item with an unknown field.
		webhookstest.Bad("standard unknown field", Receiver{}, stdHeader, `{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z","colour":"red"}`),
		// Standard empty batch.
		webhookstest.Bad("standard empty batch", Receiver{}, stdHeader, `{"interactions":[]}`),
		// Standard delivery without webhook-id.
		webhookstest.Bad("standard no id", Receiver{}, nil, `{"application_id":"a"}`),
	})
}

func FuzzStandardParse(f *testing.F) {
	webhookstest.AddFixtures(f)
	webhookstest.FuzzParse(f, Receiver{}, webhookstest.Hdr("webhook-id", "msg_fuzz"))
}

// FuzzStandardSignatureHeader feeds arbitrary webhook-signature values to the parser
// and to Verify.
func FuzzStandardSignatureHeader(f *testing.F) {
	body := []byte(`{"application_id":"a"}`)
	h := standardHeaders(standardKeyB, "msg_1", webhookstest.Now, body)
	f.Add(h.Get("webhook-signature"))
	f.Add("v1,")
	f.Add("v1a,abc v1,AAAA v2,xyz")
	f.Add(",,, v1,,")
	f.Fuzz(func(t *testing.T, v string) {
		sigs, err := Signatures(v)
		if err != nil && !errors.Is(err, webhooks.ErrMalformedSignature) {
			t.Fatalf("unexpected error %v", err)
		}
		if len(sigs) > webhooks.MaxSignatures {
			t.Fatalf("%d signatures read", len(sigs))
		}
		hh := h.Clone()
		hh.Set("webhook-signature", v)
		if (Receiver{}).Verify(hh, body, []string{standardSecretA}, webhookstest.Now) == nil {
			t.Fatalf("webhook-signature %q verified without the secret's signature", v)
		}
	})
}

// standardSecret is a whsec_ secret and its key.
var (
	standardKeyA    = []byte("0123456789abcdef0123456789abcdef")
	standardKeyB    = []byte("fedcba9876543210fedcba9876543210")
	standardSecretA = "whsec_" + base64.StdEncoding.EncodeToString(standardKeyA)
	standardSecretB = "whsec_" + base64.StdEncoding.EncodeToString(standardKeyB)
)

func standardHeaders(key []byte, msgID string, ts time.Time, body []byte) http.Header {
	t := strconv.FormatInt(ts.Unix(), 10)
	sig := base64.StdEncoding.EncodeToString(webhookstest.MAC(key, msgID+"."+t+"."+string(body)))
	return webhookstest.Hdr("webhook-id", msgID, "webhook-timestamp", t, "webhook-signature", "v1,"+sig)
}

func TestStandardVerify(t *testing.T) {
	body := webhookstest.ReadFixture(t, "testdata/batch.json")
	good := standardHeaders(standardKeyA, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", webhookstest.Now, body)
	without := func(h http.Header, k string) http.Header { h = h.Clone(); h.Del(k); return h }
	with := func(h http.Header, k, v string) http.Header { h = h.Clone(); h.Set(k, v); return h }
	sigA := good.Get("webhook-signature")
	hexSig := "v1," + hex.EncodeToString(webhookstest.MAC(standardKeyA, good.Get("webhook-id")+"."+good.Get("webhook-timestamp")+"."+string(body)))
	webhookstest.VerifyCases(t, Receiver{}, webhookstest.Now, []webhookstest.SigCase{
		// One v1 signature under the secret's key.
		webhookstest.Sig("good", good, body, []string{standardSecretA}, nil),
		// Signed under another key.
		webhookstest.Sig("wrong secret", good, body, []string{standardSecretB}, webhooks.ErrBadSignature),
		// The second secret of a rotation list matches.
		webhookstest.Sig("second secret", good, body, []string{standardSecretB, standardSecretA}, nil),
		// Several signatures in the header (the sender rotating): one matches.
		webhookstest.Sig("several signatures", with(good, "webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" "+sigA), body, []string{standardSecretA}, nil),
		// An asymmetric v1a entry is skipped; the v1 one still counts.
		webhookstest.Sig("v1a entry skipped", with(good, "webhook-signature", "v1a,AAAA "+sigA), body, []string{standardSecretA}, nil),
		// No webhook-signature header.
		webhookstest.Sig("missing signature", without(good, "webhook-signature"), body, []string{standardSecretA}, webhooks.ErrMissingSignature),
		// No webhook-id header.
		webhookstest.Sig("missing id", without(good, "webhook-id"), body, []string{standardSecretA}, webhooks.ErrMissingSignature),
		// No webhook-timestamp header.
		webhookstest.Sig("missing timestamp", without(good, "webhook-timestamp"), body, []string{standardSecretA}, webhooks.ErrMissingSignature),
		// The body was changed after signing.
		webhookstest.Sig("tampered body", good, body[:len(body)-2], []string{standardSecretA}, webhooks.ErrBadSignature),
		// The id was changed after signing.
		webhookstest.Sig("tampered id", with(good, "webhook-id", "msg_other"), body, []string{standardSecretA}, webhooks.ErrBadSignature),
		// hex instead of base64.
		webhookstest.Sig("hex encoding", with(good, "webhook-signature", hexSig), body, []string{standardSecretA}, webhooks.ErrMalformedSignature),
		// No version prefix.
		webhookstest.Sig("no version", with(good, "webhook-signature", sigA[3:]), body, []string{standardSecretA}, webhooks.ErrMalformedSignature),
		// Timestamp not a number.
		webhookstest.Sig("timestamp not unix", with(good, "webhook-timestamp", webhookstest.Now.Format(time.RFC3339)), body, []string{standardSecretA}, webhooks.ErrMalformedSignature),
		// Signed six minutes ago.
		webhookstest.Sig("stale", standardHeaders(standardKeyA, "msg_1", webhookstest.Now.Add(-6*time.Minute), body), body, []string{standardSecretA}, webhooks.ErrStaleTimestamp),
		// Signed six minutes ahead.
		webhookstest.Sig("future", standardHeaders(standardKeyA, "msg_1", webhookstest.Now.Add(6*time.Minute), body), body, []string{standardSecretA}, webhooks.ErrStaleTimestamp),
		// Four minutes old is within tolerance.
		webhookstest.Sig("within tolerance", standardHeaders(standardKeyA, "msg_1", webhookstest.Now.Add(-4*time.Minute), body), body, []string{standardSecretA}, nil),
		// The secret without its whsec_ prefix works too.
		webhookstest.Sig("bare base64 secret", good, body, []string{standardSecretA[len("whsec_"):]}, nil),
		// A secret that is not base64 never matches.
		webhookstest.Sig("undecodable secret", good, body, []string{"whsec_%%%"}, webhooks.ErrBadSignature),
		// Nothing configured.
		webhookstest.Sig("no secret", good, body, nil, webhooks.ErrNoSecret),
	})
}

func TestStandardSecret(t *testing.T) {
	for _, c := range []struct {
		secret string
		ok     bool
	}{
		{standardSecretA, true},     // whsec_ and base64
		{"whsec_", false},           // empty key
		{"whsec_not base64", false}, // not base64
		{"MTIzNA", true},            // unpadded base64 without prefix
	} {
		_, err := Secret(c.secret)
		if (err == nil) != c.ok {
			t.Errorf("StandardSecret(%q): %v, want ok=%v", c.secret, err, c.ok)
		}
	}
}

// TestStandardFieldErrors checks that a bad item is reported by field, as
// POST /v1/interactions reports it.
func TestStandardFieldErrors(t *testing.T) {
	body := `{"interactions":[{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z"},{"application_id":7}]}`
	_, err := Receiver{}.Parse(webhookstest.Hdr("webhook-id", "msg_1"), []byte(body), webhookstest.Now)
	var ie *interactions.Error
	if !errors.As(err, &ie) {
		t.Fatalf("err %v is not an *interactions.Error", err)
	}
	want := []interactions.FieldError{{Field: "interactions[1].application_id", Message: "must be a string"}}
	if diff := cmp.Diff(want, ie.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestStandardKeys checks the idempotency keys of Standard Webhooks items.
func TestStandardKeys(t *testing.T) {
	body := `{"interactions":[
		{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z"},
		{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z","external_id":"e-1"},
		{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z","source":"crm"},
		{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z","source":"crm","external_id":"e-2"}]}`
	d, err := Receiver{}.Parse(webhookstest.Hdr("webhook-id", "msg_9"), []byte(body), webhookstest.Now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"standard:msg_9:0", // neither: standard:<webhook-id>:<index>
		"standard:e-1",     // its own external_id, source defaults to standard
		"crm:msg_9:2",      // its own source, external_id from the delivery
		"crm:e-2",          // its own key
	}
	if diff := cmp.Diff(want, webhookstest.Keys(d)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}
