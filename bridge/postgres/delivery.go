package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/lease"
)

// Claim implements bridge.Store. A Limit below 1 claims nothing.
func (s *Store) Claim(ctx context.Context, req bridge.ClaimRequest) ([]bridge.Delivery, error) {
	if req.Owner == "" {
		return nil, errors.New("claim outbox items: empty owner")
	}
	var out []bridge.Delivery
	err := s.one(func(db querier) error {
		if req.Limit < 1 {
			return nil
		}
		rows, err := db.Query(ctx, s.q(`WITH due AS MATERIALIZED (
				SELECT id FROM {outbox}
				WHERE state = 'pending' AND next_attempt <= $3
					AND (lease_until IS NULL OR lease_until <= $3)
				ORDER BY next_attempt, id
				LIMIT $4
				FOR UPDATE SKIP LOCKED)
			UPDATE {outbox} o
			SET lease_owner = $1, lease_until = $2, attempts = o.attempts + 1,
				lookup_first = o.lookup_first OR o.lease_owner IS NOT NULL
			FROM due WHERE o.id = due.id
			RETURNING `+prefixed("o", deliveryCols)),
			req.Owner, utc(req.Now.Add(req.Lease)), utc(req.Now), req.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		type claimed struct {
			d    bridge.Delivery
			next time.Time
		}
		var got []claimed
		for rows.Next() {
			d, next, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			got = append(got, claimed{d, next})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// RETURNING has no order: restore the one the claim used.
		slices.SortFunc(got, func(a, b claimed) int {
			return cmp.Or(a.next.Compare(b.next), cmp.Compare(a.d.ID, b.d.ID))
		})
		for _, c := range got {
			out = append(out, c.d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox items: %w", err)
	}
	return out, nil
}

// leaseState is an outbox item locked for a Complete or DeadLetter.
type leaseState struct {
	key         string
	ledgerState bridge.State
	held        bool
}

// lockLease locks the ledger row of item id's key, then the item (the order
// every transaction uses), and reports whether owner holds the item. A
// lease that expired but that nobody took over is still held: no other
// worker can have acted on the item. found is false when the item is gone.
func (s *Store) lockLease(ctx context.Context, tx pgx.Tx, id int64, owner string) (l leaseState, found bool, err error) {
	err = tx.QueryRow(ctx, s.q(`SELECT key FROM {outbox} WHERE id = $1`), id).Scan(&l.key)
	if errors.Is(err, pgx.ErrNoRows) {
		return leaseState{}, false, nil
	}
	if err != nil {
		return leaseState{}, false, err
	}
	var state string
	if err := tx.QueryRow(ctx, s.q(`SELECT state FROM {ledger} WHERE key = $1 FOR UPDATE`), l.key).
		Scan(&state); err != nil {
		return leaseState{}, false, fmt.Errorf("lock ledger: %w", err)
	}
	l.ledgerState = bridge.State(state)
	var itemState string
	var leaseOwner *string
	err = tx.QueryRow(ctx, s.q(`SELECT state, lease_owner FROM {outbox} WHERE id = $1 FOR UPDATE`), id).
		Scan(&itemState, &leaseOwner)
	if errors.Is(err, pgx.ErrNoRows) {
		return leaseState{}, false, nil // delivered meanwhile
	}
	if err != nil {
		return leaseState{}, false, fmt.Errorf("lock outbox item: %w", err)
	}
	l.held = itemState == string(bridge.ItemPending) && leaseOwner != nil && *leaseOwner == owner
	return l, true, nil
}

// Complete implements bridge.Store. When the lease is lost but the item
// still exists and its key is pending or dead, the ticket is recorded and
// the item deleted anyway (then ErrLeaseLost is returned): the ticket exists
// in COC, and a second create must not follow.
func (s *Store) Complete(ctx context.Context, c bridge.Completion) error {
	c = c.Safe()
	if c.TicketID == "" {
		return fmt.Errorf("complete outbox item %d: empty ticket id", c.ID)
	}
	lost := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		l, found, err := s.lockLease(ctx, tx, c.ID, c.Owner)
		lost = !found || !l.held
		if err != nil || !found {
			return err
		}
		if !l.held && l.ledgerState != bridge.StatePending && l.ledgerState != bridge.StateDead {
			return nil
		}
		now := utc(c.Now)
		if _, err := tx.Exec(ctx, s.q(`UPDATE {ledger} SET state = 'open', ticket_id = $1, ticket_status = '',
			title = CASE WHEN $4::text <> '' THEN $4::text ELSE title END,
			last_error = '', opened_at = $2, closed_at = NULL, checked_at = NULL, updated_at = $2
			WHERE key = $3`), c.TicketID, now, l.key, c.Title); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
		if _, err := tx.Exec(ctx, s.q(`DELETE FROM {outbox} WHERE id = $1`), c.ID); err != nil {
			return fmt.Errorf("delete outbox item: %w", err)
		}
		return nil
	})
	return lease.Result("complete", c.ID, c.Owner, lost, err)
}

// Retry implements bridge.Store.
func (s *Store) Retry(ctx context.Context, r bridge.RetryRequest) error {
	r = r.Safe()
	n, err := s.update(ctx, `UPDATE {outbox} SET next_attempt = $1, last_error = $2, lookup_first = $3,
		lease_owner = NULL, lease_until = NULL
		WHERE id = $4 AND state = 'pending' AND lease_owner = $5`,
		utc(r.NextAttempt), r.LastError, r.LookupFirst, r.ID, r.Owner)
	return lease.Result("retry", r.ID, r.Owner, n == 0, err)
}

// DeadLetter implements bridge.Store.
func (s *Store) DeadLetter(ctx context.Context, d bridge.DeadLetterRequest) error {
	d = d.Safe()
	lost := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		l, found, err := s.lockLease(ctx, tx, d.ID, d.Owner)
		lost = !found || !l.held
		if err != nil || lost {
			return err
		}
		if _, err := tx.Exec(ctx, s.q(`UPDATE {outbox} SET state = 'dead', error_code = $1, last_error = $2,
			lease_owner = NULL, lease_until = NULL WHERE id = $3`), d.Code, d.Message, d.ID); err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		if _, err := tx.Exec(ctx, s.q(`UPDATE {ledger} SET state = 'dead', last_error = $1, updated_at = $2
			WHERE key = $3`), d.LedgerError(), utc(d.Now), l.key); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
		return nil
	})
	return lease.Result("dead-letter", d.ID, d.Owner, lost, err)
}

// Expedite implements bridge.Store. Items being claimed meanwhile are
// skipped: they are about to be attempted anyway.
func (s *Store) Expedite(ctx context.Context, r bridge.ExpediteRequest) (int, error) {
	due := utc(r.Due)
	lookupDue := utc(r.LookupDue)
	if lookupDue.Before(due) {
		lookupDue = due
	}
	var limit *int
	if r.Limit > 0 {
		limit = &r.Limit
	}
	n, err := s.update(ctx, `WITH later AS MATERIALIZED (
			SELECT id FROM {outbox}
			WHERE state = 'pending' AND next_attempt > $1
				AND next_attempt > CASE WHEN lookup_first THEN $2 ELSE $1 END
			ORDER BY next_attempt, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE {outbox} o SET next_attempt = CASE WHEN o.lookup_first THEN $2 ELSE $1 END
		FROM later WHERE o.id = later.id`, due, lookupDue, limit)
	if err != nil {
		return 0, fmt.Errorf("expedite outbox items: %w", err)
	}
	return n, nil
}

// Replay implements bridge.Store.
func (s *Store) Replay(ctx context.Context, r bridge.ReplayRequest) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		// Ledger rows first, in key order, like every other transaction.
		rows, err := tx.Query(ctx, s.q(`SELECT key FROM {ledger} WHERE key IN (
				SELECT key FROM {outbox} WHERE state = 'dead'
					AND ($1::bigint = 0 OR id = $1) AND ($2::text = '' OR key = $2))
			ORDER BY key FOR UPDATE`), r.ID, r.Key)
		if err != nil {
			return fmt.Errorf("lock ledger: %w", err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(keys) == 0 {
			return err
		}
		now := utc(r.Now)
		rows, err = tx.Query(ctx, s.q(`UPDATE {outbox} SET state = 'pending', next_attempt = $1, attempts = 0,
				lease_owner = NULL, lease_until = NULL
			WHERE state = 'dead' AND key = ANY($2) AND ($3::bigint = 0 OR id = $3)
			RETURNING key`), now, keys, r.ID)
		if err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		if keys, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		if _, err := tx.Exec(ctx, s.q(`UPDATE {ledger} SET state = 'pending', updated_at = $1
			WHERE key = ANY($2)`), now, keys); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replay dead outbox items: %w", err)
	}
	return n, nil
}
