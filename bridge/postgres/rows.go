package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/columns"
)

// Column lists, in the order the scan functions read them.
const (
	ledgerCols = columns.Ledger
	itemCols   = columns.Item
)

// stamps stores times as timestamptz: pgx scans and writes time.Time
// itself.
type stamps struct{}

func (stamps) Dest(t *time.Time) any     { return t }
func (stamps) OptDest(t **time.Time) any { return t }
func (stamps) Arg(t time.Time) any       { return utc(t) }
func (stamps) OptArg(t *time.Time) any   { return optUTC(t) }

func scanEntry(row pgx.Row) (bridge.LedgerEntry, error) { return columns.ScanEntry(row, stamps{}) }

// entryArgs are e's columns in ledgerCols order.
func entryArgs(e bridge.LedgerEntry) []any { return columns.EntryArgs(e, stamps{}) }

func scanItem(row pgx.Row) (bridge.OutboxItem, error) { return columns.ScanItem(row, stamps{}) }

// scanDelivery reads columns.Delivery, the message and
// columns.ClaimLedger; it also returns the item's NextAttempt, to order a
// claim.
func scanDelivery(row pgx.Row) (bridge.Delivery, time.Time, error) {
	return columns.ScanDelivery(row, stamps{}, func(d *bridge.Delivery) []any { return columns.ClaimDest(d, stamps{}) })
}

// scanDue reads ledgerCols and the time the entry was due since.
func scanDue(row pgx.Row) (e bridge.LedgerEntry, since time.Time, err error) {
	e, err = scanEntry(extraRow{Row: row, More: []any{&since}})
	return e, since, err
}

// extraRow scans a row of known columns followed by more.
type extraRow = columns.Extra

// collectOrdered reads every row with scan, which returns a value and the
// time it was selected by, then closes rows. It returns the values (nil
// for none) in the order of that time, then of tie: RETURNING has no
// order, so this restores the one a statement selected rows in.
func collectOrdered[T any](rows pgx.Rows, scan func(pgx.Row) (T, time.Time, error), tie func(a, b T) int) ([]T, error) {
	type row struct {
		v  T
		at time.Time
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		v, at, err := scan(r)
		return row{v, at}, err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(got, func(a, b row) int { return cmp.Or(a.at.Compare(b.at), tie(a.v, b.v)) })
	var out []T
	for _, g := range got {
		out = append(out, g.v)
	}
	return out, nil
}

// lockEntry reads key's ledger entry and locks its row until the end of the
// transaction.
func (s *Store) lockEntry(ctx context.Context, tx pgx.Tx, key string) (bridge.LedgerEntry, bool, error) {
	e, err := scanEntry(tx.QueryRow(ctx, s.q(`SELECT `+ledgerCols+` FROM {ledger} WHERE key = $1 FOR UPDATE`), key))
	if errors.Is(err, pgx.ErrNoRows) {
		return bridge.LedgerEntry{}, false, nil
	}
	if err != nil {
		return bridge.LedgerEntry{}, false, err
	}
	return e, true, nil
}

// putEntry writes every column of e's existing, locked ledger row.
func (s *Store) putEntry(ctx context.Context, tx pgx.Tx, e bridge.LedgerEntry) error {
	_, err := tx.Exec(ctx, s.q(`UPDATE {ledger} SET receiver = $2, state = $3, ticket_id = $4,
		previous_ticket_id = $5, level = $6, title = $7, last_status = $8, notifications = $9,
		last_error = $10, ticket_status = $11, created_at = $12, updated_at = $13, opened_at = $14,
		closed_at = $15, resolved_at = $16, checked_at = $17, coc_level = $18, group_labels = $19,
		level_updates = $20, on_resolve = $21, resolve_handled_at = $22
		WHERE key = $1`), entryArgs(e)...)
	return err
}
