package alerts

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

const link = "https://goodwill.example/ack/eyJhIjoiMDFKUVgifQ.c2lnbmF0dXJlLWJ5dGVz"

func breach(cand, job, metric string, by time.Duration, code string) Item {
	return Item{Code: code, Level: LevelBreached, Candidate: cand, Job: job, Metric: metric, By: by, Link: link + code}
}

func TestSMSBody(t *testing.T) {
	jane := breach("Jane Doe", "Senior Engineer", "first_response", 2*time.Hour+15*time.Minute, "7F3K")
	bob := breach("Bob Li", "Product Manager", "reply", 30*time.Minute, "9QW2")
	warn := Item{Code: "X1Y2", Level: LevelWarning, Candidate: "Ann Lee", Job: "Designer", Metric: "interview_feedback", By: 45 * time.Minute, Link: link}
	esc := jane
	esc.Level, esc.By = LevelEscalated, 5*time.Hour
	many := []Item{}
	for i := range 12 {
		many = append(many, breach(fmt.Sprintf("Candidate Number %02d", i), "Staff Software Engineer, Payments", "first_response", time.Duration(i+1)*time.Hour, fmt.Sprintf("C%03d", i)))
	}
	tests := []struct {
		name string
		m    Message
		want string // "" checks only the invariants
	}{
		// One breach names candidate, job, what and by how long, the link and the code.
		{"one breach", Message{Alerts: []Item{jane}},
			"goodwill: Jane Doe (Senior Engineer) first response overdue by 2h 15m. Ack: " + link + "7F3K or reply ACK 7F3K"},
		// A warning says when it is due.
		{"one warning", Message{Alerts: []Item{warn}},
			"goodwill warning: Ann Lee (Designer) interview feedback due in 45m. Ack: " + link + " or reply ACK X1Y2"},
		// An escalation says so in the header.
		{"escalation", Message{Alerts: []Item{esc}},
			"goodwill ESCALATION: Jane Doe (Senior Engineer) first response overdue by 5h. Ack: " + link + "7F3K or reply ACK 7F3K"},
		// Two alerts are grouped, longest overdue first, each with its code.
		{"group of two", Message{Alerts: []Item{bob, jane}},
			"goodwill: 2 candidates are waiting: Jane Doe (Senior Engineer) first response overdue by 2h 15m (ACK 7F3K); Bob Li (Product Manager) reply overdue by 30m (ACK 9QW2). Reply ACK and a code, e.g. ACK 7F3K. " + link + "7F3K"},
		// Mixed levels: escalations first and marked; the warning does not fit.
		{"mixed levels", Message{Alerts: []Item{warn, esc, bob}},
			"goodwill ESCALATION: 3 candidates are waiting: Jane Doe (Senior Engineer) first response overdue by 5h, escalated (ACK 7F3K); Bob Li (Product Manager) reply overdue by 30m (ACK 9QW2); +1 more. Reply ACK and a code, e.g. ACK 7F3K. " + link + "7F3K"},
		// Two alerts for one candidate.
		{"one candidate twice", Message{Alerts: []Item{jane, breach("Jane Doe", "Senior Engineer", "stage_stall", time.Hour, "AB12")}},
			"goodwill: 1 candidate is waiting: Jane Doe (Senior Engineer) first response overdue by 2h 15m (ACK 7F3K); Jane Doe (Senior Engineer) next step overdue by 1h (ACK AB12). Reply ACK and a code, e.g. ACK 7F3K. " + link + "7F3K"},
		// Many alerts: shortened names, then "+N more".
		{"truncated group", Message{Alerts: many}, ""},
		// Names outside GSM-7 are transliterated or replaced.
		{"non-GSM names", Message{Alerts: []Item{breach("Łukasz Żółć “Łuki”", "Ingénieur — Zürich [Remote] €", "first_response", time.Hour, "7F3K")}},
			"goodwill: Lukasz Zolc \"Luki\" (Ingénieur - Zürich (Remote) EUR) first response overdue by 1h. Ack: " + link + "7F3K or reply ACK 7F3K"},
		// Very long names are cut.
		{"long names", Message{Alerts: []Item{breach(strings.Repeat("Maximilian ", 30), strings.Repeat("Principal ", 40), "first_response", time.Hour, "7F3K")}}, ""},
		// A link too long to leave room for the alert is left out.
		{"huge link", Message{Alerts: []Item{{Code: "7F3K", Level: LevelBreached, Candidate: "Jane Doe", Job: "Engineer", Metric: "reply", By: time.Hour, Link: "https://x.example/" + strings.Repeat("a", 400)}}},
			"goodwill: Jane Doe (Engineer) reply overdue by 1h. Reply ACK 7F3K"},
		// Newlines in names do not break the message.
		{"control characters", Message{Alerts: []Item{breach("Jane\nDoe\t\x00", "Eng\r\nineer", "closure", 26*time.Hour, "7F3K")}},
			"goodwill: Jane Doe (Eng ineer) rejection notice overdue by 1d 2h. Ack: " + link + "7F3K or reply ACK 7F3K"},
		// No alerts, no message.
		{"empty", Message{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SMSBody(tt.m)
			checkSMS(t, tt.m, got)
			if tt.want != "" && got != tt.want {
				t.Errorf("SMSBody =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// checkSMS checks what every SMS body must satisfy.
func checkSMS(t *testing.T, m Message, got string) {
	t.Helper()
	if n := utf8.RuneCountInString(got); n > SMSMaxChars {
		t.Errorf("SMSBody has %d characters, more than %d:\n%s", n, SMSMaxChars, got)
	}
	if !isGSM7(got) {
		t.Errorf("SMSBody is not GSM-7: %q", got)
	}
	if len(m.Alerts) == 0 {
		if got != "" {
			t.Errorf("SMSBody of no alerts = %q", got)
		}
		return
	}
	if code := ordered(m.Alerts)[0].Code; code != "" && isGSM7(code) && len(code) <= 16 && !strings.Contains(got, "ACK "+code) {
		t.Errorf("SMSBody lacks %q:\n%s", "ACK "+code, got)
	}
	if len(m.Alerts) > 1 && !strings.Contains(got, "waiting") {
		t.Errorf("grouped SMSBody lacks the count:\n%s", got)
	}
}

func TestSMSBodyTruncation(t *testing.T) {
	var items []Item
	for i := range 12 {
		items = append(items, breach(fmt.Sprintf("Candidate Number %02d", i), "Staff Software Engineer, Payments", "first_response", time.Duration(12-i)*time.Hour, fmt.Sprintf("C%03d", i)))
	}
	got := SMSBody(Message{Alerts: items})
	if !strings.HasPrefix(got, "goodwill: 12 candidates are waiting: Candidate Number 00") {
		t.Errorf("the most overdue candidate does not come first:\n%s", got)
	}
	if !strings.Contains(got, " more. Reply ACK and a code, e.g. ACK C000. "+link+"C000") {
		t.Errorf("no \"+N more\" before the tail:\n%s", got)
	}
}

func TestGSM7(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Jane Doe", "Jane Doe"},                                     // plain ASCII stays
		{"José Müller-Øby", "José Müller-Øby"},                       // in the basic set
		{"Łukasz Wąsik", "Lukasz Wasik"},                             // diacritics stripped
		{"ação çedilla", "acao cedilla"},                             // ç is not in the basic set (Ç is)
		{"Дмитрий", "???????"},                                       // no Latin form
		{"a\tb\n\nc", "a b c"},                                       // white space collapses
		{"x`y^z{1}[2]|\\~", "x'y'z(1)(2)//-"},                        // extension-table characters replaced
		{"“smart” ‘quotes’ – dash…", "\"smart\" 'quotes' - dash..."}, // typography
		{"emoji 🙂", "emoji ?"},                                       // outside everything
	}
	for _, tt := range tests {
		if got := gsm7(tt.in); got != tt.want || !isGSM7(got) {
			t.Errorf("gsm7(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "under 1m"},                         // below a minute
		{45 * time.Minute, "45m"},                              // minutes
		{2 * time.Hour, "2h"},                                  // whole hours
		{2*time.Hour + 15*time.Minute + time.Second, "2h 15m"}, // rounded down
		{50 * time.Hour, "2d 2h"},                              // days and hours
		{72 * time.Hour, "3d"},                                 // whole days
		{-90 * time.Minute, "1h 30m"},                          // the sign is ignored
	}
	for _, tt := range tests {
		if got := HumanDuration(tt.d); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func FuzzSMSBody(f *testing.F) {
	f.Add("Jane Doe", "Senior Engineer", "first_response", "7F3K", link, int64(time.Hour), 2, uint8(1))
	f.Add("Łukasz “Ł” Żółć", "Ingénieur — €", "reply", "X", "https://x/"+strings.Repeat("y", 300), int64(-time.Minute), 40, uint8(0))
	f.Add("", "", "", "", "", int64(0), 1, uint8(2))
	f.Add("a\nb\x00c🙂", strings.Repeat("[job]", 100), "stage_stall", strings.Repeat("Z", 40), "javascript:alert(1)", int64(1<<62), 7, uint8(3))
	f.Fuzz(func(t *testing.T, cand, job, metric, code, link string, by int64, n int, level uint8) {
		if n < 1 || n > 50 {
			n = 1 + (n%50+50)%50
		}
		levels := []Level{LevelWarning, LevelBreached, LevelEscalated, "odd"}
		var m Message
		for i := range n {
			m.Alerts = append(m.Alerts, Item{
				Code: code, Level: levels[(int(level)+i)%len(levels)], Candidate: cand, Job: job,
				Metric: metric, By: time.Duration(by), Link: link,
			})
		}
		got := SMSBody(m)
		if n := utf8.RuneCountInString(got); n > SMSMaxChars {
			t.Fatalf("SMSBody has %d characters:\n%s", n, got)
		}
		if !isGSM7(got) {
			t.Fatalf("SMSBody is not GSM-7: %q", got)
		}
		if got == "" {
			t.Fatalf("SMSBody is empty")
		}
		subject, text, html := EmailContent(m)
		if subject == "" || text == "" || html == "" || strings.ContainsAny(subject, "\r\n") {
			t.Fatalf("EmailContent = %q, %q, %q", subject, text, html)
		}
	})
}

func TestEmailContent(t *testing.T) {
	jane := breach("Jane Doe", "Senior Engineer", "first_response", 2*time.Hour+15*time.Minute, "7F3K")
	bob := breach("Bob <b>Li</b>", "PM & Ops", "reply", 30*time.Minute, "9QW2")
	warn := Item{Code: "X1Y2", Level: LevelWarning, Candidate: "Ann Lee", Job: "Designer", Metric: "interview_feedback", By: 45 * time.Minute, Link: link}
	tests := []struct {
		name     string
		m        Message
		subject  string
		inText   []string
		inHTML   []string
		notInAll []string
	}{
		// One breach: the subject names candidate, job, what and how long.
		{"one breach", Message{Recipient: Recipient{Name: "Ann"}, Alerts: []Item{jane}},
			"Jane Doe is waiting (Senior Engineer): first response overdue by 2h 15m",
			[]string{"Hi Ann,", "Jane Doe is waiting: the first response is overdue by 2h 15m.", "* Jane Doe - Senior Engineer", "Acknowledge: " + link + "7F3K", "Alert code: 7F3K"},
			[]string{"<strong>Jane Doe</strong> &ndash; Senior Engineer", `<a href="` + link + `7F3K">Acknowledge</a>`, "First response overdue by 2h 15m"},
			nil},
		// A warning says when it is due.
		{"warning", Message{Alerts: []Item{warn}},
			"Due in 45m: interview feedback for Ann Lee (Designer)",
			[]string{"Hi,", "the interview feedback is due in 45m"},
			[]string{"Interview feedback due in 45m"},
			nil},
		// An escalation is marked.
		{"escalation", Message{Alerts: []Item{{Code: "E1", Level: LevelEscalated, Candidate: "Jane Doe", Job: "Eng", Metric: "reply", By: 5 * time.Hour, Link: link}}},
			"Escalation: Jane Doe is waiting (Eng): reply overdue by 5h",
			[]string{"(escalated: nobody acknowledged the breach)"},
			[]string{"<em>(escalated: nobody acknowledged the breach)</em>"},
			nil},
		// A group lists every alert, most urgent first; HTML is escaped.
		{"group", Message{Alerts: []Item{bob, warn, jane}},
			"3 candidates are waiting: Jane Doe, Bob <b>Li</b> and 1 more",
			[]string{"3 candidates are waiting (3 alerts, most urgent first):", "* Bob <b>Li</b> - PM & Ops"},
			[]string{"<strong>Bob &lt;b&gt;Li&lt;/b&gt;</strong> &ndash; PM &amp; Ops"},
			nil},
		// A link that is not http(s) is neutralised in the HTML.
		{"hostile link", Message{Alerts: []Item{{Code: "7F3K", Level: LevelBreached, Candidate: "X", Metric: "reply", By: time.Hour, Link: "javascript:alert(1)"}}},
			"X is waiting: reply overdue by 1h",
			nil,
			[]string{`href="#ZgotmplZ"`},
			[]string{`href="javascript`}},
		// A newline in a name cannot reach the subject.
		{"header injection", Message{Alerts: []Item{breach("Jane\r\nBcc: x@evil", "Eng", "reply", time.Hour, "7F3K")}},
			"Jane Bcc: x@evil is waiting (Eng): reply overdue by 1h",
			nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, text, html := EmailContent(tt.m)
			if diff := cmp.Diff(tt.subject, subject); diff != "" {
				t.Errorf("subject (-want +got):\n%s", diff)
			}
			for _, s := range tt.inText {
				if !strings.Contains(text, s) {
					t.Errorf("text lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tt.inHTML {
				if !strings.Contains(html, s) {
					t.Errorf("html lacks %q:\n%s", s, html)
				}
			}
			for _, s := range tt.notInAll {
				if strings.Contains(html, s) || strings.Contains(subject, s) {
					t.Errorf("output contains %q:\n%s", s, html)
				}
			}
		})
	}
	if s, tx, h := EmailContent(Message{}); s+tx+h != "" {
		t.Errorf("EmailContent of no alerts = %q, %q, %q", s, tx, h)
	}
}
