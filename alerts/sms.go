package alerts

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// SMSMaxChars is the most characters SMSBody writes: two concatenated GSM-7 segments
// (2 × 153 septets). SMSBody uses only the GSM 03.38 basic character set, where every
// character is one septet.
const SMSMaxChars = 306

// gsmBasic is the GSM 03.38 default alphabet without the escape character; the
// extension table (^{}\[~]|€) is left out because each of its characters costs two
// septets.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

var gsmSet = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range gsmBasic {
		m[r] = true
	}
	return m
}()

// isGSM7 reports whether every character of s is in the GSM-7 basic set.
func isGSM7(s string) bool {
	for _, r := range s {
		if !gsmSet[r] {
			return false
		}
	}
	return true
}

// gsmReplace transliterates characters outside the basic set that have no diacritic to
// strip.
var gsmReplace = map[rune]string{
	'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D", 'ı': "i", 'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "Th",
	'œ': "oe", 'Œ': "OE", 'ŋ': "n", 'ħ': "h", 'Ħ': "H",
	'‘': "'", '’': "'", '‚': "'", '′': "'", '`': "'", '´': "'",
	'“': "\"", '”': "\"", '„': "\"", '″': "\"", '«': "\"", '»': "\"",
	'–': "-", '—': "-", '―': "-", '−': "-", '‐': "-", '‑': "-",
	'…': "...", '•': "*", '·': ".",
	'[': "(", ']': ")", '{': "(", '}': ")", '\\': "/", '|': "/", '~': "-", '^': "'",
	'€': "EUR",
}

// gsm7 makes s safe for one line of an SMS: white space and control characters collapse
// to single spaces, letters lose diacritics the basic set lacks (ć → c), and other
// characters outside the GSM-7 basic set become "?".
//
// Only the first 400 characters of s are looked at: an SMS holds fewer.
func gsm7(s string) string {
	if r := []rune(s); len(r) > 400 {
		s = string(r[:400])
	}
	s = clean(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case gsmSet[r]:
			b.WriteRune(r)
		case gsmReplace[r] != "":
			b.WriteString(gsmReplace[r])
		default:
			base := []rune(norm.NFD.String(string(r)))
			if len(base) > 1 && gsmSet[base[0]] && base[0] != '\n' && base[0] != '\r' {
				b.WriteRune(base[0])
			} else if r == '\u00a0' || r == '\u2009' || r == '\u202f' {
				b.WriteByte(' ')
			} else {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

// SMSBody renders m as one SMS of at most SMSMaxChars characters from the GSM-7 basic
// set (so at most two segments). One alert reads
//
//	goodwill: Jane Doe (Senior Engineer) first response overdue by 2h 15m. Ack: <link> or reply ACK 7F3K
//
// Several are grouped, most urgent first, each with its code:
//
//	goodwill: 3 candidates are waiting: Jane Doe (Engineer) first response overdue by 2h (ACK 7F3K); Bob Li (PM) reply overdue by 30m (ACK 9QW2); +1 more. Reply ACK and a code, e.g. ACK 7F3K. <link>
//
// The link and example code of a group are those of its most urgent alert; a caller that
// wants one page for the whole group gives every item the same Link. When the text does
// not fit, names are shortened, then jobs left out, then alerts summarised as "+N more";
// a link too long to leave room for one alert is left out. The header says "warning"
// when every alert is a warning and "ESCALATION" when any is escalated. An empty m gives
// "".
func SMSBody(m Message) string {
	if len(m.Alerts) == 0 {
		return ""
	}
	items := ordered(m.Alerts)
	first := items[0]
	code := truncate(gsm7(first.Code), 16)
	link := strings.ReplaceAll(gsm7(first.Link), " ", "")

	head := "goodwill: "
	switch {
	case first.Level == LevelEscalated:
		head = "goodwill ESCALATION: "
	case first.Level == LevelWarning:
		head = "goodwill warning: "
	}
	group := len(items) > 1
	if group {
		if n := candidates(items); n == 1 {
			head += "1 candidate is waiting: "
		} else {
			head += fmt.Sprintf("%d candidates are waiting: ", n)
		}
	}

	for _, withLink := range []bool{true, false} {
		if withLink && link == "" {
			continue
		}
		tail := smsTail(group, code, link, withLink)
		if s, ok := fitItems(head, tail, items, group); ok {
			return s
		}
	}
	// Not even one shortened alert fits beside the header: cut it.
	tail := smsTail(group, code, link, false)
	more := ""
	if len(items) > 1 {
		more = fmt.Sprintf("; +%d more", len(items)-1)
	}
	room := SMSMaxChars - utf8.RuneCountInString(head+more+tail)
	s := head + truncate(smsItem(first, 10, false, group, mixedLevels(items)), room) + more + tail
	return truncate(s, SMSMaxChars)
}

// smsTail is what follows the alerts: the link and how to acknowledge by reply.
func smsTail(group bool, code, link string, withLink bool) string {
	var b strings.Builder
	b.WriteByte('.')
	switch {
	case group && code != "":
		b.WriteString(" Reply ACK and a code, e.g. ACK " + code + ".")
		if withLink {
			b.WriteString(" " + link)
		}
	case withLink && code != "":
		b.WriteString(" Ack: " + link + " or reply ACK " + code)
	case withLink:
		b.WriteString(" Ack: " + link)
	case code != "":
		b.WriteString(" Reply ACK " + code)
	}
	return b.String()
}

// smsItem renders one alert with names cut to limit characters.
func smsItem(it Item, limit int, withJob, withCode, mixed bool) string {
	s := truncate(gsm7(it.Candidate), limit)
	if s == "" {
		s = "A candidate"
	}
	if job := truncate(gsm7(it.Job), limit); withJob && job != "" {
		s += " (" + job + ")"
	}
	s += " " + gsm7(it.what()) + " " + it.timing()
	if mixed && it.Level == LevelEscalated {
		s += ", escalated"
	}
	if code := truncate(gsm7(it.Code), 16); withCode && code != "" {
		s += " (ACK " + code + ")"
	}
	return s
}

// fitItems lists as many alerts as fit between head and tail, trying shorter names
// before leaving alerts out; ok is false when not even one fits.
func fitItems(head, tail string, items []Item, group bool) (string, bool) {
	mixed := mixedLevels(items)
	fixed := utf8.RuneCountInString(head) + utf8.RuneCountInString(tail)
	best, bestK := "", 0
	for _, withJob := range []bool{true, false} {
		for _, limit := range []int{40, 24, 16} {
			var b strings.Builder
			k := 0
			listed := ""
			for i, it := range items {
				sep := ""
				if i > 0 {
					sep = "; "
				}
				b.WriteString(sep + smsItem(it, limit, withJob, group, mixed))
				more := ""
				if rest := len(items) - i - 1; rest > 0 {
					more = fmt.Sprintf("; +%d more", rest)
				}
				if fixed+utf8.RuneCountInString(b.String())+len(more) > SMSMaxChars {
					break
				}
				k, listed = i+1, b.String()+more
			}
			if k > bestK {
				best, bestK = head+listed+tail, k
			}
			if bestK == len(items) {
				return best, true
			}
		}
	}
	return best, bestK > 0
}
