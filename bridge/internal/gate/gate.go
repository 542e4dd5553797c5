// Package gate owns the close protocol of the store engines: calls run
// concurrently, and Close waits for the running ones and turns new ones away,
// so a store is never closed under a call that is still using it.
package gate

import "sync"

// Gate lets calls run concurrently and Close wait for them: calls hold the
// read side for their whole duration, Close takes the write side once. The
// zero value is open.
type Gate struct {
	mu     sync.RWMutex
	closed bool
}

// Enter reports whether a call may run; if so the caller must call Leave.
func (g *Gate) Enter() bool {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return false
	}
	return true
}

// Leave ends a call that Enter let in.
func (g *Gate) Leave() { g.mu.RUnlock() }

// Close waits for running calls, turns later ones away, and reports whether
// this was the first Close.
func (g *Gate) Close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	return true
}

// Do runs fn as one call, or returns closed without running it when the
// gate is closed.
func (g *Gate) Do(closed error, fn func() error) error {
	if !g.Enter() {
		return closed
	}
	defer g.Leave()
	return fn()
}
