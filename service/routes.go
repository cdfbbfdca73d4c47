package service

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/sla"
	"github.com/goodwillhq/goodwill/sla/lease"
	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

//go:embed openapi.json
var openAPI []byte

// registry holds the Prometheus collectors /metrics exposes.
var registry = func() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), httpDuration)
	r.MustRegister(interactions.Collectors()...)
	r.MustRegister(sla.Collectors()...)
	r.MustRegister(lease.Collectors()...)
	r.MustRegister(alerts.Collectors()...)
	r.MustRegister(webhooks.Collectors()...)
	r.MustRegister(atssync.Collectors()...)
	return r
}()

// routes builds the router: every route of the API, and who may use it.
func (s *api) routes() http.Handler {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// X-Forwarded-For counts only from GOODWILL_TRUSTED_PROXIES (Gin trusts every
	// address unless told), so that c.ClientIP is the peer's address otherwise.
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("GOODWILL_TRUSTED_PROXIES: trusting no proxy", "err", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.Use(recoverProblem(), requestContext(s.log))
	if s.cfg.Tracing {
		r.Use(otelgin.Middleware("goodwill"))
	}
	r.NoRoute(func(c *gin.Context) { abortProblem(c, http.StatusNotFound, "not-found", "no such route") })
	r.NoMethod(func(c *gin.Context) {
		abortProblem(c, http.StatusMethodNotAllowed, "method-not-allowed", "the route does not take "+c.Request.Method)
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(registry, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) })

	admin := s.authenticate(auth.RoleAdmin)
	writers := s.authenticate(auth.RoleAdmin, auth.RoleIngest, auth.RoleRecruiter)
	readers := s.authenticate(auth.RoleAdmin, auth.RoleRecruiter)

	v1 := r.Group("/v1")
	v1.POST("/keys", admin, s.createKey)
	v1.GET("/keys", admin, s.listKeys)
	v1.DELETE("/keys/:id", admin, s.deleteKey)

	v1.POST("/interactions", writers, s.postInteractions)
	v1.POST("/interactions/flush", s.authenticate(auth.RoleAdmin, auth.RoleIngest), s.flushInteractions)
	v1.GET("/interactions", readers, s.listInteractions)
	v1.GET("/applications/:id/timeline", readers, s.timeline)

	v1.GET("/applications/:id/sla", readers, s.applicationClocks)

	v1.GET("/sla/policies", readers, s.listPolicies)
	v1.PUT("/sla/policies/:id", admin, s.putPolicy)
	v1.DELETE("/sla/policies/:id", admin, s.deletePolicy)
	v1.POST("/sla/preview", admin, s.previewChange)
	v1.GET("/sla/overdue", readers, s.overdue)
	v1.GET("/calendar", readers, s.getCalendar)
	v1.PUT("/calendar", admin, s.putCalendar)

	v1.GET("/pools", readers, s.listPools)
	v1.PUT("/pools/:id", admin, s.putPool)
	v1.GET("/pools/:id", readers, s.getPool)
	v1.DELETE("/pools/:id", admin, s.deletePool)
	v1.GET("/candidates/:id/timeline", readers, s.candidateTimeline)

	v1.PUT("/recruiters/:id", admin, s.putRecruiter)
	v1.GET("/recruiters", readers, s.listRecruiters)
	v1.GET("/recruiters/:id", readers, s.getRecruiter)
	// A recruiter's email dropbox address (mail.go).
	v1.POST("/recruiters/:id/mail-address", readers, s.postMailAddress)
	self := s.recruiterSelf() // a recruiter's key or session (handlers_me.go)
	v1.GET("/me", self, s.getMe)
	v1.PATCH("/me", self, s.patchMe)
	v1.GET("/alerts", readers, s.listAlerts)
	v1.POST("/alerts/:id/ack", readers, s.ackAlert)
	v1.POST("/alerts/:id/snooze", readers, s.snoozeAlert)
	v1.POST("/alert-webhooks", admin, s.postAlertWebhook) // outgoing (handlers_alert_webhooks.go)
	v1.GET("/alert-webhooks", admin, s.listAlertWebhooks)
	v1.DELETE("/alert-webhooks/:id", admin, s.deleteAlertWebhook)
	v1.GET("/alert-webhooks/:id/deliveries", admin, s.listAlertWebhookDeliveries)
	// The signed link in alert messages: the signature is the credential.
	r.GET("/alerts/:id/ack", s.ackLinkPage)
	r.POST("/alerts/:id/ack", s.ackLinkPost)

	// Scores: aggregates only; a recruiter key sees its own and its reports' (handlers_scores.go).
	scorers := s.authenticate(auth.RoleAdmin, auth.RoleViewer, auth.RoleRecruiter)
	v1.GET("/scores", scorers, s.getScores)
	v1.GET("/scores.csv", scorers, s.getScoresCSV)
	v1.GET("/scores/sentiment", scorers, s.getSentiment)
	v1.PUT("/spend/:source/:month", admin, s.putSpend) // spend per attribution source (handlers_spend.go)
	v1.GET("/spend", s.authenticate(auth.RoleAdmin, auth.RoleViewer), s.listSpend)

	v1.POST("/erasures", admin, s.postErasure)
	v1.GET("/erasures/:id", admin, s.getErasure)

	// Webhooks: vendors sign their deliveries, so these are not under the Bearer auth;
	// the delivery log and its replay are admin's (handlers_webhooks.go).
	r.POST("/webhooks/twilio/sms", s.twilioSMS)
	r.POST("/webhooks/twilio/status", s.twilioStatus)
	r.POST("/webhooks/slack/interactions", s.slackInteractions)
	r.POST("/webhooks/:source", s.postWebhook)
	r.POST("/webhooks/:source/:label", s.postWebhook)
	v1.GET("/webhook-deliveries", admin, s.listWebhookDeliveries)
	v1.POST("/webhook-deliveries/replay", admin, s.replayWebhooks)

	v1.GET("/audit", admin, s.listAudit)

	v1.GET("/connectors", admin, s.listConnectors) // the ATS sync (handlers_sync.go)
	// first-connect backfills (handlers_backfill.go)
	v1.POST("/connectors/:vendor/backfill", admin, s.startBackfill)
	v1.GET("/connectors/:vendor/backfills/:id", admin, s.getBackfill)
	v1.DELETE("/connectors/:vendor/backfills/:id", admin, s.cancelBackfill)

	// Pages for browsers: a Bearer key or the session cookie of /login (pages*.go).
	r.GET("/login", s.loginForm)
	r.POST("/login", s.login)
	r.POST("/logout", s.logout)
	r.GET("/login/oidc", s.ssoOnly, s.oidcStart)
	r.GET("/login/oidc/callback", s.ssoOnly, s.oidcCallback)
	r.GET("/dashboard", s.page(dashboardRoles...), s.dashboard)
	r.GET("/queue", s.page(queueRoles...), s.queue)
	r.POST("/queue/ack", s.page(queueRoles...), s.queueAck)
	r.POST("/queue/reply", s.page(queueRoles...), s.queueReply)
	r.POST("/queue/me", s.page(queueRoles...), s.queueMe)
	r.GET("/static/*path", s.static)

	for _, ri := range r.Routes() {
		s.routeList = append(s.routeList, [2]string{ri.Method, ri.Path})
	}
	return r
}

// readyz answers 200 while the store answers, 503 otherwise. detecting says whether
// every open clock is in the SLA engine's schedule, so that clocks due are detected:
// false while a start rebuilds them.
func (s *api) readyz(c *gin.Context) {
	pctx, cancel := contextWithTimeout(c, readyTimeout)
	defer cancel()
	if err := s.store.Ping(pctx); err != nil {
		abortProblem(c, http.StatusServiceUnavailable, "unavailable", "the store does not answer")
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "detecting": s.engine.Detecting()})
}
