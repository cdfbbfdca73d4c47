package service_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestMailDropboxLogs: whatever mail does — logged, ignored, refused — the service's
// log lines, debug level included, never carry an email address.
func TestMailDropboxLogs(t *testing.T) {
	vars := map[string]string{
		"GOODWILL_MONGODB_URI": storagetest.URI(t), "GOODWILL_DB": storagetest.DBName(t),
		"GOODWILL_BOOTSTRAP_KEY": servicetest.AdminKey, "GOODWILL_ADDR": "127.0.0.1:0",
		"GOODWILL_MAIL_ADDR": "127.0.0.1:0", "GOODWILL_MAIL_DOMAIN": mailDomain,
	}
	cfg, err := service.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := service.New(context.Background(), cfg, log, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = s.Close(context.Background())
	})
	srv := &servicetest.Instance{URL: hs.URL, Server: s, Config: cfg, HTTP: hs}
	w := newMailWorld(t, srv)
	w.apply(t, "app-zoe", "cand-zoe", "zoe@example.com", "ann", time.Now().Add(-time.Hour))
	addr := s.MailAddr()
	date := time.Now().Add(-time.Minute)
	_ = send(t, addr, "ann@acme.test", []string{w.address["ann"]}, mailMsg{From: "ann@acme.test", To: "zoe@example.com", MessageID: "l1@acme.test", Date: date}.bytes())
	_ = send(t, addr, "ann@acme.test", []string{w.address["ann"]}, mailMsg{From: "ann@acme.test", To: "nobody@example.com", MessageID: "l2@acme.test", Date: date}.bytes())
	_ = send(t, addr, "", []string{w.address["ann"]}, mailMsg{From: "daemon@example.com", To: "ann@acme.test", MessageID: "l3@example.com", Date: date}.bytes())
	_ = send(t, addr, "x@example.net", []string{"log+" + strings.Repeat("b", 32) + "@" + mailDomain, "zoe@example.com"}, nil)
	_ = send(t, addr, "ann@acme.test", []string{w.address["ann"]}, []byte("not a header\r\n\r\n"))
	w.waitEmails(t, "app-zoe", 1)
	if r := srv.Do(t, http.MethodGet, "/healthz", "", nil); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	out := logs.String()
	if !strings.Contains(out, "mail logged") || !strings.Contains(out, "mail ignored") {
		t.Fatalf("the log does not show the mail at all:\n%s", out)
	}
	if strings.Contains(out, "@") {
		t.Errorf("a log line holds an address:\n%s", out)
	}
}
