package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// writeFunc runs one call's statements in the writer's transaction. Its
// error undoes only its own statements. It must not keep tx, and it may run
// twice (the first run undone when another call of its batch failed, see
// Store.commit), so it sets its results on every run.
type writeFunc func(ctx context.Context, tx *wtx) error

// wtx is the writer's transaction. Its ExecContext, QueryContext and
// QueryRowContext run a statement the writer has prepared before when there
// is one, so the writer parses each statement text once, not on every call.
// A text the writer has not prepared yet (it prepares between transactions)
// is prepared on the transaction itself the second time it runs in it, so a
// big first transaction (a notification of 10,000 alerts just after start)
// does not parse one text 10,000 times either.
// It doubles Accept throughput: BENCHMARKS.md, "SQLite statement cache".
type wtx struct {
	*sql.Tx
	stmts *stmtCache
	local map[string]*localStmt
}

// localStmt is a text's statement prepared on one transaction.
type localStmt struct {
	st   *sql.Stmt // nil until prepared, or when it cannot be
	runs int
}

// stmt returns the prepared statement to run query with, or nil to run it
// unprepared.
func (t *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.stmts.off {
		return nil
	}
	if st := t.stmts.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st)
	}
	if t.local == nil {
		t.local = make(map[string]*localStmt)
	}
	ls := t.local[query]
	if ls == nil {
		ls = &localStmt{}
		t.local[query] = ls
	}
	ls.runs++
	if ls.runs == 2 {
		// Statements prepared on a transaction are closed when it ends.
		if st, err := t.Tx.PrepareContext(ctx, query); err == nil {
			ls.st = st
		}
	}
	return ls.st
}

// ExecContext is sql.Tx's, through the statement cache.
func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext is sql.Tx's, through the statement cache.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.Tx's, through the statement cache.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// maxCachedStmts bounds the statement cache. The writer runs a fixed set of
// statement texts, far fewer than this.
const maxCachedStmts = 64

// stmtCache holds the writer's prepared statements, by text. Only the
// writer goroutine uses it. A statement is prepared on the writer's
// connection between transactions (the connection is busy during one), the
// first time after it ran unprepared; database/sql then reuses it in every
// transaction on that connection, and prepares it again by itself if the
// connection is ever replaced.
type stmtCache struct {
	db     *sql.DB
	stmts  map[string]*sql.Stmt // nil value: cannot be prepared, never tried again
	missed []string             // texts run unprepared since the last fill
	off    bool                 // run every text unprepared (BenchmarkAcceptUncached only)
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: make(map[string]*sql.Stmt)}
}

// get returns the prepared statement for query, or nil (and remembers the
// text, to prepare it after the transaction).
func (c *stmtCache) get(query string) *sql.Stmt {
	st, ok := c.stmts[query]
	if !ok && len(c.stmts)+len(c.missed) < maxCachedStmts && !slices.Contains(c.missed, query) {
		c.missed = append(c.missed, query)
	}
	return st
}

// fill prepares the statements that ran unprepared. It must run between
// transactions. A text that cannot be prepared as one statement is
// remembered as such and keeps running unprepared.
func (c *stmtCache) fill(ctx context.Context) {
	for _, q := range c.missed {
		if _, ok := c.stmts[q]; ok {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			st = nil
		}
		c.stmts[q] = st
	}
	c.missed = c.missed[:0]
}

// close closes every prepared statement.
func (c *stmtCache) close() {
	for q, st := range c.stmts {
		if st != nil {
			_ = st.Close()
		}
		delete(c.stmts, q)
	}
}

// States of a queued write.
const (
	reqQueued int32 = iota
	reqRunning
	reqAbandoned
)

// writeReq is one call waiting for the writer.
type writeReq struct {
	fn    writeFunc
	state atomic.Int32
	done  chan error // buffered: the writer never blocks on it
}

// maxBeginAttempts bounds how often a transaction start is retried after
// another process held the write lock for the whole busy timeout.
const maxBeginAttempts = 6

// write runs fn in a write transaction and returns once that transaction is
// durable (or failed). A call whose ctx ends before its turn is dropped and
// returns ctx's error; once fn has started, write waits for the commit, so
// a nil error always means the change is on disk.
func (s *Store) write(ctx context.Context, fn writeFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return ctx.Err()
		}
		return <-r.done
	}
}

// Group commit under load: when the writer's last commit carried more than
// one call, other callers are sending too, and the writer waits up to
// lingerWait for lingerCalls of them before it starts the next transaction.
// Every commit writes about ten pages whatever its size (the tail pages of
// the tables and indexes that grow in order) and each fsync costs the same,
// so under load fuller commits take more notifications per second than
// prompt small ones; a lone call, after a commit of one, never waits.
// BENCHMARKS.md, "Issue 14: new groups on SQLite, third pass", measured the
// values.
const (
	lingerCalls = 8
	lingerWait  = 300 * time.Microsecond
)

// runWriter is the only goroutine that writes. It takes every write that is
// waiting (up to maxBatch, lingering under load) and runs them in one
// transaction, so concurrent calls share one commit and one fsync.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	defer s.stmts.close()
	batch := make([]*writeReq, 0, s.maxBatch)
	var wait time.Duration // lingerWait after a commit of more than one call
	for first := range s.writes {
		batch = gather(s.writes, append(batch[:0], first), s.maxBatch, lingerCalls, wait)
		wait = 0
		if len(batch) > 1 {
			wait = lingerWait
		}
		s.commit(batch)
		clear(batch)
	}
}

// gather adds to batch the calls waiting in writes, up to max calls, and
// waits up to wait (from its start) for the batch to reach calls. It
// returns early when writes is closed.
func gather(writes <-chan *writeReq, batch []*writeReq, max, calls int, wait time.Duration) []*writeReq {
	var deadline <-chan time.Time
	for len(batch) < max {
		select {
		case r, ok := <-writes:
			if !ok {
				return batch
			}
			batch = append(batch, r)
			continue
		default:
		}
		if wait <= 0 || len(batch) >= calls {
			return batch
		}
		if deadline == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case r, ok := <-writes:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		case <-deadline:
			return batch
		}
	}
	return batch
}

// commit runs batch in one transaction: first all its calls together, and
// when one of them fails, the whole batch again with each call in its own
// savepoint, so the failing call fails alone (writeFunc). Savepoints cost
// every call two statements and a copy of each page it changes, and calls
// rarely fail.
func (s *Store) commit(batch []*writeReq) {
	ctx := context.Background()
	tx, err := s.begin(ctx, batch)
	if err != nil {
		s.fail(batch, err)
		return
	}
	// Calls whose callers gave up while the transaction started are dropped.
	live := batch[:0:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqQueued, reqRunning) {
			live = append(live, r)
		} else {
			r.done <- context.Canceled // abandoned: nobody reads it
		}
	}
	if len(live) > 1 {
		if s.run(tx, live, false) {
			return
		}
		if tx, err = s.begin(ctx, live); err != nil {
			s.fail(live, err)
			return
		}
	}
	s.run(tx, live, len(live) > 1)
}

// fail tells every caller of calls that their write failed with err.
func (s *Store) fail(calls []*writeReq, err error) {
	s.files.failed(err)
	for _, r := range calls {
		r.done <- err
	}
}

// run runs calls in the transaction sqlTx, each in a savepoint if asked,
// commits, and tells each caller the outcome. Without savepoints, a call
// that fails while there are others undoes the transaction and run returns
// false without telling anyone.
func (s *Store) run(sqlTx *sql.Tx, calls []*writeReq, savepoints bool) bool {
	ctx := context.Background()
	// The connection is free again once the transaction ends: prepare what
	// ran unprepared then.
	defer s.stmts.fill(ctx)
	tx := &wtx{Tx: sqlTx, stmts: s.stmts}
	ran := make([]*writeReq, 0, len(calls))
	for i, r := range calls {
		err := runOne(ctx, tx, r.fn, savepoints)
		if err == nil {
			ran = append(ran, r)
			continue
		}
		if !savepoints && len(calls) > 1 {
			_ = tx.Rollback()
			return false
		}
		s.files.failed(err)
		if !savepoints || errors.Is(err, errTxBroken) {
			// The transaction cannot be trusted any more: undo all of it.
			_ = tx.Rollback()
			r.done <- err
			for _, o := range ran {
				o.done <- fmt.Errorf("batched write undone: %w", err)
			}
			for _, o := range calls[i+1:] {
				o.done <- fmt.Errorf("batched write not run: %w", err)
			}
			return true
		}
		r.done <- err
	}
	err := tx.Commit()
	// Before any caller hears of it: from now on the repeat cache must
	// read again (a failed commit too, whatever it left).
	s.commits.Add(1)
	switch {
	case err != nil:
		s.files.failed(err)
		err = fmt.Errorf("commit: %w", err)
	case len(ran) > 0:
		s.files.wrote()
	}
	for _, r := range ran {
		r.done <- err
	}
	return true
}

var errTxBroken = errors.New("write transaction broken")

// runOne runs fn, in a savepoint if asked.
func runOne(ctx context.Context, tx *wtx, fn writeFunc, savepoint bool) error {
	if !savepoint {
		return guarded(ctx, tx, fn)
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT call`); err != nil {
		return fmt.Errorf("%w: savepoint: %w", errTxBroken, err)
	}
	if err := guarded(ctx, tx, fn); err != nil {
		// Some errors (disk full, I/O) make SQLite roll the whole transaction
		// back; then the savepoint is gone and the rollback below fails.
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO call; RELEASE call`); rerr != nil {
			return fmt.Errorf("%w: %w (rollback to savepoint: %w)", errTxBroken, err, rerr)
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE call`); err != nil {
		return fmt.Errorf("%w: release savepoint: %w", errTxBroken, err)
	}
	return nil
}

// guarded runs fn and turns a panic into an error that undoes the whole
// transaction: the writer goroutine must survive whatever one call does.
func guarded(ctx context.Context, tx *wtx, fn writeFunc) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: panic in write: %v", errTxBroken, p)
		}
	}()
	return fn(ctx, tx)
}

// begin starts a write transaction (BEGIN IMMEDIATE), retrying while another
// process holds the write lock longer than the busy timeout.
func (s *Store) begin(ctx context.Context, batch []*writeReq) (*sql.Tx, error) {
	for attempt := 1; ; attempt++ {
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err == nil {
			return tx, nil
		}
		if !isBusy(err) || attempt == maxBeginAttempts || allAbandoned(batch) {
			return nil, fmt.Errorf("begin write transaction: %w", err)
		}
		s.log.Warn("database file locked by another process; waiting",
			zap.String("path", s.path), zap.Int("attempt", attempt), zap.Error(err))
	}
}

func allAbandoned(batch []*writeReq) bool {
	for _, r := range batch {
		if r.state.Load() != reqAbandoned {
			return false
		}
	}
	return true
}

// isBusy reports whether err is SQLite's "locked by another connection".
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}
