// Package ashby receives Ashby webhooks — the signature check and the mapping of each
// event to interactions (see Receiver) — and holds the sync that pulls from Ashby's API
// what those webhooks leave out (see Sync).
package ashby

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Receiver receives Ashby webhooks.
//
// Signature (developers.ashbyhq.com/docs/authenticating-webhooks): the header
// `Ashby-Signature: sha256=<hex>` carries HMAC-SHA256 of the raw body under the
// webhook's secret token. Every body is {"webhookActionId", "action", "data"}
// (docs/common-payload-data); webhookActionId is the same across retries, so external
// ids are "<action>:<webhookActionId>" where no better key exists. Ashby has one secret
// per webhook, hence several secrets.
//
// Events mapped (payload shapes from Ashby's "Webhook Payloads" OpenAPI):
//
//	applicationSubmit        application_received at createdAt, with its attribution
//	                         (see attribution); status Lead: pool_added of the
//	                         candidate to pool "leads", which converts when an
//	                         application of theirs is received
//	candidateStageChange     stage_changed to currentInterviewStage.title at updatedAt;
//	                         into an Archived stage: rejected, or withdrawn when the
//	                         archive reason's reasonType is RejectedByCandidate;
//	                         into the Hired stage: ignored (candidateHire records it)
//	candidateHire            hired at updatedAt
//	interviewScheduleUpdate  per interview event: Scheduled → interview_scheduled (or
//	                         interview_rescheduled when the event was updated after it
//	                         was created), Cancelled → interview_canceled; with
//	                         scheduled_for and duration from startTime/endTime
//	surveySubmit             survey_response when the form has a 0–10 question whose
//	                         title mentions "recommend" (the NPS question); else ignored
//	ping                     Ping
//
//	interviewScheduleCreate  as interviewScheduleUpdate; it names no candidate, so its
//	                         items take the application's (or wait for it: parked)
//	offerCreate, offerUpdate offer_extended once offerStatus says the candidate has it
//	                         (WaitingOnCandidateResponse, CandidateAccepted,
//	                         CandidateRejected), at its latest version's createdAt as
//	                         the sync reads it; the candidate is the application's, as
//	                         for interviewScheduleCreate
//
// Not mapped: applicationUpdate (fired by stage changes and hires too), deletions,
// merges, jobs, openings and postings. Un-archiving shows only as a stage change.
type Receiver struct{}

// Source returns "ashby".
func (Receiver) Source() string { return "ashby" }

// Verify checks the Ashby-Signature header.
func (Receiver) Verify(h http.Header, body []byte, secrets []string, _ time.Time) error {
	v, err := webhooks.SignatureHeader(h, "Ashby-Signature", secrets)
	if err != nil {
		return err
	}
	algo, sig, ok := strings.Cut(v, "=")
	if !ok || algo != "sha256" {
		return fmt.Errorf("%w: Ashby-Signature must be \"sha256=<hex>\"", webhooks.ErrMalformedSignature)
	}
	return webhooks.VerifyHexSHA256("Ashby-Signature", sig, body, secrets)
}

type ashbyBody struct {
	WebhookActionID string `json:"webhookActionId"`
	Action          string `json:"action"`
	Data            *struct {
		Application       *ashbyApplication `json:"application"`
		InterviewSchedule *ashbySchedule    `json:"interviewSchedule"`
		SurveySubmission  *ashbySubmission  `json:"surveySubmission"`
		Offer             *apiOffer         `json:"offer"` // the Offer object offer.list returns
	} `json:"data"`
}

type ashbyApplication struct {
	ID         webhooks.VendorID `json:"id"`
	CreatedAt  string            `json:"createdAt"`
	UpdatedAt  string            `json:"updatedAt"`
	ArchivedAt string            `json:"archivedAt"`
	Status     string            `json:"status"`
	Candidate  struct {
		ID                  webhooks.VendorID `json:"id"`
		Name                string            `json:"name"`
		PrimaryEmailAddress *ashbyContact     `json:"primaryEmailAddress"`
		PrimaryPhoneNumber  *ashbyContact     `json:"primaryPhoneNumber"`
	} `json:"candidate"`
	CurrentInterviewStage *struct {
		ID    webhooks.VendorID `json:"id"`
		Title string            `json:"title"`
		Type  string            `json:"type"`
	} `json:"currentInterviewStage"`
	Source *struct {
		Title      string `json:"title"`
		SourceType *struct {
			Title string `json:"title"`
		} `json:"sourceType"`
	} `json:"source"`
	// CreditedToUser is the user credited with the application: the referrer when the
	// source is a referral.
	CreditedToUser *struct {
		ID webhooks.VendorID `json:"id"`
	} `json:"creditedToUser"`
	ArchiveReason *struct {
		Text       string `json:"text"`
		ReasonType string `json:"reasonType"`
	} `json:"archiveReason"`
	Job *struct {
		ID           webhooks.VendorID `json:"id"`
		Title        string            `json:"title"`
		DepartmentID webhooks.VendorID `json:"departmentId"`
	} `json:"job"`
	HiringTeam []struct {
		UserID webhooks.VendorID `json:"userId"`
		Role   string            `json:"role"`
	} `json:"hiringTeam"`
}

type ashbyContact struct {
	Value string `json:"value"`
}

type ashbySchedule struct {
	ID              webhooks.VendorID `json:"id"`
	Status          string            `json:"status"`
	ApplicationID   webhooks.VendorID `json:"applicationId"`
	CandidateID     webhooks.VendorID `json:"candidateId"`
	UpdatedAt       string            `json:"updatedAt"`
	InterviewEvents []struct {
		ID        webhooks.VendorID `json:"id"`
		StartTime string            `json:"startTime"`
		EndTime   string            `json:"endTime"`
		CreatedAt string            `json:"createdAt"`
		UpdatedAt string            `json:"updatedAt"`
	} `json:"interviewEvents"`
}

type ashbySubmission struct {
	ID             webhooks.VendorID `json:"id"`
	SubmittedAt    string            `json:"submittedAt"`
	CandidateID    webhooks.VendorID `json:"candidateId"`
	ApplicationID  webhooks.VendorID `json:"applicationId"`
	SurveyType     string            `json:"surveyType"`
	FormDefinition *struct {
		Sections []struct {
			Fields []struct {
				Field struct {
					Path  string `json:"path"`
					Title string `json:"title"`
				} `json:"field"`
			} `json:"fields"`
		} `json:"sections"`
	} `json:"formDefinition"`
	SubmittedValues map[string]json.RawMessage `json:"submittedValues"`
}

// ashbyIgnored explains the events that are deliberately not mapped.
var ashbyIgnored = map[string]string{
	"applicationUpdate": "application updates are not touchpoints; stage changes and hires have their own events",
	"offerDelete":       "an offer's deletion is not a touchpoint",
	"candidateDelete":   "deletions are not touchpoints; use POST /v1/erasures to remove personal data",
	"candidateMerge":    "candidate merges are not touchpoints",
}

// Parse maps an Ashby webhook.
func (a Receiver) Parse(_ http.Header, body []byte, now time.Time) (webhooks.Delivery, error) {
	d := webhooks.Delivery{Source: a.Source()}
	var b ashbyBody
	if err := webhooks.Decode(body, &b); err != nil {
		return d, err
	}
	d.Event = webhooks.Text(b.Action)
	d.DeliveryID = webhooks.Text(b.WebhookActionID)
	switch {
	case d.Event == "":
		return d, webhooks.Malformed("action is missing")
	case d.Event == "ping":
		d.Ping = true
		return d, nil
	case ashbyIgnored[d.Event] != "":
		d.Ignored = ashbyIgnored[d.Event]
		return d, nil
	}
	var err error
	switch d.Event {
	case "applicationSubmit", "candidateStageChange", "candidateHire":
		if b.Data == nil || b.Data.Application == nil {
			return d, webhooks.Malformed("data.application is missing")
		}
		err = a.application(&d, b.WebhookActionID, b.Data.Application, now)
	case "interviewScheduleUpdate", "interviewScheduleCreate":
		if b.Data == nil || b.Data.InterviewSchedule == nil {
			return d, webhooks.Malformed("data.interviewSchedule is missing")
		}
		err = a.schedule(&d, b.Data.InterviewSchedule, now)
	case "offerCreate", "offerUpdate":
		if b.Data == nil || b.Data.Offer == nil {
			return d, webhooks.Malformed("data.offer is missing")
		}
		err = a.offer(&d, b.Data.Offer, now)
	case "surveySubmit":
		if b.Data == nil || b.Data.SurveySubmission == nil {
			return d, webhooks.Malformed("data.surveySubmission is missing")
		}
		err = a.survey(&d, b.Data.SurveySubmission, now)
	default:
		d.Ignored = "goodwill does not map the Ashby event " + d.Event
		return d, nil
	}
	if err != nil {
		d.Items = nil
		return d, err
	}
	check := webhooks.CheckIDs
	if d.Thin {
		check = webhooks.CheckThinIDs
	}
	for i := range d.Items {
		if err := check(&d.Items[i]); err != nil {
			d.Items = nil
			return d, err
		}
	}
	return d, nil
}

// application maps applicationSubmit, candidateStageChange and candidateHire.
func (a Receiver) application(d *webhooks.Delivery, actionID string, app *ashbyApplication, now time.Time) error {
	in := applicationBase(app, "")
	at := func(values ...string) string {
		if t, ok := webhooks.FirstTime(values...); ok {
			return t
		}
		return interactions.APITime(now)
	}
	key := func(fallback ...string) string {
		if actionID != "" {
			return webhooks.ExternalID(d.Event, actionID)
		}
		return webhooks.ExternalID(append([]string{d.Event, string(app.ID)}, fallback...)...)
	}
	switch d.Event {
	case "applicationSubmit":
		in.OccurredAt = at(app.CreatedAt, app.UpdatedAt)
		in.Kind = string(interactions.KindApplicationReceived)
		if strings.EqualFold(app.Status, "Lead") {
			webhooks.Pooled(&in, webhooks.PoolLeads, map[string]string{"ashby_event": d.Event})
		} else {
			in.Attribution = attribution(app, in.Referral)
		}
		in.ExternalID = key()
	case "candidateHire":
		in.OccurredAt = at(app.UpdatedAt)
		in.Kind = string(interactions.KindHired)
		in.ExternalID = key()
	case "candidateStageChange":
		st := app.CurrentInterviewStage
		if st == nil || webhooks.Text(st.Title) == "" {
			d.Ignored = "the stage change names no current interview stage"
			return nil
		}
		switch {
		case strings.EqualFold(st.Type, "Hired"):
			d.Ignored = "a move to the Hired stage is recorded from candidateHire"
			return nil
		case strings.EqualFold(st.Type, "Archived"):
			in.OccurredAt = at(app.ArchivedAt, app.UpdatedAt)
			in.Kind = string(interactions.KindRejected)
			if r := app.ArchiveReason; r != nil {
				if r.ReasonType == "RejectedByCandidate" {
					in.Kind = string(interactions.KindWithdrawn)
				}
				in.Metadata = webhooks.Metadata(map[string]string{"archive_reason": r.Text, "archive_reason_type": r.ReasonType})
			}
		default:
			in.OccurredAt = at(app.UpdatedAt)
			in.Kind = string(interactions.KindStageChanged)
			in.Stage = webhooks.Text(st.Title)
		}
		in.ExternalID = key(string(st.ID), app.UpdatedAt)
	}
	d.Items = []interactions.Input{in}
	return nil
}

// applicationBase is what every item about an application carries, from the webhook
// or from the sync alike (the sync reads the same application object from
// application.list): the application, its candidate with contact details, the job
// (with department, the name of the job's departmentId, when known), the owner —
// the hiring team's Recruiter, goodwill's choice of owner for Ashby — and whether the
// source is a referral.
func applicationBase(app *ashbyApplication, department string) interactions.Input {
	c := app.Candidate
	in := interactions.Input{
		ApplicationID: webhooks.Prefixed("ashby", app.ID),
		CandidateID:   webhooks.Prefixed("ashby", c.ID),
		Source:        "ashby",
		Channel:       "ats",
	}
	var mail, phone string
	if c.PrimaryEmailAddress != nil {
		mail = c.PrimaryEmailAddress.Value
	}
	if c.PrimaryPhoneNumber != nil {
		phone = c.PrimaryPhoneNumber.Value
	}
	in.Candidate = webhooks.ContactDetails(c.Name, mail, phone)
	if app.Job != nil {
		in.JobID = webhooks.Prefixed("ashby", app.Job.ID)
		in.Job = webhooks.JobInfo(app.Job.Title, department)
	}
	in.RecruiterID = recruiterOf(app)
	if s := app.Source; s != nil {
		in.Referral = webhooks.IsReferral(s.Title) || (s.SourceType != nil && webhooks.IsReferral(s.SourceType.Title))
	}
	return in
}

// attribution is where the application came from, from Ashby's application object
// (developers.ashbyhq.com, "application.info": source {title, sourceType {title}},
// creditedToUser): source, the source's title ("LinkedIn"); medium, its source type's
// title ("Job Board", "Referral", "Agency", "Sourced"); and on a referral the credited
// user as referrer, "ashby:<user id>" (the application names the user, not an
// employee id). Ashby has no campaign. creditedToUser on an application that is no
// referral is the user who sourced it, not a referrer, and is left out.
func attribution(app *ashbyApplication, referral bool) *interactions.Attribution {
	var a interactions.Attribution
	if s := app.Source; s != nil {
		a.Source = webhooks.Text(s.Title)
		if s.SourceType != nil {
			a.Medium = webhooks.Text(s.SourceType.Title)
		}
	}
	if referral {
		if a.Medium == "" {
			a.Medium = "referral"
		}
		if c := app.CreditedToUser; c != nil {
			a.ReferrerID = webhooks.Prefixed("ashby", c.ID)
		}
	}
	return a.Normalized()
}

// recruiterOf is the application's owner: the first member of its hiring team in the
// role Recruiter, "" when it has none.
func recruiterOf(app *ashbyApplication) string {
	for _, m := range app.HiringTeam {
		if strings.EqualFold(m.Role, "Recruiter") {
			return webhooks.Prefixed("ashby", m.UserID)
		}
	}
	return ""
}

// offer maps offerCreate and offerUpdate: offer_extended once the candidate has the
// offer (offerStatus one of extended), dated as the sync dates it — its latest
// version's createdAt, else decidedAt, else the time of receipt — so that the webhook
// and the sync describe it once (interactions.SameEvent). The offer names only its
// application: the candidate is the application's (Delivery.Thin).
func (a Receiver) offer(d *webhooks.Delivery, o *apiOffer, now time.Time) error {
	if o.ID == "" || o.ApplicationID == "" {
		return webhooks.Malformed("data.offer.id and data.offer.applicationId are required")
	}
	if !slices.Contains(extended, o.OfferStatus) {
		d.Ignored = "the offer has not been extended to the candidate (offerStatus " + webhooks.Text(o.OfferStatus) + ")"
		return nil
	}
	var versionAt string
	if o.LatestVersion != nil {
		versionAt = o.LatestVersion.CreatedAt
	}
	at, ok := webhooks.FirstTime(versionAt, o.DecidedAt)
	if !ok {
		at = interactions.APITime(now)
	}
	d.Thin = true
	d.Items = []interactions.Input{{
		ApplicationID: webhooks.Prefixed("ashby", o.ApplicationID),
		Kind:          string(interactions.KindOfferExtended),
		OccurredAt:    at,
		Source:        a.Source(),
		Channel:       "ats",
		ExternalID:    webhooks.ExternalID("offer_extended", string(o.ID)),
		Metadata:      webhooks.Metadata(map[string]string{"offer_status": o.OfferStatus, "acceptance_status": o.AcceptanceStatus}),
	}}
	return nil
}

// schedule maps interviewScheduleUpdate and interviewScheduleCreate: one item per
// interview event. interviewScheduleCreate names no candidate: its items take the
// application's (Delivery.Thin), and both events of one interview share its key.
func (a Receiver) schedule(d *webhooks.Delivery, s *ashbySchedule, now time.Time) error {
	d.Thin = s.CandidateID == ""
	var kind interactions.Kind
	switch s.Status {
	case "Scheduled":
		kind = interactions.KindInterviewScheduled
	case "Cancelled":
		kind = interactions.KindInterviewCanceled
	default:
		d.Ignored = "interview schedule status " + webhooks.Text(s.Status) + " is not a touchpoint"
		return nil
	}
	if len(s.InterviewEvents) == 0 {
		d.Ignored = "the interview schedule lists no interview events"
		return nil
	}
	if len(s.InterviewEvents) > webhooks.MaxItems {
		return webhooks.Malformed("more than %d interview events", webhooks.MaxItems)
	}
	for _, ev := range s.InterviewEvents {
		in := interactions.Input{
			ApplicationID: webhooks.Prefixed("ashby", s.ApplicationID),
			CandidateID:   webhooks.Prefixed("ashby", s.CandidateID),
			InterviewID:   webhooks.Prefixed("ashby", ev.ID),
			Kind:          string(kind),
			Source:        a.Source(),
		}
		occurred, ok := webhooks.FirstTime(ev.UpdatedAt, s.UpdatedAt)
		if !ok {
			occurred = interactions.APITime(now)
		}
		in.OccurredAt = occurred
		start, okStart := webhooks.ParseTime(ev.StartTime)
		if kind == interactions.KindInterviewCanceled {
			in.ExternalID = webhooks.ExternalID("interview_canceled", string(ev.ID))
		} else {
			if !okStart {
				continue // a scheduled event without a time is not yet scheduled
			}
			in.ScheduledFor = interactions.APITime(start)
			if end, ok := webhooks.ParseTime(ev.EndTime); ok {
				in.Duration = webhooks.APIDuration(start, end)
			}
			// The key is the event at its time: a change of interviewers keeps the key
			// (a duplicate), a new time makes a new key, and then the event has been
			// updated since it was created, so it is a reschedule.
			in.ExternalID = webhooks.ExternalID("interview", string(ev.ID), in.ScheduledFor)
			created, okC := webhooks.ParseTime(ev.CreatedAt)
			updated, okU := webhooks.ParseTime(ev.UpdatedAt)
			if okC && okU && updated.Sub(created) > time.Minute {
				in.Kind = string(interactions.KindInterviewRescheduled)
			}
		}
		d.Items = append(d.Items, in)
	}
	if len(d.Items) == 0 {
		d.Ignored = "no interview event of the schedule has a start time"
	}
	return nil
}

// survey maps surveySubmit to a survey_response when the form has an NPS question.
func (a Receiver) survey(d *webhooks.Delivery, s *ashbySubmission, now time.Time) error {
	if s.ApplicationID == "" {
		d.Ignored = "the survey submission names no application"
		return nil
	}
	score, ok := ashbyNPS(s)
	if !ok {
		d.Ignored = "the survey has no 0–10 \"recommend\" (NPS) question answered"
		return nil
	}
	occurred, okT := webhooks.FirstTime(s.SubmittedAt)
	if !okT {
		occurred = interactions.APITime(now)
	}
	d.Items = []interactions.Input{{
		ApplicationID: webhooks.Prefixed("ashby", s.ApplicationID),
		CandidateID:   webhooks.Prefixed("ashby", s.CandidateID),
		Kind:          string(interactions.KindSurveyResponse),
		OccurredAt:    occurred,
		Source:        a.Source(),
		Channel:       "portal",
		ExternalID:    webhooks.ExternalID(d.Event, string(s.ID)),
		Score:         &score,
		Metadata:      webhooks.Metadata(map[string]string{"survey_type": s.SurveyType}),
	}}
	return nil
}

// ashbyNPS finds the answer to the survey's NPS question: a field whose title mentions
// "recommend" answered with a whole number from 0 to 10. Ashby's payload does not mark
// NPS questions, so the title is the signal (documented in the package's report).
func ashbyNPS(s *ashbySubmission) (int, bool) {
	if s.FormDefinition == nil {
		return 0, false
	}
	for _, sec := range s.FormDefinition.Sections {
		for _, f := range sec.Fields {
			if !strings.Contains(strings.ToLower(f.Field.Title), "recommend") {
				continue
			}
			raw, ok := s.SubmittedValues[f.Field.Path]
			if !ok {
				continue
			}
			if n, ok := scoreValue(raw); ok {
				return n, true
			}
		}
	}
	return 0, false
}

// scoreValue reads a whole number 0–10 given as a JSON number or numeric string.
func scoreValue(raw json.RawMessage) (int, bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, false
		}
		f = n
	default:
		return 0, false
	}
	if f < 0 || f > 10 || f != math.Trunc(f) {
		return 0, false
	}
	return int(f), true
}
