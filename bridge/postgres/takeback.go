package postgres

import (
	"context"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/lease"
)

// TakeBack implements bridge.Store: the leases owned by r.Replica or one
// of its workers (r.Replica + "/..."), and no other replica's, even one
// whose id starts the same way.
func (s *Store) TakeBack(ctx context.Context, r bridge.TakeBackRequest) (int, error) {
	return lease.TakeBack(r, func() (int, error) {
		return s.update(ctx, `UPDATE {outbox} SET lease_until = $1
			WHERE state = 'pending' AND lease_until > $1
				AND (lease_owner = $2 OR left(lease_owner, length($2) + 1) = $2 || '/')`,
			utc(r.Now), r.Replica)
	})
}
