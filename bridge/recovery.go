package bridge

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// recovery shortens the way back from a COC outage. Each failed attempt
// backs its item off exponentially (up to RetryMaxDelay), which keeps a
// failing COC from being hammered but, left alone, would make the backlog
// of a long outage wait out those delays after COC is back. So:
//
//   - while COC is unavailable (see cocUnavailable: no answer, 502/503/504,
//     a gateway outage code), a delivery is attempted at least every
//     RecoveryProbe: when no attempt ran for that long, the earliest
//     backed-off item is made due now (one item, so an unavailable COC sees
//     at most one extra call per interval, and none while the items' own
//     retries are frequent enough);
//   - the first success after COC was unavailable for at least RecoveryProbe
//     (or the first since the process started, whose items may have backed
//     off in an earlier run) makes every backed-off item due at once. The
//     workers then drain them oldest due first through the COC rate limiter,
//     at the configured QPS.
//
// Failures that may be an item's own (a 500 from COC itself) or that mean
// COC is up but busy (throttling) start neither: such items keep their
// backoff. A success after a shorter outage changes nothing either; an item
// backed off for other reasons is brought forward at most once per
// RecoveryProbe, and only when COC was unavailable that long in between.
//
// LookupFirst items keep at least AmbiguousDelay after their last attempt
// (see ExpediteRequest): COC may still be creating their ticket.
type recovery struct {
	mu sync.Mutex
	// since is when the current failing period began; zero while COC
	// answers. It starts as the process start: nothing is known yet.
	since time.Time
	// failed is set once an attempt failed in the current period; probes
	// run only then.
	failed bool
	// lastAttempt is when the last delivery attempt ended.
	lastAttempt time.Time
}

func newRecovery(now time.Time) *recovery {
	return &recovery{since: now, lastAttempt: now}
}

// attemptFailed records an attempt that found COC unavailable.
func (r *recovery) attemptFailed(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() {
		r.since = now
	}
	r.failed = true
	r.lastAttempt = now
}

// attemptEnded records an attempt that does not say COC is unavailable or
// back (a permanent refusal, a 500, throttling).
func (r *recovery) attemptEnded(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastAttempt = now
}

// succeeded records an attempt COC answered with success. It returns how
// long COC had been failing (or the process running) when backed-off items
// should now be made due, and false otherwise.
func (r *recovery) succeeded(now time.Time, minOutage time.Duration) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastAttempt = now
	if r.since.IsZero() {
		return 0, false
	}
	down := now.Sub(r.since)
	wake := !r.failed || down >= minOutage
	r.since, r.failed = time.Time{}, false
	return down, wake
}

// probeIn returns how long until a probe is due (0: now). While COC is not
// known to fail it returns interval.
func (r *recovery) probeIn(now time.Time, interval time.Duration) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.failed {
		return interval
	}
	idle := now.Sub(r.lastAttempt)
	if idle >= interval {
		return 0
	}
	return interval - idle
}

// runRecovery probes a failing COC until ctx ends (see recovery).
func (b *Bridge) runRecovery(ctx context.Context) {
	interval := b.opts.RecoveryProbe
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := b.recovery.probeIn(b.opts.NowFunc(), interval)
		if wait == 0 {
			b.expedite(ctx, 1, "no delivery attempt while COC is unavailable: trying the earliest backed-off item now")
			wait = interval
		}
		t.Reset(wait)
	}
}

// deliverySucceeded is called after COC accepted a create or a lookup found
// the ticket; after an outage it makes the backed-off items due.
func (b *Bridge) deliverySucceeded(ctx context.Context) {
	if down, wake := b.recovery.succeeded(b.opts.NowFunc(), b.opts.RecoveryProbe); wake {
		b.expedite(ctx, 0, "COC answers again: backed-off outbox items are due now",
			zap.Duration("failing_for", down.Round(time.Millisecond)))
	}
}

// expedite makes up to limit (0: all) backed-off items due now and wakes
// the workers when it changed any.
func (b *Bridge) expedite(ctx context.Context, limit int, msg string, fields ...zap.Field) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	now := b.opts.NowFunc()
	n, err := b.opts.Store.Expedite(ctx, ExpediteRequest{Due: now, LookupDue: now.Add(b.opts.AmbiguousDelay), Limit: limit})
	if err != nil {
		if ctx.Err() == nil {
			b.metrics.storeErrors.WithLabelValues("expedite").Inc()
			b.log.Warn("make backed-off outbox items due", zap.Error(err))
		}
		return
	}
	if n == 0 {
		return
	}
	b.wake.notify()
	fields = append(fields, zap.Int("items", n))
	if limit == 1 {
		b.log.Debug(msg, fields...)
		return
	}
	b.log.Info(msg, fields...)
}
