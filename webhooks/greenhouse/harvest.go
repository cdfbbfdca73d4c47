package greenhouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/goodwillhq/goodwill/webhooks"
	"github.com/goodwillhq/goodwill/webhooks/atssync"
)

// Harvest v3, as its public documentation describes it (harvestdocs.greenhouse.io):
//
//   - Authentication (docs/authentication): a custom integration uses the OAuth 2.0
//     client credentials grant. POST https://auth.greenhouse.io/token with HTTP Basic
//     client_id:client_secret and the form grant_type=client_credentials&sub=<user id>,
//     where sub is the numeric id of the Greenhouse user the token acts as (without it,
//     a service account made for the credential). Calls carry "Authorization: Bearer".
//     Access tokens live one hour (docs/harvest-partner-oauth, "Key Token Lifetimes").
//   - Pagination (docs/pagination): list endpoints answer a bare JSON array and, when
//     there is more, a Link header with rel="next". The next URL carries an opaque
//     cursor and must be requested exactly as given: filters and per_page go on the
//     first request only. Cursors are not durable, so the sync keeps a time as its
//     durable cursor and a next URL only within one pass.
//   - Filters (docs/list-endpoints): created_at and updated_at take "gte|<RFC 3339>"
//     (also lte, gt, lt); ids and parent ids (candidate_ids, application_ids) are
//     comma separated, at most 50; per_page is 1–500. "Certain date, time, boolean
//     and enum fields are filterable depending on the resource": the sync filters
//     applications on last_activity_at the same way (gte|<RFC 3339>), an assumption
//     the list-endpoints guide allows but no public example shows.
//   - Rate limit (docs/api-rate-limiting): a rolling 10-second window whose size is
//     reported in X-RateLimit-Limit, 429 with Retry-After past it. The v1 reference
//     (developers.greenhouse.io/harvest.html, "Throttling") documents 50 requests per
//     10 seconds; v3 publishes no other number, so RequestsPerWindow is 50.
//
// Field names come from the v3 reference pages (reference/get_v3-users, …) as public
// v3 clients read them; each struct below names its endpoint.

// Defaults of the Harvest v3 endpoints.
const (
	DefaultAPIURL   = "https://harvest.greenhouse.io/v3"
	DefaultTokenURL = "https://auth.greenhouse.io/token"
)

// The documented rate limit: RequestsPerWindow requests every RateWindow. The runner's
// paced client keeps the sync within it: evenly paced at that rate, up to Burst at
// once to make up for the time a pass spends between requests (mapping a page, a slow
// answer), and never more than RequestsPerWindow in any rolling RateWindow.
const (
	RequestsPerWindow = 50
	RateWindow        = 10 * time.Second
	Burst             = 10
)

// renewBefore is how long before its expiry a token is replaced.
const renewBefore = 5 * time.Minute

// maxBody bounds one response body.
const maxBody = 32 << 20

// Config is a Greenhouse Harvest v3 credential and where to reach the API.
type Config struct {
	ClientID     string // GOODWILL_GREENHOUSE_CLIENT_ID
	ClientSecret string // GOODWILL_GREENHOUSE_CLIENT_SECRET
	// UserID is sent as the token request's sub: the Greenhouse user the token acts
	// as. Empty: the credential's service account.
	UserID   string // GOODWILL_GREENHOUSE_USER_ID
	APIURL   string // GOODWILL_GREENHOUSE_API_URL, DefaultAPIURL when empty
	TokenURL string // GOODWILL_GREENHOUSE_TOKEN_URL, DefaultTokenURL when empty
}

// Configured reports whether the credential is set.
func (c Config) Configured() bool { return c.ClientID != "" && c.ClientSecret != "" }

// client reads Harvest v3: it holds the token and follows pages.
type client struct {
	api   *url.URL
	doer  atssync.Doer
	token *tokens
}

func newClient(cfg Config, doer atssync.Doer, tokenHTTP *http.Client, now func() time.Time) (*client, error) {
	if !cfg.Configured() {
		return nil, errors.New("greenhouse: the client id and secret are required")
	}
	apiURL := cfg.APIURL
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	api, err := url.Parse(strings.TrimRight(apiURL, "/"))
	if err != nil || (api.Scheme != "https" && api.Scheme != "http") || api.Host == "" {
		return nil, fmt.Errorf("greenhouse: the API URL %q is not an http(s) URL", apiURL)
	}
	tokenURL := cfg.TokenURL
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	if u, err := url.Parse(tokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("greenhouse: the token URL %q is not an http(s) URL", tokenURL)
	}
	cc := clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     tokenURL,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	if cfg.UserID != "" {
		cc.EndpointParams = url.Values{"sub": {cfg.UserID}}
	}
	if tokenHTTP == nil {
		tokenHTTP = &http.Client{Timeout: 30 * time.Second}
	}
	return &client{api: api, doer: doer, token: &tokens{cc: cc, http: tokenHTTP, now: now}}, nil
}

// tokens holds the current access token and renews it renewBefore its expiry, or at
// once when the API refused it.
type tokens struct {
	cc   clientcredentials.Config
	http *http.Client
	now  func() time.Time

	mu      sync.Mutex
	current string
	expiry  time.Time // zero: unknown, kept until refused
}

// get returns a valid access token; stale discards the current one first.
func (t *tokens) get(ctx context.Context, stale string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.current != "" && t.current != stale && (t.expiry.IsZero() || t.now().Add(renewBefore).Before(t.expiry)) {
		return t.current, nil
	}
	tok, err := t.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.http))
	if err != nil {
		return "", fmt.Errorf("greenhouse: token: %w", err)
	}
	t.current, t.expiry = tok.AccessToken, tokenExpiry(tok)
	return t.current, nil
}

// tokenExpiry is the token's expiry from expires_in, or from the expires_at Greenhouse
// returns on its token endpoint (an RFC 3339 time, "+0000" offsets included).
func tokenExpiry(tok *oauth2.Token) time.Time {
	if !tok.Expiry.IsZero() {
		return tok.Expiry
	}
	s, _ := tok.Extra("expires_at").(string)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// HTTPError is a Harvest answer other than 200.
type HTTPError struct {
	Status int
	URL    string
	Body   string // the start of the body, for the connector's last error
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("greenhouse: GET %s: %d %s", e.URL, e.Status, e.Body)
}

// list requests one page (pathOrURL is a path under the API URL with its query, or a
// next URL from a Link header) and decodes the JSON array into out. It returns the
// next page's URL, "" on the last page. A 401 renews the token once and retries.
func (c *client) list(ctx context.Context, pathOrURL string, out any) (next string, err error) {
	target := pathOrURL
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		target = c.api.String() + target
	} else if !c.sameAPI(target) {
		return "", fmt.Errorf("greenhouse: %s is not under the API URL", redact(target))
	}
	stale := ""
	for attempt := 0; ; attempt++ {
		tok, err := c.token.get(ctx, stale)
		if err != nil {
			return "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return "", fmt.Errorf("greenhouse: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		resp, err := c.doer.Do(req)
		if err != nil {
			return "", fmt.Errorf("greenhouse: GET %s: %w", redact(target), err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return "", fmt.Errorf("greenhouse: GET %s: %w", redact(target), err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			stale = tok
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return "", &HTTPError{Status: resp.StatusCode, URL: redact(target), Body: snippet(body)}
		}
		if len(body) > maxBody {
			return "", fmt.Errorf("greenhouse: GET %s: the body is larger than %d bytes", redact(target), maxBody)
		}
		if err := json.Unmarshal(body, out); err != nil {
			return "", fmt.Errorf("greenhouse: GET %s: %w", redact(target), err)
		}
		next := nextLink(resp.Header.Values("Link"))
		if next != "" && !c.sameAPI(next) {
			return "", fmt.Errorf("greenhouse: GET %s: the next link leaves the API (%s)", redact(target), redact(next))
		}
		return next, nil
	}
}

// sameAPI reports whether a next link points under the API URL: the bearer token is
// never sent anywhere else.
func (c *client) sameAPI(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.Scheme == c.api.Scheme && u.Host == c.api.Host &&
		(u.Path == c.api.Path || strings.HasPrefix(u.Path, c.api.Path+"/"))
}

// nextLink returns the rel="next" target of RFC 8288 Link header values, "" if none.
func nextLink(values []string) string {
	for _, v := range values {
		for _, part := range splitLinks(v) {
			target, params, ok := strings.Cut(strings.TrimLeft(part, " \t"), ">")
			params = strings.TrimLeft(params, " \t")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasPrefix(params, ";") {
				continue
			}
			for _, p := range strings.Split(params[1:], ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return strings.TrimPrefix(target, "<")
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header value at the commas between links (commas inside
// <…> belong to the URL).
func splitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			depth++
		case '>':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// redact drops the query of a URL for messages: cursors are long and opaque.
func redact(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i]
	}
	return raw
}

func snippet(b []byte) string {
	s := webhooks.CleanLine(string(b))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
