// Package outbound sends HTTP requests to addresses that users give goodwill —
// outgoing alert webhooks (alerts/webhook) and Teams workflow URLs (alerts/teams) —
// without letting those addresses reach goodwill's own network.
//
// A Policy refuses, unless AllowPrivate (GOODWILL_ALLOW_PRIVATE_WEBHOOKS=on) is set:
//
//   - any scheme but https;
//   - loopback, private (RFC 1918), link-local, CGNAT (100.64.0.0/10), IPv6 unique
//     local (fc00::/7), IPv4-mapped or -translated IPv6, unspecified, multicast and
//     cloud metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200,
//     168.63.129.16).
//
// The addresses are checked twice: CheckURL resolves the host when a URL is saved, for
// a clear answer, and the Client checks the address it is about to connect to, so a
// name that resolves elsewhere later (DNS rebinding) is refused at connect time. The
// Client follows no redirect and uses no proxy (a proxy would connect for it,
// unchecked).
package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Policy says where outgoing requests may go.
type Policy struct {
	// AllowPrivate lifts both rules: http is accepted, and so is any address
	// (GOODWILL_ALLOW_PRIVATE_WEBHOOKS=on, for tests and private networks).
	AllowPrivate bool
	// RootCAs, if set, replaces the system's roots for https (tests).
	RootCAs *x509.CertPool
	// Resolver resolves hosts in CheckURL; nil is net.DefaultResolver.
	Resolver *net.Resolver
}

// Error says why a URL or an address is refused. Its message never holds the URL,
// which may be a secret (a Teams workflow URL carries its signature).
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Refused reports whether err is a refusal of the Policy (an *Error), however wrapped:
// a request failed because its address is not allowed.
func Refused(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// blocked lists the ranges no request may reach, with what each is.
var blocked = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a CGNAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("168.63.129.16/32"), "a cloud metadata address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a reserved address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("::ffff:0:0/96"), "an IPv4-mapped address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "an IPv4-translated address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "an IPv4-translated address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	{netip.MustParsePrefix("fc00::/7"), "an IPv6 unique local address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// CheckAddr returns why a request may not go to ip, or "" when it may. The metadata
// addresses fall in the link-local, unique local and CGNAT ranges, except Azure's,
// which is listed by itself.
func CheckAddr(ip netip.Addr) string {
	if ip.Zone() != "" {
		ip = ip.WithZone("")
	}
	for _, b := range blocked {
		if b.prefix.Contains(ip) {
			return b.what
		}
	}
	if !ip.IsValid() {
		return "not an address"
	}
	return ""
}

// CheckURL parses raw and returns it when requests may go there: an absolute https URL
// (http too when AllowPrivate) without user information, whose host resolves only to
// addresses CheckAddr accepts. Its *Error names what is wrong, never the URL.
func (p Policy) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	u, err := p.parse(raw)
	if err != nil {
		return nil, err
	}
	if p.AllowPrivate {
		return u, nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := CheckAddr(ip); why != "" {
			return nil, &Error{Msg: "must not point to " + why}
		}
		return u, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(lctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil, &Error{Msg: "its host does not resolve"}
	}
	for _, ip := range addrs {
		ip = ip.Unmap() // the resolver gives IPv4 addresses in their mapped form
		if why := CheckAddr(ip); why != "" {
			return nil, &Error{Msg: fmt.Sprintf("its host resolves to %s (%s)", why, ip)}
		}
	}
	return u, nil
}

// CheckForm checks what CheckURL checks without resolving the host: the scheme, and the
// address when the host is one.
func (p Policy) CheckForm(raw string) (*url.URL, error) {
	u, err := p.parse(raw)
	if err != nil || p.AllowPrivate {
		return u, err
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		if why := CheckAddr(ip); why != "" {
			return nil, &Error{Msg: "must not point to " + why}
		}
	}
	return u, nil
}

func (p Policy) parse(raw string) (*url.URL, error) {
	if len(raw) > 2048 {
		return nil, &Error{Msg: "must be at most 2048 characters"}
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "":
		return nil, &Error{Msg: "must be an absolute URL like https://hooks.example.com/goodwill"}
	case u.User != nil:
		return nil, &Error{Msg: "must not carry a user name or password"}
	case u.Fragment != "":
		return nil, &Error{Msg: "must not have a fragment"}
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowPrivate:
	default:
		return nil, &Error{Msg: "must be an https URL"}
	}
	return u, nil
}

// Client returns an HTTP client that connects only to addresses CheckAddr accepts
// (any, when AllowPrivate), follows no redirect (a 3xx is the answer), uses no proxy,
// and gives up after timeout.
func (p Policy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !p.AllowPrivate {
		dialer.Control = control
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{RootCAs: p.RootCAs, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// control refuses to connect to an address CheckAddr does not accept: the address
// checked is the one the connection is made to, after resolution.
func control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &Error{Msg: "refused to connect: not an IP address"}
	}
	if why := CheckAddr(ap.Addr()); why != "" {
		return &Error{Msg: "refused to connect to " + why}
	}
	return nil
}

// Scrub returns err without the URL an *url.Error carries, so that it may be shown
// and logged when the URL is a secret.
func Scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out: " + scrubText(ue.Err))
		}
		return errors.New(scrubText(ue.Err))
	}
	return err
}

// scrubText is err's message; an *Error's alone when there is one within.
func scrubText(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}
