package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/columns"
	"github.com/coc-bridge/coc-bridge/bridge/internal/lease"
)

// Claim implements bridge.Store. A Limit below 1 claims nothing.
func (s *Store) Claim(ctx context.Context, req bridge.ClaimRequest) ([]bridge.Delivery, error) {
	return lease.Claim(req, func() (out []bridge.Delivery, err error) {
		err = s.do(ctx, func(ctx context.Context, tx *wtx) error {
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
				return cmp.Or(a.next.Compare(b.next), cmp.Compare(a.d.ID, b.d.ID))
			})
			for _, c := range got {
				var enc string
				if err := tx.QueryRowContext(ctx, `SELECT m.message, `+columns.Prefixed("l", columns.ClaimLedger)+`, m.encoding
					FROM outbox_message m, ledger l WHERE m.id = ? AND l.key = ?`, c.d.ID, c.d.Key).
					Scan(append(columns.ClaimDest(&c.d, stamps{}), &enc)...); err != nil {
					return fmt.Errorf("read message and ledger entry of outbox item %d: %w", c.d.ID, err)
				}
				if c.d.Message, err = unpackMessage(c.d.Message, enc); err != nil {
					// Delivered without it, the item is dead-lettered as
					// having no valid notification; the others go on.
					s.log.Error("stored notification cannot be read", zap.Int64("id", c.d.ID),
						zap.String("key", c.d.Key), zap.Error(err))
				}
				out = append(out, c.d)
			}
			return nil
		})
		return out, err
	})
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
	RETURNING ` + columns.Delivery

// claimed is a claimed delivery (without its message) and its due time.
type claimed struct {
	d    bridge.Delivery
	next time.Time
}

// claimRows runs a claim statement and reads every row it returns.
func claimRows(ctx context.Context, tx *wtx, query string, args ...any) ([]claimed, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc scanner) (claimed, error) {
		d, next, err := columns.ScanDelivery(sc, stamps{}, nil)
		return claimed{d, next}, err
	})
}

// heldItem is what Complete, Retry and DeadLetter read of a claimed item.
type heldItem struct {
	key   string
	kind  bridge.Kind
	state bridge.ItemState
	// held: the caller still holds the lease. A lease that expired but
	// that nobody took over is still held: no other worker can have
	// acted on the item.
	held bool
}

// leaseCheck reads item id and reports whether owner holds it; found is
// false when the item is gone.
func leaseCheck(ctx context.Context, tx *wtx, id int64, owner string) (it heldItem, found bool, err error) {
	var leaseOwner sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT key, kind, state, lease_owner FROM outbox WHERE id = ?`, id).
		Scan(&it.key, &it.kind, &it.state, &leaseOwner)
	if errors.Is(err, sql.ErrNoRows) {
		return heldItem{}, false, nil
	}
	if err != nil {
		return heldItem{}, false, err
	}
	it.held = it.state == bridge.ItemPending && leaseOwner.Valid && leaseOwner.String == owner
	return it, true, nil
}

// Complete implements bridge.Store: lease.PlanComplete decides what it
// writes, also when the lease is lost (then ErrLeaseLost is returned).
func (s *Store) Complete(ctx context.Context, c bridge.Completion) error {
	c = c.Safe()
	if c.TicketID == "" {
		return fmt.Errorf("complete outbox item %d: empty ticket id", c.ID)
	}
	lost := false
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		it, found, err := leaseCheck(ctx, tx, c.ID, c.Owner)
		lost = !found || !it.held
		if err != nil || !found || (lost && c.Kind != bridge.KindCreate) {
			return err
		}
		cur, found, err := getEntry(ctx, tx, it.key)
		if err != nil || !found {
			return fmt.Errorf("read ledger: %w", cmp.Or(err, bridge.ErrNotFound))
		}
		c.Now = utc(c.Now)
		p, ok := lease.PlanComplete(cur, c, lost)
		if !ok {
			return nil
		}
		if p.Changed {
			if err := putEntry(ctx, tx, p.Entry); err != nil {
				return fmt.Errorf("write ledger: %w", err)
			}
		}
		return keepOrDelete(ctx, tx, c.ID, p, micros(c.Now))
	})
	return lease.Result("complete", c.ID, c.Owner, lost, err)
}

// keepOrDelete ends item id's operation as p says: the item stays as the
// key's next operation, due at now and started afresh, or is deleted.
func keepOrDelete(ctx context.Context, tx *wtx, id int64, p lease.Plan, now int64) error {
	if !p.Keep {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete outbox item: %w", err)
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', kind = ?, previous_ticket_id = ?,
		next_attempt = ?, attempts = 0, last_error = '', error_code = '', lookup_first = 0,
		lookups_done = 0, unclear_since = NULL, lease_owner = NULL, lease_until = NULL
		WHERE id = ?`, string(p.Next), p.Entry.PreviousTicketID, now, id); err != nil {
		return fmt.Errorf("keep outbox item for the next operation: %w", err)
	}
	return nil
}

// retryCreateQuery reschedules a held create: a create's retry needs no
// ledger read (args: next attempt, last error, lookup first, lookups done,
// unclear since, id, owner).
const retryCreateQuery = `UPDATE outbox SET next_attempt = ?, last_error = ?, lookup_first = ?,
		lookups_done = ?, unclear_since = ?, lease_owner = NULL, lease_until = NULL
	WHERE id = ? AND state = 'pending' AND lease_owner = ? AND kind = 'create'`

// Retry implements bridge.Store. A create is rescheduled in one statement;
// another kind is rescheduled as the kind of the key's next operation, or
// deleted when there is none.
func (s *Store) Retry(ctx context.Context, r bridge.RetryRequest) error {
	r = r.Safe()
	lost := false
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		args := []any{micros(r.NextAttempt), r.LastError, r.LookupFirst, r.LookupsDone, optMicros(r.UnclearSince)}
		res, err := tx.ExecContext(ctx, retryCreateQuery, append(args, r.ID, r.Owner)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		it, _, err := leaseCheck(ctx, tx, r.ID, r.Owner)
		lost = !it.held
		if err != nil || lost {
			return err
		}
		e, _, err := getEntry(ctx, tx, it.key)
		if err != nil {
			return fmt.Errorf("read ledger: %w", err)
		}
		next, ok := bridge.NextOperation(e)
		if !ok {
			_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, r.ID)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET kind = ?, next_attempt = ?, last_error = ?, lookup_first = ?,
			lookups_done = ?, unclear_since = ?, lease_owner = NULL, lease_until = NULL
			WHERE id = ?`, append(append([]any{string(next)}, args...), r.ID)...)
		return err
	})
	return lease.Result("retry", r.ID, r.Owner, lost, err)
}

// DeadLetter implements bridge.Store: only a create's dead letter marks the
// entry dead.
func (s *Store) DeadLetter(ctx context.Context, d bridge.DeadLetterRequest) error {
	d = d.Safe()
	lost := false
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		it, _, err := leaseCheck(ctx, tx, d.ID, d.Owner)
		lost = !it.held
		if err != nil || lost {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'dead', error_code = ?, last_error = ?,
			lease_owner = NULL, lease_until = NULL WHERE id = ?`, d.Code, d.Message, d.ID); err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ledger SET state = CASE WHEN ? THEN 'dead' ELSE state END,
			last_error = ?, updated_at = ? WHERE key = ?`,
			it.kind == bridge.KindCreate, d.LedgerError(), micros(d.Now), it.key); err != nil {
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
			RETURNING key, kind`, now, r.ID, r.ID, r.Key, r.Key)
		if err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		type replayed struct {
			key  string
			kind bridge.Kind
		}
		items, err := collect(rows, func(sc scanner) (r replayed, err error) { return r, sc.Scan(&r.key, &r.kind) })
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.kind != bridge.KindCreate {
				continue // an action's entry stays open
			}
			if _, err := tx.ExecContext(ctx, `UPDATE ledger SET state = 'pending', updated_at = ?
				WHERE key = ?`, now, it.key); err != nil {
				return fmt.Errorf("write ledger: %w", err)
			}
		}
		n = len(items)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replay dead outbox items: %w", err)
	}
	return n, nil
}
