package sqlite

import (
	"context"
	"fmt"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/ledger"
)

// DueForRefresh implements bridge.Store. Entries come oldest check first; a
// Limit below 1 means no limit. An entry is due IntervalFor(its age) after
// its last check (bridge.RefreshRequest).
func (s *Store) DueForRefresh(ctx context.Context, r bridge.RefreshRequest) ([]bridge.LedgerEntry, error) {
	var out []bridge.LedgerEntry
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		out = nil
		limit := r.Limit
		if limit < 1 {
			limit = -1
		}
		// The first bound (the shortest interval) keeps the scan on the
		// index; the second is each entry's own interval (IntervalFor).
		now := micros(r.Now)
		rows, err := tx.QueryContext(ctx, `SELECT `+ledgerCols+` FROM ledger
			WHERE state = 'open' AND ticket_id <> '' AND coalesce(checked_at, opened_at) <= ?
			AND coalesce(checked_at, opened_at) <= ? - min(max(?, (? - coalesce(opened_at, created_at)) / ?), ?)
			ORDER BY coalesce(checked_at, opened_at), key LIMIT ?`,
			micros(r.Now.Add(-r.Interval)), now, r.Interval.Microseconds(), now, bridge.RefreshAgeDivisor,
			max(r.MaxInterval, r.Interval).Microseconds(), limit)
		if err != nil {
			return err
		}
		if out, err = collect(rows, scanEntry); err != nil {
			return err
		}
		at := utc(r.Now)
		for i := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE ledger SET checked_at = ? WHERE key = ?`,
				now, out[i].Key); err != nil {
				return err
			}
			out[i].CheckedAt = &at
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tickets due for refresh: %w", err)
	}
	return out, nil
}

// releaseActionQuery deletes a released key's unleased pending action: it
// would act on a finished ticket (args: key, now). It names
// outbox_key_live's condition so that SQLite uses the index.
const releaseActionQuery = `DELETE FROM outbox
	WHERE key = ? AND state IN ('pending', 'dead') AND state = 'pending' AND kind <> 'create'
		AND NOT (lease_owner IS NOT NULL AND lease_until > ?)`

// Release implements bridge.Store.
func (s *Store) Release(ctx context.Context, r bridge.Release) error {
	r = r.Safe()
	now := micros(r.Now)
	var n int64
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ledger SET state = 'closed', ticket_status = ?,
			closed_at = ?, updated_at = ?
			WHERE key = ? AND ticket_id = ? AND ticket_id <> '' AND state = 'open'`,
			r.Status, now, now, r.Key, r.TicketID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, releaseActionQuery, r.Key, now)
		return err
	})
	return ledger.Result("release", r.TicketID, r.Key, int(n), err)
}

// RecordCheck implements bridge.Store. An empty Status or Level keeps the
// last one (a failed read says nothing about the ticket); Error replaces
// LastError.
// ErrNotFound when the key has no open entry with that ticket.
func (s *Store) RecordCheck(ctx context.Context, c bridge.Check) error {
	c = c.Safe()
	n, err := s.update(ctx, `UPDATE ledger
		SET ticket_status = CASE WHEN ? = '' THEN ticket_status ELSE ? END,
			coc_level = CASE WHEN ? = '' THEN coc_level ELSE ? END, last_error = ?, checked_at = ?
		WHERE key = ? AND ticket_id = ? AND ticket_id <> '' AND state = 'open'`,
		c.Status, c.Status, c.Level, c.Level, c.Error, micros(c.Now), c.Key, c.TicketID)
	return ledger.Result("record check of", c.TicketID, c.Key, n, err)
}
