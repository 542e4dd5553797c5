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
	if !s.gate.enter() {
		return errClosed
	}
	defer s.gate.leave()
	return s.write(ctx, fn)
}

// Accept implements bridge.Store.
func (s *Store) Accept(ctx context.Context, n bridge.Notification) (bridge.AcceptResult, error) {
	n.ReceivedAt = utc(n.ReceivedAt) // the storage precision, so the result equals what is read back
	if n.Key == "" {
		return bridge.AcceptResult{}, errors.New("accept notification: empty key")
	}
	var res bridge.AcceptResult
	err := s.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, found, err := getEntry(ctx, tx, n.Key)
		if err != nil {
			return fmt.Errorf("read ledger: %w", err)
		}
		d := bridge.Decide(found, cur.State, n.Firing)
		if d == bridge.DecisionResolvedUnknown {
			res = bridge.AcceptResult{Decision: d}
			return nil
		}
		e := bridge.ApplyNotification(cur, found, n, d)
		if err := putEntry(ctx, tx, e); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
		msg := n.Message
		if msg == nil {
			msg = []byte{}
		}
		switch d {
		case bridge.DecisionCreate:
			at := micros(n.ReceivedAt)
			_, err = tx.ExecContext(ctx, `INSERT INTO outbox
				(key, receiver, state, message, previous_ticket_id, next_attempt, accepted_at)
				VALUES (?, ?, 'pending', ?, ?, ?, ?)`,
				n.Key, n.Receiver, msg, e.PreviousTicketID, at, at)
		case bridge.DecisionSuppressPending, bridge.DecisionSuppressDead:
			state := bridge.ItemPending
			if d == bridge.DecisionSuppressDead {
				state = bridge.ItemDead
			}
			_, err = tx.ExecContext(ctx, `UPDATE outbox SET message = ?, receiver = ?
				WHERE key = ? AND state = ?`, msg, n.Receiver, n.Key, string(state))
		}
		if err != nil {
			return fmt.Errorf("write outbox: %w", err)
		}
		res = bridge.AcceptResult{Decision: d, Entry: e}
		return nil
	})
	if err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("accept notification for key %s: %w", n.Key, err)
	}
	return res, nil
}
