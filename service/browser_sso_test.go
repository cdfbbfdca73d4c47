package service_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestBrowserSSO: people sign in through the test identity provider's page in
// Chromium, as they would through their company's: a viewer from an allowed domain
// sees the dashboard, a recruiter its queue, a stranger is refused, and signing out
// ends the session at the provider too.
func TestBrowserSSO(t *testing.T) {
	srv, idp := startSSO(t, nil)
	if r := srv.Do(t, http.MethodPut, "/v1/recruiters/rec-ann", servicetest.AdminKey, `{"name":"Ann Recruiter","email":"ann@corp.test"}`); r.Status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	browser := startChromium(t)

	// signIn opens path, takes the single sign-on button, signs in at the provider as
	// email and returns the status of the page it ends on.
	signIn := func(b *chromeTab, path, email string) int64 {
		t.Helper()
		b.open(path)
		if got := b.where(); !strings.HasPrefix(got, "/login") {
			t.Fatalf("%s without a session led to %s, want the sign-in page", path, got)
		}
		if email == "carl@example.com" {
			b.screenshot("sso-login")
		}
		b.click("#sso-sign-in")
		loc := run(b, "location", chromedp.Location())
		if !strings.HasPrefix(loc, idp.URL+"/authorize?") {
			t.Fatalf("the SSO button led to %s, want the provider's page", loc)
		}
		b.do("type the email", chromedp.SendKeys(chromedp.ID("email"), email))
		return b.click("#idp-sign-in")
	}
	role := func(b *chromeTab) string {
		t.Helper()
		return eval[string](b, `document.getElementById('signed-in-as')?.dataset.role ?? ''`)
	}

	viewer := newTab(t, browser, srv.URL)
	if status := signIn(viewer, "/dashboard", "carl@example.com"); status != http.StatusOK {
		t.Fatalf("viewer sign-in: status %d on %s", status, viewer.where())
	}
	if got := viewer.where(); got != "/dashboard" || role(viewer) != "viewer" {
		t.Errorf("the viewer is on %s as %q, want /dashboard as viewer", got, role(viewer))
	}
	if got := viewer.text("#signed-in-as"); !strings.Contains(got, "carl@example.com") {
		t.Errorf("signed in as %q", got)
	}

	recruiter := newTab(t, browser, srv.URL)
	if status := signIn(recruiter, "/login", "Ann@Corp.test"); status != http.StatusOK {
		t.Fatalf("recruiter sign-in: status %d on %s", status, recruiter.where())
	}
	if got := recruiter.where(); got != "/queue" || role(recruiter) != "recruiter" {
		t.Errorf("the recruiter is on %s as %q, want /queue as recruiter", got, role(recruiter))
	}

	stranger := newTab(t, browser, srv.URL)
	if status := signIn(stranger, "/dashboard", "eve@elsewhere.test"); status != http.StatusForbidden {
		t.Errorf("stranger sign-in: status %d, want 403", status)
	}
	stranger.screenshot("sso-refused")
	if got := stranger.text("#error-message"); !strings.Contains(got, "eve@elsewhere.test may not use goodwill") {
		t.Errorf("the refusal reads %q", got)
	}
	if stranger.count("#error-sign-in[href='/login']") != 1 {
		t.Errorf("the refusal offers no way back to the sign-in page")
	}
	if stranger.cookie("goodwill_session") != nil {
		t.Errorf("the stranger has a session")
	}

	// Signing out goes through the provider's end-session endpoint and back.
	viewer.click("#sign-out")
	if got := viewer.where(); got != "/login?signed_out=1" {
		t.Errorf("sign-out led to %s", got)
	}
	ends := idp.EndSessions()
	if len(ends) != 1 || ends[0].Get("id_token_hint") == "" {
		t.Errorf("the provider saw sign-outs %v, want one with the ID token", ends)
	}
	if viewer.open("/dashboard"); viewer.where() != "/login?next="+url.QueryEscape("/dashboard") {
		t.Errorf("after sign-out /dashboard led to %s", viewer.where())
	}
}
