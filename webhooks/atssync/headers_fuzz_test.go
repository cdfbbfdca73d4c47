package atssync

import (
	"net/http"
	"testing"
	"time"
)

// FuzzRateHeaders: Retry-After and the X-RateLimit headers, whatever a vendor sends,
// never make a negative wait, and Retry-After never one past 2^20 seconds.
func FuzzRateHeaders(f *testing.F) {
	for _, s := range [][3]string{
		{"1", "0", "1"}, {"120", "0", "1700000000"}, {"Wed, 21 Oct 2026 07:28:00 GMT", "5", ""},
		{"-3", "0", "-1"}, {"", "0.0", "2.5"}, {"99999999999999999999", "x", "1e300"}, {"NaN", "0", "NaN"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	now := time.Date(2026, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, retryAfter, remaining, reset string) {
		if d := parseRetryAfter(retryAfter, now); d < 0 || d > (1<<20)*time.Second {
			t.Errorf("Retry-After %q: wait %v", retryAfter, d)
		}
		h := http.Header{}
		h.Set("X-RateLimit-Remaining", remaining)
		h.Set("X-RateLimit-Reset", reset)
		if until, ok := rateLimitReset(h, now); ok && until.Before(now) {
			t.Errorf("remaining %q, reset %q: until %v, before now", remaining, reset, until)
		}
	})
}
