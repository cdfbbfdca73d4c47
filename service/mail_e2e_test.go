package service_test

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
)

// TestMailDropboxSMTPLib is the dropbox tried as a new user would: Python's smtplib
// sends a recruiter's BCC'd answer and the candidate's redirected reply. The timeline
// then shows one outbound and one inbound email, the first-response clock is met,
// the same answer sent again is not stored twice, a made-up token is refused, and no
// body text is stored anywhere. Without python3 it skips, except under CI=true.
func TestMailDropboxSMTPLib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is not installed; CI needs it for this test")
		}
		t.Skip("python3 is not installed")
	}
	srv := mailServer(t, nil, service.Options{})
	w := newMailWorld(t, srv)
	w.apply(t, "app-zoe", "cand-zoe", "zoe@example.com", "ann", time.Now().Add(-time.Hour))

	host, port, _ := net.SplitHostPort(srv.Server.MailAddr())
	madeUp := "log+" + strings.Repeat("q", 32) + "@" + mailDomain
	cmd := exec.Command(python, "testdata/smtplib_dropbox.py", host, port, w.address["ann"], madeUp)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("smtplib: %v", err)
	}
	var res map[string]struct {
		OK      bool           `json:"ok"`
		Refused map[string]int `json:"refused"`
		Code    int            `json:"code"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("smtplib said %s: %v", out, err)
	}
	for _, name := range []string{"answer", "reply", "answer again"} {
		if r := res[name]; !r.OK || len(r.Refused) != 0 {
			t.Errorf("%s: %+v, want accepted", name, r)
		}
	}
	if r := res["made-up token"]; r.OK || r.Refused[madeUp] != 550 {
		t.Errorf("made-up token: %+v, want refused with 550", r)
	}

	if n := len(w.logged(t, "app-zoe")); n != 2 {
		t.Errorf("the log holds %d email touchpoints, want 2: the answer sent again is not stored twice", n)
	}
	w.waitEmails(t, "app-zoe", 2)
	tl := w.timeline(t, "app-zoe")
	var dirs []string
	for _, it := range tl.Interactions {
		if it.Source == "email" {
			dirs = append(dirs, it.Direction)
		}
	}
	if strings.Join(dirs, ",") != "outbound,inbound" {
		t.Errorf("email touchpoints %v, want one outbound then one inbound", dirs)
	}
	met := false
	for _, c := range tl.Clocks {
		met = met || (c.Metric == "first_response" && c.State == "met")
	}
	if !met {
		t.Errorf("clocks %+v, want first_response met", tl.Clocks)
	}
	assertNoBody(t, srv)
}
