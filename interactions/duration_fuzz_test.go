package interactions

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzParseDuration feeds the duration notation arbitrary strings. Whatever it accepts
// matches the notation, stays within the bounds that keep it in a time.Duration, and
// round-trips: its String parses back to the same value (JSON and BSON too), and the
// wall-clock length is the sum of the parts as written.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"2d", "36h", "30m", "4s", "1d12h", "0s", "0d", "1d2h3m4s", "90m", "3600s", "48h", "100000d",
		"100001d", "100000d100000h100000m100000s", "100000h59m59s", "100000h60m", "99999h3600s", "", "0", "1", "d", "1h1d", "-1s", "1.5h", " 1h", "1h ",
		"01h", "1H", "1w", "99999999999999999999s", "1d\n", "٣h",
	} {
		f.Add(s)
	}
	notation := regexp.MustCompile(`^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$`)
	part := regexp.MustCompile(`(\d+)([dhms])`)
	unit := map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != (Duration{}) {
				t.Fatalf("ParseDuration(%q) failed (%v) but returned %+v", s, err, d)
			}
			if s != "" && notation.MatchString(s) {
				// In the notation, only a number over the bound may fail, or hours,
				// minutes and seconds that together exceed the bound in hours.
				var rest time.Duration
				for _, m := range part.FindAllStringSubmatch(s, -1) {
					n := mustAtoi(m[1])
					if n > maxDurationPart {
						return
					}
					if m[2] != "d" {
						rest += time.Duration(n) * unit[m[2]]
					}
				}
				if rest/time.Hour > maxDurationPart {
					return
				}
				t.Fatalf("ParseDuration(%q) refused a duration in the notation: %v", s, err)
			}
			return
		}
		if s == "" || !notation.MatchString(s) {
			t.Fatalf("ParseDuration(%q) accepted a string outside the notation: %+v", s, d)
		}
		var want time.Duration
		for _, m := range part.FindAllStringSubmatch(s, -1) {
			n := mustAtoi(m[1])
			if n > maxDurationPart {
				t.Fatalf("ParseDuration(%q) accepted %s%s, over the bound %d", s, m[1], m[2], maxDurationPart)
			}
			want += time.Duration(n) * unit[m[2]]
		}
		if d.Wall() != want || d.Days < 0 || d.Rest < 0 || d.Rest/time.Hour > maxDurationPart {
			t.Fatalf("ParseDuration(%q) = %+v, wall %s; want wall %s", s, d, d.Wall(), want)
		}
		if d.IsZero() != (want == 0) {
			t.Fatalf("ParseDuration(%q) = %+v: IsZero %v, wall %s", s, d, d.IsZero(), want)
		}

		// The canonical form parses back to the same value, and is its own canonical form.
		str := d.String()
		back, err := ParseDuration(str)
		if err != nil || back != d || back.String() != str {
			t.Fatalf("ParseDuration(%q) = %+v; String %q parses to %+v, %v", s, d, str, back, err)
		}
		// JSON and BSON round trips.
		js, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var fromJSON Duration
		if err := json.Unmarshal(js, &fromJSON); err != nil || fromJSON != d {
			t.Fatalf("JSON %s of %+v reads back as %+v, %v", js, d, fromJSON, err)
		}
		doc, err := bson.Marshal(struct{ D Duration }{d})
		if err != nil {
			t.Fatal(err)
		}
		var fromBSON struct{ D Duration }
		if err := bson.Unmarshal(doc, &fromBSON); err != nil || fromBSON.D != d {
			t.Fatalf("BSON of %+v reads back as %+v, %v", d, fromBSON.D, err)
		}
	})
}

// mustAtoi reads a run of ASCII digits, saturating far above any bound.
func mustAtoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
		if n > 1<<40 {
			return 1 << 40
		}
	}
	return n
}
