package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/columns"
	"github.com/coc-bridge/coc-bridge/bridge/internal/lease"
)

// Claim implements bridge.Store. A Limit below 1 claims nothing.
func (s *Store) Claim(ctx context.Context, req bridge.ClaimRequest) ([]bridge.Delivery, error) {
	return lease.Claim(req, func() (out []bridge.Delivery, err error) {
		err = s.one(func(db querier) error {
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
				FROM due, {ledger} l WHERE o.id = due.id AND l.key = o.key
				RETURNING `+columns.Prefixed("o", columns.Delivery)+`, o.message, `+columns.Prefixed("l", columns.ClaimLedger)),
				req.Owner, utc(req.Now.Add(req.Lease)), utc(req.Now), req.Limit)
			if err != nil {
				return err
			}
			// RETURNING has no order: restore the one the claim used.
			out, err = collectOrdered(rows, scanDelivery, func(a, b bridge.Delivery) int { return cmp.Compare(a.ID, b.ID) })
			return err
		})
		return out, err
	})
}

// leaseState is an outbox item locked for a Complete, Retry or DeadLetter,
// and its key's entry.
type leaseState struct {
	entry bridge.LedgerEntry
	kind  bridge.Kind
	held  bool
}

// lockLease locks the ledger row of item id's key, then the item (the order
// every transaction uses), and reports whether owner holds the item. A
// lease that expired but that nobody took over is still held: no other
// worker can have acted on the item. found is false when the item is gone.
func (s *Store) lockLease(ctx context.Context, tx pgx.Tx, id int64, owner string) (l leaseState, found bool, err error) {
	var key string
	err = tx.QueryRow(ctx, s.q(`SELECT key FROM {outbox} WHERE id = $1`), id).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return leaseState{}, false, nil
	}
	if err != nil {
		return leaseState{}, false, err
	}
	e, found, err := s.lockEntry(ctx, tx, key)
	if err != nil || !found {
		return leaseState{}, false, fmt.Errorf("lock ledger: %w", cmp.Or(err, bridge.ErrNotFound))
	}
	l.entry = e
	var itemState, kind string
	var leaseOwner *string
	err = tx.QueryRow(ctx, s.q(`SELECT state, kind, lease_owner FROM {outbox} WHERE id = $1 FOR UPDATE`), id).
		Scan(&itemState, &kind, &leaseOwner)
	if errors.Is(err, pgx.ErrNoRows) {
		return leaseState{}, false, nil // delivered meanwhile
	}
	if err != nil {
		return leaseState{}, false, fmt.Errorf("lock outbox item: %w", err)
	}
	l.kind = bridge.Kind(kind)
	l.held = itemState == string(bridge.ItemPending) && leaseOwner != nil && *leaseOwner == owner
	return l, true, nil
}

// Complete implements bridge.Store: lease.PlanComplete decides what it
// writes, also when the lease is lost (then ErrLeaseLost is returned).
func (s *Store) Complete(ctx context.Context, c bridge.Completion) error {
	c = c.Safe()
	if c.TicketID == "" {
		return fmt.Errorf("complete outbox item %d: empty ticket id", c.ID)
	}
	lost := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		l, found, err := s.lockLease(ctx, tx, c.ID, c.Owner)
		lost = !found || !l.held
		if err != nil || !found || (lost && c.Kind != bridge.KindCreate) {
			return err
		}
		c.Now = utc(c.Now)
		p, ok := lease.PlanComplete(l.entry, c, lost)
		if !ok {
			return nil
		}
		if p.Changed {
			if err := s.putEntry(ctx, tx, p.Entry); err != nil {
				return fmt.Errorf("write ledger: %w", err)
			}
		}
		return s.keepOrDelete(ctx, tx, c.ID, p, c.Now)
	})
	return lease.Result("complete", c.ID, c.Owner, lost, err)
}

// keepOrDelete ends item id's operation as p says: the item stays as the
// key's next operation, due at now and started afresh, or is deleted.
func (s *Store) keepOrDelete(ctx context.Context, tx pgx.Tx, id int64, p lease.Plan, now time.Time) error {
	if !p.Keep {
		if _, err := tx.Exec(ctx, s.q(`DELETE FROM {outbox} WHERE id = $1`), id); err != nil {
			return fmt.Errorf("delete outbox item: %w", err)
		}
		return nil
	}
	if _, err := tx.Exec(ctx, s.q(`UPDATE {outbox} SET state = 'pending', kind = $1, previous_ticket_id = $2,
		next_attempt = $3, attempts = 0, last_error = '', error_code = '', lookup_first = false,
		lookups_done = 0, unclear_since = NULL, lease_owner = NULL, lease_until = NULL
		WHERE id = $4`), string(p.Next), p.Entry.PreviousTicketID, now, id); err != nil {
		return fmt.Errorf("keep outbox item for the next operation: %w", err)
	}
	return nil
}

// Retry implements bridge.Store. A create is rescheduled in one statement;
// another kind is rescheduled as the kind of the key's next operation, or
// deleted when there is none.
func (s *Store) Retry(ctx context.Context, r bridge.RetryRequest) error {
	r = r.Safe()
	args := []any{utc(r.NextAttempt), r.LastError, r.LookupFirst, r.LookupsDone, optUTC(r.UnclearSince), r.ID}
	// A create's retry needs no ledger row, so no lock on it.
	n, err := s.update(ctx, `UPDATE {outbox} SET next_attempt = $1, last_error = $2, lookup_first = $3,
			lookups_done = $4, unclear_since = $5, lease_owner = NULL, lease_until = NULL
		WHERE id = $6 AND state = 'pending' AND lease_owner = $7 AND kind = 'create'`, append(args, r.Owner)...)
	if err != nil || n == 1 {
		return lease.Result("retry", r.ID, r.Owner, false, err)
	}
	lost := false
	err = s.tx(ctx, func(tx pgx.Tx) error {
		l, found, err := s.lockLease(ctx, tx, r.ID, r.Owner)
		lost = !found || !l.held
		if err != nil || lost {
			return err
		}
		next, ok := bridge.NextOperation(l.entry)
		if !ok {
			_, err := tx.Exec(ctx, s.q(`DELETE FROM {outbox} WHERE id = $1`), r.ID)
			return err
		}
		_, err = tx.Exec(ctx, s.q(`UPDATE {outbox} SET next_attempt = $1, last_error = $2, lookup_first = $3,
				lookups_done = $4, unclear_since = $5, lease_owner = NULL, lease_until = NULL, kind = $7
			WHERE id = $6`), append(args, string(next))...)
		return err
	})
	return lease.Result("retry", r.ID, r.Owner, lost, err)
}

// DeadLetter implements bridge.Store: only a create's dead letter marks the
// entry dead.
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
		if _, err := tx.Exec(ctx, s.q(`UPDATE {ledger} SET state = CASE WHEN $4 THEN 'dead' ELSE state END,
			last_error = $1, updated_at = $2 WHERE key = $3`),
			d.LedgerError(), utc(d.Now), l.entry.Key, l.kind == bridge.KindCreate); err != nil {
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
			RETURNING key, kind = 'create'`), now, keys, r.ID)
		if err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		var (
			key     string
			create  bool
			creates []string // an action's entry stays as it is
		)
		if _, err := pgx.ForEachRow(rows, []any{&key, &create}, func() error {
			n++
			if create {
				creates = append(creates, key)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		if len(creates) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, s.q(`UPDATE {ledger} SET state = 'pending', updated_at = $1
			WHERE key = ANY($2)`), now, creates); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replay dead outbox items: %w", err)
	}
	return n, nil
}
