package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// TakeBack implements bridge.Store. The file belongs to one bridge process
// (see the package documentation), so every lease still running was left
// by the process before this one, whatever its replica id: all are taken
// back. Only a bridge that starts calls it, never an operator command that
// opens the file next to a running bridge.
func (s *Store) TakeBack(ctx context.Context, r bridge.TakeBackRequest) (int, error) {
	if r.Replica == "" {
		return 0, errors.New("take back leases: empty replica id")
	}
	now := micros(r.Now)
	n, err := s.update(ctx, `UPDATE outbox SET lease_until = ?
		WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_until > ?`, now, now)
	if err != nil {
		return 0, fmt.Errorf("take back leases: %w", err)
	}
	return n, nil
}
