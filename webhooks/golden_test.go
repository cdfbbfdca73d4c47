package webhooks

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
)

var update = flag.Bool("update", false, "rewrite the webhooks' golden files from the current mapping")

// testNow is the time of arrival in golden tests: later than every payload time.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// testReceivers are the receivers of the testdata directories. Workable's carries the
// URL label its label-only fixture needs.
var testReceivers = map[string]Receiver{
	"greenhouse": Greenhouse{},
	"lever":      Lever{},
	"ashby":      Ashby{},
	"workable":   Workable{Label: "candidate_moved"},
	"standard":   Standard{},
}

// testHeaders are the headers a delivery of the fixture name carries.
func testHeaders(name string) http.Header {
	h := http.Header{}
	h.Set("Greenhouse-Event-ID", "gh-event-"+name)
	h.Set("webhook-id", "msg_"+name)
	return h
}

// fixtures lists the payloads under testdata/<vendor>/, goldens excluded.
func fixtures(t testing.TB, vendor string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", vendor, "*.json"))
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
		t.Fatalf("no fixtures under testdata/%s", vendor)
	}
	return out
}

// TestGolden maps every fixture and compares the result with its .golden.json.
func TestGolden(t *testing.T) {
	for vendor, r := range testReceivers {
		for _, path := range fixtures(t, vendor) {
			name := strings.TrimSuffix(filepath.Base(path), ".json")
			t.Run(vendor+"/"+name, func(t *testing.T) {
				body, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				d, err := r.Parse(testHeaders(name), body, testNow)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				got, err := json.MarshalIndent(d, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				golden := strings.TrimSuffix(path, ".json") + ".golden.json"
				if *update {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s differs from the mapping (-want +got; go test -update rewrites it):\n%s", golden, diff)
				}
			})
		}
	}
}

// TestGoldenItemsValidate checks that every mapped item of every golden file passes
// Input.Validate, and that only valid outcomes are recorded.
func TestGoldenItemsValidate(t *testing.T) {
	for vendor := range testReceivers {
		goldens, err := filepath.Glob(filepath.Join("testdata", vendor, "*.golden.json"))
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
			var d Delivery
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
				assertValid(t, g, i, in)
				if vendor != "standard" && in.Source != vendor {
					t.Errorf("%s: item %d has source %q", g, i, in.Source)
				}
			}
		}
	}
}

// assertValid fails the test if in does not pass Input.Validate or has no
// idempotency key of its own.
func assertValid(t testing.TB, where string, i int, in interactions.Input) {
	t.Helper()
	it, errs := in.Validate("", testNow)
	if len(errs) > 0 {
		t.Errorf("%s: item %d does not validate: %+v\n%+v", where, i, errs, in)
	}
	if in.ExternalID == "" || it.Key == it.ID {
		t.Errorf("%s: item %d has no external_id, so a redelivery would be stored twice", where, i)
	}
}

// TestRedeliverySameKeys parses every fixture twice at different arrival times and
// checks that the idempotency keys do not change.
func TestRedeliverySameKeys(t *testing.T) {
	for vendor, r := range testReceivers {
		for _, path := range fixtures(t, vendor) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			h := testHeaders(strings.TrimSuffix(filepath.Base(path), ".json"))
			a, errA := r.Parse(h, body, testNow)
			b, errB := r.Parse(h, body, testNow.Add(3*time.Hour))
			if errA != nil || errB != nil {
				t.Fatalf("%s: %v %v", path, errA, errB)
			}
			if diff := cmp.Diff(keys(a), keys(b)); diff != "" {
				t.Errorf("%s: keys changed with the time of arrival (-first +second):\n%s", path, diff)
			}
		}
	}
}

func keys(d Delivery) []string {
	var out []string
	for _, in := range d.Items {
		out = append(out, interactions.IdempotencyKey(in.Source, in.ExternalID))
	}
	return out
}
