package client

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Defaults of the client's token bucket.
const (
	DefaultQPS   = 5
	DefaultBurst = 5
)

// rateLimiter is the token bucket every HTTP attempt of a Client passes,
// whatever the operation: COC's gateway throttles per account, not per API.
type rateLimiter struct {
	lim  *rate.Limiter
	wait prometheus.Observer
}

// newRateLimiter builds a bucket refilled at qps tokens a second holding
// at most burst tokens (it starts full).
func newRateLimiter(qps float64, burst int, wait prometheus.Observer) (*rateLimiter, error) {
	if qps < 0 || math.IsNaN(qps) || math.IsInf(qps, 0) || burst < 0 {
		return nil, fmt.Errorf("rate limit: QPS %v and burst %d must be finite and not negative", qps, burst)
	}
	if qps == 0 {
		qps = DefaultQPS
	}
	if burst == 0 {
		burst = DefaultBurst
	}
	return &rateLimiter{lim: rate.NewLimiter(rate.Limit(qps), burst), wait: wait}, nil
}

// Wait blocks until a token is available or ctx ends, and records how long
// it waited. It fails at once when ctx's deadline would pass first.
func (r *rateLimiter) Wait(ctx context.Context) error {
	start := time.Now()
	err := r.lim.Wait(ctx)
	r.wait.Observe(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("wait for rate limit: %w", err)
	}
	return nil
}

// allowAt reports whether a token is available at t and takes it; it lets
// tests drive the bucket with a fake clock.
func (r *rateLimiter) allowAt(t time.Time) bool {
	return r.lim.AllowN(t, 1)
}
