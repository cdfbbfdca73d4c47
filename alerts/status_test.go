package alerts

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service/storage/storagetest"
)

func TestSMSStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewStore(storagetest.NewDB(t))
	d := New(Config{Store: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now})
	a := &Alert{ID: "i1:first_response:breached", State: StateOpen, Deliveries: []Delivery{
		{Channel: "sms", To: "+14155550100", Status: DeliverySent, ProviderID: "SM1"},
		{Channel: "email", To: "a@example.com", Status: DeliverySent},
	}}
	if _, err := store.create(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sid, status, code string
		matched           bool
		want              string
	}{
		{"SM1", "sent", "", false, DeliverySent},              // intermediate statuses change nothing
		{"SM1", "delivered", "", true, DeliveryDelivered},     // delivered
		{"SM1", "undelivered", "30003", true, DeliveryFailed}, // the handset was unreachable
		{"SM9", "delivered", "", false, DeliveryFailed},       // another message: no match
	} {
		ok, err := d.SMSStatus(ctx, tc.sid, tc.status, tc.code)
		if err != nil || ok != tc.matched {
			t.Fatalf("%s %s: matched %v, %v", tc.sid, tc.status, ok, err)
		}
		got, _ := store.Get(ctx, a.ID)
		if got.Deliveries[0].Status != tc.want || got.Deliveries[1].Status != DeliverySent {
			t.Fatalf("%s %s: deliveries %+v", tc.sid, tc.status, got.Deliveries)
		}
	}
}
