package teams

import (
	"context"
	"net/http/httptrace"
	"strings"
	"sync/atomic"

	"github.com/goodwillhq/goodwill/alerts"
)

// Message is what a Workflows webhook takes: a message with one Adaptive Card
// attachment (Microsoft's "Send Adaptive Cards using an Incoming Webhook").
type Message struct {
	Type        string       `json:"type"` // "message"
	Attachments []Attachment `json:"attachments"`
}

// Attachment carries the card.
type Attachment struct {
	ContentType string       `json:"contentType"` // application/vnd.microsoft.card.adaptive
	ContentURL  *string      `json:"contentUrl"`  // always null
	Content     AdaptiveCard `json:"content"`
}

// AdaptiveCard is the card: text blocks and one button per alert.
type AdaptiveCard struct {
	Schema  string      `json:"$schema"`
	Type    string      `json:"type"` // "AdaptiveCard"
	Version string      `json:"version"`
	Body    []TextBlock `json:"body"`
	Actions []OpenURL   `json:"actions,omitempty"`
}

// TextBlock is a paragraph.
type TextBlock struct {
	Type   string `json:"type"` // "TextBlock"
	Text   string `json:"text"`
	Wrap   bool   `json:"wrap"`
	Weight string `json:"weight,omitempty"` // "Bolder" for the title
}

// OpenURL is a button that opens a page.
type OpenURL struct {
	Type  string `json:"type"` // "Action.OpenUrl"
	Title string `json:"title"`
	URL   string `json:"url"`
}

// maxActions is how many buttons a card gets: Teams shows at most six.
const maxActions = 6

// Card renders m: a bold title (as the email's subject), then one paragraph per alert
// naming the candidate, the job, what is overdue and by how long, and its code; and
// one "Acknowledge" button per alert with a link (at most six), which opens the signed
// acknowledgement page (the acknowledgement itself is a POST from that page).
func Card(m alerts.Message) Message {
	title, lines := alerts.ChatContent(m)
	card := AdaptiveCard{
		Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
		Body: []TextBlock{{Type: "TextBlock", Text: markdownSafe(title), Wrap: true, Weight: "Bolder"}},
	}
	for _, l := range lines {
		text := l.Candidate
		if l.Job != "" {
			text += " (" + l.Job + ")"
		}
		text += ": " + strings.ToLower(l.What) + " " + l.Timing + ". Code " + l.Code + "."
		if l.Level == alerts.LevelEscalated {
			text = "Escalation: " + text
		}
		card.Body = append(card.Body, TextBlock{Type: "TextBlock", Text: markdownSafe(text), Wrap: true})
		if l.Link != "" && len(card.Actions) < maxActions {
			label := "Acknowledge"
			if len(lines) > 1 {
				label += " " + l.Code
			}
			card.Actions = append(card.Actions, OpenURL{Type: "Action.OpenUrl", Title: label, URL: l.Link})
		}
	}
	return Message{Type: "message", Attachments: []Attachment{{
		ContentType: "application/vnd.microsoft.card.adaptive", Content: card,
	}}}
}

// markdownSafe escapes the characters a TextBlock would read as Markdown, so that a
// candidate's name shows as written and makes no link.
func markdownSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\*_[]()#>~`+"`", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// withWrote returns ctx with a trace that sets *wrote once the request is written,
// so that a failure after it is known to be ambiguous.
func withWrote(ctx context.Context, wrote *atomic.Bool) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
}
