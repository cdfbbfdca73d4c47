package twilio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
	"github.com/goodwillhq/goodwill/webhooks"
)

// fakes: one recruiter, one candidate with one application, an alert to act on.
type fakes struct {
	lookupDown bool
	commands   []string // "<recruiter> <verb> <code>"
	audited    []string // "<recruiter> <verb> <alert> <addr>"
	written    []interactions.Interaction
}

func (f *fakes) RecruiterByPhone(_ context.Context, phone string) (string, bool, error) {
	if f.lookupDown {
		return "", false, interactions.Unavailable("find recruiter", errors.New("down"))
	}
	return "r1", phone == "+14155550101", nil
}

func (f *fakes) CandidatesByPhone(_ context.Context, phone string) ([]string, error) {
	if phone == "+14155550102" {
		return []string{"c1"}, nil
	}
	return nil, nil
}

func (f *fakes) LatestApplication(_ context.Context, ids []string) (interactions.ApplicationRef, bool, error) {
	if len(ids) == 0 {
		return interactions.ApplicationRef{}, false, nil
	}
	return interactions.ApplicationRef{ID: "a1", CandidateID: "c1", Status: interactions.StatusOpen}, true, nil
}

func (f *fakes) Command(_ context.Context, recruiterID, verb, code string, _ time.Duration) (string, bool, error) {
	f.commands = append(f.commands, recruiterID+" "+verb+" "+code)
	return "alert-1", true, nil
}

func (f *fakes) SMSStatus(context.Context, string, string, string) (bool, error) { return true, nil }

func (f *fakes) CommandActed(_ context.Context, recruiterID, verb, alertID, addr string) {
	f.audited = append(f.audited, recruiterID+" "+verb+" "+alertID+" "+addr)
}

func (f *fakes) Write(_ context.Context, items []interactions.Interaction) ([]interactions.Interaction, error) {
	f.written = append(f.written, items...)
	return items, nil
}

func (f *fakes) Fail(string, time.Time) (time.Duration, bool) { return 0, false }

// TestSMSRouting follows inbound SMS through the receiver over the real delivery log:
// a recruiter's command acts once and is audited, a candidate's message is written on
// their application, a stranger's is logged and dropped, and a message whose handling
// failed acts on Twilio's retry.
func TestSMSRouting(t *testing.T) {
	ctx := context.Background()
	const token, public = "twilio-token", "https://goodwill.example.com"
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f := &fakes{}
	deliveries := webhooks.NewStore(storagetest.NewDB(t))
	r := New(Config{
		Ingest: webhooks.NewIngest(webhooks.Config{
			Deliveries: deliveries, Writer: f, Throttle: f, Now: func() time.Time { return now },
			Log: slog.New(slog.DiscardHandler),
		}),
		AuthToken: token, PublicURL: public, Recruiters: f, Candidates: f, Alerts: f, Audit: f,
		Now: func() time.Time { return now },
	})
	sms := func(sid, from, body string) error {
		t.Helper()
		form := url.Values{"MessageSid": {sid}, "From": {from}, "Body": {body}}
		h := http.Header{}
		h.Set("X-Twilio-Signature", twilioSign(token, public+"/webhooks/twilio/sms", form))
		res, err := r.SMS(ctx, Request{Header: h, URI: "/webhooks/twilio/sms", Body: strings.NewReader(form.Encode()), ClientAddr: "192.0.2.1"})
		if res.Throttled {
			t.Fatalf("%s: throttled", sid)
		}
		return err
	}
	outcome := func(sid string) string {
		t.Helper()
		rec, err := deliveries.Get(ctx, "twilio:"+sid)
		if err != nil {
			t.Fatalf("%s: %v", sid, err)
		}
		return rec.Outcome
	}

	// A recruiter's ACK acts on their alert, once, and is audited.
	for range 2 {
		if err := sms("SM1", "+14155550101", "ACK 7F3K"); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.commands) != 1 || f.commands[0] != "r1 ack 7F3K" || len(f.audited) != 1 || f.audited[0] != "r1 ack alert-1 192.0.2.1" {
		t.Fatalf("commands %v, audited %v: want one ACK of 7F3K, audited", f.commands, f.audited)
	}
	if got := outcome("SM1"); got != webhooks.OutcomeCommand {
		t.Fatalf("SM1 logged as %q", got)
	}

	// A candidate's message is an inbound SMS on their application.
	if err := sms("SM2", "+14155550102", "Any news?"); err != nil {
		t.Fatal(err)
	}
	if len(f.written) != 1 || f.written[0].ApplicationID != "a1" || f.written[0].Channel != "sms" || f.written[0].Kind != interactions.KindMessage {
		t.Fatalf("written %+v, want one inbound SMS on a1", f.written)
	}
	if got := outcome("SM2"); got != webhooks.OutcomeStored {
		t.Fatalf("SM2 logged as %q", got)
	}

	// A stranger's message is logged as ignored; nothing is written.
	if err := sms("SM3", "+14155550199", "hello"); err != nil {
		t.Fatal(err)
	}
	if got := outcome("SM3"); got != webhooks.OutcomeIgnored || len(f.written) != 1 {
		t.Fatalf("SM3 logged as %q, %d written", got, len(f.written))
	}

	// The lookup fails: an error, and Twilio's retry of the message acts.
	f.lookupDown = true
	if err := sms("SM4", "+14155550101", "ACK"); interactions.ErrorCode(err) != interactions.CodeUnavailable {
		t.Fatalf("lookup down: %v, want unavailable", err)
	}
	f.lookupDown = false
	if err := sms("SM4", "+14155550101", "ACK"); err != nil || len(f.commands) != 2 {
		t.Fatalf("retry: %v, commands %v: want the ACK to act", err, f.commands)
	}
}
