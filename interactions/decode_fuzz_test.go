package interactions

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseWrite feeds the API decoder arbitrary bodies: it must never panic, and what
// it accepts must be valid interactions.
func FuzzParseWrite(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/write/*.json")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
	f.Add([]byte(`{"interactions":[{}]}`), "k")
	f.Add([]byte(`{"candidate":{"name":1}}`), "")
	f.Add([]byte(`{"\u0069nteractions":[{}]}`), "")
	f.Add([]byte(`{"kind":"note"}}`), "")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		// Telling a single interaction from a batch without decoding agrees with
		// decoding the keys.
		if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '{' {
			raws, batch, ferr := splitBody(trimmed)
			wantRaws, wantBatch, wantErr := splitObject(trimmed)
			if batch != wantBatch || !reflect.DeepEqual(ferr, wantErr) || len(raws) != len(wantRaws) {
				t.Fatalf("splitBody = %d items, batch %v, %v; decoding the keys: %d items, batch %v, %v",
					len(raws), batch, ferr, len(wantRaws), wantBatch, wantErr)
			}
		}
		items, _, err := ParseWrite(body, key, now)
		if err != nil {
			if ErrorCode(err) != CodeInvalid {
				t.Fatalf("error of code %s: %v", ErrorCode(err), err)
			}
			return
		}
		if len(items) == 0 || len(items) > MaxBatch {
			t.Fatalf("%d items accepted", len(items))
		}
		for _, it := range items {
			if it.CandidateID == "" || it.Key == "" || it.ID == "" || it.OccurredAt.IsZero() {
				t.Fatalf("accepted an incomplete interaction %+v", it)
			}
			pool := it.Kind == KindPoolAdded || it.Kind == KindPoolRemoved
			switch {
			case pool && (it.ApplicationID != "" || it.PoolID == ""):
				t.Fatalf("accepted a pool event with application %q, pool %q", it.ApplicationID, it.PoolID)
			case !pool && it.PoolID != "":
				t.Fatalf("accepted pool_id on %s", it.Kind)
			case it.ApplicationID == "" && !pool && !candidateLevelKinds[it.Kind]:
				t.Fatalf("accepted %s without an application", it.Kind)
			case IsNurture(it.ApplicationID):
				t.Fatalf("accepted the reserved application id %q", it.ApplicationID)
			}
		}
	})
}
