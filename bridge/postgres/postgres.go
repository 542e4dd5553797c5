package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/gate"
	"github.com/coc-bridge/coc-bridge/bridge/internal/touch"
)

var _ bridge.Store = (*Store)(nil)

// Options configures New and Open. The zero value is usable.
type Options struct {
	// Logger receives the engine's few logs (migrations, retried
	// transactions). Nil means no logs.
	Logger *zap.Logger
	// Schema is the PostgreSQL schema holding the tables; New creates it if
	// needed. Empty means the first schema of the connections' search_path
	// (usually public).
	Schema string
}

// Store is a bridge.Store in PostgreSQL. It is safe for concurrent use by
// many goroutines and by many processes sharing the database.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool
	log      *zap.Logger
	names    *strings.Replacer
	version  int
	gate     gate.Gate

	repeats touch.Buffer // repeats answered from a read, not yet written
}

// New migrates the schema (under an advisory lock) and returns a Store using
// pool. The caller owns pool: Close does not close it, and the caller must
// not close it before Close returns.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres store: nil pool")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	s := &Store{pool: pool, log: opts.Logger, names: tableNames(opts.Schema)}
	v, err := s.migrate(ctx, opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	s.version = v
	s.repeats.Start(&s.gate, errClosed, s.writeRepeats, s.log)
	s.log.Info("postgres store ready", zap.String("schema", opts.Schema), zap.Int("schema_version", v))
	return s, nil
}

// DefaultConnectTimeout bounds opening one connection (TCP, TLS, startup and
// authentication) when the DSN sets no connect_timeout. pgxpool opens
// connections in the background and does not stop when the call that
// asked for one gives up: without a bound, connections opened while the
// server did not answer would wait for ever, holding the pool's slots, and
// the pool would not recover when the server answered again.
const DefaultConnectTimeout = 5 * time.Second

// Open connects to dsn (a postgres:// URL or key=value string, as pgx
// parses it) with a pool of its own and calls New. Close closes that pool.
// A DSN without connect_timeout gets DefaultConnectTimeout.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can quote the DSN, password included.
		return nil, errors.New("postgres store: cannot parse the connection string")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	s, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// Close waits for running calls to return. It closes the pool only when Open
// created it. Calls after Close fail; calling Close again returns nil.
func (s *Store) Close() error {
	first, err := s.repeats.Close(&s.gate, s.writeRepeats)
	if !first {
		return nil
	}
	if s.ownsPool {
		s.pool.Close()
	}
	return err
}

// Ping checks that the database answers, holds the schema this Store
// migrated to and accepts writes (not a read-only standby).
func (s *Store) Ping(ctx context.Context) error {
	if !s.gate.Enter() {
		return errClosed
	}
	defer s.gate.Leave()
	var version int
	var readOnly string
	err := s.pool.QueryRow(ctx, s.q(`SELECT coalesce(max(version), 0), current_setting('transaction_read_only')
		FROM {migrations}`)).Scan(&version, &readOnly)
	switch {
	case err != nil:
		return fmt.Errorf("ping postgres store: %w", err)
	case version < s.version:
		return fmt.Errorf("ping postgres store: schema version %d, want %d", version, s.version)
	case readOnly != "off":
		return errors.New("ping postgres store: the database is read-only")
	}
	return nil
}

var errClosed = errors.New("postgres store is closed")

// tableNames maps the {ledger}, {outbox} and {migrations} placeholders of
// this package's SQL to the tables, qualified with schema when set.
func tableNames(schema string) *strings.Replacer {
	name := func(table string) string {
		if schema == "" {
			return pgx.Identifier{table}.Sanitize()
		}
		return pgx.Identifier{schema, table}.Sanitize()
	}
	return strings.NewReplacer(
		"{ledger}", name("coc_bridge_ledger"),
		"{outbox}", name("coc_bridge_outbox"),
		"{migrations}", name("coc_bridge_schema_migrations"),
		"{replicas}", name("coc_bridge_replicas"),
	)
}

// q resolves the table placeholders of sql.
func (s *Store) q(sql string) string { return s.names.Replace(sql) }

// maxTxAttempts bounds the retries of a transaction PostgreSQL aborted to
// resolve a conflict.
const maxTxAttempts = 5

// tx runs fn in a transaction: one call, entered through the gate. fn may run
// again when PostgreSQL reports a serialization failure or a deadlock, so it
// must reset whatever it reports.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	if !s.gate.Enter() {
		return errClosed
	}
	defer s.gate.Leave()
	return s.runTx(ctx, fn)
}

// runTx is tx without the gate.
func (s *Store) runTx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || !retryable(err) || attempt == maxTxAttempts || ctx.Err() != nil {
			return err
		}
		s.log.Debug("transaction aborted by a conflict; retrying", zap.Int("attempt", attempt), zap.Error(err))
	}
}

// querier is what single-statement calls need: the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// one runs fn, a call made of one statement (atomic on its own, no explicit
// transaction needed), through the gate.
func (s *Store) one(fn func(db querier) error) error {
	if !s.gate.Enter() {
		return errClosed
	}
	defer s.gate.Leave()
	return fn(s.pool)
}

// update runs query, one statement with the table names of s.q, and
// returns the number of rows it changed.
func (s *Store) update(ctx context.Context, query string, args ...any) (int, error) {
	n := 0
	err := s.one(func(db querier) error {
		tag, err := db.Exec(ctx, s.q(query), args...)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// retryable reports a serialization failure or a detected deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
