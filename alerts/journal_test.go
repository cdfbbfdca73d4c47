package alerts

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/goodwillhq/goodwill/interactions/directory"
	"github.com/goodwillhq/goodwill/sla"
)

// TestApplyFlushes: what a start (or a partition taken over) makes of the flush
// documents not folded yet.
func TestApplyFlushes(t *testing.T) {
	t.Parallel()
	sms := pending("sms", alicePhone, 0)
	sent := sms
	sent.Status, sent.Attempts, sent.ProviderID = DeliverySent, 1, "SM1"
	ambiguous := sms
	ambiguous.Ambiguous = true
	at := t0.Add(time.Second)
	alert := func(rev int64, dls ...Delivery) Alert {
		a := testAlert("a1", LevelBreached, 0, dls...)
		a.Rev = rev
		return a
	}
	mark := sendingMark{AlertID: alert(0).ID, Channel: "sms", To: alicePhone}
	entry := func(rev int64, dls ...Delivery) flushEntry {
		return flushEntry{AlertID: alert(0).ID, Rev: rev, Deliveries: dls, FirstDeliveredAt: &at}
	}
	tests := []struct {
		name    string
		stored  Alert
		docs    []flushDoc
		want    Alert
		changed bool
	}{
		// Noted as sending, nothing recorded after (a crash during the send): the
		// next attempt looks the message up first.
		{name: "noted only", stored: alert(1, sms),
			docs: []flushDoc{{Sending: []sendingMark{mark}}},
			want: alert(2, ambiguous), changed: true},
		// Noted and recorded by the same flush: the answer is known.
		{name: "noted and recorded", stored: alert(1, sms),
			docs: []flushDoc{{Sending: []sendingMark{mark}, Alerts: []flushEntry{entry(2, sent)}}},
			want: func() Alert { a := alert(2, sent); a.FirstDeliveredAt = &at; return a }(), changed: true},
		// Noted by one flush, recorded by a later one (a retry): the record holds.
		{name: "recorded later", stored: alert(1, sms),
			docs: []flushDoc{{Sending: []sendingMark{mark}}, {Alerts: []flushEntry{entry(3, sent)}}},
			want: func() Alert { a := alert(3, sent); a.FirstDeliveredAt = &at; return a }(), changed: true},
		// The alert's document is newer (written after the flush): left alone.
		{name: "already folded", stored: alert(5, sent),
			docs: []flushDoc{{Alerts: []flushEntry{entry(4, sms)}}},
			want: alert(5, sent)},
		// A mark for a delivery sent since: nothing to look up.
		{name: "noted, sent since", stored: alert(5, sent),
			docs: []flushDoc{{Sending: []sendingMark{mark}}},
			want: alert(5, sent)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.stored.clone()
			changed, others := applyFlushes(map[string]*Alert{a.ID: &a}, tt.docs)
			if diff := cmp.Diff(tt.want, a); diff != "" {
				t.Errorf("alert (-want +got):\n%s", diff)
			}
			if changed[a.ID] != tt.changed || len(others) != 0 {
				t.Errorf("changed %v, others %v", changed, others)
			}
		})
	}
	// Entries about alerts not given come back, the newest of each.
	_, others := applyFlushes(map[string]*Alert{}, []flushDoc{{Alerts: []flushEntry{entry(2, sms)}}, {Alerts: []flushEntry{entry(3, sent)}}})
	if e := others[alert(0).ID]; e.Rev != 3 {
		t.Errorf("others %+v", others)
	}
}

// TestFlushDocuments: a flush of many alerts to many recipients writes the store a
// fixed number of times, and its flush document is gone once folded.
func TestFlushDocuments(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for i := range 20 {
		id := fmt.Sprintf("r%02d", i)
		h.put(directory.Recruiter{ID: id, Phone: fmt.Sprintf("+1415555%04d", 2000+i), Channels: directory.Channels{Breached: []string{"sms"}}})
		h.fire(fired(fmt.Sprintf("b%02d", i), id, sla.StateBreached))
	}
	h.clock.Set(t0.Add(time.Second))
	now, alerts, flight, _ := h.d.take()
	h.d.send(now, alerts, flight)
	// Before the fold: one flush document with 20 marks and 20 entries; the alerts'
	// documents not written yet.
	docs, err := h.store.flushDocs(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || len(docs[0].Sending) != 20 || len(docs[0].Alerts) != 20 {
		t.Fatalf("flush documents %d (%+v)", len(docs), docs)
	}
	if d := h.alert(breachID("b00")).Deliveries[0]; d.Status != DeliveryPending {
		t.Fatalf("written before the fold: %+v", d)
	}
	n, err := h.store.messages.CountDocuments(h.ctx, bson.M{"_id": bson.M{"$ne": mappedSinceID}})
	if err != nil || n != 20 {
		t.Fatalf("%d SMS mapped (%v)", n, err)
	}
	h.d.fold()
	if d := h.alert(breachID("b00")).Deliveries[0]; d.Status != DeliverySent {
		t.Fatalf("after the fold: %+v", d)
	}
	if docs, _ := h.store.flushDocs(h.ctx); len(docs) != 0 {
		t.Fatalf("flush documents left after the fold: %+v", docs)
	}
}
