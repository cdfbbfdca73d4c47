package scores

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends groups as a JSON array to b: byte for byte what encoding/json
// writes for them (a nil slice or map is null), without its reflection and map
// sorting, which cost more than the query itself for thousands of groups. A float
// that JSON cannot carry (NaN, ±Inf), which encoding/json refuses, is written null.
func AppendJSON(b []byte, groups []Group) []byte {
	if groups == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range groups {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendGroup(b, &groups[i])
	}
	return append(b, ']')
}

func appendGroup(b []byte, g *Group) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, g.Key)
	b = append(b, `,"name":`...)
	b = appendString(b, g.Name)
	b = append(b, `,"applications":`...)
	b = strconv.AppendInt(b, int64(g.Applications), 10)
	b = append(b, `,"first_response_p50_hours":`...)
	b = appendFloatPtr(b, g.FirstResponseP50Hours)
	b = append(b, `,"first_response_p90_hours":`...)
	b = appendFloatPtr(b, g.FirstResponseP90Hours)
	b = append(b, `,"first_response_pending":`...)
	b = strconv.AppendInt(b, int64(g.FirstResponsePending), 10)
	b = append(b, `,"reply_p50_hours":`...)
	b = appendFloatPtr(b, g.ReplyP50Hours)
	b = append(b, `,"attainment_by_metric":`...)
	b = appendFloatMap(b, g.AttainmentByMetric)
	b = append(b, `,"sla_attainment":`...)
	b = appendFloatPtr(b, g.SLAAttainment)
	b = append(b, `,"breaches":`...)
	b = strconv.AppendInt(b, int64(g.Breaches), 10)
	b = append(b, `,"silent_now":`...)
	b = strconv.AppendInt(b, int64(g.SilentNow), 10)
	b = append(b, `,"ghosted":`...)
	b = strconv.AppendInt(b, int64(g.Ghosted), 10)
	b = append(b, `,"ghosting_rate":`...)
	b = appendFloatPtr(b, g.GhostingRate)
	b = append(b, `,"interviews":`...)
	b = strconv.AppendInt(b, int64(g.Interviews), 10)
	b = append(b, `,"missed_interviews":`...)
	b = strconv.AppendInt(b, int64(g.MissedInterviews), 10)
	b = append(b, `,"survey_responses":`...)
	b = appendIntPtr(b, g.SurveyResponses)
	b = append(b, `,"cnps":`...)
	b = appendIntPtr(b, g.CNPS)
	b = append(b, `,"experience_score":`...)
	b = appendIntPtr(b, g.ExperienceScore)
	for _, f := range [...]struct {
		name string
		v    *int
		o    *Optional
	}{
		{`,"contacted":`, g.Contacted, nil},
		{`,"interviewed":`, g.Interviewed, nil},
		{`,"offered":`, g.Offered, nil},
		{`,"hired":`, g.Hired, nil},
		{`,"time_to_hire_p50_days":`, nil, &g.TimeToHireP50Days},
		{`,"cost_per_application":`, nil, &g.CostPerApplication},
		{`,"cost_per_hire":`, nil, &g.CostPerHire},
		{`,"referral_hires":`, g.ReferralHires, nil},
		{`,"referral_share_of_hires":`, nil, &g.ReferralShareOfHires},
		{`,"hires_who_referred":`, g.HiresWhoReferred, nil},
	} {
		switch {
		case f.v != nil:
			b = append(b, f.name...)
			b = appendIntPtr(b, f.v)
		case f.o != nil && f.o.Set:
			b = append(b, f.name...)
			b = appendFloatPtr(b, f.o.Value)
		}
	}
	return append(b, '}')
}

// appendFloatMap writes m with its keys in order, as encoding/json does.
func appendFloatMap(b []byte, m map[string]float64) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	type pair struct {
		k string
		v float64
	}
	var space [nMetrics]pair
	pairs := space[:0]
	for k, v := range m {
		pairs = append(pairs, pair{k, v})
	}
	for i := 1; i < len(pairs); i++ { // insertion sort: a handful of keys
		for j := i; j > 0 && pairs[j].k < pairs[j-1].k; j-- {
			pairs[j], pairs[j-1] = pairs[j-1], pairs[j]
		}
	}
	b = append(b, '{')
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p.k)
		b = append(b, ':')
		b = appendFloat(b, p.v)
	}
	return append(b, '}')
}

func appendIntPtr(b []byte, v *int) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*v), 10)
}

func appendFloatPtr(b []byte, v *float64) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return appendFloat(b, *v)
}

// appendFloat writes f as encoding/json does: like ES6's number to string, the
// shortest form that reads back the same, in exponent form only below 1e-6 and from
// 1e21 on.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	if n, ok := tenThousandths(f); ok {
		return appendDecimal(b, n)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// tenThousandths returns n when f is the float64 nearest to n/10⁴ for an n of at
// most 15 digits, as every figure the book rounds to 2 or 4 decimals is. Then the
// shortest decimal that reads back as f is n/10⁴ itself (two decimals of at most 15
// significant digits are never the same float64), so it can be written without
// strconv's search. Zero (and its sign) is left to strconv.
func tenThousandths(f float64) (int64, bool) {
	const limit = 1e15
	x := f * 1e4
	if f == 0 || !(x > -limit && x < limit) {
		return 0, false
	}
	n := math.Round(x)
	return int64(n), n/1e4 == f
}

// appendDecimal writes n/10⁴ in plain decimal notation, without trailing zeros.
func appendDecimal(b []byte, n int64) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	b = strconv.AppendInt(b, n/10000, 10)
	frac := n % 10000
	if frac == 0 {
		return b
	}
	digits := [5]byte{'.', byte('0' + frac/1000), byte('0' + frac/100%10), byte('0' + frac/10%10), byte('0' + frac%10)}
	end := len(digits)
	for digits[end-1] == '0' {
		end--
	}
	return append(b, digits[:end]...)
}

const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes a JSON string carries as they are.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString writes s as a JSON string as encoding/json does: quotes, backslashes
// and control characters escaped, <, > and & as \u003c, \u003e and \u0026 (safe
// inside HTML), invalid UTF-8 as \ufffd, and U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
