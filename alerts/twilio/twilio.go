// Package twilio sends alert SMS through Twilio's Messages API, finds a message again
// after an ambiguous failure, and redacts sent bodies for erasure.
//
// Every error a Sender returns is an *Error whose Kind, an alerts.Failure, tells the
// caller what to do: Permanent (do not retry; fall back to email), Retryable (Twilio
// did not take the message; retry with backoff), Ambiguous (the request may have
// reached Twilio; call Lookup before sending again). Channel turns a Sender into the
// pipeline's alerts.SMS.
package twilio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/goodwillhq/goodwill/alerts"
)

// DefaultAPIURL is Twilio's REST API.
const DefaultAPIURL = "https://api.twilio.com"

// DefaultTimeout bounds one request when Config.HTTPClient sets no timeout.
const DefaultTimeout = 10 * time.Second

// maxResponse bounds how much of a response body is read.
const maxResponse = 4 << 20

// Config says how to reach Twilio. AccountSID and AuthToken are required, and one of From
// or MessagingServiceSID (MessagingServiceSID wins when both are set).
type Config struct {
	AccountSID          string
	AuthToken           string
	From                string // an E.164 sender number
	MessagingServiceSID string // "MG…"
	APIURL              string // default DefaultAPIURL; tests point it at a fake
	// StatusCallback is the URL Twilio posts delivery status to; empty asks for none.
	// Send adds the ref as a "ref" query parameter.
	StatusCallback string
	// HTTPClient supplies the transport and timeout (default: a transport that keeps
	// up to MaxIdleConns connections to Twilio open, and DefaultTimeout); redirects
	// are never followed.
	HTTPClient *http.Client
}

// Result is what Twilio answered about a message.
type Result struct {
	ProviderID string // the MessageSid, "SM…"
	Status     string // Twilio's status: queued, accepted, sending, sent, delivered, undelivered, failed, …
}

// Sender sends SMS through one Twilio account. It is safe for concurrent use.
type Sender struct {
	cfg       Config
	base      *url.URL
	transport http.RoundTripper
	timeout   time.Duration
	jar       http.CookieJar
}

// New checks cfg and returns a Sender. It does not contact Twilio.
func New(cfg Config) (*Sender, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("twilio: the account SID and auth token are required")
	}
	if !alnum(cfg.AccountSID) || !alnum(cfg.AuthToken) {
		return nil, errors.New("twilio: the account SID and auth token must be letters and digits")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, errors.New("twilio: a From number or a messaging service SID is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	base, err := url.Parse(strings.TrimRight(cfg.APIURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("twilio: API URL %q is not an http(s) URL", cfg.APIURL)
	}
	if cfg.StatusCallback != "" {
		if u, err := url.Parse(cfg.StatusCallback); err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("twilio: status callback %q is not an absolute URL", cfg.StatusCallback)
		}
	}
	s := &Sender{cfg: cfg, base: base, transport: defaultTransport(), timeout: DefaultTimeout}
	if hc := cfg.HTTPClient; hc != nil {
		if hc.Transport != nil {
			s.transport = hc.Transport
		}
		if hc.Timeout > 0 {
			s.timeout = hc.Timeout
		}
		s.jar = hc.Jar
	}
	return s, nil
}

// MaxIdleConns is how many connections to Twilio the default transport keeps open
// between requests: as many as alerts are sent at once, so that a burst does not open
// (and TLS-handshake) a new connection for most of its messages.
const MaxIdleConns = 32

func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = MaxIdleConns, MaxIdleConns
	return t
}

func alnum(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// Send asks Twilio to send body to the E.164 number to. ref (the alert code) must appear
// in body: Lookup finds the message by it after an ambiguous failure. It is also added to
// the status callback URL. A nil error means Twilio accepted the message; otherwise the
// error is an *Error (see Kind).
func (s *Sender) Send(ctx context.Context, to, body, ref string) (Result, error) {
	if ref != "" && !containsRef(body, ref) {
		return Result{}, &Error{Kind: alerts.Permanent, Op: "send", Err: fmt.Errorf("the body does not contain the ref %q", ref)}
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(to).SetBody(body)
	if s.cfg.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(s.cfg.MessagingServiceSID)
	} else {
		p.SetFrom(s.cfg.From)
	}
	if cb := s.statusCallback(ref); cb != "" {
		p.SetStatusCallback(cb)
	}
	call := s.call(ctx)
	msg, err := call.api.CreateMessage(p)
	if err != nil {
		return Result{}, call.classify("send", err)
	}
	res := result(msg)
	if res.ProviderID == "" {
		// A 2xx answer without a SID: the message may well exist.
		return Result{}, &Error{Kind: alerts.Ambiguous, Op: "send", Status: call.status.Load().(int), Err: errors.New("the answer has no message SID")}
	}
	return res, nil
}

func (s *Sender) statusCallback(ref string) string {
	if s.cfg.StatusCallback == "" || ref == "" {
		return s.cfg.StatusCallback
	}
	u, _ := url.Parse(s.cfg.StatusCallback) // checked in New
	q := u.Query()
	q.Set("ref", ref)
	u.RawQuery = q.Encode()
	return u.String()
}

// LookupLimit is how many of the newest messages to a number Lookup examines.
const LookupLimit = 200

// lookupSkew widens since against clock differences between this host and Twilio.
const lookupSkew = 5 * time.Minute

// Lookup looks for a message to the number to, created at or after since (less a few
// minutes for clock skew), whose body contains ref as a whole word: the message an
// ambiguous Send may have created. found is false when there is none among the newest
// LookupLimit messages to that number. A found message may have failed since: look at
// Result.Status. Twilio's message list can lag a few seconds behind creation, so wait a
// little after the ambiguous failure before looking.
func (s *Sender) Lookup(ctx context.Context, to, ref string, since time.Time) (res Result, found bool, err error) {
	if ref == "" {
		return Result{}, false, &Error{Kind: alerts.Permanent, Op: "lookup", Err: errors.New("an empty ref matches nothing")}
	}
	p := &openapi.ListMessageParams{}
	p.SetTo(to).SetPageSize(50).SetLimit(LookupLimit)
	call := s.call(ctx)
	msgs, err := call.api.ListMessage(p)
	if err != nil {
		e := call.classify("lookup", err)
		if e.Kind == alerts.Ambiguous {
			e.Kind = alerts.Retryable // a read is safe to repeat
		}
		return Result{}, false, e
	}
	cutoff := since.Add(-lookupSkew)
	for _, m := range msgs {
		if m.Body == nil || !containsRef(*m.Body, ref) {
			continue
		}
		if m.DateCreated != nil {
			if t, err := time.Parse(time.RFC1123Z, *m.DateCreated); err == nil && t.Before(cutoff) {
				continue
			}
		}
		return result(&m), true, nil
	}
	return Result{}, false, nil
}

// Redact blanks the body of a sent message at Twilio (for erasure). Twilio refuses while
// the message is still being sent; that error is Retryable only if Twilio says so by
// status, else Permanent, as for Send.
func (s *Sender) Redact(ctx context.Context, providerID string) error {
	if providerID == "" || strings.ContainsAny(providerID, "/?#") {
		return &Error{Kind: alerts.Permanent, Op: "redact", Err: fmt.Errorf("%q is not a message SID", providerID)}
	}
	call := s.call(ctx)
	_, err := call.api.UpdateMessage(providerID, (&openapi.UpdateMessageParams{}).SetBody(""))
	if err != nil {
		e := call.classify("redact", err)
		if e.Kind == alerts.Ambiguous {
			e.Kind = alerts.Retryable // redacting twice is harmless
		}
		return e
	}
	return nil
}

func result(m *openapi.ApiV2010Message) Result {
	var r Result
	if m.Sid != nil {
		r.ProviderID = *m.Sid
	}
	if m.Status != nil {
		r.Status = *m.Status
	}
	return r
}

// containsRef reports whether ref occurs in body as a whole word: not inside a longer
// run of letters, digits, '-' or '_' (as in a link's token).
func containsRef(body, ref string) bool {
	for i := 0; ref != ""; {
		j := strings.Index(body[i:], ref)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(ref)
		if (start == 0 || !wordByte(body[start-1])) && (end == len(body) || !wordByte(body[end])) {
			return true
		}
		i = start + 1
	}
	return false
}

func wordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '_'
}

// call is one API call: a twilio-go client whose transport sends to the configured API
// URL under the caller's context and notes what happened on the wire.
type call struct {
	api    *openapi.ApiService
	wrote  atomic.Bool  // the request was written completely
	status atomic.Value // int: the HTTP status received, 0 for none
	netErr atomic.Value // error: the transport's error, if any
}

func (s *Sender) call(ctx context.Context) *call {
	c := &call{}
	c.status.Store(0)
	hc := &http.Client{
		Transport: &transport{base: s.base, next: s.transport, ctx: ctx, call: c},
		Timeout:   s.timeout,
		Jar:       s.jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	tc := &client.Client{Credentials: client.NewCredentials(s.cfg.AccountSID, s.cfg.AuthToken), HTTPClient: hc}
	tc.SetAccountSid(s.cfg.AccountSID)
	c.api = openapi.NewApiServiceWithClient(tc)
	return c
}

// transport rewrites twilio-go's requests to the configured base URL, binds them to the
// caller's context (twilio-go itself uses context.Background), records whether the
// request was written, and reads the whole answer so the caller's context can be
// released and the status recorded.
type transport struct {
	base *url.URL
	next http.RoundTripper
	ctx  context.Context
	call *call
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	u := *req.URL
	u.Scheme, u.Host = t.base.Scheme, t.base.Host
	u.Path = t.base.Path + u.Path
	if u.RawPath != "" {
		u.RawPath = t.base.EscapedPath() + u.RawPath
	}

	// Cancel the request when either the http.Client's deadline (in req's context) or the
	// caller's context ends.
	ctx, cancel := context.WithCancelCause(req.Context())
	defer cancel(nil)
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	defer stop()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				t.call.wrote.Store(true)
			}
		},
	})
	out := req.Clone(ctx)
	out.URL, out.Host = &u, ""

	resp, err := t.next.RoundTrip(out)
	if err != nil {
		t.call.netErr.Store(err)
		return nil, err
	}
	t.call.status.Store(resp.StatusCode)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	if err != nil {
		t.call.netErr.Store(err)
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
