package postgres

import (
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres/pgtest"
)

// TestHeartbeatCountsLiveReplicas: each heartbeat counts the replicas seen
// within its TTL, its own included; an expired one stops counting, a
// replica that leaves at once.
func TestHeartbeatCountsLiveReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	s := newStore(t, newPool(t, dsn, pgtest.Schema(t, dsn, schemaPrefix), nil), Options{})
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const ttl = 10 * time.Second
	beat := func(id string, at time.Duration, want int) {
		t.Helper()
		n, err := s.Heartbeat(t.Context(), bridge.Heartbeat{ReplicaID: id, Now: t0.Add(at), TTL: ttl})
		if err != nil || n != want {
			t.Fatalf("Heartbeat(%s at %v) = %d, %v; want %d", id, at, n, err, want)
		}
	}
	beat("a", 0, 1)
	beat("b", time.Second, 2)
	beat("c", 2*time.Second, 3)
	beat("a", 3*time.Second, 3) // a beat again: still three
	// b and c fall silent; a sees them until their TTL has passed.
	beat("a", 11*time.Second, 3)
	beat("a", 11*time.Second+500*time.Millisecond, 2) // b expired
	beat("a", 12*time.Second+500*time.Millisecond, 1) // c expired
	beat("b", 13*time.Second, 2)                      // b is back
	if err := s.Leave(t.Context(), "b"); err != nil {
		t.Fatal(err)
	}
	beat("a", 14*time.Second, 1)
}
