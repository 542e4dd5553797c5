package bridge

import (
	"context"
	"fmt"
	"time"
)

// DefaultStoreTimeout bounds each store call of the bridge by default: well
// inside Alertmanager's default webhook timeout (10s), so a database that
// stops answering gets the webhook a 503, which Alertmanager retries,
// rather than no answer at all.
const DefaultStoreTimeout = 5 * time.Second

// WithDeadline returns s with a deadline on every call: each runs with a
// context that ends d after the call began (or earlier, with the caller's),
// and returns by then whatever the engine does. A call the engine has not
// finished at the deadline fails with context.DeadlineExceeded and runs on
// until the engine gives up (the engines end a call soon after its context
// does; an SQLite commit that has begun waits for its fsync); like any
// failed call, it may or may not have taken effect, which every caller
// already allows for (a 503 is retried and deduplicated, an unrecorded
// ticket is looked up). Close is not bounded: it waits for running calls.
// A d below 1 returns s unchanged.
func WithDeadline(s Store, d time.Duration) Store {
	if d <= 0 {
		return s
	}
	if ds, ok := s.(deadlineStore); ok {
		s = ds.s
	}
	return deadlineStore{s: s, d: d, cause: fmt.Errorf("no answer within %v: %w", d, context.DeadlineExceeded)}
}

type deadlineStore struct {
	s     Store
	d     time.Duration
	cause error // why a call ended at the deadline
}

type result[T any] struct {
	v   T
	err error
}

// bounded runs fn with a context ending s.d from now and returns its
// result, or an error at the deadline (or when ctx ends) if fn has not
// returned by then.
func bounded[T any](ctx context.Context, s deadlineStore, what string, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.d, s.cause)
	done := make(chan result[T], 1)
	go func() {
		defer cancel()
		v, err := fn(ctx)
		done <- result[T]{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		select {
		case r := <-done: // finished at the deadline: keep its answer
			return r.v, r.err
		default:
		}
		var zero T
		return zero, fmt.Errorf("store %s: %w", what, context.Cause(ctx))
	}
}

// boundedErr is bounded for calls that return only an error.
func boundedErr(ctx context.Context, s deadlineStore, what string, fn func(context.Context) error) error {
	_, err := bounded(ctx, s, what, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

func (s deadlineStore) Accept(ctx context.Context, batch ...Notification) ([]AcceptResult, error) {
	return bounded(ctx, s, "accept", func(ctx context.Context) ([]AcceptResult, error) { return s.s.Accept(ctx, batch...) })
}

func (s deadlineStore) Claim(ctx context.Context, r ClaimRequest) ([]Delivery, error) {
	return bounded(ctx, s, "claim", func(ctx context.Context) ([]Delivery, error) { return s.s.Claim(ctx, r) })
}

func (s deadlineStore) Complete(ctx context.Context, c Completion) error {
	return boundedErr(ctx, s, "complete", func(ctx context.Context) error { return s.s.Complete(ctx, c) })
}

func (s deadlineStore) Retry(ctx context.Context, r RetryRequest) error {
	return boundedErr(ctx, s, "retry", func(ctx context.Context) error { return s.s.Retry(ctx, r) })
}

func (s deadlineStore) DeadLetter(ctx context.Context, d DeadLetterRequest) error {
	return boundedErr(ctx, s, "dead-letter", func(ctx context.Context) error { return s.s.DeadLetter(ctx, d) })
}

func (s deadlineStore) Expedite(ctx context.Context, r ExpediteRequest) (int, error) {
	return bounded(ctx, s, "expedite", func(ctx context.Context) (int, error) { return s.s.Expedite(ctx, r) })
}

func (s deadlineStore) Replay(ctx context.Context, r ReplayRequest) (int, error) {
	return bounded(ctx, s, "replay", func(ctx context.Context) (int, error) { return s.s.Replay(ctx, r) })
}

func (s deadlineStore) TakeBack(ctx context.Context, r TakeBackRequest) (int, error) {
	return bounded(ctx, s, "take back", func(ctx context.Context) (int, error) { return s.s.TakeBack(ctx, r) })
}

func (s deadlineStore) DueForRefresh(ctx context.Context, r RefreshRequest) ([]LedgerEntry, error) {
	return bounded(ctx, s, "refresh", func(ctx context.Context) ([]LedgerEntry, error) { return s.s.DueForRefresh(ctx, r) })
}

func (s deadlineStore) Release(ctx context.Context, r Release) error {
	return boundedErr(ctx, s, "release", func(ctx context.Context) error { return s.s.Release(ctx, r) })
}

func (s deadlineStore) RecordCheck(ctx context.Context, c Check) error {
	return boundedErr(ctx, s, "record check", func(ctx context.Context) error { return s.s.RecordCheck(ctx, c) })
}

func (s deadlineStore) Ledger(ctx context.Context, f LedgerFilter) ([]LedgerEntry, error) {
	return bounded(ctx, s, "ledger", func(ctx context.Context) ([]LedgerEntry, error) { return s.s.Ledger(ctx, f) })
}

func (s deadlineStore) Outbox(ctx context.Context, f OutboxFilter) ([]OutboxItem, error) {
	return bounded(ctx, s, "outbox", func(ctx context.Context) ([]OutboxItem, error) { return s.s.Outbox(ctx, f) })
}

func (s deadlineStore) Stats(ctx context.Context) (Stats, error) {
	return bounded(ctx, s, "stats", s.s.Stats)
}

func (s deadlineStore) Ping(ctx context.Context) error {
	return boundedErr(ctx, s, "ping", s.s.Ping)
}

func (s deadlineStore) Close() error { return s.s.Close() }
