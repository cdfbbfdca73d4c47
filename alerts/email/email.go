// Package email sends alert emails over SMTP: a plain-text and an HTML part, and a
// Message-ID derived from the alert so a resent duplicate is recognisable.
//
// Every error Send returns is an *Error whose Kind, an alerts.Failure, tells the caller
// what to do: Permanent (a 5xx reply or an unusable address; do not retry), Retryable
// (a 4xx reply, or a network failure before the message's end was sent), Ambiguous
// (the connection failed after the whole message was sent, before the server's answer:
// it may have been accepted). Channel turns a Sender into the pipeline's alerts.Email.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/goodwillhq/goodwill/alerts"
)

// DefaultTimeout bounds each SMTP command when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config says how to reach the SMTP server.
type Config struct {
	// URL is smtp://[user:pass@]host[:port] (port 587 by default; STARTTLS when the
	// server offers it) or smtps://[user:pass@]host[:port] (implicit TLS, port 465 by
	// default). With a user, Send authenticates with PLAIN or LOGIN, which go-mail only
	// does over TLS (or to localhost).
	URL  string
	From string // the From address, e.g. "goodwill <alerts@example.com>"
	// TLSConfig, if set, is used to verify the server (e.g. its RootCAs); its ServerName
	// defaults to the URL's host.
	TLSConfig *tls.Config
	// Timeout bounds each SMTP command (default DefaultTimeout). Send also stops when its
	// context ends.
	Timeout time.Duration
}

// Sender sends email through one SMTP server, one connection per message. It is safe
// for concurrent use.
type Sender struct {
	host       string
	port       int
	implicit   bool // smtps
	user, pass string
	from       string
	tls        *tls.Config
	timeout    time.Duration
}

// New checks cfg and returns a Sender. It does not contact the server.
func New(cfg Config) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("email: the SMTP URL does not parse: %w", err)
	}
	s := &Sender{host: u.Hostname(), from: cfg.From, timeout: cfg.Timeout}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, fmt.Errorf("email: the SMTP URL must start with smtp:// or smtps://, not %q", u.Scheme+"://")
	}
	if s.host == "" {
		return nil, errors.New("email: the SMTP URL names no host")
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, fmt.Errorf("email: the SMTP URL's port %q is not a port", p)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if err := mail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("email: the From address %q: %w", cfg.From, err)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if cfg.TLSConfig != nil {
		s.tls = cfg.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = s.host
	}
	return s, nil
}

// Send sends one email to the address to, with a text/plain and a text/html alternative
// and the given Message-ID ("id@domain"; angle brackets are optional). A nil error means
// the server accepted the message; otherwise the error is an *Error.
func (s *Sender) Send(ctx context.Context, to, subject, text, html, messageID string) error {
	msg := mail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return &Error{Kind: alerts.Permanent, Err: fmt.Errorf("from: %w", err)}
	}
	if err := msg.To(to); err != nil {
		return &Error{Kind: alerts.Permanent, Err: fmt.Errorf("to: %w", err)}
	}
	id := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(messageID), "<"), ">")
	if !validMessageID(id) {
		return &Error{Kind: alerts.Permanent, Err: fmt.Errorf("message ID %q is not of the form id@domain", messageID)}
	}
	msg.SetMessageIDWithValue(id)
	msg.Subject(subject)
	msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	msg.SetBodyString(mail.TypeTextPlain, text)
	msg.AddAlternativeString(mail.TypeTextHTML, html)

	var (
		mu    sync.Mutex
		conns []net.Conn
		stops []func() bool
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, stop := range stops {
			stop()
		}
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		if s.implicit {
			tc := tls.Client(c, s.tls)
			if err := tc.HandshakeContext(dialCtx); err != nil {
				_ = c.Close()
				return nil, err
			}
			c = tc
		}
		mu.Lock()
		conns = append(conns, c)
		// When the caller's context (not dialCtx, which ends with the dial) ends, fail the
		// connection's pending I/O.
		stops = append(stops, context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) }))
		mu.Unlock()
		return c, nil
	}
	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tls),
		mail.WithDialContextFunc(dial),
	}
	if s.implicit {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts, mail.WithSMTPAuthCustom(&plainOrLogin{user: s.user, pass: s.pass, host: s.host}))
	}
	c, err := mail.NewClient(s.host, opts...)
	if err != nil {
		return &Error{Kind: alerts.Permanent, Err: err}
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if err == nil || msg.IsDelivered() {
		// Accepted; a failing RSET or QUIT afterwards does not matter.
		return nil
	}
	return classify(ctx, err)
}

// validMessageID accepts an RFC 5322 msg-id without its brackets: printable ASCII,
// no spaces or brackets, one "@" with text on both sides.
func validMessageID(id string) bool {
	at := strings.IndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.Count(id, "@") != 1 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b <= ' ' || b >= 0x7f || b == '<' || b == '>' || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// plainOrLogin authenticates with PLAIN when the server offers it, else LOGIN. Both
// refuse an unencrypted connection (except to localhost).
type plainOrLogin struct {
	user, pass, host string
	chosen           smtp.Auth
}

func (a *plainOrLogin) Start(server *smtp.ServerInfo) (string, []byte, error) {
	a.chosen = nil
	for _, m := range server.Auth {
		switch strings.ToUpper(m) {
		case "PLAIN":
			a.chosen = smtp.PlainAuth("", a.user, a.pass, a.host, false)
		case "LOGIN":
			if a.chosen == nil {
				a.chosen = smtp.LoginAuth(a.user, a.pass, a.host, false)
			}
		}
	}
	if a.chosen == nil {
		return "", nil, fmt.Errorf("the server offers neither PLAIN nor LOGIN authentication (it offers %v)", server.Auth)
	}
	return a.chosen.Start(server)
}

func (a *plainOrLogin) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}
