package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// candidateEmails returns the email touchpoints of a candidate's timeline
// (GET /v1/candidates/{id}/timeline), with the application each is on.
func candidateEmails(t *testing.T, srv *servicetest.Instance, id string) []struct {
	timelineItem
	ApplicationID string `json:"application_id"`
} {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/candidates/"+id+"/timeline", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("timeline of %s: %d %s", id, r.Status, r.Body)
	}
	var tl struct {
		Interactions []struct {
			timelineItem
			ApplicationID string `json:"application_id"`
		} `json:"interactions"`
	}
	r.JSON(t, &tl)
	out := tl.Interactions[:0]
	for _, it := range tl.Interactions {
		if it.Source == "email" {
			out = append(out, it)
		}
	}
	return out
}

// TestMailDropboxCandidateLevel: mail with a candidate who has no application becomes a
// candidate-level message (no application_id). A pool member's nurture clock restarts
// at the recruiter's email and the candidate's timeline shows both directions; a
// candidate in no pool gets the touch on their timeline and no clock.
func TestMailDropboxCandidateLevel(t *testing.T) {
	srv := mailServer(t, nil, service.Options{})
	w := newMailWorld(t, srv)
	addr := srv.Server.MailAddr()
	now := time.Now()
	if r := srv.Do(t, http.MethodPut, "/v1/pools/silver", servicetest.AdminKey, map[string]any{
		"name": "Silver medalists", "cadence": "30d", "calendar": "24x7", "owner_id": "ann", "alerts": false,
	}); r.Status != http.StatusCreated {
		t.Fatalf("put pool: %d %s", r.Status, r.Body)
	}
	added := now.Add(-time.Hour).UTC().Truncate(time.Millisecond)
	joined := poolEvent("pool_added", "silver", "cand-grace", added)
	joined["candidate"] = map[string]string{"name": "Grace", "email": "grace@example.com"}
	postPool(t, srv, servicetest.AdminKey, joined, http.StatusCreated)
	// Lou is known (a note about them, with their address) but in no pool and with no application.
	postPool(t, srv, servicetest.AdminKey, map[string]any{"kind": "note", "candidate_id": "cand-lou",
		"occurred_at": added.Format(time.RFC3339Nano), "candidate": map[string]string{"name": "Lou", "email": "lou@example.com"}},
		http.StatusCreated)
	servicetest.Eventually(t, 0, "grace's nurture clock", func() bool { return len(nurtureClocks(t, srv, "cand-grace")) == 1 })
	servicetest.Eventually(t, 0, "lou's address known", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/candidates/cand-lou/timeline", servicetest.AdminKey, nil).Status == http.StatusOK
	})

	// Ann writes to Grace, BCC'ing her address, and Grace answers through ann's redirect rule.
	sent := now.Add(-2 * time.Minute).Truncate(time.Second)
	out := mailMsg{From: "ann@acme.test", To: "Grace <grace@example.com>", MessageID: "pool-out@acme.test", Date: sent}
	for range 2 { // the second copy is a duplicate
		if err := send(t, addr, "ann@acme.test", []string{w.address["ann"]}, out.bytes()); err != nil {
			t.Fatalf("outbound: %v", err)
		}
	}
	in := mailMsg{From: "grace@example.com", To: "ann@acme.test", MessageID: "pool-in@example.com", Date: now.Add(-time.Minute).Truncate(time.Second)}
	if err := send(t, addr, "grace@example.com", []string{w.address["ann"]}, in.bytes()); err != nil {
		t.Fatalf("inbound: %v", err)
	}
	if err := send(t, addr, "ann@acme.test", []string{w.address["ann"]},
		mailMsg{From: "ann@acme.test", To: "lou@example.com", MessageID: "lou-out@acme.test", Date: sent}.bytes()); err != nil {
		t.Fatalf("to lou: %v", err)
	}

	// The log holds one candidate-level message per mail.
	for cand, n := range map[string]int{"cand-grace": 2, "cand-lou": 1} {
		r := srv.Do(t, http.MethodGet, "/v1/interactions?source=email&candidate_id="+cand, servicetest.AdminKey, nil)
		var page struct {
			Interactions []map[string]any `json:"interactions"`
		}
		r.JSON(t, &page)
		if len(page.Interactions) != n {
			t.Errorf("%s: %d email touchpoints in the log, want %d: %s", cand, len(page.Interactions), n, r.Body)
		}
		for _, it := range page.Interactions {
			if it["application_id"] != nil || it["kind"] != "message" || it["channel"] != "email" || it["candidate_id"] != cand {
				t.Errorf("%s: %v, want a candidate-level email message", cand, it)
			}
		}
	}

	// Grace's nurture clock: met at ann's email, and the next one runs from it. Her reply
	// is no contact and restarts nothing.
	var clocks []clockView
	servicetest.Eventually(t, 0, "the nurture clock restarted", func() bool {
		clocks = nurtureClocks(t, srv, "cand-grace")
		return len(clocks) >= 2
	})
	if len(clocks) != 2 || clocks[0].State != "met" || clocks[0].StoppedAt == nil || !clocks[0].StoppedAt.Equal(sent) ||
		clocks[1].State != "running" || !clocks[1].DueAt.Equal(sent.Add(30*24*time.Hour)) {
		t.Errorf("grace's nurture clocks %+v, want the first met at %v and the next due 30 days later", clocks, sent)
	}
	var dirs []string
	servicetest.Eventually(t, 0, "grace's emails on her timeline", func() bool {
		dirs = dirs[:0]
		for _, it := range candidateEmails(t, srv, "cand-grace") {
			if it.ApplicationID == "" && it.Kind == "message" && it.Channel == "email" {
				dirs = append(dirs, it.Direction)
			}
		}
		return len(dirs) >= 2
	})
	if len(dirs) != 2 || dirs[0] != "outbound" || dirs[1] != "inbound" {
		t.Errorf("grace's timeline emails %v, want outbound then inbound", dirs)
	}

	// Lou: the touch is on the timeline, and no clock runs for a candidate in no pool.
	servicetest.Eventually(t, 0, "lou's email on the timeline", func() bool { return len(candidateEmails(t, srv, "cand-lou")) == 1 })
	if c := nurtureClocks(t, srv, "cand-lou"); len(c) != 0 {
		t.Errorf("lou's nurture clocks %+v, want none", c)
	}
	for _, d := range w.deliveries(t) {
		if d["outcome"] == "ignored" {
			t.Errorf("delivery %v ignored, want every mail stored", d)
		}
	}
}
