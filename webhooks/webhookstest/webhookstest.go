// Package webhookstest holds what the tests of every webhook receiver share: the
// golden-file check of a vendor's mapping (testdata/*.json against *.golden.json,
// rewritten with go test -update), the fuzz harnesses of Parse and Verify, and
// signing helpers. Tests run in the vendor's folder, so testdata/ is its own.
package webhookstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

var update = flag.Bool("update", false, "rewrite the webhooks' golden files from the current mapping")

// Update reports whether the test run was asked to rewrite golden files (-update),
// for a vendor's other golden tests (such as its sync's).
func Update() bool { return *update }

// Now is the time of arrival the tests parse at.
var Now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// FarFuture is a "now" at which any payload time is in the past.
var FarFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Two signing secrets.
const (
	SecretA = "s3cret-A"
	SecretB = "s3cret-B"
)

// MAC returns HMAC-SHA256(key, msg).
func MAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// HexMAC is MAC in hex.
func HexMAC(secret, msg string) string { return hex.EncodeToString(MAC([]byte(secret), msg)) }

// B64MAC is MAC in standard base64.
func B64MAC(secret, msg string) string {
	return base64.StdEncoding.EncodeToString(MAC([]byte(secret), msg))
}

// ReadFixture reads a file or fails the test.
func ReadFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Hdr builds a header from name, value pairs.
func Hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// Headers are the headers a fixture named name is parsed with: the delivery ids of
// the vendors that send them in headers.
func Headers(name string) http.Header {
	h := http.Header{}
	h.Set("Greenhouse-Event-ID", "gh-event-"+name)
	h.Set("webhook-id", "msg_"+name)
	return h
}

// Verify runs one signature check as a subtest: want is the error expected (nil for
// success), tested with errors.Is.
func Verify(t *testing.T, r webhooks.Receiver, now time.Time, name string, h http.Header, body []byte, secrets []string, want error) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		err := r.Verify(h, body, secrets, now)
		switch {
		case want == nil && err != nil:
			t.Fatalf("Verify: %v, want success", err)
		case want != nil && !errors.Is(err, want):
			t.Fatalf("Verify: %v, want %v", err, want)
		}
	})
}

// Fixtures lists the payloads under testdata/, goldens excluded.
func Fixtures(t testing.TB) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".golden.json") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures under testdata/")
	}
	return out
}

// Golden maps every fixture with r and compares the result with its .golden.json.
func Golden(t *testing.T, r webhooks.Receiver) {
	for _, path := range Fixtures(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			d, err := r.Parse(Headers(name), body, Now)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			GoldenFile(t, strings.TrimSuffix(path, ".json")+".golden.json", append(got, '\n'))
		})
	}
}

// GoldenItemsValidate checks that every mapped item of every golden file passes
// Input.Validate, and that only valid outcomes are recorded.
func GoldenItemsValidate(t *testing.T, vendor string) {
	goldens, err := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(goldens) == 0 {
		t.Fatalf("no golden files for %s", vendor)
	}
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		var d webhooks.Delivery
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		if d.Source != vendor {
			t.Errorf("%s: source %q, want %q", g, d.Source, vendor)
		}
		if n := len(d.Items); (n > 0) == (d.Ping || d.Ignored != "") {
			t.Errorf("%s: %d items with ping=%v ignored=%q: want items xor ping/ignored", g, n, d.Ping, d.Ignored)
		}
		for i, in := range d.Items {
			if d.Thin && in.CandidateID == "" {
				in.CandidateID = "thin" // Ingest gives it the application's candidate
			}
			AssertValid(t, g, i, in)
			if vendor != "standard" && in.Source != vendor {
				t.Errorf("%s: item %d has source %q", g, i, in.Source)
			}
		}
	}
}

// AssertValid fails the test if in does not pass Input.Validate or has no
// idempotency key of its own.
func AssertValid(t testing.TB, where string, i int, in interactions.Input) {
	t.Helper()
	it, errs := in.Validate("", Now)
	if len(errs) > 0 {
		t.Errorf("%s: item %d does not validate: %+v\n%+v", where, i, errs, in)
	}
	if in.ExternalID == "" || it.Key == it.ID {
		t.Errorf("%s: item %d has no external_id, so a redelivery would be stored twice", where, i)
	}
}

// RedeliverySameKeys parses every fixture twice at different arrival times and
// checks that the idempotency keys do not change.
func RedeliverySameKeys(t *testing.T, r webhooks.Receiver) {
	for _, path := range Fixtures(t) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h := Headers(strings.TrimSuffix(filepath.Base(path), ".json"))
		a, errA := r.Parse(h, body, Now)
		b, errB := r.Parse(h, body, Now.Add(3*time.Hour))
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v %v", path, errA, errB)
		}
		if diff := cmp.Diff(Keys(a), Keys(b)); diff != "" {
			t.Errorf("%s: keys changed with the time of arrival (-first +second):\n%s", path, diff)
		}
	}
}

// Keys returns the idempotency keys of a delivery's items.
func Keys(d webhooks.Delivery) []string {
	var out []string
	for _, in := range d.Items {
		out = append(out, interactions.IdempotencyKey(in.Source, in.ExternalID))
	}
	return out
}

// AddFixtures seeds a fuzz target with the fixtures under testdata/ and two
// degenerate bodies.
func AddFixtures(f *testing.F) {
	f.Helper()
	for _, p := range Fixtures(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
}

// FuzzParse checks r.Parse on arbitrary bodies: errors wrap ErrMalformedBody and
// carry no items, outcomes are items xor ping/ignored, and mapped items validate and
// have an external id (Standard's are the sender's own and only decoded).
func FuzzParse(f *testing.F, r webhooks.Receiver, h http.Header) {
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := r.Parse(h, body, Now)
		if err != nil {
			if !errors.Is(err, webhooks.ErrMalformedBody) {
				t.Fatalf("Parse error %v does not wrap ErrMalformedBody", err)
			}
			if len(d.Items) > 0 {
				t.Fatalf("Parse returned %d items with an error", len(d.Items))
			}
			return
		}
		if len(d.Items) > webhooks.MaxItems {
			t.Fatalf("%d items", len(d.Items))
		}
		if (len(d.Items) > 0) == (d.Ping || d.Ignored != "") {
			t.Fatalf("items=%d ping=%v ignored=%q", len(d.Items), d.Ping, d.Ignored)
		}
		if r.Source() == "standard" {
			return // Standard leaves semantic validation to the caller, like POST /v1/interactions
		}
		for i, in := range d.Items {
			if d.Thin && in.CandidateID == "" {
				in.CandidateID = "thin" // Ingest gives it the application's candidate
			}
			if _, errs := in.Validate("", FarFuture); len(errs) > 0 {
				t.Fatalf("item %d does not validate: %+v\n%+v", i, errs, in)
			}
			if in.ExternalID == "" {
				t.Fatalf("item %d has no external_id", i)
			}
		}
	})
}

// FuzzHeader checks a header-signed vendor's Verify on arbitrary header values: no
// panic, only the documented errors, and never success for a value not made with the
// secret.
func FuzzHeader(f *testing.F, r webhooks.Receiver, name string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	body := []byte(`{"action":"ping"}`)
	f.Fuzz(func(t *testing.T, v string) {
		err := r.Verify(Hdr(name, v), body, []string{SecretA}, Now)
		switch {
		case err == nil:
			t.Fatalf("%s %q verified without the secret's signature", name, v)
		case errors.Is(err, webhooks.ErrMissingSignature), errors.Is(err, webhooks.ErrMalformedSignature), errors.Is(err, webhooks.ErrBadSignature):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// SigCase is one signature check: headers and body as sent, the configured secrets,
// and the error expected (nil for success).
type SigCase struct {
	Name    string
	Header  http.Header
	Body    []byte
	Secrets []string
	Want    error
}

// Sig builds a SigCase.
func Sig(name string, h http.Header, body []byte, secrets []string, want error) SigCase {
	return SigCase{Name: name, Header: h, Body: body, Secrets: secrets, Want: want}
}

// VerifyCases runs each signature check against r at now.
func VerifyCases(t *testing.T, r webhooks.Receiver, now time.Time, cases []SigCase) {
	t.Helper()
	for _, c := range cases {
		Verify(t, r, now, c.Name, c.Header, c.Body, c.Secrets, c.Want)
	}
}

// Malformed is a body no vendor could have sent, with the headers it came with (nil:
// none).
type Malformed struct {
	Name string
	R    webhooks.Receiver
	H    http.Header
	Body string
}

// Bad builds a Malformed.
func Bad(name string, r webhooks.Receiver, h http.Header, body string) Malformed {
	return Malformed{Name: name, R: r, H: h, Body: body}
}

// ParseMalformed checks that Parse refuses each body with ErrMalformedBody (the HTTP
// layer answers 400) and returns no items.
func ParseMalformed(t *testing.T, cases []Malformed) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			h := c.H
			if h == nil {
				h = http.Header{}
			}
			d, err := c.R.Parse(h, []byte(c.Body), Now)
			if !errors.Is(err, webhooks.ErrMalformedBody) {
				t.Fatalf("Parse: err %v, want ErrMalformedBody", err)
			}
			if len(d.Items) != 0 {
				t.Fatalf("Parse returned items with an error: %+v", d.Items)
			}
		})
	}
}

// ParseIgnored checks that r ignores each valid but unknown event with a reason.
func ParseIgnored(t *testing.T, r webhooks.Receiver, bodies ...string) {
	t.Helper()
	for _, body := range bodies {
		d, err := r.Parse(http.Header{}, []byte(body), Now)
		if err != nil || d.Ignored == "" || len(d.Items) > 0 {
			t.Errorf("%s %s: got %+v, %v; want ignored", r.Source(), body, d, err)
		}
	}
}
