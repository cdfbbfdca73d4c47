package interactions

import (
	"reflect"
	"testing"
)

// TestSplitBodySingle: a body of one interaction is told from a batch without
// decoding it (the only allocation is the one-item list), and every body gets the
// answer decoding its keys gives.
func TestSplitBodySingle(t *testing.T) {
	one := []byte(`{"application_id":"a-1","candidate_id":"c-1","kind":"message","direction":"inbound","channel":"email","occurred_at":"2026-01-02T03:04:05Z","candidate":{"email":"x@example.com"}}`)
	if n := testing.AllocsPerRun(20, func() { _, _, _ = splitBody(one) }); n > 1 {
		t.Errorf("splitBody of one interaction allocates %v times: it decodes the body", n)
	}
	for _, body := range []string{
		string(one),
		`{"interactions":[{"kind":"note"}]}`,            // a batch
		`{"\u0069nteractions":[{"kind":"note"}]}`,       // a batch whose key is escaped
		`{"kind":"note","text":"see \"interactions\""}`, // the word in a value
		`{"kind":"note"}}`,                              // data after the object
		`{"kind":"note",}`,                              // not JSON
		`{"interactions":[],"kind":"note"}`,             // a batch with another key
		`{"kind":"note","text":"\u00e9t\u00e9"}`,        // escapes
	} {
		raws, batch, ferr := splitBody([]byte(body))
		wantRaws, wantBatch, wantErr := splitObject([]byte(body))
		if batch != wantBatch || !reflect.DeepEqual(ferr, wantErr) || !reflect.DeepEqual(raws, wantRaws) {
			t.Errorf("%s: splitBody = %q, batch %v, %v; decoding the keys: %q, batch %v, %v", body, raws, batch, ferr, wantRaws, wantBatch, wantErr)
		}
	}
}
