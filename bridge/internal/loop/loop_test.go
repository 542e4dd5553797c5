package loop

import (
	"context"
	"testing"
	"time"
)

func TestRepeatWaitsAsStepSaysAndEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var waits []time.Duration
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Repeat(ctx, 10*time.Millisecond, func() time.Duration {
			waits = append(waits, time.Since(start))
			if len(waits) == 3 {
				cancel()
			}
			return 20 * time.Millisecond
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Repeat did not return after its context ended")
	}
	if len(waits) != 3 {
		t.Fatalf("step ran %d times, want 3", len(waits))
	}
	// The first step after 10 ms, each later one at least 20 ms after the last.
	if waits[0] < 10*time.Millisecond || waits[1]-waits[0] < 20*time.Millisecond || waits[2]-waits[1] < 20*time.Millisecond {
		t.Fatalf("steps ran at %v, want the first after 10ms and 20ms apart", waits)
	}
}
