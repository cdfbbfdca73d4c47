package alerts

import (
	"context"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
)

// messageNames holds the names messages show: job titles, kept for a minute so that a
// burst of alerts about one job reads it once, and candidates' names read ahead. A
// candidate's name is read for the messages of one alert, ahead of time (prefetch,
// while the alert waits out its grouping window) or when the message is written, and
// dropped once used, when it is a minute old, or when the candidate is erased (forget).
type messageNames struct {
	Names
	now func() time.Time

	mu         sync.Mutex
	jobs       map[string]cachedJob
	candidates map[string]cachedCandidate
}

type cachedJob struct {
	job interactions.JobInfo
	at  time.Time
}

type cachedCandidate struct {
	c  interactions.Candidate
	at time.Time
}

const namesTTL = time.Minute

func (c *messageNames) Job(ctx context.Context, id string) (interactions.JobInfo, error) {
	now := c.now()
	c.mu.Lock()
	hit, ok := c.jobs[id]
	c.mu.Unlock()
	if ok && !now.Before(hit.at) && now.Sub(hit.at) < namesTTL {
		return hit.job, nil
	}
	job, err := c.Names.Job(ctx, id)
	if err != nil {
		return job, err
	}
	c.mu.Lock()
	if c.jobs == nil || len(c.jobs) >= 10000 {
		c.jobs = map[string]cachedJob{}
	}
	c.jobs[id] = cachedJob{job, now}
	c.mu.Unlock()
	return job, nil
}

// Candidate returns the name read ahead for the candidate, once, or reads it.
func (c *messageNames) Candidate(ctx context.Context, id string) (interactions.Candidate, error) {
	now := c.now()
	c.mu.Lock()
	hit, ok := c.candidates[id]
	delete(c.candidates, id)
	c.mu.Unlock()
	if ok && !now.Before(hit.at) && now.Sub(hit.at) < namesTTL {
		return hit.c, nil
	}
	return c.Names.Candidate(ctx, id)
}

// prefetch reads a candidate's name for the next message about them.
func (c *messageNames) prefetch(ctx context.Context, id string) {
	cand, err := c.Names.Candidate(ctx, id)
	if err != nil {
		return // read again when the message is written
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.candidates == nil || len(c.candidates) >= 10000 {
		c.candidates = map[string]cachedCandidate{}
	}
	c.candidates[id] = cachedCandidate{cand, now}
}

// forget drops what was read ahead about candidates (erasure).
func (c *messageNames) forget(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.candidates, id)
	}
}
