package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/gate"
	"github.com/coc-bridge/coc-bridge/bridge/internal/touch"
)

var _ bridge.Store = (*Store)(nil)

// Defaults for Options.
const (
	// DefaultBusyTimeout is how long a statement waits for a lock held by
	// another process before it retries.
	DefaultBusyTimeout = 5 * time.Second

	defaultMaxBatch = 128
	readConns       = 4
)

// Options configures Open. The zero value is usable.
type Options struct {
	// Logger receives the engine's few logs (migrations, lock waits). Nil
	// means no logs.
	Logger *zap.Logger
	// BusyTimeout is how long a statement waits for a lock held by another
	// process (for example an operator command on the same file); default
	// DefaultBusyTimeout.
	BusyTimeout time.Duration
}

// Store is a bridge.Store in one SQLite file. It is safe for concurrent use
// by many goroutines; see the package documentation for how writes are
// serialised.
type Store struct {
	log  *zap.Logger
	path string

	wdb   *sql.DB    // the single writer connection
	rdb   *sql.DB    // read-only connections
	stmts *stmtCache // the writer's prepared statements
	files *files     // lets go of the files while their file system fails

	repeatRead *sql.Stmt     // entryAndItemQuery on the readers
	keys       *keyFilter    // the keys the ledger may hold: others skip repeatRead
	repeats    touch.Buffer  // repeats answered from a read, not yet written
	cache      repeatCache   // what the repeat path last read, by key
	commits    atomic.Uint64 // the writer's commits so far (repeatCache)

	writes     chan *writeReq
	writerDone chan struct{}
	maxBatch   int

	gate gate.Gate
}

// Open opens (creating it with 0600 permissions if needed) the database file
// at path, applies pending migrations in one transaction and starts the
// writer. The directory must exist. The caller must Close the Store.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite store: %q is not a file path", path)
	}
	path = filepath.Clean(path)
	if err := createFile(path); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}

	s := &Store{
		log:        opts.Logger,
		path:       path,
		writes:     make(chan *writeReq, defaultMaxBatch),
		writerDone: make(chan struct{}),
		maxBatch:   defaultMaxBatch,
	}
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	var err error
	s.wdb, err = sql.Open("sqlite", dsn(path, params{
		"_txlock":       "immediate",
		"_busy_timeout": busy,
		"_journal_mode": "WAL",
		"_synchronous":  "FULL",
		"_foreign_keys": "on",
		// Savepoint journals in memory: a batch's calls each run in a
		// savepoint (writer.go), and SQLite would otherwise spill their
		// journals to temporary files on every commit.
		"_pragma": "temp_store(memory)",
		"mode":    "rw", // never create a file: Open did (see files)
	}))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	// One connection, kept for the life of the Store: every write is
	// serialised on it, so this process never contends with itself.
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)

	// fail closes what Open has opened so far.
	fail := func(err error) (*Store, error) {
		if s.repeatRead != nil {
			s.repeatRead.Close()
		}
		if s.rdb != nil {
			s.rdb.Close()
		}
		s.wdb.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	version, err := migrate(ctx, s.wdb, s.log)
	if err != nil {
		return fail(err)
	}

	// Opened after the writer has switched the file to WAL, so readers
	// never see another journal mode.
	s.rdb, err = sql.Open("sqlite", dsn(path, params{
		"_busy_timeout": busy,
		"_query_only":   "on",
		"mode":          "rw",
	}))
	if err != nil {
		return fail(err)
	}
	s.rdb.SetMaxOpenConns(readConns)
	s.rdb.SetMaxIdleConns(readConns)
	if err := s.rdb.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("readers: %w", err))
	}
	if s.repeatRead, err = s.rdb.PrepareContext(ctx, entryAndItemQuery); err != nil {
		return fail(fmt.Errorf("readers: %w", err))
	}
	s.keys = newKeyFilter()
	if err := s.keys.load(ctx, s.rdb); err != nil {
		return fail(err)
	}

	s.stmts = newStmtCache(s.wdb)
	s.files = &files{log: s.log, path: path, wdb: s.wdb, rdb: s.rdb, readConns: readConns}
	go s.runWriter()
	s.repeats.Start(&s.gate, errClosed, s.writeRepeats, s.log)
	s.log.Info("sqlite store opened", zap.String("path", path), zap.Int("schema_version", version))
	return s, nil
}

// Close waits for running calls to return, stops the writer and closes the
// file. Calls after Close fail. Calling Close again returns nil.
func (s *Store) Close() error {
	first, err := s.repeats.Close(&s.gate, s.writeRepeats)
	if !first {
		return nil
	}
	close(s.writes)
	<-s.writerDone
	return errors.Join(err, s.repeatRead.Close(), s.rdb.Close(), s.wdb.Close())
}

// Ping writes to the file through the writer and reads through the readers:
// it fails when the store is closed, the file is not writable or the disk is
// full.
func (s *Store) Ping(ctx context.Context) error {
	if !s.gate.Enter() {
		return errClosed
	}
	defer s.gate.Leave()
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `UPDATE store_health SET pings = pings + 1 WHERE id = 1`)
		return err
	})
	if err != nil {
		return fmt.Errorf("ping sqlite store: write: %w", err)
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM store_health WHERE id = 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite store: read: %w", err)
	}
	return nil
}

var errClosed = errors.New("sqlite store is closed")

// params are a DSN's query parameters; empty values are left out.
type params map[string]string

// dsn builds a SQLite URI for path. The characters SQLite's URI parser
// treats specially are escaped, so any file name works.
func dsn(path string, query params) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	var q []string
	for k, v := range query {
		if v != "" {
			q = append(q, k+"="+v)
		}
	}
	sort.Strings(q)
	return "file:" + esc + "?" + strings.Join(q, "&")
}

// createFile creates path with 0600 permissions unless it exists, so the
// database (and the -wal and -shm files SQLite derives from it) are never
// readable by other users.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}
