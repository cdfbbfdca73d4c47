package interactions

import "slices"

// ReservedSources are the sources of goodwill's own receivers: the ATS webhooks and
// sync, Standard Webhooks, Twilio, the email dropbox, Slack and the queue page. Only
// an admin key may write an interaction with one of them through the API, so that
// nobody else can plant an idempotency key a receiver will later use. A receiver
// added later adds its source here.
var ReservedSources = []string{
	"greenhouse", "lever", "ashby", "workable", "standard",
	"twilio", "email", "slack", "queue", "sync",
}

// Reserved reports whether source is one of ReservedSources.
func Reserved(source string) bool { return slices.Contains(ReservedSources, source) }
