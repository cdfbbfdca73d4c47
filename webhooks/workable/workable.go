// Package workable receives Workable webhook subscriptions: the signature check and
// the mapping of each event to interactions (see Receiver).
package workable

import (
	"net/http"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Receiver receives Workable webhook subscriptions (SPI v3).
//
// Signature (workable.readme.io/reference/webhook-subscriptions-candidates-employees,
// "Encryption"): X-Workable-Signature carries HMAC SHA256 of the request payload under
// the account token or the OAuth application's secret. The docs do not name the
// encoding; public receivers compare a hex digest, which is what Verify accepts.
//
// Each subscription has its own target URL (Workable refuses a duplicate target), so
// goodwill serves /webhooks/workable/{label}: set Label to that path segment. The body
// is the candidate ("a payload similar to candidate details", reference/candidate-events)
// in data; the event name is read from the body's event_type (or type) and, when the
// body has none, from a Label equal to an event name ("candidate_moved").
//
// Events mapped (a Workable candidate is one person's application to one job, so the
// candidate id serves as both application_id and candidate_id):
//
//	candidate_created  application_received at created_at, with its attribution
//	                   (see attribution); sourced: pool_added of the candidate to
//	                   pool "sourced"
//	candidate_moved    disqualified: rejected at disqualified_at (withdrawn when the
//	                   candidate withdrew); stage "hired": hired; otherwise
//	                   stage_changed to the stage slug; a sourced candidate
//	                   moved to "applied" also application_received, which
//	                   converts their "sourced" membership
//
// Workable sends the candidate's state at the time of the request, not of the event;
// external ids use the body's event id when there is one, else the state's timestamps.
// Not available: recruiter, referral, interviews, emails (the sync reads the owner,
// interviews and messages from the API; see Sync), and requalification shows only as
// a stage change.
type Receiver struct {
	// Label is the {label} path segment of the subscription's URL, "" for /webhooks/workable.
	Label string
}

// Source returns "workable".
func (Receiver) Source() string { return "workable" }

// Verify checks the X-Workable-Signature header.
func (Receiver) Verify(h http.Header, body []byte, secrets []string, _ time.Time) error {
	v, err := webhooks.SignatureHeader(h, "X-Workable-Signature", secrets)
	if err != nil {
		return err
	}
	return webhooks.VerifyHexSHA256("X-Workable-Signature", v, body, secrets)
}

type workableBody struct {
	ID        webhooks.VendorID `json:"id"`
	EventType string            `json:"event_type"`
	Type      string            `json:"type"`
	FiredAt   string            `json:"fired_at"`
	Data      *struct {
		ID                     webhooks.VendorID `json:"id"`
		Name                   string            `json:"name"`
		FirstName              string            `json:"firstname"`
		LastName               string            `json:"lastname"`
		Email                  string            `json:"email"`
		Phone                  string            `json:"phone"`
		Stage                  string            `json:"stage"`
		Sourced                bool              `json:"sourced"`
		Domain                 string            `json:"domain"`
		Disqualified           bool              `json:"disqualified"`
		Withdrew               bool              `json:"withdrew"`
		DisqualifiedAt         string            `json:"disqualified_at"`
		DisqualificationReason string            `json:"disqualification_reason"`
		CreatedAt              string            `json:"created_at"`
		UpdatedAt              string            `json:"updated_at"`
		Job                    *struct {
			Shortcode  string `json:"shortcode"`
			Title      string `json:"title"`
			Department string `json:"department"`
		} `json:"job"`
	} `json:"data"`
}

// Parse maps a Workable webhook.
func (w Receiver) Parse(_ http.Header, body []byte, now time.Time) (webhooks.Delivery, error) {
	d := webhooks.Delivery{Source: w.Source()}
	var b workableBody
	if err := webhooks.Decode(body, &b); err != nil {
		return d, err
	}
	d.DeliveryID = webhooks.Text(string(b.ID))
	d.Event = webhooks.Text(b.EventType)
	if d.Event == "" {
		d.Event = webhooks.Text(b.Type)
	}
	if d.Event == "" && (w.Label == "candidate_created" || w.Label == "candidate_moved") {
		d.Event = w.Label
	}
	switch d.Event {
	case "candidate_created", "candidate_moved":
	case "":
		return d, webhooks.Malformed("the body names no event_type and the URL label is not an event name")
	default:
		d.Ignored = "goodwill does not map the Workable event " + d.Event
		return d, nil
	}
	c := b.Data
	if c == nil || c.ID == "" {
		return d, webhooks.Malformed("data.id is missing")
	}
	name := c.Name
	if strings.TrimSpace(name) == "" {
		name = c.FirstName + " " + c.LastName
	}
	in := interactions.Input{
		ApplicationID: webhooks.Prefixed("workable", c.ID),
		CandidateID:   webhooks.Prefixed("workable", c.ID),
		Source:        w.Source(),
		Channel:       "ats",
		Candidate:     webhooks.ContactDetails(name, c.Email, c.Phone),
	}
	if c.Job != nil {
		in.JobID = webhooks.Prefixed("workable", webhooks.VendorID(strings.TrimSpace(c.Job.Shortcode)))
		in.Job = webhooks.JobInfo(c.Job.Title, c.Job.Department)
	}
	at := func(values ...string) string {
		if t, ok := webhooks.FirstTime(values...); ok {
			return t
		}
		return interactions.APITime(now)
	}
	key := func(fallback ...string) string {
		if b.ID != "" {
			return webhooks.ExternalID(d.Event, string(b.ID))
		}
		return webhooks.ExternalID(fallback...)
	}
	switch {
	case d.Event == "candidate_created":
		in.OccurredAt = at(c.CreatedAt, b.FiredAt)
		in.Kind = string(interactions.KindApplicationReceived)
		if c.Sourced {
			webhooks.Pooled(&in, webhooks.PoolSourced, map[string]string{"workable_event": d.Event})
		} else {
			in.Attribution = attribution(c.Domain)
		}
		in.ExternalID = key(d.Event, string(c.ID))
	case c.Disqualified:
		in.OccurredAt = at(c.DisqualifiedAt, b.FiredAt, c.UpdatedAt)
		in.Kind = string(interactions.KindRejected)
		if c.Withdrew {
			in.Kind = string(interactions.KindWithdrawn)
		}
		in.Metadata = webhooks.Metadata(map[string]string{"disqualification_reason": c.DisqualificationReason})
		in.ExternalID = key(in.Kind, string(c.ID), c.DisqualifiedAt)
	case strings.EqualFold(strings.TrimSpace(c.Stage), "hired"):
		in.OccurredAt = at(b.FiredAt, c.UpdatedAt)
		in.Kind = string(interactions.KindHired)
		in.ExternalID = key("hired", string(c.ID))
	default:
		if webhooks.Text(c.Stage) == "" {
			d.Ignored = "the candidate has no stage"
			return d, nil
		}
		in.OccurredAt = at(b.FiredAt, c.UpdatedAt)
		in.Kind = string(interactions.KindStageChanged)
		in.Stage = webhooks.Text(c.Stage)
		in.ExternalID = key("stage_changed", string(c.ID), in.Stage, c.UpdatedAt)
		if c.Sourced && strings.EqualFold(in.Stage, "applied") {
			// A sourced candidate applied: the application starts now.
			applied := in
			applied.Kind, applied.Stage = string(interactions.KindApplicationReceived), ""
			applied.ExternalID = webhooks.ExternalID("applied", string(c.ID))
			if err := webhooks.CheckIDs(&applied); err != nil {
				return d, err
			}
			d.Items = append(d.Items, applied)
		}
	}
	if err := webhooks.CheckIDs(&in); err != nil {
		return d, err
	}
	d.Items = append([]interactions.Input{in}, d.Items...)
	return d, nil
}

// attribution is where a candidate came from: Workable's candidate names it only as
// its domain (reference/job-candidates-show: "domain", the site the candidate came
// from, such as "linkedin.com", "indeed.com", or the account's careers page
// "<subdomain>.workable.com"), the attribution's source. The candidate names no source
// type, campaign or referrer.
func attribution(domain string) *interactions.Attribution {
	return (&interactions.Attribution{Source: webhooks.Text(domain)}).Normalized()
}
