package webhookstest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// What the tests of every vendor's sync (an atssync.Vendor) share: a pass of a
// resource as the runner makes it, and its pages compared with golden files under
// testdata/sync/.

// SyncPage is one Pull's page as the sync golden files show it.
type SyncPage struct {
	Next         atssync.Cursor             `json:"next"`
	More         bool                       `json:"more"`
	Counts       map[string]int             `json:"counts,omitempty"`
	Users        []atssync.User             `json:"users,omitempty"`
	Interactions []interactions.Interaction `json:"-"`
	// Mapped are the interactions as the API shows them, without what the runner
	// sets when it writes them (id, received_at).
	Mapped []map[string]any `json:"interactions,omitempty"`
}

// Puller is the part of an atssync.Vendor a pass reads.
type Puller interface {
	Pull(ctx context.Context, resource string, cur atssync.Cursor) (atssync.Page, error)
}

// Pass pulls resource from cursor until More is false, as the runner does, and
// checks each interaction as the runner does before writing it (ValidInteraction).
// More than 100 pages fail the test.
func Pass(t *testing.T, s Puller, resource string, cursor atssync.Cursor) []SyncPage {
	t.Helper()
	var out []SyncPage
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("a pass of more than 100 pages")
		}
		p, err := s.Pull(context.Background(), resource, cursor)
		if err != nil {
			t.Fatalf("Pull(%s, %+v): %v", resource, cursor, err)
		}
		v := SyncPage{Next: p.Next, More: p.More, Counts: p.Counts, Users: p.Users, Interactions: p.Interactions}
		for _, in := range p.Interactions {
			ValidInteraction(t, in)
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "id")
			delete(m, "received_at")
			v.Mapped = append(v.Mapped, m)
		}
		out = append(out, v)
		if !p.More {
			return out
		}
		cursor = p.Next
	}
}

// ValidInteraction checks in as the runner does before writing it: as POST
// /v1/interactions would check it, at Now.
func ValidInteraction(t *testing.T, in interactions.Interaction) {
	t.Helper()
	api := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return interactions.APITime(*p)
	}
	input := interactions.Input{
		ApplicationID: in.ApplicationID, CandidateID: in.CandidateID, Kind: string(in.Kind),
		OccurredAt: interactions.APITime(in.OccurredAt), Direction: string(in.Direction), Channel: in.Channel,
		JobID: in.JobID, RecruiterID: in.RecruiterID, Source: in.Source, ExternalID: in.ExternalID,
		InterviewID: in.InterviewID, Stage: in.Stage, Candidate: in.Candidate, Job: in.Job,
		Referral: in.Referral, ScheduledFor: api(in.ScheduledFor),
	}
	if in.Duration != nil {
		input.Duration = in.Duration.String()
	}
	if in.Metadata != nil {
		input.Metadata, _ = json.Marshal(in.Metadata)
	}
	if _, errs := input.Validate("", Now); len(errs) > 0 {
		t.Errorf("%s: %v", in.ExternalID, errs)
	}
}

// IDs lists the external ids of the interactions of pages.
func IDs(pages []SyncPage) []string {
	var out []string
	for _, p := range pages {
		for _, in := range p.Interactions {
			out = append(out, in.ExternalID)
		}
	}
	return out
}

// GoldenSync compares v, as indented JSON, with testdata/sync/<name>.golden.json
// (go test -update rewrites it).
func GoldenSync(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	GoldenFile(t, filepath.Join("testdata", "sync", name+".golden.json"), append(got, '\n'))
}

// GoldenFile compares got with the file at path; go test -update writes got there
// instead.
func GoldenFile(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}
