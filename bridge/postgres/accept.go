package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/touch"
)

// Accept implements bridge.Store. A repeat (bridge.PlanRepeat) of one
// notification is answered from one read, one round trip. Otherwise each
// key's ledger row lock serialises concurrent Accepts of that key across
// every replica; a batch takes them in key order (bridge.AcceptInOrder), so
// batches sharing keys cannot deadlock.
func (s *Store) Accept(ctx context.Context, batch ...bridge.Notification) ([]bridge.AcceptResult, error) {
	if res, ok := s.acceptInOneTrip(ctx, batch); ok {
		return res, nil
	}
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

// acceptInOneTrip answers a batch of one notification in one round trip when
// it can: a repeat from one statement reading the key's entry and live item,
// a new key (the read found none) from the one statement that inserts it.
// ok is false when the batch must be written in a transaction, or a
// statement failed (the write path reports the store's errors).
func (s *Store) acceptInOneTrip(ctx context.Context, batch []bridge.Notification) ([]bridge.AcceptResult, bool) {
	if len(batch) != 1 || batch[0].Key == "" || !s.gate.Enter() {
		return nil, false
	}
	defer s.gate.Leave()
	n := batch[0]
	n.ReceivedAt = utc(n.ReceivedAt)
	var (
		id          *int64
		kind, state *string
		leased      *bool
	)
	cur, err := scanEntry(extraRow{Row: s.pool.QueryRow(ctx, s.q(`SELECT `+ledgerCols+`, item_id, item_kind, item_state, item_leased
		FROM {ledger} LEFT JOIN LATERAL (
			SELECT o.id AS item_id, o.kind AS item_kind, o.state AS item_state,
				o.lease_owner IS NOT NULL AND o.lease_until > $2 AS item_leased
			FROM {outbox} o WHERE o.key = $1 AND o.state IN ('pending', 'dead')) i ON true
		WHERE key = $1`), n.Key, n.ReceivedAt), More: []any{&id, &kind, &state, &leased}})
	if errors.Is(err, pgx.ErrNoRows) {
		// A new key: its one statement commits on its own, so the common
		// first firing is a round trip too. If another Accept inserted the
		// key meanwhile, nothing was written and the transaction decides.
		d, e, inserted, err := s.insertNew(ctx, s.pool, n)
		if err != nil || (!inserted && d != bridge.DecisionResolvedUnknown) {
			return nil, false
		}
		return []bridge.AcceptResult{{Decision: d, Entry: e}}, true
	}
	if err != nil {
		return nil, false
	}
	var it bridge.ItemRef
	if id != nil && kind != nil && state != nil && leased != nil {
		it = bridge.ItemRef{Found: true, Kind: bridge.Kind(*kind), State: bridge.ItemState(*state), Leased: *leased}
	}
	res, ok := bridge.AcceptRepeat(cur, true, n, it, &s.repeats)
	if !ok {
		return nil, false
	}
	return []bridge.AcceptResult{res}, true
}

// writeRepeats adds buffered repeats to their keys' counts and update
// times, in one transaction that locks the rows in key order first, as a
// batch Accept does, so it cannot deadlock with one.
func (s *Store) writeRepeats(ctx context.Context, m map[string]touch.Touch) error {
	keys := slices.Sorted(maps.Keys(m))
	ns, ats := make([]int64, len(keys)), make([]time.Time, len(keys))
	for i, k := range keys {
		ns[i], ats[i] = m[k].N, m[k].At
	}
	err := s.runTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.q(`SELECT 1 FROM {ledger} WHERE key = ANY($1) ORDER BY key FOR UPDATE`), keys); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.q(`UPDATE {ledger} l SET notifications = l.notifications + t.n,
				updated_at = GREATEST(l.updated_at, t.at)
			FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS t(key, n, at)
			WHERE l.key = t.key`), keys, ns, ats)
		return err
	})
	if err != nil {
		return fmt.Errorf("write the repeats of %d keys: %w", len(keys), err)
	}
	return nil
}

// insertNew applies n to a key without a ledger entry: one statement
// inserts the ledger row and, only if that insert happened, queues the item
// (a new key's plan is always an insert). inserted is false when the key
// has an entry (another Accept inserted it first; the INSERT waited for it
// to commit): then nothing was written and the caller decides on that
// entry. A resolve of an unknown key writes nothing.
func (s *Store) insertNew(ctx context.Context, db querier, n bridge.Notification) (bridge.Decision, bridge.LedgerEntry, bool, error) {
	d, e, plan := bridge.PlanAccept(bridge.LedgerEntry{}, false, n, bridge.ItemRef{})
	if d == bridge.DecisionResolvedUnknown {
		return d, bridge.LedgerEntry{}, false, nil
	}
	msg := n.Message
	if msg == nil {
		msg = []byte{}
	}
	args := append(entryArgs(e), msg, utc(n.ReceivedAt), string(plan.Kind), n.LookupBeforeCreate)
	tag, err := db.Exec(ctx, s.q(`WITH l AS (
			INSERT INTO {ledger} (`+ledgerCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
				$18, $19, $20, $21, $22)
			ON CONFLICT (key) DO NOTHING
			RETURNING key, receiver, previous_ticket_id)
		INSERT INTO {outbox} (key, receiver, state, kind, message, previous_ticket_id, lookup_first,
			next_attempt, accepted_at)
		SELECT key, receiver, 'pending', $25, $23, previous_ticket_id, $26, $24, $24 FROM l`), args...)
	if err != nil {
		return "", bridge.LedgerEntry{}, false, fmt.Errorf("write ledger and outbox: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return "", bridge.LedgerEntry{}, false, nil
	}
	return d, e, true, nil
}

// acceptOne applies one notification in tx: the decision is
// bridge.PlanAccept's.
func (s *Store) acceptOne(ctx context.Context, tx pgx.Tx, n bridge.Notification) (bridge.AcceptResult, error) {
	msg := n.Message
	if msg == nil {
		msg = []byte{}
	}
	cur, found, it, err := s.lockEntryAndItem(ctx, tx, n)
	if err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("read ledger: %w", err)
	}
	if !found {
		d, e, inserted, err := s.insertNew(ctx, tx, n)
		if err != nil || inserted || d == bridge.DecisionResolvedUnknown {
			return bridge.AcceptResult{Decision: d, Entry: e}, err
		}
		// Another Accept inserted the key first (the INSERT waited for
		// it to commit): decide on its row.
		if cur, found, it, err = s.lockEntryAndItem(ctx, tx, n); err != nil {
			return bridge.AcceptResult{}, fmt.Errorf("read ledger: %w", err)
		}
	}
	d, e, plan := bridge.PlanAccept(cur, found, n, it.ref)
	if d == bridge.DecisionResolvedUnknown {
		return bridge.AcceptResult{Decision: d}, nil
	}
	if err := s.putEntry(ctx, tx, e); err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("write ledger: %w", err)
	}
	if err := s.applyPlan(ctx, tx, n, e, msg, it.id, plan); err != nil {
		return bridge.AcceptResult{}, fmt.Errorf("write outbox: %w", err)
	}
	return bridge.AcceptResult{Decision: d, Entry: e}, nil
}

// liveItem is a key's pending-or-dead outbox item as Accept sees it.
type liveItem struct {
	id  int64
	ref bridge.ItemRef
}

// lockEntryAndItem reads n's key's ledger entry, locking its row until the
// end of the transaction, and then the key's live item, in one round trip
// (a batch of two statements). The item is read by a statement of its own
// so that it sees what the Accept or Complete that held the row lock
// before committed (one statement joining both would read the item as it
// was before the lock wait). It is leased when a worker's lease on it runs
// past n.ReceivedAt. Its row is not locked: a Claim may lease it
// meanwhile, so applyPlan deletes it only if it is still unleased.
func (s *Store) lockEntryAndItem(ctx context.Context, tx pgx.Tx, n bridge.Notification) (bridge.LedgerEntry, bool, liveItem, error) {
	b := &pgx.Batch{}
	b.Queue(s.q(`SELECT `+ledgerCols+` FROM {ledger} WHERE key = $1 FOR UPDATE`), n.Key)
	b.Queue(s.q(`SELECT id, kind, state, lease_owner IS NOT NULL AND lease_until > $2 FROM {outbox}
		WHERE key = $1 AND state IN ('pending', 'dead')`), n.Key, utc(n.ReceivedAt))
	res := tx.SendBatch(ctx, b)
	defer func() { _ = res.Close() }() // the reads' errors are returned below
	e, err := scanEntry(res.QueryRow())
	found := err == nil
	if errors.Is(err, pgx.ErrNoRows) {
		e, err = bridge.LedgerEntry{}, nil
	}
	if err != nil {
		return bridge.LedgerEntry{}, false, liveItem{}, err
	}
	var it liveItem
	var kind, state string
	err = res.QueryRow().Scan(&it.id, &kind, &state, &it.ref.Leased)
	switch {
	case err == nil:
		it.ref.Found, it.ref.Kind, it.ref.State = true, bridge.Kind(kind), bridge.ItemState(state)
	case !errors.Is(err, pgx.ErrNoRows):
		return bridge.LedgerEntry{}, false, liveItem{}, fmt.Errorf("read outbox: %w", err)
	}
	return e, found, it, res.Close()
}

// applyPlan does to the key's live item id what plan says.
func (s *Store) applyPlan(ctx context.Context, tx pgx.Tx, n bridge.Notification, e bridge.LedgerEntry, msg []byte,
	id int64, plan bridge.ItemPlan) error {
	var err error
	switch plan.Action {
	case bridge.ItemInsert:
		err = s.queue(ctx, tx, n, e, plan.Kind, msg)
	case bridge.ItemReplace:
		// A dead item: no worker holds it.
		if _, err = tx.Exec(ctx, s.q(`DELETE FROM {outbox} WHERE id = $1`), id); err == nil {
			err = s.queue(ctx, tx, n, e, plan.Kind, msg)
		}
	case bridge.ItemDelete:
		// Unless a Claim leased it since it was read: then its Complete
		// or Retry decides.
		_, err = tx.Exec(ctx, s.q(`DELETE FROM {outbox} WHERE id = $1
			AND NOT (lease_owner IS NOT NULL AND lease_until > $2)`), id, utc(n.ReceivedAt))
	case bridge.ItemUpdate:
		if plan.Message {
			_, err = tx.Exec(ctx, s.q(`UPDATE {outbox} SET kind = $1, receiver = $2, previous_ticket_id = $3,
				message = $4 WHERE id = $5`), string(plan.Kind), n.Receiver, e.PreviousTicketID, msg, id)
		} else {
			_, err = tx.Exec(ctx, s.q(`UPDATE {outbox} SET kind = $1, receiver = $2, previous_ticket_id = $3
				WHERE id = $4`), string(plan.Kind), n.Receiver, e.PreviousTicketID, id)
		}
	}
	return err
}

// queue inserts an outbox item of kind, due at once. Only a new key's
// first create looks the key up first, which the fast path of acceptOne
// queues.
func (s *Store) queue(ctx context.Context, tx pgx.Tx, n bridge.Notification, e bridge.LedgerEntry, kind bridge.Kind, msg []byte) error {
	at := utc(n.ReceivedAt)
	_, err := tx.Exec(ctx, s.q(`INSERT INTO {outbox}
		(key, receiver, state, kind, message, previous_ticket_id, next_attempt, accepted_at)
		VALUES ($1, $2, 'pending', $3, $4, $5, $6, $6)`), n.Key, n.Receiver, string(kind), msg, e.PreviousTicketID, at)
	return err
}
