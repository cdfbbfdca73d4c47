// Package directory is the recruiters directory: who the recruiters are, how to reach
// them, who manages whom, who stands in for whom, and whether they are still active.
// It owns the "recruiters" and "recruiter_phones" collections; every other package
// reads and writes recruiters through its Store, or through an interface of its own
// that the Store satisfies.
//
//   - Recruiter, its validation and defaults (Validate), with the phone rules
//     (E.164, within the SMS countries: CallingCodes, PhoneAllowed).
//   - Store, the directory in MongoDB: "recruiters" keyed by recruiter id, and a
//     phone → recruiter mapping in "recruiter_phones" so that inbound SMS are matched
//     by _id. It keeps a copy of the whole directory in memory (it is small) for the
//     lookups on hot paths: Recipient (whom an alert goes to: delegates while away,
//     inactive recruiters, the "default" recruiter) and ByEmail (single sign-on).
//   - Reports, the direct reports of managers, for what a recruiter key may see.
//   - QuietUntil, the next moment a recruiter may be alerted given quiet hours and
//     working days in their own time zone.
//
// Nothing here reads the clock; callers pass "now".
package directory
