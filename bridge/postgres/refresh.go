package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/columns"
	"github.com/coc-bridge/coc-bridge/bridge/internal/ledger"
)

// DueForRefresh implements bridge.Store. Entries come oldest check first; a
// Limit below 1 means no limit. An entry is due IntervalFor(its age) after
// its last check (bridge.RefreshRequest). Rows another transaction holds are skipped,
// and a row another refresher just marked no longer matches, so concurrent
// refreshers get disjoint sets.
func (s *Store) DueForRefresh(ctx context.Context, r bridge.RefreshRequest) ([]bridge.LedgerEntry, error) {
	var limit *int
	if r.Limit > 0 {
		limit = &r.Limit
	}
	var out []bridge.LedgerEntry
	err := s.one(func(db querier) error {
		rows, err := db.Query(ctx, s.q(`WITH due AS MATERIALIZED (
				SELECT key, coalesce(checked_at, opened_at) AS since FROM {ledger}
				WHERE state = 'open' AND ticket_id <> '' AND coalesce(checked_at, opened_at) <= $1
				AND coalesce(checked_at, opened_at) <= $3::timestamptz - least(
					greatest($4::bigint * interval '1 microsecond', ($3::timestamptz - coalesce(opened_at, created_at)) / $5::integer),
					$6::bigint * interval '1 microsecond')
				ORDER BY coalesce(checked_at, opened_at), key
				LIMIT $2
				FOR UPDATE SKIP LOCKED)
			UPDATE {ledger} l SET checked_at = $3 FROM due WHERE l.key = due.key
			RETURNING `+columns.Prefixed("l", ledgerCols)+`, due.since`),
			utc(r.Now.Add(-r.Interval)), limit, utc(r.Now), r.Interval.Microseconds(), bridge.RefreshAgeDivisor,
			max(r.MaxInterval, r.Interval).Microseconds())
		if err != nil {
			return err
		}
		// RETURNING has no order: oldest check first, as selected.
		out, err = collectOrdered(rows, scanDue, func(a, b bridge.LedgerEntry) int { return strings.Compare(a.Key, b.Key) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tickets due for refresh: %w", err)
	}
	return out, nil
}

// Release implements bridge.Store.
func (s *Store) Release(ctx context.Context, r bridge.Release) error {
	r = r.Safe()
	// The key's unleased pending action would act on a finished ticket:
	// deleted in the same statement, after the ledger row is locked.
	n, err := s.update(ctx, `WITH l AS (
			UPDATE {ledger} SET state = 'closed', ticket_status = $1, closed_at = $2, updated_at = $2
			WHERE key = $3 AND ticket_id = $4 AND ticket_id <> '' AND state = 'open'
			RETURNING key),
		d AS (
			DELETE FROM {outbox} o USING l
			WHERE o.key = l.key AND o.state = 'pending' AND o.kind <> 'create'
				AND NOT (o.lease_owner IS NOT NULL AND o.lease_until > $2))
		SELECT 1 FROM l`,
		r.Status, utc(r.Now), r.Key, r.TicketID)
	return ledger.Result("release", r.TicketID, r.Key, n, err)
}

// RecordCheck implements bridge.Store. An empty Status or Level keeps the
// last one (a failed read says nothing about the ticket); Error replaces
// LastError.
// ErrNotFound when the key has no open entry with that ticket.
func (s *Store) RecordCheck(ctx context.Context, c bridge.Check) error {
	c = c.Safe()
	n, err := s.update(ctx, `UPDATE {ledger}
		SET ticket_status = CASE WHEN $1::text = '' THEN ticket_status ELSE $1 END,
			coc_level = CASE WHEN $6::text = '' THEN coc_level ELSE $6 END, last_error = $2, checked_at = $3
		WHERE key = $4 AND ticket_id = $5 AND ticket_id <> '' AND state = 'open'`,
		c.Status, c.Error, utc(c.Now), c.Key, c.TicketID, c.Level)
	return ledger.Result("record check of", c.TicketID, c.Key, n, err)
}
