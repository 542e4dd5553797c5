package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/lease"
)

// Claim implements bridge.Store. A Limit below 1 claims nothing.
func (s *Store) Claim(ctx context.Context, req bridge.ClaimRequest) ([]bridge.Delivery, error) {
	if req.Owner == "" {
		return nil, errors.New("claim outbox items: empty owner")
	}
	var out []bridge.Delivery
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		out = nil
		if req.Limit < 1 {
			return nil
		}
		now := micros(req.Now)
		got, err := claimRows(ctx, tx, claimQuery, req.Owner, micros(req.Now.Add(req.Lease)), now, now, req.Limit)
		if err != nil {
			return err
		}
		// RETURNING has no order: restore the one the claim used.
		slices.SortFunc(got, func(a, b claimed) int {
			return cmp.Or(cmp.Compare(a.next, b.next), cmp.Compare(a.d.ID, b.d.ID))
		})
		for _, c := range got {
			if err := tx.QueryRowContext(ctx, `SELECT message FROM outbox_message WHERE id = ?`, c.d.ID).
				Scan(&c.d.Message); err != nil {
				return fmt.Errorf("read message of outbox item %d: %w", c.d.ID, err)
			}
			out = append(out, c.d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox items: %w", err)
	}
	return out, nil
}

// claimQuery leases due items. The inner SELECT reads only the partial
// index outbox_due, which covers the due and lease tests and gives the
// order: items that are not taken cost neither a table row nor a sort,
// whatever the backlog. INDEXED BY makes that plan certain (the statement
// fails rather than falls back to a scan if the index is missing);
// TestQueryPlans checks it.
const claimQuery = `UPDATE outbox
	SET lease_owner = ?, lease_until = ?, attempts = attempts + 1,
		lookup_first = (lookup_first OR lease_owner IS NOT NULL)
	WHERE id IN (
		SELECT id FROM outbox INDEXED BY outbox_due
		WHERE state = 'pending' AND next_attempt <= ?
			AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY next_attempt, id
		LIMIT ?)
	RETURNING ` + deliveryCols

// claimed is a claimed delivery (without its message) and its due time.
type claimed struct {
	d    bridge.Delivery
	next int64
}

// claimRows runs a claim statement and reads every row it returns.
func claimRows(ctx context.Context, tx *wtx, query string, args ...any) ([]claimed, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc scanner) (claimed, error) {
		d, next, err := scanDelivery(sc)
		return claimed{d, next}, err
	})
}

// leaseCheck reads item id and reports its key, whether owner holds it, and
// whether it exists. A lease that expired but that nobody took over is
// still held: no other worker can have acted on the item.
func leaseCheck(ctx context.Context, tx *wtx, id int64, owner string) (key string, held, found bool, err error) {
	var state string
	var leaseOwner sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT key, state, lease_owner FROM outbox WHERE id = ?`, id).
		Scan(&key, &state, &leaseOwner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, false, nil
	}
	if err != nil {
		return "", false, false, err
	}
	held = state == string(bridge.ItemPending) && leaseOwner.Valid && leaseOwner.String == owner
	return key, held, true, nil
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
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		lost = false
		key, held, found, err := leaseCheck(ctx, tx, c.ID, c.Owner)
		if err != nil || !found {
			lost = !found
			return err
		}
		lost = !held
		if !held {
			var state string
			if err := tx.QueryRowContext(ctx, `SELECT state FROM ledger WHERE key = ?`, key).Scan(&state); err != nil {
				return fmt.Errorf("read ledger: %w", err)
			}
			if state != string(bridge.StatePending) && state != string(bridge.StateDead) {
				return nil
			}
		}
		now := micros(c.Now)
		if _, err := tx.ExecContext(ctx, `UPDATE ledger SET state = 'open', ticket_id = ?, ticket_status = '',
			title = CASE WHEN ? <> '' THEN ? ELSE title END,
			last_error = '', opened_at = ?, closed_at = NULL, checked_at = NULL, updated_at = ?
			WHERE key = ?`, c.TicketID, c.Title, c.Title, now, now, key); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, c.ID); err != nil {
			return fmt.Errorf("delete outbox item: %w", err)
		}
		return nil
	})
	return lease.Result("complete", c.ID, c.Owner, lost, err)
}

// Retry implements bridge.Store.
func (s *Store) Retry(ctx context.Context, r bridge.RetryRequest) error {
	r = r.Safe()
	n, err := s.update(ctx, `UPDATE outbox SET next_attempt = ?, last_error = ?, lookup_first = ?,
		lease_owner = NULL, lease_until = NULL
		WHERE id = ? AND state = 'pending' AND lease_owner = ?`,
		micros(r.NextAttempt), r.LastError, r.LookupFirst, r.ID, r.Owner)
	return lease.Result("retry", r.ID, r.Owner, n == 0, err)
}

// DeadLetter implements bridge.Store.
func (s *Store) DeadLetter(ctx context.Context, d bridge.DeadLetterRequest) error {
	d = d.Safe()
	lost := false
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		key, held, _, err := leaseCheck(ctx, tx, d.ID, d.Owner)
		lost = !held
		if err != nil || !held {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'dead', error_code = ?, last_error = ?,
			lease_owner = NULL, lease_until = NULL WHERE id = ?`, d.Code, d.Message, d.ID); err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ledger SET state = 'dead', last_error = ?, updated_at = ?
			WHERE key = ?`, d.LedgerError(), micros(d.Now), key); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
		return nil
	})
	return lease.Result("dead-letter", d.ID, d.Owner, lost, err)
}

// expediteQuery moves pending items due later forward (args: LookupDue,
// Due, Due, LookupDue, Due, limit). It walks outbox_due from Due on, so its
// cost is the number of items due later, not the backlog.
const expediteQuery = `UPDATE outbox SET next_attempt = CASE WHEN lookup_first THEN ? ELSE ? END
	WHERE id IN (
		SELECT id FROM outbox INDEXED BY outbox_due
		WHERE state = 'pending' AND next_attempt > ?
			AND next_attempt > CASE WHEN lookup_first THEN ? ELSE ? END
		ORDER BY next_attempt, id
		LIMIT ?)`

// Expedite implements bridge.Store.
func (s *Store) Expedite(ctx context.Context, r bridge.ExpediteRequest) (int, error) {
	due := micros(r.Due)
	lookupDue := max(due, micros(r.LookupDue))
	n, err := s.update(ctx, expediteQuery, lookupDue, due, due, lookupDue, due, limit(r.Limit))
	if err != nil {
		return 0, fmt.Errorf("expedite outbox items: %w", err)
	}
	return n, nil
}

// Replay implements bridge.Store.
func (s *Store) Replay(ctx context.Context, r bridge.ReplayRequest) (int, error) {
	n := 0
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		n = 0
		now := micros(r.Now)
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET state = 'pending', next_attempt = ?, attempts = 0,
			lease_owner = NULL, lease_until = NULL
			WHERE state = 'dead' AND (? = 0 OR id = ?) AND (? = '' OR key = ?)
			RETURNING key`, now, r.ID, r.ID, r.Key, r.Key)
		if err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		keys, err := collect(rows, func(sc scanner) (k string, err error) { return k, sc.Scan(&k) })
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `UPDATE ledger SET state = 'pending', updated_at = ?
				WHERE key = ?`, now, k); err != nil {
				return fmt.Errorf("write ledger: %w", err)
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replay dead outbox items: %w", err)
	}
	return n, nil
}
