package service

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/auth"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string                    `json:"type"`
	Title  string                    `json:"title"`
	Status int                       `json:"status"`
	Detail string                    `json:"detail,omitempty"`
	Errors []interactions.FieldError `json:"errors,omitempty"`
}

// problemType names a problem type; docs/api.md ("Errors") lists them.
func problemType(slug string) string { return "urn:goodwill:problem:" + slug }

// retryAfterSeconds is what a 503 asks clients to wait.
const retryAfterSeconds = "5"

// abortProblem answers with a problem document and stops the handler chain.
func abortProblem(c *gin.Context, status int, slug, detail string, fields ...interactions.FieldError) {
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", retryAfterSeconds)
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(status, Problem{
		Type:   problemType(slug),
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Errors: fields,
	})
}

// statusOf maps each error code to its one HTTP status.
var statusOf = map[interactions.Code]int{
	interactions.CodeInvalid:     http.StatusBadRequest,
	interactions.CodeNotFound:    http.StatusNotFound,
	interactions.CodeConflict:    http.StatusConflict,
	interactions.CodeForbidden:   http.StatusForbidden,
	interactions.CodeUnavailable: http.StatusServiceUnavailable,
	interactions.CodeInternal:    http.StatusInternalServerError,
}

// fail is the one place where errors become HTTP answers. Only unavailable and
// internal errors are logged; their detail is not shown to the caller.
func fail(c *gin.Context, err error) {
	if errors.Is(err, auth.ErrUnauthenticated) {
		c.Header("WWW-Authenticate", `Bearer realm="goodwill"`)
		abortProblem(c, http.StatusUnauthorized, "unauthenticated", "a valid API key is required: Authorization: Bearer <key>")
		return
	}
	var endpointErr *webhooks.EndpointError
	if errors.As(err, &endpointErr) {
		abortProblem(c, http.StatusNotFound, "not-found", endpointErr.Detail)
		return
	}
	var signatureErr *webhooks.SignatureError
	if errors.As(err, &signatureErr) {
		abortProblem(c, http.StatusUnauthorized, "bad-signature", signatureErr.Detail)
		return
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		abortProblem(c, http.StatusRequestEntityTooLarge, "too-large", "the request body is larger than 1 MiB")
		return
	}
	code := interactions.ErrorCode(err)
	status := statusOf[code]
	var e *interactions.Error
	errors.As(err, &e)
	switch code {
	case interactions.CodeUnavailable:
		logger(c).Warn("store unavailable", "err", err)
		abortProblem(c, status, string(code), e.Message)
	case interactions.CodeInternal:
		logger(c).Error("internal error", "err", err)
		abortProblem(c, status, string(code), "something went wrong on our side; the request id is "+c.GetString(ctxRequestID))
	default:
		abortProblem(c, status, string(code), e.Message, e.Fields...)
	}
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}
