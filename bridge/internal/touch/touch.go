// Package touch owns the lazy half of a repeat notification: what a repeat
// changes on its key that decides nothing (how many notifications the key
// has had, when the last one came) is buffered here and written by the
// store engines in one statement or commit a second, instead of one write
// per notification. A crash loses at most the last interval's counts and
// times; nothing that decides a ticket is ever buffered.
package touch

import (
	"context"
	"sync"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge/internal/loop"
)

// Interval is how often Start's loop flushes the buffer.
const Interval = time.Second

// Timeout bounds one write of the buffer, in Start's loop and in Drain.
const Timeout = 10 * time.Second

// MaxKeys bounds the buffer: with as many keys waiting, Add refuses more and
// the engine writes the repeat at once, as if there were no buffer.
const MaxKeys = 50_000

// Touch is what the repeats of one key since the last flush add up to.
type Touch struct {
	// N is the number of notifications.
	N int64
	// At is the latest time one was received.
	At time.Time
}

// Buffer collects touches; the zero value is empty and ready to use.
type Buffer struct {
	mu sync.Mutex
	m  map[string]Touch
}

// Add records one repeat of key received at at and returns what the key's
// buffered touch is now. ok is false when the buffer is full and key not in
// it: nothing was recorded.
func (b *Buffer) Add(key string, at time.Time) (t Touch, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, found := b.m[key]
	if !found && len(b.m) >= MaxKeys {
		return Touch{}, false
	}
	if b.m == nil {
		b.m = make(map[string]Touch)
	}
	t.N++
	if at.After(t.At) {
		t.At = at
	}
	b.m[key] = t
	return t, true
}

// Take empties the buffer and returns what it held (nil when empty).
func (b *Buffer) Take() map[string]Touch {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.m
	b.m = nil
	return m
}

// Restore puts touches a failed flush took back into the buffer, merged
// with what came since, so a store outage delays counts but loses none.
func (b *Buffer) Restore(m map[string]Touch) {
	if len(m) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[string]Touch, len(m))
	}
	for k, t := range m {
		cur := b.m[k]
		cur.N += t.N
		if t.At.After(cur.At) {
			cur.At = t.At
		}
		b.m[k] = cur
	}
}

// Flush writes what b holds through write and puts it back if write fails.
// Writes are commutative (counts add, times only move forward), so a
// flush may run next to any other write of the same keys.
func (b *Buffer) Flush(ctx context.Context, write func(context.Context, map[string]Touch) error) error {
	m := b.Take()
	if len(m) == 0 {
		return nil
	}
	if err := write(ctx, m); err != nil {
		b.Restore(m)
		return err
	}
	return nil
}

// run flushes b through write every Interval until ctx is done; each flush
// gets Timeout. A failed flush is reported to onError and retried at the
// next tick with what came since.
func (b *Buffer) run(ctx context.Context, write func(context.Context, map[string]Touch) error, onError func(error)) {
	loop.Repeat(ctx, Interval, func() time.Duration {
		fctx, cancel := context.WithTimeout(ctx, Timeout)
		defer cancel()
		if err := b.Flush(fctx, write); err != nil && ctx.Err() == nil {
			onError(err)
		}
		return Interval
	})
}

// Start runs run in a goroutine of its own and returns the function that
// stops it and waits for it to return (a second call returns at once).
// What is left in b is the caller's to Drain once no repeat can be added
// any more.
func (b *Buffer) Start(write func(context.Context, map[string]Touch) error, onError func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.run(ctx, write, onError)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Drain is the last Flush, at a store's Close, bounded by Timeout.
func (b *Buffer) Drain(write func(context.Context, map[string]Touch) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return b.Flush(ctx, write)
}
