package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds the retries the client makes inside one call. Only
// ClassRetryable errors are retried (except ErrRequestTimeRejected and
// ErrAccessKeyLocked, which outlast a call); permanent and ambiguous errors
// return at once. Longer-horizon retries belong to the caller (the
// bridge's outbox), which can reuse Delay. Zero fields take the defaults.
type RetryPolicy struct {
	// MaxAttempts is the number of HTTP attempts per call, the first
	// included (default 4; 1 disables retries).
	MaxAttempts int
	// BaseDelay is the backoff before the first retry (default 200ms); it
	// doubles on every further retry.
	BaseDelay time.Duration
	// MaxDelay caps one backoff before jitter (default 10s).
	MaxDelay time.Duration
	// MaxElapsed bounds one call: no wait is started that would end after
	// MaxElapsed from the start of the call (default 30s). An attempt in
	// flight is bounded by AttemptTimeout instead.
	MaxElapsed time.Duration
	// AttemptTimeout bounds one HTTP attempt, reading the answer included
	// (default 10s).
	AttemptTimeout time.Duration
	// JitterFunc returns a random duration in [0, max] (default: uniform,
	// "full jitter").
	JitterFunc func(max time.Duration) time.Duration
	// SleepFunc waits d or until ctx ends, returning ctx's error then
	// (default: a timer in a select with ctx.Done). Tests replace it to
	// record waits.
	SleepFunc func(ctx context.Context, d time.Duration) error
}

// Defaults of RetryPolicy.
const (
	DefaultMaxAttempts    = 4
	DefaultBaseDelay      = 200 * time.Millisecond
	DefaultMaxDelay       = 10 * time.Second
	DefaultMaxElapsed     = 30 * time.Second
	DefaultAttemptTimeout = 10 * time.Second
)

// withDefaults fills zero fields.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxElapsed == 0 {
		p.MaxElapsed = DefaultMaxElapsed
	}
	if p.AttemptTimeout == 0 {
		p.AttemptTimeout = DefaultAttemptTimeout
	}
	if p.JitterFunc == nil {
		p.JitterFunc = fullJitter
	}
	if p.SleepFunc == nil {
		p.SleepFunc = sleep
	}
	return p
}

// validate rejects negative settings.
func (p RetryPolicy) validate() error {
	if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxElapsed < 0 || p.AttemptTimeout < 0 {
		return errors.New("retry policy: values must not be negative")
	}
	return nil
}

// Delay returns the wait before retry number retry (1 = the first retry):
// full jitter over min(MaxDelay, BaseDelay*2^(retry-1)), but at least
// retryAfter (the server's Retry-After, 0 if none).
func (p RetryPolicy) Delay(retry int, retryAfter time.Duration) time.Duration {
	p = p.withDefaults()
	return max(Backoff(retry, p.BaseDelay, p.MaxDelay, p.JitterFunc), retryAfter)
}

// Backoff is the client's one backoff formula, exponential with full
// jitter: jitter(min(maxDelay, base·2^(attempt-1))), clamped to [0, that
// ceiling]. attempt counts from 1; jitter nil means uniform in [0, ceiling].
// Callers with longer horizons (the bridge's outbox) use it too.
func Backoff(attempt int, base, maxDelay time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	if jitter == nil {
		jitter = fullJitter
	}
	ceiling := base
	for i := 1; i < attempt && ceiling < maxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, maxDelay)
	return min(max(jitter(ceiling), 0), ceiling)
}

// fullJitter returns a uniformly random duration in [0, ceiling].
func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
