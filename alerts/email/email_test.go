package email_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/email"
)

// received is one message the test server accepted.
type received struct {
	From, To string
	Data     []byte
	TLS      bool
	User     string
}

// backend is an SMTP server's backend that stores what it receives and can be told to
// fail at one step.
type backend struct {
	mu       sync.Mutex
	messages []received

	failMail, failRcpt, failData *smtp.SMTPError
	hangData                     time.Duration // sleep before answering the final "."
	requireAuth                  bool
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{b: b, tls: isTLS, conn: c}, nil
}

type session struct {
	b    *backend
	conn *smtp.Conn
	tls  bool
	user string
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "alerts" || password != "s3cret/pass" {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.requireAuth && s.user == "" {
		return smtp.ErrAuthRequired
	}
	if s.b.failMail != nil {
		return s.b.failMail
	}
	s.cur = received{From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.failRcpt != nil {
		return s.b.failRcpt
	}
	s.cur.To = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.hangData > 0 {
		time.Sleep(s.b.hangData)
	}
	if s.b.failData != nil {
		return s.b.failData
	}
	_, s.cur.TLS = s.conn.TLSConnectionState()
	s.cur.Data, s.cur.User = data, s.user
	s.b.mu.Lock()
	s.b.messages = append(s.b.messages, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// testCert returns a self-signed certificate for 127.0.0.1 and a pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "goodwill test SMTP"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

type serverOpts struct {
	starttls bool // offer STARTTLS
	implicit bool // smtps: TLS from the first byte
}

// startServer runs a go-smtp server on 127.0.0.1:0 and returns its address and the pool
// trusting its certificate.
func startServer(t *testing.T, b *backend, o serverOpts) (string, *x509.CertPool) {
	t.Helper()
	cert, pool := testCert(t)
	srv := smtp.NewServer(b)
	srv.Domain = "127.0.0.1"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = smtpQuietLog{}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.starttls {
		srv.TLSConfig = tlsConf
	}
	srv.AllowInsecureAuth = !o.starttls && !o.implicit
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicit {
		l = tls.NewListener(l, tlsConf)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String(), pool
}

type smtpQuietLog struct{}

func (smtpQuietLog) Printf(string, ...any) {}
func (smtpQuietLog) Println(...any)        {}

// parsed is what the tests check of a received message.
type parsed struct {
	From, To, Subject, MessageID, AutoSubmitted string
	Parts                                       map[string]string // content type → decoded body
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{
		From: m.Header.Get("From"), To: m.Header.Get("To"), Subject: subject,
		MessageID: m.Header.Get("Message-ID"), AutoSubmitted: m.Header.Get("Auto-Submitted"),
		Parts: map[string]string{},
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
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

const (
	text = "Hi Ann,\n\nJane Doe is waiting: the first response is overdue by 2h 15m.\nAcknowledge: https://goodwill.example/a/tok\n"
	html = "<p>Hi Ann,</p><p>Jane Doe is waiting: <a href=\"https://goodwill.example/a/tok\">Acknowledge</a></p>\n"
)

func TestSendDelivers(t *testing.T) {
	tests := []struct {
		name   string
		opts   serverOpts
		scheme string
		user   string
		tls    bool
	}{
		// STARTTLS is offered and taken; the password is sent only over TLS.
		{"starttls with auth", serverOpts{starttls: true}, "smtp", "alerts", true},
		// No STARTTLS on offer: opportunistic TLS goes on in plain text.
		{"plain, no auth", serverOpts{}, "smtp", "", false},
		// smtps: implicit TLS from the first byte.
		{"smtps with auth", serverOpts{implicit: true}, "smtps", "alerts", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &backend{requireAuth: tt.user != ""}
			addr, pool := startServer(t, b, tt.opts)
			userinfo := ""
			if tt.user != "" {
				userinfo = tt.user + ":s3cret%2Fpass@"
			}
			s, err := email.New(email.Config{
				URL:       fmt.Sprintf("%s://%s%s", tt.scheme, userinfo, addr),
				From:      "goodwill <alerts@goodwill.example>",
				TLSConfig: &tls.Config{RootCAs: pool},
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			subject := "Jane Doe is waiting (Senior Engineer): first response overdue by 2h 15m – ü"
			if err := s.Send(context.Background(), "ann@example.com", subject, text, html, "alert-42.breached@goodwill.example"); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if len(b.messages) != 1 {
				t.Fatalf("server received %d messages, want 1", len(b.messages))
			}
			got := b.messages[0]
			if got.From != "alerts@goodwill.example" || got.To != "ann@example.com" || got.TLS != tt.tls || got.User != tt.user {
				t.Errorf("envelope = from %q to %q tls %v user %q", got.From, got.To, got.TLS, got.User)
			}
			want := parsed{
				From: `"goodwill" <alerts@goodwill.example>`, To: "<ann@example.com>", Subject: subject,
				MessageID: "<alert-42.breached@goodwill.example>", AutoSubmitted: "auto-generated",
				Parts: map[string]string{"text/plain": text, "text/html": html},
			}
			if diff := cmp.Diff(want, parse(t, got.Data)); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name    string
		b       *backend
		opts    serverOpts
		url     string // overrides the server's URL; %s is its address
		trust   bool   // trust the server's certificate
		timeout time.Duration
		msgID   string
		kind    alerts.Failure
		code    int
	}{
		// The mailbox does not exist: a 5xx reply is permanent.
		{"550 at RCPT", &backend{failRcpt: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}, serverOpts{}, "", true, 0, "", alerts.Permanent, 550},
		// Greylisting: a 4xx reply is worth retrying.
		{"451 at MAIL", &backend{failMail: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted"}}, serverOpts{}, "", true, 0, "", alerts.Retryable, 451},
		// The content was refused after the final dot.
		{"554 after DATA", &backend{failData: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "rejected"}}, serverOpts{}, "", true, 0, "", alerts.Permanent, 554},
		// A temporary refusal after the final dot.
		{"452 after DATA", &backend{failData: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "full"}}, serverOpts{}, "", true, 0, "", alerts.Retryable, 452},
		// The whole message went out and the answer never came.
		{"timeout after DATA", &backend{hangData: 2 * time.Second}, serverOpts{}, "", true, 300 * time.Millisecond, "", alerts.Ambiguous, 0},
		// Wrong password: 535 is permanent.
		{"auth failed", &backend{}, serverOpts{starttls: true}, "smtp://alerts:wrong@%s", true, 0, "", alerts.Permanent, 535},
		// Nobody listens: retry.
		{"connection refused", &backend{}, serverOpts{}, "smtp://" + closedAddr, true, 0, "", alerts.Retryable, 0},
		// A certificate that does not verify is a setup problem.
		{"untrusted certificate", &backend{}, serverOpts{implicit: true}, "smtps://%s", false, 0, "", alerts.Permanent, 0},
		// A Message-ID that is not id@domain.
		{"bad message ID", &backend{}, serverOpts{}, "", true, 0, "no-at-sign", alerts.Permanent, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, pool := startServer(t, tt.b, tt.opts)
			u := "smtp://" + addr
			if tt.url != "" {
				u = tt.url
				if strings.Contains(u, "%s") {
					u = fmt.Sprintf(u, addr)
				}
			}
			cfg := email.Config{URL: u, From: "alerts@goodwill.example", Timeout: tt.timeout}
			if tt.trust {
				cfg.TLSConfig = &tls.Config{RootCAs: pool}
			}
			s, err := email.New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			id := tt.msgID
			if id == "" {
				id = "a1@goodwill.example"
			}
			err = s.Send(context.Background(), "ann@example.com", "s", "t", "<p>h</p>", id)
			var e *email.Error
			if !errors.As(err, &e) {
				t.Fatalf("Send = %v, want an *email.Error", err)
			}
			if e.Kind != tt.kind || e.Code != tt.code {
				t.Errorf("kind, code = %v, %d; want %v, %d (%v)", e.Kind, e.Code, tt.kind, tt.code, err)
			}
			if alerts.FailureOf(err) != tt.kind {
				t.Errorf("FailureOf = %v", alerts.FailureOf(err))
			}

			// The pipeline's channel gives the same answer as an *alerts.SendError.
			err = email.Channel(s).Send(context.Background(), "ann@example.com", "s", "t", "<p>h</p>", id)
			var se *alerts.SendError
			if !errors.As(err, &se) || !errors.As(err, &e) {
				t.Fatalf("Channel Send = %v, want an *alerts.SendError around an *email.Error", err)
			}
			if se.Failure != tt.kind || se.Unreachable {
				t.Errorf("Channel Send failure, unreachable = %v, %v; want %v, false", se.Failure, se.Unreachable, tt.kind)
			}
		})
	}
}

func TestSendHonoursContext(t *testing.T) {
	b := &backend{hangData: 3 * time.Second}
	addr, _ := startServer(t, b, serverOpts{})
	s, err := email.New(email.Config{URL: "smtp://" + addr, From: "alerts@goodwill.example"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, "ann@example.com", "s", "t", "h", "a1@goodwill.example")
	if alerts.FailureOf(err) != alerts.Ambiguous {
		t.Errorf("Send = %v, want ambiguous (the message was sent, the answer not received)", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  email.Config
		ok   bool
	}{
		// Plain SMTP with the submission port by default.
		{"smtp", email.Config{URL: "smtp://mail.example.com", From: "a@example.com"}, true},
		// Implicit TLS with credentials.
		{"smtps", email.Config{URL: "smtps://u:p@mail.example.com:465", From: "a@example.com"}, true},
		// Another scheme.
		{"http", email.Config{URL: "http://mail.example.com", From: "a@example.com"}, false},
		// No host.
		{"no host", email.Config{URL: "smtp://", From: "a@example.com"}, false},
		// A port that is not a number.
		{"bad port", email.Config{URL: "smtp://mail.example.com:99999", From: "a@example.com"}, false},
		// A From that is not an address.
		{"bad from", email.Config{URL: "smtp://mail.example.com", From: "nobody"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := email.New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Errorf("New = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
