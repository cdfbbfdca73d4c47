package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/auth"
)

// Keys of values kept in a request's gin.Context.
const (
	ctxRequestID = "request_id"
	ctxLogger    = "logger"
	ctxKey       = "api_key"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

var httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "goodwill_http_request_duration_seconds",
	Help:    "HTTP request latency by route and status.",
	Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
}, []string{"method", "route", "status"})

// requestContext gives every request an id (X-Request-ID, echoed or generated), a
// logger that carries it, a body limit, and a log line and latency observation when
// it ends. Request bodies and candidate details are never logged.
func requestContext(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-ID")
		if id == "" || len(id) > 128 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			id = interactions.NewID()
		}
		c.Set(ctxRequestID, id)
		c.Header("X-Request-ID", id)
		l := log.With("request_id", id)
		c.Set(ctxLogger, l)
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody)
		}
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		httpDuration.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		l.Log(c.Request.Context(), level, "request", "method", c.Request.Method, "route", route,
			"status", status, "ms", float64(time.Since(start).Microseconds())/1000)
	}
}

// recoverProblem turns a panic into a 500 problem and logs it.
func recoverProblem() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, v any) {
		fail(c, fmt.Errorf("panic: %v", v))
	})
}

// authenticate requires a valid key of one of roles; the key is kept in the context.
func (s *api) authenticate(roles ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		secret, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok {
			fail(c, auth.ErrUnauthenticated)
			return
		}
		key, err := s.keys.Authenticate(c.Request.Context(), strings.TrimSpace(secret))
		if errors.Is(err, auth.ErrUnauthenticated) && s.throttled(c) {
			return
		}
		if err != nil {
			fail(c, err)
			return
		}
		if !slices.Contains(roles, key.Role) {
			detail := fmt.Sprintf("the %s role may not use this route", key.Role)
			if c.GetHeader(historyHeaderName) != "" {
				detail += "; " + historyHeaderName + " takes an admin or ingest key"
			}
			abortProblem(c, http.StatusForbidden, "forbidden", detail)
			return
		}
		c.Set(ctxKey, key)
		c.Next()
	}
}

// caller returns the authenticated key of the request.
func caller(c *gin.Context) auth.Key {
	k, _ := c.Get(ctxKey)
	key, _ := k.(auth.Key)
	return key
}

// ctx returns the request's context.
func ctx(c *gin.Context) context.Context { return c.Request.Context() }
