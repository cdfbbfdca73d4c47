package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"math"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/sla"
	"github.com/goodwillhq/goodwill/sla/lease"
)

// Several replicas over one MongoDB share SLA and alert work by partition of
// application (interactions.Partition). Each partition is owned by one replica at a
// time through a lease in the store; the owner projects the partition's events into
// derived state, records its clock transitions and sends its alerts. Every replica
// follows the others' applications, so each answers every query. When a replica
// stops or dies, the others take its partitions over: the projector applies what the
// previous owner had not (from the mark its lease carries), then the engine records
// what came due meanwhile and the alerts pipeline loads the partition's pending work.

// newLeases returns the lease manager of this replica.
func newLeases(db *mongo.Database, log *slog.Logger) *lease.Manager {
	return lease.New(lease.Config{
		Collection: lease.Collection(db),
		Replica:    replicaID(),
		Partitions: interactions.Partitions,
		Log:        log, // leases run on the wall clock, whatever clock the service is given
	})
}

// replicaID names this process uniquely among the replicas: the host name (the pod's,
// on Kubernetes) and a random suffix, since a restarted process is a new replica.
func replicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "goodwill"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// ownedBy reports whether this replica owns an application's partition now.
func ownedBy(leases *lease.Manager) func(applicationID string) bool {
	return func(applicationID string) bool {
		return leases.Owns(interactions.Partition(applicationID))
	}
}

// handover hands partitions over to and from the projector, the engine and the
// alerts pipeline, as the leases change.
type handover struct {
	projector  *interactions.Projector
	engine     *sla.Engine
	dispatcher *alerts.Dispatcher
	log        *slog.Logger
}

func (h handover) changed(_ context.Context, c lease.Change) {
	if len(c.Lost) > 0 {
		h.projector.Lost(c.Lost)
		h.dispatcher.Lost(c.Lost)
	}
	if len(c.Acquired) == 0 {
		return
	}
	parts := make([]int, len(c.Acquired))
	mark := int64(math.MaxInt64)
	for i, t := range c.Acquired {
		parts[i] = t.Partition
		mark = min(mark, t.Mark)
	}
	h.projector.Acquired(parts, mark, func(ctx context.Context) {
		for attempt := 1; ; attempt++ {
			err := h.engine.Acquired(ctx, parts)
			if err == nil {
				break
			}
			if attempt == 5 || ctx.Err() != nil {
				h.log.Error("taking over partitions: the SLA engine failed; what came due while nobody owned them is recorded at the next start", "partitions", len(parts), "err", err)
				break
			}
			h.log.Warn("taking over partitions: the SLA engine failed; retrying", "partitions", len(parts), "err", err)
			time.Sleep(time.Duration(attempt) * time.Second)
		}
		if err := h.dispatcher.Acquired(ctx, parts); err != nil {
			h.log.Warn("taking over partitions: the alerts pipeline failed", "partitions", len(parts), "err", err)
		}
	})
}
