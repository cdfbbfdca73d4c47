package sla

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/interactions"
)

// The bodies of PUT /v1/calendar and PUT /v1/sla/policies/{id} are read as the API
// reads them (interactions.DecodeStrict), then validated. These targets feed them
// arbitrary bytes.

// checkDecodeError fails unless err is a validation error naming at least one field.
func checkDecodeError(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *interactions.Error
	if !errors.As(err, &e) || e.Code != interactions.CodeInvalid || len(e.Fields) == 0 {
		t.Fatalf("decoding %q: %v; want a validation error naming the field", body, err)
	}
	for _, f := range e.Fields {
		if f.Field == "" || f.Message == "" {
			t.Fatalf("decoding %q: field error %+v without a field or a message", body, f)
		}
	}
}

// checkFields fails unless every field error names a field under one of prefixes.
func checkFields(t *testing.T, what string, errs []FieldError, prefixes ...string) {
	t.Helper()
	for _, e := range errs {
		if e.Message == "" || !slices.ContainsFunc(prefixes, func(p string) bool {
			return e.Field == p || strings.HasPrefix(e.Field, p+".") || strings.HasPrefix(e.Field, p+"[")
		}) {
			t.Fatalf("%s: field error %+v names no field of the body", what, e)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzCalendarBody: a calendar body is accepted exactly when it compiles; an accepted
// one reads back the same from its own JSON (what GET /v1/calendar answers and the
// store keeps); and its arithmetic holds from any start: the clock starts at or after
// the start, a zero target is the start of business, and a target of business time
// is exactly that much business time.
func FuzzCalendarBody(f *testing.F) {
	for _, s := range []string{
		`{"timezone":"UTC","hours":{"mon":[["09:00","17:00"]]},"holidays":"","extra_holidays":[]}`,
		`{"timezone":"Europe/London","hours":{"mon":[["09:00","12:00"],["13:00","17:00"]],"tue":[["09:00","17:00"]]},"holidays":"GB","extra_holidays":["2026-12-24"]}`,
		`{"timezone":"America/New_York","hours":{"sun":[["00:00","24:00"]],"sat":[["01:30","03:30"]]},"holidays":"US"}`,
		`{"timezone":"Australia/Lord_Howe","hours":{"fri":[["00:00","02:00"],["02:00","24:00"]]}}`,
		`{"timezone":"Asia/Kolkata","hours":{"wed":[["23:59","24:00"]]},"extra_holidays":["2026-01-07","2026-01-07"]}`,
		`{"timezone":"Local","hours":{"mon":[["09:00","17:00"]]}}`,
		`{"timezone":"UTC","hours":{"mon":[["17:00","09:00"]],"funday":[]}}`,
		`{"timezone":"UTC","hours":{"mon":[["09:00","12:00"],["11:00","13:00"]]}}`,
		`{"timezone":"UTC","hours":{"mon":[["09:00"]]}}`,
		`{"timezone":"UTC","hours":{}}`,
		`{"timezone":"../../etc/passwd","hours":{"mon":[["9:00","24:01"]]},"holidays":"XX","extra_holidays":["2026-02-30"]}`,
		`{"timezone":"UTC","hours":{"mon":[["09:00","17:00"]]},"color":"blue"}`,
		`{"timezone":1}`,
		`[]`, `null`, `{}`, `{"timezone":"UTC"}}`, ``,
	} {
		f.Add([]byte(s), int64(0))
	}
	f.Add([]byte(`{"timezone":"America/New_York","hours":{"sun":[["01:00","04:00"]]}}`), int64(1793512800)) // 2026-11-01, fall back
	f.Add([]byte(`{"timezone":"Europe/Berlin","hours":{"sun":[["01:00","04:00"]]}}`), int64(1774746000))    // 2026-03-29, spring forward
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, offset int64) {
		var cal Calendar
		if err := interactions.DecodeStrict(body, &cal); err != nil {
			checkDecodeError(t, body, err)
			return
		}
		errs := cal.Validate()
		checkFields(t, string(body), errs, "timezone", "hours", "holidays", "extra_holidays")
		if again := cal.Validate(); !slices.Equal(errs, again) {
			t.Fatalf("Validate is not deterministic: %v then %v", errs, again)
		}
		bc, err := cal.Compile()
		if (err == nil) != (len(errs) == 0) {
			t.Fatalf("Validate gives %v but Compile %v", errs, err)
		}
		if err != nil {
			return
		}

		// Its own JSON reads back to the same calendar.
		js := mustJSON(t, cal)
		var back Calendar
		if err := interactions.DecodeStrict(js, &back); err != nil {
			t.Fatalf("the calendar's JSON %s does not read back: %v", js, err)
		}
		if errs := back.Validate(); len(errs) > 0 || !bytes.Equal(mustJSON(t, back), js) {
			t.Fatalf("%s reads back as %s (%v)", js, mustJSON(t, back), errs)
		}

		// Arithmetic from a start within a century of 2026.
		start := base.Add(time.Duration(offset%(50*366*24*3600)) * time.Second)
		next := bc.NextBusinessMoment(start)
		if next.Before(start) {
			t.Fatalf("NextBusinessMoment(%s) = %s, before it", start, next)
		}
		if zero := bc.Add(start, interactions.Duration{}); !zero.Equal(next) {
			t.Fatalf("Add(%s, 0s) = %s; want NextBusinessMoment %s", start, zero, next)
		}
		for _, rest := range []time.Duration{time.Second, 90 * time.Minute, 30 * time.Hour} {
			due := bc.Add(start, interactions.Duration{Rest: rest})
			if !due.After(next) {
				t.Fatalf("Add(%s, %s) = %s, not after the start of business %s", start, rest, due, next)
			}
			if got := bc.Between(next, due); got != rest {
				t.Fatalf("Add(%s, %s) = %s, but Between(%s, it) = %s", start, rest, due, next, got)
			}
		}
		if due := bc.Add(start, interactions.Duration{Days: 1}); !due.After(start) {
			t.Fatalf("Add(%s, 1d) = %s, not after the start", start, due)
		}
	})
}

// FuzzPolicyBody: a policy body either fails to decode or validate with errors naming
// its fields, or is a policy whose defaults are settled, whose warn ratio and calendar
// are usable, which reads back the same from its own JSON (what PUT answers and GET
// lists) and from BSON (what the store keeps), and whose scope matches an application
// with the first value of each dimension it sets.
func FuzzPolicyBody(f *testing.F) {
	for _, s := range []string{
		`{"id":"first_response","name":"fast","metric":"first_response","target":"2d","calendar":"business","warn_ratio":0.75,"escalate_after":"4h","enabled":true}`,
		`{"id":"referrals","metric":"reply","target":"4h","calendar":"24x7","scope":{"referral":true,"job_ids":["j1"],"departments":["Eng"],"stages":["onsite"],"sources":["greenhouse"]},"enabled":true}`,
		`{"id":"p","metric":"promise","target":"0s"}`,
		`{"id":"p","metric":"stage_stall","target":"100000d100000h","warn_ratio":1,"built_in":true}`,
		`{"id":"p","metric":"reply","target":"1h","warn_ratio":1.5,"calendar":"weekly"}`,
		`{"id":"bad id!","metric":"nope","target":"0s","warn_ratio":-1}`,
		`{"id":"p","metric":"reply","target":"1h","scope":{"stages":[" ",""]}}`,
		`{"id":"p","metric":"reply","target":"1.5h"}`,
		`{"id":"p","metric":"reply","target":"1h","max_escalations":2}`,
		`{"id":"p","metric":"reply","target":1}`,
		`{"id":"p","metric":"reply","target":"1h","warn_ratio":1e400}`,
		`{"id":"p","metric":"reply","target":"1h","scope":null,"escalate_after":null}`,
		`[]`, `null`, `{}`, `{"id":"p"}}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p Policy
		if err := interactions.DecodeStrict(body, &p); err != nil {
			checkDecodeError(t, body, err)
			return
		}
		p = p.WithDefaults()
		js := mustJSON(t, p)
		if again := mustJSON(t, p.WithDefaults()); !bytes.Equal(again, js) {
			t.Fatalf("WithDefaults is not settled: %s then %s", js, again)
		}
		errs := p.Validate()
		checkFields(t, string(body), errs, "id", "name", "metric", "target", "calendar", "warn_ratio", "scope")
		if len(errs) > 0 {
			return
		}
		if r := p.warnRatio(); !(r > 0 && r <= 1) {
			t.Fatalf("valid policy %s has warn ratio %v", js, r)
		}
		if c := p.calendarName(); c != CalendarBusiness && c != Calendar24x7 {
			t.Fatalf("valid policy %s has calendar %q", js, c)
		}

		// Its own JSON and its BSON read back to the same policy.
		var fromJSON Policy
		if err := interactions.DecodeStrict(js, &fromJSON); err != nil {
			t.Fatalf("the policy's JSON %s does not read back: %v", js, err)
		}
		if got := mustJSON(t, fromJSON); !bytes.Equal(got, js) || len(fromJSON.Validate()) > 0 {
			t.Fatalf("%s reads back as %s", js, got)
		}
		doc, err := bson.Marshal(p)
		if err != nil {
			t.Fatalf("BSON of %s: %v", js, err)
		}
		var fromBSON Policy
		if err := bson.Unmarshal(doc, &fromBSON); err != nil {
			t.Fatalf("the stored policy %s does not read back: %v", js, err)
		}
		if got := mustJSON(t, fromBSON); !bytes.Equal(got, js) {
			t.Fatalf("%s is stored and read back as %s", js, got)
		}

		// An application with the first value of each set dimension is in scope.
		first := func(list []string) string {
			if len(list) == 0 {
				return ""
			}
			return list[0]
		}
		s := p.Scope
		app := AppFacts{JobID: first(s.JobIDs), Department: first(s.Departments), Stage: first(s.Stages), Source: first(s.Sources)}
		if s.Referral != nil {
			app.Referral = *s.Referral
		}
		if !s.Matches(app) {
			t.Fatalf("scope %s does not match %+v", mustJSON(t, s), app)
		}
	})
}
