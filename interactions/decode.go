package interactions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits on a write.
const (
	MaxBatch        = 1000            // interactions in one request
	MaxMetadata     = 8 << 10         // bytes of metadata per interaction
	MaxFuture       = 5 * time.Minute // how far occurred_at may lie ahead of now
	maxIDLength     = 200
	maxTextLength   = 500
	DefaultSource   = "api"
	maxIdemKeyBytes = 200
	// MaxHold is how far a hold's until may lie after its occurred_at.
	MaxHold = 90 * 24 * time.Hour
)

// Input is an interaction as a client sends it. Times are strings so that
// a bad one can be reported by field name.
type Input struct {
	ApplicationID     string          `json:"application_id"`
	CandidateID       string          `json:"candidate_id"`
	Kind              string          `json:"kind"`
	OccurredAt        string          `json:"occurred_at"`
	Direction         string          `json:"direction"`
	Channel           string          `json:"channel"`
	JobID             string          `json:"job_id"`
	RecruiterID       string          `json:"recruiter_id"`
	ActorID           string          `json:"actor_id"`
	Source            string          `json:"source"`
	ExternalID        string          `json:"external_id"`
	CandidateNotified bool            `json:"candidate_notified"`
	ScheduledFor      string          `json:"scheduled_for"`
	Duration          string          `json:"duration"`
	InterviewID       string          `json:"interview_id"`
	Stage             string          `json:"stage"`
	PoolID            string          `json:"pool_id,omitempty"`
	Score             *int            `json:"score"`
	Until             string          `json:"until"`
	PromisedBy        string          `json:"promised_by"`
	Candidate         *Person         `json:"candidate"`
	Job               *JobInfo        `json:"job"`
	Referral          bool            `json:"referral"`
	Attribution       *Attribution    `json:"attribution,omitempty"`
	EmployeeID        string          `json:"employee_id,omitempty"`
	Metadata          json.RawMessage `json:"metadata"`
	// FromSync is set by the ATS sync, never from JSON: only then may a
	// details_updated carry attribution, where the vendor's API says the candidate
	// came from (a webhook's application_received, stored first, may not say).
	FromSync bool `json:"-"`
}

// ParseWrite decodes and validates the body of POST /v1/interactions: one interaction
// object, or {"interactions": [...]} with up to MaxBatch. Validation is all or nothing:
// the error is an *Error of CodeInvalid naming every bad field ("interactions[3].kind").
// idemKey is the request's Idempotency-Key header: items without external_id take it
// (plus ":<index>" in a batch). now bounds occurred_at and stamps received_at.
func ParseWrite(body []byte, idemKey string, now time.Time) (items []Interaction, batch bool, err error) {
	raws, batch, ferr := splitBody(body)
	if ferr != nil {
		return nil, false, Invalid(*ferr)
	}
	if len(idemKey) > maxIdemKeyBytes {
		return nil, batch, Invalid(FieldError{"Idempotency-Key", fmt.Sprintf("must be at most %d bytes", maxIdemKeyBytes)})
	}
	var fields []FieldError
	items = make([]Interaction, 0, len(raws))
	for i, raw := range raws {
		prefix := ""
		key := idemKey
		if batch {
			prefix = fmt.Sprintf("interactions[%d].", i)
			if key != "" {
				key += ":" + strconv.Itoa(i)
			}
		}
		in, errs := DecodeInput(raw, prefix)
		if len(errs) > 0 {
			fields = append(fields, errs...)
			continue
		}
		if in.ExternalID == "" {
			in.ExternalID = key
		}
		it, errs := in.Validate(prefix, now)
		fields = append(fields, errs...)
		items = append(items, it)
	}
	if len(fields) > 0 {
		return nil, batch, Invalid(fields...)
	}
	return items, batch, nil
}

// splitBody tells a single interaction from a batch and returns the raw items.
func splitBody(body []byte) ([]json.RawMessage, bool, *FieldError) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, false, &FieldError{"body", "must be a JSON object: one interaction, or {\"interactions\": [...]}"}
	}
	if single(body) {
		return []json.RawMessage{body}, false, nil
	}
	return splitObject(body)
}

// splitObject is splitBody for a body that starts with '{', by decoding its keys.
func splitObject(body []byte) ([]json.RawMessage, bool, *FieldError) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, false, &FieldError{"body", "is not valid JSON: " + jsonProblem(err)}
	}
	list, ok := top["interactions"]
	if !ok {
		return []json.RawMessage{body}, false, nil
	}
	for k := range top {
		if k != "interactions" {
			return nil, true, &FieldError{k, "unknown field (a batch has only \"interactions\")"}
		}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(list, &raws); err != nil {
		return nil, true, &FieldError{"interactions", "must be an array of interaction objects"}
	}
	switch {
	case len(raws) == 0:
		return nil, true, &FieldError{"interactions", "must not be empty"}
	case len(raws) > MaxBatch:
		return nil, true, &FieldError{"interactions", fmt.Sprintf("at most %d per request", MaxBatch)}
	}
	return raws, true, nil
}

// single reports whether body, a JSON object by its first byte, is certainly one
// interaction: valid JSON without the key "interactions". It checks without decoding
// (most requests carry one interaction, and decoding the body into a map to look for
// the key cost as much as decoding the interaction): a body that spells the word
// "interactions" anywhere, or has a \u escape (which could spell it), is left to the
// full check.
func single(body []byte) bool {
	return !bytes.Contains(body, []byte(`"interactions"`)) && !bytes.Contains(body, []byte(`\u`)) && json.Valid(body)
}

// DecodeInput decodes one interaction object strictly: unknown fields and wrong types
// are field errors under prefix (e.g. "interactions[2].").
func DecodeInput(raw json.RawMessage, prefix string) (Input, []FieldError) {
	// Nested objects are decoded on their own so that their errors carry their path.
	var wire struct {
		Input
		Candidate   json.RawMessage `json:"candidate"`
		Job         json.RawMessage `json:"job"`
		Attribution json.RawMessage `json:"attribution"`
	}
	in := &wire.Input
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		fe := DecodeError(err, prefix)
		fe.Field = strings.Replace(fe.Field, "Input.", "", 1) // the embedded struct's name
		return *in, []FieldError{fe}
	}
	if dec.More() {
		return *in, []FieldError{{strings.TrimSuffix(prefix, ".") + orBody(prefix), "has data after the object"}}
	}
	present := func(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }
	if present(wire.Candidate) {
		in.Candidate = new(Person)
	}
	if present(wire.Job) {
		in.Job = new(JobInfo)
	}
	if present(wire.Attribution) {
		in.Attribution = new(Attribution)
	}
	for _, sub := range []struct {
		name string
		raw  json.RawMessage
		dst  any
	}{{"candidate", wire.Candidate, in.Candidate}, {"job", wire.Job, in.Job}, {"attribution", wire.Attribution, in.Attribution}} {
		if !present(sub.raw) {
			continue
		}
		if sub.raw[0] != '{' {
			return *in, []FieldError{{prefix + sub.name, "must be a JSON object"}}
		}
		d := json.NewDecoder(bytes.NewReader(sub.raw))
		d.DisallowUnknownFields()
		if err := d.Decode(sub.dst); err != nil {
			return *in, []FieldError{DecodeError(err, prefix+sub.name+".")}
		}
	}
	return *in, nil
}

func orBody(prefix string) string {
	if prefix == "" {
		return "body"
	}
	return ""
}

// DecodeStrict decodes body, one JSON value, into v as the API reads request bodies:
// unknown fields, wrong types, malformed JSON and data after the value are CodeInvalid
// errors naming the field ("body" when no field is to blame).
func DecodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Invalid(DecodeError(err, ""))
	}
	if rest := bytes.Trim(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 { // JSON's whitespace only
		return Invalid(FieldError{Field: "body", Message: "has data after the JSON object"})
	}
	return nil
}

// DecodeError turns an encoding/json error into a field error.
func DecodeError(err error, prefix string) FieldError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return FieldError{strings.TrimSuffix(prefix, ".") + orBody(prefix), "must be a JSON object"}
		}
		if typeErr.Type == reflect.TypeFor[Duration]() {
			return FieldError{prefix + typeErr.Field, "must be a duration like 2d, 36h, 30m or 4s"}
		}
		return FieldError{prefix + typeErr.Field, "must be a " + jsonTypeName(typeErr.Type.Kind().String())}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if name == "" { // a key "": name the object that holds it
			return FieldError{strings.TrimSuffix(prefix, ".") + orBody(prefix), `has an unknown field ""`}
		}
		return FieldError{prefix + name, "unknown field"}
	}
	return FieldError{strings.TrimSuffix(prefix, ".") + orBody(prefix), "is not valid JSON: " + jsonProblem(err)}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int64":
		return "whole number"
	case "bool":
		return "boolean (true or false)"
	case "struct", "map":
		return "JSON object"
	}
	return kind
}

func jsonProblem(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

var (
	sourceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	phoneRE  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// interviewKinds need an interview_id to tie their events together.
var interviewKinds = map[Kind]bool{
	KindInterviewScheduled: true, KindInterviewRescheduled: true, KindInterviewCanceled: true,
	KindInterviewCompleted: true, KindInterviewNoShow: true, KindFeedbackSubmitted: true,
}

// Validate checks an input and turns it into an Interaction with a fresh id and
// received_at = now. Field names in errors carry prefix.
func (in Input) Validate(prefix string, now time.Time) (Interaction, []FieldError) {
	var errs []FieldError
	bad := func(field, msg string) { errs = append(errs, FieldError{prefix + field, msg}) }
	now = now.UTC().Truncate(time.Millisecond)

	it := Interaction{
		ID:                NewID(),
		ApplicationID:     in.ApplicationID,
		CandidateID:       in.CandidateID,
		Kind:              Kind(in.Kind),
		Channel:           in.Channel,
		JobID:             in.JobID,
		RecruiterID:       in.RecruiterID,
		ActorID:           in.ActorID,
		Source:            in.Source,
		ExternalID:        in.ExternalID,
		CandidateNotified: in.CandidateNotified,
		InterviewID:       in.InterviewID,
		Stage:             in.Stage,
		PoolID:            in.PoolID,
		Score:             in.Score,
		Referral:          in.Referral,
		EmployeeID:        strings.TrimSpace(in.EmployeeID),
		ReceivedAt:        now,
	}
	if it.Source == "" {
		it.Source = DefaultSource
	}

	checkID := func(field, v string, required bool) {
		switch {
		case v == "" && required:
			bad(field, "is required")
		case len(v) > maxIDLength:
			bad(field, fmt.Sprintf("must be at most %d bytes", maxIDLength))
		case !printable(v):
			bad(field, "must be printable UTF-8 text")
		}
	}
	checkApplication(it.Kind, in.ApplicationID, in.PoolID, bad)
	checkID("application_id", in.ApplicationID, false)
	checkID("pool_id", in.PoolID, false)
	checkID("candidate_id", in.CandidateID, true)
	checkID("job_id", in.JobID, false)
	checkID("recruiter_id", in.RecruiterID, false)
	checkID("actor_id", in.ActorID, false)
	checkID("interview_id", in.InterviewID, false)
	if len(in.ExternalID) > maxTextLength || !printable(in.ExternalID) {
		bad("external_id", fmt.Sprintf("must be printable text of at most %d bytes", maxTextLength))
	}
	if !sourceRE.MatchString(it.Source) {
		bad("source", "must be 1–64 lower-case letters, digits, '_', '.' or '-'")
	}
	if len(in.Stage) > maxTextLength || !printable(in.Stage) {
		bad("stage", fmt.Sprintf("must be printable text of at most %d bytes", maxTextLength))
	}

	fixed, known := fixedDirection[it.Kind]
	switch {
	case in.Kind == "":
		bad("kind", "is required")
	case !known && it.Kind != KindMessage && it.Kind != KindCall:
		bad("kind", "unknown kind "+strconv.Quote(in.Kind))
	case !known: // message, call
		switch Direction(in.Direction) {
		case Inbound, Outbound, Internal:
			it.Direction = Direction(in.Direction)
		case "":
			bad("direction", "is required for "+in.Kind+": inbound, outbound or internal")
		default:
			bad("direction", "must be inbound, outbound or internal")
		}
	default:
		if in.Direction != "" && Direction(in.Direction) != fixed {
			bad("direction", fmt.Sprintf("%s is always %s", in.Kind, fixed))
		}
		it.Direction = fixed
	}
	if in.Channel != "" && !channels[in.Channel] {
		bad("channel", "must be one of email, sms, phone, video, onsite, ats, portal, other")
	}

	parseTime := func(field, v string) *time.Time {
		if v == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			bad(field, "must be an RFC 3339 time like 2026-11-02T15:04:05Z")
			return nil
		}
		t = t.UTC().Truncate(time.Millisecond)
		return &t
	}
	if occurred := parseTime("occurred_at", in.OccurredAt); occurred != nil {
		if occurred.After(now.Add(MaxFuture)) {
			bad("occurred_at", "must not be more than 5 minutes in the future")
		}
		it.OccurredAt = *occurred
	} else if in.OccurredAt == "" {
		bad("occurred_at", "is required")
	}
	it.ScheduledFor = parseTime("scheduled_for", in.ScheduledFor)
	it.Until = parseTime("until", in.Until)
	it.PromisedBy = parseTime("promised_by", in.PromisedBy)
	if in.Duration != "" {
		d, err := ParseDuration(in.Duration)
		if err != nil {
			bad("duration", err.Error())
		} else {
			it.Duration = &d
		}
	}

	if interviewKinds[it.Kind] && in.InterviewID == "" {
		bad("interview_id", "is required for "+in.Kind+": it ties an interview's events together")
	}
	if it.Kind == KindStageChanged && in.Stage == "" {
		bad("stage", "is required for stage_changed")
	}
	switch {
	case it.Kind == KindHold && in.Until == "":
		bad("until", "is required for hold")
	case it.Kind == KindHold && it.Until != nil && !it.OccurredAt.IsZero() && it.Until.Sub(it.OccurredAt) > MaxHold:
		bad("until", "must be at most 90 days after occurred_at")
	}
	if it.Kind == KindDetailsUpdated && in.CandidateNotified {
		bad("candidate_notified", "is not for details_updated: it records details, never a contact")
	}
	if it.Kind == KindPromise && in.PromisedBy == "" {
		bad("promised_by", "is required for promise")
	}
	switch {
	case it.Kind == KindSurveyResponse && in.Score == nil:
		bad("score", "is required for survey_response")
	case in.Score != nil && it.Kind != KindSurveyResponse:
		bad("score", "is only for survey_response")
	case in.Score != nil && (*in.Score < 0 || *in.Score > 10):
		bad("score", "must be from 0 to 10")
	}

	if in.Candidate != nil {
		p := *in.Candidate
		p.Email = strings.TrimSpace(p.Email)
		if len(p.Name) > maxTextLength || !printable(p.Name) {
			bad("candidate.name", fmt.Sprintf("must be printable text of at most %d bytes", maxTextLength))
		}
		if p.Email != "" {
			if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email || len(p.Email) > 254 {
				bad("candidate.email", "must be an email address like ada@example.com")
			}
		}
		if p.Phone != "" && !phoneRE.MatchString(p.Phone) {
			bad("candidate.phone", "must be an E.164 number like +14155550100")
		}
		if !p.IsZero() {
			it.Candidate = &p
		}
	}
	if in.Job != nil {
		j := *in.Job
		if len(j.Title) > maxTextLength || !printable(j.Title) {
			bad("job.title", fmt.Sprintf("must be printable text of at most %d bytes", maxTextLength))
		}
		if len(j.Department) > maxTextLength || !printable(j.Department) {
			bad("job.department", fmt.Sprintf("must be printable text of at most %d bytes", maxTextLength))
		}
		if j != (JobInfo{}) {
			it.Job = &j
		}
	}
	if in.Attribution != nil {
		if it.Kind != KindApplicationReceived && (it.Kind != KindDetailsUpdated || !in.FromSync) {
			bad("attribution", "is only for application_received")
		}
		a := in.Attribution.Normalized()
		for _, f := range []struct{ name, v string }{
			{"source", in.Attribution.Source}, {"medium", in.Attribution.Medium},
			{"campaign", in.Attribution.Campaign}, {"referrer_id", in.Attribution.ReferrerID},
		} {
			if len(f.v) > maxIDLength || !printable(f.v) {
				bad("attribution."+f.name, fmt.Sprintf("must be printable text of at most %d bytes", maxIDLength))
			}
		}
		it.Attribution = a
		if a != nil && a.ReferrerID != "" {
			it.Referral = true
		}
	}
	if in.EmployeeID != "" {
		if it.Kind != KindHired {
			bad("employee_id", "is only for hired")
		}
		checkID("employee_id", in.EmployeeID, false)
	}
	if m := bytes.TrimSpace(in.Metadata); len(m) > 0 && !bytes.Equal(m, []byte("null")) {
		if len(m) > MaxMetadata {
			bad("metadata", fmt.Sprintf("must be at most %d bytes", MaxMetadata))
		} else if err := json.Unmarshal(m, &it.Metadata); err != nil || m[0] != '{' {
			bad("metadata", "must be a JSON object")
			it.Metadata = nil
		} else if msg := checkMetadata(it.Metadata, 0); msg != "" {
			bad("metadata", msg)
		}
	}

	if it.ExternalID != "" {
		it.Key = IdempotencyKey(it.Source, it.ExternalID)
	} else {
		it.Key = it.ID
	}
	return it, errs
}

// checkMetadata rejects what the store cannot keep: keys starting with '$' or holding
// '.' or NUL, and nesting deeper than 20 levels.
func checkMetadata(v any, depth int) string {
	if depth > 20 {
		return "must not nest deeper than 20 levels"
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "" || k[0] == '$' || strings.ContainsAny(k, ".\x00") {
				return fmt.Sprintf("key %q: keys must not be empty, start with '$' or contain '.'", k)
			}
			if msg := checkMetadata(e, depth+1); msg != "" {
				return msg
			}
		}
	case []any:
		for _, e := range v {
			if msg := checkMetadata(e, depth+1); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// NewID returns a new UUIDv7 string.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ItemField names a field of the i-th item of a write as errors do:
// "interactions[3].kind" in a batch, "kind" for a single object.
func ItemField(batch bool, i int, name string) string {
	if batch {
		return fmt.Sprintf("interactions[%d].%s", i, name)
	}
	return name
}
