package auth

import (
	"testing"
	"time"
)

func TestFailures(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f := NewFailures()
	// The first 20 failures in a minute are answered as failures.
	for i := range 20 {
		if _, th := f.Fail("10.0.0.1", t0.Add(time.Duration(i)*time.Second)); th {
			t.Fatalf("failure %d throttled", i+1)
		}
	}
	// The 21st is throttled for a minute.
	ra, th := f.Fail("10.0.0.1", t0.Add(20*time.Second))
	if !th || ra != time.Minute {
		t.Fatalf("21st failure: throttled %v, retry after %v; want true, 1m", th, ra)
	}
	// Another address is not affected.
	if _, th := f.Fail("10.0.0.2", t0.Add(20*time.Second)); th {
		t.Fatal("another address throttled")
	}
	// While blocked, Retry-After counts down in whole seconds.
	ra, th = f.Fail("10.0.0.1", t0.Add(50*time.Second+500*time.Millisecond))
	if !th || ra != 30*time.Second {
		t.Fatalf("while blocked: throttled %v, retry after %v; want true, 30s", th, ra)
	}
	// Once the block has passed, failures count afresh.
	if _, th := f.Fail("10.0.0.1", t0.Add(81*time.Second)); th {
		t.Fatal("still throttled after the block")
	}
}

func TestFailuresWindowResets(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f := NewFailures()
	// 20 failures a minute, every minute, never throttle.
	for m := range 3 {
		for i := range 20 {
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second)
			if _, th := f.Fail("10.0.0.1", at); th {
				t.Fatalf("minute %d failure %d throttled", m, i+1)
			}
		}
	}
}

func TestFailuresBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f := &Failures{Limit: 1, Window: time.Minute, Block: time.Minute}
	for i := range maxFailureAddrs + 10 {
		f.Fail(string(rune(i)), t0)
	}
	if n := len(f.by); n > maxFailureAddrs {
		t.Fatalf("%d addresses remembered; want at most %d", n, maxFailureAddrs)
	}
}
