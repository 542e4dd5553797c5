package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/migrations"
	"github.com/coc-bridge/coc-bridge/bridge/postgres/pgtest"
	"github.com/coc-bridge/coc-bridge/bridge/storetest"
)

// schemaPrefix starts the name of every schema these tests create.
const schemaPrefix = "coc_bridge_test_"

// newPool returns a pool whose connections use schema (empty: the server's
// default search_path), closed at cleanup. edit, if not nil, changes its
// configuration first.
func newPool(t testing.TB, dsn, schema string, edit func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	cfg.MaxConns = 8
	if edit != nil {
		edit(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newStore(t testing.TB, pool *pgxpool.Pool, opts Options) *Store {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	s, err := New(context.Background(), pool, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testLogger(t testing.TB) *zap.Logger {
	if _, bench := t.(*testing.B); bench {
		return zap.NewNop()
	}
	return zaptest.NewLogger(t)
}

func schemaOf(s bridge.Store) string {
	return s.(*Store).pool.Config().ConnConfig.RuntimeParams["search_path"]
}

func harness(dsn string) storetest.Harness {
	return storetest.Harness{
		Open: func(t *testing.T) bridge.Store {
			return newStore(t, newPool(t, dsn, pgtest.Schema(t, dsn, schemaPrefix), nil), Options{})
		},
		Reopen: func(t *testing.T, old bridge.Store) bridge.Store {
			if err := old.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return newStore(t, newPool(t, dsn, schemaOf(old), nil), Options{})
		},
		Share: func(t *testing.T, old bridge.Store) bridge.Store {
			return newStore(t, newPool(t, dsn, schemaOf(old), nil), Options{})
		},
	}
}

func TestStore(t *testing.T) {
	storetest.Run(t, harness(pgtest.DSN(t)))
}

func BenchmarkAccept(b *testing.B) {
	dsn := pgtest.DSN(b)
	storetest.BenchmarkAccept(b, func(b *testing.B) bridge.Store {
		return newStore(b, newPool(b, dsn, pgtest.Schema(b, dsn, schemaPrefix), func(c *pgxpool.Config) { c.MaxConns = 32 }), Options{})
	})
}

func accept(t *testing.T, s bridge.Store, key string) bridge.AcceptResult {
	t.Helper()
	res, err := s.Accept(t.Context(), bridge.Notification{
		Key: key, Receiver: "r", Firing: true, Message: []byte(`{}`), ReceivedAt: time.Unix(1_700_000_000, 0),
	})
	if err != nil {
		t.Fatalf("Accept(%s): %v", key, err)
	}
	return res[0]
}

func TestSchemaOption(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn, schemaPrefix) + "_own"
	t.Cleanup(func() { pgtest.Exec(t, dsn, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	pool := newPool(t, dsn, "", nil) // the server's search_path: the tables must not land there
	s := newStore(t, pool, Options{Schema: schema})
	accept(t, s, "k1")
	var n int
	err := pool.QueryRow(t.Context(), `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = $1 AND table_name LIKE 'coc_bridge_%'`, schema).Scan(&n)
	// ledger, outbox, schema_migrations, replicas
	if err != nil || n != 4 {
		t.Fatalf("%d coc_bridge tables in %s (%v), want 4", n, schema, err)
	}
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+schema+`.coc_bridge_ledger`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d ledger rows in %s (%v), want 1", n, schema, err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestCloseLeavesCallersPool(t *testing.T) {
	dsn := pgtest.DSN(t)
	pool := newPool(t, dsn, pgtest.Schema(t, dsn, schemaPrefix), nil)
	s := newStore(t, pool, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(t.Context()); err != nil {
		t.Fatalf("the caller's pool is unusable after Close: %v", err)
	}
}

func TestOpenOwnsItsPool(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn, schemaPrefix)
	s, err := Open(t.Context(), dsn, Options{Schema: schema, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	accept(t, s, "k1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.Ping(t.Context()); err == nil {
		t.Fatal("the pool Open made is still open after Close")
	}
}

func TestOpenHidesPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://bridge:s3cr3t-pw@127.0.0.1:notaport/db",
		"host=127.0.0.1 password=s3cr3t-pw port=notaport",
	} {
		_, err := Open(t.Context(), dsn, Options{})
		if err == nil || strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("Open(%q): error %v; want an error without the password", dsn, err)
		}
	}
}

// TestReplicasMigrateOnce starts several stores on one fresh schema at once,
// as replicas rolling out together do.
func TestReplicasMigrateOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn, schemaPrefix)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		pool := newPool(t, dsn, schema, func(c *pgxpool.Config) { c.MaxConns = 2 })
		wg.Go(func() {
			s, err := New(t.Context(), pool, Options{})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("New: %v", err)
		}
	}
	ms, err := migrations.Read(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	pool := newPool(t, dsn, schema, nil)
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM coc_bridge_schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("%d migrations recorded (%v), want %d", n, err, len(ms))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn, schemaPrefix)
	pool := newPool(t, dsn, schema, nil)
	newStore(t, pool, Options{})
	pgtest.Exec(t, dsn, `INSERT INTO `+schema+`.coc_bridge_schema_migrations (version, name) VALUES (9999, '9999_future.sql')`)
	if _, err := New(t.Context(), pool, Options{}); err == nil {
		t.Fatal("New on a schema from a newer version succeeded")
	}
}

// TestConnectionLoss cuts the database off (through a TCP proxy): calls and
// Ping fail, then succeed again once it is back, with the same Store.
func TestConnectionLoss(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn, schemaPrefix)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	target := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	p := startProxy(t, "127.0.0.1:0", target)
	addr := p.addr()
	host, port, _ := net.SplitHostPort(addr)
	portNum, _ := strconv.Atoi(port)
	pool := newPool(t, dsn, schema, func(c *pgxpool.Config) {
		c.ConnConfig.Host, c.ConnConfig.Port = host, uint16(portNum)
		c.ConnConfig.Fallbacks = nil
		c.ConnConfig.ConnectTimeout = 2 * time.Second
	})
	s := newStore(t, pool, Options{})
	accept(t, s, "before")

	p.stop()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with the database cut off")
	}
	if _, err := s.Accept(ctx, bridge.Notification{Key: "during", Firing: true}); err == nil {
		t.Fatal("Accept succeeded with the database cut off")
	}

	p = startProxy(t, addr, target)
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err = s.Ping(t.Context()); err == nil {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("Ping still fails after the database came back: %v", err)
		case <-tick.C:
		}
	}
	accept(t, s, "after")
	es, err := s.Ledger(t.Context(), bridge.LedgerFilter{})
	if err != nil || len(es) != 2 {
		t.Fatalf("ledger after recovery: %d entries (%v), want before and after", len(es), err)
	}
	p.stop()
}

// proxy forwards TCP connections to a target until stopped.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, listen, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatalf("listen %s: %v", listen, err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

// track records conns; false (and closes them) once the proxy is stopped.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// stop closes the listener and every connection, and waits for the copies.
func (p *proxy) stop() {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	if !errors.Is(err, net.ErrClosed) {
		p.wg.Wait()
	}
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
