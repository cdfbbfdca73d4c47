package service

import "testing"

// TestReceivers: every source of WebhookSources has its receiver, and no other name
// (Twilio's callbacks have their own routes).
func TestReceivers(t *testing.T) {
	for _, name := range WebhookSources {
		r, ok := receivers{}.Receiver(name, "")
		if !ok || r.Source() != name {
			t.Errorf("Receiver(%q) = %v, %v", name, r, ok)
		}
	}
	if _, ok := (receivers{}).Receiver("twilio", ""); ok {
		t.Error("Receiver(twilio) found a receiver")
	}
}
