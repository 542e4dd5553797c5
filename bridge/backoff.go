package bridge

import "time"

// retryDelay is the outbox's backoff: exponential with full jitter, a
// random wait in [0, min(max, base·2^(attempt-1))], never below a small
// floor so a failing COC is not hammered by a burst of immediate retries.
func retryDelay(attempt int, base, maxDelay time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	const floor = 100 * time.Millisecond
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return max(floor, jitter(d))
}
