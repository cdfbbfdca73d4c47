// Package interactions is the touchpoint log: every recruiter–candidate interaction,
// its validation, its storage in MongoDB, and the per-application state derived from it.
//
// The log is the truth. Writes go through a group-commit Writer that coalesces
// concurrent requests into one InsertMany; a Projector then applies committed
// interactions to derived documents (applications, candidates, jobs) at most about a
// second later and keeps a high-water mark so it resumes after a crash.
package interactions
