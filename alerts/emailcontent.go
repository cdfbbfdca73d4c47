package alerts

import (
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// emailItem is one alert as the email templates see it; every string is one clean line.
type emailItem struct {
	Candidate, Job, What, Timing, Code, Link string
	Escalated                                bool
}

type emailView struct {
	Name  string // the recipient's name, or ""
	Intro string
	Items []emailItem
}

var emailText = texttemplate.Must(texttemplate.New("text").Parse(
	`Hi{{if .Name}} {{.Name}}{{end}},

{{.Intro}}
{{range .Items}}
* {{.Candidate}}{{if .Job}} - {{.Job}}{{end}}
  {{.What}} {{.Timing}}{{if .Escalated}} (escalated: nobody acknowledged the breach){{end}}
{{- if .Link}}
  Acknowledge: {{.Link}}{{end}}
{{- if .Code}}
  Alert code: {{.Code}} (reply ACK {{.Code}} to the SMS){{end}}
{{end}}
Acknowledging tells goodwill someone is on it and stops the escalation.
The links are valid for 72 hours.

-- goodwill
`))

var emailHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>goodwill</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>Hi{{if .Name}} {{.Name}}{{end}},</p>
<p>{{.Intro}}</p>
<ul>
{{- range .Items}}
<li style="margin-bottom: 1em"><strong>{{.Candidate}}</strong>{{if .Job}} &ndash; {{.Job}}{{end}}<br>
{{.What}} {{.Timing}}{{if .Escalated}} <em>(escalated: nobody acknowledged the breach)</em>{{end}}<br>
{{- if .Link}}
<a href="{{.Link}}">Acknowledge</a>{{end}}{{if .Code}} &middot; alert code {{.Code}}{{end}}</li>
{{- end}}
</ul>
<p style="color: #555">Acknowledging tells goodwill someone is on it and stops the escalation. The links are valid for 72 hours.</p>
</body></html>
`))

// EmailContent renders m as an email: a one-line subject, a plain-text body and an HTML
// body. Each alert names the candidate, the job, what is overdue (or due soon) and by how
// long, and carries its acknowledgement link and code; the HTML is escaped by
// html/template (a link that is not http(s) is replaced by "#ZgotmplZ"). Alerts come most
// urgent first. An empty m gives empty strings.
func EmailContent(m Message) (subject, text, html string) {
	if len(m.Alerts) == 0 {
		return "", "", ""
	}
	items := ordered(m.Alerts)
	v := emailView{Name: clean(m.Recipient.Name)}
	for _, it := range items {
		v.Items = append(v.Items, emailItem{
			Candidate: orDefault(clean(it.Candidate), "A candidate"),
			Job:       clean(it.Job),
			What:      upperFirst(orDefault(clean(it.what()), "response")),
			Timing:    it.timing(),
			Code:      clean(it.Code),
			Link:      strings.TrimSpace(it.Link),
			Escalated: it.Level == LevelEscalated,
		})
	}
	subject, v.Intro = emailSubject(items, v.Items)

	var t, h strings.Builder
	if err := emailText.Execute(&t, v); err != nil {
		panic(fmt.Sprintf("alerts: email text template: %v", err)) // the view always fits the template
	}
	if err := emailHTML.Execute(&h, v); err != nil {
		panic(fmt.Sprintf("alerts: email html template: %v", err))
	}
	return subject, t.String(), h.String()
}

// emailSubject returns the subject and the body's opening sentence.
func emailSubject(items []Item, view []emailItem) (subject, intro string) {
	first := view[0]
	prefix := ""
	if items[0].Level == LevelEscalated {
		prefix = "Escalation: "
	}
	if len(items) == 1 {
		what := orDefault(clean(items[0].what()), "response")
		job := ""
		if first.Job != "" {
			job = " (" + first.Job + ")"
		}
		if items[0].Level == LevelWarning {
			subject = fmt.Sprintf("Due in %s: %s for %s%s", HumanDuration(items[0].By), what, first.Candidate, job)
			intro = fmt.Sprintf("%s is about to wait too long: the %s is %s.", first.Candidate, what, first.Timing)
		} else {
			subject = fmt.Sprintf("%s%s is waiting%s: %s %s", prefix, first.Candidate, job, what, first.Timing)
			intro = fmt.Sprintf("%s is waiting: the %s is %s.", first.Candidate, what, first.Timing)
		}
		return truncate(subject, 200), intro
	}
	n := candidates(items)
	who := fmt.Sprintf("%d candidates are waiting", n)
	if n == 1 {
		who = "1 candidate is waiting"
	}
	names := []string{}
	seen := map[string]bool{}
	for _, it := range view {
		if !seen[it.Candidate] && len(names) < 2 {
			names = append(names, it.Candidate)
		}
		seen[it.Candidate] = true
	}
	list := strings.Join(names, ", ")
	if rest := n - len(names); rest > 0 {
		list += fmt.Sprintf(" and %d more", rest)
	}
	if items[len(items)-1].Level == LevelWarning && items[0].Level == LevelWarning {
		return truncate(fmt.Sprintf("%d alerts due soon: %s", len(items), list), 200),
			fmt.Sprintf("%d deadlines are coming up:", len(items))
	}
	return truncate(fmt.Sprintf("%s%s: %s", prefix, who, list), 200),
		fmt.Sprintf("%s (%d alerts, most urgent first):", who, len(items))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}
