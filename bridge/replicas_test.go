package bridge_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
	"github.com/coc-bridge/coc-bridge/bridge/postgres/pgtest"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// postgresDSN returns a DSN whose search_path is a fresh schema, dropped when
// the test ends, or skips the test without COC_BRIDGE_TEST_POSTGRES_DSN.
func postgresDSN(t *testing.T) string {
	t.Helper()
	return pgtest.SchemaDSN(t, pgtest.DSN(t), "bridge_test_")
}

// TestReplicasShareOnePostgres runs three bridges, each with its own pool, on
// one database. Every notification reaches all three at once (as from three
// HA Alertmanager peers); one replica dies mid-storm without cleaning up. The
// survivors take its work over after the lease: exactly one ticket per group.
func TestReplicasShareOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK, Latency: 200 * time.Millisecond})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	const lease = 2 * time.Second
	replicas := make([]*env, 3)
	for i := range replicas {
		replicas[i] = newEnv(t, envOptions{
			fake: fake, cocURL: srv.URL, lease: lease, grace: time.Millisecond,
			openStore: func(t *testing.T) bridge.Store {
				s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
				if err != nil {
					t.Fatalf("open postgres store: %v", err)
				}
				return s
			},
			mutate: func(o *bridge.Options) { o.ReplicaID = fmt.Sprintf("replica-%d", i) },
		})
	}

	const groups = 40
	held := func() (n int) {
		for _, it := range replicas[0].outbox() {
			if strings.HasPrefix(it.LeaseOwner, "replica-2/") {
				n++
			}
		}
		return n
	}
	var wg sync.WaitGroup
	alive, killed := replicas, false
	for g := range groups {
		body := firing(fmt.Sprintf("Replica%02d", g))
		for _, r := range alive {
			wg.Go(func() { r.mustAccept(body) })
		}
		if g >= groups/2 && !killed {
			// Kill replica 2 mid-storm, once it holds an item (it may start
			// its workers late on a busy machine): it stops at once and its
			// store is gone, so the items it holds keep their lease until it
			// expires.
			wg.Wait()
			if held() == 0 {
				continue
			}
			replicas[2].kill()
			alive, killed = replicas[:2], true
			if held() == 0 {
				t.Fatal("the killed replica finished its items as it was killed: the test proves no take-over")
			}
		}
	}
	wg.Wait()
	if !killed {
		t.Fatal("replica 2 held no outbox item in the second half of the storm: the test proves no take-over")
	}

	survivor := replicas[0]
	waitFor(t, 60*time.Second, "one open ticket per group", func() bool {
		return len(survivor.ledger(bridge.StateOpen)) == groups && len(survivor.outbox()) == 0
	})
	survivor.assertOneTicketPerKey(groups)
	for _, tk := range fake.Tickets() {
		if !strings.HasPrefix(tk.Title, "[FIRING") {
			t.Errorf("ticket %s title %q", tk.TicketID, tk.Title)
		}
	}
}

// TestReplicasShareTheAccountQPS: three replicas on one database each hold
// a third of the account's QPS and burst; a replica killed without leaving
// gives its share back when its heartbeat expires, one that stops cleanly at
// once.
func TestReplicasShareTheAccountQPS(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	replicas := make([]*env, 3)
	for i := range replicas {
		replicas[i] = newEnv(t, envOptions{
			fake: fake, cocURL: srv.URL,
			openStore: func(t *testing.T) bridge.Store {
				s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
				if err != nil {
					t.Fatalf("open postgres store: %v", err)
				}
				return s
			},
			clientOpts: func(o *client.Options) { o.QPS, o.Burst = 9, 6 },
			mutate: func(o *bridge.Options) {
				o.ReplicaID = fmt.Sprintf("replica-%d", i)
				o.Replicas = o.Store.(bridge.ReplicaRegistry)
				o.ReplicaHeartbeat = 20 * time.Millisecond
			},
		})
	}
	rates := func(want string, envs ...*env) {
		t.Helper()
		waitFor(t, 10*time.Second, "every replica at "+want, func() bool {
			for _, e := range envs {
				if q, b := e.coc.Rate(); fmt.Sprintf("%g/%d", q, b) != want {
					return false
				}
			}
			return true
		})
	}
	rates("3/2", replicas...)
	replicas[2].kill() // no Leave: its heartbeat expires after 5 intervals
	rates("4.5/3", replicas[:2]...)
	replicas[1].stop()
	rates("9/6", replicas[0])
	if got := metricValue(t, replicas[0].reg, "coc_bridge_replicas_live"); got != 1 {
		t.Errorf("coc_bridge_replicas_live = %v, want 1", got)
	}
}
