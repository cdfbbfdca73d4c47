package service

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The examples of RFC 7396, appendix A.
var mergePatchCases = []struct{ target, patch, want string }{
	{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
	{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
	{`{"a":"b"}`, `{"a":null}`, `{}`},
	{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
	{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
	{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
	{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
	{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
	{`["a","b"]`, `["c","d"]`, `["c","d"]`},
	{`{"a":"b"}`, `["c"]`, `["c"]`},
	{`{"a":"foo"}`, `null`, `null`},
	{`{"a":"foo"}`, `"bar"`, `"bar"`},
	{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
	{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
	{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
}

func decodeAny(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMergePatch(t *testing.T) {
	t.Parallel()
	for _, tc := range mergePatchCases {
		target := decodeAny(t, tc.target)
		got := mergePatch(target, decodeAny(t, tc.patch))
		if want := decodeAny(t, tc.want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s + %s = %v, want %v", tc.target, tc.patch, got, want)
		}
		if !reflect.DeepEqual(target, decodeAny(t, tc.target)) {
			t.Errorf("%s + %s changed the target", tc.target, tc.patch)
		}
	}
}

// FuzzMergePatch: applying a merge patch twice gives what applying it once gives
// (RFC 7396 patches are idempotent), and the target is left as it was.
func FuzzMergePatch(f *testing.F) {
	for _, tc := range mergePatchCases {
		f.Add(tc.target, tc.patch)
	}
	f.Fuzz(func(t *testing.T, target, patch string) {
		var tv, pv any
		if json.Unmarshal([]byte(target), &tv) != nil || json.Unmarshal([]byte(patch), &pv) != nil {
			return
		}
		before, _ := json.Marshal(tv)
		once := mergePatch(tv, pv)
		twice := mergePatch(once, pv)
		if !reflect.DeepEqual(once, twice) {
			t.Fatalf("%s + %s: once %v, twice %v", target, patch, once, twice)
		}
		if after, _ := json.Marshal(tv); string(after) != string(before) {
			t.Fatalf("the target changed: %s → %s", before, after)
		}
	})
}
