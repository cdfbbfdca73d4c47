package maildrop

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // encoded words in other charsets than UTF-8
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Message is what the dropbox reads of a mail: its header, never its body.
// Addresses are lower case.
type Message struct {
	From      string
	To, Cc    []string
	Date      time.Time // zero when missing or unreadable
	MessageID string    // without angle brackets; "" when missing
	Subject   string    // decoded
	// AutoSubmitted and Precedence are the header fields, lower case.
	AutoSubmitted string
	Precedence    string
	// ContentType is the top-level media type, lower case ("multipart/report").
	ContentType string
	// Fingerprint identifies a message that has no Message-ID: a hash of its From,
	// To, Cc, Date and Subject.
	Fingerprint string
}

// ErrMalformed is a message whose header cannot be read or has no usable From.
var ErrMalformed = errors.New("the message header is malformed")

// Parse reads a message's header with go-message. The body is not read.
func Parse(raw []byte) (Message, error) {
	th, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return Message{}, ErrMalformed
	}
	h := mail.Header{Header: message.Header{Header: th}}
	var m Message
	from, err := h.AddressList("From")
	if err != nil || len(from) == 0 {
		return Message{}, ErrMalformed
	}
	m.From = strings.ToLower(from[0].Address)
	m.To = addresses(h, "To")
	m.Cc = addresses(h, "Cc")
	if d, err := h.Date(); err == nil && d.Year() > 1970 && d.Year() < 10000 {
		m.Date = d
	}
	if id, err := h.MessageID(); err == nil {
		m.MessageID = id
	}
	if s, err := h.Subject(); err == nil {
		m.Subject = s
	} else {
		m.Subject = th.Get("Subject")
	}
	m.AutoSubmitted = strings.ToLower(strings.TrimSpace(th.Get("Auto-Submitted")))
	m.Precedence = strings.ToLower(strings.TrimSpace(th.Get("Precedence")))
	if t, _, err := h.ContentType(); err == nil {
		m.ContentType = strings.ToLower(t)
	}
	f := sha256.New()
	for _, k := range []string{"From", "To", "Cc", "Date", "Subject"} {
		f.Write([]byte(th.Get(k)))
		f.Write([]byte{0})
	}
	m.Fingerprint = "sha256:" + hex.EncodeToString(f.Sum(nil))
	return m, nil
}

// addresses returns the lower-cased addresses of a header field, skipping what does
// not parse.
func addresses(h mail.Header, key string) []string {
	list, err := h.AddressList(key)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		if a.Address != "" {
			out = append(out, strings.ToLower(a.Address))
		}
	}
	return out
}

// domainOf returns the domain of an address, lower case; "" when it has none.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
}
