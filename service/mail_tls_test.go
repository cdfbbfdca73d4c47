package service_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/smtp"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
)

// TestMailDropboxSTARTTLS: with GOODWILL_MAIL_TLS_CERT and GOODWILL_MAIL_TLS_KEY the
// dropbox offers STARTTLS with that certificate, and mail sent over it is logged;
// without them it offers none.
func TestMailDropboxSTARTTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, mailDomain)
	srv := mailServer(t, map[string]string{"GOODWILL_MAIL_TLS_CERT": certFile, "GOODWILL_MAIL_TLS_KEY": keyFile}, service.Options{})
	w := newMailWorld(t, srv)
	w.apply(t, "app-zoe", "cand-zoe", "zoe@example.com", "ann", time.Now().Add(-time.Hour))

	c, err := smtp.Dial(srv.Server.MailAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("no STARTTLS offered")
	}
	if err := c.StartTLS(&tls.Config{ServerName: mailDomain, RootCAs: pool}); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if state, ok := c.TLSConnectionState(); !ok || !state.HandshakeComplete {
		t.Fatal("no TLS after STARTTLS")
	}
	msg := mailMsg{From: "ann@acme.test", To: "zoe@example.com", MessageID: "tls@acme.test", Date: time.Now()}.bytes()
	if err := c.Mail("ann@acme.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(w.address["ann"]); err != nil {
		t.Fatal(err)
	}
	wc, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := wc.Close(); err != nil {
		t.Fatalf("DATA over TLS: %v", err)
	}
	_ = c.Quit()
	w.waitEmails(t, "app-zoe", 1)

	// Plain: no STARTTLS.
	plain := mailServer(t, nil, service.Options{})
	pc, err := smtp.Dial(plain.Server.MailAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if ok, _ := pc.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered without a certificate")
	}
}

// selfSigned writes a self-signed certificate for host and its key as PEM files.
func selfSigned(t *testing.T, host string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestMailConfig: the GOODWILL_MAIL_* settings and the variable each error names.
func TestMailConfig(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, mailDomain)
	cases := []struct {
		name   string
		env    map[string]string
		errVar string
		check  func(service.MailConfig) bool
	}{
		{"off by default", nil, "", func(m service.MailConfig) bool { return !m.Enabled() && !m.RequireDKIM && !m.KeepSubject }},
		{"on", map[string]string{"GOODWILL_MAIL_ADDR": ":2525", "GOODWILL_MAIL_DOMAIN": "Log.Example.com"}, "",
			func(m service.MailConfig) bool {
				return m.Enabled() && m.Domain == "log.example.com" && m.TLS == nil && !m.RequireDKIM
			}},
		{"DKIM on with sender domains", map[string]string{"GOODWILL_MAIL_SENDER_DOMAINS": "Example.com, example.org"}, "",
			func(m service.MailConfig) bool {
				return m.RequireDKIM && len(m.SenderDomains) == 2 && m.SenderDomains[0] == "example.com"
			}},
		{"DKIM off explicitly", map[string]string{"GOODWILL_MAIL_SENDER_DOMAINS": "example.com", "GOODWILL_MAIL_REQUIRE_DKIM": "off"}, "",
			func(m service.MailConfig) bool { return !m.RequireDKIM }},
		{"subject", map[string]string{"GOODWILL_MAIL_KEEP": "subject"}, "", func(m service.MailConfig) bool { return m.KeepSubject }},
		{"TLS", map[string]string{"GOODWILL_MAIL_TLS_CERT": certFile, "GOODWILL_MAIL_TLS_KEY": keyFile}, "",
			func(m service.MailConfig) bool { return m.TLS != nil && len(m.TLS.Certificates) == 1 }},
		{"no domain", map[string]string{"GOODWILL_MAIL_ADDR": ":2525"}, "GOODWILL_MAIL_DOMAIN", nil},
		{"bad address", map[string]string{"GOODWILL_MAIL_ADDR": "2525", "GOODWILL_MAIL_DOMAIN": "log.example.com"}, "GOODWILL_MAIL_ADDR", nil},
		{"bad domain", map[string]string{"GOODWILL_MAIL_DOMAIN": "not a domain"}, "GOODWILL_MAIL_DOMAIN", nil},
		{"cert without key", map[string]string{"GOODWILL_MAIL_TLS_CERT": certFile}, "GOODWILL_MAIL_TLS_CERT", nil},
		{"key as cert", map[string]string{"GOODWILL_MAIL_TLS_CERT": keyFile, "GOODWILL_MAIL_TLS_KEY": keyFile}, "GOODWILL_MAIL_TLS_CERT", nil},
		{"bad sender domain", map[string]string{"GOODWILL_MAIL_SENDER_DOMAINS": "example"}, "GOODWILL_MAIL_SENDER_DOMAINS", nil},
		{"bad DKIM", map[string]string{"GOODWILL_MAIL_REQUIRE_DKIM": "yes"}, "GOODWILL_MAIL_REQUIRE_DKIM", nil},
		{"bad keep", map[string]string{"GOODWILL_MAIL_KEEP": "body"}, "GOODWILL_MAIL_KEEP", nil},
	}
	for _, c := range cases {
		cfg, err := service.LoadConfig(func(k string) string { return c.env[k] })
		if c.errVar != "" {
			ce, ok := err.(*service.ConfigError)
			if !ok || ce.Var != c.errVar {
				t.Errorf("%s: %v, want an error naming %s", c.name, err, c.errVar)
			}
			continue
		}
		if err != nil || !c.check(cfg.Mail) {
			t.Errorf("%s: %+v, %v", c.name, cfg.Mail, err)
		}
	}
}
