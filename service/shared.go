package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"os"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/goodwillhq/goodwill/interactions"
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

// newLeases returns the lease manager of this replica. Each lease it holds carries
// the projector's mark to the partition's next owner.
func (s *Server) newLeases(db *mongo.Database) *lease.Manager {
	return lease.New(lease.Config{
		Collection: db.Collection("leases"),
		Replica:    replicaID(),
		Partitions: interactions.Partitions,
		Log:        s.log, // leases run on the wall clock, whatever clock the service is given
		Mark:       func() int64 { return s.projector.Mark() },
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

// owns reports whether this replica owns an application's partition now.
func (s *Server) owns(applicationID string) bool {
	return s.leases.Owns(interactions.Partition(applicationID))
}

// startLeases takes this replica's share of the partitions and returns once the
// projector has caught up with them.
func (s *Server) startLeases(ctx context.Context) error {
	s.leases.OnChange(s.partitionsChanged)
	if err := s.leases.Start(ctx); err != nil {
		return err
	}
	return s.projector.Settled(ctx)
}

// partitionWorker is what takes partitions over besides the projector and the engine.
type partitionWorker interface {
	Acquired(ctx context.Context, partitions []int) error
	Lost(partitions []int)
}

// partitionsChanged hands partitions over to and from the projector, the engine and
// the alerts pipeline.
func (s *Server) partitionsChanged(_ context.Context, c lease.Change) {
	var alerts partitionWorker
	if w, ok := any(s.dispatcher).(partitionWorker); ok {
		alerts = w
	}
	if len(c.Lost) > 0 {
		s.projector.Lost(c.Lost)
		if alerts != nil {
			alerts.Lost(c.Lost)
		}
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
	s.projector.Acquired(parts, mark, func(ctx context.Context) {
		if err := s.engine.Acquired(ctx, parts); err != nil {
			s.log.Warn("taking over partitions: the SLA engine failed; it retries when they are next acquired", "partitions", len(parts), "err", err)
		}
		if alerts != nil {
			if err := alerts.Acquired(ctx, parts); err != nil {
				s.log.Warn("taking over partitions: the alerts pipeline failed", "partitions", len(parts), "err", err)
			}
		}
	})
}
