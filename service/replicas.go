package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"os"
	"time"

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
		Collection: lease.Collection(db),
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

// partitionsChanged hands partitions over to and from the projector, the engine and
// the alerts pipeline.
func (s *Server) partitionsChanged(_ context.Context, c lease.Change) {
	if len(c.Lost) > 0 {
		s.projector.Lost(c.Lost)
		s.dispatcher.Lost(c.Lost)
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
		for attempt := 1; ; attempt++ {
			err := s.engine.Acquired(ctx, parts)
			if err == nil {
				break
			}
			if attempt == 5 || ctx.Err() != nil {
				s.log.Error("taking over partitions: the SLA engine failed; what came due while nobody owned them is recorded at the next start", "partitions", len(parts), "err", err)
				break
			}
			s.log.Warn("taking over partitions: the SLA engine failed; retrying", "partitions", len(parts), "err", err)
			time.Sleep(time.Duration(attempt) * time.Second)
		}
		if err := s.dispatcher.Acquired(ctx, parts); err != nil {
			s.log.Warn("taking over partitions: the alerts pipeline failed", "partitions", len(parts), "err", err)
		}
	})
}
