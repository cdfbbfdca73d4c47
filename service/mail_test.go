package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/time/rate"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
	"github.com/goodwillhq/goodwill/webhooks/maildrop"
)

const (
	mailDomain = "log.acme.test"
	// bodyMarker is in every test message's body: it must never be stored.
	bodyMarker = "PRIVATE-BODY-7f3a9c"
)

// mailServer starts a server with the email dropbox on a loopback port.
func mailServer(t *testing.T, env map[string]string, opts service.Options) *servicetest.Instance {
	t.Helper()
	vars := map[string]string{"GOODWILL_MAIL_ADDR": "127.0.0.1:0", "GOODWILL_MAIL_DOMAIN": mailDomain}
	for k, v := range env {
		vars[k] = v
	}
	return servicetest.Start(t, vars, opts)
}

// mailWorld is what the mail tests arrange: recruiters with their addresses, and
// candidates with applications.
type mailWorld struct {
	srv     *servicetest.Instance
	address map[string]string // recruiter id → personal dropbox address
}

func newMailWorld(t *testing.T, srv *servicetest.Instance) *mailWorld {
	t.Helper()
	w := &mailWorld{srv: srv, address: map[string]string{}}
	for id, email := range map[string]string{"ann": "ann@acme.test", "bob": "bob@acme.test"} {
		if r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+id, servicetest.AdminKey, map[string]any{"name": id, "email": email}); r.Status >= 300 {
			t.Fatalf("PUT recruiter: %d %s", r.Status, r.Body)
		}
		r := srv.Do(t, http.MethodPost, "/v1/recruiters/"+id+"/mail-address", servicetest.AdminKey, nil)
		if r.Status != http.StatusCreated {
			t.Fatalf("mail-address: %d %s", r.Status, r.Body)
		}
		w.address[id] = r.Map(t)["address"].(string)
	}
	return w
}

// apply posts an application_received for a candidate with an email, owned by a recruiter.
func (w *mailWorld) apply(t *testing.T, app, candidate, email, recruiter string, at time.Time) {
	t.Helper()
	r := w.srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{
		"application_id": app, "candidate_id": candidate, "kind": "application_received",
		"occurred_at": at.UTC().Format(time.RFC3339Nano), "recruiter_id": recruiter,
		"candidate": map[string]string{"name": "Zoë " + candidate, "email": email}, "external_id": "apply-" + app,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	// The contact lookup is derived state: wait until the application is projected.
	servicetest.Eventually(t, 0, "application "+app+" projected", func() bool {
		return w.srv.Do(t, http.MethodGet, "/v1/applications/"+app+"/timeline", servicetest.AdminKey, nil).Status == http.StatusOK
	})
}

type timelineItem struct {
	Kind        string          `json:"kind"`
	Direction   string          `json:"direction"`
	Channel     string          `json:"channel"`
	Source      string          `json:"source"`
	ActorID     string          `json:"actor_id"`
	ExternalID  string          `json:"external_id"`
	OccurredAt  time.Time       `json:"occurred_at"`
	Backdated   bool            `json:"backdated"`
	Metadata    json.RawMessage `json:"metadata"`
	CandidateID string          `json:"candidate_id"`
}

type timelineJSON struct {
	Interactions []timelineItem `json:"interactions"`
	Clocks       []struct {
		Metric string `json:"metric"`
		State  string `json:"state"`
	} `json:"clocks"`
}

func (w *mailWorld) timeline(t *testing.T, app string) timelineJSON {
	t.Helper()
	r := w.srv.Do(t, http.MethodGet, "/v1/applications/"+app+"/timeline", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("timeline %s: %d %s", app, r.Status, r.Body)
	}
	var tl timelineJSON
	r.JSON(t, &tl)
	return tl
}

// emails returns the timeline's email touchpoints.
func (w *mailWorld) emails(t *testing.T, app string) []timelineItem {
	t.Helper()
	var out []timelineItem
	for _, it := range w.timeline(t, app).Interactions {
		if it.Source == "email" {
			out = append(out, it)
		}
	}
	return out
}

// waitEmails waits until the application's timeline has n email touchpoints.
func (w *mailWorld) waitEmails(t *testing.T, app string, n int) []timelineItem {
	t.Helper()
	var got []timelineItem
	servicetest.Eventually(t, 0, fmt.Sprintf("%d emails on %s", n, app), func() bool {
		got = w.emails(t, app)
		return len(got) >= n
	})
	return got
}

// logged returns the application's email touchpoints as the interaction log holds
// them. The dropbox writes the log before it answers 250, so once the SMTP client has
// its answer, this shows everything the mail stored: it proves a duplicate was not
// stored without waiting for one that might still land.
func (w *mailWorld) logged(t *testing.T, app string) []timelineItem {
	t.Helper()
	r := w.srv.Do(t, http.MethodGet, "/v1/interactions?source=email&limit=1000&application_id="+app, servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("interactions of %s: %d %s", app, r.Status, r.Body)
	}
	var page struct{ Interactions []timelineItem }
	r.JSON(t, &page)
	return page.Interactions
}

// deliveries lists the delivery log's email entries.
func (w *mailWorld) deliveries(t *testing.T) []map[string]any {
	t.Helper()
	r := w.srv.Do(t, http.MethodGet, "/v1/webhook-deliveries?source=email&limit=1000", servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("deliveries: %d %s", r.Status, r.Body)
	}
	if bytes.Contains(r.Body, []byte("@")) {
		t.Errorf("the delivery log holds an address: %s", r.Body)
	}
	var page struct{ Deliveries []map[string]any }
	r.JSON(t, &page)
	return page.Deliveries
}

// mailMsg is a test message, written as real mail clients write it.
type mailMsg struct {
	From, To, Cc, Subject, MessageID string
	Date                             time.Time
	Extra                            string // more header lines, each ending in \r\n
	ContentType                      string // default multipart/alternative
	Pad                              int    // bytes of filler in the body
}

// bytes renders the message: multipart/alternative with a quoted-printable text part
// whose lines are soft-broken, an HTML part, an encoded-word subject folded over two
// lines and a long folded References header.
func (m mailMsg) bytes() []byte {
	var b strings.Builder
	crlf := func(format string, a ...any) { fmt.Fprintf(&b, format+"\r\n", a...) }
	crlf("From: %s", m.From)
	crlf("To: %s", m.To)
	if m.Cc != "" {
		crlf("Cc: %s", m.Cc)
	}
	subj := m.Subject
	if subj == "" {
		subj = "Your application — next steps"
	}
	runes := []rune(subj) // two encoded words, split between characters
	crlf("Subject: =?UTF-8?B?%s?=\r\n =?UTF-8?B?%s?=",
		base64.StdEncoding.EncodeToString([]byte(string(runes[:len(runes)/2]))),
		base64.StdEncoding.EncodeToString([]byte(string(runes[len(runes)/2:]))))
	crlf("Date: %s", m.Date.Format(time.RFC1123Z))
	if m.MessageID != "" {
		crlf("Message-ID: <%s>", m.MessageID)
	}
	var refs []string
	for i := range 12 {
		refs = append(refs, fmt.Sprintf("<CAF%02d-thread-reference-%d@mail.example.com>", i, i*7919))
	}
	crlf("References: %s", strings.Join(refs, "\r\n "))
	crlf("MIME-Version: 1.0")
	b.WriteString(m.Extra)
	ct := m.ContentType
	if ct == "" {
		ct = `multipart/alternative; boundary="b-42"`
	}
	crlf("Content-Type: %s", ct)
	crlf("")
	crlf("--b-42")
	crlf("Content-Type: text/plain; charset=utf-8")
	crlf("Content-Transfer-Encoding: quoted-printable")
	crlf("")
	crlf("Hi Zo=C3=AB, thanks for your time today. %s This line is long enough that qu=", bodyMarker)
	crlf("oted-printable breaks it softly, as mail clients do with long paragraphs.")
	for i := 0; i < m.Pad; i += 76 {
		crlf("%s", strings.Repeat("x", 74))
	}
	crlf("--b-42")
	crlf("Content-Type: text/html; charset=utf-8")
	crlf("")
	crlf("<p>Hi Zo&euml;, %s</p>", bodyMarker)
	crlf("--b-42--")
	return []byte(b.String())
}

// smtpError is an SMTP reply that refused something.
func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// send sends msg through the dropbox with net/smtp, returning the first refusal.
func send(t *testing.T, addr, mailFrom string, rcpts []string, msg []byte) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if err := c.Hello("client.example.com"); err != nil {
		return err
	}
	if err := c.Mail(mailFrom); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := wc.Write(msg); err != nil {
		return err
	}
	if err := wc.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// TestMailDropbox: mail sent through the dropbox with a real SMTP client becomes
// message touchpoints, once per Message-ID, candidate and direction; what is not a
// touchpoint is logged as ignored; what is not the dropbox's is refused.
func TestMailDropbox(t *testing.T) {
	srv := mailServer(t, nil, service.Options{})
	w := newMailWorld(t, srv)
	addr := srv.Server.MailAddr()
	now := time.Now()
	w.apply(t, "app-zoe", "cand-zoe", "zoe@example.com", "ann", now.Add(-time.Hour))
	// Max has two open applications: bob's (newest) and ann's.
	w.apply(t, "app-max-ann", "cand-max", "max@example.com", "ann", now.Add(-3*time.Hour))
	w.apply(t, "app-max-bob", "cand-max", "max@example.com", "bob", now.Add(-2*time.Hour))

	// Outbound: ann answers Zoë (and Cc's someone unknown), with a BCC to her address.
	date := now.Add(-2 * time.Minute).Truncate(time.Second)
	out := mailMsg{From: "Ann <Ann@Acme.test>", To: "=?UTF-8?Q?Zo=C3=AB?= <ZOE@example.com>", Cc: "Someone <someone@example.org>",
		MessageID: "out-1@mail.acme.test", Date: date}
	if err := send(t, addr, "ann@acme.test", []string{w.address["ann"]}, out.bytes()); err != nil {
		t.Fatalf("outbound: %v", err)
	}
	got := w.waitEmails(t, "app-zoe", 1)
	if it := got[0]; it.Kind != "message" || it.Direction != "outbound" || it.Channel != "email" || it.ActorID != "ann" ||
		!it.OccurredAt.Equal(date) || it.Backdated || len(it.Metadata) != 0 {
		t.Errorf("outbound = %+v, want an outbound email message by ann at %v, not backdated, no metadata", it, date)
	}

	// The same mail again (a redirected copy of the BCC'd one): stored once.
	if err := send(t, addr, "ann@acme.test", []string{w.address["ann"]}, out.bytes()); err != nil {
		t.Fatalf("outbound again: %v", err)
	}

	// Inbound: Zoë's reply, redirected by ann's rule with its headers kept; Date an
	// hour ago, so backdated.
	replyDate := now.Add(-time.Hour).Truncate(time.Second)
	in := mailMsg{From: "Zoë <zoe@example.com>", To: "ann@acme.test", MessageID: "in-1@example.com", Date: replyDate}
	if err := send(t, addr, "zoe@example.com", []string{w.address["ann"]}, in.bytes()); err != nil {
		t.Fatalf("inbound: %v", err)
	}
	got = w.waitEmails(t, "app-zoe", 2)
	var dirs []string
	for _, it := range got {
		dirs = append(dirs, it.Direction)
		if it.Direction == "inbound" && (!it.OccurredAt.Equal(replyDate) || !it.Backdated || it.ActorID != "") {
			t.Errorf("inbound = %+v, want at %v, backdated, no actor", it, replyDate)
		}
	}
	if n := len(w.logged(t, "app-zoe")); n != 2 {
		t.Errorf("app-zoe has %d email touchpoints (%v), want 2: one outbound, one inbound", n, dirs)
	}

	// A candidate with two applications: ann's mail goes to ann's application, a reply
	// addressed to bob to bob's.
	if err := send(t, addr, "ann@acme.test", []string{w.address["ann"]},
		mailMsg{From: "ann@acme.test", To: "max@example.com", MessageID: "out-max@acme.test", Date: date}.bytes()); err != nil {
		t.Fatal(err)
	}
	if err := send(t, addr, "max@example.com", []string{w.address["bob"]},
		mailMsg{From: "max@example.com", To: "bob@acme.test", MessageID: "in-max@example.com", Date: date}.bytes()); err != nil {
		t.Fatal(err)
	}
	if e := w.waitEmails(t, "app-max-ann", 1); e[0].Direction != "outbound" {
		t.Errorf("ann's application got %+v, want ann's outbound", e[0])
	}
	if e := w.waitEmails(t, "app-max-bob", 1); e[0].Direction != "inbound" {
		t.Errorf("bob's application got %+v, want the reply addressed to bob", e[0])
	}

	// Refusals at RCPT, and what is ignored.
	cases := []struct {
		name     string
		mailFrom string
		rcpt     string
		msg      mailMsg
		code     int    // the refusal's code, 0 for accepted
		ignored  string // the reason logged, for accepted mail that is no touchpoint
	}{
		// A made-up token: refused, nothing stored.
		{"unknown token", "x@example.net", "log+" + strings.Repeat("a", 32) + "@" + mailDomain, out, 550, ""},
		// Another domain: no relaying.
		{"other domain", "x@example.net", "zoe@example.com", out, 550, ""},
		// log@ without GOODWILL_MAIL_SENDER_DOMAINS: refused.
		{"org-wide off", "x@example.net", "log@" + mailDomain, out, 550, ""},
		// An auto-reply.
		{"auto-reply", "zoe@example.com", w.address["ann"], mailMsg{From: "zoe@example.com", To: "ann@acme.test",
			MessageID: "auto@example.com", Date: date, Extra: "Auto-Submitted: auto-replied\r\n"}, 0, "Auto-Submitted"},
		// A bounce: the null return path, a delivery report.
		{"bounce", "", w.address["ann"], mailMsg{From: "mailer-daemon@example.com", To: "ann@acme.test",
			MessageID: "bounce@example.com", Date: date, ContentType: `multipart/report; report-type=delivery-status; boundary="b-42"`}, 0, "empty return path"},
		// A list mail.
		{"bulk", "news@example.com", w.address["ann"], mailMsg{From: "zoe@example.com", To: "ann@acme.test",
			MessageID: "bulk@example.com", Date: date, Extra: "Precedence: bulk\r\n"}, 0, "Precedence"},
		// Nobody known.
		{"no candidate", "ann@acme.test", w.address["ann"], mailMsg{From: "ann@acme.test", To: "stranger@example.com",
			MessageID: "stranger@acme.test", Date: date}, 0, "no recipient"},
	}
	for _, c := range cases {
		err := send(t, addr, c.mailFrom, []string{c.rcpt}, c.msg.bytes())
		if code := smtpCode(err); code != c.code {
			t.Errorf("%s: %v (code %d), want %d", c.name, err, code, c.code)
		}
		if c.name == "other domain" && (err == nil || !strings.Contains(err.Error(), "5.7.1")) {
			t.Errorf("other domain: %v, want 550 5.7.1", err)
		}
	}
	var reasons []string
	for _, d := range w.deliveries(t) {
		if d["outcome"] == "ignored" {
			reasons = append(reasons, fmt.Sprint(d["reason"]))
		}
	}
	for _, c := range cases {
		if c.ignored == "" {
			continue
		}
		found := false
		for _, r := range reasons {
			found = found || strings.Contains(r, c.ignored)
		}
		if !found {
			t.Errorf("%s: no ignored delivery with a reason naming %q in %q", c.name, c.ignored, reasons)
		}
	}
	if n := len(w.logged(t, "app-zoe")); n != 2 {
		t.Errorf("after the refusals app-zoe has %d email touchpoints, want 2", n)
	}
	assertNoBody(t, srv)
}

// assertNoBody looks through every collection of the server's database for the
// messages' body text.
func assertNoBody(t *testing.T, srv *servicetest.Instance) {
	t.Helper()
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI(srv.Server.StoreURI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	db := client.Database(srv.Config.DB)
	names, err := db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			if bytes.Contains(cur.Current, []byte(bodyMarker)) || bytes.Contains(cur.Current, []byte("thanks for your time")) {
				t.Errorf("collection %s holds body text: %s", name, cur.Current)
			}
		}
		_ = cur.Close(ctx)
	}
}

// TestMailDropboxLimits: the per-message limits: over 10 MiB is 552, a 51st
// recipient is 452.
//
// The test spends 101 recipients from one client address, one more than the default
// burst of the per-address rate, so under the default rate its last recipient would
// be refused 450 unless the bucket had refilled in the meantime (0.2 s): the outcome
// would depend on how fast the machine runs. The rate is lifted here; its own test is
// TestMailDropboxRate. The size and recipient limits stay the defaults.
func TestMailDropboxLimits(t *testing.T) {
	srv := mailServer(t, nil, service.Options{Mail: service.MailOptions{Limits: maildrop.Limits{Rate: rate.Inf}}})
	w := newMailWorld(t, srv)
	addr := srv.Server.MailAddr()
	big := mailMsg{From: "ann@acme.test", To: "zoe@example.com", MessageID: "big@acme.test", Date: time.Now(), Pad: 10<<20 + 1024}
	if err := send(t, addr, "ann@acme.test", []string{w.address["ann"]}, big.bytes()); smtpCode(err) != 552 {
		t.Errorf("11 MiB: %v, want 552", err)
	}
	// 50 recipients per message: the 51st is refused.
	rcpts := make([]string, 51)
	for i := range rcpts {
		rcpts[i] = w.address["ann"]
	}
	small := mailMsg{From: "ann@acme.test", To: "zoe@example.com", MessageID: "many@acme.test", Date: time.Now()}
	if err := send(t, addr, "ann@acme.test", rcpts[:50], small.bytes()); err != nil {
		t.Errorf("50 recipients: %v", err)
	}
	if err := send(t, addr, "ann@acme.test", rcpts, small.bytes()); smtpCode(err) != 452 {
		t.Errorf("51 recipients: %v, want 452", err)
	}
}

// TestMailDropboxRate: every recipient a client address sends counts, refused ones
// too, so RCPT cannot be used to guess tokens; connections beyond the limit are
// answered 421.
func TestMailDropboxRate(t *testing.T) {
	limits := maildrop.Limits{MaxBytes: 10 << 20, MaxRecipients: 50, MaxConns: 2, Rate: rate.Every(time.Hour), Burst: 3}
	srv := mailServer(t, nil, service.Options{Mail: service.MailOptions{Limits: limits}})
	w := newMailWorld(t, srv)
	addr := srv.Server.MailAddr()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("x@example.net"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		guess := fmt.Sprintf("log+%032d@%s", i, mailDomain)
		if err := c.Rcpt(guess); smtpCode(err) != 550 {
			t.Fatalf("guess %d: %v, want 550", i, err)
		}
	}
	// The burst is spent on refusals: even a real address now waits.
	if err := c.Rcpt(w.address["ann"]); smtpCode(err) != 450 {
		t.Errorf("after 3 refused recipients: %v, want 450", err)
	}

	// Two connections at once are allowed; the third is answered 421.
	c2, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := smtp.Dial(addr); smtpCode(err) != 421 {
		t.Errorf("third connection: %v, want 421", err)
	}
}

// dkimKeys signs test mail for domains and answers the DKIM key lookups for them.
type dkimKeys map[string]ed25519.PrivateKey

func newDKIMKeys(t *testing.T, domains ...string) dkimKeys {
	k := dkimKeys{}
	for _, d := range domains {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k[d] = priv
	}
	return k
}

func (k dkimKeys) lookup(name string) ([]string, error) {
	d, ok := strings.CutPrefix(name, "sel._domainkey.")
	if priv, found := k[d]; ok && found {
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))}, nil
	}
	return nil, errors.New("no such TXT record")
}

func (k dkimKeys) sign(t *testing.T, domain string, msg []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(msg), &dkim.SignOptions{
		Domain: domain, Selector: "sel", Signer: k[domain],
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestMailDropboxDKIM: with GOODWILL_MAIL_SENDER_DOMAINS set, personal addresses
// need a valid DKIM signature aligned with the From domain, and log@ one aligned with
// the From domain or the organisation's. GOODWILL_MAIL_KEEP=subject keeps subjects.
func TestMailDropboxDKIM(t *testing.T) {
	keys := newDKIMKeys(t, "acme.test", "example.com", "evil.test")
	srv := mailServer(t, map[string]string{"GOODWILL_MAIL_SENDER_DOMAINS": "acme.test", "GOODWILL_MAIL_KEEP": "subject"},
		service.Options{Mail: service.MailOptions{LookupTXT: keys.lookup}})
	w := newMailWorld(t, srv)
	addr := srv.Server.MailAddr()
	now := time.Now()
	w.apply(t, "app-zoe", "cand-zoe", "zoe@example.com", "ann", now.Add(-time.Hour))
	orgWide := "log@" + mailDomain
	msg := func(from, to, id string) []byte {
		return mailMsg{From: from, To: to, MessageID: id, Date: now.Add(-time.Minute)}.bytes()
	}
	tampered := keys.sign(t, "acme.test", msg("ann@acme.test", "zoe@example.com", "bad@acme.test"))
	tampered = bytes.Replace(tampered, []byte("thanks for your time"), []byte("thanks for your TIME"), 1)
	cases := []struct {
		name   string
		rcpt   string
		msg    []byte
		code   int
		stored string // the external id's Message-ID when stored
	}{
		// Signed by the sender's domain: taken.
		{"good", w.address["ann"], keys.sign(t, "acme.test", msg("ann@acme.test", "zoe@example.com", "good@acme.test")), 0, "good@acme.test"},
		// Changed after signing.
		{"bad", w.address["ann"], tampered, 550, ""},
		// Not signed.
		{"missing", w.address["ann"], msg("ann@acme.test", "zoe@example.com", "missing@acme.test"), 550, ""},
		// log@: the candidate's reply forwarded by a routing rule, signed by the candidate's domain.
		{"org-wide inbound", orgWide, keys.sign(t, "example.com", msg("zoe@example.com", "ann@acme.test", "in@example.com")), 0, "in@example.com"},
		// log@: a valid signature, but of a domain aligned with neither.
		{"org-wide unaligned", orgWide, keys.sign(t, "evil.test", msg("zoe@example.com", "ann@acme.test", "evil@example.com")), 550, ""},
	}
	for _, c := range cases {
		err := send(t, addr, "sender@example.net", []string{c.rcpt}, c.msg)
		if code := smtpCode(err); code != c.code {
			t.Errorf("%s: %v, want code %d", c.name, err, c.code)
		}
	}
	got := w.logged(t, "app-zoe")
	var ids []string
	for _, it := range got {
		ids = append(ids, it.ExternalID)
		if string(it.Metadata) != `{"subject":"Your application — next steps"}` {
			t.Errorf("metadata = %s, want the decoded subject", it.Metadata)
		}
	}
	for _, c := range cases {
		found := false
		for _, id := range ids {
			found = found || strings.HasPrefix(id, c.stored+":")
		}
		if c.stored != "" && !found {
			t.Errorf("%s: not stored (external ids %v)", c.name, ids)
		}
	}
	if len(ids) != 2 {
		t.Errorf("stored %v, want good and org-wide inbound only", ids)
	}
	rejected := 0
	for _, d := range w.deliveries(t) {
		if d["outcome"] == "rejected" && d["rejection"] == "bad_signature" {
			rejected++
		}
	}
	if rejected == 0 {
		t.Error("no bad_signature rejection in the delivery log")
	}
}

// TestMailAddressRoute: POST /v1/recruiters/{id}/mail-address issues log+<token>@
// with at least 128 bits of lowercase base32, to the admin or the recruiter's own key;
// issuing again revokes the old address.
func TestMailAddressRoute(t *testing.T) {
	srv := mailServer(t, nil, service.Options{})
	w := newMailWorld(t, srv)
	old := w.address["ann"]
	if !regexp.MustCompile(`^log\+[a-z2-7]{26,}@` + regexp.QuoteMeta(mailDomain) + `$`).MatchString(old) {
		t.Errorf("address %q, want log+<lowercase base32 of at least 128 bits>@%s", old, mailDomain)
	}
	annKey := srv.NewKey(t, "recruiter", "ann")
	srv.Do(t, http.MethodPut, "/v1/recruiters/carl", servicetest.AdminKey, map[string]any{"name": "carl", "manager_id": "ann"})
	cases := []struct {
		name, key, id string
		status        int
	}{
		{"own key", annKey, "ann", http.StatusCreated},
		{"a recruiter it cannot see", annKey, "bob", http.StatusNotFound},
		{"its report's", annKey, "carl", http.StatusForbidden},
		{"viewer", srv.NewKey(t, "viewer", ""), "ann", http.StatusForbidden},
		{"ingest", srv.NewKey(t, "ingest", ""), "ann", http.StatusForbidden},
		{"unknown recruiter", servicetest.AdminKey, "nobody", http.StatusNotFound},
		{"no key", "", "ann", http.StatusUnauthorized},
	}
	for _, c := range cases {
		r := srv.Do(t, http.MethodPost, "/v1/recruiters/"+c.id+"/mail-address", c.key, nil)
		if r.Status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.status)
		}
	}
	// The rotation by ann's own key revoked the first address.
	addr := srv.Server.MailAddr()
	msg := mailMsg{From: "ann@acme.test", To: "zoe@example.com", MessageID: "rot@acme.test", Date: time.Now()}.bytes()
	if err := send(t, addr, "ann@acme.test", []string{old}, msg); smtpCode(err) != 550 {
		t.Errorf("the revoked address: %v, want 550", err)
	}
	// The current one is shown again on the queue page, and takes mail.
	page := srv.Do(t, http.MethodGet, "/queue", annKey, nil)
	if page.Status != http.StatusOK {
		t.Fatalf("queue: %d %s", page.Status, page.Body)
	}
	cur := regexp.MustCompile(`log\+[a-z2-7]+@` + regexp.QuoteMeta(mailDomain)).FindString(html.UnescapeString(string(page.Body)))
	if cur == "" || cur == old {
		t.Fatalf("the queue page shows %q, want ann's new address", cur)
	}
	if err := send(t, addr, "ann@acme.test", []string{cur}, msg); err != nil {
		t.Errorf("the new address: %v", err)
	}

	// Without a dropbox domain there is no address to issue.
	plain := servicetest.Start(t, nil, service.Options{})
	plain.Do(t, http.MethodPut, "/v1/recruiters/ann", servicetest.AdminKey, map[string]any{"name": "ann"})
	if r := plain.Do(t, http.MethodPost, "/v1/recruiters/ann/mail-address", servicetest.AdminKey, nil); r.Status != http.StatusConflict {
		t.Errorf("no dropbox: %d %s, want 409", r.Status, r.Body)
	}
}

// TestMailDropboxErasure: erasing a candidate removes the kept subjects of its
// emails, and later mail from its address matches no candidate.
func TestMailDropboxErasure(t *testing.T) {
	srv := mailServer(t, map[string]string{"GOODWILL_MAIL_KEEP": "subject"}, service.Options{})
	w := newMailWorld(t, srv)
	addr := srv.Server.MailAddr()
	w.apply(t, "app-zoe", "cand-zoe", "zoe@example.com", "ann", time.Now().Add(-time.Hour))
	msg := mailMsg{From: "ann@acme.test", To: "zoe@example.com", MessageID: "e1@acme.test", Date: time.Now()}
	if err := send(t, addr, "ann@acme.test", []string{w.address["ann"]}, msg.bytes()); err != nil {
		t.Fatal(err)
	}
	if got := w.waitEmails(t, "app-zoe", 1); len(got[0].Metadata) == 0 {
		t.Fatalf("no subject kept: %+v", got[0])
	}
	r := srv.Do(t, http.MethodPost, "/v1/erasures", servicetest.AdminKey, map[string]string{"email": "zoe@example.com"})
	if r.Status != http.StatusAccepted {
		t.Fatalf("erasure: %d %s", r.Status, r.Body)
	}
	id := r.Map(t)["id"].(string)
	servicetest.Eventually(t, 0, "erasure done", func() bool {
		return srv.Do(t, http.MethodGet, "/v1/erasures/"+id, servicetest.AdminKey, nil).Map(t)["state"] == "done"
	})
	servicetest.Eventually(t, 0, "subject erased", func() bool {
		e := w.emails(t, "app-zoe")
		return len(e) == 1 && len(e[0].Metadata) == 0
	})
	reply := mailMsg{From: "zoe@example.com", To: "ann@acme.test", MessageID: "e2@example.com", Date: time.Now()}
	if err := send(t, addr, "zoe@example.com", []string{w.address["ann"]}, reply.bytes()); err != nil {
		t.Fatal(err)
	}
	if n := len(w.logged(t, "app-zoe")); n != 1 {
		t.Errorf("after the erasure, %d email touchpoints, want 1: the erased address matches no candidate", n)
	}
}
