package service_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/alerts/email/mailtest"
	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

const (
	alertsSID       = "AC00112233445566778899aabbccddeeff"
	alertsToken     = "alertsTwilioToken0123456789"
	alertsFrom      = "+15005550006"
	alertsPublicURL = "https://goodwill.example.com"
)

// twilioMessage is one message the fake Twilio API accepted.
type twilioMessage struct {
	SID, To, From, Body, StatusCallback string
}

// ref is the alert code the message was sent for (the status callback's ref).
func (m twilioMessage) ref() string {
	u, err := url.Parse(m.StatusCallback)
	if err != nil {
		return ""
	}
	return u.Query().Get("ref")
}

// fakeTwilioAPI is Twilio's Messages API as goodwill uses it: Basic auth with the
// account SID and auth token, POST Messages.json with To, From, Body and StatusCallback
// (201 and a SID), and GET Messages.json?To= for lookups.
type fakeTwilioAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu   sync.Mutex
	msgs []twilioMessage
}

// fakeTwilioEnv configures a server to send SMS through tw and take Twilio's webhooks
// signed for alertsPublicURL, with more settings on top.
func fakeTwilioEnv(tw *fakeTwilioAPI, more map[string]string) map[string]string {
	env := map[string]string{
		"GOODWILL_TWILIO_API_URL": tw.srv.URL,
		"TWILIO_ACCOUNT_SID":      alertsSID,
		"TWILIO_AUTH_TOKEN":       alertsToken,
		"TWILIO_FROM_NUMBER":      alertsFrom,
		"GOODWILL_PUBLIC_URL":     alertsPublicURL,
	}
	maps.Copy(env, more)
	return env
}

func newFakeTwilioAPI(t *testing.T) *fakeTwilioAPI {
	f := &fakeTwilioAPI{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwilioAPI) fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status})
}

func (f *fakeTwilioAPI) serve(w http.ResponseWriter, r *http.Request) {
	if user, pass, ok := r.BasicAuth(); !ok || user != alertsSID || pass != alertsToken {
		f.t.Errorf("fake Twilio: bad credentials on %s %s", r.Method, r.URL.Path)
		f.fail(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.URL.Path != "/2010-04-01/Accounts/"+alertsSID+"/Messages.json" {
		f.t.Errorf("fake Twilio: unexpected %s %s", r.Method, r.URL.Path)
		f.fail(w, http.StatusNotFound, 20404, "not found")
		return
	}
	switch r.Method {
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			f.t.Errorf("fake Twilio: %v", err)
		}
		m := twilioMessage{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body"),
			StatusCallback: r.PostForm.Get("StatusCallback")}
		if m.To == "" || m.From == "" || m.Body == "" || m.StatusCallback == "" {
			f.t.Errorf("fake Twilio: a message without To, From, Body or StatusCallback: %v", r.PostForm)
			f.fail(w, http.StatusBadRequest, 21604, "To, From, Body and StatusCallback are required")
			return
		}
		f.mu.Lock()
		m.SID = fmt.Sprintf("SM%032x", len(f.msgs)+1)
		f.msgs = append(f.msgs, m)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": m.SID, "status": "queued", "to": m.To, "from": m.From,
			"body": m.Body, "date_created": time.Now().UTC().Format(time.RFC1123Z)})
	case http.MethodGet:
		to := r.URL.Query().Get("To")
		list := []map[string]any{}
		for _, m := range f.messages() {
			if m.To == to {
				list = append(list, map[string]any{"sid": m.SID, "status": "sent", "to": m.To, "body": m.Body,
					"date_created": time.Now().UTC().Format(time.RFC1123Z)})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"messages": list, "page": 0, "page_size": 50, "next_page_uri": nil})
	default:
		f.fail(w, http.StatusMethodNotAllowed, 20004, "method not allowed")
	}
}

func (f *fakeTwilioAPI) messages() []twilioMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]twilioMessage(nil), f.msgs...)
}

// to returns the messages sent to a number.
func (f *fakeTwilioAPI) to(number string) []twilioMessage {
	var out []twilioMessage
	for _, m := range f.messages() {
		if m.To == number {
			out = append(out, m)
		}
	}
	return out
}

// parsedEmail is what the test checks of a received email.
type parsedEmail struct {
	To, Subject, MessageID string
	Parts                  map[string]string // content type → body
}

func parseEmail(t *testing.T, data []byte) parsedEmail {
	t.Helper()
	m, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("read email: %v\n%s", err, data)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	p := parsedEmail{To: m.Header.Get("To"), Subject: subject, MessageID: m.Header.Get("Message-ID"), Parts: map[string]string{}}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("email Content-Type %q (%v)", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		p.Parts[ct] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	return p
}

type alertJSON struct {
	ID            string `json:"id"`
	Code          string `json:"code"`
	Level         string `json:"level"`
	State         string `json:"state"`
	ClockID       string `json:"clock_id"`
	ApplicationID string `json:"application_id"`
	CandidateID   string `json:"candidate_id"`
	RecruiterID   string `json:"recruiter_id"`
	Metric        string `json:"metric"`
	DueAt         string `json:"due_at"`
	CreatedAt     string `json:"created_at"`
	Deliveries    []struct {
		Channel    string `json:"channel"`
		To         string `json:"to"`
		Status     string `json:"status"`
		Attempts   int    `json:"attempts"`
		ProviderID string `json:"provider_id"`
		Error      string `json:"error"`
	} `json:"deliveries"`
}

func listAlerts(t *testing.T, srv *servicetest.Instance, query string) []alertJSON {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/v1/alerts?"+query, servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list alerts: %d %s", r.Status, r.Body)
	}
	var out struct{ Alerts []alertJSON }
	r.JSON(t, &out)
	return out.Alerts
}

// alertOf returns the alert of an application at a level.
func alertOf(t *testing.T, srv *servicetest.Instance, app, level string) (alertJSON, bool) {
	t.Helper()
	for _, a := range listAlerts(t, srv, "level="+level) {
		if a.ApplicationID == app {
			return a, true
		}
	}
	return alertJSON{}, false
}

var linkRE = regexp.MustCompile(regexp.QuoteMeta(alertsPublicURL) + `/alerts/[^\s"<>]+`)

// TestAlertsEndToEnd: a breach is sent once by SMS (the fake Twilio API) and email (a
// real SMTP server); an SMS reply acknowledges it, and no escalation follows; a second
// breach nobody acknowledges escalates to the manager, across a restart, and nothing is
// sent twice. The signed link's page acknowledges only by its form's POST.
func TestAlertsEndToEnd(t *testing.T) {
	t.Parallel()
	tw := newFakeTwilioAPI(t)
	mailbox := mailtest.Start(t, nil)
	srv := servicetest.Start(t, fakeTwilioEnv(tw, map[string]string{
		"GOODWILL_SMTP_URL":   mailbox.URL(),
		"GOODWILL_EMAIL_FROM": "alerts@goodwill.example.com",
	}), service.Options{})

	const (
		alicePhone = "+14155550131"
		bossPhone  = "+14155550132"
	)
	everyDay := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} // the test may run on a weekend
	put := func(path string, body any, want int) map[string]any {
		t.Helper()
		r := srv.Do(t, http.MethodPut, path, servicetest.AdminKey, body)
		if r.Status != want {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
		return r.Map(t)
	}
	put("/v1/sla/policies/first_response", map[string]any{"name": "fast", "metric": "first_response", "target": "3s",
		"calendar": "24x7", "warn_ratio": 1, "escalate_after": "3s", "enabled": true}, http.StatusOK)
	put("/v1/recruiters/alice", map[string]any{"name": "Alice Example", "email": "alice@example.com", "phone": alicePhone,
		"manager_id": "boss", "channels": map[string]any{"breached": []string{"sms", "email"}}, "working_days": everyDay},
		http.StatusCreated)
	put("/v1/recruiters/boss", map[string]any{"name": "Boss", "phone": bossPhone, "working_days": everyDay}, http.StatusCreated)
	if r := put("/v1/recruiters/boss", map[string]any{"name": "The Boss", "phone": bossPhone, "working_days": everyDay}, http.StatusOK); r["name"] != "The Boss" {
		t.Fatalf("replaced recruiter %v", r)
	}

	apply := func(app, name string) {
		t.Helper()
		in := interaction(app, app+"-received")
		in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
		in["candidate"] = map[string]string{"name": name}
		in["recruiter_id"] = "alice"
		in["job_id"] = "job-" + app
		in["job"] = map[string]string{"title": "Staff Engineer"}
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
	}
	// waitSMS waits until n messages went to a number and returns them.
	waitSMS := func(number string, n int, what string) []twilioMessage {
		t.Helper()
		servicetest.Eventually(t, 15*time.Second, what, func() bool { return len(tw.to(number)) >= n })
		return tw.to(number)
	}

	// 1. A breach: one SMS and one email to alice.
	apply("al-1", "Grace Hopper")
	sms := waitSMS(alicePhone, 1, "the breach SMS")
	servicetest.Eventually(t, 5*time.Second, "the breach email", func() bool { return len(mailbox.Messages()) >= 1 })
	breach1, ok := alertOf(t, srv, "al-1", "breached")
	if !ok {
		t.Fatal("no breach alert")
	}
	m := sms[0]
	if m.From != alertsFrom || !strings.Contains(m.Body, "Grace Hopper") || !strings.Contains(m.Body, breach1.Code) ||
		!linkRE.MatchString(m.Body) || m.ref() != breach1.Code ||
		!strings.HasPrefix(m.StatusCallback, alertsPublicURL+"/webhooks/twilio/status?") {
		t.Fatalf("SMS %+v, alert code %s", m, breach1.Code)
	}
	mails := mailbox.Messages()
	if len(mails) != 1 || mails[0].To != "alice@example.com" {
		t.Fatalf("emails %+v", mails)
	}
	mail := parseEmail(t, mails[0].Data)
	text, html := mail.Parts["text/plain"], mail.Parts["text/html"]
	if !strings.Contains(text, "Grace Hopper") || !strings.Contains(html, "Grace Hopper") || !strings.Contains(text, breach1.Code) ||
		!linkRE.MatchString(text) || !strings.Contains(html, alertsPublicURL+"/alerts/") || mail.MessageID == "" ||
		!strings.Contains(mail.MessageID, breach1.Code) {
		t.Fatalf("email %+v", mail)
	}
	// The API shows the alert with its two sent deliveries.
	servicetest.Eventually(t, 2*time.Second, "two sent deliveries", func() bool {
		breach1, _ = alertOf(t, srv, "al-1", "breached")
		sent := 0
		for _, d := range breach1.Deliveries {
			if d.Status == "sent" && d.Attempts == 1 {
				sent++
			}
		}
		return sent == 2
	})
	if breach1.State != "open" || breach1.RecruiterID != "alice" || breach1.Metric != "first_response" || len(breach1.Deliveries) != 2 ||
		breach1.Deliveries[0].Channel != "sms" || breach1.Deliveries[0].To != alicePhone || breach1.Deliveries[0].ProviderID != m.SID ||
		breach1.Deliveries[1].Channel != "email" || breach1.Deliveries[1].To != "alice@example.com" {
		t.Fatalf("alert %+v", breach1)
	}
	if _, err := time.Parse(time.RFC3339, breach1.DueAt); err != nil {
		t.Fatalf("due_at %q", breach1.DueAt)
	}

	// Twilio reports the SMS delivered, at the status callback it was given: the
	// alert's SMS delivery says so.
	cb, err := url.Parse(m.StatusCallback)
	if err != nil {
		t.Fatal(err)
	}
	status := url.Values{"MessageSid": {m.SID}, "MessageStatus": {"delivered"}, "To": {alicePhone}, "From": {alertsFrom}}
	if r := srv.Do(t, http.MethodPost, cb.RequestURI(), "", status.Encode(), "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", twilioSignature(alertsToken, m.StatusCallback, status)); r.Status != http.StatusOK {
		t.Fatalf("status callback: %d %s", r.Status, r.Body)
	}
	servicetest.Eventually(t, 2*time.Second, "the SMS delivered", func() bool {
		a, _ := alertOf(t, srv, "al-1", "breached")
		return len(a.Deliveries) == 2 && a.Deliveries[0].Status == "delivered" && a.Deliveries[1].Status == "sent"
	})

	// 2. alice replies ACK from her phone: acknowledged.
	inbound := url.Values{"MessageSid": {"SM" + strings.Repeat("ab", 16)}, "From": {alicePhone}, "To": {alertsFrom}, "Body": {"ack"}}
	r := srv.Do(t, http.MethodPost, "/webhooks/twilio/sms", "", inbound.Encode(), "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", twilioSignature(alertsToken, alertsPublicURL+"/webhooks/twilio/sms", inbound))
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "<Response/>") {
		t.Fatalf("inbound SMS: %d %s", r.Status, r.Body)
	}
	if a, _ := alertOf(t, srv, "al-1", "breached"); a.State != "acknowledged" {
		t.Fatalf("after ACK: %+v", a)
	}
	// One short SMS confirms it.
	if sms = waitSMS(alicePhone, 2, "the confirmation SMS"); sms[1].Body != "goodwill: acknowledged - Grace Hopper, first response." {
		t.Fatalf("confirmation %+v", sms[1])
	}

	// 3. A second breach nobody acknowledges; the server restarts once it was sent.
	apply("al-2", "Katherine Johnson")
	sms = waitSMS(alicePhone, 3, "the second breach SMS")
	breach2, ok := alertOf(t, srv, "al-2", "breached")
	if !ok || sms[2].ref() != breach2.Code || !strings.Contains(sms[2].Body, "Katherine Johnson") {
		t.Fatalf("second SMS %+v, alert %+v", sms[2], breach2)
	}
	srv.Restart(t)
	esc := waitSMS(bossPhone, 1, "the escalation SMS")
	if !strings.HasPrefix(esc[0].Body, "goodwill ESCALATION") || !strings.Contains(esc[0].Body, "Katherine Johnson") {
		t.Fatalf("escalation SMS %+v", esc[0])
	}
	servicetest.Eventually(t, 5*time.Second, "both emails", func() bool { return len(mailbox.Messages()) >= 2 })
	// Time for anything sent twice, or a stray escalation, to show.
	time.Sleep(1500 * time.Millisecond)

	escalated := listAlerts(t, srv, "level=escalated")
	if len(escalated) != 1 || escalated[0].ApplicationID != "al-2" || escalated[0].RecruiterID != "boss" ||
		len(escalated[0].Deliveries) != 1 || escalated[0].Deliveries[0].Status != "sent" || escalated[0].Deliveries[0].To != bossPhone {
		t.Fatalf("escalated alerts %+v", escalated)
	}
	if got := listAlerts(t, srv, "recruiter_id=boss"); len(got) != 1 {
		t.Fatalf("boss's alerts %+v", got)
	}
	// Each alert went out once per channel.
	perCode := map[string]int{}
	for _, m := range tw.messages() {
		perCode[m.ref()]++
	}
	for _, code := range []string{breach1.Code, breach2.Code, escalated[0].Code} {
		if perCode[code] != 1 {
			t.Errorf("%d SMS for alert %s", perCode[code], code)
		}
	}
	if n := len(tw.messages()); n != 4 { // three alerts and the ACK's confirmation
		t.Errorf("%d SMS, want 4: %+v", n, tw.messages())
	}
	ids := map[string]int{}
	for _, m := range mailbox.Messages() {
		ids[parseEmail(t, m.Data).MessageID]++
	}
	if len(ids) != 2 {
		t.Errorf("emails by Message-ID %v, want two, once each", ids)
	}
	for _, a := range listAlerts(t, srv, "") {
		for _, d := range a.Deliveries {
			if (d.Status != "sent" && !(d.Status == "delivered" && d.ProviderID == m.SID)) || d.Attempts != 1 {
				t.Errorf("alert %s delivery %+v", a.ID, d)
			}
		}
	}

	// 4. The signed link: fetching the page changes nothing; its form's POST
	// acknowledges; a tampered signature is refused.
	link := linkRE.FindString(sms[2].Body)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	page := srv.Do(t, http.MethodGet, u.RequestURI(), "", nil)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), `<form method="post">`) ||
		!strings.Contains(string(page.Body), breach2.Code) || page.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("link page: %d %s", page.Status, page.Body)
	}
	if a, _ := alertOf(t, srv, "al-2", "breached"); a.State != "open" {
		t.Fatalf("fetching the link changed the alert: %+v", a)
	}
	q := u.Query()
	sig := q.Get("sig")
	tampered := sig[:len(sig)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", sig[len(sig)-1])+1)%16])
	bad := url.Values{"exp": {q.Get("exp")}, "sig": {tampered}}
	if r := srv.Do(t, http.MethodGet, u.Path+"?"+bad.Encode(), "", nil); r.Status != http.StatusForbidden {
		t.Fatalf("tampered link page: %d %s", r.Status, r.Body)
	}
	form := func(v url.Values) servicetest.Response {
		return srv.Do(t, http.MethodPost, u.Path, "", v.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	}
	if r := form(bad); r.Status != http.StatusForbidden {
		t.Fatalf("tampered POST: %d %s", r.Status, r.Body)
	}
	expired := url.Values{"exp": {fmt.Sprint(time.Now().Add(-time.Hour).Unix())}, "sig": {sig}}
	if r := form(expired); r.Status != http.StatusForbidden {
		t.Fatalf("POST with another expiry: %d %s", r.Status, r.Body)
	}
	if a, _ := alertOf(t, srv, "al-2", "breached"); a.State != "open" {
		t.Fatalf("a refused POST changed the alert: %+v", a)
	}
	if r := form(url.Values{"exp": {q.Get("exp")}, "sig": {sig}}); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Acknowledged") {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	if a, _ := alertOf(t, srv, "al-2", "breached"); a.State != "acknowledged" {
		t.Fatalf("after the POST: %+v", a)
	}
	if r := srv.Do(t, http.MethodGet, u.RequestURI(), "", nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), "<form") {
		t.Fatalf("link page of an acknowledged alert: %d %s", r.Status, r.Body)
	}
}

// TestRecruitersAPI: validation names the field; entries are stored and listed.
func TestRecruitersAPI(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	for _, tc := range []struct {
		name, body, field string
	}{
		{"bad phone", `{"name":"A","phone":"0415 555 0100"}`, "phone"},
		{"phone outside the SMS countries", `{"name":"A","phone":"+4915112345678"}`, "phone"},
		{"bad email", `{"name":"A","email":"not an address"}`, "email"},
		{"bad time zone", `{"name":"A","timezone":"Mars/Olympus"}`, "timezone"},
		{"bad channel", `{"name":"A","channels":{"breached":["pager"]}}`, "channels.breached[0]"},
		{"bad working day", `{"name":"A","working_days":["mon","funday"]}`, "working_days[1]"},
		{"no working day", `{"name":"A","working_days":[]}`, "working_days"},
		{"bad quiet hours", `{"name":"A","quiet_hours":{"start":"25:00","end":"08:00"}}`, "quiet_hours.start"},
		{"own manager", `{"name":"A","manager_id":"r1"}`, "manager_id"},
		{"own delegate", `{"name":"A","delegate_id":"r1"}`, "delegate_id"},
		{"id mismatch", `{"id":"r2","name":"A"}`, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectProblem(t, srv.Do(t, http.MethodPut, "/v1/recruiters/r1", servicetest.AdminKey, tc.body), http.StatusBadRequest, tc.field)
		})
	}
	if r := srv.Do(t, http.MethodGet, "/v1/recruiters/r1", servicetest.AdminKey, nil); r.Status != http.StatusNotFound {
		t.Fatalf("an invalid recruiter was stored: %d %s", r.Status, r.Body)
	}

	r := srv.Do(t, http.MethodPut, "/v1/recruiters/r1", servicetest.AdminKey,
		`{"name":" Ann ","phone":"+14155550140","email":"ann@example.com","working_days":["FRI","mon"],"quiet_hours":{"start":"20:00","end":"08:00"}}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("put: %d %s", r.Status, r.Body)
	}
	var got struct {
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		WorkingDays []string `json:"working_days"`
		Channels    struct {
			Warning, Breached, Escalated []string
		} `json:"channels"`
	}
	srv.Do(t, http.MethodGet, "/v1/recruiters/r1", servicetest.AdminKey, nil).JSON(t, &got)
	if got.ID != "r1" || got.Name != "Ann" || strings.Join(got.WorkingDays, ",") != "mon,fri" ||
		strings.Join(got.Channels.Breached, ",") != "sms,email" || strings.Join(got.Channels.Warning, ",") != "email" {
		t.Fatalf("stored %+v", got)
	}
	// A phone belongs to one recruiter.
	expectProblem(t, srv.Do(t, http.MethodPut, "/v1/recruiters/r2", servicetest.AdminKey, `{"name":"B","phone":"+14155550140"}`),
		http.StatusBadRequest, "phone")
	var list struct {
		Recruiters []struct{ ID string } `json:"recruiters"`
	}
	srv.Do(t, http.MethodGet, "/v1/recruiters", servicetest.AdminKey, nil).JSON(t, &list)
	if len(list.Recruiters) != 1 || list.Recruiters[0].ID != "r1" {
		t.Fatalf("list %+v", list)
	}

	// The alerts API checks its parameters too.
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/alerts?state=bogus", servicetest.AdminKey, nil), http.StatusBadRequest, "state")
	expectProblem(t, srv.Do(t, http.MethodGet, "/v1/alerts?level=bogus", servicetest.AdminKey, nil), http.StatusBadRequest, "level")
	expectProblem(t, srv.Do(t, http.MethodPost, "/v1/alerts/nope/ack", servicetest.AdminKey, nil), http.StatusNotFound, "")
	// An unsigned link page is refused.
	if r := srv.Do(t, http.MethodGet, "/alerts/nope/ack?exp=1&sig=00", "", nil); r.Status != http.StatusForbidden {
		t.Fatalf("unsigned link: %d %s", r.Status, r.Body)
	}
}
