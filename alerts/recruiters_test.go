package alerts_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

var smsCountries = []string{"US", "CA", "GB"}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		r      alerts.Recruiter
		fields []string // the invalid fields, in order
		check  func(t *testing.T, r alerts.Recruiter)
	}{
		// A minimal recruiter gets the defaults.
		{"defaults", alerts.Recruiter{ID: "r1", Name: "Ann"}, nil, func(t *testing.T, r alerts.Recruiter) {
			want := alerts.Channels{Warning: []string{"email"}, Breached: []string{"sms", "email"}, Escalated: []string{"sms"}}
			if diff := cmp.Diff(want, r.Channels); diff != "" {
				t.Errorf("channels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"mon", "tue", "wed", "thu", "fri"}, r.WorkingDays); diff != "" {
				t.Errorf("working days (-want +got):\n%s", diff)
			}
		}},
		// Everything set and valid; days and channels are normalised, an empty list kept.
		{"full", alerts.Recruiter{
			ID: "r1", Name: "Ann", Email: "ann@example.com", Phone: "+14155550100", Timezone: "America/New_York",
			ManagerID: "m1", DelegateID: "d1",
			Channels:    alerts.Channels{Warning: []string{}, Breached: []string{" SMS", "sms"}},
			QuietHours:  &alerts.QuietHours{Start: "20:00", End: "08:00"},
			WorkingDays: []string{"SUN", "mon", "sat"},
		}, nil, func(t *testing.T, r alerts.Recruiter) {
			want := alerts.Channels{Warning: []string{}, Breached: []string{"sms"}, Escalated: []string{"sms"}}
			if diff := cmp.Diff(want, r.Channels); diff != "" {
				t.Errorf("channels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"mon", "sat", "sun"}, r.WorkingDays); diff != "" {
				t.Errorf("working days (-want +got):\n%s", diff)
			}
		}},
		// A UK mobile is fine with GB allowed.
		{"GB phone", alerts.Recruiter{ID: "r1", Phone: "+447700900123"}, nil, nil},
		// No id.
		{"no id", alerts.Recruiter{}, []string{"id"}, nil},
		// Not E.164.
		{"phone format", alerts.Recruiter{ID: "r1", Phone: "415-555-0100"}, []string{"phone"}, nil},
		// A German number when only US, CA, GB may get SMS.
		{"phone country", alerts.Recruiter{ID: "r1", Phone: "+4915112345678"}, []string{"phone"}, nil},
		// A Jamaican +1 number is not the US.
		{"Caribbean +1", alerts.Recruiter{ID: "r1", Phone: "+18765550100"}, []string{"phone"}, nil},
		// An email address with a display name, and one that is not one.
		{"email", alerts.Recruiter{ID: "r1", Email: "Ann <ann@example.com>"}, []string{"email"}, nil},
		// Unknown zone.
		{"timezone", alerts.Recruiter{ID: "r1", Timezone: "Mars/Olympus"}, []string{"timezone"}, nil},
		// Own manager and delegate.
		{"self references", alerts.Recruiter{ID: "r1", ManagerID: "r1", DelegateID: "r1"}, []string{"manager_id", "delegate_id"}, nil},
		// Unknown channel.
		{"channel", alerts.Recruiter{ID: "r1", Channels: alerts.Channels{Escalated: []string{"pager"}}}, []string{"channels.escalated[0]"}, nil},
		// Quiet hours that do not parse or are empty.
		{"quiet hours", alerts.Recruiter{ID: "r1", QuietHours: &alerts.QuietHours{Start: "8pm", End: "24:00"}}, []string{"quiet_hours.start", "quiet_hours.end"}, nil},
		// A window of zero length.
		{"quiet hours equal", alerts.Recruiter{ID: "r1", QuietHours: &alerts.QuietHours{Start: "08:00", End: "08:00"}}, []string{"quiet_hours.end"}, nil},
		// Unknown day, and no day at all.
		{"working days", alerts.Recruiter{ID: "r1", WorkingDays: []string{"monday"}}, []string{"working_days[0]"}, nil},
		{"no working day", alerts.Recruiter{ID: "r1", WorkingDays: []string{}}, []string{"working_days"}, nil},
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
	got, err := alerts.ParseSMSCountries(" us,CA, gb,us")
	if err != nil || !slices.Equal(got, []string{"US", "CA", "GB"}) {
		t.Errorf("ParseSMSCountries = %v, %v", got, err)
	}
	if _, err := alerts.ParseSMSCountries("US,XX"); err == nil {
		t.Errorf("ParseSMSCountries accepted XX")
	}
}

func put(t *testing.T, d *alerts.Directory, r alerts.Recruiter) bool {
	t.Helper()
	if errs := r.Validate(smsCountries); errs != nil {
		t.Fatalf("Validate(%s): %v", r.ID, errs)
	}
	created, err := d.Put(context.Background(), r)
	if err != nil {
		t.Fatalf("Put(%s): %v", r.ID, err)
	}
	return created
}

func TestDirectory(t *testing.T) {
	ctx := context.Background()
	d := alerts.NewDirectory(storagetest.NewDB(t))
	away := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

	if !put(t, d, alerts.Recruiter{ID: "ann", Name: "Ann", Phone: "+14155550100", DelegateID: "bob", AwayUntil: &away}) {
		t.Errorf("first Put did not create")
	}
	if put(t, d, alerts.Recruiter{ID: "ann", Name: "Ann A.", Phone: "+14155550100", DelegateID: "bob", AwayUntil: &away}) {
		t.Errorf("second Put created")
	}
	put(t, d, alerts.Recruiter{ID: "bob", Name: "Bob", Phone: "+14155550101", DelegateID: "cat", AwayUntil: &away})
	put(t, d, alerts.Recruiter{ID: "cat", Name: "Cat", DelegateID: "ann", AwayUntil: &away})

	got, err := d.Get(ctx, "ann")
	if err != nil || got.Name != "Ann A." || !got.AwayUntil.Equal(away) || !slices.Equal(got.WorkingDays, alerts.DefaultWorkingDays) {
		t.Errorf("Get(ann) = %+v, %v", got, err)
	}
	if _, err := d.Get(ctx, "nobody"); interactions.ErrorCode(err) != interactions.CodeNotFound {
		t.Errorf("Get(nobody) = %v, want not found", err)
	}

	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"ann", "bob", "cat"}, ids); diff != "" {
		t.Errorf("List ids (-want +got):\n%s", diff)
	}

	// The phone mapping follows Put.
	if r, ok, err := d.ByPhone(ctx, "+14155550100"); err != nil || !ok || r.ID != "ann" {
		t.Errorf("ByPhone(ann's) = %v, %v, %v", r.ID, ok, err)
	}
	var inv *interactions.Error
	_, err = d.Put(ctx, alerts.Recruiter{ID: "cat", Name: "Cat", Phone: "+14155550100"})
	if !errors.As(err, &inv) || inv.Code != interactions.CodeInvalid || inv.Fields[0].Field != "phone" {
		t.Errorf("Put with Ann's phone = %v, want invalid phone", err)
	}
	put(t, d, alerts.Recruiter{ID: "ann", Name: "Ann", Phone: "+14155550199"}) // new number, back at work
	if _, ok, err := d.ByPhone(ctx, "+14155550100"); err != nil || ok {
		t.Errorf("ByPhone(old number) = %v, %v; want not found", ok, err)
	}
	if r, ok, err := d.ByPhone(ctx, "+14155550199"); err != nil || !ok || r.ID != "ann" {
		t.Errorf("ByPhone(new number) = %v, %v, %v", r.ID, ok, err)
	}
	put(t, d, alerts.Recruiter{ID: "cat", Name: "Cat", Phone: "+14155550100", DelegateID: "ann", AwayUntil: &away}) // the freed number
	if r, ok, err := d.ByPhone(ctx, "+14155550100"); err != nil || !ok || r.ID != "cat" {
		t.Errorf("ByPhone(freed number) = %v, %v, %v", r.ID, ok, err)
	}
	if _, ok, err := d.ByPhone(ctx, "+19999999999"); err != nil || ok {
		t.Errorf("ByPhone(unknown) = %v, %v", ok, err)
	}
}

func TestRecipient(t *testing.T) {
	ctx := context.Background()
	d := alerts.NewDirectory(storagetest.NewDB(t))
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(24*time.Hour), now.Add(-time.Hour)

	if _, err := d.Recipient(ctx, "ann", now); interactions.ErrorCode(err) != interactions.CodeNotFound {
		t.Errorf("Recipient on an empty directory = %v, want not found", err)
	}
	put(t, d, alerts.Recruiter{ID: "ann", DelegateID: "bob", AwayUntil: &later}) // away, delegates to Bob
	put(t, d, alerts.Recruiter{ID: "bob", DelegateID: "ann", AwayUntil: &later}) // away too, delegates back
	put(t, d, alerts.Recruiter{ID: "cat", DelegateID: "bob", AwayUntil: &earlier})
	put(t, d, alerts.Recruiter{ID: "dan", DelegateID: "ghost", AwayUntil: &later})
	put(t, d, alerts.Recruiter{ID: "eve"})

	tests := []struct {
		name, id, want string
	}{
		// Away: the delegate.
		{"away", "ann", "bob"},
		// The delegate is away too: one hop only, no loop.
		{"no second hop", "bob", "ann"},
		// Back from leave: the recruiter.
		{"back", "cat", "cat"},
		// The delegate does not exist: the recruiter.
		{"missing delegate", "dan", "dan"},
		// No delegation at all.
		{"plain", "eve", "eve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := d.Recipient(ctx, tt.id, now)
			if err != nil || r.ID != tt.want {
				t.Errorf("Recipient(%q) = %q, %v; want %q", tt.id, r.ID, err, tt.want)
			}
		})
	}

	if _, err := d.Recipient(ctx, "nobody", now); interactions.ErrorCode(err) != interactions.CodeNotFound {
		t.Errorf("Recipient(nobody) without a default = %v, want not found", err)
	}
	put(t, d, alerts.Recruiter{ID: "default", DelegateID: "eve", AwayUntil: &later})
	for _, id := range []string{"nobody", ""} {
		if r, err := d.Recipient(ctx, id, now); err != nil || r.ID != "eve" {
			t.Errorf("Recipient(%q) = %q, %v; want the default's delegate eve", id, r.ID, err)
		}
	}

	// A change made through another replica's directory shows within 5 s (and the time
	// to read the directory in the background, while the old copy serves).
	db := storagetest.NewDB(t)
	other, mine := alerts.NewDirectory(db), alerts.NewDirectory(db)
	put(t, other, alerts.Recruiter{ID: "fay"})
	if r, err := mine.Recipient(ctx, "fay", now); err != nil || r.ID != "fay" {
		t.Fatalf("Recipient(fay) = %q, %v", r.ID, err)
	}
	put(t, other, alerts.Recruiter{ID: "fay", DelegateID: "gus", AwayUntil: &later})
	put(t, other, alerts.Recruiter{ID: "gus"})
	if r, _ := mine.Recipient(ctx, "fay", now.Add(4*time.Second)); r.ID != "fay" {
		t.Errorf("Recipient(fay) read the store again within 5 s: %q", r.ID)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, _ := mine.Recipient(ctx, "fay", now.Add(5*time.Second))
		if r.ID == "gus" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Recipient(fay) after 5 s = %q, want her delegate gus", r.ID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A change made through this directory shows at once, without reading it all.
	put(t, mine, alerts.Recruiter{ID: "fay"})
	if r, _ := mine.Recipient(ctx, "fay", now.Add(5*time.Second)); r.ID != "fay" {
		t.Errorf("Recipient(fay) right after a Put here = %q, want fay", r.ID)
	}
}

func TestRecipientInactive(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	later := now.Add(24 * time.Hour)
	no := false
	d := alerts.NewDirectory(storagetest.NewDB(t))
	put(t, d, alerts.Recruiter{ID: "ann", Active: &no, DelegateID: "bob"}) // left; Bob takes over
	put(t, d, alerts.Recruiter{ID: "bob"})
	put(t, d, alerts.Recruiter{ID: "cat", Active: &no})                    // left, no delegate
	put(t, d, alerts.Recruiter{ID: "dan", Active: &no, DelegateID: "eve"}) // left; the delegate left too
	put(t, d, alerts.Recruiter{ID: "eve", Active: &no})
	put(t, d, alerts.Recruiter{ID: "fay", DelegateID: "eve", AwayUntil: &later}) // away; the delegate left
	put(t, d, alerts.Recruiter{ID: "default"})

	tests := []struct {
		name, id, want string
	}{
		// Inactive: the delegate, away or not.
		{"delegate", "ann", "bob"},
		// Inactive without a delegate: the default recruiter.
		{"default", "cat", "default"},
		// Inactive with an inactive delegate: the default recruiter.
		{"inactive delegate", "dan", "default"},
		// Away, but the delegate is inactive: the recruiter keeps its alerts.
		{"away, delegate gone", "fay", "fay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := d.Recipient(ctx, tt.id, now)
			if err != nil || r.ID != tt.want {
				t.Errorf("Recipient(%q) = %q, %v; want %q", tt.id, r.ID, err, tt.want)
			}
		})
	}

	// An inactive default with nobody to pass to: nobody gets the alert.
	put(t, d, alerts.Recruiter{ID: "default", Active: &no})
	for _, id := range []string{"cat", "nobody"} {
		if r, err := d.Recipient(ctx, id, now); interactions.ErrorCode(err) != interactions.CodeNotFound {
			t.Errorf("Recipient(%q) with an inactive default = %q, %v; want not found", id, r.ID, err)
		}
	}

	// Stored before the field existed, or put without it: active, and shown so.
	got, err := d.Get(ctx, "bob")
	if err != nil || got.Active == nil || !*got.Active {
		t.Errorf("Get(bob).Active = %v, %v; want true", got.Active, err)
	}
}

func TestByEmail(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	db := storagetest.NewDB(t)
	d, other := alerts.NewDirectory(db), alerts.NewDirectory(db)
	put(t, d, alerts.Recruiter{ID: "ann", Email: "Ann@Example.com"})
	put(t, d, alerts.Recruiter{ID: "ann2", Email: "ann@example.com"})
	put(t, d, alerts.Recruiter{ID: "bob", Email: "bob@example.com"})
	ids := func(rs []alerts.Recruiter) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	got, err := d.ByEmail(ctx, "ANN@example.COM", now, time.Minute)
	if err != nil || !slices.Equal(ids(got), []string{"ann", "ann2"}) {
		t.Errorf("ByEmail(ann) = %v, %v; want ann and ann2, without regard to case", ids(got), err)
	}
	// A change through another replica counts once the copy is older than maxAge.
	no := false
	put(t, other, alerts.Recruiter{ID: "bob", Email: "bob@example.com", Active: &no})
	if got, _ := d.ByEmail(ctx, "bob@example.com", now.Add(30*time.Second), time.Minute); len(got) != 1 || !got[0].IsActive() {
		t.Errorf("ByEmail(bob) within maxAge = %+v; want the copy in memory (active)", got)
	}
	if got, _ := d.ByEmail(ctx, "bob@example.com", now.Add(61*time.Second), time.Minute); len(got) != 1 || got[0].IsActive() {
		t.Errorf("ByEmail(bob) after maxAge = %+v; want it read again (inactive)", got)
	}
}
