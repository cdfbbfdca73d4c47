package maildrop

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/time/rate"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Limits bound what the SMTP server takes.
type Limits struct {
	MaxBytes      int64      // per message: larger is 552
	MaxRecipients int        // per message: more is 452
	MaxConns      int        // at once: more are answered 421 and closed
	Rate          rate.Limit // recipients (accepted or refused) per second per client address
	Burst         int        // recipients a client address may send at once
}

// DefaultLimits are production's: 10 MiB, 50 recipients, 20 connections, and 300
// recipients a minute per client address after a burst of 100.
var DefaultLimits = Limits{
	MaxBytes: 10 << 20, MaxRecipients: 50, MaxConns: 20,
	Rate: rate.Every(time.Minute / 300), Burst: 100,
}

// withDefaults fills each zero field of l with DefaultLimits'.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxRecipients <= 0 {
		l.MaxRecipients = d.MaxRecipients
	}
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.Rate <= 0 {
		l.Rate, l.Burst = d.Rate, d.Burst
	}
	return l
}

// Config is what the dropbox works with. Ingest, Addresses, Candidates, Recruiters,
// Domain, Now and Log are required.
type Config struct {
	// Domain is GOODWILL_MAIL_DOMAIN, lower case: the only domain mail is taken for.
	Domain string
	// SenderDomains are the organisation's mail domains (GOODWILL_MAIL_SENDER_DOMAINS),
	// lower case. Without them log@<domain> refuses mail.
	SenderDomains []string
	// RequireDKIM asks personal addresses too for a valid DKIM signature aligned with
	// the From domain (GOODWILL_MAIL_REQUIRE_DKIM).
	RequireDKIM bool
	// KeepSubject keeps subjects (GOODWILL_MAIL_KEEP=subject).
	KeepSubject bool
	// TLS turns STARTTLS on; nil speaks plain SMTP.
	TLS *tls.Config
	// Ingest records deliveries in the delivery log and writes interactions.
	Ingest     *webhooks.Ingest
	Addresses  TokenOwners
	Candidates Candidates
	Recruiters Recruiters
	// LookupTXT resolves DKIM keys; nil uses DNS. Tests serve their own keys.
	LookupTXT func(domain string) ([]string, error)
	// Limits; a zero field takes DefaultLimits' value.
	Limits Limits
	Now    func() time.Time
	Log    *slog.Logger
}

// TokenOwners finds the recruiter holding a personal address's token (*Addresses).
type TokenOwners interface {
	Recruiter(ctx context.Context, token string) (recruiterID string, ok bool, err error)
}

// Server is the SMTP receiver.
type Server struct {
	cfg    Config
	smtp   *smtp.Server
	mapper *Mapper
	rates  *addrRates
}

// New returns a server over cfg; Serve starts it.
func New(cfg Config) *Server {
	cfg.Limits = cfg.Limits.withDefaults()
	cfg.Domain = strings.ToLower(cfg.Domain)
	s := &Server{
		cfg: cfg,
		mapper: &Mapper{Candidates: cfg.Candidates, Recruiters: cfg.Recruiters, SenderDomains: cfg.SenderDomains,
			Domain: cfg.Domain, KeepSubject: cfg.KeepSubject},
		rates: &addrRates{limit: cfg.Limits.Rate, burst: cfg.Limits.Burst, m: map[string]*addrRate{}},
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, client: clientHost(c.Conn().RemoteAddr())}, nil
	}))
	srv.Domain = cfg.Domain
	srv.MaxMessageBytes = cfg.Limits.MaxBytes
	srv.MaxRecipients = cfg.Limits.MaxRecipients
	srv.ReadTimeout = 2 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.TLSConfig = cfg.TLS
	srv.ErrorLog = errorLog{cfg.Log}
	s.smtp = srv
	return s
}

// Serve accepts connections on ln until Close, at most Limits.MaxConns at once.
func (s *Server) Serve(ln net.Listener) error {
	err := s.smtp.Serve(&limitListener{Listener: ln, sem: make(chan struct{}, s.cfg.Limits.MaxConns)})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops accepting and closes every connection.
func (s *Server) Close() error { return s.smtp.Close() }

// SMTP replies of the dropbox.
var (
	errRelay     = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied: this server takes mail for its own domain only"}
	errNoMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox"}
	errRate      = &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Too many recipients from your address, try again later"}
	errTemporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
	errMalformed = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The message header cannot be read"}
	errDKIM      = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 20}, Message: "No valid DKIM signature aligned with the From domain or the organisation"}
)

// session is one SMTP connection's state.
type session struct {
	s          *Server
	client     string
	returnPath string
	recruiters []string
	orgWide    bool
}

func (ss *session) Reset() {
	ss.returnPath, ss.recruiters, ss.orgWide = "", nil, false
}

func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.Reset()
	ss.returnPath = from
	return nil
}

// Rcpt takes the dropbox's own addresses only. Every recipient, refused or not,
// counts against the client address's rate.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s := ss.s
	now := s.cfg.Now()
	if !s.rates.allow(ss.client, now) {
		s.cfg.Ingest.Reject(context.Background(), webhooks.Record{Source: Source, ReceivedAt: now},
			webhooks.RejectRateLimited, "too many recipients from one client address")
		return errRate
	}
	local, domain, ok := strings.Cut(strings.ToLower(to), "@")
	if !ok || domain != s.cfg.Domain {
		return errRelay
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch {
	case local == "log" && len(s.cfg.SenderDomains) > 0:
		ss.orgWide = true
		return nil
	case strings.HasPrefix(local, "log+"):
		id, found, err := s.cfg.Addresses.Recruiter(ctx, strings.TrimPrefix(local, "log+"))
		if err != nil {
			s.cfg.Log.Warn("mail: find a dropbox address", "err", err)
			return errTemporary
		}
		if !found {
			return errNoMailbox
		}
		if !slices.Contains(ss.recruiters, id) {
			ss.recruiters = append(ss.recruiters, id)
		}
		return nil
	}
	return errNoMailbox
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // ErrDataTooLarge: 552
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := Envelope{ReturnPath: ss.returnPath, Recruiters: ss.recruiters, OrgWide: ss.orgWide}
	return ss.s.Deliver(ctx, raw, env)
}

// Deliver maps one message accepted for env and records it: its interactions are
// written (once per Message-ID, candidate and direction), or it is logged as ignored
// with the reason. Neither the raw message nor its body is kept. The error is the
// SMTP reply when the message is refused (DKIM, an unreadable header) or should be
// sent again (a store failure). env.ReceivedAt is set here.
func (s *Server) Deliver(ctx context.Context, raw []byte, env Envelope) error {
	now := s.cfg.Now()
	env.ReceivedAt = now
	rec := webhooks.Record{Source: Source, ReceivedAt: now}
	m, err := Parse(raw)
	if err != nil {
		s.cfg.Ingest.Reject(ctx, rec, webhooks.RejectMalformed, err.Error())
		return errMalformed
	}
	if !s.authentic(raw, m, env) {
		s.cfg.Ingest.Reject(ctx, rec, webhooks.RejectBadSignature, "no valid DKIM signature aligned with the From domain"+
			map[bool]string{true: " or an organisation domain", false: ""}[env.OrgWide])
		return errDKIM
	}
	id := m.MessageID
	if id == "" {
		id = m.Fingerprint
	}
	sum := sha256.Sum256([]byte(id))
	rec.DeliveryID = "sha256:" + hex.EncodeToString(sum[:])
	mapped, err := s.mapper.Map(ctx, m, env)
	if err != nil {
		s.cfg.Log.Warn("mail: map a message", "err", err)
		return errTemporary
	}
	if mapped.Ignored != "" {
		rec.Event = "ignored"
		rec.Key = "email:ignored:" + interactions.NewID() // never stands in the way of a later copy
		if err := s.cfg.Ingest.Note(ctx, rec, nil, webhooks.OutcomeIgnored, mapped.Ignored); err != nil {
			s.cfg.Log.Warn("mail: record an ignored message", "err", err)
			return errTemporary
		}
		s.cfg.Log.Info("mail ignored", "reason", mapped.Ignored)
		return nil
	}
	rec.Event = string(mapped.Direction)
	batch := len(mapped.Items) > 1
	items := make([]interactions.Interaction, 0, len(mapped.Items))
	var fields []interactions.FieldError
	for i, in := range mapped.Items {
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("interactions[%d].", i)
		}
		it, errs := in.Validate(prefix, now)
		fields = append(fields, errs...)
		items = append(items, it)
	}
	if len(fields) == 0 {
		if err := interactions.SelfReported(items, batch); err != nil {
			fields = append(fields, interactions.FieldError{Field: "occurred_at", Message: err.Error()})
		}
	}
	if len(fields) > 0 {
		s.cfg.Ingest.Reject(ctx, rec, webhooks.RejectMalformed, interactions.Invalid(fields...).Error())
		return errMalformed
	}
	res, err := s.cfg.Ingest.Store(ctx, rec, nil, items, now)
	if err != nil {
		s.cfg.Log.Warn("mail: store a message", "err", err)
		return errTemporary
	}
	s.cfg.Log.Info("mail logged", "direction", mapped.Direction, "outcome", res.Outcome, "stored", res.Stored, "duplicates", res.Duplicates)
	return nil
}

// authentic applies the DKIM rules: mail to log@ needs a valid signature aligned with
// the From domain or an organisation domain; mail to a personal address needs one
// aligned with the From domain when RequireDKIM is set, and nothing otherwise (the
// token authenticates).
func (s *Server) authentic(raw []byte, m Message, env Envelope) bool {
	if !env.OrgWide && !s.cfg.RequireDKIM {
		return true
	}
	signers := SignedDomains(raw, s.cfg.LookupTXT)
	if alignedWithAny(signers, domainOf(m.From)) {
		return true
	}
	return env.OrgWide && alignedWithAny(signers, s.cfg.SenderDomains...)
}

// clientHost is the host part of a client's address.
func clientHost(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// addrRates keeps a token bucket per client address.
type addrRates struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*addrRate
}

type addrRate struct {
	l    *rate.Limiter
	seen time.Time
}

// allow spends one token of addr's bucket at now.
func (a *addrRates) allow(addr string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.m[addr]
	if !ok {
		if len(a.m) >= 10000 {
			for k, v := range a.m {
				if now.Sub(v.seen) > 10*time.Minute {
					delete(a.m, k)
				}
			}
		}
		r = &addrRate{l: rate.NewLimiter(a.limit, a.burst)}
		a.m[addr] = r
	}
	r.seen = now
	return r.l.AllowN(now, 1)
}

// limitListener answers connections beyond its semaphore's size with 421.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
		default:
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, "421 4.7.0 Too many connections, try again later\r\n")
			_ = c.Close()
		}
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// errorLog passes go-smtp's connection errors to slog. They name client IP
// addresses, never email addresses.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Printf(format string, v ...any) { e.log.Debug("mail: " + fmt.Sprintf(format, v...)) }
func (e errorLog) Println(v ...any)               { e.log.Debug("mail: " + fmt.Sprint(v...)) }
