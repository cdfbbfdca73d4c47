package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestPutATSUsers: the ATS owns name, email, active and manager: each put sets them
// again, whatever an admin wrote; everything else stays the admin's. A deactivated
// user is an inactive recruiter, who gets no alerts.
func TestPutATSUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	d := directory.NewStore(storagetest.NewDB(t))
	users := []directory.ATSUser{
		{ID: "lever:u1", Name: "Ann Ats", Email: "ann@example.com", Active: true, ManagerID: "lever:u2"},
		{ID: "lever:u2", Name: "Bob Boss", Email: "not an email", Active: true},
	}
	if err := d.PutATSUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	ann, err := d.Get(ctx, "lever:u1")
	if err != nil {
		t.Fatal(err)
	}
	if ann.Name != "Ann Ats" || ann.Email != "ann@example.com" || !ann.IsActive() || ann.ManagerID != "lever:u2" || len(ann.WorkingDays) != 5 {
		t.Errorf("created %+v", ann)
	}
	if bob, _ := d.Get(ctx, "lever:u2"); bob.Email != "" {
		t.Errorf("an invalid email was kept: %q", bob.Email)
	}

	// An admin changes everything.
	ann.Name, ann.Email, ann.ManagerID, ann.Phone, ann.Team = "Ann Admin", "ann@admin.example", "lever:u9", "+14155550100", "Sales"
	ann.QuietHours = &directory.QuietHours{Start: "20:00", End: "08:00"}
	if errs := ann.Validate([]string{"US"}); len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := d.Put(ctx, ann); err != nil {
		t.Fatal(err)
	}
	// The next pass: Ann was deactivated in the ATS.
	users[0].Active = false
	if err := d.PutATSUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get(ctx, "lever:u1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Ann Ats" || got.Email != "ann@example.com" || got.ManagerID != "lever:u2" || got.IsActive() {
		t.Errorf("ATS fields not set again: %+v", got)
	}
	if got.Phone != "+14155550100" || got.Team != "Sales" || got.QuietHours == nil {
		t.Errorf("admin fields lost: %+v", got)
	}
	if r, err := d.Recipient(ctx, "lever:u1", now); err == nil {
		t.Errorf("an inactive recruiter gets alerts: %s", r.ID)
	}
	if r, ok, err := d.ByPhone(ctx, "+14155550100"); err != nil || !ok || r.ID != "lever:u1" {
		t.Errorf("phone mapping: %v %v %v", r.ID, ok, err)
	}
}
