package audit

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goodwillhq/goodwill/interactions"
	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

// TestIDs: ids are UUIDv7s carrying the entry's millisecond, strictly increasing in the
// order they are made, within a millisecond and when the clock goes back.
func TestIDs(t *testing.T) {
	t.Parallel()
	var src idSource
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	times := []time.Time{base, base, base.Add(time.Millisecond), base.Add(-time.Hour), base.Add(time.Hour)}
	for range 5000 { // more than the 4096 a millisecond's sequence holds
		times = append(times, base.Add(time.Hour))
	}
	prev := ""
	for i, at := range times {
		id := src.next(at)
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("id %d %q: not a UUIDv7 (%v)", i, id, err)
		}
		if id <= prev {
			t.Fatalf("id %d %s not after %s", i, id, prev)
		}
		prev = id
		sec, nsec := u.Time().UnixTime()
		ms := time.Unix(sec, nsec).UnixMilli()
		// An id never carries a time earlier than its entry's, and only a later one
		// when the clock went back or a millisecond's sequence ran out.
		if ms < at.UnixMilli() || (i < 3 && ms != at.UnixMilli()) {
			t.Fatalf("id %d carries %d ms, entry %d ms", i, ms, at.UnixMilli())
		}
	}
}

// TestTrail: entries are listed newest first across pages, filtered, and purged by
// age; cursors it did not make are refused on the field "cursor".
func TestTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	trail := New(storagetest.NewDB(t))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		e, err := trail.Record(ctx, Entry{At: base.Add(time.Duration(i) * 24 * time.Hour), Actor: Key("k"), Action: KeyCreated, Target: string(rune('a' + i)), IP: "127.0.0.1"})
		if err != nil || e.ID == "" {
			t.Fatalf("record: %+v %v", e, err)
		}
	}
	var got string
	cursor := ""
	for {
		page, next, err := trail.List(ctx, Filter{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			got += e.Target
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if got != "edcba" {
		t.Fatalf("pages gave %q, want edcba", got)
	}
	if page, _, _ := trail.List(ctx, Filter{Limit: 10, Since: base.Add(3 * 24 * time.Hour)}); len(page) != 2 {
		t.Fatalf("since: %+v", page)
	}
	for _, bad := range []string{"x", "bm90LWEtdXVpZA", "!!"} {
		if _, _, err := trail.List(ctx, Filter{Limit: 1, Cursor: bad}); interactions.ErrorCode(err) != interactions.CodeInvalid {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
	p := &Purger{Trail: trail, Now: func() time.Time { return base.Add(Retention + 2*24*time.Hour + time.Minute) }}
	if n, err := p.RunOnce(ctx); n != 3 || err != nil {
		t.Fatalf("purge: %d %v; want the three entries older than two years", n, err)
	}
	if page, _, _ := trail.List(ctx, Filter{Limit: 10}); len(page) != 2 || page[1].Target != "d" {
		t.Fatalf("after the purge: %+v", page)
	}
}
