// Package await is the one test helper that waits for asynchronous work:
// it polls a condition until it holds or a deadline passes. The bridge's,
// the daemon's and the end-to-end tests use it; it owns nothing else.
package await

import (
	"testing"
	"time"
)

// True polls cond until it returns true, and fails t with what when
// timeout passes first. It polls every 10 ms at first, backing off to
// every 100 ms so that a slow condition (an HTTP call) is not hammered.
func True(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	Explained(t, timeout, what, func() (bool, string) { return cond(), "" })
}

// Explained is True for a condition that also says where it stands; the
// last explanation is part of the failure message.
func Explained(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	interval := 10 * time.Millisecond
	for {
		ok, why := cond()
		if ok {
			return
		}
		tick := time.NewTimer(interval)
		select {
		case <-deadline.C:
			tick.Stop()
			if why != "" {
				t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, why)
			}
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		case <-tick.C:
		}
		interval = min(2*interval, 100*time.Millisecond)
	}
}
