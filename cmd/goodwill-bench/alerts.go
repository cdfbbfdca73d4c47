package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goodwillhq/goodwill/service/storage"
)

// The alerts section: n applications whose first_response deadlines fall at the same
// moment, each owned by its own recruiter (so grouping, which gathers one recipient's
// alerts into one message, cannot merge them), breach together; the measurement is
// from the deadline to the 201 of the fake Twilio Messages API for each recipient's SMS.

const (
	benchTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	benchTwilioToken = "benchTwilioToken0123456789"
	benchTwilioFrom  = "+15005550006"
)

// alertsLead is how long before the deadline the n interactions are posted: time to
// store them and derive the clocks, which the measurement does not include.
func alertsLead(n int) time.Duration {
	return min(5*time.Second+time.Duration(n)*15*time.Millisecond, 20*time.Second)
}

// fakeTwilio answers like Twilio's Messages API (POST …/Messages.json with Basic auth
// and To, From, Body, StatusCallback; 201 and the message's JSON) and notes when it
// answered each message.
type fakeTwilio struct {
	got *arrivals // To → when each of its 201s was written
	mu  sync.Mutex
	bad []string // requests a real Twilio would refuse
}

func newFakeTwilio(want int) *fakeTwilio {
	return &fakeTwilio{got: newArrivals(want)}
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	refuse := func(status, code int, msg string) {
		f.mu.Lock()
		f.bad = append(f.bad, fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, msg))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status})
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != benchTwilioSID || pass != benchTwilioToken {
		refuse(http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.URL.Path != "/2010-04-01/Accounts/"+benchTwilioSID+"/Messages.json" {
		refuse(http.StatusNotFound, 20404, "not found")
		return
	}
	if r.Method == http.MethodGet { // a lookup after an ambiguous failure: nothing here
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"messages": []any{}, "page": 0, "page_size": 50})
		return
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		refuse(http.StatusBadRequest, 21600, "a form POST is expected")
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	if to == "" || from != benchTwilioFrom || body == "" || r.PostForm.Get("StatusCallback") == "" {
		refuse(http.StatusBadRequest, 21604, "To, From, Body and StatusCallback are required")
		return
	}
	sid := fmt.Sprintf("SM%032x", f.got.took(to))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "status": "queued", "to": to, "from": from, "body": body,
		"account_sid": benchTwilioSID, "date_created": time.Now().UTC().Format(time.RFC1123Z)})
}

// alertsResult is one run of the alerts section.
type alertsResult struct {
	breaches   int
	accepted   int           // messages the fake Twilio API took
	extra      int           // messages beyond one per recipient
	sent       time.Duration // p50, p99 and max: deadline → Twilio's 201
	sent99     time.Duration
	sentMax    time.Duration
	created    time.Duration // p50, p99: deadline → the alert's created_at (detection and intake)
	created99  time.Duration
	lead       time.Duration // the policy's target: from receipt to the deadline
	piped      time.Duration // p50, p99: created_at → Twilio's 201 (grouping window and pipeline)
	piped99    time.Duration
	load       [2]string // load averages before and after
	bad        []string
	cpuProfile string
}

// runAlerts measures n simultaneous breaches, deadline → SMS accepted (runBreaches),
// talking to a fake Twilio API in this process.
func runAlerts(ctx context.Context, n int, cpuprofile string, progress io.Writer) (*alertsResult, error) {
	tw := newFakeTwilio(n)
	twSrv := httptest.NewServer(tw)
	defer twSrv.Close()
	r, err := runBreaches(ctx, breachBench{
		n: n, channel: "sms", prefix: "al", got: tw.got,
		vars: map[string]string{
			"GOODWILL_TWILIO_API_URL": twSrv.URL, "TWILIO_ACCOUNT_SID": benchTwilioSID,
			"TWILIO_AUTH_TOKEN": benchTwilioToken, "TWILIO_FROM_NUMBER": benchTwilioFrom,
		},
		recruiter: func(i int, body map[string]any) { body["phone"] = benchPhone(i) },
	}, cpuprofile, progress)
	if err != nil {
		return nil, err
	}
	tw.mu.Lock()
	r.bad = slices.Clone(tw.bad)
	tw.mu.Unlock()
	return r, nil
}

// benchPhone is recruiter i's number: a US number in area 415.
func benchPhone(i int) string { return fmt.Sprintf("+1415%07d", 2000000+i) }

// quantiles returns the p50, p99 and maximum of ds (zero for none).
func quantiles(ds []time.Duration) (p50, p99, most time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2], ds[min(len(ds)-1, len(ds)*99/100)], ds[len(ds)-1]
}

// apiClient calls the service's API with the admin key.
type apiClient struct {
	url  string
	http *http.Client
}

func (c *apiClient) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, in)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out, nil
}

func (c *apiClient) do(ctx context.Context, method, path string, body any) error {
	_, err := c.call(ctx, method, path, body)
	return err
}

// createdAt returns when each breach alert was created, by the address its delivery on
// channel went to (the number of its SMS, the Slack user of its DM).
func (c *apiClient) createdAt(ctx context.Context, channel string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	cursor := ""
	for {
		b, err := c.call(ctx, http.MethodGet, "/v1/alerts?level=breached&limit=1000&cursor="+cursor, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Alerts []struct {
				CreatedAt  time.Time `json:"created_at"`
				Deliveries []struct {
					Channel, To string
				} `json:"deliveries"`
			} `json:"alerts"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, err
		}
		for _, a := range page.Alerts {
			for _, d := range a.Deliveries {
				if d.Channel == channel {
					out[d.To] = a.CreatedAt
				}
			}
		}
		if page.NextCursor == "" || len(page.Alerts) == 0 {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// alertsSection renders the alerts figures for BENCHMARKS.md.
func alertsSection(when time.Time, m machine, r *alertsResult) string {
	var b strings.Builder
	b.WriteString("<!-- alerts:start -->\n## Alerts: simultaneous breaches to the SMS provider\n\n")
	fmt.Fprintf(&b, "Run %s by `go run ./cmd/goodwill-bench` (`make bench`).\n\nMachine: %s; load average %s "+
		"as the interactions were posted, %s after the breaches (other work on the machine competes for the same cores).\n\n",
		when.UTC().Format("2006-01-02 15:04 MST"), m, r.load[0], r.load[1])
	fmt.Fprintf(&b, "Workload: the service on its own embedded store (as `goodwill serve` runs it without "+
		"`GOODWILL_MONGODB_URI`, with Twilio configured) and, "+
		"in the same process, a fake of Twilio's Messages API (an httptest server checking Basic auth and the form "+
		"fields, answering 201 with the message's JSON). %s recruiters, each with its own phone and SMS as its only "+
		"breach channel, every day a working day, no quiet hours; a `first_response` policy of %s on the 24x7 calendar "+
		"without warning or escalation; %s applications, one per recruiter, received in one `POST /v1/interactions` "+
		"%s before their common deadline. One recruiter per application, because breaches for one recipient are "+
		"grouped into one message: here every breach is its own SMS. Latency is from the deadline to the fake API "+
		"writing its 201 for that recipient's SMS; it includes the SLA scheduler's detection, the alert's intake, "+
		"the 1 s breach grouping window and the sending.\n\n",
		thousands(r.breaches), r.lead, thousands(r.breaches), r.lead)
	breachTable(&b, r, "SMS accepted", "sent twice", "201")
	fmt.Fprintf(&b, "\nThe alert is created when the SLA engine hands the breach to the alerts pipeline: after "+
		"detection, reading the application and recording the transition, and with the pipeline's intake (route, "+
		"and the outbox write that dedupes); the engine records a burst of breaches with bulk inserts and hands them over in chunks of up to 500, whose alerts the pipeline writes with one bulk insert each. From then "+
		"on the alert waits out the 1 s grouping window (its candidate's name is read meanwhile) and goes through "+
		"group → defer → throttle → send → retry → record → write: each run of the pipeline counts its SMS in one bulk "+
		"insert, notes what may go out in one document and what became of it in the same document, maps the SMS sent "+
		"in one bulk insert, and sends its messages side by side; the alert documents are written just after. At p99, an alert existed %s ms after the deadline, and was accepted "+
		"%s ms after it was created (the 1 s window included).\n", ms(r.created99), ms(r.piped99))
	breachTargets(&b, r, "the provider's 201", "every breach sent once", "%s of %s accepted, %d twice, %d refused requests")
	b.WriteString("<!-- alerts:end -->\n")
	return b.String()
}

// runAlertsSection measures the alerts pipeline and writes its section. The service
// runs on its own embedded store, not on the bench's.
func runAlertsSection(ctx context.Context, o settings, _ *storage.Store, _ string, progress io.Writer) error {
	fmt.Fprintf(progress, "%-48s", fmt.Sprintf("alerts, %s simultaneous breaches …", thousands(o.alertBreaches)))
	t := time.Now()
	profile := ""
	if o.alertsOnly {
		profile = o.cpuprofile
	}
	r, err := runAlerts(ctx, o.alertBreaches, profile, progress)
	if err != nil {
		return err
	}
	note := ""
	if len(r.bad) > 0 {
		note = fmt.Sprintf("refused requests: %q\n", r.bad[:min(len(r.bad), 5)])
	}
	return publish(o, progress, t, "alerts", alertsSection(time.Now(), thisMachine(), r), note)
}
