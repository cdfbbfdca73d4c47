package service

import (
	"net/http"
	"strings"
	"testing"
)

func TestPrefersMinimal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		headers []string
		want    bool
	}{
		{nil, false},
		{[]string{"return=minimal"}, true},
		{[]string{"RETURN = Minimal"}, true},
		{[]string{`return="minimal"`}, true},
		{[]string{"respond-async, return=minimal; foo=bar"}, true},
		{[]string{"wait=10", "return=minimal"}, true},
		{[]string{"return=representation"}, false},
		{[]string{"return=representation, return=minimal"}, false}, // the first counts
		{[]string{"return"}, false},
		{[]string{"returns=minimal"}, false},
		{[]string{"handling=lenient"}, false},
	} {
		h := http.Header{}
		for _, v := range tc.headers {
			h.Add("Prefer", v)
		}
		if got := prefersMinimal(h); got != tc.want {
			t.Errorf("Prefer %q: prefersMinimal = %v, want %v", tc.headers, got, tc.want)
		}
	}
}

// FuzzPrefersMinimal: any Prefer header is read without panicking, and a header that
// asks for nothing but return=minimal, however spaced and cased, is honoured.
func FuzzPrefersMinimal(f *testing.F) {
	for _, s := range []string{"return=minimal", `return="minimal"; x=1`, "a, b=c;d", ",;=\"", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		prefersMinimal(http.Header{"Prefer": {v}})
		pad := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return r
			}
			return -1
		}, v)
		if !prefersMinimal(http.Header{"Prefer": {pad + "Return" + pad + "=" + pad + "MINIMAL" + pad}}) {
			t.Fatalf("return=minimal padded with %q not honoured", pad)
		}
	})
}
