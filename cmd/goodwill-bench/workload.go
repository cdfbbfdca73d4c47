package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// workload is the set of request bodies every column sends, in sending order.
type workload struct {
	bodies [][]byte
	apps   int            // distinct applications
	appOf  []string       // application id of each body
	perApp map[string]int // interactions per application id
	kinds  map[string]int // interactions per kind (message split by direction)
	// backlog: the events are a month old, so every clock is overdue on arrival.
	backlog bool
}

// body is one interaction as a client posts it (a subset of interactions.Input).
type body struct {
	ApplicationID string                `json:"application_id"`
	CandidateID   string                `json:"candidate_id"`
	Kind          string                `json:"kind"`
	OccurredAt    string                `json:"occurred_at"`
	Direction     string                `json:"direction,omitempty"`
	Channel       string                `json:"channel,omitempty"`
	JobID         string                `json:"job_id,omitempty"`
	RecruiterID   string                `json:"recruiter_id,omitempty"`
	Source        string                `json:"source"`
	ExternalID    string                `json:"external_id"`
	Stage         string                `json:"stage,omitempty"`
	Candidate     *interactions.Person  `json:"candidate,omitempty"`
	Job           *interactions.JobInfo `json:"job,omitempty"`
	Referral      bool                  `json:"referral,omitempty"`
}

var stages = []string{"phone_screen", "onsite", "offer", "hiring_manager_review", "take_home"}

// newWorkload builds n single-interaction bodies over min(apps, n) applications. Each
// application's first interaction is application_received with the candidate's
// details and the job; the rest are outbound and inbound messages (some inbound ones
// carrying the candidate's email) and stage changes. Applications are interleaved at
// random, each one's events in order. runID makes external ids unique per run.
//
// The events are live, as webhooks arrive: they occurred in the last two hours, so no
// clock comes due during the run. With backlog they are a month old instead, as an
// ATS backlog or a late replay, so every clock is overdue on arrival and its
// transitions are recorded (without alerting) as the events are applied.
func newWorkload(n, apps int, runID string, seed uint64, backlog bool) *workload {
	apps = max(1, min(apps, n))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Every application once, the rest spread at random, then shuffled.
	picks := make([]int, n)
	for i := range picks {
		if i < apps {
			picks[i] = i
		} else {
			picks[i] = rng.IntN(apps)
		}
	}
	rng.Shuffle(n, func(i, j int) { picks[i], picks[j] = picks[j], picks[i] })
	// Each application's first pick becomes its application_received.
	seen := make([]int, apps)
	w := &workload{apps: apps, perApp: map[string]int{}, kinds: map[string]int{}}
	base, step := time.Now().UTC().Add(-2*time.Hour).Truncate(time.Second), time.Minute
	if backlog {
		base, step = time.Now().UTC().Add(-30*24*time.Hour).Truncate(time.Second), time.Hour
	}
	w.backlog = backlog
	for i, a := range picks {
		k := seen[a]
		seen[a]++
		b := body{
			ApplicationID: fmt.Sprintf("app-%05d", a),
			CandidateID:   fmt.Sprintf("cand-%05d", a),
			// Events of one application a step apart, applications a second apart.
			OccurredAt: base.Add(time.Duration(a)*time.Second + time.Duration(k)*step).Format(time.RFC3339),
			Source:     "bench",
			ExternalID: fmt.Sprintf("%s-%06d", runID, i),
		}
		switch r := rng.IntN(10); {
		case k == 0:
			b.Kind, b.Channel = "application_received", "portal"
			b.JobID = fmt.Sprintf("job-%03d", a%200)
			b.RecruiterID = fmt.Sprintf("rec-%02d", a%40)
			b.Referral = a%11 == 0
			b.Candidate = &interactions.Person{
				Name:  fmt.Sprintf("Candidate %d", a),
				Email: fmt.Sprintf("candidate%d@example.com", a),
				Phone: fmt.Sprintf("+1415555%04d", a%10000),
			}
			b.Job = &interactions.JobInfo{Title: fmt.Sprintf("Engineer %d", a%200), Department: "Engineering"}
		case r < 4:
			b.Kind, b.Direction, b.Channel = "message", "outbound", "email"
		case r < 7:
			b.Kind, b.Direction, b.Channel = "message", "inbound", "email"
			if r == 6 {
				b.Candidate = &interactions.Person{Email: fmt.Sprintf("candidate%d@example.com", a)}
			}
		default:
			b.Kind, b.Stage = "stage_changed", stages[rng.IntN(len(stages))]
		}
		js, err := json.Marshal(b)
		if err != nil {
			panic(err) // plain structs always marshal
		}
		w.bodies = append(w.bodies, js)
		w.perApp[b.ApplicationID]++
		w.appOf = append(w.appOf, b.ApplicationID)
		kind := b.Kind
		if b.Direction != "" {
			kind += " " + b.Direction
		}
		w.kinds[kind]++
	}
	return w
}

// documents parses every body as the service does, giving the interactions the raw
// columns insert.
func (w *workload) documents() ([]interactions.Interaction, error) {
	now := time.Now()
	out := make([]interactions.Interaction, 0, len(w.bodies))
	for i, b := range w.bodies {
		items, _, err := interactions.ParseWrite(b, "", now)
		if err != nil {
			return nil, fmt.Errorf("body %d: %w", i, err)
		}
		out = append(out, items...)
	}
	return out, nil
}

// appsIn counts the interactions per application among the first bodies (sent).
func (w *workload) appsIn(sent [][]byte) map[string]int {
	out := map[string]int{}
	for _, id := range w.appOf[:len(sent)] {
		out[id]++
	}
	return out
}

// timing describes when the workload's events occurred, for the report.
func (w *workload) timing() string {
	if w.backlog {
		return "The events are a month-old backlog (`-backlog`): an application's events an hour apart, so every clock " +
			"is overdue on arrival and the SLA engine records its transitions, without alerting, as the events are applied."
	}
	return "The events are live, as an ATS's webhooks arrive: they occurred in the last two hours, an application's " +
		"events a minute apart, so no clock comes due during the run (`-backlog` posts a month-old backlog instead, " +
		"whose overdue clocks each record their transitions)."
}
