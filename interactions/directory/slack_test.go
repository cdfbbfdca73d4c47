package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// fakeSlackUsers finds users by email; err, when set, is every lookup's answer.
type fakeSlackUsers struct {
	byEmail map[string]string
	err     error
	asked   []string
}

func (f *fakeSlackUsers) UserByEmail(_ context.Context, email string) (string, bool, error) {
	f.asked = append(f.asked, email)
	if f.err != nil {
		return "", false, f.err
	}
	id, ok := f.byEmail[strings.ToLower(email)]
	return id, ok, nil
}

// TestCheckSlackUser: the Slack user is looked up by email; one given must match.
func TestCheckSlackUser(t *testing.T) {
	users := &fakeSlackUsers{byEmail: map[string]string{"ann@example.com": "U1ANN", "bob@example.com": "U2BOB"}}
	down := &fakeSlackUsers{err: errors.New("429")}
	tests := []struct {
		name  string
		users directory.SlackUsers
		r     directory.Recruiter
		code  interactions.Code // "" for none
		want  string            // the SlackUserID after
	}{
		// Slack off: kept as given, unchecked.
		{"off", nil, directory.Recruiter{Email: "ann@example.com", SlackUserID: "U2BOB"}, "", "U2BOB"},
		// Looked up.
		{"found", users, directory.Recruiter{Email: "Ann@Example.com"}, "", "U1ANN"},
		// No such user: none.
		{"not found", users, directory.Recruiter{Email: "cat@example.com"}, "", ""},
		// Given and matching.
		{"matching", users, directory.Recruiter{Email: "ann@example.com", SlackUserID: "U1ANN"}, "", "U1ANN"},
		// Given, someone else's.
		{"mismatch", users, directory.Recruiter{Email: "ann@example.com", SlackUserID: "U2BOB"}, interactions.CodeConflict, "U2BOB"},
		// Given, but Slack has no one with the email.
		{"unknown email", users, directory.Recruiter{Email: "cat@example.com", SlackUserID: "U2BOB"}, interactions.CodeConflict, "U2BOB"},
		// Given, without an email to check it against.
		{"no email", users, directory.Recruiter{SlackUserID: "U2BOB"}, interactions.CodeInvalid, "U2BOB"},
		// Slack down: a given one cannot be checked.
		{"down, given", down, directory.Recruiter{Email: "ann@example.com", SlackUserID: "U1ANN"}, interactions.CodeUnavailable, "U1ANN"},
		// Slack down, none given: saved without.
		{"down", down, directory.Recruiter{Email: "ann@example.com"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			err := directory.CheckSlackUser(context.Background(), tt.users, &r)
			if (tt.code == "") != (err == nil) || err != nil && interactions.ErrorCode(err) != tt.code {
				t.Fatalf("err %v, want code %q", err, tt.code)
			}
			var e *interactions.Error
			if tt.code != "" && tt.code != interactions.CodeUnavailable && (!errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "slack_user_id") {
				t.Errorf("the error does not name slack_user_id: %+v", e)
			}
			if r.SlackUserID != tt.want {
				t.Errorf("slack_user_id %q, want %q", r.SlackUserID, tt.want)
			}
		})
	}
}

// TestResolveSlackUsers: the sync looks a user up when their email is new or changed,
// not on every pass; BySlackUser then finds them, while they are active.
func TestResolveSlackUsers(t *testing.T) {
	ctx := context.Background()
	d := directory.NewStore(storagetest.NewDB(t))
	users := &fakeSlackUsers{byEmail: map[string]string{"ann@example.com": "U1ANN", "ann@new.example.com": "U3NEW"}}
	pass := func(email string, active bool) {
		t.Helper()
		if err := d.PutATSUsers(ctx, []directory.ATSUser{{ID: "lever:ann", Name: "Ann", Email: email, Active: active}}); err != nil {
			t.Fatal(err)
		}
		if err := d.ResolveSlackUsers(ctx, users, []string{"lever:ann", "lever:nobody"}); err != nil {
			t.Fatal(err)
		}
	}
	pass("ann@example.com", true)
	pass("ann@example.com", true)
	if r, _ := d.Get(ctx, "lever:ann"); r.SlackUserID != "U1ANN" || len(users.asked) != 1 {
		t.Fatalf("after two passes: %q, asked %q", r.SlackUserID, users.asked)
	}
	now := time.Now()
	if r, ok, err := d.BySlackUser(ctx, "U1ANN", now); err != nil || !ok || r.ID != "lever:ann" {
		t.Errorf("BySlackUser: %+v %v %v", r, ok, err)
	}
	pass("ann@new.example.com", true)
	if r, _ := d.Get(ctx, "lever:ann"); r.SlackUserID != "U3NEW" || len(users.asked) != 2 {
		t.Fatalf("after the email changed: %q, asked %q", r.SlackUserID, users.asked)
	}
	pass("ann@new.example.com", false)
	if _, ok, _ := d.BySlackUser(ctx, "U3NEW", now); ok {
		t.Error("an inactive recruiter is found by Slack user")
	}
	users.err = errors.New("ratelimited")
	if err := d.PutATSUsers(ctx, []directory.ATSUser{{ID: "lever:bob", Name: "Bob", Email: "bob@example.com", Active: true}}); err != nil {
		t.Fatal(err)
	}
	if err := d.ResolveSlackUsers(ctx, users, []string{"lever:bob"}); err == nil {
		t.Error("a failed lookup is not reported")
	}
}
