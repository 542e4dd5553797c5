package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// where builds a WHERE clause from equality filters; empty values match
// everything.
func where(conds ...string) (string, []any) {
	var parts []string
	var args []any
	for i := 0; i+1 < len(conds); i += 2 {
		if conds[i+1] != "" {
			parts = append(parts, conds[i]+" = ?")
			args = append(args, conds[i+1])
		}
	}
	if len(parts) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(parts, " AND "), args
}

// limit turns a filter's Limit (0: everything) into SQLite's.
func limit(n int) int {
	if n < 1 {
		return -1
	}
	return n
}

// Ledger implements bridge.Store: most recently updated first, then by key.
// It writes the buffered repeats first, so it counts every notification
// this Store accepted.
func (s *Store) Ledger(ctx context.Context, f bridge.LedgerFilter) ([]bridge.LedgerEntry, error) {
	if !s.gate.Enter() {
		return nil, errClosed
	}
	defer s.gate.Leave()
	// A failed write keeps them buffered; the list shows what is stored.
	_ = s.repeats.Flush(ctx, s.writeRepeats)
	w, args := where("key", f.Key, "state", string(f.State))
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+ledgerCols+` FROM ledger`+w+
		` ORDER BY updated_at DESC, key LIMIT ?`, append(args, limit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	out, err := collect(rows, scanEntry)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	return out, nil
}

// Outbox implements bridge.Store: oldest accepted first, then by id.
func (s *Store) Outbox(ctx context.Context, f bridge.OutboxFilter) ([]bridge.OutboxItem, error) {
	if !s.gate.Enter() {
		return nil, errClosed
	}
	defer s.gate.Leave()
	w, args := where("key", f.Key, "state", string(f.State))
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+itemCols+` FROM outbox`+w+
		` ORDER BY accepted_at, id LIMIT ?`, append(args, limit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	out, err := collect(rows, scanItem)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// Stats implements bridge.Store. Every state has a count, zero included; the
// counts come from one snapshot.
func (s *Store) Stats(ctx context.Context) (bridge.Stats, error) {
	if !s.gate.Enter() {
		return bridge.Stats{}, errClosed
	}
	defer s.gate.Leave()
	st := bridge.Stats{Ledger: map[bridge.State]int64{}, Outbox: map[bridge.ItemState]int64{}}
	for _, state := range bridge.States {
		st.Ledger[state] = 0
	}
	st.Outbox[bridge.ItemPending], st.Outbox[bridge.ItemDead] = 0, 0

	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return bridge.Stats{}, fmt.Errorf("read stats: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read-only: nothing to keep
	count := func(table string, add func(state string, n int64)) error {
		rows, err := tx.QueryContext(ctx, `SELECT state, count(*) FROM `+table+` GROUP BY state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var state string
			var n int64
			if err := rows.Scan(&state, &n); err != nil {
				return err
			}
			add(state, n)
		}
		return rows.Err()
	}
	if err := count("ledger", func(state string, n int64) { st.Ledger[bridge.State(state)] = n }); err != nil {
		return bridge.Stats{}, fmt.Errorf("read stats: ledger: %w", err)
	}
	if err := count("outbox", func(state string, n int64) { st.Outbox[bridge.ItemState(state)] = n }); err != nil {
		return bridge.Stats{}, fmt.Errorf("read stats: outbox: %w", err)
	}
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(accepted_at) FROM outbox WHERE state = 'pending'`).
		Scan(&oldest); err != nil {
		return bridge.Stats{}, fmt.Errorf("read stats: oldest pending: %w", err)
	}
	if oldest.Valid {
		st.OldestPending = fromMicros(oldest.Int64)
	}
	var checked sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(coalesce(checked_at, opened_at)) FROM ledger
		WHERE state = 'open' AND ticket_id <> ''`).Scan(&checked); err != nil {
		return bridge.Stats{}, fmt.Errorf("read stats: oldest check: %w", err)
	}
	if checked.Valid {
		st.OldestCheck = fromMicros(checked.Int64)
	}
	return st, nil
}
