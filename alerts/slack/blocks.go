package slack

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/goodwillhq/goodwill/alerts"
)

// The action_ids of the buttons; the value of each is the alert's id. See Block Kit's
// button element, https://docs.slack.dev/reference/block-kit/block-elements/button-element/.
const (
	ActionAck       = "goodwill_ack"
	ActionSnooze1h  = "goodwill_snooze_1h"
	ActionSnooze1d  = "goodwill_snooze_1d"
	actionsBlockPfx = "goodwill_actions_"
)

// maxItems is how many alerts a message lists with their buttons; the others are
// counted, and the queue lists them all. A message holds at most 50 blocks
// (https://docs.slack.dev/reference/block-kit/blocks/).
const maxItems = 15

// Summary is a message's plain text: Slack shows it in notifications, and where
// blocks cannot be shown.
func Summary(m alerts.Message) string {
	items := alerts.Ordered(m.Alerts)
	if len(items) == 0 {
		return ""
	}
	what, timing := items[0].Describe()
	s := fmt.Sprintf("%s %s: %s", head(items[0].Level), what, candidateOf(items[0]))
	if items[0].Job != "" {
		s += " (" + items[0].Job + ")"
	}
	s += ", " + timing
	if len(items) > 1 {
		s += fmt.Sprintf(", and %d more", len(items)-1)
	}
	return s
}

func head(l alerts.Level) string {
	switch l {
	case alerts.LevelEscalated:
		return "Escalation:"
	case alerts.LevelWarning:
		return "Due soon:"
	}
	return "Overdue:"
}

func candidateOf(it alerts.Item) string {
	if it.Candidate == "" {
		return "a candidate"
	}
	return it.Candidate
}

// Blocks renders a message in Block Kit (https://docs.slack.dev/block-kit/): for each
// alert, most urgent first, a section naming the candidate, the job, what is overdue
// and by how long, and its buttons Acknowledge, Snooze 1h and Snooze 1d; then a link
// to the queue (queueURL; none when empty).
func Blocks(m alerts.Message, queueURL string) []slack.Block {
	items := alerts.Ordered(m.Alerts)
	var blocks []slack.Block
	for i, it := range items {
		if i == maxItems {
			blocks = append(blocks, note(fmt.Sprintf("and %d more alerts: see the queue", len(items)-maxItems)))
			break
		}
		what, timing := it.Describe()
		text := fmt.Sprintf("*%s %s* for *%s*", head(it.Level), escape(what), escape(candidateOf(it)))
		if it.Job != "" {
			text += " – " + escape(it.Job)
		}
		text += "\n" + escape(upperFirst(timing))
		if it.Level == alerts.LevelEscalated {
			text += " · nobody acknowledged the breach"
		}
		if it.Code != "" {
			text += " · alert `" + escape(it.Code) + "`"
		}
		blocks = append(blocks,
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
			slack.NewActionBlock(fmt.Sprintf("%s%d", actionsBlockPfx, i),
				button(ActionAck, "Acknowledge", it.ID, slack.StylePrimary),
				button(ActionSnooze1h, "Snooze 1h", it.ID, ""),
				button(ActionSnooze1d, "Snooze 1d", it.ID, ""),
			))
	}
	if queueURL != "" {
		blocks = append(blocks, note("<"+queueURL+"|Open the queue> to see every candidate waiting."))
	}
	return blocks
}

func button(actionID, label, value string, style slack.Style) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(actionID, value, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
	if style != "" {
		b = b.WithStyle(style)
	}
	return b
}

func note(text string) *slack.ContextBlock {
	return slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, text, false, false))
}

// Acted returns a message's blocks after someone acted on one of its alerts: the
// buttons of that alert (the actions block blockID) give way to a line saying what
// was done, by whom and when (shown in the reader's time zone,
// https://docs.slack.dev/messaging/formatting-message-text/#date-formatting).
func Acted(blocks []slack.Block, blockID, done, userID string, at time.Time) []slack.Block {
	line := fmt.Sprintf("%s by <@%s> <!date^%d^{date_short_pretty} at {time}|%s>", done, userID, at.Unix(),
		at.UTC().Format("2 Jan 2006 15:04 UTC"))
	out := make([]slack.Block, 0, len(blocks))
	replaced := false
	for _, b := range blocks {
		if a, ok := b.(*slack.ActionBlock); ok && a.BlockID == blockID {
			out = append(out, note(line))
			replaced = true
			continue
		}
		out = append(out, b)
	}
	if !replaced {
		out = append(out, note(line))
	}
	return out
}

// escape makes text safe in mrkdwn: &, < and > are Slack's control characters
// (https://docs.slack.dev/messaging/formatting-message-text/#escaping).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
