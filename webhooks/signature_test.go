package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

const (
	secretA = "s3cret-A"
	secretB = "s3cret-B"
)

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func hexMAC(secret, msg string) string { return hex.EncodeToString(mac([]byte(secret), msg)) }
func b64MAC(secret, msg string) string {
	return base64.StdEncoding.EncodeToString(mac([]byte(secret), msg))
}

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
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

func runSigCases(t *testing.T, r Receiver, now time.Time, cases []sigCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.Verify(c.header, c.body, c.secrets, now)
			switch {
			case c.want == nil && err != nil:
				t.Fatalf("Verify: %v, want success", err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestGreenhouseVerify(t *testing.T) {
	body := readFixture(t, "testdata/greenhouse/candidate_stage_change.json")
	good := "sha256 " + hexMAC(secretA, string(body))
	runSigCases(t, Greenhouse{}, testNow, []sigCase{
		// The documented form, "sha256 <hex>".
		{"good", hdr("Signature", good), body, []string{secretA}, nil},
		// Signed with a secret we do not have.
		{"wrong secret", hdr("Signature", good), body, []string{secretB}, ErrBadSignature},
		// The second secret of a rotation list matches.
		{"second secret", hdr("Signature", good), body, []string{secretB, secretA}, nil},
		// No Signature header at all.
		{"missing header", hdr(), body, []string{secretA}, ErrMissingSignature},
		// The body was changed after signing.
		{"tampered body", hdr("Signature", good), append([]byte(" "), body...), []string{secretA}, ErrBadSignature},
		// base64 instead of hex.
		{"base64 encoding", hdr("Signature", "sha256 "+b64MAC(secretA, string(body))), body, []string{secretA}, ErrMalformedSignature},
		// Another algorithm name.
		{"sha1 prefix", hdr("Signature", "sha1 "+hexMAC(secretA, string(body))), body, []string{secretA}, ErrMalformedSignature},
		// Nothing configured: the source accepts nothing.
		{"no secret", hdr("Signature", good), body, nil, ErrNoSecret},
		// Upper-case hex is still hex.
		{"upper-case hex", hdr("Signature", "sha256 "+hexUpper(hexMAC(secretA, string(body)))), body, []string{secretA}, nil},
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

func TestAshbyVerify(t *testing.T) {
	body := readFixture(t, "testdata/ashby/candidateStageChange.json")
	good := "sha256=" + hexMAC(secretA, string(body))
	runSigCases(t, Ashby{}, testNow, []sigCase{
		// The documented form, "sha256=<hex>".
		{"good", hdr("Ashby-Signature", good), body, []string{secretA}, nil},
		// Signed with a secret we do not have.
		{"wrong secret", hdr("Ashby-Signature", good), body, []string{secretB}, ErrBadSignature},
		// The second secret (another webhook's) matches.
		{"second secret", hdr("Ashby-Signature", good), body, []string{secretB, secretA}, nil},
		// No Ashby-Signature header.
		{"missing header", hdr(), body, []string{secretA}, ErrMissingSignature},
		// The body was changed after signing.
		{"tampered body", hdr("Ashby-Signature", good), []byte(string(body) + "\n"), []string{secretA}, ErrBadSignature},
		// base64 instead of hex.
		{"base64 encoding", hdr("Ashby-Signature", "sha256="+b64MAC(secretA, string(body))), body, []string{secretA}, ErrMalformedSignature},
		// The hex without the algorithm prefix.
		{"no prefix", hdr("Ashby-Signature", hexMAC(secretA, string(body))), body, []string{secretA}, ErrMalformedSignature},
		// Nothing configured.
		{"no secret", hdr("Ashby-Signature", good), body, []string{""}, ErrNoSecret},
	})
}

func TestWorkableVerify(t *testing.T) {
	body := readFixture(t, "testdata/workable/candidate_moved.json")
	good := hexMAC(secretA, string(body))
	runSigCases(t, Workable{}, testNow, []sigCase{
		// Hex HMAC-SHA256 of the body.
		{"good", hdr("X-Workable-Signature", good), body, []string{secretA}, nil},
		// Signed with another account token.
		{"wrong secret", hdr("X-Workable-Signature", good), body, []string{secretB}, ErrBadSignature},
		// The second token of a list matches.
		{"second secret", hdr("X-Workable-Signature", good), body, []string{secretB, secretA}, nil},
		// No X-Workable-Signature header.
		{"missing header", hdr(), body, []string{secretA}, ErrMissingSignature},
		// The body was changed after signing.
		{"tampered body", hdr("X-Workable-Signature", good), body[1:], []string{secretA}, ErrBadSignature},
		// base64 instead of hex.
		{"base64 encoding", hdr("X-Workable-Signature", b64MAC(secretA, string(body))), body, []string{secretA}, ErrMalformedSignature},
		// Nothing configured.
		{"no secret", hdr("X-Workable-Signature", good), body, nil, ErrNoSecret},
	})
}

// leverBodyAt builds a Lever body signed with secret at triggeredAt.
func leverBodyAt(secret string, at time.Time, sig func(secret, msg string) string) []byte {
	ms := strconv.FormatInt(at.UnixMilli(), 10)
	token := "b5c0ce0a6a5d4c1e8b1f3a7e2d9c4b60"
	return []byte(`{"data":{"opportunityId":"opp-1","contactId":"c-1"},"event":"candidateHired",` +
		`"signature":"` + sig(secret, token+ms) + `","token":"` + token + `","triggeredAt":` + ms + `}`)
}

func TestLeverVerify(t *testing.T) {
	at := testNow.Add(-time.Minute)
	good := leverBodyAt(secretA, at, hexMAC)
	tampered := []byte(string(good[:len(good)-1]) + `,"extra":1}`) // body not covered: still valid
	runSigCases(t, Lever{}, testNow, []sigCase{
		// HMAC-SHA256 of token + triggeredAt, hex, in the body.
		{"good", nil, good, []string{secretA}, nil},
		// Signed with another event type's signature token.
		{"wrong secret", nil, good, []string{secretB}, ErrBadSignature},
		// Lever signs per event type: the second token matches.
		{"second secret", nil, good, []string{secretB, secretA}, nil},
		// No signature field in the body.
		{"missing signature", nil, []byte(`{"token":"t","triggeredAt":1,"event":"candidateHired"}`), []string{secretA}, ErrMissingSignature},
		// The signed triggeredAt was changed.
		{"tampered triggeredAt", nil, leverBodyAt(secretA, at, func(s, m string) string { return hexMAC(s, m+"1") }), []string{secretA}, ErrBadSignature},
		// Lever's signature does not cover data, so a changed data still verifies;
		// DeliveryID lets the store refuse the replay.
		{"data not covered", nil, tampered, []string{secretA}, nil},
		// base64 instead of hex.
		{"base64 encoding", nil, leverBodyAt(secretA, at, b64MAC), []string{secretA}, ErrMalformedSignature},
		// triggeredAt more than 5 minutes old.
		{"stale", nil, leverBodyAt(secretA, testNow.Add(-6*time.Minute), hexMAC), []string{secretA}, ErrStaleTimestamp},
		// triggeredAt more than 5 minutes ahead.
		{"future", nil, leverBodyAt(secretA, testNow.Add(6*time.Minute), hexMAC), []string{secretA}, ErrStaleTimestamp},
		// Not JSON at all.
		{"not json", nil, []byte("token=1"), []string{secretA}, ErrMalformedSignature},
		// Nothing configured.
		{"no secret", nil, good, nil, ErrNoSecret},
	})
}

func TestLeverFixtureSignature(t *testing.T) {
	// The fixtures carry real signatures under this token; only their age fails.
	body := readFixture(t, "testdata/lever/candidateHired.json")
	err := Lever{}.Verify(nil, body, []string{"lever-signature-token-for-tests"}, time.UnixMilli(1795356000000))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
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
	sig := base64.StdEncoding.EncodeToString(mac(key, msgID+"."+t+"."+string(body)))
	return hdr("webhook-id", msgID, "webhook-timestamp", t, "webhook-signature", "v1,"+sig)
}

func TestStandardVerify(t *testing.T) {
	body := readFixture(t, "testdata/standard/batch.json")
	good := standardHeaders(standardKeyA, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", testNow, body)
	without := func(h http.Header, k string) http.Header { h = h.Clone(); h.Del(k); return h }
	with := func(h http.Header, k, v string) http.Header { h = h.Clone(); h.Set(k, v); return h }
	sigA := good.Get("webhook-signature")
	hexSig := "v1," + hex.EncodeToString(mac(standardKeyA, good.Get("webhook-id")+"."+good.Get("webhook-timestamp")+"."+string(body)))
	runSigCases(t, Standard{}, testNow, []sigCase{
		// One v1 signature under the secret's key.
		{"good", good, body, []string{standardSecretA}, nil},
		// Signed under another key.
		{"wrong secret", good, body, []string{standardSecretB}, ErrBadSignature},
		// The second secret of a rotation list matches.
		{"second secret", good, body, []string{standardSecretB, standardSecretA}, nil},
		// Several signatures in the header (the sender rotating): one matches.
		{"several signatures", with(good, "webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" "+sigA), body, []string{standardSecretA}, nil},
		// An asymmetric v1a entry is skipped; the v1 one still counts.
		{"v1a entry skipped", with(good, "webhook-signature", "v1a,AAAA "+sigA), body, []string{standardSecretA}, nil},
		// No webhook-signature header.
		{"missing signature", without(good, "webhook-signature"), body, []string{standardSecretA}, ErrMissingSignature},
		// No webhook-id header.
		{"missing id", without(good, "webhook-id"), body, []string{standardSecretA}, ErrMissingSignature},
		// No webhook-timestamp header.
		{"missing timestamp", without(good, "webhook-timestamp"), body, []string{standardSecretA}, ErrMissingSignature},
		// The body was changed after signing.
		{"tampered body", good, body[:len(body)-2], []string{standardSecretA}, ErrBadSignature},
		// The id was changed after signing.
		{"tampered id", with(good, "webhook-id", "msg_other"), body, []string{standardSecretA}, ErrBadSignature},
		// hex instead of base64.
		{"hex encoding", with(good, "webhook-signature", hexSig), body, []string{standardSecretA}, ErrMalformedSignature},
		// No version prefix.
		{"no version", with(good, "webhook-signature", sigA[3:]), body, []string{standardSecretA}, ErrMalformedSignature},
		// Timestamp not a number.
		{"timestamp not unix", with(good, "webhook-timestamp", testNow.Format(time.RFC3339)), body, []string{standardSecretA}, ErrMalformedSignature},
		// Signed six minutes ago.
		{"stale", standardHeaders(standardKeyA, "msg_1", testNow.Add(-6*time.Minute), body), body, []string{standardSecretA}, ErrStaleTimestamp},
		// Signed six minutes ahead.
		{"future", standardHeaders(standardKeyA, "msg_1", testNow.Add(6*time.Minute), body), body, []string{standardSecretA}, ErrStaleTimestamp},
		// Four minutes old is within tolerance.
		{"within tolerance", standardHeaders(standardKeyA, "msg_1", testNow.Add(-4*time.Minute), body), body, []string{standardSecretA}, nil},
		// The secret without its whsec_ prefix works too.
		{"bare base64 secret", good, body, []string{standardSecretA[len("whsec_"):]}, nil},
		// A secret that is not base64 never matches.
		{"undecodable secret", good, body, []string{"whsec_%%%"}, ErrBadSignature},
		// Nothing configured.
		{"no secret", good, body, nil, ErrNoSecret},
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
		_, err := StandardSecret(c.secret)
		if (err == nil) != c.ok {
			t.Errorf("StandardSecret(%q): %v, want ok=%v", c.secret, err, c.ok)
		}
	}
}
