package interactions

import "slices"

// ReservedSources are the sources goodwill's own receivers write under: the ATS
// vendors, Standard Webhooks, Twilio, the email dropbox, chat, the recruiters' queue
// page and the ATS sync. Interactions naming one of them from elsewhere could pass
// for those receivers' events, so callers refuse them (a later receiver adds its name
// here).
var ReservedSources = []string{"greenhouse", "lever", "ashby", "workable", "standard", "twilio", "email", "slack", "queue", "sync"}

// Reserved reports whether source is one of ReservedSources.
func Reserved(source string) bool { return slices.Contains(ReservedSources, source) }
