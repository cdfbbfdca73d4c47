package service

import (
	"net/http"
	"strings"
)

// prefersMinimal reports whether the request's Prefer headers (RFC 7240) ask for
// return=minimal: the write's answer then carries what identifies each item stored
// (id, received_at, duplicate), not the items in full. Tokens are case-insensitive and
// a value may be quoted; preferences are separated by commas, their parameters by
// semicolons (ignored here). Of several return preferences, the first counts.
func prefersMinimal(h http.Header) bool {
	for _, line := range h.Values("Prefer") {
		for pref := range strings.SplitSeq(line, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, value, _ := strings.Cut(pref, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "return") {
				continue
			}
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			return strings.EqualFold(value, "minimal")
		}
	}
	return false
}
