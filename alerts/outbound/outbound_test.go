package outbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, url string
		private   bool   // GOODWILL_ALLOW_PRIVATE_WEBHOOKS=on
		want      string // part of the refusal; "" means accepted
	}{
		{"https to a public address", "https://93.184.215.14/hook", false, ""},
		{"http refused", "http://93.184.215.14/hook", false, "https"},
		{"http with the switch", "http://127.0.0.1:8080/hook", true, ""},
		{"ftp even with the switch", "ftp://93.184.215.14/hook", true, "https"},
		{"not absolute", "hooks/goodwill", false, "absolute"},
		{"user info", "https://u:p@93.184.215.14/hook", false, "user name"},
		{"loopback", "https://127.0.0.1/hook", false, "loopback"},
		{"loopback IPv6", "https://[::1]/hook", false, "loopback"},
		{"private 10/8", "https://10.1.2.3/hook", false, "private"},
		{"private 172.16/12", "https://172.20.0.1/hook", false, "private"},
		{"private 192.168/16", "https://192.168.1.1/hook", false, "private"},
		{"link-local", "https://169.254.10.1/hook", false, "link-local"},
		{"metadata", "https://169.254.169.254/latest/meta-data", false, "link-local"},
		{"Azure wire server", "https://168.63.129.16/", false, "metadata"},
		{"CGNAT", "https://100.64.0.1/hook", false, "CGNAT"},
		{"Alibaba metadata (CGNAT)", "https://100.100.100.200/", false, "CGNAT"},
		{"IPv6 ULA", "https://[fd00::1]/hook", false, "unique local"},
		{"AWS IPv6 metadata", "https://[fd00:ec2::254]/", false, "unique local"},
		{"IPv6 link-local", "https://[fe80::1]/hook", false, "link-local"},
		{"IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/hook", false, "IPv4-mapped"},
		{"IPv4-mapped public", "https://[::ffff:93.184.215.14]/hook", false, "IPv4-mapped"},
		{"NAT64 of a private address", "https://[64:ff9b::a00:1]/hook", false, "translated"},
		{"unspecified", "https://0.0.0.0/hook", false, "unspecified"},
		{"a name resolving to loopback", "https://localhost/hook", false, "loopback"},
		{"a name resolving to loopback, with the switch", "https://localhost/hook", true, ""},
		{"a name that does not resolve", "https://no-such-host.invalid/hook", false, "does not resolve"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Policy{AllowPrivate: c.private}.CheckURL(ctx, c.url)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatal("accepted")
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("refused with %q, want it to say %q", err, c.want)
			case err != nil && strings.Contains(err.Error(), c.url) && c.want != "absolute":
				t.Fatalf("the refusal %q repeats the URL", err)
			}
		})
	}
}

// The client checks the address it connects to, after resolution: a name that
// resolves to loopback (as a rebinding name does once checked) is refused at connect
// time, with no request made.
func TestClientRefusesLoopbackAtConnect(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hit = true }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, u := range []string{"http://localhost" + port + "/", srv.URL + "/"} {
		_, err := Policy{}.Client(5 * time.Second).Get(u)
		if err == nil || !Refused(err) {
			t.Fatalf("GET %s: err %v, want a refusal", u, err)
		}
		if msg := Scrub(err).Error(); !strings.Contains(msg, "loopback") || strings.Contains(msg, "http://") {
			t.Errorf("scrubbed error %q: want the reason without the URL", msg)
		}
	}
	if hit {
		t.Fatal("the server was reached")
	}
	// With the switch on, the same request goes through.
	res, err := Policy{AllowPrivate: true}.Client(5 * time.Second).Get("http://localhost" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !hit {
		t.Fatal("the server was not reached with the switch on")
	}
}

// A redirect is the answer, not followed: it could lead anywhere.
func TestClientFollowsNoRedirect(t *testing.T) {
	followed := false
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed = true }))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer srv.Close()
	res, err := Policy{AllowPrivate: true}.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || followed {
		t.Fatalf("status %d, followed %v: want the 302 itself", res.StatusCode, followed)
	}
}

func TestCheckAddrAcceptsPublic(t *testing.T) {
	for _, a := range []string{"93.184.215.14", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "100.128.0.1"} {
		if why := CheckAddr(netip.MustParseAddr(a)); why != "" {
			t.Errorf("%s refused: %s", a, why)
		}
	}
}

func FuzzCheckForm(f *testing.F) {
	for _, s := range []string{"https://example.com/x", "http://[::1]:80/", "https://u@h/", "%", "https://[fe80::1%25eth0]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := Policy{}.CheckForm(raw)
		if err == nil && u.Scheme != "https" {
			t.Fatalf("accepted %q with scheme %q", raw, u.Scheme)
		}
	})
}
