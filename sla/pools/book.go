// Package pools follows talent pools' memberships and nurture clocks for the pools'
// figures and the candidate timeline: which candidates are in which pool, who
// converted (applied) and how fast, and how often members were touched on time.
//
// The SLA engine derives nurture clocks from each pooled candidate's nurture document
// (interactions.NurtureID); Book is its observer for those documents and keeps, in
// memory, what the figures need.
package pools

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
)

// Membership is one stay of a candidate in a pool: from pool_added to pool_removed,
// or to the candidate's first application_received after it (a conversion).
type Membership struct {
	PoolID      string
	CandidateID string
	AddedAt     time.Time
	// RemovedAt is set when a pool_removed ended the membership.
	RemovedAt *time.Time
	// ConvertedAt is set when the candidate applied while a member: the membership
	// ended converted, ApplicationID naming the application.
	ConvertedAt   *time.Time
	ApplicationID string
}

// Active reports whether the membership has not ended.
func (m Membership) Active() bool { return m.RemovedAt == nil && m.ConvertedAt == nil }

// EndedAt is when the membership ended, nil while active.
func (m Membership) EndedAt() *time.Time {
	if m.RemovedAt != nil {
		return m.RemovedAt
	}
	return m.ConvertedAt
}

// Memberships reads a candidate's memberships from the events of their nurture
// document, by the rules of sla.DeriveNurture: a pool_added while a member changes
// nothing; pool_removed ends the membership; the first application_received after
// pool_added converts every active membership. They are ordered by AddedAt.
func Memberships(candidateID string, events []interactions.Interaction) []Membership {
	sorted := slices.Clone(events)
	interactions.SortEvents(sorted)
	var out []Membership
	active := map[string]int{}
	for _, e := range sorted {
		t := e.OccurredAt
		switch e.Kind {
		case interactions.KindPoolAdded:
			if _, ok := active[e.PoolID]; !ok {
				active[e.PoolID] = len(out)
				out = append(out, Membership{PoolID: e.PoolID, CandidateID: candidateID, AddedAt: t})
			}
		case interactions.KindPoolRemoved:
			if i, ok := active[e.PoolID]; ok {
				out[i].RemovedAt = &t
				delete(active, e.PoolID)
			}
		case interactions.KindApplicationReceived:
			for id, i := range active {
				out[i].ConvertedAt, out[i].ApplicationID = &t, e.ApplicationID
				delete(active, id)
			}
		}
	}
	return out
}

// entry is what the book keeps of one pooled candidate.
type entry struct {
	memberships []Membership
	clocks      []sla.Clock
}

// Book keeps every pooled candidate's memberships and nurture clocks. It is safe for
// concurrent use.
type Book struct {
	mu         sync.Mutex
	candidates map[string]entry
}

// NewBook returns an empty book.
func NewBook() *Book { return &Book{candidates: map[string]entry{}} }

// Apply takes a nurture document's clocks as the engine derived them (an
// sla.Observer); other applications are ignored.
func (b *Book) Apply(app interactions.Application, clocks []sla.Clock, _ time.Time) {
	if !interactions.IsNurture(app.ID) {
		return
	}
	e := entry{memberships: Memberships(app.CandidateID, app.Events), clocks: slices.Clone(clocks)}
	b.mu.Lock()
	b.candidates[app.CandidateID] = e
	b.mu.Unlock()
}

// Forget drops a candidate (their nurture document was purged).
func (b *Book) Forget(candidateID string) {
	b.mu.Lock()
	delete(b.candidates, candidateID)
	b.mu.Unlock()
}

// Candidate returns a candidate's memberships and nurture clocks.
func (b *Book) Candidate(candidateID string) ([]Membership, []sla.Clock) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.candidates[candidateID]
	return slices.Clone(e.memberships), slices.Clone(e.clocks)
}

// Members returns the candidates with an active membership of the pool, sorted.
func (b *Book) Members(poolID string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for id, e := range b.candidates {
		for _, m := range e.memberships {
			if m.PoolID == poolID && m.Active() {
				out = append(out, id)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Figures are a pool's figures over a period.
type Figures struct {
	// Members are the active memberships now; OverdueNow those of them whose nurture
	// clock is past due now.
	Members    int `json:"members"`
	OverdueNow int `json:"overdue_now"`
	// TouchedOnTimeRate is met ÷ (met + breached) of the pool's nurture clocks in the
	// period (a met clock on its stopped_at, a breached one on its due_at); nil when
	// there are none.
	TouchedOnTimeRate *float64 `json:"touched_on_time_rate"`
	// Converted are memberships converted in the period; ConversionRate is Converted ÷
	// the memberships active at some moment of the period (nil when none);
	// MedianDaysToConvert the median time from pool_added to the application, in days
	// of 24 hours, of those conversions (nil when none).
	Converted           int      `json:"converted"`
	ConversionRate      *float64 `json:"conversion_rate"`
	MedianDaysToConvert *float64 `json:"median_days_to_convert"`
}

// Figures computes a pool's figures for the period [from, to) at now.
func (b *Book) Figures(poolID string, from, to, now time.Time) Figures {
	b.mu.Lock()
	defer b.mu.Unlock()
	var f Figures
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	met, breached, during := 0, 0, 0
	var days []float64
	policy := "pool:" + poolID
	for _, e := range b.candidates {
		member := false
		for _, m := range e.memberships {
			if m.PoolID != poolID {
				continue
			}
			if m.Active() {
				member = true
			}
			if m.AddedAt.Before(to) && (m.EndedAt() == nil || !m.EndedAt().Before(from)) {
				during++
			}
			if m.ConvertedAt != nil && in(*m.ConvertedAt) {
				f.Converted++
				days = append(days, m.ConvertedAt.Sub(m.AddedAt).Hours()/24)
			}
		}
		if member {
			f.Members++
		}
		overdue := false
		for _, c := range e.clocks {
			if c.PolicyID != policy {
				continue
			}
			switch st := c.StateAt(now); {
			case c.Open() && st == sla.StateBreached:
				overdue = true
				if in(c.DueAt) {
					breached++
				}
			case !c.Open() && st == sla.StateMet && in(*c.StoppedAt):
				met++
			case !c.Open() && st == sla.StateBreached && in(c.DueAt):
				breached++
			}
		}
		if overdue && member {
			f.OverdueNow++
		}
	}
	if met+breached > 0 {
		f.TouchedOnTimeRate = ratio(met, met+breached)
	}
	if during > 0 {
		f.ConversionRate = ratio(f.Converted, during)
	}
	if len(days) > 0 {
		slices.Sort(days)
		med := days[len(days)/2]
		if len(days)%2 == 0 {
			med = (days[len(days)/2-1] + days[len(days)/2]) / 2
		}
		med = math.Round(med*100) / 100
		f.MedianDaysToConvert = &med
	}
	return f
}

func ratio(a, b int) *float64 {
	r := math.Round(float64(a)/float64(b)*10000) / 10000
	return &r
}
