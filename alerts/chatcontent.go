package alerts

import "strings"

// ChatLine is one alert as a chat card (alerts/teams) shows it: each field cleaned to
// one line.
type ChatLine struct {
	Level     Level
	Candidate string // "A candidate" when the name is unknown
	Job       string // may be empty
	What      string // what is overdue, in words: "First response"
	Timing    string // "overdue by 2h 15m", "due in 45m"
	Code      string // the alert's code
	Link      string // the signed acknowledgement link, or empty
}

// ChatContent renders m for a chat card: a title (the email's subject) and one line
// per alert, most urgent first. An empty m gives nothing.
func ChatContent(m Message) (title string, lines []ChatLine) {
	if len(m.Alerts) == 0 {
		return "", nil
	}
	items := ordered(m.Alerts)
	view := make([]emailItem, len(items))
	for i, it := range items {
		view[i] = emailItem{
			Candidate: orDefault(clean(it.Candidate), "A candidate"),
			Job:       clean(it.Job),
			What:      upperFirst(orDefault(clean(it.what()), "response")),
			Timing:    it.timing(),
			Code:      clean(it.Code),
			Link:      strings.TrimSpace(it.Link),
		}
		lines = append(lines, ChatLine{Level: it.Level, Candidate: view[i].Candidate, Job: view[i].Job,
			What: view[i].What, Timing: view[i].Timing, Code: view[i].Code, Link: view[i].Link})
	}
	title, _ = emailSubject(items, view)
	return title, lines
}
