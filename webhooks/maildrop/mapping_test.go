package maildrop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// fakeBook is an in-memory contact lookup and directory.
type fakeBook struct {
	candidates map[string][]string                      // email → candidate ids
	apps       map[string][]interactions.ApplicationRef // candidate id → applications
	recruiters map[string][]string                      // email → recruiter ids
}

func (f fakeBook) CandidatesByEmail(_ context.Context, email string) ([]string, error) {
	return f.candidates[strings.ToLower(email)], nil
}

func (f fakeBook) Applications(_ context.Context, ids []string) ([]interactions.ApplicationRef, error) {
	var out []interactions.ApplicationRef
	for _, id := range ids {
		out = append(out, f.apps[id]...)
	}
	return out, nil
}

func (f fakeBook) RecruitersByEmail(_ context.Context, email string) ([]string, error) {
	return f.recruiters[strings.ToLower(email)], nil
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func testBook() fakeBook {
	return fakeBook{
		candidates: map[string][]string{"zoe@example.com": {"c-zoe"}, "max@example.com": {"c-max"}, "solo@example.com": {"c-solo"}},
		apps: map[string][]interactions.ApplicationRef{
			"c-zoe": {{ID: "a-zoe", CandidateID: "c-zoe", RecruiterID: "ann", Status: interactions.StatusOpen, LastEventAt: t0}},
			"c-max": {
				{ID: "a-max-ann", CandidateID: "c-max", RecruiterID: "ann", Status: interactions.StatusOpen, LastEventAt: t0.Add(-time.Hour)},
				{ID: "a-max-bob", CandidateID: "c-max", RecruiterID: "bob", Status: interactions.StatusOpen, LastEventAt: t0},
			},
		},
		recruiters: map[string][]string{"ann@acme.test": {"ann"}, "bob@acme.test": {"bob"}},
	}
}

func TestMap(t *testing.T) {
	book := testBook()
	mp := &Mapper{Candidates: book, Recruiters: book, SenderDomains: []string{"acme.test"}, Domain: "log.acme.test"}
	received := t0.Add(time.Hour)
	cases := []struct {
		name      string
		msg       Message
		env       Envelope
		direction interactions.Direction
		apps      []string // the applications written, in order ("candidate <id>": candidate-level)
		actor     string
		ignored   string // a part of the reason
	}{
		// A recruiter's mail to a candidate, BCC'd to its address.
		{"outbound", Message{From: "ann@acme.test", To: []string{"zoe@example.com"}, MessageID: "m1"},
			Envelope{ReturnPath: "ann@acme.test", Recruiters: []string{"ann"}}, interactions.Outbound, []string{"a-zoe"}, "ann", ""},
		// Several candidates among To and Cc: one each; the org's own addresses are no candidates.
		{"several", Message{From: "ann@acme.test", To: []string{"zoe@example.com", "bob@acme.test"}, Cc: []string{"max@example.com"}, MessageID: "m2"},
			Envelope{ReturnPath: "x", Recruiters: []string{"ann"}}, interactions.Outbound, []string{"a-zoe", "a-max-ann"}, "ann", ""},
		// Through log@, the directory names the sender.
		{"org-wide outbound", Message{From: "bob@acme.test", To: []string{"max@example.com"}, MessageID: "m3"},
			Envelope{ReturnPath: "x", OrgWide: true}, interactions.Outbound, []string{"a-max-bob"}, "bob", ""},
		// A candidate's reply to bob: bob's application.
		{"inbound", Message{From: "max@example.com", To: []string{"bob@acme.test"}, MessageID: "m4"},
			Envelope{ReturnPath: "x", Recruiters: []string{"bob"}}, interactions.Inbound, []string{"a-max-bob"}, "", ""},
		// Addressed to nobody known: the newest open application.
		{"inbound, newest open", Message{From: "max@example.com", To: []string{"someone@acme.test"}, MessageID: "m5"},
			Envelope{ReturnPath: "x", OrgWide: true}, interactions.Inbound, []string{"a-max-bob"}, "", ""},
		{"auto-reply", Message{From: "zoe@example.com", AutoSubmitted: "auto-replied"},
			Envelope{ReturnPath: "x"}, "", nil, "", "Auto-Submitted"},
		{"auto-submitted no", Message{From: "zoe@example.com", To: []string{"ann@acme.test"}, AutoSubmitted: "no", MessageID: "m6"},
			Envelope{ReturnPath: "x", Recruiters: []string{"ann"}}, interactions.Inbound, []string{"a-zoe"}, "", ""},
		{"list", Message{From: "zoe@example.com", Precedence: "list"}, Envelope{ReturnPath: "x"}, "", nil, "", "Precedence"},
		{"bounce", Message{From: "mailer-daemon@example.com"}, Envelope{}, "", nil, "", "empty return path"},
		{"report", Message{From: "zoe@example.com", ContentType: "multipart/report"}, Envelope{ReturnPath: "x"}, "", nil, "", "multipart/report"},
		{"no candidate", Message{From: "ann@acme.test", To: []string{"nobody@example.com"}}, Envelope{ReturnPath: "x", Recruiters: []string{"ann"}}, "", nil, "", "no recipient"},
		// A candidate with no application (a pool member, say): a candidate-level touch.
		{"no application, inbound", Message{From: "solo@example.com", To: []string{"ann@acme.test"}, MessageID: "m7"},
			Envelope{ReturnPath: "x", Recruiters: []string{"ann"}}, interactions.Inbound, []string{"candidate c-solo"}, "", ""},
		{"no application, outbound", Message{From: "ann@acme.test", To: []string{"solo@example.com", "zoe@example.com"}, MessageID: "m8"},
			Envelope{ReturnPath: "x", Recruiters: []string{"ann"}}, interactions.Outbound, []string{"candidate c-solo", "a-zoe"}, "ann", ""},
		{"stranger via log@", Message{From: "spam@example.net", To: []string{"zoe@example.com"}}, Envelope{ReturnPath: "x", OrgWide: true}, "", nil, "", "neither"},
	}
	for _, c := range cases {
		c.env.ReceivedAt = received
		got, err := mp.Map(context.Background(), c.msg, c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.ignored != "" {
			if !strings.Contains(got.Ignored, c.ignored) || len(got.Items) != 0 {
				t.Errorf("%s: %+v, want ignored naming %q", c.name, got, c.ignored)
			}
			continue
		}
		var apps []string
		for _, it := range got.Items {
			if it.ApplicationID == "" {
				apps = append(apps, "candidate "+it.CandidateID)
			} else {
				apps = append(apps, it.ApplicationID)
			}
			if it.Direction != string(c.direction) || it.ActorID != c.actor || it.Source != "email" || it.Channel != "email" ||
				it.ExternalID != c.msg.MessageID+":"+it.CandidateID+":"+string(c.direction) || it.OccurredAt != interactions.APITime(received) {
				t.Errorf("%s: item %+v", c.name, it)
			}
		}
		if strings.Join(apps, ",") != strings.Join(c.apps, ",") || got.Ignored != "" {
			t.Errorf("%s: applications %v (ignored %q), want %v", c.name, apps, got.Ignored, c.apps)
		}
	}
}

func TestOccurredAt(t *testing.T) {
	recv := t0
	for _, c := range []struct {
		name string
		date time.Time
		want time.Time
	}{
		{"recent", recv.Add(-time.Hour), recv.Add(-time.Hour)},
		{"exactly 24h", recv.Add(-24 * time.Hour), recv.Add(-24 * time.Hour)},
		{"older than 24h", recv.Add(-24*time.Hour - time.Second), recv},
		{"after receipt", recv.Add(time.Second), recv},
		{"missing", time.Time{}, recv},
	} {
		if got := OccurredAt(c.date, recv); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPickApplication(t *testing.T) {
	open := func(id, rec string, age time.Duration) interactions.ApplicationRef {
		return interactions.ApplicationRef{ID: id, RecruiterID: rec, Status: interactions.StatusOpen, LastEventAt: t0.Add(-age)}
	}
	closed := func(id, rec string, age time.Duration) interactions.ApplicationRef {
		a := open(id, rec, age)
		a.Status = interactions.StatusRejected
		return a
	}
	for _, c := range []struct {
		name      string
		apps      []interactions.ApplicationRef
		recruiter string
		want      string
	}{
		{"the recruiter's open one", []interactions.ApplicationRef{open("a", "bob", 0), open("b", "ann", time.Hour)}, "ann", "b"},
		{"else the newest open", []interactions.ApplicationRef{open("a", "bob", time.Hour), open("b", "bob", 0), closed("c", "ann", 0)}, "ann", "b"},
		{"the recruiter's closed one does not win", []interactions.ApplicationRef{closed("a", "ann", 0), open("b", "bob", time.Hour)}, "ann", "b"},
		{"else the newest", []interactions.ApplicationRef{closed("a", "ann", time.Hour), closed("b", "bob", 0)}, "ann", "b"},
		{"none", nil, "ann", ""},
	} {
		got, _ := PickApplication(c.apps, c.recruiter)
		if got.ID != c.want {
			t.Errorf("%s: %q, want %q", c.name, got.ID, c.want)
		}
	}
}

func TestAligned(t *testing.T) {
	for _, c := range []struct {
		signer, domain string
		want           bool
	}{
		{"example.com", "example.com", true},
		{"mail.example.com", "example.com", true},
		{"example.com", "eu.example.com", true},
		{"example.org", "example.com", false},
		{"example.co.uk", "other.co.uk", false},
		{"co.uk", "example.co.uk", false},
		{"", "example.com", false},
	} {
		if got := Aligned(c.signer, c.domain); got != c.want {
			t.Errorf("Aligned(%q, %q) = %v, want %v", c.signer, c.domain, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	raw := "From: =?ISO-8859-1?Q?Zo=EB?= <Zoe@Example.COM>\r\n" +
		"To: Ann <ann@acme.test>,\r\n \"Bob, B.\" <bob@acme.test>\r\n" +
		"Cc: max@example.com\r\n" +
		"Subject: =?UTF-8?B?UmU6IHlvdXIgYXBwbGljYXRpb24=?=\r\n =?UTF-8?Q?_=E2=80=94_thanks?=\r\n" +
		"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\n" +
		"Message-ID: <abc@example.com>\r\n" +
		"Auto-Submitted: No\r\n" +
		"Content-Type: multipart/alternative; boundary=x\r\n\r\n--x--\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "zoe@example.com" || strings.Join(m.To, ",") != "ann@acme.test,bob@acme.test" || strings.Join(m.Cc, ",") != "max@example.com" ||
		m.Subject != "Re: your application — thanks" || !m.Date.Equal(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) ||
		m.MessageID != "abc@example.com" || m.AutoSubmitted != "no" || m.ContentType != "multipart/alternative" {
		t.Errorf("Parse = %+v", m)
	}
	for _, bad := range []string{"", "no header", "To: a@b.c\r\n\r\nbody"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

func TestToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := NewToken()
		if !ValidToken(tok) || len(tok)*5 < 128 || seen[tok] {
			t.Fatalf("token %q: invalid, under 128 bits or repeated", tok)
		}
		seen[tok] = true
	}
	for _, bad := range []string{"", strings.Repeat("a", 31), strings.Repeat("A", 32), strings.Repeat("1", 32), strings.Repeat("a", 33)} {
		if ValidToken(bad) {
			t.Errorf("ValidToken(%q) = true", bad)
		}
	}
}
