package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/twilio"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "secrettoken42"
)

// fakeTwilio is a fake of Twilio's Messages API. It checks authentication, paths and the
// form fields Twilio requires, and answers according to the To number.
type fakeTwilio struct {
	t      *testing.T
	srv    *httptest.Server
	prefix string

	mu       sync.Mutex
	created  []url.Values // forms of accepted POST Messages.json
	redacted []url.Values // forms of POST Messages/{Sid}.json
	list     []map[string]any
	queries  []url.Values
}

// Numbers that make the fake answer in a particular way.
const (
	okNumber        = "+14155550100"
	rateLimited     = "+14155550429"
	serverError     = "+14155550500"
	badGateway      = "+14155550502"
	invalidNumber   = "+14155521211"
	unsubscribed    = "+14155521610"
	notSMSCapable   = "+14155521614"
	forbidden       = "+14155550403"
	slowNumber      = "+14155550999"
	resetNumber     = "+14155550888"
	garbageAnswer   = "+14155550777"
	answerWithNoSID = "+14155550666"
)

func newFake(t *testing.T, prefix string) *fakeTwilio {
	f := &fakeTwilio{t: t, prefix: prefix}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != sid || pass != token {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	messages := f.prefix + "/2010-04-01/Accounts/" + sid + "/Messages.json"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == messages:
		f.create(w, r)
	case r.Method == http.MethodGet && r.URL.Path == messages:
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.Query())
		list := f.list
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"messages": list, "page": 0, "page_size": 50, "next_page_uri": nil})
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, f.prefix+"/2010-04-01/Accounts/"+sid+"/Messages/SM"):
		if err := r.ParseForm(); err != nil {
			f.t.Errorf("parse form: %v", err)
		}
		if _, ok := r.PostForm["Body"]; !ok || r.PostForm.Get("Body") != "" {
			twilioError(w, http.StatusBadRequest, 21602, "Message body is required")
			return
		}
		f.mu.Lock()
		f.redacted = append(f.redacted, r.PostForm)
		f.mu.Unlock()
		sidPart := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, f.prefix+"/2010-04-01/Accounts/"+sid+"/Messages/"), ".json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": sidPart, "status": "delivered", "body": ""})
	default:
		twilioError(w, http.StatusNotFound, 20404, "not found: "+r.Method+" "+r.URL.Path)
	}
}

func (f *fakeTwilio) create(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("Content-Type = %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("parse form: %v", err)
	}
	form := r.PostForm
	if form.Get("To") == "" || form.Get("Body") == "" {
		twilioError(w, http.StatusBadRequest, 21604, "To and Body are required")
		return
	}
	if (form.Get("From") == "") == (form.Get("MessagingServiceSid") == "") {
		twilioError(w, http.StatusBadRequest, 21603, "exactly one of From and MessagingServiceSid")
		return
	}
	switch form.Get("To") {
	case rateLimited:
		twilioError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
	case serverError:
		twilioError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
	case badGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
	case invalidNumber:
		twilioError(w, http.StatusBadRequest, 21211, "The 'To' number is not a valid phone number.")
	case unsubscribed:
		twilioError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
	case notSMSCapable:
		twilioError(w, http.StatusBadRequest, 21614, "'To' number is not a valid mobile number")
	case forbidden:
		twilioError(w, http.StatusForbidden, 20008, "Forbidden")
	case slowNumber:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	case resetNumber:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST instead of FIN
			}
			_ = conn.Close()
		}
	case garbageAnswer:
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("{not json"))
	case answerWithNoSID:
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"status":"queued"}`))
	default:
		f.mu.Lock()
		f.created = append(f.created, form)
		n := len(f.created)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"sid": fmt.Sprintf("SM%032d", n), "status": "queued", "to": form.Get("To"), "body": form.Get("Body"),
		})
	}
}

func newSender(t *testing.T, f *fakeTwilio, mod func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	cfg := twilio.Config{
		AccountSID: sid, AuthToken: token, From: "+14155559999",
		APIURL:         f.srv.URL + f.prefix,
		StatusCallback: "https://goodwill.example/twilio/status",
		HTTPClient:     &http.Client{Timeout: 2 * time.Second},
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestSendForm(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		mod    func(*twilio.Config)
		want   url.Values
	}{
		// A From number is sent as From, and the ref rides on the status callback.
		{"from number", "", nil, url.Values{
			"To": {okNumber}, "From": {"+14155559999"}, "Body": {"Jane is waiting. Reply ACK 7F3K"},
			"StatusCallback": {"https://goodwill.example/twilio/status?ref=7F3K"},
		}},
		// A messaging service wins over a From number.
		{"messaging service", "", func(c *twilio.Config) { c.MessagingServiceSID = "MG123" }, url.Values{
			"To": {okNumber}, "MessagingServiceSid": {"MG123"}, "Body": {"Jane is waiting. Reply ACK 7F3K"},
			"StatusCallback": {"https://goodwill.example/twilio/status?ref=7F3K"},
		}},
		// Without a status callback none is sent; the API URL may carry a path prefix.
		{"no callback, prefixed API URL", "/proxy/twilio", func(c *twilio.Config) { c.StatusCallback = "" }, url.Values{
			"To": {okNumber}, "From": {"+14155559999"}, "Body": {"Jane is waiting. Reply ACK 7F3K"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.prefix)
			s := newSender(t, f, tt.mod)
			res, err := s.Send(context.Background(), okNumber, "Jane is waiting. Reply ACK 7F3K", "7F3K")
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if diff := cmp.Diff(twilio.Result{ProviderID: fmt.Sprintf("SM%032d", 1), Status: "queued"}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if len(f.created) != 1 {
				t.Fatalf("created %d messages, want 1", len(f.created))
			}
			if diff := cmp.Diff(tt.want, f.created[0]); diff != "" {
				t.Errorf("form (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	f := newFake(t, "")
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name        string
		to          string
		mod         func(*twilio.Config)
		kind        alerts.Failure
		code        int
		unreachable bool
	}{
		// Too many requests: retry later.
		{"429", rateLimited, nil, alerts.Retryable, 20429, false},
		// Twilio's own failure: retry.
		{"500", serverError, nil, alerts.Retryable, 20500, false},
		// A proxy's HTML error page is classified by its status.
		{"502 html", badGateway, nil, alerts.Retryable, 0, false},
		// An invalid number will never work.
		{"21211 invalid number", invalidNumber, nil, alerts.Permanent, 21211, true},
		// The recipient replied STOP.
		{"21610 unsubscribed", unsubscribed, nil, alerts.Permanent, 21610, true},
		// A landline.
		{"21614 not SMS-capable", notSMSCapable, nil, alerts.Permanent, 21614, true},
		// Other 4xx are permanent too, but say nothing about the number.
		{"403", forbidden, nil, alerts.Permanent, 20008, false},
		// Wrong credentials: 401 is permanent.
		{"401", okNumber, func(c *twilio.Config) { c.AuthToken = "wrong" }, alerts.Permanent, 20003, false},
		// The request was sent and no answer came before the client's timeout.
		{"timeout after sending", slowNumber, func(c *twilio.Config) { c.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond} }, alerts.Ambiguous, 0, false},
		// The connection was reset after the request was sent.
		{"reset after sending", resetNumber, nil, alerts.Ambiguous, 0, false},
		// A 201 whose body cannot be read: the message probably exists.
		{"garbled 201", garbageAnswer, nil, alerts.Ambiguous, 0, false},
		// A 201 without a SID.
		{"201 without sid", answerWithNoSID, nil, alerts.Ambiguous, 0, false},
		// Nothing listens: the request never left.
		{"connection refused", okNumber, func(c *twilio.Config) { c.APIURL = closedURL }, alerts.Retryable, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(t, f, tt.mod)
			_, err := s.Send(context.Background(), tt.to, "ACK 7F3K", "7F3K")
			var e *twilio.Error
			if !errors.As(err, &e) {
				t.Fatalf("Send error = %v, want a *twilio.Error", err)
			}
			if e.Kind != tt.kind || e.Code != tt.code {
				t.Errorf("kind, code = %v, %d; want %v, %d (%v)", e.Kind, e.Code, tt.kind, tt.code, err)
			}
			if got := twilio.Unreachable(err); got != tt.unreachable {
				t.Errorf("Unreachable = %v, want %v", got, tt.unreachable)
			}
			if alerts.FailureOf(err) != tt.kind {
				t.Errorf("FailureOf = %v", alerts.FailureOf(err))
			}

			// The pipeline's channel gives the same answer as an *alerts.SendError.
			_, err = twilio.Channel(s).Send(context.Background(), tt.to, "ACK 7F3K", "7F3K")
			var se *alerts.SendError
			if !errors.As(err, &se) || !errors.As(err, &e) {
				t.Fatalf("Channel Send error = %v, want an *alerts.SendError around a *twilio.Error", err)
			}
			if se.Failure != tt.kind || se.Unreachable != tt.unreachable {
				t.Errorf("Channel Send failure, unreachable = %v, %v; want %v, %v", se.Failure, se.Unreachable, tt.kind, tt.unreachable)
			}
		})
	}
}

func TestSendHonoursContext(t *testing.T) {
	f := newFake(t, "")
	s := newSender(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Send(ctx, slowNumber, "ACK 7F3K", "7F3K")
	if alerts.FailureOf(err) != alerts.Ambiguous {
		t.Errorf("Send = %v, want an ambiguous error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := s.Send(ctx, okNumber, "ACK 7F3K", "7F3K"); alerts.FailureOf(err) != alerts.Retryable {
		t.Errorf("Send with a canceled context = %v, want retryable", err)
	}
}

func TestSendRefMustBeInBody(t *testing.T) {
	f := newFake(t, "")
	s := newSender(t, f, nil)
	_, err := s.Send(context.Background(), okNumber, "link https://x/a/ab7F3Kcd", "7F3K")
	if alerts.FailureOf(err) != alerts.Permanent {
		t.Errorf("Send = %v, want a permanent error", err)
	}
	if len(f.created) != 0 {
		t.Errorf("a message was sent")
	}
}

func TestLookup(t *testing.T) {
	since := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	msg := func(sid, body string, created time.Time, status string) map[string]any {
		return map[string]any{"sid": sid, "to": okNumber, "body": body, "status": status,
			"date_created": created.Format(time.RFC1123Z)}
	}
	tests := []struct {
		name  string
		list  []map[string]any
		ref   string
		want  twilio.Result
		found bool
	}{
		// The message the ambiguous send created.
		{"found", []map[string]any{
			msg("SM2", "Bob is waiting. Reply ACK 9QW2", since.Add(time.Minute), "sent"),
			msg("SM1", "Jane is waiting. Reply ACK 7F3K", since.Add(time.Second), "delivered"),
		}, "7F3K", twilio.Result{ProviderID: "SM1", Status: "delivered"}, true},
		// An older message with the same code (a reused code) is not it.
		{"too old", []map[string]any{
			msg("SM1", "Reply ACK 7F3K", since.Add(-time.Hour), "delivered"),
		}, "7F3K", twilio.Result{}, false},
		// A few minutes of clock skew are tolerated.
		{"skew", []map[string]any{
			msg("SM1", "Reply ACK 7F3K", since.Add(-2*time.Minute), "queued"),
		}, "7F3K", twilio.Result{ProviderID: "SM1", Status: "queued"}, true},
		// The code inside a link's token is not a match.
		{"inside a token", []map[string]any{
			msg("SM1", "https://g.example/a/xy7F3Kab Reply ACK 9QW2", since.Add(time.Second), "sent"),
		}, "7F3K", twilio.Result{}, false},
		// A redacted message has no body.
		{"redacted", []map[string]any{
			msg("SM1", "", since.Add(time.Second), "delivered"),
		}, "7F3K", twilio.Result{}, false},
		// Nothing was sent.
		{"empty", nil, "7F3K", twilio.Result{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, "")
			f.list = tt.list
			s := newSender(t, f, nil)
			got, found, err := s.Lookup(context.Background(), okNumber, tt.ref, since)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if found != tt.found || got != tt.want {
				t.Errorf("Lookup = %+v, %v; want %+v, %v", got, found, tt.want, tt.found)
			}
			if len(f.queries) != 1 || f.queries[0].Get("To") != okNumber {
				t.Errorf("queries = %v, want one with To=%s", f.queries, okNumber)
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	f := newFake(t, "")
	s := newSender(t, f, func(c *twilio.Config) { c.AuthToken = "wrong" })
	if _, _, err := s.Lookup(context.Background(), okNumber, "7F3K", time.Now()); alerts.FailureOf(err) != alerts.Permanent {
		t.Errorf("Lookup with bad credentials = %v, want permanent", err)
	}
	s = newSender(t, f, nil)
	if _, _, err := s.Lookup(context.Background(), okNumber, "", time.Now()); alerts.FailureOf(err) != alerts.Permanent {
		t.Errorf("Lookup with no ref = %v, want permanent", err)
	}
	var se *alerts.SendError
	if _, _, err := twilio.Channel(s).Lookup(context.Background(), okNumber, "", time.Now()); !errors.As(err, &se) || se.Failure != alerts.Permanent {
		t.Errorf("Channel Lookup with no ref = %v, want a permanent *alerts.SendError", err)
	}
}

func TestRedact(t *testing.T) {
	f := newFake(t, "")
	s := newSender(t, f, nil)
	if err := s.Redact(context.Background(), "SM0123"); err != nil {
		t.Fatalf("Redact: %v", err)
	}
	if diff := cmp.Diff([]url.Values{{"Body": {""}}}, f.redacted); diff != "" {
		t.Errorf("redact forms (-want +got):\n%s", diff)
	}
	if err := s.Redact(context.Background(), "../x"); alerts.FailureOf(err) != alerts.Permanent {
		t.Errorf("Redact(../x) = %v, want permanent", err)
	}
	var se *alerts.SendError
	if err := twilio.Channel(s).Redact(context.Background(), "../x"); !errors.As(err, &se) || se.Failure != alerts.Permanent {
		t.Errorf("Channel Redact(../x) = %v, want a permanent *alerts.SendError", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  twilio.Config
		ok   bool
	}{
		// The minimum: credentials and a sender.
		{"ok", twilio.Config{AccountSID: "AC1", AuthToken: "t", From: "+1415"}, true},
		// A messaging service instead of a number.
		{"service", twilio.Config{AccountSID: "AC1", AuthToken: "t", MessagingServiceSID: "MG1"}, true},
		// No credentials.
		{"no token", twilio.Config{AccountSID: "AC1", From: "+1415"}, false},
		// Credentials twilio-go would reject on every request.
		{"odd token", twilio.Config{AccountSID: "AC1", AuthToken: "a:b", From: "+1415"}, false},
		// Nobody to send from.
		{"no sender", twilio.Config{AccountSID: "AC1", AuthToken: "t"}, false},
		// Not an http URL.
		{"bad API URL", twilio.Config{AccountSID: "AC1", AuthToken: "t", From: "+1", APIURL: "ftp://x"}, false},
		// A relative callback.
		{"bad callback", twilio.Config{AccountSID: "AC1", AuthToken: "t", From: "+1", StatusCallback: "/status"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := twilio.New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Errorf("New = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
