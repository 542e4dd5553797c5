package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// Accept implements bridge.Store. Each key's ledger row lock serialises
// concurrent Accepts of that key across every replica; a batch takes them in
// key order (bridge.AcceptInOrder), so batches sharing keys cannot deadlock.
func (s *Store) Accept(ctx context.Context, batch ...bridge.Notification) ([]bridge.AcceptResult, error) {
	var res []bridge.AcceptResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		res, err = bridge.AcceptInOrder(batch, func(n bridge.Notification) (bridge.AcceptResult, error) {
			n.ReceivedAt = utc(n.ReceivedAt) // the storage precision, so the result equals what is read back
			return s.acceptOne(ctx, tx, n)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// acceptOne applies one notification in tx.
func (s *Store) acceptOne(ctx context.Context, tx pgx.Tx, n bridge.Notification) (bridge.AcceptResult, error) {
	msg := n.Message
	if msg == nil {
		msg = []byte{}
	}
	cur, found, err := s.lockEntry(ctx, tx, n.Key)
	if err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("read ledger: %w", err)
	}
	d := bridge.Decide(found, cur.State, n.Firing)
	if !found && d == bridge.DecisionCreate {
		// One statement inserts the ledger row and, only if that insert
		// happened, queues the item: a round trip fewer for every new key.
		e := bridge.ApplyNotification(bridge.LedgerEntry{}, false, n, d)
		args := append(entryArgs(e), msg, utc(n.ReceivedAt))
		tag, err := tx.Exec(ctx, s.q(`WITH l AS (
				INSERT INTO {ledger} (`+ledgerCols+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
				ON CONFLICT (key) DO NOTHING
				RETURNING key, receiver, previous_ticket_id)
			INSERT INTO {outbox} (key, receiver, state, message, previous_ticket_id, next_attempt, accepted_at)
			SELECT key, receiver, 'pending', $18, previous_ticket_id, $19, $19 FROM l`), args...)
		if err != nil {
			return bridge.AcceptResult{}, fmt.Errorf("write ledger and outbox: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return bridge.AcceptResult{Decision: d, Entry: e}, nil
		}
		// Another Accept inserted the key first (the INSERT waited for
		// it to commit): decide on its row.
		if cur, found, err = s.lockEntry(ctx, tx, n.Key); err != nil {
			return bridge.AcceptResult{}, fmt.Errorf("read ledger: %w", err)
		}
		d = bridge.Decide(found, cur.State, n.Firing)
	}
	if d == bridge.DecisionResolvedUnknown {
		return bridge.AcceptResult{Decision: d}, nil
	}
	e := bridge.ApplyNotification(cur, found, n, d)
	if _, err := tx.Exec(ctx, s.q(`UPDATE {ledger} SET receiver = $2, state = $3, ticket_id = $4,
		previous_ticket_id = $5, level = $6, title = $7, last_status = $8, notifications = $9,
		last_error = $10, ticket_status = $11, created_at = $12, updated_at = $13, opened_at = $14,
		closed_at = $15, resolved_at = $16, checked_at = $17
		WHERE key = $1`), entryArgs(e)...); err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("write ledger: %w", err)
	}
	switch d {
	case bridge.DecisionCreate:
		err = s.queue(ctx, tx, n, msg, e.PreviousTicketID)
	case bridge.DecisionSuppressPending, bridge.DecisionSuppressDead:
		state := bridge.ItemPending
		if d == bridge.DecisionSuppressDead {
			state = bridge.ItemDead
		}
		_, err = tx.Exec(ctx, s.q(`UPDATE {outbox} SET message = $1, receiver = $2
			WHERE key = $3 AND state = $4`), msg, n.Receiver, n.Key, string(state))
	}
	if err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("write outbox: %w", err)
	}
	return bridge.AcceptResult{Decision: d, Entry: e}, nil
}

// queue inserts the outbox item of a create, due at once.
func (s *Store) queue(ctx context.Context, tx pgx.Tx, n bridge.Notification, msg []byte, previous string) error {
	at := utc(n.ReceivedAt)
	_, err := tx.Exec(ctx, s.q(`INSERT INTO {outbox}
		(key, receiver, state, message, previous_ticket_id, next_attempt, accepted_at)
		VALUES ($1, $2, 'pending', $3, $4, $5, $5)`), n.Key, n.Receiver, msg, previous, at)
	if err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	return nil
}
