// Package storetest is the conformance suite every bridge.Store engine
// passes: bridge/sqlite and bridge/postgres call Run from their tests with a
// Harness that opens a fresh database.
//
// It owns the executable meaning of the bridge.Store contract: every method
// and every Decision, leases and their expiry, concurrent Accepts of one key
// and concurrent claimers, durability across close and reopen. When an
// engine's behaviour has to change, change the suite (and so both engines),
// not a test of one engine.
//
// No store call sees the wall clock: every time passed in derives from a
// fixed base, so a failure reproduces exactly. Times are compared
// with time.Time.Equal after a round trip and must come back in UTC; the
// suite only uses millisecond precision, the least an engine may keep.
//
// It also holds the shared Accept benchmark (BenchmarkAccept). It imports
// package testing and is for tests only.
package storetest
