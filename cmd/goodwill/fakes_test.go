package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/alerts/email/mailtest"
)

// The Twilio account of the processes the alert tests start.
const (
	fakeTwilioSID   = "AC00112233445566778899aabbccddeeff"
	fakeTwilioToken = "killNineTwilioToken0123456789"
	fakeTwilioFrom  = "+15005550006"
	fakePublicURL   = "https://goodwill.example.com"
)

// twilioSMS is one message the fake Twilio API accepted.
type twilioSMS struct {
	SID, To, Body, Ref string // Ref: the status callback's ref, the alert code
	At                 time.Time
}

// twilioList is one list call (GET Messages.json) the fake answered.
type twilioList struct {
	To string
	At time.Time
}

// fakeTwilio is Twilio's Messages API as goodwill uses it, on loopback: Basic auth with
// the account SID and auth token; POST Messages.json with To, From, Body and a
// StatusCallback carrying the alert code as ref (201 and a MessageSid); GET
// Messages.json?To= listing the messages to a number, newest first, as the dispatcher's
// lookup after an ambiguous send reads them.
type fakeTwilio struct {
	t   *testing.T
	srv *httptest.Server

	onCreate func(m twilioSMS, n int) (how answerHow, after func()) // see newFakeTwilio
	release  chan struct{}

	mu    sync.Mutex
	msgs  []twilioSMS
	lists []twilioList
}

// answerHow says how the fake answers a message it accepted (see newFakeTwilio).
type answerHow int

const (
	answerNow answerHow = iota
	answerAfter
	hold
)

// newFakeTwilio starts the fake. onCreate, if not nil, runs for every accepted message
// before its answer is written, with the message and its number (1 for the first), and
// says how to answer: answerNow; answerAfter (after() runs once the answer is written);
// or hold (no answer until the client goes away or the test ends).
func newFakeTwilio(t *testing.T, onCreate func(m twilioSMS, n int) (how answerHow, after func())) *fakeTwilio {
	f := &fakeTwilio{t: t, onCreate: onCreate, release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

// env is the environment that points goodwill at the fake.
func (f *fakeTwilio) env() []string {
	return []string{
		"GOODWILL_TWILIO_API_URL=" + f.srv.URL,
		"TWILIO_ACCOUNT_SID=" + fakeTwilioSID,
		"TWILIO_AUTH_TOKEN=" + fakeTwilioToken,
		"TWILIO_FROM_NUMBER=" + fakeTwilioFrom,
		"GOODWILL_PUBLIC_URL=" + fakePublicURL,
	}
}

func (f *fakeTwilio) fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	if user, pass, ok := r.BasicAuth(); !ok || user != fakeTwilioSID || pass != fakeTwilioToken {
		f.t.Errorf("fake Twilio: bad credentials on %s %s", r.Method, r.URL.Path)
		f.fail(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.URL.Path != "/2010-04-01/Accounts/"+fakeTwilioSID+"/Messages.json" {
		f.t.Errorf("fake Twilio: unexpected %s %s", r.Method, r.URL.Path)
		f.fail(w, http.StatusNotFound, 20404, "not found")
		return
	}
	switch r.Method {
	case http.MethodPost:
		f.create(w, r)
	case http.MethodGet:
		f.list(w, r)
	default:
		f.fail(w, http.StatusMethodNotAllowed, 20004, "method not allowed")
	}
}

func (f *fakeTwilio) create(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("fake Twilio: Content-Type %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		return // the client went away mid-request
	}
	form := r.PostForm
	cb, err := url.Parse(form.Get("StatusCallback"))
	ref := ""
	if err == nil {
		ref = cb.Query().Get("ref")
	}
	switch {
	case form.Get("To") == "" || form.Get("Body") == "" || form.Get("StatusCallback") == "":
		f.t.Errorf("fake Twilio: a message without To, Body or StatusCallback: %v", form)
		f.fail(w, http.StatusBadRequest, 21604, "To, Body and StatusCallback are required")
		return
	case form.Get("From") != fakeTwilioFrom || form.Has("MessagingServiceSid"):
		f.t.Errorf("fake Twilio: From %q, MessagingServiceSid %q; want From %s alone", form.Get("From"), form.Get("MessagingServiceSid"), fakeTwilioFrom)
		f.fail(w, http.StatusBadRequest, 21603, "exactly one of From and MessagingServiceSid")
		return
	case err != nil || cb.Scheme+"://"+cb.Host+cb.Path != fakePublicURL+"/webhooks/twilio/status" || ref == "" ||
		!strings.Contains(form.Get("Body"), ref):
		f.t.Errorf("fake Twilio: StatusCallback %q with body %q: want %s/webhooks/twilio/status?ref=<a code in the body>",
			form.Get("StatusCallback"), form.Get("Body"), fakePublicURL)
		f.fail(w, http.StatusBadRequest, 21609, "invalid StatusCallback")
		return
	}
	f.mu.Lock()
	m := twilioSMS{SID: fmt.Sprintf("SM%032x", len(f.msgs)+1), To: form.Get("To"), Body: form.Get("Body"), Ref: ref, At: time.Now().UTC()}
	f.msgs = append(f.msgs, m)
	n := len(f.msgs)
	f.mu.Unlock()

	how, after := answerNow, func() {}
	if f.onCreate != nil {
		how, after = f.onCreate(m, n)
	}
	if how == hold {
		// Twilio has the message; its answer comes too late for the sender.
		select {
		case <-f.release:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(f.resource(m, "queued"))
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	if how == answerAfter {
		after()
	}
}

// resource is a message as Twilio's API shows it.
func (f *fakeTwilio) resource(m twilioSMS, status string) map[string]any {
	return map[string]any{
		"sid": m.SID, "account_sid": fakeTwilioSID, "status": status, "to": m.To, "from": fakeTwilioFrom,
		"body": m.Body, "direction": "outbound-api", "num_segments": "1",
		"date_created": m.At.Format(time.RFC1123Z), "date_updated": m.At.Format(time.RFC1123Z),
		"uri": "/2010-04-01/Accounts/" + fakeTwilioSID + "/Messages/" + m.SID + ".json",
	}
}

func (f *fakeTwilio) list(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("To")
	if to == "" {
		f.t.Errorf("fake Twilio: a message list without To: %s", r.URL)
	}
	f.mu.Lock()
	f.lists = append(f.lists, twilioList{To: to, At: time.Now()})
	page := []map[string]any{}
	for i := len(f.msgs) - 1; i >= 0; i-- { // newest first, as Twilio lists them
		if m := f.msgs[i]; m.To == to {
			page = append(page, f.resource(m, "sent"))
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"messages": page, "page": 0, "page_size": 50, "next_page_uri": nil,
		"uri": r.URL.RequestURI(), "first_page_uri": r.URL.RequestURI(), "previous_page_uri": nil,
	})
}

// messages returns the messages accepted so far.
func (f *fakeTwilio) messages() []twilioSMS {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioSMS(nil), f.msgs...)
}

// listed returns the list calls answered so far.
func (f *fakeTwilio) listed() []twilioList {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioList(nil), f.lists...)
}

// mailbox is a real SMTP server on loopback that keeps every message it accepts.
type mailbox struct{ *mailtest.Server }

// receivedMail is one accepted message with the headers the tests look at.
type receivedMail = mailtest.Message

// startMailbox starts the SMTP server; onData: see mailtest.Start.
func startMailbox(t *testing.T, onData func(m receivedMail, n int) (hold bool)) mailbox {
	t.Helper()
	return mailbox{mailtest.Start(t, onData)}
}

// env is the environment that points goodwill at the mailbox.
func (mb mailbox) env() []string {
	return []string{"GOODWILL_SMTP_URL=" + mb.URL(), "GOODWILL_EMAIL_FROM=alerts@goodwill.example.com"}
}

func (mb mailbox) messages() []receivedMail { return mb.Messages() }
