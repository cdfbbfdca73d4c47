package interactions

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAttributionParse(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	base := `"application_id":"a1","candidate_id":"c1","occurred_at":"2026-12-07T10:00:00Z"`
	for _, tc := range []struct {
		name     string
		body     string
		want     *Attribution
		referral bool
		employee string
		fields   []string // the fields a 400 names; nil when valid
	}{
		// Keys are trimmed and lower-cased; the referrer id is trimmed only.
		{"normalised", `{` + base + `,"kind":"application_received","attribution":{"source":" LinkedIn ","medium":"Paid","campaign":" Spring-2026 ","referrer_id":" E42 "}}`,
			&Attribution{Source: "linkedin", Medium: "paid", Campaign: "spring-2026", ReferrerID: "E42"}, true, "", nil},
		// Without a referrer the interaction is no referral.
		{"no referrer", `{` + base + `,"kind":"application_received","attribution":{"source":"indeed"}}`,
			&Attribution{Source: "indeed"}, false, "", nil},
		// Blank keys leave no attribution at all.
		{"blank", `{` + base + `,"kind":"application_received","attribution":{"source":"  "}}`, nil, false, "", nil},
		{"null", `{` + base + `,"kind":"application_received","attribution":null}`, nil, false, "", nil},
		// employee_id on hired.
		{"employee id", `{` + base + `,"kind":"hired","employee_id":" E7 "}`, nil, false, "E7", nil},
		// Attribution belongs to application_received only.
		{"attribution on a message", `{` + base + `,"kind":"note","attribution":{"source":"x"}}`, nil, false, "", []string{"attribution"}},
		// The API may not put it on details_updated either: only the sync does.
		{"attribution on details_updated", `{` + base + `,"kind":"details_updated","attribution":{"source":"x"}}`, nil, false, "", []string{"attribution"}},
		// FromSync cannot be set from JSON.
		{"from_sync in JSON", `{` + base + `,"kind":"details_updated","FromSync":true,"attribution":{"source":"x"}}`, nil, false, "", []string{"FromSync"}},
		{"employee id on a rejection", `{` + base + `,"kind":"rejected","employee_id":"E7"}`, nil, false, "", []string{"employee_id"}},
		// Errors name the nested field.
		{"unknown key", `{` + base + `,"kind":"application_received","attribution":{"utm_source":"x"}}`, nil, false, "", []string{"attribution.utm_source"}},
		{"wrong type", `{` + base + `,"kind":"application_received","attribution":{"source":7}}`, nil, false, "", []string{"attribution.source"}},
		{"not an object", `{` + base + `,"kind":"application_received","attribution":"linkedin"}`, nil, false, "", []string{"attribution"}},
		{"control character", `{` + base + `,"kind":"application_received","attribution":{"campaign":"a\u0007b"}}`, nil, false, "", []string{"attribution.campaign"}},
		{"in a batch", `{"interactions":[{` + base + `,"kind":"application_received","attribution":{"referrer_id":1}}]}`, nil, false, "", []string{"interactions[0].attribution.referrer_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, _, err := ParseWrite([]byte(tc.body), "", now)
			if tc.fields != nil {
				code, fields := fieldsOf(err)
				if code != CodeInvalid || !cmp.Equal(fields, tc.fields) {
					t.Fatalf("err %v: code %s, fields %v, want %v", err, code, fields, tc.fields)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			it := items[0]
			if diff := cmp.Diff(tc.want, it.Attribution); diff != "" {
				t.Errorf("attribution (-want +got):\n%s", diff)
			}
			if it.Referral != tc.referral || it.EmployeeID != tc.employee {
				t.Errorf("referral %v, employee_id %q; want %v, %q", it.Referral, it.EmployeeID, tc.referral, tc.employee)
			}
		})
	}
}

// TestAttributionFromSync: the ATS sync may put attribution on details_updated, keys
// checked and normalised as on application_received; on other kinds it is refused
// from the sync too.
func TestAttributionFromSync(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	in := Input{ApplicationID: "a1", CandidateID: "c1", Kind: string(KindDetailsUpdated), OccurredAt: "2026-12-07T10:00:00Z",
		Source: "lever", ExternalID: "x", FromSync: true, Attribution: &Attribution{Source: " LinkedIn ", ReferrerID: "lever:u1"}}
	it, errs := in.Validate("", now)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if want := (&Attribution{Source: "linkedin", ReferrerID: "lever:u1"}); !cmp.Equal(it.Attribution, want) || !it.Referral {
		t.Errorf("attribution %+v, referral %v; want %+v, a referral", it.Attribution, it.Referral, want)
	}
	in.Attribution.Campaign = "a\u0007b"
	if _, errs := in.Validate("", now); len(errs) != 1 || errs[0].Field != "attribution.campaign" {
		t.Errorf("a bad campaign from the sync: %v", errs)
	}
	in.Attribution.Campaign = ""
	in.Kind, in.Stage = string(KindStageChanged), "screen"
	if _, errs := in.Validate("", now); len(errs) != 1 || errs[0].Field != "attribution" {
		t.Errorf("attribution on the sync's stage_changed: %v", errs)
	}
}

// TestAttributionFromDetails: an application whose application_received had no
// attribution takes the first one a details_updated brings; a later one changes
// nothing, nor does one when the application_received had its own.
func TestAttributionFromDetails(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
	events := []Interaction{
		{ID: "1", Kind: KindApplicationReceived, OccurredAt: at(9)},
		{ID: "2", Kind: KindDetailsUpdated, OccurredAt: at(10), Attribution: &Attribution{Source: "linkedin", ReferrerID: "lever:u1"}, Referral: true},
		{ID: "3", Kind: KindDetailsUpdated, OccurredAt: at(11), Attribution: &Attribution{Source: "indeed"}},
	}
	if a := DeriveApplication("a", events); a.Attribution.SourceKey() != "linkedin" || a.Attribution.ReferrerID != "lever:u1" || !a.Referral {
		t.Errorf("attribution %+v, referral %v; want linkedin's, a referral", a.Attribution, a.Referral)
	}
	events[0].Attribution = &Attribution{Source: "careers"}
	if a := DeriveApplication("a", events); a.Attribution.SourceKey() != "careers" {
		t.Errorf("attribution %+v, want the application_received's", a.Attribution)
	}
}

// TestAttributionOnApplication checks that the application keeps the attribution of
// its earliest application_received carrying one, and the hire's employee id.
func TestAttributionOnApplication(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
	events := []Interaction{
		{ID: "1", Kind: KindApplicationReceived, OccurredAt: at(9)},
		{ID: "2", Kind: KindApplicationReceived, OccurredAt: at(10), Attribution: &Attribution{Source: "indeed", ReferrerID: "E1"}, Referral: true},
		{ID: "3", Kind: KindApplicationReceived, OccurredAt: at(11), Attribution: &Attribution{Source: "linkedin"}},
		{ID: "4", Kind: KindHired, OccurredAt: at(12), EmployeeID: "E9"},
	}
	a := DeriveApplication("a", events)
	if a.Attribution.SourceKey() != "indeed" || !a.Referral || a.EmployeeID != "E9" {
		t.Errorf("attribution %+v, referral %v, employee %q", a.Attribution, a.Referral, a.EmployeeID)
	}
	if got := DeriveApplication("b", events[:1]).Attribution; got.SourceKey() != NoAttribution || got.CampaignKey() != NoAttribution {
		t.Errorf("no attribution groups under %q/%q", got.SourceKey(), got.CampaignKey())
	}
}
