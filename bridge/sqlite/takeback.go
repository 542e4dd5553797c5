package sqlite

import (
	"context"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/lease"
)

// TakeBack implements bridge.Store. The file belongs to one bridge process
// (see the package documentation), so every lease still running was left
// by the process before this one, whatever its replica id: all are taken
// back. Only a bridge that starts calls it, never an operator command that
// opens the file next to a running bridge.
func (s *Store) TakeBack(ctx context.Context, r bridge.TakeBackRequest) (int, error) {
	return lease.TakeBack(r, func() (int, error) {
		now := micros(r.Now)
		return s.update(ctx, `UPDATE outbox SET lease_until = ?
			WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_until > ?`, now, now)
	})
}
