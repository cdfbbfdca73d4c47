package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service/client"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// ownedPartitions reads a process's goodwill_lease_partitions_owned gauge, -1 when it
// does not answer.
func ownedPartitions(t *testing.T, p *proc) int {
	t.Helper()
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get(p.url + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	for line := range strings.Lines(b.String()) {
		var n int
		if _, err := fmt.Sscanf(line, "goodwill_lease_partitions_owned %d", &n); err == nil {
			return n
		}
	}
	return -1
}

// overdueApps returns the applications in a process's recruiter queue.
func overdueApps(t *testing.T, p *proc) map[string]bool {
	t.Helper()
	var out struct {
		Items []struct {
			ApplicationID string `json:"application_id"`
		} `json:"items"`
	}
	if st, _ := apiDo(t, http.MethodGet, p.url, "/v1/sla/overdue", nil, &out); st != http.StatusOK {
		return nil
	}
	apps := map[string]bool{}
	for _, it := range out.Items {
		apps[it.ApplicationID] = true
	}
	return apps
}

func eventually(t *testing.T, timeout time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReplicasShareAndTakeOver runs two `goodwill serve` processes over one
// MongoDB-protocol store (the embedded test store, reached by URI as a MongoDB would
// be). They split the partitions; either answers for every application; after one is
// killed with SIGKILL, the other takes its partitions over, and every application's
// breach is recorded and alerted exactly once.
func TestReplicasShareAndTakeOver(t *testing.T) {
	uri, db := storagetest.URI(t), storagetest.DBName(t)
	env := []string{"GOODWILL_MONGODB_URI=" + uri, "GOODWILL_DB=" + db, "GOODWILL_ALERTS=log"}
	a := serve(t, t.TempDir(), env...)
	b := serve(t, t.TempDir(), env...)
	eventually(t, 60*time.Second, "the replicas split the 64 partitions", func() bool {
		return ownedPartitions(t, a) == 32 && ownedPartitions(t, b) == 32
	})

	// A policy saved through one replica reaches the other.
	st, err := apiDo(t, http.MethodPut, a.url, "/v1/sla/policies/first_response", map[string]any{
		"name": "replicas", "metric": "first_response", "target": "6s", "calendar": "24x7", "warn_ratio": 0.5, "enabled": true}, nil)
	if st != http.StatusOK && st != http.StatusCreated {
		t.Fatalf("PUT policy: %d %v", st, err)
	}
	eventually(t, 20*time.Second, "the other replica uses the new policy", func() bool {
		type policy struct {
			ID     string `json:"id"`
			Target string `json:"target"`
		}
		var list struct {
			Policies []policy `json:"policies"`
		}
		if st, _ := apiDo(t, http.MethodGet, b.url, "/v1/sla/policies", nil, &list); st != http.StatusOK {
			return false
		}
		return slices.Contains(list.Policies, policy{"first_response", "6s"})
	})

	// Applications arrive through both replicas; each is owned by one of them.
	const apps = 24
	want := map[string]bool{}
	for i := range apps {
		app := fmt.Sprintf("rep-app-%02d", i)
		want[app] = true
		via := a
		if i%2 == 1 {
			via = b
		}
		r := post(api(via.url), client.Interaction{
			ApplicationID: app, CandidateID: "cand-" + app, Kind: "application_received",
			Direction: "inbound", OccurredAt: time.Now().UTC(),
			Source: "replicas", ExternalID: app + "-received", RecruiterID: fmt.Sprintf("rec-%d", i%3),
		})
		if r.status != http.StatusCreated {
			t.Fatalf("POST via %s: %d", via.url, r.status)
		}
	}
	// Every replica's queue shows every application once its warning is due (3 s).
	for _, p := range []*proc{a, b} {
		eventually(t, 30*time.Second, "the queue of "+p.url+" shows every application", func() bool {
			got := overdueApps(t, p)
			for app := range want {
				if !got[app] {
					return false
				}
			}
			return true
		})
	}

	// One replica dies before the breaches (6 s); the other takes over its partitions
	// within the lease time and records every breach once.
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.done
	eventually(t, 45*time.Second, "the surviving replica owns every partition", func() bool {
		return ownedPartitions(t, b) == 64
	})
	byLevel := map[string]map[string]int{}
	eventually(t, 45*time.Second, "a breach alert for every application", func() bool {
		alerts, ok := listAlertViews(t, b.url)
		if !ok {
			return false
		}
		byLevel = map[string]map[string]int{}
		for _, al := range alerts {
			if byLevel[al.Level] == nil {
				byLevel[al.Level] = map[string]int{}
			}
			byLevel[al.Level][al.ApplicationID]++
		}
		return len(byLevel["breached"]) == apps
	})
	time.Sleep(2 * time.Second) // room for a duplicate to show up
	alerts, _ := listAlertViews(t, b.url)
	seen := map[string]bool{}
	for _, al := range alerts {
		k := al.Level + " " + al.ApplicationID
		if seen[k] {
			t.Errorf("two %s alerts for %s", al.Level, al.ApplicationID)
		}
		seen[k] = true
		if !want[al.ApplicationID] {
			t.Errorf("an alert for an unknown application %q", al.ApplicationID)
		}
	}
	for app := range want {
		if !seen["warning "+app] || !seen["breached "+app] {
			t.Errorf("%s: warning alerted %v, breach alerted %v; want both once", app, seen["warning "+app], seen["breached "+app])
		}
	}
}
