package service

import (
	"crypto/tls"
	"net"
	"regexp"
	"strings"
)

// MailConfig is the email dropbox (webhooks/maildrop): an SMTP receiver that logs the
// mail recruiters and candidates exchange. It is on when Addr is set.
type MailConfig struct {
	Addr   string // GOODWILL_MAIL_ADDR: host:port to listen on, like :2525
	Domain string // GOODWILL_MAIL_DOMAIN: the dropbox's domain, lower case
	// TLS is the certificate of GOODWILL_MAIL_TLS_CERT and GOODWILL_MAIL_TLS_KEY, for
	// STARTTLS; nil speaks plain SMTP.
	TLS *tls.Config
	// SenderDomains are the organisation's mail domains (GOODWILL_MAIL_SENDER_DOMAINS):
	// without them log@<domain> takes no mail.
	SenderDomains []string
	// RequireDKIM: personal addresses need a valid DKIM signature aligned with the From
	// domain (GOODWILL_MAIL_REQUIRE_DKIM; on by default when sender domains are set).
	RequireDKIM bool
	// KeepSubject: GOODWILL_MAIL_KEEP=subject keeps subjects; none (the default) keeps
	// who, when and the direction only.
	KeepSubject bool
}

// Enabled reports whether the dropbox runs.
func (m MailConfig) Enabled() bool { return m.Addr != "" }

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// loadMail reads the GOODWILL_MAIL_* variables into c.Mail.
func loadMail(c *Config, get func(name, def string) string) error {
	bad := func(name, msg string) error { return &ConfigError{Var: name, Msg: msg} }
	m := MailConfig{
		Addr:   get("GOODWILL_MAIL_ADDR", ""),
		Domain: strings.ToLower(strings.TrimSuffix(get("GOODWILL_MAIL_DOMAIN", ""), ".")),
	}
	if m.Addr != "" {
		if _, port, err := net.SplitHostPort(m.Addr); err != nil || port == "" {
			return bad("GOODWILL_MAIL_ADDR", "\""+m.Addr+"\" is not a host:port address like :2525")
		}
		if m.Domain == "" {
			return bad("GOODWILL_MAIL_DOMAIN", "is required with GOODWILL_MAIL_ADDR: the domain whose log@ and log+<token>@ addresses the dropbox takes")
		}
	}
	if m.Domain != "" && !domainRE.MatchString(m.Domain) {
		return bad("GOODWILL_MAIL_DOMAIN", "\""+m.Domain+"\" is not a domain like log.example.com")
	}
	cert, key := get("GOODWILL_MAIL_TLS_CERT", ""), get("GOODWILL_MAIL_TLS_KEY", "")
	switch {
	case (cert == "") != (key == ""):
		return bad("GOODWILL_MAIL_TLS_CERT", "set both GOODWILL_MAIL_TLS_CERT and GOODWILL_MAIL_TLS_KEY (PEM files), or neither")
	case cert != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return bad("GOODWILL_MAIL_TLS_CERT", "cannot load the certificate and key: "+err.Error())
		}
		m.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	for _, d := range strings.Split(get("GOODWILL_MAIL_SENDER_DOMAINS", ""), ",") {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" {
			continue
		}
		if !domainRE.MatchString(d) {
			return bad("GOODWILL_MAIL_SENDER_DOMAINS", "\""+d+"\" is not a domain like example.com")
		}
		m.SenderDomains = append(m.SenderDomains, d)
	}
	switch v := strings.ToLower(get("GOODWILL_MAIL_REQUIRE_DKIM", "")); v {
	case "":
		m.RequireDKIM = len(m.SenderDomains) > 0
	case "on":
		m.RequireDKIM = true
	case "off":
	default:
		return bad("GOODWILL_MAIL_REQUIRE_DKIM", "\""+v+"\" must be on or off")
	}
	switch v := strings.ToLower(get("GOODWILL_MAIL_KEEP", "none")); v {
	case "none":
	case "subject":
		m.KeepSubject = true
	default:
		return bad("GOODWILL_MAIL_KEEP", "\""+v+"\" must be none or subject")
	}
	c.Mail = m
	return nil
}
