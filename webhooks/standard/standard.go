// Package standard receives Standard Webhooks (standardwebhooks.com) whose body is
// goodwill's own interaction schema (see Receiver).
package standard

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Receiver receives Standard Webhooks (standardwebhooks.com, spec "Verifying webhook
// authenticity") whose body is the interaction schema of POST /v1/interactions: one
// interaction object, or {"interactions": [...]}.
//
// Signature: headers webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature, a space-separated list of "v1,<base64>" where the signature is
// base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")) and the key is the
// base64-decoded part of the secret "whsec_<base64>". Entries of other versions (v1a,
// asymmetric) are ignored. A timestamp more than Tolerance away from now is refused.
//
// An item may name any source but one of interactions.ReservedSources other than
// "standard": that is a malformed body, as an item naming "greenhouse" could pass for
// Greenhouse's own events.
//
// Idempotency: an item keeps its own (source, external_id). An item without source takes
// source "standard"; an item without external_id takes "<webhook-id>:<index>" (index 0
// for a single object), so its key is "standard:<webhook-id>:<index>" (or
// "<its source>:<webhook-id>:<index>" when it names a source). A redelivery carries the
// same webhook-id and so maps to the same keys.
type Receiver struct{}

// Source returns "standard".
func (Receiver) Source() string { return "standard" }

// maxWebhookID bounds webhook-id so that "<id>:<index>" fits an external id.
const maxWebhookID = 200

// Secret decodes a Standard Webhooks secret "whsec_<base64>" into its key. The
// prefix is optional. Call it at startup to reject a malformed setting early.
func Secret(s string) ([]byte, error) {
	b64 := strings.TrimPrefix(strings.TrimSpace(s), "whsec_")
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil || len(key) == 0 {
		return nil, errors.New("a Standard Webhooks secret is \"whsec_\" followed by base64")
	}
	return key, nil
}

// Verify checks webhook-signature against each secret; a secret that is not valid
// base64 never matches.
func (Receiver) Verify(h http.Header, body []byte, secrets []string, now time.Time) error {
	if webhooks.NoSecret(secrets) {
		return webhooks.ErrNoSecret
	}
	msgID, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	switch {
	case msgID == "":
		return fmt.Errorf("%w: webhook-id header", webhooks.ErrMissingSignature)
	case ts == "":
		return fmt.Errorf("%w: webhook-timestamp header", webhooks.ErrMissingSignature)
	case sigs == "":
		return fmt.Errorf("%w: webhook-signature header", webhooks.ErrMissingSignature)
	case len(msgID) > maxWebhookID || msgID != webhooks.CleanLine(msgID) || strings.ContainsAny(msgID, " "):
		return fmt.Errorf("%w: webhook-id must be printable, without spaces, at most %d bytes", webhooks.ErrMalformedSignature, maxWebhookID)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp must be Unix seconds", webhooks.ErrMalformedSignature)
	}
	if d := now.Unix() - sec; d > int64(webhooks.Tolerance/time.Second) || d < -int64(webhooks.Tolerance/time.Second) {
		return webhooks.ErrStaleTimestamp
	}
	got, err := Signatures(sigs)
	if err != nil {
		return err
	}
	for _, s := range secrets {
		key, err := Secret(s)
		if err != nil {
			continue
		}
		want := webhooks.HMACSHA256(key, []byte(msgID), []byte{'.'}, []byte(ts), []byte{'.'}, body)
		for _, g := range got {
			if hmac.Equal(g, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: webhook-signature", webhooks.ErrBadSignature)
}

// Signatures parses a webhook-signature header into its v1 signatures (raw
// HMAC bytes). Entries of other versions are skipped; at most 32 entries are read. The
// error wraps ErrMalformedSignature when no v1 entry is well formed.
func Signatures(header string) ([][]byte, error) {
	var out [][]byte
	for i, entry := range strings.Fields(header) {
		if i == webhooks.MaxSignatures {
			break
		}
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(b) != 32 {
			continue
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: webhook-signature must hold \"v1,<base64 HMAC-SHA256>\" entries", webhooks.ErrMalformedSignature)
	}
	return out, nil
}

// Parse decodes the interactions of a Standard Webhooks delivery. Errors wrap
// ErrMalformedBody and an *interactions.Error naming the bad fields
// ("interactions[2].kind"), as POST /v1/interactions reports them. Parse checks the
// JSON shape only; the caller validates the items with Input.Validate.
func (s Receiver) Parse(h http.Header, body []byte, _ time.Time) (webhooks.Delivery, error) {
	d := webhooks.Delivery{Source: s.Source(), DeliveryID: h.Get("webhook-id"), Event: "interactions"}
	if d.DeliveryID == "" || len(d.DeliveryID) > maxWebhookID || d.DeliveryID != webhooks.CleanLine(d.DeliveryID) {
		return d, webhooks.Malformed("the webhook-id header is missing or not printable text of at most %d bytes", maxWebhookID)
	}
	raws, batch, ferr := standardItems(body)
	if ferr != nil {
		return d, fmt.Errorf("%w: %w", webhooks.ErrMalformedBody, interactions.Invalid(*ferr))
	}
	var fields []interactions.FieldError
	for i, raw := range raws {
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("interactions[%d].", i)
		}
		in, errs := interactions.DecodeInput(raw, prefix)
		if len(errs) > 0 {
			fields = append(fields, errs...)
			continue
		}
		if in.Candidate != nil && in.Candidate.IsZero() {
			in.Candidate = nil
		}
		if in.Job != nil && *in.Job == (interactions.JobInfo{}) {
			in.Job = nil
		}
		if in.Source == "" {
			in.Source = s.Source()
		}
		if in.Source != s.Source() && interactions.Reserved(in.Source) {
			fields = append(fields, interactions.FieldError{Field: prefix + "source",
				Message: fmt.Sprintf("%q is reserved for goodwill's own receivers; leave it out (it defaults to %q) or name your system", in.Source, s.Source())})
			continue
		}
		if in.ExternalID == "" {
			in.ExternalID = d.DeliveryID + ":" + strconv.Itoa(i)
		}
		d.Items = append(d.Items, in)
	}
	if len(fields) > 0 {
		d.Items = nil
		return d, fmt.Errorf("%w: %w", webhooks.ErrMalformedBody, interactions.Invalid(fields...))
	}
	return d, nil
}

// standardItems splits a body into one object or the items of {"interactions": [...]}.
func standardItems(body []byte) ([]json.RawMessage, bool, *interactions.FieldError) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, false, &interactions.FieldError{Field: "body", Message: "must be a JSON object: one interaction, or {\"interactions\": [...]}"}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, false, &interactions.FieldError{Field: "body", Message: "is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	list, ok := top["interactions"]
	if !ok {
		return []json.RawMessage{body}, false, nil
	}
	for k := range top {
		if k != "interactions" {
			return nil, true, &interactions.FieldError{Field: k, Message: "unknown field (a batch has only \"interactions\")"}
		}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(list, &raws); err != nil {
		return nil, true, &interactions.FieldError{Field: "interactions", Message: "must be an array of interaction objects"}
	}
	switch {
	case len(raws) == 0:
		return nil, true, &interactions.FieldError{Field: "interactions", Message: "must not be empty"}
	case len(raws) > webhooks.MaxItems:
		return nil, true, &interactions.FieldError{Field: "interactions", Message: fmt.Sprintf("at most %d per request", webhooks.MaxItems)}
	}
	return raws, true, nil
}
