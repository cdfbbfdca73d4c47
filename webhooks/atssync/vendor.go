// Package atssync pulls from each ATS's REST API what its webhooks leave out: users,
// changed applications, interviews, logged touchpoints and events no webhook
// delivered. A Runner gives every configured vendor the same machinery — a pass every
// interval, a durable cursor per resource advanced only after the page is written,
// pacing within the vendor's rate limit, retries, one replica per vendor — and each
// vendor (webhooks/lever, webhooks/greenhouse, …) implements Vendor.
package atssync

import (
	"context"
	"net/http"
	"time"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/interactions/directory"
)

// Vendor is one ATS's API, seen by the runner as resources read page by page.
type Vendor interface {
	// Name is the vendor's source name: "lever", "greenhouse", "ashby", "workable".
	Name() string
	// Resources lists what a pass reads, in the order a pass reads them (users first,
	// so that applications name recruiters already in the directory).
	Resources() []string
	// Pull reads one page of resource, starting at cursor. A zero Cursor means the
	// first page of a first pass: Since (the lookback) is then set. Pull does no
	// writes; the runner writes the page and only then stores Page.Next. A
	// first-connect backfill reads the same resources from Cursor{Since: its since}
	// while the passes go on: Pull may be called from both at once.
	Pull(ctx context.Context, resource string, cursor Cursor) (Page, error)
}

// Cursor is where a resource's reading resumes. Vendors fill what they need: Since
// for a vendor whose durable cursor is a time (Greenhouse's last_activity_at, Lever's
// updated_at), Token for an opaque page token valid within one pass.
type Cursor struct {
	Since time.Time `bson:"since,omitempty" json:"since,omitempty"`
	Token string    `bson:"token,omitempty" json:"token,omitempty"`
}

// PassStart is the Since of a page's Next cursor for a list read whole every pass (a
// users directory): the cursor's own Since once a pass has begun, else now. It only
// marks where the pass began, and is never zero, since the runner keeps its previous
// cursor for a zero Next.
func PassStart(cursor Cursor, now time.Time) time.Time {
	if !cursor.Since.IsZero() {
		return cursor.Since
	}
	return now.UTC().Truncate(time.Millisecond)
}

// Page is what one Pull read.
type Page struct {
	// Interactions to store, each with Source the vendor's name and an ExternalID:
	// the receiver's own id where the event is one a webhook also describes, else
	// "sync:<vendor>:<kind>:<application>:<discriminator>".
	Interactions []interactions.Interaction
	// Users are the ATS's users, for the recruiters directory as "<vendor>:<id>".
	Users []User
	// Next is where the next page starts; More reports whether Pull should be called
	// again in this pass. When More is false, Next is where the next pass starts.
	Next Cursor
	More bool
	// Counts adds to the connector's counters (names of CONTRACT §10's counts).
	Counts map[string]int
}

// User is an ATS user as the directory keeps it: the four fields the ATS owns (ID
// "<vendor>:<user id>", Name, Email, Active, and ManagerID "<vendor>:<user id>" or
// empty when the ATS has no manager).
type User = directory.ATSUser

// Doer sends a request: *http.Client, or the runner's paced, retrying client.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}
