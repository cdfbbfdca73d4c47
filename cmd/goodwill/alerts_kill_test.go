package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service/client"
)

// alertView is what the test reads of an alert in GET /v1/alerts.
type alertView struct {
	ID            string `json:"id"`
	Code          string `json:"code"`
	Level         string `json:"level"`
	ApplicationID string `json:"application_id"`
	RecruiterID   string `json:"recruiter_id"`
	Deliveries    []struct {
		Channel    string `json:"channel"`
		Status     string `json:"status"`
		ProviderID string `json:"provider_id"`
	} `json:"deliveries"`
}

// delivered reports whether the alert's delivery on a channel was accepted by the
// provider, and returns the provider's id.
func (a alertView) delivered(channel string) (string, bool) {
	for _, d := range a.Deliveries {
		if d.Channel == channel {
			return d.ProviderID, d.Status == "sent" || d.Status == "delivered"
		}
	}
	return "", false
}

// listAlertViews returns every alert; ok is false when the service did not answer.
func listAlertViews(t *testing.T, base string) ([]alertView, bool) {
	t.Helper()
	var out struct {
		Alerts []alertView `json:"alerts"`
	}
	if st, _ := apiDo(t, http.MethodGet, base, "/v1/alerts?limit=1000", nil, &out); st != http.StatusOK {
		return nil, false
	}
	return out.Alerts, true
}

// k9Recruiter is the recruiter of application i: one each, so every message carries
// exactly one alert and a duplicate is a (recipient, alert code) pair sent twice.
func k9Recruiter(i int) (id, phone, email string) {
	return fmt.Sprintf("k9-rec-%02d", i), fmt.Sprintf("+1212555%04d", 100+i), fmt.Sprintf("k9-rec-%02d@example.com", i)
}

// killPoint is a moment the test kills the process at: a provider has the message; the
// process has not learnt it (held) or has just been told (answered).
type killPoint struct {
	what string    // "SMS held", "SMS answered", "email held"
	to   string    // the recipient
	ref  string    // the SMS's alert code, or the email's Message-ID
	sid  string    // the SMS's MessageSid
	at   time.Time // when the provider accepted the message
}

// TestKill9AlertsOnce kills goodwill with SIGKILL three times while it sends breach
// alerts to a fake Twilio API and a real SMTP server, restarting it on the same data
// directory each time: every breach is alerted by SMS and email, and no SMS is sent
// twice.
//
// The kills land (1) while Twilio holds back its answer to a message it has accepted:
// the process never learns the message's SID, and after the restart must find the
// message at Twilio (a lookup by recipient and alert code) instead of sending it again;
// (2) while the SMTP server holds back its acknowledgement of an email it has received;
// (3) just after Twilio's answer reached the process, whether or not it recorded it.
// Emails may be sent twice after a kill (SMTP cannot be asked), but then with the same
// Message-ID, derived from the alert.
func TestKill9AlertsOnce(t *testing.T) {
	const (
		apps    = 24                     // applications, one recruiter each
		stagger = 150 * time.Millisecond // between two applications' breaches
	)
	// Where the kills land, by the number of the message the fakes accept.
	const smsHeldAt, emailHeldAt, smsAnsweredAt = apps / 3, apps / 2, apps*3/4 + 1

	kills := make(chan killPoint, 3)
	tw := newFakeTwilio(t, func(m twilioSMS, n int) (answerHow, func()) {
		k := killPoint{to: m.To, ref: m.Ref, sid: m.SID, at: m.At}
		switch n {
		case smsHeldAt:
			k.what = "SMS held"
			kills <- k
			return hold, nil
		case smsAnsweredAt:
			k.what = "SMS answered"
			return answerAfter, func() { kills <- k }
		}
		return answerNow, nil
	})
	mb := startMailbox(t, func(m receivedMail, n int) bool {
		if n != emailHeldAt {
			return false
		}
		kills <- killPoint{what: "email held", to: m.To, ref: m.MessageID, at: time.Now()}
		return true
	})
	// A zone other than UTC for the process: Message-IDs must not depend on it.
	env := append(append(tw.env(), mb.env()...), "TZ=America/New_York")
	dir := t.TempDir()
	start := time.Now()
	p := serve(t, dir, env...)
	procs := []*proc{p}

	put := func(path string, body any) {
		t.Helper()
		if st, err := apiDo(t, http.MethodPut, p.url, path, body, nil); st != http.StatusOK && st != http.StatusCreated {
			t.Fatalf("PUT %s: %d %v", path, st, err)
		}
	}
	put("/v1/sla/policies/first_response", map[string]any{"name": "kill -9", "metric": "first_response",
		"target": "3s", "calendar": "24x7", "warn_ratio": 1, "enabled": true})
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} // the test may run on a weekend
	byPhone, byEmail := map[string]int{}, map[string]int{}
	for i := range apps {
		id, phone, email := k9Recruiter(i)
		byPhone[phone], byEmail[email] = i, i
		put("/v1/recruiters/"+id, map[string]any{"name": "Recruiter " + id, "phone": phone, "email": email,
			"channels":     map[string]any{"warning": []string{}, "breached": []string{"sms", "email"}, "escalated": []string{}},
			"working_days": everyDay})
	}

	// The applications arrive together; their clocks breach one after another over a
	// few seconds, from 3 s after it on.
	t0 := time.Now().UTC()
	var batch []client.Interaction
	for i := range apps {
		id, _, _ := k9Recruiter(i)
		batch = append(batch, client.Interaction{
			ApplicationID: fmt.Sprintf("k9-app-%02d", i), CandidateID: fmt.Sprintf("k9-cand-%02d", i),
			Kind: "application_received", OccurredAt: t0.Add(time.Duration(i) * stagger),
			Source: "k9alerts", ExternalID: fmt.Sprintf("k9-%02d", i), RecruiterID: id,
			JobID: "k9-job", Job: &client.Job{Title: "Site Reliability Engineer"},
			Candidate: &client.Person{Name: fmt.Sprintf("Candidate Kilo%02d", i)},
		})
	}
	if res, err := api(p.url).PostInteractions(context.Background(), batch); err != nil || res.Status != http.StatusCreated {
		t.Fatalf("POST /v1/interactions: %d %v", res.Status, err)
	}

	// Kill at each kill point, and restart.
	var points []killPoint
	killedAt := map[string]time.Time{}
	for len(points) < cap(kills) {
		select {
		case k := <-kills:
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killedAt[k.what] = time.Now()
			<-p.done
			t.Logf("+%s: killed at %s to %s (%s)", time.Since(start).Round(time.Millisecond), k.what, k.to, k.ref)
			points = append(points, k)
		case <-p.done:
			t.Fatalf("goodwill serve exited by itself: %v", p.err)
		case <-time.After(30 * time.Second):
			t.Fatalf("no kill point %d within 30 s: Twilio has %d messages, the mailbox %d", len(points)+1, len(tw.messages()), len(mb.messages()))
		}
		p = serve(t, dir, env...)
		procs = append(procs, p)
	}

	// Settle: every application has a breach alert whose SMS and email were accepted,
	// and nothing more arrives at Twilio or the mailbox for a while.
	var alerts []alertView
	deadline := time.Now().Add(30 * time.Second)
	lastChange, lastCounts := time.Now(), [2]int{}
	for {
		counts := [2]int{len(tw.messages()), len(mb.messages())}
		if counts != lastCounts {
			lastChange, lastCounts = time.Now(), counts
		}
		done := 0
		if list, ok := listAlertViews(t, p.url); ok {
			alerts = list
			for _, a := range alerts {
				_, sms := a.delivered("sms")
				_, email := a.delivered("email")
				if a.Level == "breached" && sms && email {
					done++
				}
			}
		}
		if done >= apps && time.Since(lastChange) > 2*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after 30 s, %d of %d breach alerts were sent by SMS and email (Twilio has %d messages, the mailbox %d)",
				done, apps, counts[0], counts[1])
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("settled %s after the start: %d alerts, %d SMS, %d emails, %d Twilio lookups",
		time.Since(start).Round(time.Millisecond), len(alerts), len(tw.messages()), len(mb.messages()), len(tw.listed()))

	// Nothing lost: one breach alert per application, for its recruiter, nothing else.
	alertOf := map[int]alertView{} // by application
	for _, a := range alerts {
		n, isApp := strings.CutPrefix(a.ApplicationID, "k9-app-")
		i, err := strconv.Atoi(n)
		if !isApp || err != nil || a.Level != "breached" {
			t.Errorf("unexpected alert %+v", a)
			continue
		}
		if prev, ok := alertOf[i]; ok {
			t.Errorf("application %s has two breach alerts: %s and %s", a.ApplicationID, prev.ID, a.ID)
		}
		if id, _, _ := k9Recruiter(i); a.RecruiterID != id {
			t.Errorf("alert %s went to %s, want %s", a.ID, a.RecruiterID, id)
		}
		alertOf[i] = a
	}
	for i := range apps {
		if _, ok := alertOf[i]; !ok {
			t.Errorf("application k9-app-%02d breached without an alert", i)
		}
	}

	// SMS: each (recipient, alert code) exactly once, and the delivery records the SID
	// Twilio gave that one message.
	sms := map[[2]string][]twilioSMS{}
	for _, m := range tw.messages() {
		sms[[2]string{m.To, m.Ref}] = append(sms[[2]string{m.To, m.Ref}], m)
		i, ok := byPhone[m.To]
		if !ok {
			t.Errorf("SMS %s to %s, who is no recruiter of the test", m.SID, m.To)
			continue
		}
		if a := alertOf[i]; m.Ref != a.Code {
			t.Errorf("SMS %s to %s for alert code %s, which is not the alert of that recipient (%s)", m.SID, m.To, m.Ref, a.Code)
		}
		if !strings.Contains(m.Body, fmt.Sprintf("Candidate Kilo%02d", i)) {
			t.Errorf("SMS %s to %s does not name its candidate: %q", m.SID, m.To, m.Body)
		}
	}
	for i := range apps {
		a, ok := alertOf[i]
		if !ok {
			continue
		}
		_, phone, _ := k9Recruiter(i)
		sent := sms[[2]string{phone, a.Code}]
		sids := make([]string, len(sent))
		for j, m := range sent {
			sids[j] = m.SID + " at +" + m.At.Sub(start).Round(time.Millisecond).String()
		}
		if len(sent) != 1 {
			t.Errorf("alert %s (%s) was sent %d times by SMS to %s: %s (see the timeline)", a.Code, a.ApplicationID, len(sent), phone, strings.Join(sids, ", "))
		}
		if id, ok := a.delivered("sms"); len(sent) > 0 && (!ok || id != sent[0].SID) {
			t.Errorf("alert %s records its SMS as %q; Twilio accepted it first as %s", a.Code, id, sent[0].SID)
		}
	}

	// The SMS whose answer never reached the process was found by a lookup for its
	// recipient at Twilio (and, as checked above, not sent again).
	for _, k := range points {
		if k.what != "SMS held" {
			continue
		}
		lookedUp := false
		for _, l := range tw.listed() {
			lookedUp = lookedUp || l.To == k.to && l.At.After(k.at)
		}
		if !lookedUp {
			t.Errorf("Twilio was never asked for the messages to %s after the kill: %s (alert %s), which it accepted before, was not looked up",
				k.to, k.sid, k.ref)
		}
	}

	// Emails: at least one per alert; any copy sent again after a kill carries the same
	// Message-ID, derived from the alert.
	ids := map[int]map[string]int{} // by application: Message-ID → count
	for _, m := range mb.messages() {
		i, ok := byEmail[m.To]
		if !ok {
			t.Errorf("an email to %s, who is no recruiter of the test", m.To)
			continue
		}
		if ids[i] == nil {
			ids[i] = map[string]int{}
		}
		ids[i][m.MessageID]++
		if a := alertOf[i]; m.MessageID == "" || !strings.Contains(m.MessageID, a.Code) {
			t.Errorf("email to %s has Message-ID %q, not derived from its alert %s", m.To, m.MessageID, a.Code)
		}
	}
	dupEmails := 0
	for i := range apps {
		_, _, email := k9Recruiter(i)
		switch n := len(ids[i]); {
		case n == 0:
			t.Errorf("no email for alert %s to %s", alertOf[i].Code, email)
		case n > 1:
			t.Errorf("the alert %s was emailed to %s under %d Message-IDs: %v", alertOf[i].Code, email, n, ids[i])
		}
		for _, c := range ids[i] {
			dupEmails += c - 1
		}
	}
	t.Logf("%d emails sent again after a kill, recognisable by their Message-ID", dupEmails)

	// Every log line is JSON and names no candidate's contact detail.
	for i, p := range procs {
		checkLogs(t, fmt.Sprintf("process %d", i+1), p.stderr.String())
	}
	if t.Failed() {
		type event struct {
			at   time.Time
			what string
		}
		var events []event
		for _, m := range tw.messages() {
			events = append(events, event{m.At, fmt.Sprintf("Twilio accepted %s to %s, alert %s", m.SID, m.To, m.Ref)})
		}
		for _, l := range tw.listed() {
			events = append(events, event{l.At, "Twilio listed the messages to " + l.To})
		}
		for _, k := range points {
			events = append(events, event{killedAt[k.what], fmt.Sprintf("kill -9 (%s to %s)", k.what, k.to)})
		}
		slices.SortStableFunc(events, func(x, y event) int { return x.at.Compare(y.at) })
		var b strings.Builder
		for _, e := range events {
			fmt.Fprintf(&b, "  +%s %s\n", e.at.Sub(start).Round(time.Millisecond), e.what)
		}
		t.Logf("timeline:\n%s", b.String())
	}
}
