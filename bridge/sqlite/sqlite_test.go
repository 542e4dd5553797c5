package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/migrations"
	"github.com/coc-bridge/coc-bridge/bridge/storetest"
)

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
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

func harness() storetest.Harness {
	return storetest.Harness{
		Open: func(t *testing.T) bridge.Store {
			return openAt(t, filepath.Join(t.TempDir(), "coc-bridge.db"))
		},
		Reopen: func(t *testing.T, old bridge.Store) bridge.Store {
			s := old.(*Store)
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openAt(t, s.path)
		},
		Share: func(t *testing.T, old bridge.Store) bridge.Store {
			return openAt(t, old.(*Store).path)
		},
		SoleOwner: true,
	}
}

func TestStore(t *testing.T) {
	storetest.Run(t, harness())
}

func BenchmarkAccept(b *testing.B) {
	storetest.BenchmarkAccept(b, func(b *testing.B) bridge.Store {
		return openAt(b, filepath.Join(b.TempDir(), "coc-bridge.db"))
	})
}

// BenchmarkAcceptUnbatched is BenchmarkAccept with group commit off (one
// transaction and one fsync per call), to show what batching buys.
func BenchmarkAcceptUnbatched(b *testing.B) {
	storetest.BenchmarkAccept(b, func(b *testing.B) bridge.Store {
		s := openAt(b, filepath.Join(b.TempDir(), "coc-bridge.db"))
		s.maxBatch = 1
		return s
	})
}

// BenchmarkAcceptUncached is BenchmarkAccept with the writer's statement
// cache off (every statement parsed on every run), to show what it buys.
func BenchmarkAcceptUncached(b *testing.B) {
	storetest.BenchmarkAccept(b, func(b *testing.B) bridge.Store {
		s := openAt(b, filepath.Join(b.TempDir(), "coc-bridge.db"))
		s.stmts.off = true
		return s
	})
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	s := openAt(t, path)
	if _, err := s.Accept(t.Context(), bridge.Notification{Key: "k", Firing: true, ReceivedAt: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has permissions %v, want 0600", filepath.Base(p), perm)
		}
	}
}

func TestOpenRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := openAt(t, "coc-bridge.db")
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "coc-bridge.db")); err != nil {
		t.Fatalf("database not in the working directory: %v", err)
	}
}

func TestOpenRejectsNonFiles(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := Open(t.Context(), p, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "missing", "x.db"), Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestOpenOddFileName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%d.db")
	s := openAt(t, path)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

func TestConnectionSettings(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := t.Context()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "5000",
		"temp_store":   "2", // MEMORY
	} {
		var got string
		if err := s.wdb.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("writer PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	var qo string
	if err := s.rdb.QueryRowContext(ctx, "PRAGMA query_only").Scan(&qo); err != nil || qo != "1" {
		t.Errorf("reader query_only = %s (%v), want 1", qo, err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	for range 3 {
		s, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := migrations.Read(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var n, maxV int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || maxV != ms[len(ms)-1].Version {
		t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d", n, maxV, len(ms), ms[len(ms)-1].Version)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(t.Context(), path, Options{}); err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer version succeeded")
	}
}

// TestWaitsForOtherProcess holds the write lock from another connection (as
// an operator command would) while Accepts run: they wait, none fails.
func TestWaitsForOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s := openAt(t, path)
	other, err := sql.Open("sqlite", dsn(path, params{"_txlock": "immediate", "_busy_timeout": "5000"}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE store_health SET pings = pings + 1`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := s.Accept(t.Context(), bridge.Notification{
				Key: fmt.Sprintf("k%d", i), Firing: true, ReceivedAt: time.Unix(int64(i), 0),
			})
			errs <- err
		})
	}
	// The accepts are blocked on the lock; the reads are not.
	if _, err := s.Ledger(t.Context(), bridge.LedgerFilter{}); err != nil {
		t.Fatalf("Ledger while another process writes: %v", err)
	}
	select {
	case err := <-errs:
		t.Fatalf("an Accept returned while another process held the write lock: %v", err)
	default:
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
	}
	if es, _ := s.Ledger(t.Context(), bridge.LedgerFilter{}); len(es) != 8 {
		t.Errorf("%d entries, want 8", len(es))
	}
}

// TestAbandonedWriteIsNotApplied: a call whose context ends while it waits
// for the writer returns the context's error and never runs.
func TestAbandonedWriteIsNotApplied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s := openAt(t, path)
	other, err := sql.Open("sqlite", dsn(path, params{"_txlock": "immediate"}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	// The first call holds the writer (waiting for the lock); the second
	// waits in the queue and gives up.
	first := make(chan error, 1)
	go func() {
		_, err := s.Accept(t.Context(), bridge.Notification{Key: "first", Firing: true})
		first <- err
	}()
	_, err = s.Accept(ctx, bridge.Notification{Key: "second", Firing: true})
	if err == nil {
		t.Fatal("Accept with an expired context succeeded while the writer was blocked")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("first Accept: %v", err)
	}
	if es, _ := s.Ledger(t.Context(), bridge.LedgerFilter{Key: "second"}); len(es) != 0 {
		t.Errorf("abandoned Accept was applied: %+v", es)
	}
}

// TestBatchedFailureIsolated: in one group commit, a failing call is undone
// alone; the others commit.
func TestBatchedFailureIsolated(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	insert := func(key string) writeFunc {
		return func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO ledger (key, receiver, state, last_status, notifications,
				created_at, updated_at) VALUES (?, '', 'pending', 'firing', 1, 0, 0)`, key)
			return err
		}
	}
	fail := func(ctx context.Context, tx *wtx) error {
		if err := insert("doomed")(ctx, tx); err != nil {
			return err
		}
		return fmt.Errorf("boom")
	}
	reqs := []*writeReq{
		{fn: insert("a"), done: make(chan error, 1)},
		{fn: fail, done: make(chan error, 1)},
		{fn: insert("a"), done: make(chan error, 1)}, // duplicate key: constraint error
		{fn: insert("b"), done: make(chan error, 1)},
	}
	if !s.gate.Enter() {
		t.Fatal("closed")
	}
	s.commit(reqs) // called directly: the writer goroutine is idle
	s.gate.Leave()
	for i, want := range []bool{true, false, false, true} {
		if err := <-reqs[i].done; (err == nil) != want {
			t.Errorf("call %d: error %v, want success %v", i, err, want)
		}
	}
	got := ""
	for _, e := range mustLedger(t, s) {
		got += e.Key + " "
	}
	if got != "a b " && got != "b a " {
		t.Errorf("ledger keys %q, want a and b", got)
	}
}

// TestBatchRunsCallsOnceUnlessOneFails: a batch whose calls all succeed
// runs each once, in one transaction; when one fails, the batch runs again
// (writeFunc): the calls before it twice, the rest once, each committed once.
func TestBatchRunsCallsOnceUnlessOneFails(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	runs := map[string]int{}
	count := func(key string, fail bool) writeFunc {
		return func(ctx context.Context, tx *wtx) error {
			runs[key]++
			if fail {
				return fmt.Errorf("boom")
			}
			_, err := tx.ExecContext(ctx, `UPDATE store_health SET pings = pings + 1 WHERE id = 1`)
			return err
		}
	}
	batch := func(fns ...writeFunc) {
		reqs := make([]*writeReq, len(fns))
		for i, fn := range fns {
			reqs[i] = &writeReq{fn: fn, done: make(chan error, 1)}
		}
		if !s.gate.Enter() {
			t.Fatal("closed")
		}
		s.commit(reqs)
		s.gate.Leave()
	}
	pings := func() (n int) {
		if err := s.rdb.QueryRowContext(t.Context(), `SELECT pings FROM store_health`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	batch(count("a", false), count("b", false), count("c", false))
	if runs["a"] != 1 || runs["b"] != 1 || runs["c"] != 1 || pings() != 3 {
		t.Fatalf("after a batch that succeeds: runs %v, pings %d; want each once, 3 pings", runs, pings())
	}
	batch(count("d", false), count("e", true), count("f", false))
	if runs["d"] != 2 || runs["e"] != 2 || runs["f"] != 1 || pings() != 5 {
		t.Fatalf("after a batch with a failing call: runs %v, pings %d; want d and e twice, f once, 5 pings", runs, pings())
	}
}

// TestWriterSurvivesPanic: a panicking call fails (with its batch) and the
// writer goes on.
func TestWriterSurvivesPanic(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	err := s.do(t.Context(), func(context.Context, *wtx) error { panic("bug") })
	if err == nil {
		t.Fatal("a panicking write succeeded")
	}
	if _, err := s.Accept(t.Context(), bridge.Notification{Key: "k", Firing: true}); err != nil {
		t.Fatalf("Accept after a panicking write: %v", err)
	}
}

// queryPlan returns the lines of EXPLAIN QUERY PLAN for query.
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.wdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestQueryPlans: the statements whose cost would otherwise grow with the
// backlog read an index only (no scan, no sort). A claim that scanned every
// pending item capped delivery at about 40 items/s with a 10,000-item
// backlog.
func TestQueryPlans(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	for _, tc := range []struct {
		name, query string
		args        []any
		want        string
	}{
		{"claim", claimQuery, []any{"owner", 2, 1, 1, 1}, "SEARCH outbox USING COVERING INDEX outbox_due (next_attempt<?)"},
		{"expedite", expediteQuery, []any{3, 2, 2, 3, 2, -1}, "SEARCH outbox USING INDEX outbox_due (next_attempt>?)"},
		{"accept's read of entry and item", entryAndItemQuery, []any{1, "k"}, "SEARCH o USING INDEX outbox_key_live (key=?) LEFT-JOIN"},
		{"release's delete of an action", releaseActionQuery, []any{"k", 1}, "SEARCH outbox USING INDEX outbox_key_live (key=?)"},
	} {
		plan := queryPlan(t, s, tc.query, tc.args...)
		text := strings.Join(plan, "\n")
		if !slices.Contains(plan, tc.want) {
			t.Errorf("%s: plan lacks %q:\n%s", tc.name, tc.want, text)
		}
		for _, line := range plan {
			if strings.Contains(line, "TEMP B-TREE") || strings.HasPrefix(line, "SCAN ") {
				t.Errorf("%s: plan sorts or scans (%q):\n%s", tc.name, line, text)
			}
		}
	}
}

// TestClaimSkipsLeasedAndFutureItems checks the claim's index-only filter on
// a backlog where most items are leased or due later.
func TestClaimSkipsLeasedAndFutureItems(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 50 {
		if _, err := s.Accept(ctx, bridge.Notification{Key: fmt.Sprintf("k%02d", i), Firing: true,
			Message: []byte(strings.Repeat("x", 8<<10)), ReceivedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	// Lease the first 10; items 40 and later are not due yet.
	held, err := s.Claim(ctx, bridge.ClaimRequest{Owner: "a", Limit: 10, Lease: time.Hour, Now: t0.Add(39 * time.Second)})
	if err != nil || len(held) != 10 || held[0].Key != "k00" || held[9].Key != "k09" {
		t.Fatalf("first claim: %d items, %v", len(held), err)
	}
	got, err := s.Claim(ctx, bridge.ClaimRequest{Owner: "b", Limit: 100, Lease: time.Hour, Now: t0.Add(39 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 || got[0].Key != "k10" || got[29].Key != "k39" {
		t.Fatalf("second claim: %d items (%v), want k10..k39", len(got), err)
	}
	for _, d := range got {
		if len(d.Message) != 8<<10 {
			t.Fatalf("item %s: message of %d bytes, want %d", d.Key, len(d.Message), 8<<10)
		}
	}
}

// TestMessageDeletedWithItem: a delivered item leaves no message behind.
func TestMessageDeletedWithItem(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "x.db"))
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	for _, k := range []string{"a", "b"} {
		if _, err := s.Accept(ctx, bridge.Notification{Key: k, Firing: true, Message: []byte(`{}`), ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.Claim(ctx, bridge.ClaimRequest{Owner: "a", Limit: 1, Lease: time.Minute, Now: t0})
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %d items, %v", len(ds), err)
	}
	if err := s.Complete(ctx, bridge.Completion{ID: ds[0].ID, Owner: "a", TicketID: "ISU1", Now: t0}); err != nil {
		t.Fatal(err)
	}
	var n int
	var id int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*), max(id) FROM outbox_message`).Scan(&n, &id); err != nil {
		t.Fatal(err)
	}
	if n != 1 || id == ds[0].ID {
		t.Errorf("outbox_message holds %d rows (last id %d) after item %d was delivered, want only the other item's", n, id, ds[0].ID)
	}
}

func mustLedger(t *testing.T, s *Store) []bridge.LedgerEntry {
	t.Helper()
	es, err := s.Ledger(t.Context(), bridge.LedgerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
