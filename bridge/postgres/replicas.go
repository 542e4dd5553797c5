package postgres

import (
	"context"
	"fmt"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// Heartbeat implements bridge.ReplicaRegistry: it records h's replica as
// seen at h.Now, forgets replicas not seen since h.Now - h.TTL and returns
// the live replicas, h's own included. One statement, one round trip.
func (s *Store) Heartbeat(ctx context.Context, h bridge.Heartbeat) (int, error) {
	var live int
	err := s.one(func(db querier) error {
		// The statement's parts see one snapshot: the others are counted
		// from it, this replica is the 1.
		return db.QueryRow(ctx, s.q(`WITH beat AS (
				INSERT INTO {replicas} (replica_id, seen_at) VALUES ($1, $2)
				ON CONFLICT (replica_id) DO UPDATE SET seen_at = excluded.seen_at),
			gone AS (DELETE FROM {replicas} WHERE seen_at < $3 AND replica_id <> $1)
			SELECT 1 + count(*) FROM {replicas} WHERE seen_at >= $3 AND replica_id <> $1`),
			h.ReplicaID, utc(h.Now), utc(h.Now.Add(-h.TTL))).Scan(&live)
	})
	if err != nil {
		return 0, fmt.Errorf("replica heartbeat: %w", err)
	}
	return live, nil
}

// Leave implements bridge.ReplicaRegistry: it forgets the replica, so the
// others take its share at their next heartbeat.
func (s *Store) Leave(ctx context.Context, replicaID string) error {
	if _, err := s.update(ctx, `DELETE FROM {replicas} WHERE replica_id = $1`, replicaID); err != nil {
		return fmt.Errorf("replica leave: %w", err)
	}
	return nil
}
