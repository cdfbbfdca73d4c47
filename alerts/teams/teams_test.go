package teams

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/alerts"
	"github.com/goodwillhq/goodwill/alerts/outbound"
)

func sample() alerts.Message {
	return alerts.Message{Recipient: alerts.Recipient{RecruiterID: "ann", Name: "Ann"}, Alerts: []alerts.Item{
		{Code: "7F3K", Level: alerts.LevelBreached, Candidate: "Bo *Bold* [x](http://evil)", Job: "Backend Engineer",
			Metric: "first_response", By: 2*time.Hour + 15*time.Minute, Link: "https://goodwill.example.com/alerts/a1/ack?exp=1&sig=ab"},
		{Code: "9QWE", Level: alerts.LevelWarning, Candidate: "Cy", Metric: "reply", By: 45 * time.Minute,
			Link: "https://goodwill.example.com/alerts/a2/ack?exp=1&sig=cd"},
	}}
}

// The card has the shape of Microsoft's documented sample: the same envelope, and
// every element only with properties the sample's element of its type has.
func TestCardMatchesDocs(t *testing.T) {
	raw, err := os.ReadFile("testdata/docs_card.json")
	if err != nil {
		t.Fatal(err)
	}
	var docs map[string]any
	if err := json.Unmarshal(raw, &docs); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(Card(sample()))
	if err != nil {
		t.Fatal(err)
	}
	var ours map[string]any
	if err := json.Unmarshal(js, &ours); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]map[string]bool{} // by element type (or path), the properties the docs use
	var learn func(path string, v any)
	learn = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			kind := kindOf(path, v)
			if allowed[kind] == nil {
				allowed[kind] = map[string]bool{}
			}
			for k, e := range v {
				allowed[kind][k] = true
				learn(path+"."+k, e)
			}
		case []any:
			for _, e := range v {
				learn(path+"[]", e)
			}
		}
	}
	learn("", docs)
	var check func(path string, v, d any)
	check = func(path string, v, d any) {
		switch v := v.(type) {
		case map[string]any:
			kind := kindOf(path, v)
			if allowed[kind] == nil {
				t.Errorf("%s: element %q does not appear in the documented card", path, kind)
				return
			}
			for k, e := range v {
				if !allowed[kind][k] {
					t.Errorf("%s: %s has property %q, which the documented card does not use", path, kind, k)
				}
				check(path+"."+k, e, nil)
			}
		case []any:
			for _, e := range v {
				check(path+"[]", e, nil)
			}
		}
	}
	check("", ours, docs)
	// The envelope's fixed values are the documented ones.
	att := ours["attachments"].([]any)[0].(map[string]any)
	datt := docs["attachments"].([]any)[0].(map[string]any)
	content, dcontent := att["content"].(map[string]any), datt["content"].(map[string]any)
	for _, c := range []struct{ name, got, want any }{
		{"type", ours["type"], docs["type"]},
		{"contentType", att["contentType"], datt["contentType"]},
		{"contentUrl", att["contentUrl"], datt["contentUrl"]},
		{"$schema", content["$schema"], dcontent["$schema"]},
		{"content.type", content["type"], dcontent["type"]},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, has := att["contentUrl"]; !has {
		t.Error("contentUrl is missing; the documented card sends it as null")
	}
	if len(ours["attachments"].([]any)) != 1 {
		t.Error("want exactly one attachment")
	}
}

// kindOf names what an object is: its "type" when it has one, else where it is.
func kindOf(path string, v map[string]any) string {
	if typ, ok := v["type"].(string); ok {
		return typ
	}
	return path
}

// The card says what is overdue, for whom and by how long, escapes Markdown in names,
// and its buttons open the signed links.
func TestCardContent(t *testing.T) {
	c := Card(sample()).Attachments[0].Content
	var texts []string
	for _, b := range c.Body {
		texts = append(texts, b.Text)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Backend Engineer", "overdue by 2h 15m", "first response", "7F3K", `\*Bold\*`, `\[x\]\(http://evil\)`, "due in 45m"} {
		if !strings.Contains(all, want) {
			t.Errorf("card text lacks %q:\n%s", want, all)
		}
	}
	if len(c.Actions) != 2 || c.Actions[0].Type != "Action.OpenUrl" || c.Actions[0].URL != sample().Alerts[0].Link ||
		c.Actions[0].Title != "Acknowledge 7F3K" {
		t.Fatalf("actions %+v: want one Action.OpenUrl per alert, most urgent first, to its signed link", c.Actions)
	}
}

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		name, url string
		private   bool
		ok        bool
	}{
		{"Workflows on logic.azure.com", "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=x", false, true},
		{"Workflows on powerplatform.com", "https://default123.ab.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?sig=x", false, true},
		{"Office 365 connector", "https://contoso.webhook.office.com/webhookb2/abc", false, true},
		{"not Microsoft", "https://hooks.example.com/workflows", false, false},
		{"a look-alike", "https://logic.azure.com.example.com/workflows", false, false},
		{"http", "http://prod-12.westus.logic.azure.com/workflows", false, false},
		{"loopback", "https://127.0.0.1:8443/hook", false, false},
		{"loopback with the switch", "https://127.0.0.1:8443/hook", true, true},
		{"a public non-Microsoft host even with the switch", "https://hooks.example.com/workflows", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckURL(outbound.Policy{AllowPrivate: c.private}, c.url)
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want ok %v", err, c.ok)
			}
			if err != nil && strings.Contains(err.Error(), c.url) {
				t.Fatalf("the error %q repeats the URL", err)
			}
		})
	}
}

// A post reaches an https server and classifies its answers; no error carries the URL.
func TestPost(t *testing.T) {
	status := http.StatusAccepted
	var got Message
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &got) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	s := New(Config{Policy: outbound.Policy{AllowPrivate: true, RootCAs: pool}})
	url := srv.URL + "/workflows/abc?sig=secret-signature"
	for _, c := range []struct {
		status int
		want   alerts.Failure // 0: accepted
	}{
		{http.StatusAccepted, 0},
		{http.StatusTooManyRequests, alerts.Retryable},
		{http.StatusBadGateway, alerts.Retryable},
		{http.StatusNotFound, alerts.Permanent},
	} {
		status = c.status
		err := s.Post(context.Background(), url, sample())
		var se *alerts.SendError
		switch {
		case c.want == 0 && err != nil:
			t.Fatalf("%d: %v", c.status, err)
		case c.want != 0 && (!errors.As(err, &se) || se.Failure != c.want):
			t.Fatalf("%d: err %v, want %s", c.status, err, c.want)
		case err != nil && strings.Contains(err.Error(), "secret-signature"):
			t.Fatalf("the error %q carries the URL", err)
		}
	}
	if got.Type != "message" || len(got.Attachments) != 1 {
		t.Fatalf("posted %+v", got)
	}
	// With the switch off, the loopback server is refused for good, and the error
	// does not carry the URL.
	err := New(Config{Policy: outbound.Policy{RootCAs: pool}}).Post(context.Background(), url, sample())
	var se *alerts.SendError
	if !errors.As(err, &se) || se.Failure != alerts.Permanent || strings.Contains(err.Error(), "secret-signature") {
		t.Fatalf("err %v: want a permanent refusal without the URL", err)
	}
}

// Any URL CheckURL accepts with the switch off is https on a Microsoft host.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://prod-1.westus.logic.azure.com/workflows/x", "https://a.webhook.office.com/x",
		"https://logic.azure.com.example.com/", "http://x.powerplatform.com/", "https://[::1]/", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if CheckURL(outbound.Policy{}, raw) != nil {
			return
		}
		u, err := outbound.Policy{}.CheckForm(raw)
		if err != nil || u.Scheme != "https" {
			t.Fatalf("accepted %q", raw)
		}
		host := strings.ToLower(u.Hostname())
		for _, h := range Hosts {
			if strings.HasSuffix(host, h) {
				return
			}
		}
		t.Fatalf("accepted %q on host %q", raw, host)
	})
}
