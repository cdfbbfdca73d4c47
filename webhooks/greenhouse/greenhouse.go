// Package greenhouse receives Greenhouse Recruiting (Harvest) web hooks: the
// signature check and the mapping of each event to interactions (see Receiver); and
// reads the Harvest v3 API for the ATS sync what the web hooks leave out (see Sync).
package greenhouse

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Receiver receives Greenhouse Recruiting (Harvest) web hooks.
//
// Signature (developers.greenhouse.io/webhooks.html, "Authentication"): the header
// `Signature: sha256 <hex>` carries HMAC-SHA256 of the raw body under the web hook's
// secret key, hex-encoded. Greenhouse-Event-ID is "an unique id associated with this
// delivery"; the docs do not say whether a retry keeps it, so it is only reported as
// DeliveryID and never used in idempotency keys.
//
// Events mapped (payload.application.* unless noted):
//
//	new_candidate_application  application_received at applied_at, with its attribution
//	                           (see attribution); a prospect: pool_added to pool "prospects"
//	new_prospect_application   pool_added of the candidate to pool "prospects"; the
//	                           prospect converts when its application (the same
//	                           application id) is received
//	candidate_stage_change     stage_changed to current_stage.name at last_activity_at
//	reject_candidate           rejected at rejected_at
//	unreject_candidate         unrejected at last_activity_at
//	hire_candidate             hired at offer.resolved_at
//	unhire_candidate           note (goodwill has no "unhired" kind)
//	offer_created, offer_updated  offer_extended once sent_on is set, at the time of
//	                           receipt; the offer names only its application, whose
//	                           candidate it takes (or waits for it: parked)
//	ping                       Ping
//
// Not mapped: Greenhouse sends no web hook when an interview is scheduled (only
// interview_deleted, which names no application) and no email events; offer_approved
// and offer_deleted are not touchpoints; the rejection web hook does not say whether a rejection email was sent, so rejections
// never carry candidate_notified. The sync (Sync) reads interviews, logged emails and
// rejection emails from Harvest v3; the rest must come through the API, Standard
// Webhooks or Twilio.
type Receiver struct{}

// Source returns "greenhouse".
func (Receiver) Source() string { return "greenhouse" }

// Verify checks the Signature header.
func (Receiver) Verify(h http.Header, body []byte, secrets []string, _ time.Time) error {
	v, err := webhooks.SignatureHeader(h, "Signature", secrets)
	if err != nil {
		return err
	}
	algo, sig, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(algo, "sha256") {
		return fmt.Errorf("%w: Signature must be \"sha256 <hex>\"", webhooks.ErrMalformedSignature)
	}
	return webhooks.VerifyHexSHA256("Signature", strings.TrimSpace(sig), body, secrets)
}

type ghBody struct {
	Action  string          `json:"action"`
	Payload json.RawMessage `json:"payload"`
}

type ghApplication struct {
	ID             webhooks.VendorID `json:"id"`
	Prospect       bool              `json:"prospect"`
	AppliedAt      string            `json:"applied_at"`
	RejectedAt     string            `json:"rejected_at"`
	LastActivityAt string            `json:"last_activity_at"`
	Source         *struct {
		Name       string `json:"name"`
		PublicName string `json:"public_name"`
	} `json:"source"`
	// CreditedTo is the user credited with the application: the referrer when the
	// source is a referral (webhooks.html, "Application created": id, name, email,
	// employee_id).
	CreditedTo *struct {
		ID         webhooks.VendorID `json:"id"`
		EmployeeID string            `json:"employee_id"`
	} `json:"credited_to"`
	RejectionReason *struct {
		Name string `json:"name"`
		Type *struct {
			Name string `json:"name"`
		} `json:"type"`
	} `json:"rejection_reason"`
	CurrentStage *struct {
		ID   webhooks.VendorID `json:"id"`
		Name string            `json:"name"`
	} `json:"current_stage"`
	Candidate struct {
		ID             webhooks.VendorID `json:"id"`
		FirstName      string            `json:"first_name"`
		LastName       string            `json:"last_name"`
		EmailAddresses []ghValue         `json:"email_addresses"`
		PhoneNumbers   []ghValue         `json:"phone_numbers"`
		Recruiter      *struct {
			ID webhooks.VendorID `json:"id"`
		} `json:"recruiter"`
	} `json:"candidate"`
	Jobs  []ghJob `json:"jobs"`
	Job   *ghJob  `json:"job"` // deprecated, still sent with hire_candidate
	Offer *struct {
		ID         webhooks.VendorID `json:"id"`
		ResolvedAt string            `json:"resolved_at"`
	} `json:"offer"`
}

type ghValue struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

type ghJob struct {
	ID          webhooks.VendorID `json:"id"`
	Name        string            `json:"name"`
	Departments []struct {
		Name string `json:"name"`
	} `json:"departments"`
}

// greenhouseIgnored explains the events that are deliberately not mapped.
var greenhouseIgnored = map[string]string{
	"application_updated":  "an application update is not a touchpoint; stage changes, rejections and hires have their own events",
	"delete_application":   "deletions are not touchpoints; use POST /v1/erasures to remove personal data",
	"delete_candidate":     "deletions are not touchpoints; use POST /v1/erasures to remove personal data",
	"merge_candidate":      "candidate merges are not touchpoints",
	"candidate_anonymized": "anonymization is not a touchpoint; use POST /v1/erasures to remove personal data",
	"update_candidate":     "a profile update names no application and is not a touchpoint",
	"offer_approved":       "an offer's approval is internal; the offer is recorded once it is sent to the candidate",
	"offer_deleted":        "an offer's deletion is not a touchpoint",
	"interview_deleted":    "the interview_deleted web hook names only the interview, not its application",
	"scorecard_deleted":    "scorecard deletions are not touchpoints",
}

// Parse maps a Greenhouse web hook.
func (g Receiver) Parse(h http.Header, body []byte, now time.Time) (webhooks.Delivery, error) {
	d := webhooks.Delivery{Source: g.Source(), DeliveryID: webhooks.Text(h.Get("Greenhouse-Event-ID"))}
	var b ghBody
	if err := webhooks.Decode(body, &b); err != nil {
		return d, err
	}
	d.Event = webhooks.Text(b.Action)
	switch {
	case d.Event == "":
		return d, webhooks.Malformed("action is missing")
	case d.Event == "ping":
		d.Ping = true
		return d, nil
	case greenhouseIgnored[d.Event] != "":
		d.Ignored = greenhouseIgnored[d.Event]
		return d, nil
	}
	switch d.Event {
	case "new_candidate_application", "new_prospect_application", "candidate_stage_change",
		"reject_candidate", "unreject_candidate", "hire_candidate", "unhire_candidate":
	case "offer_created", "offer_updated":
		return g.offer(d, b.Payload, now)
	default:
		d.Ignored = "goodwill does not map the Greenhouse event " + d.Event
		return d, nil
	}

	var p struct {
		Application *ghApplication `json:"application"`
	}
	if err := json.Unmarshal(b.Payload, &p); err != nil {
		return d, webhooks.Malformed("payload: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if p.Application == nil {
		return d, webhooks.Malformed("payload.application is missing")
	}
	app := p.Application
	in := g.base(app)
	occurred := func(values ...string) {
		t, ok := webhooks.FirstTime(values...)
		if !ok {
			t = interactions.APITime(now)
		}
		in.OccurredAt = t
	}
	appID := string(app.ID)
	switch d.Event {
	case "new_candidate_application", "new_prospect_application":
		occurred(app.AppliedAt, app.LastActivityAt)
		in.Kind = string(interactions.KindApplicationReceived)
		if app.Prospect || d.Event == "new_prospect_application" {
			webhooks.Pooled(&in, webhooks.PoolProspects, map[string]string{"greenhouse_event": d.Event})
		} else {
			in.Attribution = attribution(app, in.Referral)
		}
		in.ExternalID = webhooks.ExternalID(d.Event, appID)
	case "candidate_stage_change":
		if app.CurrentStage == nil || webhooks.Text(app.CurrentStage.Name) == "" {
			d.Ignored = "the stage change names no current stage"
			return d, nil
		}
		occurred(app.LastActivityAt)
		in.Kind = string(interactions.KindStageChanged)
		in.Stage = webhooks.Text(app.CurrentStage.Name)
		in.ExternalID = webhooks.ExternalID(d.Event, appID, string(app.CurrentStage.ID), app.LastActivityAt)
	case "reject_candidate":
		occurred(app.RejectedAt, app.LastActivityAt)
		in.Kind = string(interactions.KindRejected)
		if r := app.RejectionReason; r != nil {
			kv := map[string]string{"rejection_reason": r.Name}
			if r.Type != nil {
				kv["rejection_type"] = r.Type.Name
			}
			in.Metadata = webhooks.Metadata(kv)
		}
		in.ExternalID = webhooks.ExternalID(d.Event, appID, app.RejectedAt)
	case "unreject_candidate":
		occurred(app.LastActivityAt)
		in.Kind = string(interactions.KindUnrejected)
		in.ExternalID = webhooks.ExternalID(d.Event, appID, app.LastActivityAt)
	case "hire_candidate":
		var resolved string
		if app.Offer != nil {
			resolved = app.Offer.ResolvedAt
		}
		occurred(resolved, app.LastActivityAt)
		in.Kind = string(interactions.KindHired)
		in.ExternalID = webhooks.ExternalID(d.Event, appID)
	case "unhire_candidate":
		occurred(app.LastActivityAt)
		in.Kind = string(interactions.KindNote)
		in.Metadata = webhooks.Metadata(map[string]string{"greenhouse_event": d.Event, "note": "hire undone"})
		in.ExternalID = webhooks.ExternalID(d.Event, appID, app.LastActivityAt)
	}
	if err := webhooks.CheckIDs(&in); err != nil {
		return d, err
	}
	d.Items = []interactions.Input{in}
	return d, nil
}

// ghOffer is an offer as the offer web hooks send it: ids, dates and its status.
type ghOffer struct {
	ID            webhooks.VendorID `json:"id"`
	ApplicationID webhooks.VendorID `json:"application_id"`
	JobID         webhooks.VendorID `json:"job_id"`
	SentOn        string            `json:"sent_on"`
}

// offer maps offer_created and offer_updated: offer_extended once the offer has been
// sent (sent_on is set), at the time of receipt (sent_on is only a date). The offer
// names its application, not its candidate: the candidate is the application's
// (Delivery.Thin).
func (g Receiver) offer(d webhooks.Delivery, payload json.RawMessage, now time.Time) (webhooks.Delivery, error) {
	var o ghOffer
	if err := json.Unmarshal(payload, &o); err != nil {
		return d, webhooks.Malformed("payload: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if o.ID == "" || o.ApplicationID == "" {
		return d, webhooks.Malformed("payload.id and payload.application_id are required")
	}
	if webhooks.Text(o.SentOn) == "" {
		d.Ignored = "the offer has not been sent to the candidate (no sent_on)"
		return d, nil
	}
	in := interactions.Input{
		ApplicationID: webhooks.Prefixed("greenhouse", o.ApplicationID),
		JobID:         webhooks.Prefixed("greenhouse", o.JobID),
		Kind:          string(interactions.KindOfferExtended),
		OccurredAt:    interactions.APITime(now),
		Source:        g.Source(),
		Channel:       "ats",
		ExternalID:    webhooks.ExternalID("offer_extended", string(o.ID)),
	}
	if err := webhooks.CheckThinIDs(&in); err != nil {
		return d, err
	}
	d.Thin, d.Items = true, []interactions.Input{in}
	return d, nil
}

// base fills what every Greenhouse application event shares.
func (g Receiver) base(app *ghApplication) interactions.Input {
	c := app.Candidate
	in := interactions.Input{
		ApplicationID: webhooks.Prefixed("greenhouse", app.ID),
		CandidateID:   webhooks.Prefixed("greenhouse", c.ID),
		Source:        g.Source(),
		Channel:       "ats",
		Candidate:     webhooks.ContactDetails(c.FirstName+" "+c.LastName, pickValue(c.EmailAddresses, "personal", webhooks.ValidEmail), pickValue(c.PhoneNumbers, "mobile", webhooks.PhoneE164)),
	}
	if c.Recruiter != nil {
		in.RecruiterID = webhooks.Prefixed("greenhouse", c.Recruiter.ID)
	}
	job := app.Job
	if len(app.Jobs) > 0 {
		job = &app.Jobs[0]
	}
	if job != nil {
		in.JobID = webhooks.Prefixed("greenhouse", job.ID)
		dept := ""
		if len(job.Departments) > 0 {
			dept = job.Departments[0].Name
		}
		in.Job = webhooks.JobInfo(job.Name, dept)
	}
	if s := app.Source; s != nil {
		in.Referral = webhooks.IsReferral(s.PublicName) || webhooks.IsReferral(s.Name)
	}
	return in
}

// attribution is where the application came from: its source's public name (the
// name when there is none); medium "referral" and the referrer when the application
// is a referral. The referrer is the credited user (credited_to): its employee_id when
// Greenhouse has one, else "greenhouse:<user id>". credited_to on an application that is
// no referral is the user who sourced it, not a referrer, and is left out.
func attribution(app *ghApplication, referral bool) *interactions.Attribution {
	var a interactions.Attribution
	if s := app.Source; s != nil {
		a.Source = webhooks.Text(s.PublicName)
		if a.Source == "" {
			a.Source = webhooks.Text(s.Name)
		}
	}
	if referral {
		a.Medium = "referral"
		if c := app.CreditedTo; c != nil {
			if a.ReferrerID = webhooks.Text(c.EmployeeID); a.ReferrerID == "" {
				a.ReferrerID = webhooks.Prefixed("greenhouse", c.ID)
			}
		}
	}
	return a.Normalized()
}

// pickValue returns the first value that valid accepts, preferring the given type.
func pickValue(vs []ghValue, prefer string, valid func(string) string) string {
	first := ""
	for _, v := range vs {
		ok := valid(v.Value)
		if ok == "" {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(v.Type), prefer) {
			return ok
		}
		if first == "" {
			first = ok
		}
	}
	return first
}
