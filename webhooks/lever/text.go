package lever

import (
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The receivers' rules for what goes into an interaction (webhooks/webhooks.go:
// cleanLine, text, email, phoneE164, externalID), so that the sync writes what the
// receiver would. They fold into the shared webhooks helpers once the Lever receiver
// lives in this package.

const (
	maxIDBytes   = 200 // interactions' limit on ids
	maxTextBytes = 500 // interactions' limit on names, titles, stages, external ids
)

// cleanLine drops control characters and invalid UTF-8 and trims spaces.
func cleanLine(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// text is cleanLine cut to what interactions accept, on a rune boundary.
func text(s string) string {
	s = cleanLine(s)
	if len(s) <= maxTextBytes {
		return s
	}
	cut := maxTextBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut])
}

// vendorID is "lever:<id>", "" for an empty id or one interactions would refuse.
func vendorID(id string) string {
	if id == "" || id != cleanLine(id) || len("lever:"+id) > maxIDBytes {
		return ""
	}
	return "lever:" + id
}

// externalID joins parts with ':'; one longer than interactions allow is replaced by
// "sha256:<hex>" of itself, which stays stable across passes.
func externalID(parts ...string) string {
	s := cleanLine(strings.Join(parts, ":"))
	if len(s) <= maxTextBytes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// phoneE164 returns p as E.164 once formatting is removed, or "" if it is not.
func phoneE164(p string) string {
	p = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '\u00a0':
			return -1
		}
		return r
	}, p)
	if e164RE.MatchString(p) {
		return p
	}
	return ""
}

// validEmail returns e if interactions accept it as an email address, else "".
func validEmail(e string) string {
	e = strings.TrimSpace(e)
	if e == "" || len(e) > 254 {
		return ""
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e {
		return ""
	}
	return e
}
