package directory_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/interactions/directory"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		r      directory.Recruiter
		fields []string // the invalid fields, in order
		check  func(t *testing.T, r directory.Recruiter)
	}{
		// A minimal recruiter gets the defaults.
		{"defaults", directory.Recruiter{ID: "r1", Name: "Ann"}, nil, func(t *testing.T, r directory.Recruiter) {
			want := directory.Channels{Warning: []string{"email"}, Breached: []string{"sms", "email"}, Escalated: []string{"sms"}}
			if diff := cmp.Diff(want, r.Channels); diff != "" {
				t.Errorf("channels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"mon", "tue", "wed", "thu", "fri"}, r.WorkingDays); diff != "" {
				t.Errorf("working days (-want +got):\n%s", diff)
			}
		}},
		// Everything set and valid; days and channels are normalised, an empty list kept.
		{"full", directory.Recruiter{
			ID: "r1", Name: "Ann", Email: "ann@example.com", Phone: "+14155550100", Timezone: "America/New_York",
			ManagerID: "m1", DelegateID: "d1",
			Channels:    directory.Channels{Warning: []string{}, Breached: []string{" SMS", "sms"}},
			QuietHours:  &directory.QuietHours{Start: "20:00", End: "08:00"},
			WorkingDays: []string{"SUN", "mon", "sat"},
		}, nil, func(t *testing.T, r directory.Recruiter) {
			want := directory.Channels{Warning: []string{}, Breached: []string{"sms"}, Escalated: []string{"sms"}}
			if diff := cmp.Diff(want, r.Channels); diff != "" {
				t.Errorf("channels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"mon", "sat", "sun"}, r.WorkingDays); diff != "" {
				t.Errorf("working days (-want +got):\n%s", diff)
			}
		}},
		// A UK mobile is fine with GB allowed.
		{"GB phone", directory.Recruiter{ID: "r1", Phone: "+447700900123"}, nil, nil},
		// No id.
		{"no id", directory.Recruiter{}, []string{"id"}, nil},
		// Not E.164.
		{"phone format", directory.Recruiter{ID: "r1", Phone: "415-555-0100"}, []string{"phone"}, nil},
		// A German number when only US, CA, GB may get SMS.
		{"phone country", directory.Recruiter{ID: "r1", Phone: "+4915112345678"}, []string{"phone"}, nil},
		// A Jamaican +1 number is not the US.
		{"Caribbean +1", directory.Recruiter{ID: "r1", Phone: "+18765550100"}, []string{"phone"}, nil},
		// An email address with a display name, and one that is not one.
		{"email", directory.Recruiter{ID: "r1", Email: "Ann <ann@example.com>"}, []string{"email"}, nil},
		// Unknown zone.
		{"timezone", directory.Recruiter{ID: "r1", Timezone: "Mars/Olympus"}, []string{"timezone"}, nil},
		// Own manager and delegate.
		{"self references", directory.Recruiter{ID: "r1", ManagerID: "r1", DelegateID: "r1"}, []string{"manager_id", "delegate_id"}, nil},
		// Unknown channel.
		{"channel", directory.Recruiter{ID: "r1", Channels: directory.Channels{Escalated: []string{"pager"}}}, []string{"channels.escalated[0]"}, nil},
		// Quiet hours that do not parse or are empty.
		{"quiet hours", directory.Recruiter{ID: "r1", QuietHours: &directory.QuietHours{Start: "8pm", End: "24:00"}}, []string{"quiet_hours.start", "quiet_hours.end"}, nil},
		// A window of zero length.
		{"quiet hours equal", directory.Recruiter{ID: "r1", QuietHours: &directory.QuietHours{Start: "08:00", End: "08:00"}}, []string{"quiet_hours.end"}, nil},
		// Unknown day, and no day at all.
		{"working days", directory.Recruiter{ID: "r1", WorkingDays: []string{"monday"}}, []string{"working_days[0]"}, nil},
		{"no working day", directory.Recruiter{ID: "r1", WorkingDays: []string{}}, []string{"working_days"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			var got []string
			for _, fe := range r.Validate(smsCountries) {
				got = append(got, fe.Field)
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("invalid fields (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestParseSMSCountries(t *testing.T) {
	got, err := directory.ParseSMSCountries(" us,CA, gb,us")
	if err != nil || !slices.Equal(got, []string{"US", "CA", "GB"}) {
		t.Errorf("ParseSMSCountries = %v, %v", got, err)
	}
	if _, err := directory.ParseSMSCountries("US,XX"); err == nil {
		t.Errorf("ParseSMSCountries accepted XX")
	}
}
