// Package lease shares partitions of work between the replicas of goodwill that run over
// one MongoDB, so that each partition is worked on by one replica at a time.
//
// # Documents
//
// One collection holds a document per partition (_id "partition-NN") and a heartbeat
// per live replica (_id "replica-<id>"). A partition document names its owner, the
// moment its lease expires on the owner's clock, the owner's last Mark and a generation
// that every write increments. Every write is an InsertOne (a duplicate key means another
// replica was first) or a FindOneAndUpdate whose filter names the _id and either the
// owner (renew, release) or the generation read just before (take over), so two
// replicas never both succeed in taking one lease.
//
// # Renewal
//
// Every TTL/3 a replica renews its heartbeat and each lease it holds, storing its clock
// plus TTL as the expiry, then reads the collection. The live replicas are those whose
// heartbeat has not expired; each aims at ceil(partitions / live) partitions. A replica
// above that share gives up the excess (reported lost, then released in the store so the
// next owner need not wait for the expiry); one below it takes free or expired partitions
// in a random order. A new replica therefore gets its share within about two renewal
// periods, and a dead replica's partitions are taken within TTL plus one renewal period.
//
// # Safety and clocks
//
// The owner counts a lease as its own only until the start of its last successful
// renewal + TTL − TTL/4, on its local clock; Owns turns false by itself at that moment,
// even while the store does not answer. Another replica takes a lease only once the
// stored expiry (the owner's clock at renewal + TTL) has passed on its own clock. Two
// replicas therefore never both own a partition as long as their clocks differ by less
// than TTL/4 (2.5 s at the default TTL of 10 s) — keep replicas' clocks synchronised
// (NTP) — and as long as a stalled process does not act on an Owns answer it read
// before the stall: check Owns right before a write that must not be made twice, and
// keep such writes idempotent.
package lease
