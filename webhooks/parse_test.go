package webhooks

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions"
)

// TestParseMalformed checks that bodies no vendor could have sent are refused with
// ErrMalformedBody (the HTTP layer answers 400).
func TestParseMalformed(t *testing.T) {
	stdHeader := hdr("webhook-id", "msg_1")
	for _, c := range []struct {
		name string
		r    Receiver
		h    http.Header
		body string
	}{
		// Not JSON.
		{"greenhouse not json", Greenhouse{}, nil, "action=ping"},
		// A JSON array, not an object.
		{"greenhouse array", Greenhouse{}, nil, `[{"action":"ping"}]`},
		// No action.
		{"greenhouse no action", Greenhouse{}, nil, `{"payload":{}}`},
		// A mapped event without its application.
		{"greenhouse no application", Greenhouse{}, nil, `{"action":"reject_candidate","payload":{}}`},
		// An application without a candidate id.
		{"greenhouse no candidate", Greenhouse{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":1}}}`},
		// An id of the wrong JSON type.
		{"greenhouse object id", Greenhouse{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":{},"candidate":{"id":2}}}}`},
		// An id longer than interactions accept.
		{"greenhouse long id", Greenhouse{}, nil, `{"action":"hire_candidate","payload":{"application":{"id":"` + strings.Repeat("9", 250) + `","candidate":{"id":2}}}}`},
		// Lever without an event.
		{"lever no event", Lever{}, nil, `{"token":"t","triggeredAt":1,"data":{"opportunityId":"o"}}`},
		// Lever stage change without the new stage.
		{"lever no stage", Lever{}, nil, `{"event":"candidateStageChange","triggeredAt":1795176000000,"data":{"opportunityId":"o","contactId":"c"}}`},
		// Lever opportunity without a contact or candidate id.
		{"lever no candidate", Lever{}, nil, `{"event":"candidateHired","triggeredAt":1795176000000,"data":{"opportunityId":"o"}}`},
		// Ashby without an action.
		{"ashby no action", Ashby{}, nil, `{"data":{}}`},
		// Ashby application event without its application.
		{"ashby no application", Ashby{}, nil, `{"action":"candidateHire","data":{}}`},
		// Workable without an event type or a label naming one.
		{"workable no event", Workable{}, nil, `{"data":{"id":"x"}}`},
		// Workable without the candidate.
		{"workable no data", Workable{}, nil, `{"event_type":"candidate_created"}`},
		// Standard body that is not an object.
		{"standard array", Standard{}, stdHeader, `[]`},
		// Standard item with an unknown field.
		{"standard unknown field", Standard{}, stdHeader, `{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z","colour":"red"}`},
		// Standard empty batch.
		{"standard empty batch", Standard{}, stdHeader, `{"interactions":[]}`},
		// Standard delivery without webhook-id.
		{"standard no id", Standard{}, nil, `{"application_id":"a"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := c.h
			if h == nil {
				h = http.Header{}
			}
			d, err := c.r.Parse(h, []byte(c.body), testNow)
			if !errors.Is(err, ErrMalformedBody) {
				t.Fatalf("Parse: err %v, want ErrMalformedBody", err)
			}
			if len(d.Items) != 0 {
				t.Fatalf("Parse returned items with an error: %+v", d.Items)
			}
		})
	}
}

// TestStandardFieldErrors checks that a bad item is reported by field, as
// POST /v1/interactions reports it.
func TestStandardFieldErrors(t *testing.T) {
	body := `{"interactions":[{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z"},{"application_id":7}]}`
	_, err := Standard{}.Parse(hdr("webhook-id", "msg_1"), []byte(body), testNow)
	var ie *interactions.Error
	if !errors.As(err, &ie) {
		t.Fatalf("err %v is not an *interactions.Error", err)
	}
	want := []interactions.FieldError{{Field: "interactions[1].application_id", Message: "must be a string"}}
	if diff := cmp.Diff(want, ie.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestStandardKeys checks the idempotency keys of Standard Webhooks items.
func TestStandardKeys(t *testing.T) {
	body := `{"interactions":[
		{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z"},
		{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z","external_id":"e-1"},
		{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z","source":"crm"},
		{"application_id":"a","candidate_id":"c","kind":"note","occurred_at":"2026-11-20T10:00:00Z","source":"crm","external_id":"e-2"}]}`
	d, err := Standard{}.Parse(hdr("webhook-id", "msg_9"), []byte(body), testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"standard:msg_9:0", // neither: standard:<webhook-id>:<index>
		"standard:e-1",     // its own external_id, source defaults to standard
		"crm:msg_9:2",      // its own source, external_id from the delivery
		"crm:e-2",          // its own key
	}
	if diff := cmp.Diff(want, keys(d)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

// TestLeverHiredArchiveReason checks that archiving with a hired reason is not a
// rejection.
func TestLeverHiredArchiveReason(t *testing.T) {
	body := readFixture(t, "testdata/lever/candidateArchiveChange.json")
	d, err := Lever{HiredArchiveReasons: []string{"63dd55b2-a99f-4e7b-985f-22c7bf80ab42"}}.Parse(nil, body, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if d.Ignored == "" || len(d.Items) != 0 {
		t.Fatalf("got %+v, want ignored", d)
	}
}

// TestContactDetails checks how contact details are cleaned.
func TestContactDetails(t *testing.T) {
	for _, c := range []struct {
		name, mail, phone string
		want              *interactions.Person
	}{
		// Formatting is removed from an international number.
		{"Ada", "ada@example.com", "+1 (415) 555-0100", &interactions.Person{Name: "Ada", Email: "ada@example.com", Phone: "+14155550100"}},
		// A national number cannot be made E.164 without guessing: dropped.
		{"Ada", "", "415-555-0100", &interactions.Person{Name: "Ada"}},
		// An address with a space is not valid: dropped.
		{"", "hank.von diablo@example.com", "", nil},
		// A display-name address is not a bare address: dropped.
		{"", "Ada <ada@example.com>", "", nil},
		// Control characters in names become spaces, then are trimmed.
		{"Ada\n", "", "", &interactions.Person{Name: "Ada"}},
		// A too-long name is cut to 500 bytes.
		{strings.Repeat("é", 300), "", "", &interactions.Person{Name: strings.Repeat("é", 250)}},
	} {
		got := contact(c.name, c.mail, c.phone)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("contact(%q, %q, %q) (-want +got):\n%s", c.name, c.mail, c.phone, diff)
		}
	}
}

// TestUnknownEvents checks that valid but unknown events are ignored with a reason.
func TestUnknownEvents(t *testing.T) {
	for _, c := range []struct {
		r    Receiver
		body string
	}{
		{Greenhouse{}, `{"action":"job_created","payload":{"job":{"id":1}}}`},                                       // a job event
		{Lever{}, `{"event":"somethingNew","triggeredAt":1,"data":{}}`},                                             // a future Lever event
		{Ashby{}, `{"action":"jobPostingPublish","data":{}}`},                                                       // a posting event
		{Workable{}, `{"event_type":"employee_created","data":{"id":"e"}}`},                                         // an employee event
		{Ashby{}, `{"action":"interviewScheduleUpdate","data":{"interviewSchedule":{"status":"NeedsScheduling"}}}`}, // not yet scheduled
	} {
		d, err := c.r.Parse(http.Header{}, []byte(c.body), testNow)
		if err != nil || d.Ignored == "" || len(d.Items) > 0 {
			t.Errorf("%s %s: got %+v, %v; want ignored", c.r.Source(), c.body, d, err)
		}
	}
}

func TestByName(t *testing.T) {
	for _, name := range []string{"greenhouse", "lever", "ashby", "workable", "standard"} {
		r, ok := ByName(name)
		if !ok || r.Source() != name {
			t.Errorf("ByName(%q) = %v, %v", name, r, ok)
		}
	}
	if _, ok := ByName("twilio"); ok {
		t.Error("ByName(twilio) found a receiver")
	}
}
