package atssync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ClientConfig configures a vendor's Client. Zero fields take the defaults named.
type ClientConfig struct {
	// Vendor names the vendor in metrics and errors.
	Vendor string
	// BaseURL is the vendor API's base (GOODWILL_<VENDOR>_API_URL): a request to any
	// other scheme, host or path outside it is refused without being sent, and so is a
	// redirect out of it.
	BaseURL string
	// Rate is the vendor's documented request rate per second, Burst how many
	// requests may go at once (default 1). Zero Rate means no pacing.
	Rate  rate.Limit
	Burst int
	// PerWindow and Window, when both set, cap the requests sent in any Window at
	// PerWindow: a vendor's documented window (Greenhouse's 50 per 10 s). A Burst above
	// one then lets the client make up for the time it spent between requests (reading
	// a page, writing one) without ever sending more than the window allows.
	PerWindow int
	Window    time.Duration
	// MaxBody bounds a response body (default 10 MiB); a longer one is an error
	// (ErrBodyTooLarge), not retried.
	MaxBody int64
	// Timeout bounds one attempt, headers and body (default 30 s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one request (default 6): 429s, 5xx answers,
	// timeouts and network errors are retried.
	MaxAttempts int
	// Backoff is the ceiling of the first retry's random wait (default 500 ms),
	// doubled per attempt up to MaxBackoff (default 30 s).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After (or X-RateLimit-Reset) the client waits
	// (default 10 min); a longer one ends the request with the 429.
	MaxRetryAfter time.Duration
	// Transport sends the requests (default http.DefaultTransport).
	Transport http.RoundTripper
}

// ErrBodyTooLarge is returned by Client.Do for a response body over MaxBody.
var ErrBodyTooLarge = errors.New("response body too large")

// ErrOutsideBase is returned by Client.Do for a request (or redirect) outside the
// configured base URL. Nothing is sent.
var ErrOutsideBase = errors.New("request outside the configured API base URL")

// Client is the Doer the vendors' API clients send through: it paces requests within
// the vendor's rate, waits out 429s (Retry-After, X-RateLimit-Reset), retries 5xx
// answers, timeouts and network errors with jittered exponential backoff, sends only
// under the base URL and reads at most MaxBody of a body. Do returns the response
// with its body read already (closing it is harmless); for any status it returns
// the response as http.Client does, after the retries are spent for 429 and 5xx.
// It never logs, and its errors carry no query string or header, where credentials
// may be.
type Client struct {
	cfg     ClientConfig
	base    *url.URL
	http    *http.Client
	limiter *rate.Limiter

	mu         sync.Mutex
	pauseUntil time.Time // set by a 429 or an exhausted X-RateLimit window: nothing is sent before
	// sent holds the send times of the last PerWindow requests (a ring from next).
	sent []time.Time
	next int
}

// NewClient returns a Client for cfg; an unparsable or non-http(s) BaseURL is an error.
func NewClient(cfg ClientConfig) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.User != nil || base.RawQuery != "" {
		return nil, fmt.Errorf("%s: API URL must be an http(s) base URL without credentials or query", cfg.Vendor)
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 1
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 10 << 20
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = 10 * time.Minute
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	c := &Client{cfg: cfg, base: base}
	if cfg.Rate > 0 {
		c.limiter = rate.NewLimiter(cfg.Rate, cfg.Burst)
	}
	c.http = &http.Client{
		Transport: cfg.Transport,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if !c.allowed(r.URL) {
				return ErrOutsideBase
			}
			return nil
		},
	}
	return c, nil
}

// allowed reports whether u is under the base URL: same scheme and host, and a path
// that is the base path or below it.
func (c *Client) allowed(u *url.URL) bool {
	if u == nil || u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) || u.User != nil {
		return false
	}
	p := u.EscapedPath()
	bp := c.base.EscapedPath()
	if strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "/./") {
		return false
	}
	return bp == "" || p == bp || strings.HasPrefix(p, bp+"/")
}

// Do sends req (see Client). Its context bounds everything, waits included.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !c.allowed(req.URL) {
		countRequest(c.cfg.Vendor, "refused")
		return nil, fmt.Errorf("%s %s %s: %w", c.cfg.Vendor, req.Method, req.URL.Path, ErrOutsideBase)
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	var last *http.Response
	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return nil, err
		}
		resp, retryAfter, err := c.attempt(ctx, req)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		last, lastErr = resp, err
		if errors.Is(err, ErrBodyTooLarge) || errors.Is(err, ErrOutsideBase) {
			return nil, err
		}
		retry := err != nil || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if !retry || !replayable || attempt >= c.cfg.MaxAttempts {
			break
		}
		wait := c.backoff(attempt)
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			countRateLimited(c.cfg.Vendor)
			if retryAfter > c.cfg.MaxRetryAfter {
				break
			}
			if retryAfter > 0 {
				wait = retryAfter
			}
			c.pause(time.Now().Add(wait)) // every request of this vendor waits
			continue
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return last, nil
}

// wait blocks until the client is not paused and the rate allows a request.
func (c *Client) wait(ctx context.Context) error {
	c.mu.Lock()
	until := c.pauseUntil
	c.mu.Unlock()
	if d := time.Until(until); d > 0 {
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return err
		}
	}
	return c.windowWait(ctx)
}

// windowWait blocks until a request may go without making PerWindow in a Window. A
// request takes its turn (the moment the PerWindow-th request before it leaves the
// window) before sleeping, so concurrent callers keep their order and the cap.
func (c *Client) windowWait(ctx context.Context) error {
	if c.cfg.PerWindow <= 0 || c.cfg.Window <= 0 {
		return nil
	}
	c.mu.Lock()
	if c.sent == nil {
		c.sent = make([]time.Time, c.cfg.PerWindow)
	}
	at := time.Now()
	if oldest := c.sent[c.next]; !oldest.IsZero() && oldest.Add(c.cfg.Window).After(at) {
		at = oldest.Add(c.cfg.Window)
	}
	c.sent[c.next] = at
	c.next = (c.next + 1) % len(c.sent)
	c.mu.Unlock()
	if d := time.Until(at); d > 0 {
		return sleep(ctx, d)
	}
	return nil
}

func (c *Client) pause(until time.Time) {
	c.mu.Lock()
	if until.After(c.pauseUntil) {
		c.pauseUntil = until
	}
	c.mu.Unlock()
}

// attempt sends req once, within Timeout, and reads its body. retryAfter is what a
// 429 asks to wait (0: not said).
func (c *Client) attempt(ctx context.Context, req *http.Request) (*http.Response, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	r := req.Clone(actx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, 0, err
		}
		r.Body = body
	}
	resp, err := c.http.Do(r)
	if err != nil {
		status := "error"
		if actx.Err() != nil && ctx.Err() == nil {
			status = "timeout"
		}
		countRequest(c.cfg.Vendor, status)
		return nil, 0, c.wrap(req, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody+1))
	if err != nil {
		status := "error"
		if actx.Err() != nil && ctx.Err() == nil {
			status = "timeout"
		}
		countRequest(c.cfg.Vendor, status)
		return nil, 0, c.wrap(req, err)
	}
	countRequest(c.cfg.Vendor, strconv.Itoa(resp.StatusCode))
	if int64(len(body)) > c.cfg.MaxBody {
		return nil, 0, fmt.Errorf("%s %s %s: %w (over %d bytes)", c.cfg.Vendor, req.Method, req.URL.Path, ErrBodyTooLarge, c.cfg.MaxBody)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	now := time.Now()
	if until, ok := rateLimitReset(resp.Header, now); ok && until.Sub(now) <= c.cfg.MaxRetryAfter {
		c.pause(until) // the window is spent: wait for the next
	}
	var retryAfter time.Duration
	if resp.StatusCode == http.StatusTooManyRequests {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		if retryAfter == 0 {
			if until, ok := rateLimitReset(resp.Header, now); ok {
				retryAfter = until.Sub(now)
			}
		}
	}
	return resp, retryAfter, nil
}

// wrap turns a transport error into one that names the vendor, method and path only.
func (c *Client) wrap(req *http.Request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s %s: %w", c.cfg.Vendor, req.Method, req.URL.Path, err)
}

// backoff is the random wait before retry number attempt (1 for the first retry):
// full jitter under Backoff·2^(attempt-1), at most MaxBackoff.
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.cfg.Backoff << min(attempt-1, 20)
	if ceiling <= 0 || ceiling > c.cfg.MaxBackoff {
		ceiling = c.cfg.MaxBackoff
	}
	return ceiling/2 + rand.N(ceiling/2+1)
}

// parseRetryAfter reads Retry-After: delay seconds or an HTTP date, at most 2^20 s
// (the client gives up past MaxRetryAfter anyway). 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 1<<20)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), (1<<20)*time.Second)
	}
	return 0
}

// rateLimitReset reads an exhausted rate-limit window from the X-RateLimit-Remaining
// (or X-Rate-Limit-Remaining) and X-RateLimit-Reset headers: when none remain, the
// moment the window resets. Reset is Unix seconds, or seconds from now when small.
func rateLimitReset(h http.Header, now time.Time) (time.Time, bool) {
	remaining := firstHeader(h, "X-RateLimit-Remaining", "X-Rate-Limit-Remaining")
	if remaining == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseFloat(remaining, 64); err != nil || n > 0 {
		return time.Time{}, false
	}
	reset, err := strconv.ParseFloat(firstHeader(h, "X-RateLimit-Reset", "X-Rate-Limit-Reset"), 64)
	switch {
	case err != nil || !(reset > 0) || reset > 1e11: // NaN, negative or absurd
		return time.Time{}, false
	case reset > 1e9: // a Unix time
		t := time.Unix(int64(reset), 0)
		return t, t.After(now)
	case reset > 1e6: // neither a Unix time nor a plausible wait
		return time.Time{}, false
	}
	return now.Add(time.Duration(reset * float64(time.Second))), true
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(h.Get(n)); v != "" {
			return v
		}
	}
	return ""
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
