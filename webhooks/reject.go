package webhooks

import (
	"errors"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a delivery is refused, as the delivery log (Record.Rejection) and the metric
// goodwill_webhook_deliveries_rejected_total label them. The list is closed.
const (
	RejectNoSecret     = "no_secret"     // the source has no secret configured: it accepts nothing
	RejectBadSignature = "bad_signature" // the signature is missing, malformed or does not match
	RejectStale        = "stale"         // the signed timestamp is too far from now
	RejectMalformed    = "malformed"     // signed, but the body does not parse or validate
	RejectBadLabel     = "bad_label"     // the URL's label is not a label (404)
	RejectRateLimited  = "rate_limited"  // the client address failed too often (429)
)

// RejectReasons lists the reasons.
var RejectReasons = []string{RejectNoSecret, RejectBadSignature, RejectStale, RejectMalformed, RejectBadLabel, RejectRateLimited}

// VerifyReason is the rejection reason of an error of Receiver.Verify.
func VerifyReason(err error) string {
	switch {
	case errors.Is(err, ErrNoSecret):
		return RejectNoSecret
	case errors.Is(err, ErrStaleTimestamp):
		return RejectStale
	}
	return RejectBadSignature
}

var labelRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// ValidLabel reports whether label may name a subscription in /webhooks/{source}/{label}:
// 1 to 64 of a–z, 0–9, '_' and '-'.
func ValidLabel(label string) bool { return labelRE.MatchString(label) }

var rejectedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "goodwill_webhook_deliveries_rejected_total",
	Help: "Webhook requests refused, by source and reason (no_secret, bad_signature, stale, malformed, bad_label, rate_limited).",
}, []string{"source", "reason"})

// The series of every source and reason exist from the start, at zero.
func init() {
	for _, source := range []string{"greenhouse", "lever", "ashby", "workable", "standard", "twilio"} {
		for _, reason := range RejectReasons {
			rejectedTotal.WithLabelValues(source, reason)
		}
	}
}

// CountRejected counts a refused request. source must be a known source (the label
// set stays bounded), reason one of RejectReasons.
func CountRejected(source, reason string) { rejectedTotal.WithLabelValues(source, reason).Inc() }

// Collectors returns the package's Prometheus collectors, for the /metrics registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{rejectedTotal} }

// EndpointError refuses a request to a webhook URL that is no endpoint: an unknown
// source, or a label that cannot name a subscription (ValidLabel). Nothing of the
// request is stored. The HTTP edge answers 404.
type EndpointError struct {
	Detail string // what was wrong, for the caller
}

func (e *EndpointError) Error() string { return e.Detail }

// SignatureError refuses a delivery whose signature check failed: the source has no
// secret, or the signature is missing, malformed or wrong, or its signed timestamp is
// stale. Nothing of the delivery is stored. The HTTP edge answers 401.
type SignatureError struct {
	Reason string // RejectNoSecret, RejectBadSignature or RejectStale
	Detail string // what was wrong, for the caller
}

func (e *SignatureError) Error() string { return e.Detail }
