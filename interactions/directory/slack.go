package directory

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/goodwillhq/goodwill/interactions"
)

// slackUserID is the shape of a Slack user id: "U" (or "W" on Enterprise Grid) and
// upper-case letters and digits.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// SlackUsers finds Slack users by email, with Slack's users.lookupByEmail
// (alerts/slack.Client is one). The directory asks it when a recruiter is saved and
// on each pass of the ATS sync, never when an alert is sent.
type SlackUsers interface {
	// UserByEmail returns the id of the workspace's user with that email; found is
	// false when there is none. Other failures (Slack down, rate limited) are errors.
	UserByEmail(ctx context.Context, email string) (id string, found bool, err error)
}

// CheckSlackUser is the one check of a recruiter's Slack user before the entry is
// saved, on every path that saves one (PUT /v1/recruiters/{id}, and any later way a
// recruiter edits their own entry): run it after Validate. It looks r's Email up
// with users and sets r.SlackUserID to what Slack says:
//
//   - with users nil (Slack is not configured) r is left as it is;
//   - a SlackUserID given by hand must be the user that Email finds: without an Email
//     it is CodeInvalid, and when Slack finds no one or someone else it is
//     CodeConflict, both naming the field "slack_user_id"; when Slack cannot answer it
//     is CodeUnavailable, since nothing could be checked;
//   - with no SlackUserID given, the one found is set (none: it stays empty); when
//     Slack cannot answer the entry is saved without, and the next pass of the ATS sync
//     looks again (ResolveSlackUsers).
func CheckSlackUser(ctx context.Context, users SlackUsers, r *Recruiter) error {
	if users == nil {
		return nil
	}
	given := r.SlackUserID
	r.SlackEmail = ""
	if r.Email == "" {
		if given != "" {
			return interactions.Invalid(interactions.FieldError{Field: "slack_user_id",
				Message: "needs the recruiter's email, which Slack's user is checked against"})
		}
		return nil
	}
	id, found, err := users.UserByEmail(ctx, r.Email)
	if err != nil {
		if given != "" {
			return &interactions.Error{Code: interactions.CodeUnavailable,
				Message: "Slack could not be asked who has this email, so slack_user_id cannot be checked; retry later",
				Err:     fmt.Errorf("look up the Slack user: %w", err)}
		}
		return nil
	}
	switch {
	case given != "" && !found:
		return slackConflict(fmt.Sprintf("no Slack user has the email %s", r.Email))
	case given != "" && id != given:
		return slackConflict(fmt.Sprintf("is not the Slack user whose email is %s (%s is)", r.Email, id))
	}
	r.SlackUserID, r.SlackEmail = id, strings.ToLower(r.Email)
	return nil
}

func slackConflict(msg string) error {
	return &interactions.Error{Code: interactions.CodeConflict, Message: "slack_user_id does not match Slack: " + msg,
		Fields: []interactions.FieldError{{Field: "slack_user_id", Message: msg}}}
}

// ResolveSlackUsers looks up, with users, the Slack user of each of the recruiters ids
// whose email changed since their Slack user was last looked up (or never was), and
// stores it: the ATS sync calls it after each page of users it puts, so that users
// are looked up as they arrive and again only when their email changes. It stops at
// the first failure (Slack rate limits its lookups): the next pass goes on.
func (d *Store) ResolveSlackUsers(ctx context.Context, users SlackUsers, ids []string) error {
	for _, id := range ids {
		r, ok, err := d.find(ctx, id)
		if err != nil {
			return err
		}
		if !ok || r.Email == "" || r.SlackEmail == strings.ToLower(r.Email) {
			continue
		}
		slackID, _, err := users.UserByEmail(ctx, r.Email)
		if err != nil {
			return fmt.Errorf("look up the Slack user of %s: %w", id, err)
		}
		var stored Recruiter
		err = d.recruiters.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "slack_user_id", Value: slackID}, {Key: "slack_email", Value: strings.ToLower(r.Email)}}}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&stored)
		stored.normalise()
		d.wrote(stored, err)
		if err != nil {
			return interactions.Unavailable("set the Slack user", err)
		}
	}
	return nil
}

// BySlackUser returns the active recruiter whose Slack user is slackUserID (a click
// on an alert's button names its Slack user). It reads the directory's copy in
// memory, as Recipient does. found is false when no active recruiter has it.
func (d *Store) BySlackUser(ctx context.Context, slackUserID string, now time.Time) (r Recruiter, found bool, err error) {
	if slackUserID == "" {
		return Recruiter{}, false, nil
	}
	all, err := d.snapshot(ctx, now)
	if err != nil {
		return Recruiter{}, false, err
	}
	for _, r := range all {
		if r.SlackUserID == slackUserID && r.IsActive() {
			return r, true, nil
		}
	}
	return Recruiter{}, false, nil
}
