package interactions

import (
	"context"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// SameEventWindow is how far apart the occurred_at of two descriptions of one ATS
// event may lie: a webhook's time and the time the vendor's API reports for it.
const SameEventWindow = 5 * time.Minute

// eventKinds are the kinds an ATS both sends by webhook and reports through its API,
// which the webhook receivers and the sync may therefore both record. Messages, calls,
// notes and the rest are distinct touchpoints even when alike, and are never merged.
var eventKinds = map[Kind]bool{
	KindApplicationReceived:  true,
	KindStageChanged:         true,
	KindInterviewScheduled:   true,
	KindInterviewRescheduled: true,
	KindInterviewCanceled:    true,
	KindInterviewCompleted:   true,
	KindInterviewNoShow:      true,
	KindFeedbackSubmitted:    true,
	KindOfferExtended:        true,
	KindRejected:             true,
	KindUnrejected:           true,
	KindHired:                true,
	KindWithdrawn:            true,
}

// IsATSEvent reports whether kind is one an ATS both sends by webhook and reports
// through its API: an event the webhook receivers and the sync may both record.
func IsATSEvent(kind Kind) bool { return eventKinds[kind] }

// SameEvent reports whether in, about to be stored, describes the event have (stored
// before, possibly in compact form) already describes, under another idempotency key:
// the same application and kind, the same stage and interview id, occurred_at within
// SameEventWindow of each other. An application is received once, whenever. An
// interview event that brings a scheduled_for the other lacks or differs from is not a
// repeat: it says something new. A stage is matched by name or by the vendor's id
// (metadata stage_id), since a receiver may know only the id.
func SameEvent(have, in Interaction) bool {
	if !eventKinds[in.Kind] || have.Kind != in.Kind || have.ApplicationID != in.ApplicationID || have.Key == in.Key {
		return false
	}
	if in.Kind == KindApplicationReceived {
		return true
	}
	if have.InterviewID != in.InterviewID || !sameStage(have, in) {
		return false
	}
	if in.ScheduledFor != nil && (have.ScheduledFor == nil || !have.ScheduledFor.Equal(*in.ScheduledFor)) {
		return false
	}
	return have.OccurredAt.Sub(in.OccurredAt).Abs() <= SameEventWindow
}

func sameStage(a, b Interaction) bool {
	if a.Stage == b.Stage {
		return true
	}
	ida, idb := stageID(a), stageID(b)
	return (ida != "" && (ida == b.Stage || ida == idb)) || (idb != "" && idb == a.Stage)
}

func stageID(in Interaction) string {
	s, _ := in.Metadata["stage_id"].(string)
	return s
}

// recentTTL is how long the writer remembers the events it stored, for the repeats
// that arrive before the projector has added them to their application: it covers the
// projector's lag (CONTRACT §4: 1 s) with a wide margin.
const recentTTL = 2 * time.Minute

// maxRecent bounds the events remembered.
const maxRecent = 50000

// recentEvents remembers, by application, the events of eventKinds this writer
// stored in the last recentTTL (compact: no personal data).
type recentEvents struct {
	mu    sync.Mutex
	byApp map[string][]Interaction
	order []recentEntry // oldest first
}

type recentEntry struct {
	app string
	at  time.Time
}

func (r *recentEvents) add(items []Interaction, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byApp == nil {
		r.byApp = map[string][]Interaction{}
	}
	r.expire(now)
	for _, it := range items {
		if !eventKinds[it.Kind] {
			continue
		}
		r.byApp[it.ApplicationID] = append(r.byApp[it.ApplicationID], it.Compact())
		r.order = append(r.order, recentEntry{app: it.ApplicationID, at: now})
	}
}

// expire forgets what is older than recentTTL, or beyond maxRecent.
func (r *recentEvents) expire(now time.Time) {
	n := 0
	for n < len(r.order) && (now.Sub(r.order[n].at) > recentTTL || len(r.order)-n > maxRecent) {
		e := r.order[n]
		if list := r.byApp[e.app]; len(list) <= 1 {
			delete(r.byApp, e.app)
		} else {
			r.byApp[e.app] = list[1:]
		}
		n++
	}
	r.order = r.order[n:]
}

func (r *recentEvents) of(app string) []Interaction {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byApp[app]
}

// knownEvents returns the events held for the applications of the deduplicated
// requests' items: those the projector keeps in each application document (read by
// _id, in one query) and those this writer stored too recently to be there.
func (w *Writer) knownEvents(ctx context.Context, batch []*writeReq) (map[string][]Interaction, error) {
	var ids []string
	seen := map[string]bool{}
	for _, r := range batch {
		if !r.dedupe || r.err != nil {
			continue
		}
		for _, it := range r.items {
			if eventKinds[it.Kind] && !seen[it.ApplicationID] {
				seen[it.ApplicationID] = true
				ids = append(ids, it.ApplicationID)
			}
		}
	}
	out := map[string][]Interaction{}
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := w.store.applications.Find(ctx, bson.M{"_id": bson.M{"$in": ids}},
		options.Find().SetProjection(bson.M{"events": 1}))
	if err != nil {
		return nil, Unavailable("find applications", err)
	}
	var apps []Application
	if err := cur.All(ctx, &apps); err != nil {
		return nil, Unavailable("find applications", err)
	}
	for _, a := range apps {
		out[a.ID] = a.Events
	}
	for _, id := range ids {
		out[id] = append(out[id], w.recent.of(id)...)
	}
	return out, nil
}

// repeats finds, in the deduplicated requests, the items that repeat an event held
// already (known) or an earlier item of the same group commit, and returns for each
// request the event each repeating item repeats, by item index.
func repeats(batch []*writeReq, known map[string][]Interaction) []map[int]Interaction {
	out := make([]map[int]Interaction, len(batch))
	for ri, r := range batch {
		if r.err != nil {
			continue
		}
		for i, it := range r.items {
			if !eventKinds[it.Kind] {
				continue
			}
			if r.dedupe {
				for _, have := range known[it.ApplicationID] {
					if SameEvent(have, it) {
						if out[ri] == nil {
							out[ri] = map[int]Interaction{}
						}
						out[ri][i] = have
						break
					}
				}
				if _, rep := out[ri][i]; rep {
					continue
				}
			}
			// What goes in is held from now on, for the items after it.
			known[it.ApplicationID] = append(known[it.ApplicationID], it)
		}
	}
	return out
}
