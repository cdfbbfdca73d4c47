// Package service is goodwill's HTTP surface: it builds the pieces, routes requests
// to them, and turns their errors into RFC 9457 problems. It is the only package that
// knows Gin.
package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/email"
	"github.com/goodwillhq/goodwill/alerts/twilio"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/service/storage"
	"github.com/goodwillhq/goodwill/sla"
	"github.com/goodwillhq/goodwill/sla/lease"
	"github.com/goodwillhq/goodwill/sla/scores"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	twiliohooks "github.com/goodwillhq/goodwill/webhooks/twilio"
)

// Server is a running goodwill: the store, the write path, the projector and the
// HTTP handler.
type Server struct {
	cfg          Config
	log          *slog.Logger
	now          func() time.Time
	store        *storage.Store
	interactions *interactions.Store
	writer       *interactions.Writer
	projector    *interactions.Projector
	eraser       *interactions.Eraser
	webhooks     *webhooks.Ingest      // webhook deliveries (webhooks.go, handlers_webhooks.go)
	twilio       *twiliohooks.Receiver // Twilio's callbacks
	engine       *sla.Engine
	leases       *lease.Manager // partitions of SLA and alert work, when the store is shared (replicas.go)
	directory    *directory.Store
	alertStore   *alerts.Store
	dispatcher   *alerts.Dispatcher
	book         *scores.Book // the scores roll-ups (handlers_scores.go)
	lastZone     atomic.Pointer[time.Location]
	scoresCache  scoresCache // what score queries read of the directory and jobs (handlers_scores.go)
	keys         *auth.Keys
	trail        *audit.Trail   // the audit trail (handlers_audit.go)
	auditPurger  *audit.Purger  // deletes its entries after two years
	failures     *auth.Failures // client addresses failing authentication (throttle.go)
	signingKeys  [][]byte
	proxies      []netip.Prefix  // GOODWILL_TRUSTED_PROXIES (session.go)
	sso          *sso            // single sign-on, when configured (oidc.go)
	syncRunner   *atssync.Runner // the ATS sync (handlers_sync.go)
	opts         Options
	handler      http.Handler
	routeList    [][2]string
	telemetry    func(context.Context) error
	stop         context.CancelFunc
}

// Options are what tests may change; the zero value is production's.
type Options struct {
	Now func() time.Time // the clock; time.Now if nil
	// SyncVendors are ATS vendors to sync besides those the configuration sets up.
	SyncVendors []atssync.Vendor
}

// New opens the store and starts the background work. Close releases it all.
func New(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (*Server, error) {
	s := &Server{cfg: cfg, log: log, now: opts.Now, opts: opts, failures: auth.NewFailures()}
	if s.now == nil {
		s.now = time.Now
	}
	for _, p := range cfg.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, &ConfigError{Var: "GOODWILL_TRUSTED_PROXIES", Msg: err.Error()}
		}
		s.proxies = append(s.proxies, prefix)
	}
	shutdownTelemetry, monitor, err := setupTracing(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.telemetry = shutdownTelemetry
	s.store, err = storage.Open(ctx, storage.Options{
		URI: cfg.MongoDBURI, DataDir: cfg.DataDir, DB: cfg.DB, Monitor: monitor, Log: log,
	})
	if err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		_ = s.store.Close(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context) error {
	readyCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := s.store.WaitReady(readyCtx); err != nil {
		return err
	}
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	db := s.store.DB
	s.interactions = interactions.NewStore(db)
	if err := s.store.Detect(ctx); err != nil {
		return err
	}
	// Secondary indexes serve MongoDB's list queries. FerretDB never uses them for a
	// query, and they would triple the cost of every insert.
	indexed := !s.store.FerretDB
	if indexed {
		if err := s.interactions.EnsureIndexes(ctx); err != nil {
			return err
		}
	}
	s.keys = auth.NewKeys(db)
	if s.cfg.BootstrapKey != "" {
		err := s.keys.Bootstrap(ctx, s.cfg.BootstrapKey, s.now())
		switch {
		case errors.Is(err, auth.ErrBootstrapDeleted):
			// Deleted through the API: it stays deleted, and every start says so.
			s.log.Warn("GOODWILL_BOOTSTRAP_KEY names a deleted key; it was not created again and does not work (unset it, or set a new key)")
		case err != nil:
			return fmt.Errorf("GOODWILL_BOOTSTRAP_KEY: %w", err)
		}
	}
	for _, k := range s.cfg.SigningKeys {
		s.signingKeys = append(s.signingKeys, []byte(k))
	}
	if len(s.signingKeys) == 0 {
		k, err := s.interactions.Secret(ctx, "signing_key")
		if err != nil {
			return err
		}
		s.signingKeys = [][]byte{[]byte(hex.EncodeToString(k))}
	}
	guard, err := interactions.NewTombstones(ctx, s.interactions)
	if err != nil {
		return err
	}
	slaStore := sla.NewStore(db)
	if err := slaStore.Seed(ctx, sla.DefaultCalendar(s.cfg.Timezone, s.cfg.Holidays)); err != nil {
		return err
	}
	if indexed {
		if err := slaStore.EnsureIndexes(ctx); err != nil {
			return err
		}
	}
	// A store named by URI may be shared by several replicas: SLA and alert work is
	// then split into partitions, each owned by one replica through a lease (replicas.go).
	shared := s.cfg.MongoDBURI != ""
	var logSeq int64
	if shared {
		s.interactions.Shared = true
		s.leases = s.newLeases(db)
		if logSeq, err = s.interactions.LogSeq(ctx); err != nil {
			return err
		}
	}
	if err := s.startAlerts(ctx, db, indexed); err != nil {
		return err
	}
	s.engine = sla.NewEngine(slaStore, s.interactions, s.log, s.now)
	if shared {
		s.engine.SetOwns(s.owns)
	}
	s.engine.SetConsumer(s.dispatcher.Transitions)
	s.engine.SetStopped(s.dispatcher.Stopped)
	s.book = scores.NewBook(s.zone)
	s.engine.SetObserver(s.book.Apply)
	if err := s.engine.Start(ctx); err != nil {
		return err
	}
	s.projector = interactions.NewProjector(s.interactions, guard, s.log, s.now)
	s.projector.OnApplied(s.engine.Applied)
	if shared {
		s.projector.Share(s.owns, logSeq)
	}
	if err := s.projector.Start(ctx); err != nil {
		return err
	}
	if shared {
		if err := s.startLeases(ctx); err != nil {
			return err
		}
	}
	s.writer = interactions.NewWriter(s.interactions, guard, s.projector.Feed)
	s.projector.SetUnsure(s.writer.Unsure)
	s.eraser = interactions.NewEraser(s.interactions, guard, s.log, s.now)
	s.eraser.Also(s.projector.Erase) // what it remembers of the person in memory
	if err := s.startWebhooks(ctx, bg, db, indexed); err != nil {
		return err
	}
	s.eraser.Also(s.dispatcher.Erase) // SMS already sent about the person, at Twilio
	if err := s.eraser.Start(bg); err != nil {
		return err
	}
	retention := &interactions.Retention{
		Store: s.interactions, Eraser: s.eraser, Keep: s.cfg.Retention.Wall(), Log: s.log, Now: s.now,
	}
	retention.Start(bg)
	s.trail = audit.New(db)
	if indexed {
		if err := s.trail.EnsureIndexes(ctx); err != nil {
			return err
		}
	}
	s.auditPurger = &audit.Purger{Trail: s.trail, Now: s.now, Log: s.log}
	s.auditPurger.Start(bg)
	if s.cfg.OIDC.Enabled() {
		s.sso = &sso{cfg: s.cfg.OIDC, client: &http.Client{Timeout: 20 * time.Second}}
		go func() { _, _, _ = s.oidcProvider(bg) }() // a failure is retried on use
	}
	s.startSync(bg, db)
	s.handler = s.routes()
	return nil
}

// startAlerts builds the recruiters directory, the alert outbox, the channels the
// configuration turns on, and the dispatcher.
func (s *Server) startAlerts(ctx context.Context, db *mongo.Database, indexed bool) error {
	s.directory = directory.NewStore(db)
	s.alertStore = alerts.NewStore(db)
	zone := s.zone
	if indexed {
		if err := s.alertStore.EnsureIndexes(ctx); err != nil {
			return err
		}
	}
	cfg := alerts.Config{
		Store: s.alertStore, Directory: s.directory, Names: s.interactions, Mode: s.cfg.Alerts,
		Link: s.alertLink, Log: s.log, Now: s.now, Zone: zone, SMSCountries: s.cfg.SMSCountries,
		EscalateAfter: func(policyID string) time.Duration {
			for _, p := range s.engine.Policies() {
				if p.ID == policyID {
					return p.EscalateAfter.Wall()
				}
			}
			return 0
		},
	}
	if s.leases != nil { // shared: send the alerts of the partitions this replica owns
		cfg.Owns = s.owns
	}
	if s.cfg.TwilioAccountSID != "" {
		sender, err := twilio.New(twilio.Config{
			AccountSID: s.cfg.TwilioAccountSID, AuthToken: s.cfg.TwilioAuthToken, From: s.cfg.TwilioFrom,
			MessagingServiceSID: s.cfg.TwilioMessagingSID, APIURL: s.cfg.TwilioAPIURL,
			StatusCallback: s.cfg.PublicURL + "/webhooks/twilio/status",
		})
		if err != nil {
			return fmt.Errorf("TWILIO_ACCOUNT_SID: %w", err)
		}
		cfg.SMS = twilio.Channel(sender)
	}
	if s.cfg.SMTPURL != "" {
		sender, err := email.New(email.Config{URL: s.cfg.SMTPURL, From: s.cfg.EmailFrom})
		if err != nil {
			return fmt.Errorf("GOODWILL_SMTP_URL: %w", err)
		}
		cfg.Email = email.Channel(sender)
	}
	s.dispatcher = alerts.New(cfg)
	return s.dispatcher.Start(ctx)
}

// zone is the business calendar's time zone, which PUT /v1/calendar may change. The
// last zone loaded is kept, since the scores book asks for it on every application.
func (s *Server) zone() *time.Location {
	name := s.engine.Calendar().Timezone
	if loc := s.lastZone.Load(); loc != nil && loc.String() == name {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	s.lastZone.Store(loc)
	return loc
}

// Routes lists the router's routes as {method, path} pairs, paths in Gin's ":id"
// syntax. The OpenAPI test holds the document against it.
func (s *Server) Routes() [][2]string { return s.routeList }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close drains pending writes and derived-state work, then closes the store.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	if s.syncRunner != nil {
		s.syncRunner.Close(ctx) // before the writer: a pass cut off resumes at the next start
	}
	if s.writer != nil {
		errs = append(errs, s.writer.Close(ctx))
	}
	if s.leases != nil {
		errs = append(errs, s.leases.Close(ctx))
	}
	if s.projector != nil {
		errs = append(errs, s.projector.Close(ctx))
	}
	if s.engine != nil {
		s.engine.Close()
	}
	if s.dispatcher != nil {
		s.dispatcher.Close()
	}
	if s.stop != nil {
		s.stop()
	}
	errs = append(errs, s.store.Close(ctx))
	if s.telemetry != nil {
		errs = append(errs, s.telemetry(ctx))
	}
	return errors.Join(errs...)
}

// ShutdownTimeout bounds a graceful stop.
const ShutdownTimeout = 10 * time.Second

// Run serves on cfg.Addr until ctx ends (SIGTERM), then stops accepting requests,
// finishes those in flight and the pending write batches, and returns within
// ShutdownTimeout. ready, if not nil, receives the listening address.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(addr string)) error {
	s, err := New(ctx, cfg, log, Options{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = s.Close(context.Background())
		return fmt.Errorf("GOODWILL_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("goodwill is serving", "addr", ln.Addr().String(), "embedded_store", s.store.Embedded, "public_url", cfg.PublicURL)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		log.Warn("shutdown: requests still in flight were cut off", "err", serr)
	}
	if cerr := s.Close(sctx); cerr != nil {
		log.Warn("shutdown", "err", cerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func init() { gin.SetMode(gin.ReleaseMode) }
