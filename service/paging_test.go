package service_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// pagedList is one of the lists that page with limit and next_cursor.
type pagedList struct {
	path, items, id string // the route, the answer's array and its items' id field
	defaultLimit    int
}

var pagedLists = []pagedList{
	{"/v1/sla/overdue", "items", "clock_id", 100},
	{"/v1/alerts", "alerts", "id", 100},
	{"/v1/keys", "keys", "id", 1000},
	{"/v1/recruiters", "recruiters", "id", 1000},
	{"/v1/sla/policies", "policies", "id", 1000},
}

// listPage reads one page: its items' ids and next_cursor ("" when absent).
func listPage(t *testing.T, srv *servicetest.Instance, l pagedList, query url.Values) ([]string, string) {
	t.Helper()
	r := srv.Do(t, http.MethodGet, l.path+"?"+query.Encode(), servicetest.AdminKey, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s?%s: %d %s", l.path, query.Encode(), r.Status, r.Body)
	}
	var body map[string]json.RawMessage
	r.JSON(t, &body)
	var items []map[string]any
	if err := json.Unmarshal(body[l.items], &items); err != nil {
		t.Fatalf("%s: %v in %s", l.path, err, r.Body)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i], _ = it[l.id].(string)
	}
	next := ""
	if raw, ok := body["next_cursor"]; ok {
		if err := json.Unmarshal(raw, &next); err != nil || next == "" {
			t.Fatalf("%s: next_cursor %s", l.path, raw)
		}
	}
	return ids, next
}

// TestListPaging: each list pages with limit and an opaque cursor; next_cursor is
// there only while more exist; the pages, read in turn, are the whole list in order;
// without limit a list answers its default page size; a bad limit or cursor is a 400
// naming the field.
func TestListPaging(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{
		"name": "fast", "metric": "first_response", "target": "3s", "calendar": "24x7", "warn_ratio": 1, "enabled": true,
	}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	// 101 recruiters, each with a breached application: one more than the default
	// page of overdue clocks and alerts.
	const n = 101
	for i := range n {
		id := fmt.Sprintf("rec-%03d", i)
		if r := srv.Do(t, http.MethodPut, "/v1/recruiters/"+id, servicetest.AdminKey, map[string]any{"name": id}); r.Status != http.StatusCreated {
			t.Fatalf("recruiter: %d %s", r.Status, r.Body)
		}
	}
	// The clocks start now and fall due after their events arrived: they alert.
	var batch []map[string]any
	now := time.Now().UTC()
	for i := range n {
		id := fmt.Sprintf("rec-%03d", i)
		in := interaction(fmt.Sprintf("page-%03d", i), fmt.Sprintf("page-%03d", i))
		// Different due times, and some equal ones: the order's ties go by clock_id.
		in["occurred_at"] = now.Add(-time.Duration(i%7) * time.Millisecond).Format(time.RFC3339Nano)
		in["recruiter_id"] = id
		batch = append(batch, in)
	}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{"interactions": batch}); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	for range 3 {
		srv.NewKey(t, "viewer", "")
	}
	overdue, alerts := pagedLists[0], pagedLists[1]
	servicetest.Eventually(t, 30*time.Second, "the breaches and their alerts", func() bool {
		o, _ := listPage(t, srv, overdue, url.Values{"limit": {"1000"}, "state": {"breached"}})
		a, _ := listPage(t, srv, alerts, url.Values{"limit": {"1000"}, "level": {"breached"}})
		return len(o) == n && len(a) == n
	})

	for _, l := range pagedLists {
		t.Run(l.path, func(t *testing.T) {
			filter := url.Values{}
			switch l.path {
			case overdue.path:
				filter.Set("state", "breached")
			case alerts.path:
				filter.Set("level", "breached") // no warning created meanwhile
			}
			q := func(kv ...string) url.Values {
				v := url.Values{}
				for k, vs := range filter {
					v[k] = vs
				}
				for i := 0; i+1 < len(kv); i += 2 {
					v.Set(kv[i], kv[i+1])
				}
				return v
			}
			all, next := listPage(t, srv, l, q("limit", "1000"))
			if next != "" {
				t.Fatalf("next_cursor on a complete list")
			}
			if len(all) < 4 {
				t.Fatalf("only %d items to page", len(all))
			}
			// The default page.
			def, next := listPage(t, srv, l, q())
			if want := min(len(all), l.defaultLimit); len(def) != want || (next != "") != (len(all) > l.defaultLimit) {
				t.Errorf("default page: %d items, next_cursor %q; want %d of %d", len(def), next, want, len(all))
			}
			// Pages of 3, in turn, are the whole list in order.
			var paged []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatal("paging does not end")
				}
				v := q("limit", "3")
				if cursor != "" {
					v.Set("cursor", cursor)
				}
				ids, next := listPage(t, srv, l, v)
				if len(ids) > 3 || (next != "" && len(ids) != 3) {
					t.Fatalf("page of %d with next_cursor %q", len(ids), next)
				}
				paged = append(paged, ids...)
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(paged, all) {
				t.Errorf("pages read in turn\n%v\nwant\n%v", paged, all)
			}
			// Bad limits and cursors name their field.
			for _, bad := range []struct{ param, value string }{
				{"limit", "0"}, {"limit", "1001"}, {"limit", "ten"}, {"cursor", "not-a-cursor"},
			} {
				r := srv.Do(t, http.MethodGet, l.path+"?"+q(bad.param, bad.value).Encode(), servicetest.AdminKey, nil)
				expectProblem(t, r, http.StatusBadRequest, bad.param)
			}
		})
	}
}

// TestOverdueOrder: the overdue list is most overdue first (earliest due_at), ties
// by clock_id, and a page's cursor keeps its place when the clocks before it stop.
func TestOverdueOrder(t *testing.T) {
	t.Parallel()
	srv := servicetest.Start(t, nil, service.Options{})
	if r := srv.Do(t, http.MethodPut, "/v1/sla/policies/first_response", servicetest.AdminKey, map[string]any{
		"name": "fast", "metric": "first_response", "target": "1s", "calendar": "24x7", "warn_ratio": 1, "enabled": true,
	}); r.Status != http.StatusOK {
		t.Fatalf("policy: %d %s", r.Status, r.Body)
	}
	now := time.Now().UTC()
	var batch []map[string]any
	for i := range 6 {
		in := interaction(fmt.Sprintf("ord-%d", i), fmt.Sprintf("ord-%d", i))
		in["occurred_at"] = now.Add(-time.Duration(6-i) * time.Second / 10).Format(time.RFC3339Nano)
		batch = append(batch, in)
	}
	if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, map[string]any{"interactions": batch}); r.Status != http.StatusCreated {
		t.Fatalf("post: %d %s", r.Status, r.Body)
	}
	type item struct {
		ClockID       string `json:"clock_id"`
		ApplicationID string `json:"application_id"`
		DueAt         string `json:"due_at"`
	}
	read := func(query string) ([]item, string) {
		t.Helper()
		var out struct {
			Items      []item
			NextCursor string `json:"next_cursor"`
		}
		r := srv.Do(t, http.MethodGet, "/v1/sla/overdue?state=breached&"+query, servicetest.AdminKey, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("overdue: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &out)
		return out.Items, out.NextCursor
	}
	servicetest.Eventually(t, 10*time.Second, "six breaches", func() bool {
		items, _ := read("")
		return len(items) == 6
	})
	items, _ := read("")
	for i := 1; i < len(items); i++ {
		a, b := items[i-1], items[i]
		if a.DueAt > b.DueAt || a.DueAt == b.DueAt && a.ClockID > b.ClockID {
			t.Fatalf("not most overdue first: %+v before %+v", a, b)
		}
	}
	first, next := read("limit=2")
	if len(first) != 2 || next == "" {
		t.Fatalf("first page %+v, next %q", first, next)
	}
	// The first page's clocks stop: the next page still starts where it ended.
	for _, it := range first {
		in := interaction(it.ApplicationID, it.ApplicationID+"-reply")
		in["kind"], in["direction"], in["channel"] = "message", "outbound", "email"
		in["occurred_at"] = time.Now().UTC().Format(time.RFC3339Nano)
		if r := srv.Do(t, http.MethodPost, "/v1/interactions", servicetest.AdminKey, in); r.Status != http.StatusCreated {
			t.Fatalf("reply: %d %s", r.Status, r.Body)
		}
	}
	servicetest.Eventually(t, 5*time.Second, "the first page's clocks to stop", func() bool {
		items, _ := read("")
		return len(items) == 4
	})
	second, _ := read("limit=2&cursor=" + url.QueryEscape(next))
	if len(second) != 2 || second[0].ClockID != items[2].ClockID || second[1].ClockID != items[3].ClockID {
		t.Errorf("second page %+v, want items 2 and 3 of %+v", second, items)
	}
}
