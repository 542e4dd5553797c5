package bridge_test

import (
	"context"
	"fmt"
	"net/http"
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

	// Replica 2's COC calls hang until it is killed, so it is killed holding
	// every item it claimed, whatever the machine's speed.
	stopHanging := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stopHanging:
		}
		http.Error(w, "replica 2 is killed", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stopHanging) }) // runs first

	const lease = 2 * time.Second
	replicas := make([]*env, 3)
	for i := range replicas {
		url := srv.URL
		if i == 2 {
			url = hang.URL
		}
		replicas[i] = newEnv(t, envOptions{
			fake: fake, cocURL: url, lease: lease, grace: time.Millisecond,
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
	var wg sync.WaitGroup
	alive := replicas
	for g := range groups {
		body := firing(fmt.Sprintf("Replica%02d", g))
		for _, r := range alive {
			wg.Go(func() { r.mustAccept(body) })
		}
		if g == groups/2 {
			// Kill replica 2 mid-storm, once it holds an item (its workers
			// may start late on a busy machine): it stops at once and its
			// store is gone, so items it holds keep their lease until it
			// expires.
			wg.Wait()
			waitFor(t, 10*time.Second, "replica 2 to hold an outbox item", func() bool {
				for _, it := range replicas[0].outbox() {
					if strings.HasPrefix(it.LeaseOwner, "replica-2/") {
						return true
					}
				}
				return false
			})
			replicas[2].kill()
			alive = replicas[:2]
			held := 0
			for _, it := range replicas[0].outbox() {
				if strings.HasPrefix(it.LeaseOwner, "replica-2/") {
					held++
				}
			}
			if held == 0 {
				t.Fatal("the killed replica held no outbox item: the test proves no take-over")
			}
		}
	}
	wg.Wait()

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
