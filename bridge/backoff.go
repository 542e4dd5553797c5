package bridge

import (
	"time"

	"github.com/coc-bridge/coc-bridge/client"
)

// retryDelay is the outbox's backoff: the client's formula (exponential with
// full jitter, see client.Backoff) over the outbox's longer horizon, never
// below a small floor so a failing COC is not hammered by a burst of
// immediate retries.
func retryDelay(attempt int, base, maxDelay time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	const floor = 100 * time.Millisecond
	return max(floor, client.Backoff(attempt, base, maxDelay, jitter))
}
