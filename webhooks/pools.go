package webhooks

import "github.com/goodwillhq/goodwill/interactions"

// The talent pools receivers add ATS prospects and leads to. A pool_added naming a
// pool that does not exist creates it (42d on the business calendar, no owner, alerts
// off: see docs/pools.md).
const (
	PoolProspects = "prospects" // Greenhouse prospects
	PoolLeads     = "leads"     // Ashby leads, Lever opportunities without an application
	PoolSourced   = "sourced"   // Workable sourced candidates
)

// Pooled turns the event that would record an application into the candidate's
// pool_added to pool: a prospect or lead has not applied, so it names no application.
// The ATS's application id, if any, is kept in metadata (application_id), so that
// one can tell which prospect application the person came from; when that
// application is later received, the membership converts.
func Pooled(in *interactions.Input, pool string, meta map[string]string) {
	if in.ApplicationID != "" {
		meta["application_id"] = in.ApplicationID
	}
	in.Kind = string(interactions.KindPoolAdded)
	in.PoolID = pool
	in.ApplicationID = ""
	in.Direction = ""
	in.Metadata = Metadata(meta)
}

// candidateLevel reports whether a kind names a candidate and no application.
func candidateLevel(kind string) bool {
	return kind == string(interactions.KindPoolAdded) || kind == string(interactions.KindPoolRemoved)
}
