package service_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// TestTeamsAccepted: a breach for a recruiter whose breaches go to Teams is posted as
// an Adaptive Card to its Workflows URL (a local https server, with
// GOODWILL_ALLOW_PRIVATE_WEBHOOKS on); its button opens the signed acknowledgement
// page; Teams' 202 records the delivery as accepted, not delivered. The URL, a
// secret, is shown to admins only and kept out of the alert.
func TestTeamsAccepted(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var posts []map[string]any
	teams := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Method != http.MethodPost || r.URL.Query().Get("sig") != "teams-secret" || json.Unmarshal(body, &m) != nil {
			t.Errorf("teams: %s %s %s", r.Method, r.URL, body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		posts = append(posts, m)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer teams.Close()
	pool := teams.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	srv := servicetest.Start(t, map[string]string{
		"GOODWILL_ALLOW_PRIVATE_WEBHOOKS": "on", "GOODWILL_PUBLIC_URL": alertsPublicURL,
	}, service.Options{OutboundRootCAs: pool})
	hookURL := teams.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teams-secret"
	breachSoon(t, srv, map[string]any{"name": "Ann", "teams_webhook_url": hookURL,
		"channels": map[string]any{"breached": []string{"teams"}}})
	applyFor(t, srv, "tm-1")

	servicetest.Eventually(t, 15*time.Second, "a card posted to Teams", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(posts) == 1
	})
	var alert alertJSON
	servicetest.Eventually(t, 5*time.Second, "the delivery accepted", func() bool {
		alert, _ = alertOf(t, srv, "tm-1", "breached")
		return len(alert.Deliveries) == 1 && alert.Deliveries[0].Status == "accepted"
	})
	if d := alert.Deliveries[0]; d.Channel != "teams" || d.To != "ann" || d.Attempts != 1 {
		t.Fatalf("delivery %+v: want teams to ann (not the URL), accepted after one attempt", d)
	}
	mu.Lock()
	post := posts[0]
	mu.Unlock()
	att := post["attachments"].([]any)[0].(map[string]any)
	card := att["content"].(map[string]any)
	actions, _ := card["actions"].([]any)
	if post["type"] != "message" || att["contentType"] != "application/vnd.microsoft.card.adaptive" ||
		card["type"] != "AdaptiveCard" || len(actions) != 1 {
		t.Fatalf("card %v", post)
	}
	button := actions[0].(map[string]any)
	link, _ := button["url"].(string)
	if button["type"] != "Action.OpenUrl" || button["title"] != "Acknowledge" ||
		!regexp.MustCompile(`^`+regexp.QuoteMeta(alertsPublicURL+"/alerts/"+alert.ID+"/ack?exp=")+`\d+&sig=[0-9a-f]+$`).MatchString(link) {
		t.Fatalf("button %v: want it to open the signed acknowledgement page of %s", button, alert.ID)
	}
	// The signed link's page acknowledges (the same link as SMS and email carry).
	page := srv.Do(t, http.MethodGet, strings.TrimPrefix(link, alertsPublicURL), "", nil)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "<form method=\"post\"") {
		t.Fatalf("ack page: %d %s", page.Status, page.Body)
	}

	// Admins see the URL; a recruiter, even its own, does not.
	if r := srv.Do(t, http.MethodGet, "/v1/recruiters/ann", servicetest.AdminKey, nil); r.Map(t)["teams_webhook_url"] != hookURL {
		t.Fatalf("admin view %s", r.Body)
	}
	own := srv.NewKey(t, "recruiter", "ann")
	for _, path := range []string{"/v1/recruiters/ann", "/v1/recruiters", "/v1/alerts"} {
		if r := srv.Do(t, http.MethodGet, path, own, nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), "teams-secret") {
			t.Fatalf("GET %s as the recruiter: %d %s", path, r.Status, r.Body)
		}
	}
}

// TestTeamsURLRules: with GOODWILL_ALLOW_PRIVATE_WEBHOOKS off, a Teams webhook URL
// must be https on a Microsoft host, and not an address the outgoing rules refuse;
// a refusal is a 400 naming teams_webhook_url. A Workflows URL is taken without
// resolving its host (it is checked when connecting).
func TestTeamsURLRules(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	for _, c := range []struct {
		name, url string
		ok        bool
	}{
		{"a Workflows URL", "https://prod-07.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x", true},
		{"a Power Platform URL", "https://default0a1b.2c.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?sig=x", true},
		{"not a Microsoft host", "https://hooks.example.com/workflows/abc", false},
		{"a look-alike host", "https://logic.azure.com.attacker.example/workflows", false},
		{"http", "http://prod-07.westeurope.logic.azure.com/workflows/abc", false},
		{"loopback", "https://127.0.0.1:8443/workflows", false},
		{"not a URL", "teams please", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := srv.Do(t, http.MethodPut, "/v1/recruiters/ann", servicetest.AdminKey, map[string]any{
				"name": "Ann", "teams_webhook_url": c.url, "channels": map[string]any{"breached": []string{"teams", "email"}},
			})
			if c.ok {
				if r.Status != http.StatusCreated && r.Status != http.StatusOK {
					t.Fatalf("refused: %d %s", r.Status, r.Body)
				}
				return
			}
			expectProblem(t, r, http.StatusBadRequest, "teams_webhook_url")
			if strings.Contains(string(r.Body), c.url) {
				t.Fatalf("the problem repeats the URL: %s", r.Body)
			}
		})
	}
}
