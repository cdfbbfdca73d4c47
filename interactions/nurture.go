package interactions

import (
	"context"
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Candidate-level events and the nurture document.
//
// pool_added and pool_removed, and a message, call or note without an application_id,
// touch a candidate rather than an application. The projector keeps them, with the
// contacts and application_received events of the candidate's applications, in one
// document per pooled candidate: an Application whose id is NurtureID(candidate_id)
// (in the applications collection, so that the SLA engine derives its nurture clocks
// like any application's clocks). Application ids starting with NurturePrefix are
// therefore reserved.

// NurturePrefix starts the id of a candidate's nurture document.
const NurturePrefix = "nurture:"

// NurtureID is the id of the nurture document of a candidate.
func NurtureID(candidateID string) string { return NurturePrefix + candidateID }

// IsNurture reports whether id is a nurture document's id rather than an application's.
func IsNurture(id string) bool { return strings.HasPrefix(id, NurturePrefix) }

// candidateLevelKinds may omit application_id; pool kinds must.
var candidateLevelKinds = map[Kind]bool{KindMessage: true, KindCall: true, KindNote: true}

// PoolIDPattern is what a pool id looks like.
var PoolIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// CandidateLevel reports whether the interaction touches a candidate rather than one
// of their applications.
func (in *Interaction) CandidateLevel() bool { return in.ApplicationID == "" }

// DocID is the id of the derived document the event belongs to first: its
// application's, or for a candidate-level event the candidate's nurture document. It
// is also what partitions an event's work among replicas: candidate-level events are
// partitioned by candidate.
func (in *Interaction) DocID() string {
	if in.ApplicationID != "" {
		return in.ApplicationID
	}
	return NurtureID(in.CandidateID)
}

// NurtureRelevant reports whether an application's event also belongs in its
// candidate's nurture document, when the candidate is or was in a pool: a contact
// restarts nurture clocks and an application_received converts a membership.
func (in *Interaction) NurtureRelevant() bool {
	return in.ApplicationID != "" && (in.IsContact() || in.Kind == KindApplicationReceived)
}

// checkApplication checks application_id and pool_id against the kind.
func checkApplication(kind Kind, applicationID, poolID string, bad func(field, msg string)) {
	switch {
	case kind == KindPoolAdded || kind == KindPoolRemoved:
		if applicationID != "" {
			bad("application_id", "is not for "+string(kind)+": a pool holds candidates, not applications")
		}
		if poolID == "" {
			bad("pool_id", "is required for "+string(kind))
		} else if !PoolIDPattern.MatchString(poolID) {
			bad("pool_id", "must be 1–64 lower-case letters, digits, '_', '.' or '-'")
		}
		return
	case poolID != "":
		bad("pool_id", "is only for pool_added and pool_removed")
	}
	switch {
	case applicationID == "" && !candidateLevelKinds[kind]:
		bad("application_id", "is required (only message, call and note may touch a candidate without an application)")
	case IsNurture(applicationID):
		bad("application_id", "must not start with "+NurturePrefix+" (reserved)")
	}
}

// CandidateApplications returns a candidate's applications, by id, and their nurture
// document when they have one (nil otherwise). It filters on candidate_id: a scan on
// the embedded store, as CandidateOwners is.
func (s *Store) CandidateApplications(ctx context.Context, candidateID string) ([]Application, *Application, error) {
	cur, err := s.applications.Find(ctx, bson.M{"candidate_id": candidateID}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, nil, Unavailable("find applications", err)
	}
	var all []Application
	if err := cur.All(ctx, &all); err != nil {
		return nil, nil, Unavailable("find applications", err)
	}
	var apps []Application
	var nurture *Application
	for i := range all {
		if IsNurture(all[i].ID) {
			nurture = &all[i]
			continue
		}
		apps = append(apps, all[i])
	}
	return apps, nurture, nil
}
