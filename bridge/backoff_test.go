package bridge

import (
	"fmt"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	full := func(d time.Duration) time.Duration { return d } // the jitter's upper bound
	zero := func(time.Duration) time.Duration { return 0 }
	tests := []struct {
		attempt int
		jitter  func(time.Duration) time.Duration
		want    time.Duration
	}{
		{1, full, time.Second},
		{2, full, 2 * time.Second},
		{4, full, 8 * time.Second},
		{10, full, time.Minute}, // capped
		{100, full, time.Minute},
		{3, zero, 100 * time.Millisecond}, // floor
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt), func(t *testing.T) {
			t.Parallel()
			if got := retryDelay(tt.attempt, time.Second, time.Minute, tt.jitter); got != tt.want {
				t.Errorf("retryDelay(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}
