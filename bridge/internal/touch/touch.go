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

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge/internal/gate"
	"github.com/coc-bridge/coc-bridge/bridge/internal/loop"
)

// Interval is how often Start's loop flushes the buffer.
const Interval = time.Second

// Timeout bounds one write of the buffer, in Start's loop and in Close.
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
	mu   sync.Mutex
	m    map[string]Touch
	stop func() // ends Start's loop; nil before Start
}

// WriteFunc writes touches to the store: counts add, times only move
// forward.
type WriteFunc func(context.Context, map[string]Touch) error

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
func (b *Buffer) Flush(ctx context.Context, write WriteFunc) error {
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
// gets Timeout. A failed flush is logged and retried at the next tick with
// what came since.
func (b *Buffer) run(ctx context.Context, write WriteFunc, log *zap.Logger) {
	loop.Repeat(ctx, Interval, func() time.Duration {
		fctx, cancel := context.WithTimeout(ctx, Timeout)
		defer cancel()
		if err := b.Flush(fctx, write); err != nil && ctx.Err() == nil {
			log.Warn("cannot write the counts of repeated notifications yet; retrying", zap.Error(err))
		}
		return Interval
	})
}

// Start writes b every Interval in a goroutine of its own, each write a
// call of the store through g (closed is what a write returns once g is
// closed), until Close.
func (b *Buffer) Start(g *gate.Gate, closed error, write WriteFunc, log *zap.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.run(ctx, func(ctx context.Context, m map[string]Touch) error {
			return g.Do(closed, func() error { return write(ctx, m) })
		}, log)
	}()
	b.stop = func() {
		cancel()
		<-done
	}
}

// Close is the first step of the store's Close: it stops Start's loop,
// closes g (waiting for the store's running calls, so no repeat can be added
// any more) and writes what is left through write, bounded by Timeout.
// first is false, with nothing written, when g was closed before.
func (b *Buffer) Close(g *gate.Gate, write WriteFunc) (first bool, err error) {
	if b.stop != nil {
		b.stop() // returns at once the second time
	}
	if !g.Close() {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return true, b.Flush(ctx, write)
}
