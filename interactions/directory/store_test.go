package directory_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

var smsCountries = []string{"US", "CA", "GB"}

func put(t *testing.T, d *directory.Store, r directory.Recruiter) bool {
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
	d := directory.NewStore(storagetest.NewDB(t))
	away := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

	if !put(t, d, directory.Recruiter{ID: "ann", Name: "Ann", Phone: "+14155550100", DelegateID: "bob", AwayUntil: &away}) {
		t.Errorf("first Put did not create")
	}
	if put(t, d, directory.Recruiter{ID: "ann", Name: "Ann A.", Phone: "+14155550100", DelegateID: "bob", AwayUntil: &away}) {
		t.Errorf("second Put created")
	}
	put(t, d, directory.Recruiter{ID: "bob", Name: "Bob", Phone: "+14155550101", DelegateID: "cat", AwayUntil: &away})
	put(t, d, directory.Recruiter{ID: "cat", Name: "Cat", DelegateID: "ann", AwayUntil: &away})

	got, err := d.Get(ctx, "ann")
	if err != nil || got.Name != "Ann A." || !got.AwayUntil.Equal(away) || !slices.Equal(got.WorkingDays, directory.DefaultWorkingDays) {
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
	_, err = d.Put(ctx, directory.Recruiter{ID: "cat", Name: "Cat", Phone: "+14155550100"})
	if !errors.As(err, &inv) || inv.Code != interactions.CodeInvalid || inv.Fields[0].Field != "phone" {
		t.Errorf("Put with Ann's phone = %v, want invalid phone", err)
	}
	put(t, d, directory.Recruiter{ID: "ann", Name: "Ann", Phone: "+14155550199"}) // new number, back at work
	if _, ok, err := d.ByPhone(ctx, "+14155550100"); err != nil || ok {
		t.Errorf("ByPhone(old number) = %v, %v; want not found", ok, err)
	}
	if r, ok, err := d.ByPhone(ctx, "+14155550199"); err != nil || !ok || r.ID != "ann" {
		t.Errorf("ByPhone(new number) = %v, %v, %v", r.ID, ok, err)
	}
	put(t, d, directory.Recruiter{ID: "cat", Name: "Cat", Phone: "+14155550100", DelegateID: "ann", AwayUntil: &away}) // the freed number
	if r, ok, err := d.ByPhone(ctx, "+14155550100"); err != nil || !ok || r.ID != "cat" {
		t.Errorf("ByPhone(freed number) = %v, %v, %v", r.ID, ok, err)
	}
	if _, ok, err := d.ByPhone(ctx, "+19999999999"); err != nil || ok {
		t.Errorf("ByPhone(unknown) = %v, %v", ok, err)
	}
}

func TestRecipient(t *testing.T) {
	ctx := context.Background()
	d := directory.NewStore(storagetest.NewDB(t))
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(24*time.Hour), now.Add(-time.Hour)

	if _, err := d.Recipient(ctx, "ann", now); interactions.ErrorCode(err) != interactions.CodeNotFound {
		t.Errorf("Recipient on an empty directory = %v, want not found", err)
	}
	put(t, d, directory.Recruiter{ID: "ann", DelegateID: "bob", AwayUntil: &later}) // away, delegates to Bob
	put(t, d, directory.Recruiter{ID: "bob", DelegateID: "ann", AwayUntil: &later}) // away too, delegates back
	put(t, d, directory.Recruiter{ID: "cat", DelegateID: "bob", AwayUntil: &earlier})
	put(t, d, directory.Recruiter{ID: "dan", DelegateID: "ghost", AwayUntil: &later})
	put(t, d, directory.Recruiter{ID: "eve"})

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
	put(t, d, directory.Recruiter{ID: "default", DelegateID: "eve", AwayUntil: &later})
	for _, id := range []string{"nobody", ""} {
		if r, err := d.Recipient(ctx, id, now); err != nil || r.ID != "eve" {
			t.Errorf("Recipient(%q) = %q, %v; want the default's delegate eve", id, r.ID, err)
		}
	}

	// A change made through another replica's directory shows within 5 s (and the time
	// to read the directory in the background, while the old copy serves).
	db := storagetest.NewDB(t)
	other, mine := directory.NewStore(db), directory.NewStore(db)
	put(t, other, directory.Recruiter{ID: "fay"})
	if r, err := mine.Recipient(ctx, "fay", now); err != nil || r.ID != "fay" {
		t.Fatalf("Recipient(fay) = %q, %v", r.ID, err)
	}
	put(t, other, directory.Recruiter{ID: "fay", DelegateID: "gus", AwayUntil: &later})
	put(t, other, directory.Recruiter{ID: "gus"})
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
	put(t, mine, directory.Recruiter{ID: "fay"})
	if r, _ := mine.Recipient(ctx, "fay", now.Add(5*time.Second)); r.ID != "fay" {
		t.Errorf("Recipient(fay) right after a Put here = %q, want fay", r.ID)
	}
}

func TestRecipientInactive(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	later := now.Add(24 * time.Hour)
	no := false
	d := directory.NewStore(storagetest.NewDB(t))
	put(t, d, directory.Recruiter{ID: "ann", Active: &no, DelegateID: "bob"}) // left; Bob takes over
	put(t, d, directory.Recruiter{ID: "bob"})
	put(t, d, directory.Recruiter{ID: "cat", Active: &no})                    // left, no delegate
	put(t, d, directory.Recruiter{ID: "dan", Active: &no, DelegateID: "eve"}) // left; the delegate left too
	put(t, d, directory.Recruiter{ID: "eve", Active: &no})
	put(t, d, directory.Recruiter{ID: "fay", DelegateID: "eve", AwayUntil: &later}) // away; the delegate left
	put(t, d, directory.Recruiter{ID: "default"})

	tests := []struct {
		name, id, want string
	}{
		// Inactive: the delegate, away or not.
		{"delegate", "ann", "bob"},
		// Inactive without a delegate: the default recruiter.
		{"default", "cat", "default"},
		// Inactive with an inactive delegate: the default recruiter.
		{"inactive delegate", "dan", "default"},
		// Away, but the delegate is inactive: the recruiter keeps its directory.
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
	put(t, d, directory.Recruiter{ID: "default", Active: &no})
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
	d, other := directory.NewStore(db), directory.NewStore(db)
	put(t, d, directory.Recruiter{ID: "ann", Email: "Ann@Example.com"})
	put(t, d, directory.Recruiter{ID: "ann2", Email: "ann@example.com"})
	put(t, d, directory.Recruiter{ID: "bob", Email: "bob@example.com"})
	ids := func(rs []directory.Recruiter) []string {
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
	put(t, other, directory.Recruiter{ID: "bob", Email: "bob@example.com", Active: &no})
	if got, _ := d.ByEmail(ctx, "bob@example.com", now.Add(30*time.Second), time.Minute); len(got) != 1 || !got[0].IsActive() {
		t.Errorf("ByEmail(bob) within maxAge = %+v; want the copy in memory (active)", got)
	}
	if got, _ := d.ByEmail(ctx, "bob@example.com", now.Add(61*time.Second), time.Minute); len(got) != 1 || got[0].IsActive() {
		t.Errorf("ByEmail(bob) after maxAge = %+v; want it read again (inactive)", got)
	}
}

func TestReports(t *testing.T) {
	ctx := context.Background()
	d := directory.NewStore(storagetest.NewDB(t))
	put(t, d, directory.Recruiter{ID: "boss"})
	put(t, d, directory.Recruiter{ID: "ann", ManagerID: "boss"})
	put(t, d, directory.Recruiter{ID: "bob", ManagerID: "boss"})
	put(t, d, directory.Recruiter{ID: "cat", ManagerID: "ann"})
	put(t, d, directory.Recruiter{ID: "dan"})

	tests := []struct {
		name     string
		managers []string
		want     []string
	}{
		// Direct reports only: Cat reports to Ann, not to the boss.
		{"one manager", []string{"boss"}, []string{"ann", "bob"}},
		// Several managers at once.
		{"two managers", []string{"boss", "ann"}, []string{"ann", "bob", "cat"}},
		// Nobody reports to Cat, nor to an unknown id.
		{"no reports", []string{"cat", "ghost"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Reports(ctx, tt.managers)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Reports(%v) (-want +got):\n%s", tt.managers, diff)
			}
		})
	}
}
