package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Interaction is one touchpoint to write (POST /v1/interactions); empty fields are
// left out, so the service's defaults apply.
type Interaction struct {
	ApplicationID     string          `json:"application_id,omitempty"`
	CandidateID       string          `json:"candidate_id,omitempty"`
	Kind              string          `json:"kind"`
	OccurredAt        time.Time       `json:"occurred_at"`
	Direction         string          `json:"direction,omitempty"`
	Channel           string          `json:"channel,omitempty"`
	JobID             string          `json:"job_id,omitempty"`
	RecruiterID       string          `json:"recruiter_id,omitempty"`
	ActorID           string          `json:"actor_id,omitempty"`
	Source            string          `json:"source,omitempty"`
	ExternalID        string          `json:"external_id,omitempty"`
	CandidateNotified bool            `json:"candidate_notified,omitempty"`
	ScheduledFor      *time.Time      `json:"scheduled_for,omitempty"`
	Duration          string          `json:"duration,omitempty"` // e.g. "1h"
	InterviewID       string          `json:"interview_id,omitempty"`
	Stage             string          `json:"stage,omitempty"`
	Score             *int            `json:"score,omitempty"`
	Until             *time.Time      `json:"until,omitempty"`
	PromisedBy        *time.Time      `json:"promised_by,omitempty"`
	Candidate         *Person         `json:"candidate,omitempty"`
	Job               *Job            `json:"job,omitempty"`
	Referral          bool            `json:"referral,omitempty"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
}

// Person is a candidate's contact details.
type Person struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Job is a job's title and department.
type Job struct {
	Title      string `json:"title,omitempty"`
	Department string `json:"department,omitempty"`
}

// Stored is the service's answer for one written item.
type Stored struct {
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	// Duplicate is true when the item's idempotency key was already stored: ID is
	// then the original's, and nothing new was written.
	Duplicate bool `json:"duplicate"`
}

// preferMinimal asks the service to answer a write with what Stored holds, not the
// interactions in full (RFC 7240).
var preferMinimal = http.Header{"Prefer": {"return=minimal"}}

// Result is the answer to a write: one Stored per item, in the order sent.
type Result struct {
	// Status is 201, or 200 for a single interaction that was a duplicate (a batch
	// answers 201 and flags its duplicates).
	Status       int
	Interactions []Stored // as many as items were sent
}

// Counts returns how many items were stored and how many were duplicates.
func (r Result) Counts() (stored, duplicates int) {
	for _, it := range r.Interactions {
		if it.Duplicate {
			duplicates++
		} else {
			stored++
		}
	}
	return stored, duplicates
}

// PostInteractions writes up to 1000 interactions in one batch. Validation is all or
// nothing: a 400 is an *Error whose Problem.Errors name the items
// ("interactions[3].kind") and nothing is stored.
func (c *Client) PostInteractions(ctx context.Context, items []Interaction) (Result, error) {
	raws := make([]json.RawMessage, len(items))
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return Result{}, fmt.Errorf("interactions[%d]: %w", i, err)
		}
		raws[i] = b
	}
	return c.PostInteractionsJSON(ctx, raws)
}

// PostInteraction writes one interaction (the API's single-object form).
func (c *Client) PostInteraction(ctx context.Context, it Interaction) (Result, error) {
	status, body, err := c.send(ctx, http.MethodPost, "/v1/interactions", it, preferMinimal)
	if err != nil {
		return Result{Status: status}, err
	}
	var ans Stored
	if err := json.Unmarshal(body, &ans); err != nil || ans.ID == "" {
		return Result{Status: status}, fmt.Errorf("unexpected answer from the service (%d): %.200s", status, body)
	}
	return Result{Status: status, Interactions: []Stored{ans}}, nil
}

// PostInteractionsJSON is PostInteractions for items already encoded as JSON objects,
// sent as they are, so that the service judges every field (an importer forwards what
// it read).
func (c *Client) PostInteractionsJSON(ctx context.Context, items []json.RawMessage) (Result, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"interactions":[`)
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it)
	}
	buf.WriteString("]}")
	status, body, err := c.send(ctx, http.MethodPost, "/v1/interactions", buf.Bytes(), preferMinimal)
	if err != nil {
		return Result{Status: status}, err
	}
	var ans struct {
		Interactions []Stored `json:"interactions"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || len(ans.Interactions) != len(items) {
		return Result{Status: status}, fmt.Errorf("unexpected answer from the service (%d): %.200s", status, body)
	}
	return Result{Status: status, Interactions: ans.Interactions}, nil
}

// Flush asks the service to complete the derived state (clocks, scores) of
// everything written so far (POST /v1/interactions/flush); it returns once the
// service says it is done. A 503 (not done within the service's limit) is an *Error
// with RetryAfter set.
func (c *Client) Flush(ctx context.Context) error {
	_, err := c.Do(ctx, http.MethodPost, "/v1/interactions/flush", nil, nil)
	return err
}
