package interactions

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Status is where an application stands.
type Status string

// The statuses.
const (
	StatusOpen      Status = "open"
	StatusRejected  Status = "rejected"
	StatusHired     Status = "hired"
	StatusWithdrawn Status = "withdrawn"
)

// Application is the current state of one candidate's application to one job, derived
// from its interactions. It is stored with its events in compact form (no personal
// data) so that clocks and the timeline never scan the interaction log.
type Application struct {
	ID          string     `bson:"_id" json:"id"`
	CandidateID string     `bson:"candidate_id" json:"candidate_id"`
	JobID       string     `bson:"job_id,omitempty" json:"job_id,omitempty"`
	RecruiterID string     `bson:"recruiter_id,omitempty" json:"recruiter_id,omitempty"`
	Status      Status     `bson:"status" json:"status"`
	Stage       string     `bson:"stage,omitempty" json:"stage,omitempty"`
	StageSince  *time.Time `bson:"stage_since,omitempty" json:"stage_since,omitempty"`
	Source      string     `bson:"source,omitempty" json:"source,omitempty"`
	Referral    bool       `bson:"referral" json:"referral"`
	// Attribution is where the candidate came from: that of the earliest event
	// carrying one, an application_received or the ATS sync's details_updated (which
	// brings the vendor's source when a webhook's application_received had none).
	Attribution *Attribution `bson:"attribution,omitempty" json:"attribution,omitempty"`
	// EmployeeID is the hire's employee id, from the latest hired naming one.
	EmployeeID    string     `bson:"employee_id,omitempty" json:"employee_id,omitempty"`
	AppliedAt     *time.Time `bson:"applied_at,omitempty" json:"applied_at,omitempty"`
	LastContactAt *time.Time `bson:"last_contact_at,omitempty" json:"last_contact_at,omitempty"`
	LastEventAt   time.Time  `bson:"last_event_at" json:"last_event_at"`
	ClosedAt      *time.Time `bson:"closed_at,omitempty" json:"closed_at,omitempty"`
	EventCount    int        `bson:"event_count" json:"event_count"`
	UpdatedAt     time.Time  `bson:"updated_at" json:"updated_at"`
	// Events are the application's interactions without personal data, ordered by
	// occurred_at then id.
	Events EventList `bson:"events" json:"-"`
}

// EventList is an application's events. It is stored as one binary value holding
// the BSON document {"e": [events]}, not as an array of documents: nothing queries
// inside it, and the embedded store reads and writes one binary value several times
// faster than as many nested documents. An array, as earlier versions stored, is read
// too.
type EventList []Interaction

type storedEvents struct {
	E []Interaction `bson:"e"`
}

// MarshalBSONValue implements bson.ValueMarshaler.
func (l EventList) MarshalBSONValue() (byte, []byte, error) {
	raw, err := bson.Marshal(storedEvents{E: l})
	if err != nil {
		return 0, nil, err
	}
	t, data, err := bson.MarshalValue(bson.Binary{Data: raw})
	return byte(t), data, err
}

// UnmarshalBSONValue implements bson.ValueUnmarshaler.
func (l *EventList) UnmarshalBSONValue(t byte, data []byte) error {
	v := bson.RawValue{Type: bson.Type(t), Value: data}
	switch v.Type {
	case bson.TypeBinary:
		_, raw, ok := v.BinaryOK()
		if !ok {
			return errors.New("events: malformed binary value")
		}
		var s storedEvents
		if err := bson.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		*l = s.E
	case bson.TypeArray:
		var list []Interaction
		if err := v.Unmarshal(&list); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		*l = list
	case bson.TypeNull:
		*l = nil
	default:
		return fmt.Errorf("events: stored as %s", v.Type)
	}
	return nil
}

// Compact returns the interaction without personal data, as kept in an application.
func (in Interaction) Compact() Interaction {
	in.Candidate = nil
	in.Job = nil
	in.Metadata = nil
	in.Duplicate = false
	return in
}

// SortEvents orders events by occurred_at, then id: the order derivation uses.
func SortEvents(events []Interaction) {
	slices.SortFunc(events, func(a, b Interaction) int {
		if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// MergeEvents returns events with the new ones added (ignoring ids already there),
// sorted, in a new slice: events itself is left as it is, since applications handed
// to consumers share it. It reports whether anything was added.
func MergeEvents(events, add []Interaction) ([]Interaction, bool) {
	have := make(map[string]bool, len(events))
	for _, e := range events {
		have[e.ID] = true
	}
	out := make([]Interaction, len(events), len(events)+len(add))
	copy(out, events)
	changed := false
	for _, e := range add {
		if have[e.ID] {
			continue
		}
		have[e.ID] = true
		out = append(out, e.Compact())
		changed = true
	}
	SortEvents(out)
	return out, changed
}

// DeriveApplication computes an application's state from its events, which must be
// sorted (SortEvents). It is a pure function: the same events give the same state.
func DeriveApplication(id string, events []Interaction) Application {
	a := Application{ID: id, Status: StatusOpen, Events: events, EventCount: len(events)}
	for i := range events {
		e := &events[i]
		t := e.OccurredAt
		if e.CandidateID != "" {
			a.CandidateID = e.CandidateID
		}
		if e.JobID != "" {
			a.JobID = e.JobID
		}
		if e.RecruiterID != "" {
			a.RecruiterID = e.RecruiterID
		}
		if e.Referral {
			a.Referral = true
		}
		if a.Source == "" {
			a.Source = e.Source
		}
		if a.Attribution == nil && e.Attribution != nil { // the first attribution wins
			a.Attribution = e.Attribution
		}
		if e.IsContact() {
			a.LastContactAt = &t
		}
		a.LastEventAt = t
		switch e.Kind {
		case KindApplicationReceived:
			if a.AppliedAt == nil {
				a.AppliedAt = &t
				a.Source = e.Source
			}
		case KindStageChanged:
			a.Stage = e.Stage
			a.StageSince = &t
		case KindDetailsUpdated:
			// The stage as the ATS reports it; no clock follows it (sla derives
			// stage_stall from stage_changed alone).
			if e.Stage != "" && e.Stage != a.Stage {
				a.Stage = e.Stage
				a.StageSince = &t
			}
		case KindRejected:
			a.Status, a.ClosedAt = StatusRejected, &t
		case KindHired:
			a.Status, a.ClosedAt = StatusHired, &t
			if e.EmployeeID != "" {
				a.EmployeeID = e.EmployeeID
			}
		case KindWithdrawn:
			a.Status, a.ClosedAt = StatusWithdrawn, &t
		case KindUnrejected:
			a.Status, a.ClosedAt = StatusOpen, nil
		}
	}
	if IsNurture(id) {
		// A candidate's nurture document (nurture.go): its events come from several
		// applications, so it has none of an application's own facts.
		a.CandidateID = strings.TrimPrefix(id, NurturePrefix)
		a.JobID, a.RecruiterID, a.Source, a.Referral, a.Stage, a.StageSince = "", "", "", false, "", nil
		a.Status, a.ClosedAt = StatusOpen, nil
	}
	return a
}
