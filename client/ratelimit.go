package client

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Defaults of the client's token bucket.
const (
	DefaultQPS   = 5
	DefaultBurst = 5
	// DefaultReadShare is the share of the QPS that low-priority calls may
	// use (Options.ReadShare).
	DefaultReadShare = 0.5
)

// rateLimiter is the token bucket every HTTP attempt of a Client passes,
// whatever the operation: COC's gateway throttles per account, not per API.
//
// Calls have a priority. A high-priority call (a create, a lookup, a
// lifecycle action) reserves its token at once and waits for it, in
// arrival order. A low-priority call (a status read) first waits for its
// own budget, a second bucket refilled at readShare × QPS, then takes a
// token of the shared bucket only when one is there now: every token a
// high-priority call reserved is in the future, so while one waits the
// bucket holds none and the low-priority call waits on. A low-priority call
// therefore never delays a high-priority one by more than the one token it
// may have just taken.
//
// The bucket is the account's: with several replicas each holds
// QPS / replicas and Burst / replicas (at least one token), see share.
type rateLimiter struct {
	lim  *rate.Limiter // every call
	low  *rate.Limiter // the low-priority budget
	wait prometheus.Observer

	mu        sync.Mutex
	qps       float64 // the account's
	burst     int     // the account's
	readShare float64
	replicas  int
}

// newRateLimiter builds a bucket refilled at qps tokens a second holding
// at most burst tokens (it starts full); low-priority calls may use
// readShare of it (0 < readShare <= 1; 0 means DefaultReadShare).
func newRateLimiter(qps float64, burst int, readShare float64, wait prometheus.Observer) (*rateLimiter, error) {
	if qps < 0 || math.IsNaN(qps) || math.IsInf(qps, 0) || burst < 0 {
		return nil, fmt.Errorf("rate limit: QPS %v and burst %d must be finite and not negative", qps, burst)
	}
	if readShare < 0 || readShare > 1 || math.IsNaN(readShare) {
		return nil, fmt.Errorf("rate limit: read share %v must be in (0, 1]", readShare)
	}
	if qps == 0 {
		qps = DefaultQPS
	}
	if burst == 0 {
		burst = DefaultBurst
	}
	if readShare == 0 {
		readShare = DefaultReadShare
	}
	r := &rateLimiter{qps: qps, burst: burst, readShare: readShare, replicas: 1, wait: wait}
	q, b, low := r.limits()
	r.lim = rate.NewLimiter(rate.Limit(q), b)
	r.low = rate.NewLimiter(rate.Limit(low), 1)
	return r, nil
}

// ShareOf returns one replica's share of an account's bucket: QPS and burst
// divided by the live replicas (at least one token of burst, so a call can
// pass at all). Fewer than one replica counts as one.
func ShareOf(qps float64, burst, replicas int) (float64, int) {
	n := max(replicas, 1)
	return qps / float64(n), max(1, burst/n)
}

// limits returns this replica's QPS, burst and low-priority QPS. r.mu
// held, or r not shared yet.
func (r *rateLimiter) limits() (float64, int, float64) {
	q, b := ShareOf(r.qps, r.burst, r.replicas)
	return q, b, q * r.readShare
}

// share sets the number of live replicas sharing the account's bucket.
func (r *rateLimiter) share(replicas int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replicas = max(replicas, 1)
	q, b, low := r.limits()
	r.lim.SetLimit(rate.Limit(q))
	r.lim.SetBurst(b)
	r.low.SetLimit(rate.Limit(low))
}

// rate returns this replica's current QPS and burst.
func (r *rateLimiter) rate() (float64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, b, _ := r.limits()
	return q, b
}

// Wait blocks until a token is available for a call of priority p or ctx
// ends. High-priority waits are recorded; they fail at once when ctx's
// deadline would pass first.
func (r *rateLimiter) Wait(ctx context.Context, p Priority) error {
	if p == PriorityLow {
		if err := r.waitLow(ctx); err != nil {
			return fmt.Errorf("wait for rate limit (low priority): %w", err)
		}
		return nil
	}
	start := time.Now()
	err := r.lim.Wait(ctx)
	r.wait.Observe(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("wait for rate limit: %w", err)
	}
	return nil
}

// waitLow waits for the low-priority budget, then for a moment when the
// shared bucket holds a token nobody reserved.
func (r *rateLimiter) waitLow(ctx context.Context) error {
	if err := r.low.Wait(ctx); err != nil {
		return err
	}
	for {
		now := time.Now()
		if r.lim.AllowN(now, 1) {
			return nil
		}
		// The next token comes after the reserved ones: look again when one
		// more could be there (bounded, so a changed limit is seen).
		need := 1 - r.lim.TokensAt(now)
		d := time.Duration(need / float64(r.lim.Limit()) * float64(time.Second))
		t := time.NewTimer(min(max(d, time.Millisecond), time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// allowAt reports whether a token is available at t and takes it; it lets
// tests drive the bucket with a fake clock.
func (r *rateLimiter) allowAt(t time.Time) bool {
	return r.lim.AllowN(t, 1)
}

// Priority orders the calls that wait for the token bucket.
type Priority int

const (
	// PriorityHigh is the default: creates, lookups, lifecycle actions.
	PriorityHigh Priority = iota
	// PriorityLow is for status reads: they wait while any high-priority
	// call waits, and use at most Options.ReadShare of the QPS.
	PriorityLow
)

// LowPriority returns a Client that shares c's bucket, credentials,
// metrics and settings and makes every call at PriorityLow. The refresher
// reads ticket statuses through it.
func (c *Client) LowPriority() *Client {
	cp := *c
	cp.priority = PriorityLow
	return &cp
}

// ShareRate makes this process one of replicas sharing the account's
// QPS and Burst (Options): the bucket becomes QPS / replicas with burst
// Burst / replicas (at least 1). Calls waiting keep their reservations.
func (c *Client) ShareRate(replicas int) { c.limiter.share(replicas) }

// Rate returns the QPS and burst of this process's bucket now.
func (c *Client) Rate() (float64, int) { return c.limiter.rate() }
