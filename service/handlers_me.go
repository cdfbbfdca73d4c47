package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/service/audit"
	"github.com/goodwillhq/goodwill/service/auth"
)

// --- a recruiter's own alert settings: GET and PATCH /v1/me, and the queue page's form ---

// selfFields are the fields of its own directory entry a recruiter may change.
var selfFields = []string{"quiet_hours", "working_days", "channels", "digest", "away_until", "delegate_id", "phone", "slack_user_id"}

// adminFields are those only an admin (or the ATS sync) may change: a patch naming
// one is refused with 403.
var adminFields = []string{"manager_id", "team", "email", "name", "active"}

// mergePatchType is the media type of PATCH /v1/me's body (RFC 7396).
const mergePatchType = "application/merge-patch+json"

// recruiterSelf authenticates GET and PATCH /v1/me: a recruiter's Bearer key, or
// without one the session cookie of a recruiter signed in on the pages. The cookie
// needs no CSRF token here: PATCH takes only application/merge-patch+json, which no
// form of another site can send (it needs a CORS preflight goodwill never grants),
// and another site cannot read what GET answers.
func (s *api) recruiterSelf() gin.HandlerFunc {
	bearer := s.authenticate(auth.RoleRecruiter)
	return func(c *gin.Context) {
		if c.GetHeader("Authorization") != "" {
			bearer(c)
			return
		}
		key, _, err := s.sessionCaller(c)
		if c.IsAborted() { // throttled
			return
		}
		if err != nil {
			fail(c, err)
			return
		}
		if key.Role != auth.RoleRecruiter {
			abortProblem(c, http.StatusForbidden, "forbidden", fmt.Sprintf("the %s role may not use this route", key.Role))
			return
		}
		c.Set(ctxKey, key)
		c.Next()
	}
}

// getMe answers GET /v1/me: the caller's own directory entry.
func (s *api) getMe(c *gin.Context) {
	r, err := s.directory.Get(ctx(c), caller(c).RecruiterID)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// patchMe answers PATCH /v1/me: an RFC 7396 merge patch of the caller's own entry,
// limited to selfFields.
func (s *api) patchMe(c *gin.Context) {
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != mergePatchType {
		abortProblem(c, http.StatusUnsupportedMediaType, "unsupported-media-type",
			"the body must be a JSON merge patch (Content-Type: "+mergePatchType+")")
		return
	}
	body, err := readBody(c)
	if err != nil {
		fail(c, err)
		return
	}
	var patch map[string]any
	if err := interactions.DecodeStrict(body, &patch); err != nil {
		fail(c, err)
		return
	}
	if patch == nil {
		fail(c, interactions.Invalid(interactions.FieldError{Field: "body", Message: "must be a JSON object"}))
		return
	}
	r, changed, err := s.patchSelf(ctx(c), caller(c).RecruiterID, patch)
	if err != nil {
		fail(c, err)
		return
	}
	if changed && !s.audit(c, audit.RecruiterChanged, r.ID) {
		return
	}
	c.JSON(http.StatusOK, r)
}

// patchSelf applies a merge patch to recruiter id's own entry, checks it as
// PUT /v1/recruiters/{id} does and more (the fields a recruiter may change, a phone or
// Slack user no one else has) and stores it. It returns the entry as stored, and
// whether it changed (an unchanged entry is not stored): the caller records a change
// in the audit trail.
func (s *api) patchSelf(ctx context.Context, id string, patch map[string]any) (directory.Recruiter, bool, error) {
	var errs []interactions.FieldError
	var refused []interactions.FieldError
	for _, k := range sortedKeys(patch) {
		switch {
		case slices.Contains(selfFields, k):
		case slices.Contains(adminFields, k):
			refused = append(refused, interactions.FieldError{Field: k, Message: "only an admin (or the ATS) may change it"})
		default:
			errs = append(errs, interactions.FieldError{Field: k, Message: "is not one of your alert settings (" + strings.Join(selfFields, ", ") + ")"})
		}
	}
	if len(refused) > 0 {
		return directory.Recruiter{}, false, &interactions.Error{Code: interactions.CodeForbidden,
			Message: "a recruiter may change only its own alert settings", Fields: refused}
	}
	if len(errs) > 0 {
		return directory.Recruiter{}, false, interactions.Invalid(errs...)
	}
	cur, err := s.directory.Get(ctx, id)
	if err != nil {
		return directory.Recruiter{}, false, err
	}
	r, err := applyPatch(cur, patch)
	if err != nil {
		return directory.Recruiter{}, false, err
	}
	r.ID = id
	if err := s.checkRecruiter(ctx, &r, &cur); err != nil {
		return directory.Recruiter{}, false, err
	}
	if reflect.DeepEqual(r, cur) {
		return r, false, nil
	}
	if err := s.checkSelfChange(ctx, cur, r); err != nil {
		return directory.Recruiter{}, false, err
	}
	if _, err := s.directory.Put(ctx, r); err != nil {
		if interactions.ErrorCode(err) == interactions.CodeInvalid { // the phone taken meanwhile
			err = conflictOn("phone", "is another recruiter's phone")
		}
		return directory.Recruiter{}, false, err
	}
	return r, true, nil
}

// applyPatch returns cur with the merge patch applied, decoded as strictly as a PUT.
func applyPatch(cur directory.Recruiter, patch map[string]any) (directory.Recruiter, error) {
	b, err := json.Marshal(cur)
	if err != nil {
		return cur, err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return cur, err
	}
	merged, err := json.Marshal(mergePatch(doc, patch))
	if err != nil {
		return cur, err
	}
	var r directory.Recruiter
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return cur, interactions.Invalid(interactions.DecodeError(err, ""))
	}
	return r, nil
}

// checkSelfChange refuses what a recruiter may not give itself: a delegate who is not
// in the directory (400), a phone or Slack user another recruiter or a known
// candidate has (409): otherwise a candidate's replies would turn into commands.
func (s *api) checkSelfChange(ctx context.Context, cur, r directory.Recruiter) error {
	if r.DelegateID != "" && r.DelegateID != cur.DelegateID {
		if _, err := s.directory.Get(ctx, r.DelegateID); interactions.ErrorCode(err) == interactions.CodeNotFound {
			return interactions.Invalid(interactions.FieldError{Field: "delegate_id", Message: "is no recruiter in the directory"})
		} else if err != nil {
			return err
		}
	}
	if r.Phone != "" && r.Phone != cur.Phone {
		other, found, err := s.directory.ByPhone(ctx, r.Phone)
		if err != nil {
			return err
		}
		if found && other.ID != r.ID {
			return conflictOn("phone", "is another recruiter's phone")
		}
		candidates, err := s.interactions.CandidatesByPhone(ctx, r.Phone)
		if err != nil {
			return err
		}
		if len(candidates) > 0 {
			return conflictOn("phone", "is a candidate's phone")
		}
	}
	if slack := slackUserOf(r); slack != "" && slack != slackUserOf(cur) {
		list, err := s.directory.List(ctx)
		if err != nil {
			return err
		}
		for _, o := range list {
			if o.ID != r.ID && slackUserOf(o) == slack {
				return conflictOn("slack_user_id", "is another recruiter's Slack user")
			}
		}
	}
	return nil
}

// slackUserOf returns a recruiter's slack_user_id as the API shows it ("" for none).
func slackUserOf(r directory.Recruiter) string {
	b, _ := json.Marshal(r)
	var v struct {
		SlackUserID string `json:"slack_user_id"`
	}
	_ = json.Unmarshal(b, &v)
	return v.SlackUserID
}

// conflictOn is a 409 naming the field.
func conflictOn(field, msg string) error {
	return &interactions.Error{Code: interactions.CodeConflict, Message: field + " " + msg,
		Fields: []interactions.FieldError{{Field: field, Message: msg}}}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
