package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// where builds a WHERE clause from equality filters (empty values match
// everything) and appends the limit (nil: no limit) as the last argument.
func where(limit int, conds ...string) (clause string, args []any) {
	var parts []string
	for i := 0; i+1 < len(conds); i += 2 {
		if conds[i+1] != "" {
			args = append(args, conds[i+1])
			parts = append(parts, fmt.Sprintf("%s = $%d", conds[i], len(args)))
		}
	}
	if len(parts) > 0 {
		clause = " WHERE " + strings.Join(parts, " AND ")
	}
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	args = append(args, lim)
	return clause, args
}

// list runs selection with the key and state filters (where: "" matches
// all) in order, at most limit rows (0: all), and scans every row; no row
// is an empty slice.
func list[T any](ctx context.Context, db querier, selection, order, key, state string, limit int,
	scan func(pgx.Row) (T, error)) ([]T, error) {
	w, args := where(limit, "key", key, "state", state)
	rows, err := db.Query(ctx, selection+w+fmt.Sprintf(` ORDER BY %s LIMIT $%d`, order, len(args)), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// Ledger implements bridge.Store: most recently updated first, then by key.
// It writes this Store's buffered repeats first, so it counts every
// notification this Store accepted (other replicas' within a second).
func (s *Store) Ledger(ctx context.Context, f bridge.LedgerFilter) ([]bridge.LedgerEntry, error) {
	var out []bridge.LedgerEntry
	err := s.one(func(db querier) (err error) {
		// A failed write keeps them buffered; the list shows what is stored.
		_ = s.repeats.Flush(ctx, s.writeRepeats)
		out, err = list(ctx, db, s.q(`SELECT `+ledgerCols+` FROM {ledger}`), "updated_at DESC, key",
			f.Key, string(f.State), f.Limit, scanEntry)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	return out, nil
}

// Outbox implements bridge.Store: oldest accepted first, then by id.
func (s *Store) Outbox(ctx context.Context, f bridge.OutboxFilter) ([]bridge.OutboxItem, error) {
	var out []bridge.OutboxItem
	err := s.one(func(db querier) (err error) {
		out, err = list(ctx, db, s.q(`SELECT `+itemCols+` FROM {outbox}`), "accepted_at, id",
			f.Key, string(f.State), f.Limit, scanItem)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return out, nil
}

// Stats implements bridge.Store. Every state has a count, zero included; the
// counts come from one statement, so one snapshot.
func (s *Store) Stats(ctx context.Context) (bridge.Stats, error) {
	st := bridge.Stats{Ledger: map[bridge.State]int64{}, Outbox: map[bridge.ItemState]int64{}}
	for _, state := range bridge.States {
		st.Ledger[state] = 0
	}
	st.Outbox[bridge.ItemPending], st.Outbox[bridge.ItemDead] = 0, 0
	err := s.one(func(db querier) error {
		rows, err := db.Query(ctx, s.q(`
			SELECT 'ledger', state, count(*), NULL::timestamptz FROM {ledger} GROUP BY state
			UNION ALL
			SELECT 'outbox', state, count(*), min(accepted_at) FROM {outbox} GROUP BY state
			UNION ALL
			SELECT 'checked', 'open', 0, min(coalesce(checked_at, opened_at)) FROM {ledger}
			WHERE state = 'open' AND ticket_id <> ''`))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var table, state string
			var n int64
			var oldest *time.Time
			if err := rows.Scan(&table, &state, &n, &oldest); err != nil {
				return err
			}
			switch {
			case table == "ledger":
				st.Ledger[bridge.State(state)] = n
			case table == "checked":
				if oldest != nil {
					st.OldestCheck = oldest.UTC()
				}
			default:
				st.Outbox[bridge.ItemState(state)] = n
				if state == string(bridge.ItemPending) && oldest != nil {
					st.OldestPending = oldest.UTC()
				}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return bridge.Stats{}, fmt.Errorf("read stats: %w", err)
	}
	return st, nil
}
