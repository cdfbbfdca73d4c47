// Package client is a small typed client of goodwill's HTTP API, for programs and
// tests that talk to a running service: goodwill import, goodwill demo, the
// end-to-end tests.
//
// Every method takes a context and makes one request: retrying is the caller's
// choice. An answer outside 2xx is an *Error carrying the status, the RFC 9457
// problem the service sent and the Retry-After it asked for; a request that got no
// answer returns the transport's error (a *url.Error) unwrapped.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds how much of an answer is read.
const maxBody = 64 << 20

// Client talks to one service with one API key. It is safe for concurrent use.
type Client struct {
	base string
	key  string
	hc   *http.Client

	// UserAgent, when set, is sent as the User-Agent header.
	UserAgent string
	// Header holds further headers sent with every request (goodwill import's
	// X-Goodwill-History).
	Header http.Header
}

// New returns a client of the service at baseURL (scheme, host and an optional path
// prefix; a trailing slash is ignored) that authenticates with key (none if empty).
// hc nil means http.DefaultClient.
func New(baseURL, key string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), key: key, hc: hc}
}

// BaseURL is the service's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Problem is an RFC 9457 problem document as the service writes it.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names an invalid field of a request ("interactions[3].kind").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an answer outside 2xx.
type Error struct {
	Method, Path string
	Status       int
	// Problem is the decoded problem; zero when the body was not one.
	Problem Problem
	// Body is the answer's body as it came.
	Body []byte
	// RetryAfter is the Retry-After the service asked for (whole seconds); 0 if none.
	RetryAfter time.Duration
	// Header is the answer's header (a 409 of a backfill names the running one in
	// Location).
	Header http.Header
}

// Error renders the status and what the problem says: "400 Bad Request: detail;
// interactions[0].kind: unknown kind", or the start of the body when it was not a
// problem.
func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	if p := e.Problem; p.Detail != "" || len(p.Errors) > 0 {
		if p.Detail != "" {
			s += ": " + p.Detail
		}
		for _, f := range p.Errors {
			s += fmt.Sprintf("; %s: %s", f.Field, f.Message)
		}
	} else if b := bytes.TrimSpace(e.Body); len(b) > 0 {
		s += fmt.Sprintf(": %.200s", b)
	}
	return s
}

// Temporary reports whether the same request may succeed later: a 5xx or a 429.
func (e *Error) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// Do sends a request to path (with its query) and decodes a 2xx answer's JSON into
// out (skipped when out is nil). in is sent as JSON unless nil; a json.RawMessage or
// []byte goes as it is. It returns the status of a 2xx answer, an *Error for any
// other, or the transport's error.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) (int, error) {
	status, body, err := c.send(ctx, method, path, in, nil)
	if err != nil {
		return status, err
	}
	if out != nil && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return status, fmt.Errorf("%s %s: answer %d: %w", method, path, status, err)
		}
	}
	return status, nil
}

// send makes one request, with header's headers besides the client's, and reads the
// answer; non-2xx is an *Error.
func (c *Client) send(ctx context.Context, method, path string, in any, header http.Header) (int, []byte, error) {
	var rd io.Reader
	if in != nil {
		var b []byte
		switch v := in.(type) {
		case []byte:
			b = v
		case json.RawMessage:
			b = v
		default:
			var err error
			if b, err = json.Marshal(in); err != nil {
				return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	for _, h := range []http.Header{c.Header, header} {
		for k, vs := range h {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return 0, nil, err
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return res.StatusCode, body, nil
	}
	e := &Error{Method: method, Path: path, Status: res.StatusCode, Body: body, Header: res.Header}
	if json.Unmarshal(body, &e.Problem) != nil {
		e.Problem = Problem{}
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return res.StatusCode, body, e
}

// Health checks GET /healthz: nil when the process answers 200.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.Do(ctx, http.MethodGet, "/healthz", nil, nil)
	return err
}

// Ready checks GET /readyz: nil when the service and its store answer.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.Do(ctx, http.MethodGet, "/readyz", nil, nil)
	return err
}
