package bridge

import (
	"testing"
	"time"
)

func TestRecoveryStates(t *testing.T) {
	const probe = 5 * time.Second
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	r := newRecovery(t0)

	wantSucceeded := func(now time.Time, wantWake bool, wantDown time.Duration) {
		t.Helper()
		down, wake := r.succeeded(now, probe)
		if wake != wantWake || (wake && down != wantDown) {
			t.Fatalf("succeeded at %v: wake %v after %v, want %v after %v", now.Sub(t0), wake, down, wantWake, wantDown)
		}
	}
	wantProbeIn := func(now time.Time, want time.Duration) {
		t.Helper()
		if got := r.probeIn(now, probe); got != want {
			t.Fatalf("probeIn at %v = %v, want %v", now.Sub(t0), got, want)
		}
	}

	// Nothing known at start: no probes, and the first success wakes the
	// items an earlier run may have backed off.
	wantProbeIn(at(60), probe)
	wantSucceeded(at(1), true, time.Second)
	wantSucceeded(at(2), false, 0)

	// Failing: a probe is due once no attempt ran for the interval; a
	// permanent refusal is an attempt but does not end the outage.
	r.attemptFailed(at(3))
	wantProbeIn(at(4), 4*time.Second)
	wantProbeIn(at(8), 0)
	r.attemptEnded(at(8))
	wantProbeIn(at(9), 4*time.Second)
	wantSucceeded(at(9), true, 6*time.Second)
	wantProbeIn(at(30), probe)

	// A failure shorter than the interval (one item failing while others
	// succeed) wakes nothing.
	r.attemptFailed(at(10))
	r.attemptFailed(at(12))
	wantSucceeded(at(14), false, 0)
	wantProbeIn(at(30), probe)
}
