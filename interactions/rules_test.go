package interactions

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReserved(t *testing.T) {
	for _, s := range []string{"greenhouse", "lever", "ashby", "workable", "standard", "twilio", "email", "slack", "queue", "sync"} {
		if !Reserved(s) {
			t.Errorf("%s is not reserved", s)
		}
	}
	for _, s := range []string{"api", "import", "greenhouse-legacy", "", "Greenhouse"} {
		if Reserved(s) {
			t.Errorf("%q is reserved", s)
		}
	}
}

// fieldsOf returns the fields an error names, and its code.
func fieldsOf(err error) (Code, []string) {
	var e *Error
	if !errors.As(err, &e) {
		return ErrorCode(err), nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return e.Code, out
}

func TestSelfReported(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		age       time.Duration
		backdated bool
		invalid   bool
	}{
		{"just now", 0, false, false},
		{"in the future, within the 5 minutes allowed", -2 * time.Minute, false, false},
		{"15 minutes old is not late yet", 15 * time.Minute, false, false},
		{"a second more is backdated", 15*time.Minute + time.Second, true, false},
		{"a day old is the oldest allowed", 24 * time.Hour, true, false},
		{"older than a day is refused", 24*time.Hour + time.Millisecond, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := []Interaction{{ReceivedAt: now, OccurredAt: now.Add(-tc.age)}}
			err := SelfReported(items, false)
			if tc.invalid {
				code, fields := fieldsOf(err)
				if code != CodeInvalid || !cmp.Equal(fields, []string{"occurred_at"}) {
					t.Fatalf("err %v: code %s, fields %v", err, code, fields)
				}
				return
			}
			if err != nil || items[0].Backdated != tc.backdated {
				t.Fatalf("err %v, backdated %v; want %v", err, items[0].Backdated, tc.backdated)
			}
		})
	}
	// In a batch, every refused item is named by its index.
	items := []Interaction{
		{ReceivedAt: now, OccurredAt: now},
		{ReceivedAt: now, OccurredAt: now.Add(-48 * time.Hour)},
		{ReceivedAt: now, OccurredAt: now.Add(-30 * time.Hour)},
	}
	_, fields := fieldsOf(SelfReported(items, true))
	if want := []string{"interactions[1].occurred_at", "interactions[2].occurred_at"}; !cmp.Equal(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
}

func TestHoldAtMost90Days(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	occurred := now.Add(-time.Hour)
	for _, tc := range []struct {
		name  string
		until time.Time
		ok    bool
	}{
		{"90 days", occurred.Add(MaxHold), true},
		{"a second more", occurred.Add(MaxHold + time.Second), false},
		{"a year", occurred.AddDate(1, 0, 0), false},
	} {
		in := Input{ApplicationID: "a", CandidateID: "c", Kind: "hold", OccurredAt: occurred.Format(time.RFC3339),
			Until: tc.until.Format(time.RFC3339)}
		_, errs := in.Validate("interactions[4].", now)
		switch {
		case tc.ok && len(errs) > 0:
			t.Errorf("%s: %v", tc.name, errs)
		case !tc.ok && (len(errs) != 1 || errs[0].Field != "interactions[4].until"):
			t.Errorf("%s: %v, want an error on interactions[4].until", tc.name, errs)
		}
	}
}

// TestWriterKeyBelongsToItsApplication: an idempotency key repeated for another
// application is a conflict that names the item and says nothing of the original;
// a batch with one is refused before anything of it is written.
func TestWriterKeyBelongsToItsApplication(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	p := newPipeline(t, time.Now)
	ctx := context.Background()
	item := func(app, ext string) Interaction {
		it, errs := Input{ApplicationID: app, CandidateID: "c-" + app, Kind: "note", ExternalID: ext,
			OccurredAt: now.Format(time.RFC3339Nano), Candidate: &Person{Name: "Name of " + app}}.Validate("", now)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		return it
	}
	first, err := p.writer.Write(ctx, []Interaction{item("app-a", "k1")})
	if err != nil {
		t.Fatal(err)
	}
	stored := func(keys ...string) int {
		t.Helper()
		found, err := p.store.ByKeys(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		return len(found)
	}

	// The same application repeats it: a duplicate, answered with the original.
	dup, err := p.writer.Write(ctx, []Interaction{item("app-a", "k1")})
	if err != nil || !dup[0].Duplicate || dup[0].ID != first[0].ID {
		t.Fatalf("repeat: %+v, %v", dup, err)
	}
	for _, tc := range []struct {
		name   string
		write  func(context.Context, []Interaction) ([]Interaction, error)
		items  []Interaction
		field  string
		unused []string // keys of the write that must stay unwritten
	}{
		{"a single item", p.writer.Write, []Interaction{item("app-b", "k1")}, "external_id", nil},
		{"a batch of one", p.writer.WriteBatch, []Interaction{item("app-b", "k1")}, "interactions[0].external_id", nil},
		{"a batch, the stored key second", p.writer.Write,
			[]Interaction{item("app-b", "k2"), item("app-b", "k1"), item("app-b", "k3")}, "interactions[1].external_id", []string{"api:k2", "api:k3"}},
		{"a batch using one new key for two applications", p.writer.Write,
			[]Interaction{item("app-c", "k4"), item("app-d", "k4")}, "interactions[1].external_id", []string{"api:k4"}},
	} {
		_, err := p.writer.Write(ctx, nil) // an empty write is harmless
		if err != nil {
			t.Fatal(err)
		}
		out, err := tc.write(ctx, tc.items)
		code, fields := fieldsOf(err)
		if code != CodeConflict || !cmp.Equal(fields, []string{tc.field}) {
			t.Errorf("%s: %+v, %v (code %s, fields %v); want a conflict on %s", tc.name, out, err, code, fields, tc.field)
		}
		if err != nil && strings.Contains(err.Error(), "app-a") {
			t.Errorf("%s: the error tells of the original: %v", tc.name, err)
		}
		if len(tc.unused) > 0 && stored(tc.unused...) != 0 {
			t.Errorf("%s: part of the refused batch was written", tc.name)
		}
	}
	// Concurrent writes of one key for two applications: one is stored, the other
	// refused.
	results := make(chan error, 2)
	for _, app := range []string{"app-e", "app-f"} {
		go func() {
			_, err := p.writer.Write(ctx, []Interaction{item(app, "k5"), item(app, "k6-"+app)})
			results <- err
		}()
	}
	var codes []Code
	for range 2 {
		codes = append(codes, ErrorCode(<-results))
	}
	if (codes[0] == CodeConflict) == (codes[1] == CodeConflict) {
		t.Fatalf("concurrent writes of one key: %v; want exactly one conflict", codes)
	}
}

// TestProjectorErasureForgetsDetails: after an erasure, the projector keeps none of
// the person's details in memory.
func TestProjectorErasureForgetsDetails(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	p := newPipeline(t, time.Now)
	person := &Person{Name: "Ada Lovelace", Email: "Ada@Example.com", Phone: "+14155550100"}
	p.write(t, now,
		Input{ApplicationID: "a1", CandidateID: "c1", Kind: "application_received", OccurredAt: now.Format(time.RFC3339), Candidate: person},
		Input{ApplicationID: "a2", CandidateID: "c2", Kind: "application_received", OccurredAt: now.Format(time.RFC3339), Candidate: &Person{Name: "Grace Hopper", Phone: "+14155550101"}},
	)
	remembered := func() string {
		out := make(chan string)
		p.projector.requests <- func() {
			var b strings.Builder
			for k, v := range p.projector.written {
				b.WriteString(k + "=" + strings.Join([]string{v["name"], v["email"], v["phone"]}, ",") + ";")
			}
			out <- b.String()
		}
		return <-out
	}
	if got := remembered(); !strings.Contains(got, "Ada Lovelace") || !strings.Contains(got, "+14155550100") {
		t.Fatalf("the cache lacks what the test erases: %q", got)
	}
	ctx := context.Background()
	target := ErasureTarget{CandidateIDs: []string{"c1"}, Emails: []string{"ada@example.com"}, Phones: []string{"+14155550100"}}
	if err := p.projector.Erase(ctx, target); err != nil {
		t.Fatal(err)
	}
	got := remembered()
	for _, s := range []string{"Ada", "ada@", "+14155550100", "\x00c1"} {
		if strings.Contains(strings.ToLower(got), strings.ToLower(s)) {
			t.Errorf("the projector still remembers %q: %q", s, got)
		}
	}
	if !strings.Contains(got, "Grace Hopper") {
		t.Errorf("the projector forgot someone else: %q", got)
	}
}

// TestWriterKeyCheckedWhileTheLastGroupIsWritten: the writer looks up a group's keys
// while the group before it is still being written, and adds what that one stores
// before judging, so a key the earlier group writes is known to the later one: for
// another application the later batch is refused whole, with nothing of it written;
// for the same application its item is the earlier one's duplicate.
func TestWriterKeyCheckedWhileTheLastGroupIsWritten(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	ctx := context.Background()
	item := func(app, ext string) Interaction {
		it, errs := Input{ApplicationID: app, CandidateID: "c-" + app, Kind: "note", ExternalID: ext,
			OccurredAt: now.Format(time.RFC3339Nano)}.Validate("", now)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		return it
	}
	for _, tc := range []struct {
		name     string
		app      string // of the later batch; the earlier one's is app-a
		conflict bool
	}{
		{"another application", "app-b", true},
		{"the same application", "app-a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipeline(t, time.Now)
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			p.writer.beforeInsert = func() { // holds the first group before its insert
				once.Do(func() {
					close(entered)
					<-release
				})
			}
			k1, k2, k3 := tc.app+"-1", tc.app+"-2", tc.app+"-3"
			earlier := make(chan []Interaction, 1)
			go func() {
				out, err := p.writer.Write(ctx, []Interaction{item("app-a", k1), item("app-a", k2)})
				if err != nil {
					t.Error(err)
				}
				earlier <- out
			}()
			<-entered
			later := make(chan error, 1)
			var laterOut []Interaction
			go func() {
				var err error
				laterOut, err = p.writer.Write(ctx, []Interaction{item(tc.app, k1), item(tc.app, k3)})
				later <- err
			}()
			// The later group is taken and its keys looked up (nothing stored yet)
			// while the first waits.
			for len(p.writer.reqs) > 0 {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			close(release)
			first := <-earlier
			err := <-later
			code, fields := fieldsOf(err)
			switch {
			case tc.conflict && (code != CodeConflict || !cmp.Equal(fields, []string{"interactions[0].external_id"})):
				t.Fatalf("later batch: %v (code %s, fields %v); want a conflict on interactions[0].external_id", err, code, fields)
			case tc.conflict:
				if found, err := p.store.ByKeys(ctx, []string{"api:" + k3}); err != nil || len(found) != 0 {
					t.Errorf("part of the refused batch was written: %v %v", found, err)
				}
			case err != nil:
				t.Fatal(err)
			case !laterOut[0].Duplicate || laterOut[0].ID != first[0].ID || laterOut[1].Duplicate:
				t.Errorf("later batch: %+v; want its first item the duplicate of %s, its second stored", laterOut, first[0].ID)
			}
		})
	}
}

// TestWriterGroupsWhatCameDuringAnInsert: writes that come while a group is being
// inserted are written together next, in one group with the write the writer had
// taken already, not one group later.
func TestWriterGroupsWhatCameDuringAnInsert(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	p := newPipeline(t, time.Now)
	entered, release := make(chan struct{}), make(chan struct{})
	var inserts atomic.Int32
	p.writer.beforeInsert = func() {
		if inserts.Add(1) == 1 { // holds the first group
			close(entered)
			<-release
		}
	}
	done := make(chan error, 3)
	write := func(ext string) { // returns once the write is queued
		it, errs := Input{ApplicationID: "app-g", CandidateID: "c-g", Kind: "note", ExternalID: ext,
			OccurredAt: now.Format(time.RFC3339Nano)}.Validate("", now)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		req := &writeReq{items: []Interaction{it}, done: make(chan struct{})}
		p.writer.reqs <- req
		go func() {
			<-req.done
			done <- req.err
		}()
	}
	write("g-1")
	<-entered
	write("g-2")
	for len(p.writer.reqs) > 0 { // taken as the next group's first
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // which then waits for the first group
	write("g-3")
	close(release)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := inserts.Load(); n != 2 {
		t.Errorf("%d inserts, want 2: the writes that came during the first were not written together", n)
	}
}
