package lever

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/webhookstest"
)

// TestGolden maps every fixture and compares the result with its .golden.json.
func TestGolden(t *testing.T) { webhookstest.Golden(t, Receiver{}) }

// TestGoldenItemsValidate checks that every mapped item of every golden file passes
// Input.Validate, and that only valid outcomes are recorded.
func TestGoldenItemsValidate(t *testing.T) { webhookstest.GoldenItemsValidate(t, "lever") }

// TestRedeliverySameKeys parses every fixture twice at different arrival times and
// checks that the idempotency keys do not change.
func TestRedeliverySameKeys(t *testing.T) { webhookstest.RedeliverySameKeys(t, Receiver{}) }

// TestParseMalformed checks that bodies no vendor could have sent are refused with
// ErrMalformedBody (the HTTP layer answers 400).
func TestParseMalformed(t *testing.T) {
	webhookstest.ParseMalformed(t, []webhookstest.Malformed{
		// Lever without an event.
		webhookstest.Bad("lever no event", Receiver{}, nil, `{"token":"t","triggeredAt":1,"data":{"opportunityId":"o"}}`),
		// Lever stage change without the new stage.
		webhookstest.Bad("lever no stage", Receiver{}, nil, `{"event":"candidateStageChange","triggeredAt":1795176000000,"data":{"opportunityId":"o","contactId":"c"}}`),
		// Lever opportunity without a contact or candidate id.
		webhookstest.Bad("lever no candidate", Receiver{}, nil, `{"event":"candidateHired","triggeredAt":1795176000000,"data":{"opportunityId":"o"}}`),
	})
}

// TestUnknownEvents checks that valid but unknown events are ignored with a reason.
func TestUnknownEvents(t *testing.T) {
	webhookstest.ParseIgnored(t, Receiver{},
		`{"event":"somethingNew","triggeredAt":1,"data":{}}`, // a future Lever event
	)
}

func FuzzLeverParse(f *testing.F) {
	webhookstest.AddFixtures(f)
	webhookstest.FuzzParse(f, Receiver{}, nil)
}

// FuzzLeverVerify feeds arbitrary bodies to Lever's in-body signature check.
func FuzzLeverVerify(f *testing.F) {
	webhookstest.AddFixtures(f)
	f.Add(leverBodyAt(webhookstest.SecretB, webhookstest.Now, webhookstest.HexMAC))
	f.Add([]byte(`{"token":"t","triggeredAt":"1","signature":"00"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		err := Receiver{}.Verify(nil, body, []string{webhookstest.SecretA}, webhookstest.Now)
		switch {
		case err == nil:
			t.Fatalf("a body verified without the secret's signature: %s", body)
		case errors.Is(err, webhooks.ErrMissingSignature), errors.Is(err, webhooks.ErrMalformedSignature),
			errors.Is(err, webhooks.ErrBadSignature), errors.Is(err, webhooks.ErrStaleTimestamp):
		default:
			t.Fatalf("unexpected error %v", err)
		}
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
	at := webhookstest.Now.Add(-time.Minute)
	good := leverBodyAt(webhookstest.SecretA, at, webhookstest.HexMAC)
	tampered := []byte(string(good[:len(good)-1]) + `,"extra":1}`) // body not covered: still valid
	webhookstest.VerifyCases(t, Receiver{}, webhookstest.Now, []webhookstest.SigCase{
		// HMAC-SHA256 of token + triggeredAt, hex, in the body.
		webhookstest.Sig("good", nil, good, []string{webhookstest.SecretA}, nil),
		// Signed with another event type's signature token.
		webhookstest.Sig("wrong secret", nil, good, []string{webhookstest.SecretB}, webhooks.ErrBadSignature),
		// Lever signs per event type: the second token matches.
		webhookstest.Sig("second secret", nil, good, []string{webhookstest.SecretB, webhookstest.SecretA}, nil),
		// No signature field in the body.
		webhookstest.Sig("missing signature", nil, []byte(`{"token":"t","triggeredAt":1,"event":"candidateHired"}`), []string{webhookstest.SecretA}, webhooks.ErrMissingSignature),
		// The signed triggeredAt was changed.
		webhookstest.Sig("tampered triggeredAt", nil, leverBodyAt(webhookstest.SecretA, at, func(s, m string) string { return webhookstest.HexMAC(s, m+"1") }), []string{webhookstest.SecretA}, webhooks.ErrBadSignature),
		// Lever's signature does not cover data, so a changed data still verifies;
		// DeliveryID lets the store refuse the replay.
		webhookstest.Sig("data not covered", nil, tampered, []string{webhookstest.SecretA}, nil),
		// base64 instead of hex.
		webhookstest.Sig("base64 encoding", nil, leverBodyAt(webhookstest.SecretA, at, webhookstest.B64MAC), []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature),
		// triggeredAt more than 5 minutes old.
		webhookstest.Sig("stale", nil, leverBodyAt(webhookstest.SecretA, webhookstest.Now.Add(-6*time.Minute), webhookstest.HexMAC), []string{webhookstest.SecretA}, webhooks.ErrStaleTimestamp),
		// triggeredAt more than 5 minutes ahead.
		webhookstest.Sig("future", nil, leverBodyAt(webhookstest.SecretA, webhookstest.Now.Add(6*time.Minute), webhookstest.HexMAC), []string{webhookstest.SecretA}, webhooks.ErrStaleTimestamp),
		// Not JSON at all.
		webhookstest.Sig("not json", nil, []byte("token=1"), []string{webhookstest.SecretA}, webhooks.ErrMalformedSignature),
		// Nothing configured.
		webhookstest.Sig("no secret", nil, good, nil, webhooks.ErrNoSecret),
	})
}

func TestLeverFixtureSignature(t *testing.T) {
	// The fixtures carry real signatures under this token; only their age fails.
	body := webhookstest.ReadFixture(t, "testdata/candidateHired.json")
	err := Receiver{}.Verify(nil, body, []string{"lever-signature-token-for-tests"}, time.UnixMilli(1795356000000))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestLeverHiredArchiveReason checks that archiving with a hired reason is not a
// rejection.
func TestLeverHiredArchiveReason(t *testing.T) {
	body := webhookstest.ReadFixture(t, "testdata/candidateArchiveChange.json")
	d, err := Receiver{HiredArchiveReasons: []string{"63dd55b2-a99f-4e7b-985f-22c7bf80ab42"}}.Parse(nil, body, webhookstest.Now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Ignored == "" || len(d.Items) != 0 {
		t.Fatalf("got %+v, want ignored", d)
	}
}

// names is a fixed Names: the sync's reading of stages and archive reasons.
type names struct {
	stages map[string]string
	hired  []string
}

func (n names) StageName(id string) string    { return n.stages[id] }
func (n names) HiredArchiveReasons() []string { return n.hired }

// TestLeverNames: with the sync's names, a stage change carries the stage's name (the
// id while the sync has not read it), and the archive reasons the sync read decide a
// hire in place of the configured ones.
func TestLeverNames(t *testing.T) {
	const archiveReason = "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"
	stage := webhookstest.ReadFixture(t, "testdata/candidateStageChange.json")
	archive := webhookstest.ReadFixture(t, "testdata/candidateArchiveChange.json")
	for _, tc := range []struct {
		name    string
		r       Receiver
		body    []byte
		stage   string // the stage_changed's stage; "" for the archive
		ignored bool   // the archive is a hire
	}{
		// The sync read the stage: its name.
		{"stage named", Receiver{Names: names{stages: map[string]string{"c3a7e5d8-1b2f-4c6a-9e0d-3f5b7a9c1e2d": "Phone screen"}}},
			stage, "Phone screen", false},
		// The sync has not read it: Lever's id, as without the sync.
		{"stage unknown", Receiver{Names: names{}}, stage, "c3a7e5d8-1b2f-4c6a-9e0d-3f5b7a9c1e2d", false},
		// The sync read the reason as hired: no rejection.
		{"hired by the sync", Receiver{Names: names{hired: []string{archiveReason}}}, archive, "", true},
		// The sync read the reason as not hired: a rejection, whatever was configured.
		{"not hired by the sync", Receiver{HiredArchiveReasons: []string{archiveReason}, Names: names{hired: []string{}}}, archive, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.r.Parse(nil, tc.body, webhookstest.Now)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ignored {
				if d.Ignored == "" || len(d.Items) != 0 {
					t.Fatalf("got %+v, want ignored as a hire", d)
				}
				return
			}
			if len(d.Items) != 1 {
				t.Fatalf("got %+v, want one item", d)
			}
			if tc.stage != "" && d.Items[0].Stage != tc.stage {
				t.Errorf("stage %q, want %q", d.Items[0].Stage, tc.stage)
			}
			if tc.stage == "" && d.Items[0].Kind != "rejected" {
				t.Errorf("kind %q, want rejected", d.Items[0].Kind)
			}
		})
	}
}
