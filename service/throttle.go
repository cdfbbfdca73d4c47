package service

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// throttled records a failed authentication or signature check from the request's
// client address (c.ClientIP: X-Forwarded-For counts only from trusted proxies). When
// the address has failed too often it answers 429 with Retry-After, aborts the chain
// and reports true; otherwise the caller answers the failure as it would have.
func (s *api) throttled(c *gin.Context) bool {
	retryAfter, throttled := s.failures.Fail(c.ClientIP(), s.now())
	if !throttled {
		return false
	}
	tooManyFailures(c, retryAfter)
	return true
}

// tooManyFailures answers 429 with Retry-After to a client address that failed
// authentication or signature checks too often, and aborts the chain.
func tooManyFailures(c *gin.Context, retryAfter time.Duration) {
	c.Header("Retry-After", strconv.Itoa(int(retryAfter.Seconds())))
	abortProblem(c, http.StatusTooManyRequests, "rate-limited", "too many failed attempts from this address; try again later")
}
