package interactions

import (
	"context"
	"regexp"
	"slices"
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

// The projector's routing into nurture documents.
//
// A candidate is pooled when they have a nurture document. The projector caches, per
// candidate, whether they do (bounded by maxPooledCache); a candidate it does not know
// it looks up by _id, all of an Apply's at once, which both stores answer from the _id
// index. The cache stays true because the projector (with several replicas: the owner
// of the nurture document's partition) is the documents' only writer, and nurture
// documents are never deleted.
//
// When an Apply creates a candidate's nurture document (their first pool_added, or a
// candidate-level event), the document starts with the nurture-relevant events of the
// candidate's applications applied before: a contact or application_received that
// reached goodwill before the pool_added it follows is not lost. Derivation orders
// events by occurred_at, so those that happened before pool_added change no clock and
// convert nothing (sla.DeriveNurture).

// maxPooledCache bounds the projector's cache of who is pooled.
const maxPooledCache = 2 * maxCachedApps

// lookupChunk is how many ids one look-up of nurture documents names.
const lookupChunk = 500

// pooledState is what one Apply knows of the candidates its items concern.
type pooledState struct {
	has     map[string]bool // candidate → has a nurture document (or gets one now)
	created []string        // candidates whose nurture document this Apply creates
}

// writes reports whether this projector writes the document id: always, unless
// several replicas share the store (replicas.go).
func (p *Projector) writes(docID string) bool {
	return p.shared == nil || p.shared.writes(docID)
}

// knowPooled finds which candidates of items have a nurture document this projector
// writes, looking up those it does not know, and which get one in this Apply.
func (p *Projector) knowPooled(ctx context.Context, items []Interaction) (pooledState, error) {
	st := pooledState{has: map[string]bool{}}
	var ask []string
	for _, it := range items {
		c := it.CandidateID
		if c == "" || !(it.NurtureRelevant() || it.CandidateLevel()) {
			continue
		}
		if _, ok := st.has[c]; ok || !p.writes(NurtureID(c)) {
			continue
		}
		known, ok := p.pooled[c]
		if _, cached := p.apps[NurtureID(c)]; cached {
			known, ok = true, true
		}
		st.has[c] = known
		if !ok {
			ask = append(ask, NurtureID(c))
		}
	}
	for chunk := range slices.Chunk(ask, lookupChunk) {
		cur, err := p.store.applications.Find(ctx, bson.M{"_id": bson.M{"$in": chunk}},
			options.Find().SetProjection(bson.M{"_id": 1}))
		if err != nil {
			return st, Unavailable("look up nurture documents", err)
		}
		var docs []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return st, Unavailable("look up nurture documents", err)
		}
		for _, d := range docs {
			st.has[strings.TrimPrefix(d.ID, NurturePrefix)] = true
		}
	}
	for _, id := range ask {
		c := strings.TrimPrefix(id, NurturePrefix)
		p.setPooled(c, st.has[c])
	}
	for _, it := range items {
		c := it.CandidateID
		if it.CandidateLevel() && !st.has[c] && p.writes(it.DocID()) {
			st.has[c] = true
			st.created = append(st.created, c)
			delete(p.pooled, c) // known once stored: a failed Apply looks it up again
		}
	}
	return st, nil
}

// setPooled caches whether a candidate has a nurture document.
func (p *Projector) setPooled(candidateID string, has bool) {
	if len(p.pooled) >= maxPooledCache {
		clear(p.pooled)
	}
	p.pooled[candidateID] = has
}

// earlierNurtureEvents returns the nurture-relevant events of the candidates'
// applications that are stored already. What becomes visible later reaches the
// nurture documents by the usual routing.
//
// A single projector reads them from the applications it stored: by candidate_id, an
// index on MongoDB but a scan on the embedded store (about 1 µs per stored application,
// more on a busy machine), so at most one scan per Apply: more than fewCandidates are
// found by one pass over the applications' candidate ids and then read by _id. With
// several replicas another replica may not have stored an application's latest events
// yet, so they come from the log, by its candidate_id index.
func (p *Projector) earlierNurtureEvents(ctx context.Context, candidates []string) ([]Interaction, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	want := make(map[string]bool, len(candidates))
	for _, c := range candidates {
		want[c] = true
	}
	var out []Interaction
	keep := func(it Interaction) {
		if it.NurtureRelevant() && want[it.CandidateID] {
			out = append(out, it)
		}
	}
	if p.shared != nil {
		for chunk := range slices.Chunk(candidates, fewCandidates) {
			var logged []Interaction
			cur, err := p.store.interactions.Find(ctx, bson.M{"candidate_id": bson.M{"$in": chunk}})
			if err == nil {
				err = cur.All(ctx, &logged)
			}
			if err != nil {
				return nil, Unavailable("read the log of new nurture documents", err)
			}
			for _, it := range logged {
				keep(it)
			}
		}
		if err := p.guard.Strip(ctx, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	var apps []Application
	if len(candidates) <= fewCandidates {
		cur, err := p.store.applications.Find(ctx, bson.M{"candidate_id": bson.M{"$in": candidates}},
			options.Find().SetProjection(bson.M{"events": 1}))
		if err == nil {
			err = cur.All(ctx, &apps)
		}
		if err != nil {
			return nil, Unavailable("read the applications of new nurture documents", err)
		}
	} else {
		ids, err := p.applicationsOf(ctx, want)
		if err != nil {
			return nil, err
		}
		found, err := p.readApps(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, app := range found {
			apps = append(apps, app)
		}
	}
	for _, app := range apps {
		if IsNurture(app.ID) {
			continue
		}
		for _, it := range app.Events {
			keep(it)
		}
	}
	return out, nil
}

// fewCandidates is how many candidates one query by candidate_id names: the embedded
// store's cost of such a query grows with the length of the list.
const fewCandidates = 100

// applicationsOf returns the ids of the applications of the candidates in want, from
// one pass over every application's candidate_id.
func (p *Projector) applicationsOf(ctx context.Context, want map[string]bool) ([]string, error) {
	cur, err := p.store.applications.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"candidate_id": 1}))
	if err != nil {
		return nil, Unavailable("read the applications' candidates", err)
	}
	defer cur.Close(ctx)
	var ids []string
	for cur.Next(ctx) {
		var doc struct {
			ID          string `bson:"_id"`
			CandidateID string `bson:"candidate_id"`
		}
		if err := cur.Decode(&doc); err != nil {
			return nil, err
		}
		if want[doc.CandidateID] && !IsNurture(doc.ID) {
			ids = append(ids, doc.ID)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, Unavailable("read the applications' candidates", err)
	}
	return ids, nil
}
