package auth

import (
	"sync"
	"time"
)

// Failures throttles client addresses that fail authentication or a signature check
// too often. Only failures count, and only failing requests are throttled: a caller
// whose key, session or signature is valid never asks, so a busy ATS, Twilio or Slack
// sharing an address with an attacker is never refused because of the attacker.
//
// Each address gets a fixed window: up to Limit failures are answered as failures
// (401); the next ones, until Block has passed since the window filled, are answered
// 429 with Retry-After.
type Failures struct {
	Limit  int           // failures allowed per Window
	Window time.Duration // the counting window
	Block  time.Duration // how long an address stays throttled once over Limit

	mu sync.Mutex
	by map[string]*failureWindow
}

// The defaults: more than 20 failures a minute throttles an address for a minute.
const (
	DefaultFailureLimit  = 20
	DefaultFailureWindow = time.Minute
	DefaultFailureBlock  = time.Minute
)

// maxFailureAddrs bounds the addresses remembered; past it the expired ones are
// dropped, and if none has expired, all are forgotten (a flood of addresses then costs
// no more memory than this).
const maxFailureAddrs = 100000

type failureWindow struct {
	start        time.Time
	count        int
	blockedUntil time.Time
}

// NewFailures returns a throttle with the default limits.
func NewFailures() *Failures {
	return &Failures{Limit: DefaultFailureLimit, Window: DefaultFailureWindow, Block: DefaultFailureBlock}
}

// Fail records a failed attempt from addr at now. It reports whether the request
// should be refused with 429, and for how long the client should wait (a whole
// number of seconds, at least one).
func (f *Failures) Fail(addr string, now time.Time) (retryAfter time.Duration, throttled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.by == nil {
		f.by = make(map[string]*failureWindow)
	}
	w := f.by[addr]
	if w == nil {
		if len(f.by) >= maxFailureAddrs {
			f.prune(now)
		}
		w = &failureWindow{start: now}
		f.by[addr] = w
	}
	if now.Before(w.blockedUntil) {
		return roundUpSecond(w.blockedUntil.Sub(now)), true
	}
	if now.Sub(w.start) >= f.Window {
		w.start, w.count = now, 0
	}
	w.count++
	if w.count > f.Limit {
		w.blockedUntil = now.Add(f.Block)
		return roundUpSecond(f.Block), true
	}
	return 0, false
}

// prune drops the windows that neither count nor block any more; if none can go, it
// forgets every address. Called with mu held.
func (f *Failures) prune(now time.Time) {
	for addr, w := range f.by {
		if now.Sub(w.start) >= f.Window && !now.Before(w.blockedUntil) {
			delete(f.by, addr)
		}
	}
	if len(f.by) >= maxFailureAddrs {
		clear(f.by)
	}
}

func roundUpSecond(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return s * time.Second
}
