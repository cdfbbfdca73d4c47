package service_test

import (
	"strings"
	"testing"

	"github.com/goodwillhq/goodwill/service"
)

// TestBrowserMailAddress: a recruiter signed in on the queue page sees its own
// dropbox address and how to set up BCC and a redirect rule.
func TestBrowserMailAddress(t *testing.T) {
	browser := startChromium(t)
	srv := mailServer(t, nil, service.Options{})
	w := newMailWorld(t, srv)
	b := newTab(t, browser, srv.URL)
	b.signIn("/queue", srv.NewKey(t, "recruiter", "ann"), "/queue")
	if got := b.text("#mail-address"); got != w.address["ann"] {
		t.Errorf("the queue page shows %q, want ann's address %q", got, w.address["ann"])
	}
	guide := b.text("#mail-dropbox")
	for _, want := range []string{"BCC", "redirect", "forward"} {
		if !strings.Contains(guide, want) {
			t.Errorf("the dropbox section does not mention %q: %q", want, guide)
		}
	}
	if strings.Contains(guide, w.address["bob"]) {
		t.Error("ann's queue shows bob's address")
	}
}
