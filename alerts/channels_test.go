package alerts

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// classified is a channel's own error, as alerts/twilio's *Error is.
type classified struct{ f Failure }

func (c *classified) Error() string    { return "provider: " + c.f.String() }
func (c *classified) Failure() Failure { return c.f }

func TestNewSendError(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want Failure
	}{
		// An error that says nothing of its class is worth another try.
		{"plain", errors.New("reset"), Retryable},
		// A channel's error keeps its class.
		{"classified", &classified{Permanent}, Permanent},
		// ... also when wrapped.
		{"wrapped", fmt.Errorf("send: %w", &classified{Ambiguous}), Ambiguous},
		// A channel error without a class is worth another try.
		{"unclassified", &classified{0}, Retryable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			se := NewSendError(tt.err, true, time.Second)
			if se.Failure != tt.want || !se.Unreachable || se.RetryAfter != time.Second || !errors.Is(se, tt.err) {
				t.Errorf("NewSendError = %+v, want Failure %v, Unreachable, RetryAfter 1s, wrapping %v", se, tt.want, tt.err)
			}
		})
	}
	if got := FailureOf(errors.New("x")); got != 0 {
		t.Errorf("FailureOf(plain) = %v, want 0", got)
	}
}
