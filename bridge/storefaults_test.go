package bridge_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/tcpproxy"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// timedAnswer is one HTTP answer and how long it took.
type timedAnswer struct {
	what    string
	code    int
	body    string
	latency time.Duration
}

// timedDo sends a request to the bridge and times its answer. A request
// that gets no answer at all (a closed connection, or none in 60 s) counts
// as code 0.
func (e *env) timedDo(method, path string, body []byte) timedAnswer {
	req, err := http.NewRequest(method, e.webhook.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{Timeout: time.Minute}
	start := time.Now()
	resp, err := c.Do(req)
	a := timedAnswer{what: method + " " + path}
	if err != nil {
		a.body = err.Error()
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		a.code, a.body = resp.StatusCode, string(b)
	}
	a.latency = time.Since(start)
	return a
}

// proxiedPostgres opens a PostgreSQL store through a TCP proxy in front of
// the test server, as cmd does (postgres.Open with a DSN and no pool
// settings).
func proxiedPostgres(t *testing.T) (*tcpproxy.Proxy, func(t *testing.T) bridge.Store) {
	t.Helper()
	u, err := url.Parse(postgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	p := tcpproxy.Start(t, u.Host)
	u.Host = p.Addr()
	dsn := u.String()
	return p, func(t *testing.T) bridge.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			t.Fatalf("open postgres store: %v", err)
		}
		return s
	}
}

// TestPostgresBlackholeAnswers503InTimeAndRecovers makes PostgreSQL stop
// answering for 45 s with every connection left open (a partition, a
// stopped server). Every webhook is answered 503 within the store timeout,
// /-/ready answers 503 within a second naming the store, the views answer
// 503; then, in the same process, the store comes back by itself, every
// group Alertmanager sends again is accepted, and each acknowledged group
// has exactly one ticket.
func TestPostgresBlackholeAnswers503InTimeAndRecovers(t *testing.T) {
	t.Parallel()
	proxy, open := proxiedPostgres(t)
	const (
		storeTimeout = 2 * time.Second
		blackhole    = 45 * time.Second
		margin       = 2 * time.Second // generous: a bound on behaviour, not a measurement
	)
	e := newEnv(t, envOptions{openStore: open, mutate: func(o *bridge.Options) { o.StoreTimeout = storeTimeout }})
	const before = 5
	for g := range before {
		e.mustAccept(firing(fmt.Sprintf("Before%02d", g)))
	}
	e.waitSettled(before)

	proxy.Blackhole()
	start := time.Now()
	var (
		mu       sync.Mutex
		answers  []timedAnswer
		rejected []string // groups answered 503: Alertmanager sends them again
		wg       sync.WaitGroup
	)
	record := func(a timedAnswer) {
		mu.Lock()
		defer mu.Unlock()
		answers = append(answers, a)
	}
	// Four senders of new groups, as Alertmanager's notification pipelines,
	// and a prober of /-/ready and the views, for the whole blackhole.
	for s := range 4 {
		wg.Go(func() {
			for i := 0; time.Since(start) < blackhole; i++ {
				group := fmt.Sprintf("During%d-%03d", s, i)
				a := e.timedDo(http.MethodPost, "/api/v1/alerts", firing(group))
				a.what = "webhook " + group
				record(a)
				mu.Lock()
				if a.code != http.StatusOK {
					rejected = append(rejected, group)
				}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for time.Since(start) < blackhole {
			for _, path := range []string{"/-/ready", "/api/v1/tickets", "/api/v1/outbox"} {
				record(e.timedDo(http.MethodGet, path, nil))
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
	wg.Wait()
	if held := proxy.Held(); held == 0 {
		t.Fatal("the proxy held no connection: the test proves nothing")
	}
	readyGauge := metricValue(t, e.reg, "coc_bridge_ready")
	proxy.Restore()

	webhooks := 0
	for _, a := range answers {
		bound := storeTimeout + margin
		if a.what == "GET /-/ready" {
			bound = time.Second + margin
		}
		if a.code != http.StatusServiceUnavailable || a.latency > bound {
			t.Errorf("%s during the blackhole: %d after %v, want 503 within %v: %s", a.what, a.code, a.latency, bound, a.body)
		}
		if a.what == "GET /-/ready" && !bytes.Contains([]byte(a.body), []byte(`"store": "store: no answer within 1s`)) {
			t.Errorf("/-/ready does not name the store: %s", a.body)
		}
		if a.code == 0 {
			continue
		}
		if strings.HasPrefix(a.what, "webhook ") {
			webhooks++
		}
	}
	if webhooks < 20 {
		t.Errorf("%d webhooks answered during the blackhole, want many", webhooks)
	}
	if readyGauge != 0 {
		t.Errorf("coc_bridge_ready = %v during the blackhole, want 0", readyGauge)
	}
	if n := counterValue(t, e.reg, "coc_bridge_store_errors_total", "operation", "accept"); n < float64(webhooks) {
		t.Errorf("coc_bridge_store_errors_total{operation=accept} = %v, want at least %d", n, webhooks)
	}

	// The same process recovers: /-/ready, then every group sent again.
	waitFor(t, 30*time.Second, "/-/ready to answer 200 after the blackhole", func() bool {
		return e.timedDo(http.MethodGet, "/-/ready", nil).code == http.StatusOK
	})
	for _, group := range rejected {
		if a := e.timedDo(http.MethodPost, "/api/v1/alerts", firing(group)); a.code != http.StatusOK {
			t.Fatalf("webhook %s after the blackhole: %d %s", group, a.code, a.body)
		}
	}
	e.mustAccept(firing("After"))
	groups := before + len(rejected) + 1
	waitFor(t, 60*time.Second, fmt.Sprintf("%d open tickets and an empty outbox", groups), func() bool {
		return len(e.ledger(bridge.StateOpen)) == groups && len(e.outbox()) == 0
	})
	e.assertOneTicketPerKey(groups)
}

// TestNULInPermanentCOCErrorIsDeadLettered has COC refuse a create for good
// with a NUL in its error message. PostgreSQL refuses NUL in text, so the
// dead letter used to fail and the item to be tried again after every
// lease; now it is dead-lettered at once on both engines, with the message
// kept readable, and a replay works.
func TestNULInPermanentCOCErrorIsDeadLettered(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) bridge.Store{
		"sqlite": nil,
		"postgres": func(t *testing.T) bridge.Store {
			s, err := postgres.Open(context.Background(), postgresDSN(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if open != nil {
				postgresDSN(t) // skips without PostgreSQL
			}
			e := newEnv(t, envOptions{openStore: open, lease: time.Minute})
			e.fake.FailNext("create_ticket", 3, coctest.Fault{
				Status: 400, Code: "GOM.00007256", Message: "Invalid parameter\x00: level\x00",
			})
			e.mustAccept(firing("NulError"))
			// Well inside the lease: a failed dead letter would wait it out.
			waitFor(t, 10*time.Second, "a dead letter", func() bool { return len(e.ledger(bridge.StateDead)) == 1 })
			items, err := e.store.Outbox(context.Background(), bridge.OutboxFilter{State: bridge.ItemDead})
			if err != nil || len(items) != 1 {
				t.Fatalf("dead items = %+v, %v; want one", items, err)
			}
			it, entry := items[0], e.ledger(bridge.StateDead)[0]
			for what, s := range map[string]string{"item": it.LastError, "ledger": entry.LastError} {
				if strings.ContainsRune(s, 0) || !utf8.ValidString(s) || !strings.Contains(s, "Invalid parameter") {
					t.Errorf("%s error %q: want COC's message, readable, without NUL", what, s)
				}
			}
			if it.ErrorCode != "GOM.00007256" || it.Attempts != 1 {
				t.Errorf("dead item code %q after %d attempts, want GOM.00007256 after 1", it.ErrorCode, it.Attempts)
			}
			if n := e.fake.Calls("create_ticket"); n != 1 {
				t.Errorf("COC saw %d creates, want 1", n)
			}
			e.fake.Reset()
			if n, err := e.store.Replay(context.Background(), bridge.ReplayRequest{Now: time.Now()}); err != nil || n != 1 {
				t.Fatalf("replay = %d, %v", n, err)
			}
			e.waitSettled(1)
			e.assertOneTicketPerKey(1)
		})
	}
}

// TestRestartAfterCrashResumesAtOnce kills the bridge while its workers
// hold items (the store goes first, so nothing is written back and the
// leases stay, as after a kill -9) and starts it again on the same
// database: on SQLite, and on PostgreSQL with the same replica id. The new
// process takes the leases back at once: every group is ticketed within
// seconds, not after the 2-minute lease, and exactly once (each item taken
// back is looked up before any create).
func TestRestartAfterCrashResumesAtOnce(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) func(t *testing.T) bridge.Store{
		"sqlite": func(*testing.T) func(t *testing.T) bridge.Store { return nil },
		"postgres": func(t *testing.T) func(t *testing.T) bridge.Store {
			dsn := postgresDSN(t) // one database for both runs
			return func(t *testing.T) bridge.Store {
				s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		},
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			open := store(t)
			const lease = 2 * time.Minute
			e := newEnv(t, envOptions{openStore: open, lease: lease, grace: time.Millisecond})
			e.fake.SetLatency(time.Second)
			const groups = 12
			for g := range groups {
				e.mustAccept(firing(fmt.Sprintf("Crash%02d", g)))
			}
			waitFor(t, 10*time.Second, "creates in flight", func() bool { return e.fake.Calls("create_ticket") >= 2 })
			e.kill()

			// What the killed process left: items under lease for two minutes.
			e.start(envOptions{openStore: open, lease: lease, noRun: true})
			held := 0
			for _, it := range e.outbox() {
				if it.LeaseOwner != "" && it.LeaseUntil != nil && time.Until(*it.LeaseUntil) > lease/2 {
					held++
				}
			}
			if held == 0 {
				t.Fatal("the killed bridge held no outbox item: the test proves nothing")
			}
			e.stop()

			e.fake.SetLatency(0)
			restarted := time.Now()
			e.start(envOptions{openStore: open, lease: lease})
			waitFor(t, 15*time.Second, fmt.Sprintf("%d open tickets and an empty outbox after the restart", groups), func() bool {
				return len(e.ledger(bridge.StateOpen)) == groups && len(e.outbox()) == 0
			})
			t.Logf("%d items held by the killed process; all %d groups ticketed %v after the restart",
				held, groups, time.Since(restarted).Round(time.Millisecond))
			e.assertOneTicketPerKey(groups)
		})
	}
}

// TestSQLiteWriteLockHeldAnswers503InTime stalls the SQLite store the way
// a test can without a broken disk: another connection holds the file's
// write lock for 10 s (an operator's sqlite3 shell in a transaction; a disk
// whose writes hang looks the same to the bridge: its writer never gets
// through). Every webhook is answered 503 within the store timeout and
// /-/ready 503 within a second; the views keep answering, since SQLite
// readers do not wait for the write lock. Once the lock is released the
// same process accepts again and every group gets one ticket.
func TestSQLiteWriteLockHeldAnswers503InTime(t *testing.T) {
	t.Parallel()
	const (
		storeTimeout = 2 * time.Second
		hold         = 10 * time.Second
		margin       = 2 * time.Second
	)
	e := newEnv(t, envOptions{mutate: func(o *bridge.Options) { o.StoreTimeout = storeTimeout }})
	e.mustAccept(firing("Before"))
	e.waitSettled(1)

	db, err := sql.Open("sqlite", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	waitFor(t, 5*time.Second, "the write lock", func() bool {
		_, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
		return err == nil
	})
	locked := time.Now()
	var rejected []string
	for i := 0; time.Since(locked) < hold; i++ {
		group := fmt.Sprintf("Locked%02d", i)
		a := e.timedDo(http.MethodPost, "/api/v1/alerts", firing(group))
		if a.code != http.StatusServiceUnavailable || a.latency > storeTimeout+margin {
			t.Errorf("webhook with the write lock held: %d after %v, want 503 within %v: %s", a.code, a.latency, storeTimeout+margin, a.body)
		}
		rejected = append(rejected, group)
		if a := e.timedDo(http.MethodGet, "/-/ready", nil); a.code != http.StatusServiceUnavailable || a.latency > time.Second+margin {
			t.Errorf("/-/ready with the write lock held: %d after %v, want 503 within %v: %s", a.code, a.latency, time.Second+margin, a.body)
		}
		if a := e.timedDo(http.MethodGet, "/api/v1/tickets", nil); a.code != http.StatusOK {
			t.Errorf("/api/v1/tickets with the write lock held: %d, want 200 (reads do not wait): %s", a.code, a.body)
		}
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	for _, group := range rejected {
		e.mustAccept(firing(group))
	}
	groups := 1 + len(rejected)
	e.waitSettled(groups)
	e.assertOneTicketPerKey(groups)
	if code, rb := e.ready(); code != http.StatusOK {
		t.Errorf("/-/ready after the lock was released: %d %+v", code, rb)
	}
}
