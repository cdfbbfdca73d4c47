package alerts

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
	"github.com/goodwillhq/goodwill/sla"
)

// rfc3339 parses an RFC 3339 time.
func rfc3339(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestDigestDue: the digest's time is read in the recruiter's zone (the
// organisation's when it has none), on its working days, across daylight-saving
// changes.
func TestDigestDue(t *testing.T) {
	t.Parallel()
	on := func(tz, at string, days ...string) directory.Recruiter {
		r := directory.Recruiter{ID: "r", Timezone: tz, Digest: directory.Digest{Enabled: true, At: at}, WorkingDays: days}
		if errs := r.Validate(nil); len(errs) > 0 {
			t.Fatal(errs)
		}
		return r
	}
	berlin := zone(t, "Europe/Berlin")
	for _, tc := range []struct {
		name string
		r    directory.Recruiter
		org  *time.Location
		now  string
		day  string // "" when not due
	}{
		// New York, 08:30 by default: EST (UTC-5) on Friday 6 March 2026 …
		{"New York before, EST", on("America/New_York", ""), nil, "2026-03-06T13:29:00Z", ""},
		{"New York at, EST", on("America/New_York", ""), nil, "2026-03-06T13:30:00Z", "2026-03-06"},
		// … EDT (UTC-4) from Sunday 8 March: Monday's digest comes an hour earlier in UTC.
		{"New York before, EDT", on("America/New_York", ""), nil, "2026-03-09T12:29:00Z", ""},
		{"New York at, EDT", on("America/New_York", ""), nil, "2026-03-09T12:30:00Z", "2026-03-09"},
		{"New York later that day", on("America/New_York", ""), nil, "2026-03-10T03:59:00Z", "2026-03-09"},
		// Berlin leaves summer time on Sunday 25 October 2026.
		{"Berlin at, CEST", on("Europe/Berlin", "07:00"), nil, "2026-10-23T05:00:00Z", "2026-10-23"},
		{"Berlin before, CET", on("Europe/Berlin", "07:00"), nil, "2026-10-26T05:59:00Z", ""},
		{"Berlin at, CET", on("Europe/Berlin", "07:00"), nil, "2026-10-26T06:00:00Z", "2026-10-26"},
		// Tokyo's Tuesday morning is Monday evening in UTC: the day is Tokyo's.
		{"Tokyo", on("Asia/Tokyo", "08:30"), nil, "2026-03-09T23:30:00Z", "2026-03-10"},
		{"Tokyo, a minute before", on("Asia/Tokyo", "08:30"), nil, "2026-03-09T23:29:00Z", ""},
		// Working days are the recruiter's, in its zone.
		{"Saturday", on("America/New_York", ""), nil, "2026-03-07T15:00:00Z", ""},
		{"Saturday, a working day", on("America/New_York", "", "sat"), nil, "2026-03-07T15:00:00Z", "2026-03-07"},
		{"Friday evening in New York is Saturday in UTC", on("America/New_York", "", "fri"), nil, "2026-03-07T02:00:00Z", "2026-03-06"},
		// No zone of its own: the organisation's.
		{"the organisation's zone", on("", "09:00"), berlin, "2026-10-26T07:59:00Z", ""},
		{"the organisation's zone, at", on("", "09:00"), berlin, "2026-10-26T08:00:00Z", "2026-10-26"},
		{"no zone at all: UTC", on("", "09:00"), nil, "2026-10-26T09:00:00Z", "2026-10-26"},
		// 02:30 does not exist in New York on 8 March 2026: due once the clocks jump.
		{"a time in the spring gap, before", on("America/New_York", "02:30", "sun"), nil, "2026-03-08T06:29:00Z", ""},
		{"a time in the spring gap, after", on("America/New_York", "02:30", "sun"), nil, "2026-03-08T07:30:00Z", "2026-03-08"},
		// Off, or inactive: never.
		{"off", directory.Recruiter{ID: "r", WorkingDays: directory.DefaultWorkingDays}, nil, "2026-03-09T12:00:00Z", ""},
		{"inactive", func() directory.Recruiter { r := on("", ""); r.Active = new(bool); return r }(), nil, "2026-03-09T12:00:00Z", ""},
	} {
		day, due := DigestDue(tc.r, tc.org, rfc3339(tc.now))
		if tc.day == "" && due || tc.day != "" && (!due || day != tc.day) {
			t.Errorf("%s: due %v on %q, want %q", tc.name, due, day, tc.day)
		}
	}
}

// digestHarness runs digests over a real store, with clocks handed in.
type digestHarness struct {
	t      *testing.T
	ctx    context.Context
	dir    *directory.Store
	store  *Store
	email  *fakeEmail
	mu     sync.Mutex
	clocks []sla.OverdueItem
	cfg    DigestConfig
}

func newDigestHarness(t *testing.T) *digestHarness {
	db := storagetest.NewDB(t)
	h := &digestHarness{t: t, ctx: context.Background(), dir: directory.NewStore(db), store: NewStore(db), email: &fakeEmail{}}
	h.cfg = DigestConfig{
		Directory: h.dir, Store: h.store, Email: h.email, Mode: "on",
		Clocks: func(ids []string, until time.Time) []sla.OverdueItem {
			h.mu.Lock()
			defer h.mu.Unlock()
			var out []sla.OverdueItem
			for _, c := range h.clocks {
				if c.RecruiterID == ids[0] && !c.DueAt.After(until) {
					out = append(out, c)
				}
			}
			return out
		},
		Describe: func(_ context.Context, app string) (string, string) {
			return map[string]string{"app-1": "Ada Lovelace", "app-2": "Grace Hopper"}[app], "Engineer"
		},
		Link: func(r, clock string) string { return "https://gw.example/queue?recruiter=" + r + "#" + clock },
		Log:  slog.New(slog.DiscardHandler),
		Now:  time.Now,
	}
	r := directory.Recruiter{ID: "ann", Name: "Ann", Email: "ann@example.com", Timezone: "America/New_York",
		Digest: directory.Digest{Enabled: true, At: "08:00"}}
	if errs := r.Validate(nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := h.dir.Put(h.ctx, r); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *digestHarness) setClocks(cs ...sla.OverdueItem) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clocks = cs
}

// run does a pass of a new Digests (a fresh process) at now.
func (h *digestHarness) run(now string) {
	h.t.Helper()
	if err := NewDigests(h.cfg).Run(h.ctx, rfc3339(now)); err != nil {
		h.t.Fatal(err)
	}
}

func clockDue(id, app, due string) sla.OverdueItem {
	return sla.OverdueItem{RecruiterID: "ann", Clock: sla.Clock{ClockID: id, ApplicationID: app, Metric: sla.MetricFirstResponse, DueAt: rfc3339(due)}}
}

// TestDigests: one email on a working day at the recruiter's time, listing overdue and
// due-today candidates with links; once a day across restarts and replicas; nothing
// when there is nothing to list.
func TestDigests(t *testing.T) {
	t.Parallel()
	h := newDigestHarness(t)
	// Monday 9 March 2026, 08:00 EDT = 12:00 UTC.
	h.setClocks(
		clockDue("c-overdue", "app-1", "2026-03-06T15:00:00Z"),  // Friday: overdue
		clockDue("c-today", "app-2", "2026-03-09T21:00:00Z"),    // 17:00 EDT: due today
		clockDue("c-tomorrow", "app-2", "2026-03-10T13:00:00Z"), // not today
	)
	h.run("2026-03-09T11:59:00Z")
	if n := h.email.numCalls(); n != 0 {
		t.Fatalf("%d emails before the digest's time", n)
	}
	h.run("2026-03-09T12:00:00Z")
	if n := h.email.numCalls(); n != 1 {
		t.Fatalf("%d emails at the digest's time", n)
	}
	m := h.email.sent()[0]
	if m.To != "ann@example.com" || m.Subject != "goodwill digest: 1 overdue, 1 due today" ||
		!strings.Contains(m.Text, "Ada Lovelace (Engineer): first response overdue by 2d 21h https://gw.example/queue?recruiter=ann#c-overdue") ||
		!strings.Contains(m.Text, "Grace Hopper (Engineer): first response due in 9h") ||
		strings.Contains(m.Text, "c-tomorrow") || !strings.Contains(m.HTML, `<a href="https://gw.example/queue?recruiter=ann#c-today">`) {
		t.Fatalf("digest %+v", m)
	}
	// Once a day: later passes, fresh processes and several replicas at once send no more.
	h.run("2026-03-09T12:00:30Z")
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { h.run("2026-03-09T20:00:00Z") })
	}
	wg.Wait()
	if n := h.email.numCalls(); n != 1 {
		t.Fatalf("%d emails on one day", n)
	}
	// Tuesday: the next one.
	h.run("2026-03-10T12:00:00Z")
	if n := h.email.numCalls(); n != 2 {
		t.Fatalf("%d emails after two days", n)
	}
	// Wednesday with nothing to list: no email; once something is due, it goes.
	h.setClocks()
	h.run("2026-03-11T12:00:00Z")
	if n := h.email.numCalls(); n != 2 {
		t.Fatalf("%d emails: an empty digest was sent", n)
	}
	h.setClocks(clockDue("c-later", "app-1", "2026-03-11T20:00:00Z"))
	h.run("2026-03-11T14:00:00Z")
	if n := h.email.numCalls(); n != 3 || h.email.sent()[2].Subject != "goodwill digest: 0 overdue, 1 due today" {
		t.Fatalf("%d emails, last %+v", n, h.email.sent())
	}
	// Saturday is not one of Ann's working days.
	h.run("2026-03-14T14:00:00Z")
	if n := h.email.numCalls(); n != 3 {
		t.Fatalf("%d emails: one on a Saturday", n)
	}
}

// TestDigestsOff: no digest for a recruiter who did not ask, none in "off" mode, and
// only a log line in "log" mode; a digest is never an alert.
func TestDigestsOff(t *testing.T) {
	t.Parallel()
	h := newDigestHarness(t)
	h.setClocks(clockDue("c-overdue", "app-1", "2026-03-06T15:00:00Z"))
	for _, mode := range []string{"off", "log"} {
		h.cfg.Mode = mode
		h.run("2026-03-09T12:00:00Z")
	}
	h.cfg.Mode = "on"
	h.run("2026-03-09T12:00:00Z") // the log mode's pass took the day
	r, _ := h.dir.Get(h.ctx, "ann")
	r.Digest.Enabled = false
	if _, err := h.dir.Put(h.ctx, r); err != nil {
		t.Fatal(err)
	}
	h.run("2026-03-10T12:00:00Z")
	if n := h.email.numCalls(); n != 0 {
		t.Fatalf("%d emails", n)
	}
	if list, err := h.store.List(h.ctx, Filter{}); err != nil || len(list) != 0 {
		t.Fatalf("alerts %v, %v", list, err)
	}
}

// TestDigestTakeover: a digest claimed by a sender that stopped before sending it is
// sent by another once the claim is stale, and only then.
func TestDigestTakeover(t *testing.T) {
	t.Parallel()
	h := newDigestHarness(t)
	h.setClocks(clockDue("c-overdue", "app-1", "2026-03-06T15:00:00Z"))
	d := NewDigests(h.cfg)
	// A sender claimed Monday's digest at 12:00 UTC and stopped.
	if claimed, err := d.claim(h.ctx, "ann|2026-03-09", rfc3339("2026-03-09T12:00:00Z")); err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	h.run("2026-03-09T12:04:59Z")
	if n := h.email.numCalls(); n != 0 {
		t.Fatalf("%d emails while the claim is fresh", n)
	}
	h.run("2026-03-09T12:05:00Z")
	h.run("2026-03-09T12:20:00Z")
	if n := h.email.numCalls(); n != 1 {
		t.Fatalf("%d emails after the takeover", n)
	}
}
