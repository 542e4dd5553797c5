package bridge

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge/internal/loop"
)

// recovery shortens the way back from a COC outage. Each failed attempt
// backs its item off exponentially (up to RetryMaxDelay), which keeps a
// failing COC from being hammered but, left alone, would make the backlog
// of a long outage wait out those delays after COC is back. So:
//
//   - while COC is unavailable (see client.Unavailable: no answer, 502/503/504,
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

// expediteStore is what the prober needs of the store.
type expediteStore interface {
	Expedite(ctx context.Context, r ExpediteRequest) (int, error)
}

// proberOptions configures a prober. Every field is required.
type proberOptions struct {
	Store expediteStore
	// Interval is Options.RecoveryProbe.
	Interval time.Duration
	// AmbiguousDelay keeps LookupFirst items' lookups that far away.
	AmbiguousDelay time.Duration
	// Wake wakes the delivery workers after items were made due.
	Wake    func()
	NowFunc func() time.Time
	Logger  *zap.Logger
	Metrics *metrics
}

// prober runs the outage recovery (see recovery): it observes every
// delivery attempt (it is the deliverer's outageObserver) and, while COC
// is unavailable, makes backed-off items due.
type prober struct {
	opts  proberOptions
	state *recovery
}

func newProber(opts proberOptions) *prober {
	return &prober{opts: opts, state: newRecovery(opts.NowFunc())}
}

func (p *prober) attemptFailed(now time.Time) { p.state.attemptFailed(now) }
func (p *prober) attemptEnded(now time.Time)  { p.state.attemptEnded(now) }

// succeeded is called after COC accepted a create or a lookup found the
// ticket; after an outage it makes the backed-off items due.
func (p *prober) succeeded(ctx context.Context) {
	if down, wake := p.state.succeeded(p.opts.NowFunc(), p.opts.Interval); wake {
		p.expedite(ctx, 0, "COC answers again: backed-off outbox items are due now",
			zap.Duration("failing_for", down.Round(time.Millisecond)))
	}
}

// run probes a failing COC until ctx ends.
func (p *prober) run(ctx context.Context) {
	interval := p.opts.Interval
	loop.Repeat(ctx, interval, func() time.Duration {
		wait := p.state.probeIn(p.opts.NowFunc(), interval)
		if wait == 0 {
			p.expedite(ctx, 1, "no delivery attempt while COC is unavailable: trying the earliest backed-off item now")
			wait = interval
		}
		return wait
	})
}

// expedite makes up to limit (0: all) backed-off items due now and wakes
// the workers when it changed any.
func (p *prober) expedite(ctx context.Context, limit int, msg string, fields ...zap.Field) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	now := p.opts.NowFunc()
	n, err := p.opts.Store.Expedite(ctx, ExpediteRequest{Due: now, LookupDue: now.Add(p.opts.AmbiguousDelay), Limit: limit})
	if err != nil {
		if ctx.Err() == nil {
			p.opts.Metrics.storeErrors.WithLabelValues("expedite").Inc()
			p.opts.Logger.Warn("make backed-off outbox items due", zap.Error(err))
		}
		return
	}
	if n == 0 {
		return
	}
	p.opts.Wake()
	fields = append(fields, zap.Int("items", n))
	if limit == 1 {
		p.opts.Logger.Debug(msg, fields...)
		return
	}
	p.opts.Logger.Info(msg, fields...)
}
