// Package sqlite is the embedded store engine of coc-bridge: the ledger and
// the outbox (bridge.Store) in one SQLite file, through the pure-Go driver
// modernc.org/sqlite (no cgo).
//
// It owns the SQLite schema (embedded migrations, applied at Open), the
// connection setup (WAL, synchronous=FULL, foreign keys, busy timeout,
// temporary storage in memory) and every SQL statement run against the
// file. It does not decide what a
// notification means beyond the ledger transitions documented on
// bridge.Store, and it never reads a clock: every time comes from the caller.
//
// # One replica only
//
// The file belongs to one coc-bridge process. Other processes may open it
// briefly (an operator's replay command, a backup): they wait for each other
// through SQLite's locks and the busy timeout. Several bridge replicas that
// share work need bridge/postgres.
//
// # Writes
//
// All writes go through one connection, one goroutine and BEGIN IMMEDIATE
// transactions, so no call ever sees SQLITE_BUSY from this process. Writes
// that arrive while a transaction commits are grouped into the next one
// (group commit), so concurrent Accepts share one fsync; under load (the
// last commit carried more than one call) the writer waits briefly for more
// calls before it begins (writer.go, lingerCalls). Every call still
// succeeds or fails on its own: when a call fails, the batch runs
// again with each call in a savepoint (journals in memory,
// temp_store=MEMORY). A call returns only after its transaction is durable.
// The writer keeps the statements it runs prepared on its connection, so
// SQL is parsed once, not on every call. Reads (Ledger, Outbox, Stats, the
// repeat path) use a separate pool of read-only connections and never wait
// for writes; a notification of a key the ledger cannot hold yet
// (keyfilter.go) goes to the writer without a read first, and the writer
// inserts it without a read unless the key is there after all.
//
// # A failing file system
//
// When a write fails because the file system does (read-only after an I/O
// error, an I/O error, a file that cannot be opened), the Store keeps no
// connection open between calls until a write commits again (files.go): a
// volume the kernel made read-only can then be unmounted, repaired and
// mounted again under the running process. Connections never create the
// file (Open does), so nothing is written into an empty mount point.
//
// # Times
//
// Times are stored as Unix microseconds: they come back in UTC, truncated to
// the microsecond.
package sqlite
