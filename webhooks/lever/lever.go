// Package lever is goodwill's Lever integration: the receiver of Lever's webhooks (the
// signature check and the mapping of each event to interactions, see Receiver) and the
// sync that pulls from Lever's API what those webhooks leave out (see Sync).
package lever

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Receiver receives Lever webhooks.
//
// Signature (hire.lever.co/developer/documentation, "Webhooks"; confirmed by public
// receivers): the JSON body carries token, triggeredAt (Unix milliseconds), signature,
// event and data; signature is the hex HMAC-SHA256 of token + triggeredAt (as written,
// no separator) under the webhook's signature token. Lever has one signature token per
// event type, hence several secrets. The signature does NOT cover data: a captured
// delivery could be replayed with another body. Verify therefore also refuses a
// triggeredAt more than Tolerance from now (the contract's rule for signed timestamps),
// and DeliveryID is "<token>:<triggeredAt>", which the store must accept only once.
// Third-party pages disagree on whether token is unique per delivery or per webhook;
// "<token>:<triggeredAt>" is unique per delivery under either reading.
//
// Lever's webhooks carry ids only: no names, emails, stage names or job. Mapped events
// (application = opportunity, candidate = contact):
//
//	applicationCreated      application_received
//	candidateStageChange    stage_changed, stage = toStageId's name (see Names), else the id
//	candidateArchiveChange  archived: rejected; unarchived: unrejected
//	candidateHired          hired
//	interviewCreated        interview_scheduled (scheduled_for only if data.date is sent)
//	interviewDeleted        interview_canceled
//
// All at triggeredAt. A hire in Lever also archives the opportunity with an archive
// reason of type "hired": list those reason ids in HiredArchiveReasons so that the
// archive is not mistaken for a rejection (the sync reads them itself: see Names).
// interviewUpdated is ignored: it does not say what changed. A delivery without
// data.opportunityId is Lever's test delivery: Ping.
type Receiver struct {
	// HiredArchiveReasons are the ids of the account's archive reasons of type "hired"
	// (GET /archive_reasons?type=hired); archiving with one of them is not a rejection.
	HiredArchiveReasons []string
	// Names, when set, names what Lever's webhooks give as ids: the process's Lever
	// sync (*Sync), which reads stages and archive reasons from Lever's API.
	Names Names
}

// Names names Lever's ids as the sync last read them; *Sync is one.
type Names interface {
	// StageName is the name of a stage id, "" when unknown.
	StageName(id string) string
	// HiredArchiveReasons are the ids of the archive reasons of type hired.
	HiredArchiveReasons() []string
}

// stage names a stage id: its name when Names knows it, else the id itself.
func (l Receiver) stage(id string) string {
	if l.Names != nil {
		if n := l.Names.StageName(id); n != "" {
			return n
		}
	}
	return webhooks.Text(id)
}

// hired reports whether archiving with reason is a hire: by the reasons Names read,
// else by HiredArchiveReasons.
func (l Receiver) hired(reason string) bool {
	if l.Names != nil {
		return slices.Contains(l.Names.HiredArchiveReasons(), reason)
	}
	return slices.Contains(l.HiredArchiveReasons, reason)
}

// Source returns "lever".
func (Receiver) Source() string { return "lever" }

type leverBody struct {
	Token       string          `json:"token"`
	TriggeredAt json.RawMessage `json:"triggeredAt"`
	Signature   string          `json:"signature"`
	Event       string          `json:"event"`
	Data        *leverData      `json:"data"`
}

type leverData struct {
	OpportunityID webhooks.VendorID `json:"opportunityId"`
	CandidateID   webhooks.VendorID `json:"candidateId"`
	ContactID     webhooks.VendorID `json:"contactId"`
	FromStageID   webhooks.VendorID `json:"fromStageId"`
	ToStageID     webhooks.VendorID `json:"toStageId"`
	FromArchived  *leverArchive     `json:"fromArchived"`
	ToArchived    *leverArchive     `json:"toArchived"`
	InterviewID   webhooks.VendorID `json:"interviewId"`
	PanelID       webhooks.VendorID `json:"panelId"`
	Date          *int64            `json:"date"`     // interview start, Unix ms, if sent
	Duration      *int64            `json:"duration"` // interview length in minutes, if sent
}

type leverArchive struct {
	ArchivedAt *int64            `json:"archivedAt"`
	Reason     webhooks.VendorID `json:"reason"`
}

// triggeredAt returns the signed text of triggeredAt: a JSON number as written, or the
// content of a JSON string.
func (b leverBody) triggeredAt() (string, bool) {
	raw := bytes.TrimSpace(b.TriggeredAt)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, s != ""
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return "", false
	}
	return n.String(), true
}

// Verify checks the body's signature over token + triggeredAt and the freshness of
// triggeredAt.
func (Receiver) Verify(_ http.Header, body []byte, secrets []string, now time.Time) error {
	if webhooks.NoSecret(secrets) {
		return webhooks.ErrNoSecret
	}
	var b leverBody
	if err := json.Unmarshal(body, &b); err != nil {
		return fmt.Errorf("%w: the body is not a JSON object with token, triggeredAt and signature", webhooks.ErrMalformedSignature)
	}
	at, ok := b.triggeredAt()
	switch {
	case b.Signature == "":
		return fmt.Errorf("%w: signature field", webhooks.ErrMissingSignature)
	case b.Token == "" || !ok:
		return fmt.Errorf("%w: token and triggeredAt are required", webhooks.ErrMalformedSignature)
	}
	if err := webhooks.VerifyHexSHA256("signature", b.Signature, []byte(b.Token+at), secrets); err != nil {
		return err
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: triggeredAt must be Unix milliseconds", webhooks.ErrMalformedSignature)
	}
	if d := now.Sub(time.UnixMilli(ms)); d > webhooks.Tolerance || d < -webhooks.Tolerance {
		return webhooks.ErrStaleTimestamp
	}
	return nil
}

// Parse maps a Lever webhook.
func (l Receiver) Parse(_ http.Header, body []byte, now time.Time) (webhooks.Delivery, error) {
	d := webhooks.Delivery{Source: l.Source()}
	var b leverBody
	if err := webhooks.Decode(body, &b); err != nil {
		return d, err
	}
	at, _ := b.triggeredAt()
	d.Event = webhooks.Text(b.Event)
	if b.Token != "" && at != "" {
		d.DeliveryID = webhooks.ExternalID(b.Token, at)
	}
	if d.Event == "" {
		return d, webhooks.Malformed("event is missing")
	}
	switch d.Event {
	case "applicationCreated", "candidateStageChange", "candidateArchiveChange", "candidateHired",
		"interviewCreated", "interviewDeleted":
	case "interviewUpdated":
		d.Ignored = "Lever's interviewUpdated does not say what changed or when; send reschedules through the API or Standard Webhooks"
		return d, nil
	case "candidateDeleted":
		d.Ignored = "deletions are not touchpoints; use POST /v1/erasures to remove personal data"
		return d, nil
	case "contactCreated", "contactUpdated":
		d.Ignored = "contact changes name no application and are not touchpoints"
		return d, nil
	default:
		d.Ignored = "goodwill does not map the Lever event " + d.Event
		return d, nil
	}
	if b.Data == nil || b.Data.OpportunityID == "" {
		d.Ping = true // Lever's test deliveries name no opportunity
		return d, nil
	}
	data := b.Data
	occurred := interactions.APITime(now)
	if ms, err := strconv.ParseInt(at, 10, 64); err == nil {
		if t, ok := unixMilli(ms); ok {
			occurred = t
		}
	}
	candidate := data.ContactID
	if candidate == "" {
		candidate = data.CandidateID
	}
	in := interactions.Input{
		ApplicationID: webhooks.Prefixed("lever", data.OpportunityID),
		CandidateID:   webhooks.Prefixed("lever", candidate),
		OccurredAt:    occurred,
		Source:        l.Source(),
		Channel:       "ats",
		ExternalID:    webhooks.ExternalID(d.Event, string(data.OpportunityID), at),
	}
	switch d.Event {
	case "applicationCreated":
		in.Kind = string(interactions.KindApplicationReceived)
	case "candidateStageChange":
		if data.ToStageID == "" {
			return d, webhooks.Malformed("data.toStageId is missing")
		}
		in.Kind = string(interactions.KindStageChanged)
		in.Stage = l.stage(string(data.ToStageID))
		in.Metadata = webhooks.Metadata(map[string]string{"from_stage_id": string(data.FromStageID)})
	case "candidateArchiveChange":
		switch {
		case data.ToArchived != nil:
			if l.hired(string(data.ToArchived.Reason)) {
				d.Ignored = "archived as hired; candidateHired records the hire"
				return d, nil
			}
			in.Kind = string(interactions.KindRejected)
			if a := data.ToArchived.ArchivedAt; a != nil {
				if t, ok := unixMilli(*a); ok {
					in.OccurredAt = t
				}
			}
			in.Metadata = webhooks.Metadata(map[string]string{"archive_reason_id": string(data.ToArchived.Reason)})
		case data.FromArchived != nil:
			in.Kind = string(interactions.KindUnrejected)
		default:
			d.Ignored = "the archive change names neither the old nor the new archive state"
			return d, nil
		}
	case "candidateHired":
		in.Kind = string(interactions.KindHired)
	case "interviewCreated", "interviewDeleted":
		if data.InterviewID == "" {
			return d, webhooks.Malformed("data.interviewId is missing")
		}
		in.InterviewID = webhooks.Prefixed("lever", data.InterviewID)
		in.ExternalID = webhooks.ExternalID(d.Event, string(data.InterviewID), at)
		in.Kind = string(interactions.KindInterviewCanceled)
		if d.Event == "interviewCreated" {
			in.Kind = string(interactions.KindInterviewScheduled)
			if t, ok := unixMilli(deref(data.Date)); ok {
				in.ScheduledFor = t
				if data.Duration != nil && *data.Duration > 0 && *data.Duration < 24*60 {
					in.Duration = strconv.FormatInt(*data.Duration, 10) + "m"
				}
			}
		}
	}
	if err := webhooks.CheckIDs(&in); err != nil {
		return d, err
	}
	d.Items = []interactions.Input{in}
	return d, nil
}

// unixMilli formats Unix milliseconds for the API; false for 0 and for times outside
// the years 1970–9999.
func unixMilli(ms int64) (string, bool) {
	t, ok := msTime(ms)
	if !ok {
		return "", false
	}
	return interactions.APITime(t), true
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
