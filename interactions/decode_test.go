package interactions

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Duration
		ok   bool
	}{
		{"2d", Duration{Days: 2}, true},                                                    // days stay days
		{"36h", Duration{Rest: 36 * time.Hour}, true},                                      // hours are not folded into days
		{"1d12h30m15s", Duration{1, 12*time.Hour + 30*time.Minute + 15*time.Second}, true}, // all parts
		{"0s", Duration{}, true},                                                           // zero is written 0s
		{"", Duration{}, false},                                                            // empty
		{"2", Duration{}, false},                                                           // no unit
		{"1h2d", Duration{}, false},                                                        // out of order
		{"-1d", Duration{}, false},                                                         // negative
		{"999999d", Duration{}, false},                                                     // too large
		{"1.5h", Duration{}, false},                                                        // fractions
		{"100000h59m59s", Duration{Rest: 100000*time.Hour + 59*time.Minute + 59*time.Second}, true}, // the most hours
		{"100000h60m", Duration{}, false}, // more hours in all than the bound: its String would not parse back
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			if back, _ := ParseDuration(got.String()); back != got {
				t.Errorf("%q does not round-trip through %q", tc.in, got.String())
			}
		}
	}
}

func TestParseWriteSingleAndBatch(t *testing.T) {
	t.Parallel()
	one := `{"application_id":"a","candidate_id":"c","kind":"message","direction":"inbound","occurred_at":"2026-11-02T10:00:00Z"}`
	items, batch, err := ParseWrite([]byte(one), "retry-7", now)
	if err != nil || batch || len(items) != 1 {
		t.Fatalf("single: %v %v %v", items, batch, err)
	}
	if it := items[0]; it.ExternalID != "retry-7" || it.Key != "api:retry-7" || it.Source != "api" || !it.ReceivedAt.Equal(now) {
		t.Fatalf("single item %+v", it)
	}
	items, batch, err = ParseWrite([]byte(`{"interactions":[`+one+`,`+one+`]}`), "retry-8", now)
	if err != nil || !batch || len(items) != 2 {
		t.Fatalf("batch: %v %v %v", items, batch, err)
	}
	if got := []string{items[0].Key, items[1].Key}; !cmp.Equal(got, []string{"api:retry-8:0", "api:retry-8:1"}) {
		t.Fatalf("batch keys %v", got)
	}
	// Every bad item of a batch is reported, by index.
	_, _, err = ParseWrite([]byte(`{"interactions":[{"kind":"x"},`+one+`,{"kind":"message"}]}`), "", now)
	var fields []string
	for _, f := range err.(*Error).Fields {
		fields = append(fields, f.Field)
	}
	for _, want := range []string{"interactions[0].kind", "interactions[0].application_id", "interactions[2].direction"} {
		if !strings.Contains(strings.Join(fields, " "), want) {
			t.Errorf("fields %v lack %s", fields, want)
		}
	}
}

func TestIsContact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		it   Interaction
		want bool
	}{
		{Interaction{Kind: KindMessage, Direction: Outbound}, true},               // an outbound message
		{Interaction{Kind: KindMessage, Direction: Inbound}, false},               // the candidate writing
		{Interaction{Kind: KindCall, Direction: Internal}, false},                 // a call among the team
		{Interaction{Kind: KindInterviewScheduled}, true},                         // scheduling tells the candidate
		{Interaction{Kind: KindInterviewCanceled}, false},                         // unless they were notified
		{Interaction{Kind: KindInterviewCanceled, CandidateNotified: true}, true}, // notified
		{Interaction{Kind: KindRejected}, false},                                  // a silent rejection
		{Interaction{Kind: KindRejected, CandidateNotified: true}, true},          // the rejection email went out
		{Interaction{Kind: KindHired}, true},                                      // a hire
		{Interaction{Kind: KindNote}, false},                                      // a note
	} {
		if got := tc.it.IsContact(); got != tc.want {
			t.Errorf("%s %s notified=%v: IsContact %v, want %v", tc.it.Kind, tc.it.Direction, tc.it.CandidateNotified, got, tc.want)
		}
	}
}

func TestDeriveApplicationOrderFree(t *testing.T) {
	t.Parallel()
	at := func(h int) time.Time { return time.Date(2026, 11, 2, h, 0, 0, 0, time.UTC) }
	events := []Interaction{
		{ID: "1", Kind: KindApplicationReceived, OccurredAt: at(9), CandidateID: "c", RecruiterID: "r1", Source: "greenhouse"},
		{ID: "2", Kind: KindMessage, Direction: Outbound, OccurredAt: at(10), RecruiterID: "r2"},
		{ID: "3", Kind: KindStageChanged, Stage: "onsite", OccurredAt: at(11)},
		{ID: "4", Kind: KindRejected, OccurredAt: at(12)},
		{ID: "5", Kind: KindUnrejected, OccurredAt: at(13)},
	}
	want := DeriveApplication("app", sortedCopy(events))
	if want.RecruiterID != "r2" || want.Status != StatusOpen || want.Stage != "onsite" || !want.LastContactAt.Equal(at(10)) || want.Source != "greenhouse" {
		t.Fatalf("derived %+v", want)
	}
	// The same events arriving in another order give the same state.
	merged, _ := MergeEvents(nil, []Interaction{events[4], events[2]})
	merged, _ = MergeEvents(merged, []Interaction{events[0], events[3], events[1], events[2]})
	if d := cmp.Diff(want, DeriveApplication("app", merged)); d != "" {
		t.Fatalf("order changed the state (-want +got):\n%s", d)
	}
}

func sortedCopy(in []Interaction) []Interaction {
	out := append([]Interaction(nil), in...)
	SortEvents(out)
	return out
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body  string
		field string // "" = accepted
	}{
		{`{"a":1}`, ""},             // one object
		{" {\"a\":1} \r\n\t", ""},   // JSON's whitespace around it
		{`{"a":1}}`, "body"},        // a stray closing brace after it
		{`{"a":1}]`, "body"},        // a stray closing bracket
		{`{"a":1}{}`, "body"},       // a second value
		{"{\"a\":1}\u00a0", "body"}, // a space JSON does not know
		{`{"b":1}`, "b"},            // an unknown field, by name
		{`{"a":"x"}`, "a"},          // a wrong type, by name
		{`{"":1}`, "body"},          // an unknown field with no name: the object holding it
		{`{"a":`, "body"},           // cut short
	} {
		var v struct {
			A int `json:"a"`
		}
		err := DecodeStrict([]byte(tc.body), &v)
		var e *Error
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("DecodeStrict(%q): %v", tc.body, err)
		case tc.field != "" && (!errors.As(err, &e) || e.Code != CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != tc.field):
			t.Errorf("DecodeStrict(%q) = %v; want invalid field %q", tc.body, err, tc.field)
		}
	}
}
