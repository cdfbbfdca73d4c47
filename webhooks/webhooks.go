package webhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goodwillhq/goodwill/interactions"
)

// Delivery is one webhook request, verified and mapped.
type Delivery struct {
	// Source is the vendor: "greenhouse", "lever", "ashby", "workable" or "standard".
	Source string `json:"source"`
	// DeliveryID is the vendor's id of this delivery or event, "" when it sends none.
	// For Lever it is "<token>:<triggeredAt>" (see Lever).
	DeliveryID string `json:"delivery_id,omitempty"`
	// Event is the vendor's event name ("candidate_stage_change", "applicationSubmit").
	Event string `json:"event,omitempty"`
	// Ping is set for the vendor's ping or test deliveries: answer 200, store nothing.
	Ping bool `json:"ping,omitempty"`
	// Ignored is why a valid delivery maps to nothing (an unknown or irrelevant event).
	Ignored string `json:"ignored,omitempty"`
	// Items are the interactions to store. Empty when Ping or Ignored is set.
	Items []interactions.Input `json:"items,omitempty"`
	// Thin is set when the event names its application but not its candidate: the
	// items without a candidate_id take the candidate of the application goodwill
	// knows, and when it knows none yet the delivery is parked until it arrives.
	Thin bool `json:"thin,omitempty"`
}

// Receiver verifies and maps one source's webhook deliveries.
type Receiver interface {
	// Source is the source's name as it appears in URLs and env variables (lower case).
	Source() string
	// Verify checks the delivery's signature against each of secrets in turn and
	// succeeds if any matches. Errors wrap one of ErrNoSecret, ErrMissingSignature,
	// ErrMalformedSignature, ErrBadSignature or ErrStaleTimestamp: answer 401.
	Verify(h http.Header, body []byte, secrets []string, now time.Time) error
	// Parse maps a verified delivery. now is the time of arrival, used only where the
	// payload carries no time of its own. Errors wrap ErrMalformedBody: answer 400.
	Parse(h http.Header, body []byte, now time.Time) (Delivery, error)
}

// Errors of Verify and Parse. They are wrapped with details; test with errors.Is.
var (
	ErrNoSecret           = errors.New("no signing secret is configured for this source")
	ErrMissingSignature   = errors.New("the signature is missing")
	ErrMalformedSignature = errors.New("the signature is malformed")
	ErrBadSignature       = errors.New("the signature does not match")
	ErrStaleTimestamp     = errors.New("the signed timestamp is more than 5 minutes away from now")
	ErrMalformedBody      = errors.New("the body is malformed")
)

// Tolerance is how far a signed timestamp may lie from now (Standard Webhooks).
const Tolerance = 5 * time.Minute

// Limits on what one delivery may produce.
const (
	MaxIDBytes       = 200 // interactions' limit on ids
	MaxTextBytes     = 500 // interactions' limit on names, titles, stages, external ids
	MaxItems         = interactions.MaxBatch
	MaxSignatures    = 32 // entries of a signature header that are looked at
	maxMetadataBytes = 1 << 10
)

// Malformed returns an error wrapping ErrMalformedBody with a formatted detail.
func Malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedBody, fmt.Sprintf(format, args...))
}

// HMACSHA256 returns HMAC-SHA256(key, parts...).
func HMACSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// VerifyHexSHA256 decodes a hex HMAC-SHA256 and compares it, in constant time, with the
// HMAC of msg under each secret.
func VerifyHexSHA256(header, sig string, msg []byte, secrets []string) error {
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s must be 64 hex digits of HMAC-SHA256", ErrMalformedSignature, header)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if hmac.Equal(got, HMACSHA256([]byte(s), msg)) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrBadSignature, header)
}

// SignatureHeader returns the trimmed value of a signature header, after checking that
// a secret is configured and that the header is there.
func SignatureHeader(h http.Header, name string, secrets []string) (string, error) {
	if NoSecret(secrets) {
		return "", ErrNoSecret
	}
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return "", fmt.Errorf("%w: %s header", ErrMissingSignature, name)
	}
	return v, nil
}

// NoSecret reports whether no secret of secrets is set.
func NoSecret(secrets []string) bool {
	for _, s := range secrets {
		if s != "" {
			return false
		}
	}
	return true
}

// VendorID is a vendor id that may arrive as a JSON string or number.
type VendorID string

// UnmarshalJSON accepts a string, a number (kept as written) or null.
func (v *VendorID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*v = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = VendorID(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("an id must be a string or a number")
	}
	*v = VendorID(n.String())
	return nil
}

// Decode unmarshals a vendor body, tolerating unknown fields (vendors add fields).
func Decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return Malformed("must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Malformed("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// Prefixed returns "<vendor>:<id>", or "" for an empty id.
func Prefixed(vendor string, v VendorID) string {
	if v == "" {
		return ""
	}
	return vendor + ":" + string(v)
}

// ExternalID joins parts with ':' into an external id; one longer than interactions
// allows is replaced by "sha256:<hex>" of itself, which stays stable across deliveries.
func ExternalID(parts ...string) string {
	s := CleanLine(strings.Join(parts, ":"))
	if len(s) <= MaxTextBytes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CleanLine drops control characters and invalid UTF-8 and trims spaces.
func CleanLine(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// Text cleans s and cuts it to interactions' limit on text fields, at a rune boundary.
func Text(s string) string {
	s = CleanLine(s)
	if len(s) <= MaxTextBytes {
		return s
	}
	cut := MaxTextBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut])
}

var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// PhoneE164 returns p as E.164 once formatting is removed, or "" if it is not.
func PhoneE164(p string) string {
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

// ValidEmail returns e if interactions accept it as an email address, else "".
func ValidEmail(e string) string {
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

// ContactDetails builds a candidate's contact details (Input.Candidate) from what a
// vendor sends: the name cleaned, the email and phone only when valid; nil when none
// is usable.
func ContactDetails(name, mail, phone string) *interactions.Person {
	p := interactions.Person{Name: Text(name), Email: ValidEmail(mail), Phone: PhoneE164(phone)}
	if p.IsZero() {
		return nil
	}
	return &p
}

// JobInfo builds Input.Job, nil when no detail is usable.
func JobInfo(title, department string) *interactions.JobInfo {
	j := interactions.JobInfo{Title: Text(title), Department: Text(department)}
	if j == (interactions.JobInfo{}) {
		return nil
	}
	return &j
}

// ParseTime parses an RFC 3339 time and reports whether it was one.
func ParseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil || t.UTC().Year() < 1970 || t.UTC().Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// FirstTime returns the first of values that is an RFC 3339 time, formatted for the
// API, and whether one was found.
func FirstTime(values ...string) (string, bool) {
	for _, v := range values {
		if t, ok := ParseTime(v); ok {
			return interactions.APITime(t), true
		}
	}
	return "", false
}

// APIDuration renders end-start in the API's notation ("45m", "1h30m"), "" when it is not
// a positive span of less than a day.
func APIDuration(start, end time.Time) string {
	d := end.Sub(start).Round(time.Second)
	if d <= 0 || d >= 24*time.Hour {
		return ""
	}
	var b strings.Builder
	if h := int(d / time.Hour); h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m := int(d % time.Hour / time.Minute); m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s := int(d % time.Minute / time.Second); s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// Metadata encodes a small map as Input.Metadata, dropping empty values; nil if none.
func Metadata(kv map[string]string) json.RawMessage {
	m := map[string]string{}
	for k, v := range kv {
		if v = Text(v); v != "" {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil || len(b) > maxMetadataBytes {
		return nil
	}
	return b
}

// CheckIDs makes sure an item's ids are what interactions accept: the required ones
// present, all printable and short enough. Optional ids that are not are dropped.
func CheckIDs(in *interactions.Input) error {
	ok := func(s string) bool { return len(s) <= MaxIDBytes && s == CleanLine(s) }
	switch {
	case in.CandidateID == "" || (in.ApplicationID == "" && !candidateLevel(in.Kind)):
		return Malformed("the payload names no application or candidate")
	case !ok(in.ApplicationID) || !ok(in.CandidateID):
		return Malformed("an application or candidate id is not printable or longer than %d bytes", MaxIDBytes)
	case (in.Kind == string(interactions.KindInterviewScheduled) ||
		in.Kind == string(interactions.KindInterviewRescheduled) ||
		in.Kind == string(interactions.KindInterviewCanceled)) && (in.InterviewID == "" || !ok(in.InterviewID)):
		return Malformed("an interview id is not printable or longer than %d bytes", MaxIDBytes)
	}
	for _, p := range []*string{&in.JobID, &in.RecruiterID, &in.ActorID} {
		if !ok(*p) {
			*p = ""
		}
	}
	return nil
}

// CheckThinIDs is CheckIDs for an item of a thin delivery (Delivery.Thin), whose
// candidate may be missing: Ingest takes it from the application.
func CheckThinIDs(in *interactions.Input) error {
	if in.CandidateID != "" {
		return CheckIDs(in)
	}
	in.CandidateID = "-"
	err := CheckIDs(in)
	in.CandidateID = ""
	return err
}

// IsReferral reports whether a source name says the candidate was referred. ATSs name
// their sources freely ("Referral", "Employee referral"); the word is the signal.
func IsReferral(source string) bool {
	return strings.Contains(strings.ToLower(source), "referral") || strings.Contains(strings.ToLower(source), "referred")
}
