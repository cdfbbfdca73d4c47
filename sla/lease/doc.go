// Package lease shares partitions of work between the replicas of goodwill that run over
// one MongoDB, so that each partition is worked on by one replica at a time.
//
// # Documents
//
// One small collection holds a document per partition (_id "partition-NN") and a
// heartbeat per live replica (_id "replica-<id>"). A partition document names its owner
// ("" when free), the moment its lease expires on the owner's clock, the owner's last
// Mark and a generation that every write increments. Renewals and releases are updates
// whose filter names the owner; a takeover first inserts a claim document on the
// generation it read (_id "claim-partition-NN-<gen>", removed right after), so of several
// replicas racing for one lease exactly one wins through the unique _id — on MongoDB and
// on the embedded store alike, whose updates are not atomic — and then updates the lease
// on condition that its generation is still the one read.
//
// # Renewal and fair share
//
// Every TTL/3 a replica renews its heartbeat and every lease it holds to its clock plus
// TTL, then reads the whole collection. The live replicas are those whose heartbeat has
// not expired; each aims at ceil(partitions / live) partitions. A replica above that
// share gives up the excess (reported lost, then released in the store so that the next
// owner need not wait for the expiry); one below it takes free or expired partitions in
// a random order. A new replica therefore gets its share within about two renewal
// periods, and a dead replica's partitions are taken within TTL plus one renewal period.
// Heartbeats of replicas dead for ten TTLs are removed.
//
// # Safety and clocks
//
// The owner counts a lease as its own only until the start of its last successful
// renewal + TTL − TTL/4 on its local clock: Owns turns false by itself at that moment,
// even while the store does not answer, and the loss is reported as soon as the pending
// store call gives up (at most TTL/2 later). A renewal confirmed after that deadline
// counts as a loss. Another replica takes a lease only once its stored expiry (the
// owner's clock at renewal + TTL) has passed on its own clock. Two replicas therefore
// never both own a partition as long as their clocks differ by less than TTL/4 (2.5 s at
// the default TTL of 10 s; keep replicas' clocks synchronised with NTP) and a process
// that stalls does not act on an Owns answer it read before the stall: check Owns right
// before a write that must not be made twice, and keep such writes idempotent.
package lease
