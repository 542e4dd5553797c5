package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/columns"
	"github.com/coc-bridge/coc-bridge/bridge/internal/touch"
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

// Accept implements bridge.Store. A repeat (bridge.PlanRepeat) of one
// notification is answered from a read on a reader connection; anything else,
// and a key the ledger cannot hold yet (keyFilter), is one write call for the
// whole batch, so one commit. The writer is the
// only writer, so key order needs no locks here.
func (s *Store) Accept(ctx context.Context, batch ...bridge.Notification) ([]bridge.AcceptResult, error) {
	if res, ok := s.acceptRepeat(ctx, batch); ok {
		return res, nil
	}
	var res []bridge.AcceptResult
	err := s.do(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		res, err = bridge.AcceptInOrder(batch, func(n bridge.Notification) (bridge.AcceptResult, error) {
			n.ReceivedAt = utc(n.ReceivedAt) // the storage precision, so the result equals what is read back
			r, err := acceptOne(ctx, tx, n, !s.keys.mayHold(n.Key))
			if err == nil && r.Decision != bridge.DecisionResolvedUnknown {
				s.keys.add(n.Key)
			}
			return r, err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// acceptRepeat answers a batch of one repeat from a read of the key on a
// reader connection, or from the repeat cache when nothing was committed
// since that read; ok is false when the batch must be written (a new key
// among them, known without a read), or the read failed (the write path
// reports the store's errors).
func (s *Store) acceptRepeat(ctx context.Context, batch []bridge.Notification) ([]bridge.AcceptResult, bool) {
	if len(batch) != 1 || batch[0].Key == "" || !s.keys.mayHold(batch[0].Key) || !s.gate.Enter() {
		return nil, false
	}
	defer s.gate.Leave()
	n := batch[0]
	n.ReceivedAt = utc(n.ReceivedAt)
	now, commits := time.Now(), s.commits.Load()
	cur, found := s.cache.get(n.Key, commits, now)
	var it liveItem
	if !found {
		var err error
		if cur, found, it, err = scanEntryAndItem(s.repeatRead.QueryRowContext(ctx, micros(n.ReceivedAt), n.Key)); err != nil {
			return nil, false
		}
		if found && !it.ref.Found {
			s.cache.put(n.Key, cur, commits, now)
		}
	}
	res, ok := bridge.AcceptRepeat(cur, found, n, it.ref, &s.repeats)
	if !ok {
		return nil, false
	}
	return []bridge.AcceptResult{res}, true
}

// writeRepeats adds buffered repeats to their keys' counts and update
// times, in one write call.
func (s *Store) writeRepeats(ctx context.Context, m map[string]touch.Touch) error {
	return s.write(ctx, func(ctx context.Context, tx *wtx) error {
		for key, t := range m {
			if _, err := tx.ExecContext(ctx, `UPDATE ledger SET notifications = notifications + ?,
				updated_at = max(updated_at, ?) WHERE key = ?`, t.N, micros(t.At), key); err != nil {
				return fmt.Errorf("write repeats of %s: %w", key, err)
			}
		}
		return nil
	})
}

// acceptOne applies one notification in the writer's transaction: the
// decision is bridge.PlanAccept's. A key the filter has never seen (fresh)
// is decided as new without reading the ledger, and its entry inserted only
// if it is not there after all: another process may have written it, and
// then the key is read and decided as any other.
func acceptOne(ctx context.Context, tx *wtx, n bridge.Notification, fresh bool) (bridge.AcceptResult, error) {
	var (
		cur   bridge.LedgerEntry
		found bool
		it    liveItem
	)
	if !fresh {
		var err error
		if cur, found, it, err = getEntryAndItem(ctx, tx, n.Key, micros(n.ReceivedAt)); err != nil {
			return bridge.AcceptResult{}, fmt.Errorf("read ledger: %w", err)
		}
	}
	d, e, plan := bridge.PlanAccept(cur, found, n, it.ref)
	if d == bridge.DecisionResolvedUnknown {
		return bridge.AcceptResult{Decision: d}, nil
	}
	if fresh {
		inserted, err := insertEntry(ctx, tx, e)
		if err != nil {
			return bridge.AcceptResult{}, fmt.Errorf("write ledger: %w", err)
		}
		if !inserted {
			return acceptOne(ctx, tx, n, false)
		}
	} else if err := putEntry(ctx, tx, e); err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("write ledger: %w", err)
	}
	if err := applyPlan(ctx, tx, n, e, it.id, plan, n.LookupBeforeCreate && !found); err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("write outbox: %w", err)
	}
	return bridge.AcceptResult{Decision: d, Entry: e}, nil
}

// liveItem is a key's pending-or-dead outbox item as Accept sees it.
type liveItem struct {
	id  int64
	ref bridge.ItemRef
}

// entryAndItemQuery reads a key's ledger entry and its live item in one
// statement (args: now, key). The join names outbox_key_live's own
// condition, so SQLite finds the item through that index (TestQueryPlans).
var entryAndItemQuery = `SELECT ` + columns.Prefixed("l", ledgerCols) + `,
		o.id, o.kind, o.state, o.lease_owner IS NOT NULL AND o.lease_until > ?
	FROM ledger l LEFT JOIN outbox o ON o.key = l.key AND o.state IN ('pending', 'dead')
	WHERE l.key = ?`

// getEntryAndItem reads key's ledger entry and its live item; the item is
// leased when a worker's lease on it runs past now.
func getEntryAndItem(ctx context.Context, tx *wtx, key string, now int64) (bridge.LedgerEntry, bool, liveItem, error) {
	return scanEntryAndItem(tx.QueryRowContext(ctx, entryAndItemQuery, now, key))
}

// scanEntryAndItem scans a row of entryAndItemQuery.
func scanEntryAndItem(row *sql.Row) (bridge.LedgerEntry, bool, liveItem, error) {
	var (
		id     sql.NullInt64
		kind   sql.NullString
		state  sql.NullString
		leased sql.NullBool
	)
	e, err := scanEntry(extraRow{Row: row, More: []any{&id, &kind, &state, &leased}})
	if errors.Is(err, sql.ErrNoRows) {
		return bridge.LedgerEntry{}, false, liveItem{}, nil
	}
	if err != nil {
		return bridge.LedgerEntry{}, false, liveItem{}, err
	}
	it := liveItem{id: id.Int64, ref: bridge.ItemRef{Found: id.Valid, Kind: bridge.Kind(kind.String),
		State: bridge.ItemState(state.String), Leased: leased.Bool}}
	return e, true, it, nil
}

// applyPlan does to the key's live item id what plan says; lookupFirst
// marks an inserted create to look the key up before creating.
func applyPlan(ctx context.Context, tx *wtx, n bridge.Notification, e bridge.LedgerEntry, id int64,
	plan bridge.ItemPlan, lookupFirst bool) error {
	msg := n.Message
	switch plan.Action {
	case bridge.ItemInsert:
		return queue(ctx, tx, n, e, plan.Kind, msg, lookupFirst)
	case bridge.ItemReplace:
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id); err != nil {
			return err
		}
		return queue(ctx, tx, n, e, plan.Kind, msg, lookupFirst)
	case bridge.ItemDelete:
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id)
		return err
	case bridge.ItemUpdate:
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET kind = ?, receiver = ?, previous_ticket_id = ?
			WHERE id = ?`, string(plan.Kind), n.Receiver, e.PreviousTicketID, id); err != nil {
			return err
		}
		if !plan.Message {
			return nil
		}
		blob, enc := packMessage(msg)
		_, err := tx.ExecContext(ctx, `UPDATE outbox_message SET message = ?, encoding = ? WHERE id = ?`, blob, enc, id)
		return err
	}
	return nil
}

// queue inserts an outbox item of kind, due at once, and its message
// (packMessage).
func queue(ctx context.Context, tx *wtx, n bridge.Notification, e bridge.LedgerEntry, kind bridge.Kind,
	msg []byte, lookupFirst bool) error {
	at := micros(n.ReceivedAt)
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox
		(key, receiver, state, kind, previous_ticket_id, lookup_first, next_attempt, accepted_at)
		VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)`,
		n.Key, n.Receiver, string(kind), e.PreviousTicketID, lookupFirst, at, at)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	blob, enc := packMessage(msg)
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox_message (id, message, encoding) VALUES (?, ?, ?)`, id, blob, enc)
	return err
}
