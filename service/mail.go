package service

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/webhooks/maildrop"
)

// MailOptions are what tests may change of the email dropbox.
type MailOptions struct {
	// LookupTXT resolves DKIM keys instead of DNS.
	LookupTXT func(domain string) ([]string, error)
	// Limits replace maildrop.DefaultLimits when not zero.
	Limits maildrop.Limits
}

// startMail starts the email dropbox when GOODWILL_MAIL_ADDR is set.
func (s *Server) startMail(store *interactions.Store, recruiters *directory.Store, addresses *maildrop.Addresses) error {
	m := s.cfg.Mail
	if !m.Enabled() {
		return nil
	}
	srv := maildrop.New(maildrop.Config{
		Domain: m.Domain, SenderDomains: m.SenderDomains, RequireDKIM: m.RequireDKIM, KeepSubject: m.KeepSubject,
		TLS: m.TLS, Ingest: s.webhooks, Addresses: addresses, Candidates: store,
		Recruiters: recruitersByEmail{dir: recruiters, now: s.now},
		LookupTXT:  s.opts.Mail.LookupTXT, Limits: s.opts.Mail.Limits, Now: s.now, Log: s.log,
	})
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("GOODWILL_MAIL_ADDR: %w", err)
	}
	s.mail, s.mailAddr = srv, ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil {
			s.log.Error("email dropbox stopped", "err", err)
		}
	}()
	if m.TLS == nil {
		s.log.Warn("the email dropbox speaks plain SMTP without STARTTLS: mail reaches it unencrypted (set GOODWILL_MAIL_TLS_CERT and GOODWILL_MAIL_TLS_KEY)",
			"addr", s.mailAddr, "domain", m.Domain)
	} else {
		s.log.Info("the email dropbox is listening with STARTTLS", "addr", s.mailAddr, "domain", m.Domain)
	}
	return nil
}

// MailAddr is the address the email dropbox listens on, "" when it is off.
func (s *Server) MailAddr() string { return s.mailAddr }

// recruitersByEmail finds recruiters by email for the dropbox, from the directory's
// copy in memory (at most 30 s old).
type recruitersByEmail struct {
	dir *directory.Store
	now func() time.Time
}

func (r recruitersByEmail) RecruitersByEmail(ctx context.Context, email string) ([]string, error) {
	list, err := r.dir.ByEmail(ctx, email, r.now(), 30*time.Second)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list))
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	return ids, nil
}

// postMailAddress answers POST /v1/recruiters/{id}/mail-address: it issues the
// recruiter a new personal dropbox address, revoking the one it had. The admin and
// the recruiter's own key may call it.
func (s *api) postMailAddress(c *gin.Context) {
	id := c.Param("id")
	if key := caller(c); key.Role == auth.RoleRecruiter && key.RecruiterID != id {
		visible, err := s.visibleSet(c, key)
		if err != nil {
			fail(c, err)
			return
		}
		if !visible[id] {
			fail(c, interactions.Errorf(interactions.CodeNotFound, "no recruiter %q", id))
			return
		}
		fail(c, interactions.Errorf(interactions.CodeForbidden, "only the recruiter itself or an admin may issue its mail address"))
		return
	}
	if s.cfg.Mail.Domain == "" {
		fail(c, interactions.Errorf(interactions.CodeConflict, "the email dropbox is not configured: set GOODWILL_MAIL_DOMAIN (and GOODWILL_MAIL_ADDR)"))
		return
	}
	if _, err := s.directory.Get(ctx(c), id); err != nil {
		fail(c, err)
		return
	}
	token, err := s.mailAddresses.Issue(ctx(c), id, s.now())
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"address": maildrop.Address(token, s.cfg.Mail.Domain)})
}

// mailAddressOf is the recruiter's personal dropbox address, "" when it has none or
// the dropbox has no domain.
func (s *api) mailAddressOf(c *gin.Context, recruiterID string) (string, error) {
	if s.cfg.Mail.Domain == "" || recruiterID == "" {
		return "", nil
	}
	token, ok, err := s.mailAddresses.Token(ctx(c), recruiterID)
	if err != nil || !ok {
		return "", err
	}
	return maildrop.Address(token, s.cfg.Mail.Domain), nil
}
