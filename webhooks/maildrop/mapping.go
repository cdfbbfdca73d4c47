package maildrop

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/webhooks"
)

// Source is the source of the interactions the dropbox writes (a reserved source).
const Source = "email"

// Candidates finds candidates by email address and their applications
// (*interactions.Store).
type Candidates interface {
	CandidatesByEmail(ctx context.Context, email string) ([]string, error)
	Applications(ctx context.Context, candidateIDs []string) ([]interactions.ApplicationRef, error)
}

// Recruiters finds the ids of the recruiters of the directory whose email is email
// (compared without regard to case).
type Recruiters interface {
	RecruitersByEmail(ctx context.Context, email string) ([]string, error)
}

// Envelope is what the SMTP transaction says about a message besides its header.
type Envelope struct {
	// ReturnPath is MAIL FROM; "" for the null return path <> of bounces.
	ReturnPath string
	// Recruiters are the holders of the personal addresses the mail was sent to, in
	// the order of RCPT.
	Recruiters []string
	// OrgWide is set when the mail was sent to log@<domain>.
	OrgWide    bool
	ReceivedAt time.Time
}

// Mapper maps a message to interactions.
type Mapper struct {
	Candidates Candidates
	Recruiters Recruiters
	// SenderDomains are the organisation's mail domains, lower case
	// (GOODWILL_MAIL_SENDER_DOMAINS).
	SenderDomains []string
	// Domain is the dropbox's own domain: its addresses are never candidates.
	Domain string
	// KeepSubject keeps the subject in the interaction's metadata
	// (GOODWILL_MAIL_KEEP=subject).
	KeepSubject bool
}

// Mapped is what a message maps to: interactions, or the reason it is no touchpoint.
type Mapped struct {
	Direction interactions.Direction // "" when Ignored
	Items     []interactions.Input
	// Ignored says why the message maps to nothing. It never holds an address.
	Ignored string
}

// Ignore returns why a message is no touchpoint (an auto-reply, a bounce, a list
// mail), or "".
func Ignore(m Message, env Envelope) string {
	switch {
	case m.AutoSubmitted != "" && m.AutoSubmitted != "no":
		return "an automatic message (Auto-Submitted: " + webhooks.Text(firstWord(m.AutoSubmitted)) + ")"
	case m.Precedence == "bulk" || m.Precedence == "junk" || m.Precedence == "list":
		return "a bulk or list message (Precedence: " + m.Precedence + ")"
	case env.ReturnPath == "":
		return "a bounce or notification (empty return path)"
	case m.ContentType == "multipart/report":
		return "a delivery or read report (multipart/report)"
	}
	return ""
}

func firstWord(s string) string {
	s, _, _ = strings.Cut(s, ";")
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.TrimSpace(s)
}

// OccurredAt is when a message counts as sent, by the rule of self-reported
// touchpoints: its Date if that is at most interactions.MaxSelfReportedAge before
// receipt and not after it, otherwise the time of receipt.
func OccurredAt(date, received time.Time) time.Time {
	if date.IsZero() || date.After(received) || received.Sub(date) > interactions.MaxSelfReportedAge {
		return received
	}
	return date
}

// PickApplication chooses the application a message about a candidate goes to: the
// open one owned by recruiterID, else the newest open one, else the newest. ok is
// false when there is none.
func PickApplication(apps []interactions.ApplicationRef, recruiterID string) (interactions.ApplicationRef, bool) {
	if len(apps) == 0 {
		return interactions.ApplicationRef{}, false
	}
	sorted := slices.Clone(apps)
	slices.SortFunc(sorted, func(a, b interactions.ApplicationRef) int {
		if c := rank(b, recruiterID) - rank(a, recruiterID); c != 0 {
			return c
		}
		if c := b.LastEventAt.Compare(a.LastEventAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return sorted[0], true
}

func rank(a interactions.ApplicationRef, recruiterID string) int {
	switch {
	case a.Status == interactions.StatusOpen && recruiterID != "" && a.RecruiterID == recruiterID:
		return 2
	case a.Status == interactions.StatusOpen:
		return 1
	}
	return 0
}

// Map maps a message. The direction:
//   - outbound when From is an organisation or directory address (or, sent to a
//     personal address, any address that is not a known candidate's): one message
//     per candidate among To and Cc, credited (actor_id) to the sending recruiter;
//   - inbound when From is a known candidate: one message on the candidate's
//     application, chosen with the addressed recruiter.
//
// Errors are the lookups' (CodeUnavailable).
func (mp *Mapper) Map(ctx context.Context, m Message, env Envelope) (Mapped, error) {
	if reason := Ignore(m, env); reason != "" {
		return Mapped{Ignored: reason}, nil
	}
	personal := ""
	if len(env.Recruiters) > 0 {
		personal = env.Recruiters[0]
	}
	senders, err := mp.Recruiters.RecruitersByEmail(ctx, m.From)
	if err != nil {
		return Mapped{}, err
	}
	fromOrg := len(senders) > 0 || slices.Contains(mp.SenderDomains, domainOf(m.From))
	var fromCandidates []string
	if !fromOrg {
		if fromCandidates, err = mp.Candidates.CandidatesByEmail(ctx, m.From); err != nil {
			return Mapped{}, err
		}
	}
	switch {
	case len(fromCandidates) > 0:
		addressed := personal
		if addressed == "" {
			if addressed, err = mp.firstRecruiter(ctx, append(slices.Clone(m.To), m.Cc...)); err != nil {
				return Mapped{}, err
			}
		}
		return mp.items(ctx, m, env, interactions.Inbound, fromCandidates, addressed, "")
	case fromOrg || personal != "":
		// The token authenticates its holder; through log@, the directory names the sender.
		actor := cmp.Or(personal, first(senders))
		var ids []string
		seen := map[string]bool{}
		for _, addr := range append(slices.Clone(m.To), m.Cc...) {
			if seen[addr] || mp.ours(addr) {
				continue
			}
			seen[addr] = true
			found, err := mp.Candidates.CandidatesByEmail(ctx, addr)
			if err != nil {
				return Mapped{}, err
			}
			for _, id := range found {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		if len(ids) == 0 {
			return Mapped{Ignored: "no recipient in To or Cc is a known candidate"}, nil
		}
		return mp.items(ctx, m, env, interactions.Outbound, ids, actor, actor)
	}
	return Mapped{Ignored: "the sender is neither the organisation, a recruiter nor a known candidate"}, nil
}

// ours reports whether an address is the organisation's or the dropbox's own: never a
// candidate's.
func (mp *Mapper) ours(addr string) bool {
	d := domainOf(addr)
	return d == mp.Domain || slices.Contains(mp.SenderDomains, d)
}

func (mp *Mapper) firstRecruiter(ctx context.Context, addrs []string) (string, error) {
	for _, a := range addrs {
		ids, err := mp.Recruiters.RecruitersByEmail(ctx, a)
		if err != nil {
			return "", err
		}
		if len(ids) > 0 {
			return ids[0], nil
		}
	}
	return "", nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// items builds one message per candidate: on the application PickApplication
// chooses, or, for a candidate with no application (a talent pool's member, say),
// a candidate-level message (no application_id), which touches the candidate and
// moves their nurture clocks. Candidates sharing an application get one message.
func (mp *Mapper) items(ctx context.Context, m Message, env Envelope, dir interactions.Direction, candidateIDs []string, recruiterID, actorID string) (Mapped, error) {
	at := interactions.APITime(OccurredAt(m.Date, env.ReceivedAt))
	var meta json.RawMessage
	if mp.KeepSubject {
		meta = webhooks.Metadata(map[string]string{"subject": m.Subject})
	}
	id := m.MessageID
	if id == "" {
		id = m.Fingerprint
	}
	out := Mapped{Direction: dir}
	seenApps := map[string]bool{}
	for _, c := range candidateIDs {
		apps, err := mp.Candidates.Applications(ctx, []string{c})
		if err != nil {
			return Mapped{}, err
		}
		app, ok := PickApplication(apps, recruiterID)
		switch {
		case !ok:
			app = interactions.ApplicationRef{CandidateID: c} // a candidate-level touch
		case seenApps[app.ID]:
			continue
		default:
			seenApps[app.ID] = true
		}
		out.Items = append(out.Items, interactions.Input{
			ApplicationID: app.ID,
			CandidateID:   app.CandidateID,
			Kind:          string(interactions.KindMessage),
			Direction:     string(dir),
			Channel:       "email",
			ActorID:       actorID,
			Source:        Source,
			ExternalID:    webhooks.ExternalID(id, app.CandidateID, string(dir)),
			OccurredAt:    at,
			Metadata:      meta,
		})
	}
	return out, nil
}
