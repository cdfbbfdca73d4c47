// Package mailtest runs a real SMTP server (emersion/go-smtp) on loopback for tests,
// keeping every message it receives.
package mailtest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is a message the server received.
type Message struct {
	From, To           string
	Data               []byte // as sent, headers and body
	MessageID, Subject string
}

// Server is a running SMTP server.
type Server struct {
	Addr string // host:port

	onData  func(m Message, n int) (hold bool)
	release chan struct{}
	mu      sync.Mutex
	msgs    []Message
}

// Start runs a server on 127.0.0.1 until t ends. onData, if not nil, runs for every
// message the server has received in full and kept, with its number (1 for the
// first), before the server acknowledges it; true holds the acknowledgement until the
// test ends (the sender never learns that the message arrived).
func Start(t testing.TB, onData func(m Message, n int) (hold bool)) *Server {
	t.Helper()
	s := &Server{onData: onData, release: make(chan struct{})}
	srv := smtp.NewServer(s)
	srv.Domain = "127.0.0.1"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = true
	srv.ErrorLog = quietLog{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		close(s.release)
		_ = srv.Close()
	})
	return s
}

// URL is the GOODWILL_SMTP_URL that points at the server.
func (s *Server) URL() string { return "smtp://" + s.Addr }

// Messages returns what the server received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }

type session struct {
	s   *Server
	cur Message
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.cur = Message{From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.To = to
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("unreadable message: %w", err)
	}
	ss.cur.Data, ss.cur.MessageID, ss.cur.Subject = data, m.Header.Get("Message-ID"), m.Header.Get("Subject")
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.cur)
	n := len(ss.s.msgs)
	ss.s.mu.Unlock()
	if ss.s.onData != nil && ss.s.onData(ss.cur, n) {
		<-ss.s.release
	}
	return nil
}

func (ss *session) Reset()        {}
func (ss *session) Logout() error { return nil }

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}
