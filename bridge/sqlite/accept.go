package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// do runs fn as one write call: it fails once the Store is closed.
func (s *Store) do(ctx context.Context, fn writeFunc) error {
	if !s.gate.Enter() {
		return errClosed
	}
	defer s.gate.Leave()
	return s.write(ctx, fn)
}

// update runs query, one statement, as a write call and returns the number
// of rows it changed.
func (s *Store) update(ctx context.Context, query string, args ...any) (int, error) {
	n := 0
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		changed, err := res.RowsAffected()
		n = int(changed)
		return err
	})
	return n, err
}

// Accept implements bridge.Store. The whole batch is one write call, so one
// commit; the writer is the only writer, so key order needs no locks here.
func (s *Store) Accept(ctx context.Context, batch ...bridge.Notification) ([]bridge.AcceptResult, error) {
	var res []bridge.AcceptResult
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		res, err = bridge.AcceptInOrder(batch, func(n bridge.Notification) (bridge.AcceptResult, error) {
			n.ReceivedAt = utc(n.ReceivedAt) // the storage precision, so the result equals what is read back
			return acceptOne(ctx, tx, n)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// acceptOne applies one notification in the writer's transaction.
func acceptOne(ctx context.Context, tx *wtx, n bridge.Notification) (bridge.AcceptResult, error) {
	cur, found, err := getEntry(ctx, tx, n.Key)
	if err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("read ledger: %w", err)
	}
	d := bridge.Decide(found, cur.State, n.Firing)
	if d == bridge.DecisionResolvedUnknown {
		return bridge.AcceptResult{Decision: d}, nil
	}
	e := bridge.ApplyNotification(cur, found, n, d)
	if err := putEntry(ctx, tx, e); err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("write ledger: %w", err)
	}
	msg := n.Message
	if msg == nil {
		msg = []byte{}
	}
	switch d {
	case bridge.DecisionCreate:
		err = queue(ctx, tx, n, msg, e.PreviousTicketID)
	case bridge.DecisionSuppressPending, bridge.DecisionSuppressDead:
		state := bridge.ItemPending
		if d == bridge.DecisionSuppressDead {
			state = bridge.ItemDead
		}
		err = replaceMessage(ctx, tx, n, msg, state)
	}
	if err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("write outbox: %w", err)
	}
	return bridge.AcceptResult{Decision: d, Entry: e}, nil
}

// queue inserts the outbox item of a create, due at once, and its message.
func queue(ctx context.Context, tx *wtx, n bridge.Notification, msg []byte, previous string) error {
	at := micros(n.ReceivedAt)
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox
		(key, receiver, state, previous_ticket_id, next_attempt, accepted_at)
		VALUES (?, ?, 'pending', ?, ?, ?)`,
		n.Key, n.Receiver, previous, at, at)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox_message (id, message) VALUES (?, ?)`, id, msg)
	return err
}

// replaceItemQuery finds a key's live item in a state through
// outbox_key_live: the index's own condition must be in the query for
// SQLite to use it, and the state is a literal (a bound state would make
// SQLite prepare the statement again on every run to recheck the index).
var replaceItemQuery = map[bridge.ItemState]string{
	bridge.ItemPending: `UPDATE outbox SET receiver = ?
		WHERE key = ? AND state IN ('pending', 'dead') AND state = 'pending' RETURNING id`,
	bridge.ItemDead: `UPDATE outbox SET receiver = ?
		WHERE key = ? AND state IN ('pending', 'dead') AND state = 'dead' RETURNING id`,
}

// replaceMessage makes the key's item in state carry the newer notification.
func replaceMessage(ctx context.Context, tx *wtx, n bridge.Notification, msg []byte, state bridge.ItemState) error {
	var id int64
	err := tx.QueryRowContext(ctx, replaceItemQuery[state], n.Receiver, n.Key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the ledger and the outbox disagree; nothing to carry the message
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE outbox_message SET message = ? WHERE id = ?`, msg, id)
	return err
}
