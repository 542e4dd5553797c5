package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// writeFunc runs one call's statements in the writer's transaction. Its
// error undoes only its own statements (they run in a savepoint). It must
// not keep tx.
type writeFunc func(ctx context.Context, tx *sql.Tx) error

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

// runWriter is the only goroutine that writes. It takes every write that is
// waiting (up to maxBatch) and runs them in one transaction, so concurrent
// calls share one commit and one fsync.
func (s *Store) runWriter() {
	defer close(s.writerDone)
	batch := make([]*writeReq, 0, s.maxBatch)
	for first := range s.writes {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r, ok := <-s.writes:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
		clear(batch)
	}
}

// commit runs batch in one transaction. Each call runs in its own savepoint
// when there are several, so a failing call leaves the others intact.
func (s *Store) commit(batch []*writeReq) {
	ctx := context.Background()
	tx, err := s.begin(ctx, batch)
	if err != nil {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	savepoints := len(batch) > 1
	ran := make([]*writeReq, 0, len(batch))
	for i, r := range batch {
		if !r.state.CompareAndSwap(reqQueued, reqRunning) {
			r.done <- context.Canceled // abandoned: nobody reads it
			continue
		}
		err := runOne(ctx, tx, r.fn, savepoints)
		if err == nil {
			ran = append(ran, r)
			continue
		}
		if !savepoints || errors.Is(err, errTxBroken) {
			// The transaction cannot be trusted any more: undo all of it.
			_ = tx.Rollback()
			r.done <- err
			for _, o := range ran {
				o.done <- fmt.Errorf("batched write undone: %w", err)
			}
			for _, o := range batch[i+1:] {
				o.done <- fmt.Errorf("batched write not run: %w", err)
			}
			return
		}
		r.done <- err
	}
	err = tx.Commit()
	if err != nil {
		err = fmt.Errorf("commit: %w", err)
	}
	for _, r := range ran {
		r.done <- err
	}
}

var errTxBroken = errors.New("write transaction broken")

// runOne runs fn, in a savepoint if asked.
func runOne(ctx context.Context, tx *sql.Tx, fn writeFunc, savepoint bool) error {
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
func guarded(ctx context.Context, tx *sql.Tx, fn writeFunc) (err error) {
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
