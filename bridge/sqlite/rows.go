package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/columns"
)

// Column lists, in the order the scan functions read them.
const (
	ledgerCols = columns.Ledger
	itemCols   = columns.Item
)

type scanner = columns.Scanner

// extraRow scans a row of known columns followed by more.
type extraRow = columns.Extra

// collect reads every row of rows with scan, then closes rows. It returns
// an empty slice, not nil, when there are no rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanEntry(sc scanner) (bridge.LedgerEntry, error) { return columns.ScanEntry(sc, stamps{}) }

// entryArgs are e's columns in ledgerCols order.
func entryArgs(e bridge.LedgerEntry) []any { return columns.EntryArgs(e, stamps{}) }

func scanItem(sc scanner) (bridge.OutboxItem, error) { return columns.ScanItem(sc, stamps{}) }

// getEntry reads key's ledger entry.
func getEntry(ctx context.Context, tx *wtx, key string) (bridge.LedgerEntry, bool, error) {
	e, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+ledgerCols+` FROM ledger WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return bridge.LedgerEntry{}, false, nil
	}
	if err != nil {
		return bridge.LedgerEntry{}, false, err
	}
	return e, true, nil
}

// putEntry writes e, inserting or replacing every column of its row.
func putEntry(ctx context.Context, tx *wtx, e bridge.LedgerEntry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ledger (`+ledgerCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET receiver = excluded.receiver, state = excluded.state,
			ticket_id = excluded.ticket_id, previous_ticket_id = excluded.previous_ticket_id,
			level = excluded.level, title = excluded.title, last_status = excluded.last_status,
			notifications = excluded.notifications, last_error = excluded.last_error,
			ticket_status = excluded.ticket_status, created_at = excluded.created_at,
			updated_at = excluded.updated_at, opened_at = excluded.opened_at,
			closed_at = excluded.closed_at, resolved_at = excluded.resolved_at,
			checked_at = excluded.checked_at, coc_level = excluded.coc_level,
			group_labels = excluded.group_labels, level_updates = excluded.level_updates,
			on_resolve = excluded.on_resolve, resolve_handled_at = excluded.resolve_handled_at`, entryArgs(e)...)
	return err
}

// insertEntry inserts e unless its key is in the ledger already, and
// reports whether it did.
func insertEntry(ctx context.Context, tx *wtx, e bridge.LedgerEntry) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO ledger (`+ledgerCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO NOTHING`, entryArgs(e)...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
