package lever

import (
	"encoding/json"
	"net/mail"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// FuzzOpportunity maps whatever Lever might answer for an opportunity and its
// interviews: the mapping never panics and every interaction holds only what
// interactions accept (ids, external ids, stage and contact details). Seeds: the
// opportunities of testdata/sync/lever.json.
func FuzzOpportunity(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sync", "lever.json"))
	if err != nil {
		f.Fatal(err)
	}
	var fx struct {
		Opportunities []json.RawMessage            `json:"opportunities"`
		Interviews    map[string][]json.RawMessage `json:"interviews"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		f.Fatal(err)
	}
	for _, o := range fx.Opportunities {
		var head struct{ ID string }
		_ = json.Unmarshal(o, &head)
		seed, _ := json.Marshal(map[string]any{"opportunity": o, "interviews": fx.Interviews[head.ID]})
		f.Add(seed)
	}
	f.Add([]byte(`{"opportunity":{"id":"x\u0000y","contact":{"id":""},"stage":7}}`))
	f.Add([]byte(`{"opportunity":{"id":"o","stageChanges":[{"toStageId":"a","updatedAt":1},{"toStageId":"b","updatedAt":-5}],"archived":{"archivedAt":99999999999999999}}}`))

	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ref := &reference{stages: map[string]string{"offer": "Offer"}, postings: map[string]apiPosting{}, reasons: map[string]apiArchiveReason{}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in struct {
			Opportunity apiOpportunity `json:"opportunity"`
			Interviews  []apiInterview `json:"interviews"`
		}
		if json.Unmarshal(body, &in) != nil {
			return
		}
		s := New(Config{}, nil, func() time.Time { return now })
		for range 2 { // a second reading exercises reschedules
			for _, it := range s.mapOpportunity(in.Opportunity, in.Interviews, ref, now) {
				check(t, it)
			}
		}
	})
}

func check(t *testing.T, it interactions.Interaction) {
	t.Helper()
	id := func(field, v string, required bool) {
		if (required && v == "") || len(v) > webhooks.MaxIDBytes || v != webhooks.CleanLine(v) {
			t.Errorf("%s %q: not an id interactions accept", field, v)
		}
	}
	id("application_id", it.ApplicationID, it.Kind != interactions.KindPoolAdded) // a lead names no application
	id("candidate_id", it.CandidateID, true)
	id("job_id", it.JobID, false)
	id("recruiter_id", it.RecruiterID, false)
	id("interview_id", it.InterviewID, false)
	if it.ExternalID == "" || len(it.ExternalID) > webhooks.MaxTextBytes || it.ExternalID != webhooks.CleanLine(it.ExternalID) {
		t.Errorf("external_id %q", it.ExternalID)
	}
	if it.Source != "lever" || it.Direction == "" {
		t.Errorf("source %q, direction %q", it.Source, it.Direction)
	}
	if len(it.Stage) > webhooks.MaxTextBytes || it.Stage != webhooks.CleanLine(it.Stage) {
		t.Errorf("stage %q", it.Stage)
	}
	if it.Kind == interactions.KindStageChanged && it.Stage == "" {
		t.Error("stage_changed without a stage")
	}
	if y := it.OccurredAt.Year(); y < 1970 || y > 9999 {
		t.Errorf("occurred_at %v", it.OccurredAt)
	}
	if c := it.Candidate; c != nil {
		if c.Phone != "" && webhooks.PhoneE164(c.Phone) != c.Phone {
			t.Errorf("phone %q", c.Phone)
		}
		if c.Email != "" {
			if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
				t.Errorf("email %q", c.Email)
			}
		}
		if len(c.Name) > webhooks.MaxTextBytes || c.Name != webhooks.CleanLine(c.Name) {
			t.Errorf("name %q", c.Name)
		}
	}
	if it.Duration != nil && (it.Duration.Wall() <= 0 || it.Duration.Wall() >= 24*time.Hour) {
		t.Errorf("duration %v", it.Duration)
	}
}

// FuzzParseToken: a token either parses into a start and an offset or is refused.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"", "1795435200000.[\"2\",\"after id\"]", "1.x", ".x", "12.", "abc.def", "9999999999999999999.x"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, tok string) {
		start, offset, err := parseToken(tok, now)
		switch {
		case err != nil:
		case tok == "":
			if !start.Equal(now) || offset != "" {
				t.Errorf("empty token: %v %q", start, offset)
			}
		case offset == "":
			t.Errorf("%q: no offset", tok)
		}
	})
}
