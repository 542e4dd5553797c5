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

// Ledger implements bridge.Store: most recently updated first, then by key.
// It writes this Store's buffered repeats first, so it counts every
// notification this Store accepted (other replicas' within a second).
func (s *Store) Ledger(ctx context.Context, f bridge.LedgerFilter) ([]bridge.LedgerEntry, error) {
	out := []bridge.LedgerEntry{}
	err := s.one(func(db querier) error {
		// A failed write keeps them buffered; the list shows what is stored.
		_ = s.repeats.Flush(ctx, s.writeRepeats)
		w, args := where(f.Limit, "key", f.Key, "state", string(f.State))
		rows, err := db.Query(ctx, s.q(`SELECT `+ledgerCols+` FROM {ledger}`+w+
			fmt.Sprintf(` ORDER BY updated_at DESC, key LIMIT $%d`, len(args))), args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (bridge.LedgerEntry, error) { return scanEntry(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	return out, nil
}

// Outbox implements bridge.Store: oldest accepted first, then by id.
func (s *Store) Outbox(ctx context.Context, f bridge.OutboxFilter) ([]bridge.OutboxItem, error) {
	out := []bridge.OutboxItem{}
	err := s.one(func(db querier) error {
		w, args := where(f.Limit, "key", f.Key, "state", string(f.State))
		rows, err := db.Query(ctx, s.q(`SELECT `+itemCols+` FROM {outbox}`+w+
			fmt.Sprintf(` ORDER BY accepted_at, id LIMIT $%d`, len(args))), args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (bridge.OutboxItem, error) { return scanItem(r) })
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
