// Package service is goodwill's HTTP surface: it builds the pieces, routes requests
// to them, and turns their errors into RFC 9457 problems. It is the only package that
// knows Gin.
package service

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/email"
	"github.com/goodwillhq/goodwill/alerts/outbound"
	slackalerts "github.com/goodwillhq/goodwill/alerts/slack"
	"github.com/goodwillhq/goodwill/alerts/teams"
	"github.com/goodwillhq/goodwill/alerts/twilio"
	"github.com/goodwillhq/goodwill/alerts/webhook"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/service/storage"
	"github.com/goodwillhq/goodwill/sla"
	"github.com/goodwillhq/goodwill/sla/lease"
	"github.com/goodwillhq/goodwill/sla/pools"
	"github.com/goodwillhq/goodwill/sla/scores"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/ashby"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
	"github.com/goodwillhq/goodwill/webhooks/lever"
	"github.com/goodwillhq/goodwill/webhooks/maildrop"
	twiliohooks "github.com/goodwillhq/goodwill/webhooks/twilio"
)

// Server is a running goodwill: the store, the parts that run in the background, and
// the HTTP handler. Its lifecycle is New, Run and Close; the handlers are methods of
// api, which it builds.
type Server struct {
	cfg         Config
	log         *slog.Logger
	now         func() time.Time // the clock every part is given
	store       *storage.Store
	writer      *interactions.Writer
	leases      *lease.Manager // partitions of SLA and alert work, when the store is shared (replicas.go)
	projector   *interactions.Projector
	engine      *sla.Engine
	dispatcher  *alerts.Dispatcher
	alertHooks  *webhook.Sender     // outgoing alert webhooks
	digests     *alerts.Digests     // the recruiters' daily digests
	webhooks    *webhooks.Ingest    // for PurgeDeliveryLog
	auditPurger *audit.Purger       // deletes audit entries after two years
	syncRunner  *atssync.Runner     // the ATS sync (handlers_sync.go)
	lever       *lever.Sync         // the Lever sync, when configured (sync_lever.go)
	ashby       *ashby.Sync         // the Ashby sync, when configured (sync_ashby.go)
	slack       *slackalerts.Client // the Slack app, when configured (slack.go)
	mail        *maildrop.Server    // the email dropbox, when configured (mail.go)
	mailAddr    string
	opts        Options
	handler     http.Handler
	routeList   [][2]string
	telemetry   func(context.Context) error
	stop        context.CancelFunc
}

// api is what the HTTP handlers need: the parts they call, and the configuration and
// clock they read. Server.start builds it last, from parts already built; the
// handlers (handlers*.go, pages*.go, session.go, oidc.go) are its methods.
type api struct {
	cfg          Config
	log          *slog.Logger
	now          func() time.Time
	store        *storage.Store
	interactions *interactions.Store
	writer       *interactions.Writer
	feed         *interactions.Feed // the projector's feed: Settle for POST /v1/interactions/flush
	flushLimit   time.Duration      // how long a flush waits (Options.FlushLimit)
	eraser       *interactions.Eraser
	webhooks     *webhooks.Ingest      // webhook deliveries (webhooks.go, handlers_webhooks.go)
	twilio       *twiliohooks.Receiver // Twilio's callbacks
	engine       *sla.Engine
	inForce      *sla.InForce // the policies and calendar in force, as the engine loaded them
	directory    *directory.Store
	alertStore   *alerts.Store
	dispatcher   *alerts.Dispatcher
	book         *scores.Book       // the scores roll-ups (handlers_scores.go)
	pools        *pools.Book        // pools' memberships and nurture clocks (handlers_pools.go)
	spend        *scores.SpendStore // spend per attribution source and month (handlers_scores.go)
	scoresCache  scoresCache        // what score queries read of the directory and jobs (handlers_scores.go)
	keys         *auth.Keys
	trail        *audit.Trail   // the audit trail (handlers_audit.go)
	failures     *auth.Failures // client addresses failing authentication (throttle.go)
	signingKeys  [][]byte
	proxies      []netip.Prefix      // GOODWILL_TRUSTED_PROXIES (session.go)
	sso          *sso                // single sign-on, when configured (oidc.go)
	syncRunner   *atssync.Runner     // the ATS sync (handlers_sync.go)
	slack        *slackalerts.Client // the Slack app, when configured (slack.go)
	routeList    [][2]string         // filled by routes

	// Outgoing alert webhooks (handlers_alert_webhooks.go), and where they and Teams
	// posts may go.
	alertHooks *webhook.Sender
	hookStore  *webhook.Store
	outbound   outbound.Policy

	// The email dropbox's personal addresses (mail.go).
	mailAddresses *maildrop.Addresses
}

// Options are what tests may change; the zero value is production's.
type Options struct {
	Now func() time.Time // the clock; time.Now if nil
	// SyncVendors are ATS vendors to sync besides those the configuration sets up.
	SyncVendors []atssync.Vendor
	// OutboundRootCAs, if set, are the roots outgoing webhooks and Teams posts trust
	// instead of the system's (a local https test server).
	OutboundRootCAs *x509.CertPool
	// Mail is what tests may change of the email dropbox (mail.go).
	Mail MailOptions
	// Applied, if set, is told of changed applications after the SLA engine, in the
	// projector's goroutine: a test that blocks in it holds the projector.
	Applied interactions.AppliedFunc
	// FlushLimit is how long POST /v1/interactions/flush waits before answering 503;
	// 60 s if zero.
	FlushLimit time.Duration
}

// New opens the store and starts the background work. Close releases it all.
func New(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (*Server, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var proxies []netip.Prefix
	for _, p := range cfg.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, &ConfigError{Var: "GOODWILL_TRUSTED_PROXIES", Msg: err.Error()}
		}
		proxies = append(proxies, prefix)
	}
	shutdownTelemetry, monitor, err := setupTracing(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, now: now, opts: opts, telemetry: shutdownTelemetry}
	s.store, err = storage.Open(ctx, storage.Options{
		URI: cfg.MongoDBURI, DataDir: cfg.DataDir, DB: cfg.DB, Monitor: monitor, Log: log,
	})
	if err != nil {
		return nil, err
	}
	if err := s.start(ctx, proxies); err != nil {
		_ = s.store.Close(context.Background())
		return nil, err
	}
	return s, nil
}

// start builds goodwill over the open store, in one place. Each part is built by its
// constructor from a Config holding what it needs, so nothing is wired afterwards.
// Events flow writer → feed → projector → SLA engine → alerts pipeline, and each
// stage is given the next one; the parts are therefore built from the end of the
// pipeline backwards, after the stores and what they share:
//
//  1. the stores (log, keys, SLA, alerts, recruiters, delivery log, audit trail);
//  2. on a shared store, the partition leases, which the stages below ask what is
//     theirs (their handover is given to the leases only when these start);
//  3. the policies and calendar in force (sla.InForce), which the engine keeps
//     current and the scores book and the alerts pipeline read: the engine hands
//     transitions to the pipeline and clocks to the book, so they come first;
//  4. the alerts pipeline, the SLA engine, the feed and the writer, the projector;
//  5. the eraser, which reaches every part that keeps personal data;
//  6. the webhook receivers, the background purges, single sign-on;
//  7. the handlers' api, and the routes.
//
// The parts that need stopping are kept in s as they start, for Close.
func (s *Server) start(ctx context.Context, proxies []netip.Prefix) error {
	cfg, log, now := s.cfg, s.log, s.now
	readyCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := s.store.WaitReady(readyCtx); err != nil {
		return err
	}
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	db := s.store.DB

	// 1. The stores.
	store := interactions.NewStore(db)
	if err := s.store.Detect(ctx); err != nil {
		return err
	}
	// Secondary indexes serve MongoDB's list queries. FerretDB never uses them for a
	// query, and they would triple the cost of every insert.
	indexed := !s.store.FerretDB
	if indexed {
		if err := store.EnsureIndexes(ctx); err != nil {
			return err
		}
	}
	keys := auth.NewKeys(db)
	if cfg.BootstrapKey != "" {
		err := keys.Bootstrap(ctx, cfg.BootstrapKey, now())
		switch {
		case errors.Is(err, auth.ErrBootstrapDeleted):
			// Deleted through the API: it stays deleted, and every start says so.
			log.Warn("GOODWILL_BOOTSTRAP_KEY names a deleted key; it was not created again and does not work (unset it, or set a new key)")
		case err != nil:
			return fmt.Errorf("GOODWILL_BOOTSTRAP_KEY: %w", err)
		}
	}
	var signingKeys [][]byte
	for _, k := range cfg.SigningKeys {
		signingKeys = append(signingKeys, []byte(k))
	}
	if len(signingKeys) == 0 {
		k, err := store.Secret(ctx, "signing_key")
		if err != nil {
			return err
		}
		signingKeys = [][]byte{[]byte(hex.EncodeToString(k))}
	}
	guard, err := interactions.NewTombstones(ctx, store)
	if err != nil {
		return err
	}
	slaStore := sla.NewStore(db)
	if err := slaStore.Seed(ctx, sla.DefaultCalendar(cfg.Timezone, cfg.Holidays)); err != nil {
		return err
	}
	recruiters := directory.NewStore(db)
	alertStore := alerts.NewStore(db)
	deliveries := webhooks.NewStore(db)
	hookStore := webhook.NewStore(db)
	trail := audit.New(db)
	if indexed {
		for _, ensure := range []func(context.Context) error{
			slaStore.EnsureIndexes, alertStore.EnsureIndexes, deliveries.EnsureIndexes, trail.EnsureIndexes,
			hookStore.EnsureIndexes,
		} {
			if err := ensure(ctx); err != nil {
				return err
			}
		}
	}

	// 2. A store named by URI may be shared by several replicas: SLA and alert work is
	// then split into partitions, each owned by one replica through a lease (replicas.go).
	// owns stays nil otherwise: this replica owns every application.
	var owns func(applicationID string) bool
	var logSeq int64
	if cfg.MongoDBURI != "" {
		store.Shared = true
		s.leases = newLeases(db, log)
		owns = ownedBy(s.leases)
		if logSeq, err = store.LogSeq(ctx); err != nil {
			return err
		}
	}

	// 3. The policies and calendar in force, and the scores roll-ups in their zone.
	inForce := sla.NewInForce()
	book := scores.NewBook(inForce.Zone)
	poolBook := pools.NewBook()
	// Nurture documents go to the pools' book, applications to the scores.
	observe := func(app interactions.Application, clocks []sla.Clock, now time.Time) {
		if interactions.IsNurture(app.ID) {
			poolBook.Apply(app, clocks, now)
			return
		}
		book.Apply(app, clocks, now)
	}

	// 4. The pipeline, from its end: outgoing alert webhooks, alerts, SLA engine,
	// writer, projector. Outgoing webhooks are sent by one replica: the owner of the
	// first partition.
	policy := outbound.Policy{AllowPrivate: cfg.AllowPrivateWebhooks, RootCAs: s.opts.OutboundRootCAs}
	var firstOwner func() bool
	if s.leases != nil {
		firstOwner = func() bool { return s.leases.Owns(0) }
	}
	s.alertHooks = webhook.New(webhook.Config{Store: hookStore, Policy: policy, Owns: firstOwner, Shared: s.leases != nil, Now: now, Log: log})
	s.alertHooks.Start()
	if s.slack, err = newSlack(cfg); err != nil {
		return err
	}
	alertsCfg, err := alertsConfig(cfg, policy, alerts.Config{
		Slack: slackChannel(s.slack),
		Store: alertStore, Directory: recruiters, Names: store, Mode: cfg.Alerts, Events: s.alertHooks,
		Link: alertLinks{cfg: cfg, signingKeys: signingKeys}.link, Log: log, Now: now,
		Zone: inForce.Zone, SMSCountries: cfg.SMSCountries, EscalateAfter: inForce.EscalateAfter, MaxEscalations: inForce.MaxEscalations, Owns: owns,
	})
	if err != nil {
		return err
	}
	s.dispatcher = alerts.New(alertsCfg)
	if err := s.dispatcher.Start(ctx); err != nil {
		return err
	}
	s.engine = sla.NewEngine(sla.Config{
		Store: slaStore, Apps: store, Log: log, Now: now,
		Consumer: s.dispatcher.Transitions, Stopped: s.dispatcher.Stopped, Observer: observe,
		Owns: owns, InForce: inForce,
		// A clean stop saves the clocks and both books; the next start loads them when
		// the projector's mark shows nothing changed since, or after a crash with the
		// applications of what was received since derived anew (replicas never do).
		Mark: store.ProjectorMark, Books: []sla.Checkpointed{book, poolBook}, ChangedSince: store.ApplicationsSince,
	})
	// On its own store the engine rebuilds the open clocks in the background, so the
	// service answers at once and /readyz says when clocks due are detected. Replicas
	// rebuild before they serve, then per partition as they take it (replicas.go).
	startEngine := s.engine.StartInBackground
	if owns != nil {
		startEngine = s.engine.Start
	}
	if err := startEngine(ctx); err != nil {
		return err
	}
	s.digests = alerts.NewDigests(alerts.DigestConfig{
		Directory: recruiters, Clocks: s.engine.DueBy, Describe: describeApplication(store), Email: alertsCfg.Email,
		Mode: cfg.Alerts, Store: alertStore, Link: queueLink(cfg.PublicURL), Zone: inForce.Zone, Log: log, Now: now,
	})
	s.digests.Start()
	// The writer hands its batches to the projector through a feed built before both,
	// since the projector, when it stops, asks the writer whether a write may have
	// been stored without reaching it.
	feed := interactions.NewFeed()
	parkedFor := &arrivals{} // deliveries parked for an application apply when it changes
	s.writer = interactions.NewWriter(interactions.WriterConfig{Store: store, Guard: guard, OnCommit: feed.Add, OnHistory: feed.AddHistory})
	applied := []interactions.AppliedFunc{s.engine.Applied, parkedFor.Applied}
	if s.opts.Applied != nil {
		applied = append(applied, s.opts.Applied)
	}
	s.projector = interactions.NewProjector(interactions.ProjectorConfig{
		Store: store, Guard: guard, Log: log, Now: now,
		Feed: feed, Applied: applied, Unsure: s.writer.Unsure,
		Owns: owns, From: logSeq, PoolsNamed: s.engine.EnsurePools,
	})
	if err := s.projector.Start(ctx); err != nil {
		return err
	}
	if s.leases != nil {
		// Take this replica's share of the partitions, and return once the projector
		// has caught up with them.
		h := handover{projector: s.projector, engine: s.engine, dispatcher: s.dispatcher, log: log}
		err := s.leases.Start(ctx, lease.Holder{
			Mark:    s.projector.Mark, // each lease carries the projector's mark to the partition's next owner
			Changed: []func(context.Context, lease.Change){h.changed},
		})
		if err != nil {
			return err
		}
		if err := s.projector.Settled(ctx); err != nil {
			return err
		}
	}

	// 5. Erasure reaches the log and derived state, then the rest in this order.
	eraser := interactions.NewEraser(interactions.EraserConfig{
		Store: store, Guard: guard, Log: log, Now: now,
		Others: []interactions.EraseFunc{
			s.projector.Erase,  // what it remembers of the person in memory
			deliveries.Erase,   // the raw bodies of webhook deliveries
			s.dispatcher.Erase, // SMS already sent about the person, at Twilio
		},
	})

	// 6. Webhooks, background work, sign-on.
	failures := auth.NewFailures()
	s.lever = s.leverSync() // before its receiver, which names ids with it
	s.ashby = s.ashbySync(store)
	s.webhooks = webhooks.NewIngest(webhooks.Config{
		Deliveries: deliveries,
		Writer:     s.writer.Events(), // a webhook and the sync describe one event once
		Receivers:  receivers{leverHiredReasons: cfg.LeverHiredReasons, leverNames: s.leverNames()},
		Secrets:    cfg.WebhookSecrets,
		Throttle:   failures,
		Retention:  cfg.DeliveryLogRetention.Wall(),
		// Events naming only their application take its candidate, or wait for it.
		Applications: knownApplications{store},
		Counter:      connectorCounts{s},
		Now:          now,
		Log:          log,
	})
	parkedFor.ingest.Store(s.webhooks)
	twilioReceiver := twiliohooks.New(twiliohooks.Config{
		Ingest:    s.webhooks,
		AuthToken: cfg.TwilioAuthToken,
		PublicURL: cfg.PublicURL,
		Recruiters: recruiterByPhone(func(ctx context.Context, phone string) (string, bool, error) {
			r, ok, err := recruiters.ByPhone(ctx, phone)
			return r.ID, ok, err
		}),
		Candidates: store,
		Alerts:     alertCommands{s.dispatcher},
		Audit:      commandAudit{trail: trail, now: now, log: log},
		Now:        now,
	})
	mailAddresses := maildrop.NewAddresses(db)
	if err := s.startMail(store, recruiters, mailAddresses); err != nil {
		return err
	}
	go s.webhooks.Purging(bg) // GOODWILL_DELIVERY_LOG_RETENTION
	if err := eraser.Start(bg); err != nil {
		return err
	}
	retention := &interactions.Retention{
		Store: store, Eraser: eraser, Keep: cfg.Retention.Wall(), Log: log, Now: now,
	}
	retention.Start(bg)
	s.auditPurger = &audit.Purger{Trail: trail, Now: now, Log: log}
	s.auditPurger.Start(bg)
	var signOn *sso
	if cfg.OIDC.Enabled() {
		signOn = &sso{cfg: cfg.OIDC, client: &http.Client{Timeout: 20 * time.Second}}
	}
	s.startSync(bg, db, recruiters)
	go s.webhooks.Parking(bg, time.Minute) // after the sync runner, which counts what is orphaned
	if s.lever != nil {
		go s.lever.KeepNames(bg, s.cfg.SyncInterval.Wall()) // the receiver's names on every replica
	}

	// 7. The handlers and their routes.
	a := &api{
		cfg: cfg, log: log, now: now, store: s.store,
		interactions: store, writer: s.writer, feed: feed, flushLimit: s.opts.FlushLimit, eraser: eraser, webhooks: s.webhooks, twilio: twilioReceiver,
		engine: s.engine, inForce: inForce, directory: recruiters, alertStore: alertStore, dispatcher: s.dispatcher,
		alertHooks: s.alertHooks, hookStore: hookStore, outbound: policy,
		book: book, pools: poolBook, spend: scores.NewSpendStore(db, cfg.Currency), keys: keys, trail: trail, failures: failures, signingKeys: signingKeys, proxies: proxies,
		sso: signOn, syncRunner: s.syncRunner, slack: s.slack, mailAddresses: mailAddresses,
	}
	if signOn != nil {
		go func() { _, _, _ = a.oidcProvider(bg) }() // a failure is retried on use
	}
	s.handler = a.routes()
	s.routeList = a.routeList
	return nil
}

// alertsConfig completes the alerts pipeline's configuration with the channels the
// configuration turns on. Teams needs no configuration: each recruiter's
// teams_webhook_url says where, under the outgoing address policy.
func alertsConfig(cfg Config, policy outbound.Policy, ac alerts.Config) (alerts.Config, error) {
	ac.Teams = teams.New(teams.Config{Policy: policy})
	if cfg.TwilioAccountSID != "" {
		sender, err := twilio.New(twilio.Config{
			AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom,
			MessagingServiceSID: cfg.TwilioMessagingSID, APIURL: cfg.TwilioAPIURL,
			StatusCallback: cfg.PublicURL + "/webhooks/twilio/status",
		})
		if err != nil {
			return ac, fmt.Errorf("TWILIO_ACCOUNT_SID: %w", err)
		}
		ac.SMS = twilio.Channel(sender)
	}
	if cfg.SMTPURL != "" {
		sender, err := email.New(email.Config{URL: cfg.SMTPURL, From: cfg.EmailFrom})
		if err != nil {
			return ac, fmt.Errorf("GOODWILL_SMTP_URL: %w", err)
		}
		ac.Email = email.Channel(sender)
	}
	return ac, nil
}

// describeApplication names an application's candidate and job for the digest.
func describeApplication(store *interactions.Store) func(ctx context.Context, id string) (candidate, job string) {
	return func(ctx context.Context, id string) (string, string) {
		app, err := store.Application(ctx, id)
		if err != nil {
			return "", ""
		}
		var candidate, job string
		if c, err := store.Candidate(ctx, app.CandidateID); err == nil {
			candidate = c.Name
		}
		if app.JobID != "" {
			if j, err := store.Job(ctx, app.JobID); err == nil {
				job = j.Title
			}
		}
		return candidate, job
	}
}

// queueLink returns the link to a clock's row on a recruiter's queue page.
func queueLink(publicURL string) func(recruiterID, clockID string) string {
	return func(recruiterID, clockID string) string {
		return publicURL + "/queue?" + url.Values{"recruiter": {recruiterID}}.Encode() + "#" + (&url.URL{Fragment: "clock-" + clockID}).EscapedFragment()
	}
}

// zone is the business calendar's time zone, which PUT /v1/calendar may change.
func (s *api) zone() *time.Location { return s.inForce.Zone() }

// Routes lists the router's routes as {method, path} pairs, paths in Gin's ":id"
// syntax. The OpenAPI test holds the document against it.
func (s *Server) Routes() [][2]string { return s.routeList }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Detecting reports whether the SLA engine has every open clock in its schedule, so
// that clocks due are detected (false while a start rebuilds them).
func (s *Server) Detecting() bool { return s.engine.Detecting() }

// StoreURI is where the store's driver connects: the embedded store's private socket,
// or GOODWILL_MONGODB_URI. Tools beside the service (the benchmark) read through it.
func (s *Server) StoreURI() string { return s.store.URI }

// Close drains pending writes and derived-state work, then closes the store.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	if s.mail != nil {
		errs = append(errs, s.mail.Close()) // no new mail once the writer drains
	}
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
	if s.digests != nil {
		s.digests.Close()
	}
	if s.dispatcher != nil {
		s.dispatcher.Close()
	}
	if s.alertHooks != nil {
		s.alertHooks.Close() // after the pipeline, which publishes to it
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
