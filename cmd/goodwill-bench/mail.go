package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/webhooks/maildrop"
)

// mailResult is the email dropbox section: its runs, one after the other on one
// store.
type mailResult struct {
	messages, clients, candidates int
	runs                          []mailRun
	refused                       int
	load                          [2]string
}

// mailRun is one run: messages sent from clients connections.
type mailRun struct {
	name          string
	clients       int
	elapsed       time.Duration // first MAIL to the last 250
	p50, p99, max time.Duration // per message: MAIL to 250
	stored        int           // email interactions stored after the run
}

const mailBenchDomain = "log.bench.test"

// runMail sends n messages through the email dropbox of a service on its own embedded
// store, from clients SMTP connections, each a recruiter's BCC'd mail to one of its
// candidates, and then the same messages again. A message is stored when its 250 is
// answered (the dropbox answers after the interactions are durably written).
func runMail(ctx context.Context, dir string, n, clients int) (*mailResult, error) {
	vars := map[string]string{
		"GOODWILL_DATA_DIR": filepath.Join(dir, "data"), "GOODWILL_DB": "bench_mail",
		"GOODWILL_BOOTSTRAP_KEY": adminKey, "GOODWILL_ADDR": "127.0.0.1:0",
		"GOODWILL_MAIL_ADDR": "127.0.0.1:0", "GOODWILL_MAIL_DOMAIN": mailBenchDomain,
	}
	// Every client is on loopback: the rate per client address would throttle the
	// benchmark itself, so it is lifted; every other limit is production's.
	limits := maildrop.DefaultLimits
	limits.Rate, limits.Burst = rate.Inf, 0
	s, url, stop, err := startServing(ctx, vars, service.Options{Mail: service.MailOptions{Limits: limits}})
	if err != nil {
		return nil, err
	}
	defer stop()
	client := newClient(4)
	defer client.CloseIdleConnections()
	call := func(method, path string, body any, want int) ([]byte, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, url+path, rd)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			return nil, fmt.Errorf("%s %s: %d %.300s", method, path, res.StatusCode, out)
		}
		return out, nil
	}

	// One recruiter, a candidate per message up to 1,000 (then candidates get several
	// messages), each with one open application.
	r := &mailResult{messages: n, clients: clients, candidates: min(n, 1000)}
	if _, err := call(http.MethodPut, "/v1/recruiters/rec-mail", map[string]any{"name": "Mail", "email": "rec@bench.test"}, http.StatusCreated); err != nil {
		return nil, err
	}
	out, err := call(http.MethodPost, "/v1/recruiters/rec-mail/mail-address", nil, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	var addr struct{ Address string }
	if err := json.Unmarshal(out, &addr); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	var items []map[string]any
	for i := range r.candidates {
		items = append(items, map[string]any{
			"application_id": fmt.Sprintf("mail-app-%d", i), "candidate_id": fmt.Sprintf("mail-cand-%d", i),
			"kind": "application_received", "occurred_at": now.Add(-time.Hour).Format(time.RFC3339Nano),
			"recruiter_id": "rec-mail", "external_id": fmt.Sprintf("mail-apply-%d", i),
			"candidate": map[string]string{"name": "Candidate", "email": fmt.Sprintf("cand%d@example.com", i)},
		})
	}
	if _, err := call(http.MethodPost, "/v1/interactions", map[string]any{"interactions": items}, http.StatusCreated); err != nil {
		return nil, err
	}
	// The contact lookup is derived state: wait until the last application is projected.
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err := call(http.MethodGet, fmt.Sprintf("/v1/applications/mail-app-%d/timeline", r.candidates-1), nil, http.StatusOK); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the applications were not projected within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}

	batch := func(from int) [][]byte {
		msgs := make([][]byte, n)
		for i := range msgs {
			msgs[i] = benchMessage(from+i, r.candidates, now)
		}
		return msgs
	}
	first, second := batch(0), batch(n)
	r.load[0] = loadAvg()
	for _, run := range []struct {
		name    string
		msgs    [][]byte
		clients int
	}{
		{"one connection", first, 1},
		{fmt.Sprintf("%d connections", clients), second, clients},
		{fmt.Sprintf("%d connections, the same messages again", clients), second, clients},
	} {
		lat, elapsed, refused, err := sendAll(s.MailAddr(), addr.Address, run.msgs, run.clients)
		if err != nil {
			return nil, err
		}
		slices.Sort(lat)
		mr := mailRun{name: run.name, clients: run.clients, elapsed: elapsed,
			p50: lat[len(lat)/2], p99: lat[min(len(lat)-1, len(lat)*99/100)], max: lat[len(lat)-1]}
		if mr.stored, err = countEmail(call); err != nil {
			return nil, err
		}
		r.refused += refused
		r.runs = append(r.runs, mr)
	}
	r.load[1] = loadAvg()
	return r, nil
}

// benchMessage is message i: the recruiter's mail to candidate i mod candidates, as
// multipart/alternative, with a Date a minute ago.
func benchMessage(i, candidates int, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Mail Recruiter <rec@bench.test>\r\nTo: Candidate <cand%d@example.com>\r\n", i%candidates)
	fmt.Fprintf(&b, "Subject: =?UTF-8?B?WW91ciBhcHBsaWNhdGlvbiDigJQgbmV4dCBzdGVwcw==?=\r\nDate: %s\r\n", now.Add(-time.Minute).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <bench-%d@bench.test>\r\nMIME-Version: 1.0\r\n", i)
	b.WriteString("Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.Repeat("Thanks for your time today, we will be in touch this week.\r\n", 30))
	b.WriteString("--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Thanks for your time today.</p>\r\n--b--\r\n")
	return []byte(b.String())
}

// sendAll sends msgs to rcpt from clients connections, each sending its share one
// after the other (RSET between), and times each message from MAIL to the 250.
func sendAll(addr, rcpt string, msgs [][]byte, clients int) (lat []time.Duration, elapsed time.Duration, refused int, err error) {
	lat = make([]time.Duration, len(msgs))
	var next atomic.Int64
	var bad atomic.Int64
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	start := time.Now()
	for range clients {
		wg.Go(func() {
			c, err := smtp.Dial(addr)
			if err != nil {
				errMu.Lock()
				firstErr = err
				errMu.Unlock()
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(msgs) {
					_ = c.Quit()
					return
				}
				t := time.Now()
				if err := sendOne(c, rcpt, msgs[i]); err != nil {
					bad.Add(1)
					_ = c.Reset()
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), int(bad.Load()), firstErr
}

func sendOne(c *smtp.Client, rcpt string, msg []byte) error {
	if err := c.Mail("rec@bench.test"); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	return w.Close()
}

// countEmail counts the stored interactions of source email.
func countEmail(call func(method, path string, body any, want int) ([]byte, error)) (int, error) {
	n, cursor := 0, ""
	for {
		out, err := call(http.MethodGet, "/v1/interactions?source=email&limit=1000&cursor="+cursor, nil, http.StatusOK)
		if err != nil {
			return n, err
		}
		var page struct {
			Interactions []json.RawMessage `json:"interactions"`
			NextCursor   string            `json:"next_cursor"`
		}
		if err := json.Unmarshal(out, &page); err != nil {
			return n, err
		}
		n += len(page.Interactions)
		if page.NextCursor == "" {
			return n, nil
		}
		cursor = page.NextCursor
	}
}

// runMailSection measures the email dropbox and writes its section.
func runMailSection(ctx context.Context, o settings, progress io.Writer) error {
	fmt.Fprintf(progress, "%-48s", fmt.Sprintf("email dropbox, %s messages …", thousands(o.mailMessages)))
	t := time.Now()
	dir, err := os.MkdirTemp("", "goodwill-bench-mail-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r, err := runMail(ctx, dir, o.mailMessages, o.mailClients)
	if err != nil {
		return err
	}
	return publish(o, progress, t, "mail", mailSection(time.Now(), thisMachine(), r), "")
}

func mailSection(when time.Time, m machine, r *mailResult) string {
	var b strings.Builder
	b.WriteString("<!-- mail:start -->\n## Email dropbox: messages through SMTP to stored interactions\n\n")
	fmt.Fprintf(&b, "Run %s by `go run ./cmd/goodwill-bench` (`make bench`; `-mail-only` runs this section alone).\n\n"+
		"Machine: %s; load average %s before the runs, %s after (other work on the machine competes for the same cores).\n\n",
		when.UTC().Format("2006-01-02 15:04 MST"), m, r.load[0], r.load[1])
	fmt.Fprintf(&b, "Workload: the service on its own embedded store with the email dropbox on loopback; %s candidates, each with "+
		"one open application, and one recruiter with a personal dropbox address. Each run sends %s messages "+
		"(multipart/alternative, about 2 KiB, an encoded-word subject), each the recruiter's mail to one candidate BCC'd "+
		"to its address, with Go's net/smtp; each connection sends its share one message after the other, as a mail "+
		"server does. The dropbox answers 250 once the interaction is durably written, so a 250 is a stored interaction. "+
		"The rate per client address is lifted (every client is on loopback); the other limits are production's. The "+
		"last run sends the second run's messages again: each is a duplicate.\n\n",
		thousands(r.candidates), thousands(r.messages))
	b.WriteString("| run | messages | messages/s | MAIL → 250 p50 ms | p99 ms | max ms | email interactions stored after it |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, run := range r.runs {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %s | %s |\n", run.name, thousands(r.messages),
			float64(r.messages)/run.elapsed.Seconds(), ms(run.p50), ms(run.p99), ms(run.max), thousands(run.stored))
	}
	fmt.Fprintf(&b, "\nRefused: %d. Each message costs a token lookup at RCPT (one `_id` read), the header parse, two "+
		"contact lookups (the sender in the directory's copy in memory, the recipient by `_id`), a scan of the candidate's "+
		"applications (on the embedded store a scan of the applications collection, as the inbound SMS's lookup does: it "+
		"grows with the number of applications), the delivery-log record (insert, then update: two single-document "+
		"writes, which the embedded store commits one at a time) and the interaction's write through the group-commit "+
		"writer; a duplicate stops at the delivery log's key and logs a bodyless duplicate entry. Mail volume is small "+
		"next to this (a recruiter sends tens of emails a day), so the dropbox keeps the webhooks' delivery log rather "+
		"than trading it for throughput.\n<!-- mail:end -->\n", r.refused)
	return b.String()
}
