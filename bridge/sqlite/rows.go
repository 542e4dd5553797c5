package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/ledger"
)

// Column lists, in the order the scan functions read them.
const (
	ledgerCols = `key, receiver, state, ticket_id, previous_ticket_id, level, title, last_status,
		notifications, last_error, ticket_status, created_at, updated_at, opened_at, closed_at,
		resolved_at, checked_at, coc_level, group_labels, level_updates, on_resolve, resolve_handled_at`
	itemCols = `id, key, receiver, state, attempts, next_attempt, last_error, error_code,
		lookup_first, lease_owner, lease_until, accepted_at, kind`
	// deliveryCols leave the message out: it is in outbox_message.
	deliveryCols = `id, key, receiver, attempts, lookup_first, previous_ticket_id,
		accepted_at, lease_until, next_attempt, kind, lookups_done, unclear_since`
)

type scanner interface{ Scan(dest ...any) error }

// extraRow scans a row of known columns followed by more, into extra.
type extraRow struct {
	scanner
	extra []any
}

func (r extraRow) Scan(dest ...any) error { return r.scanner.Scan(append(dest, r.extra...)...) }

// prefixed qualifies each column of a comma-separated list with alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

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

func scanEntry(sc scanner) (bridge.LedgerEntry, error) {
	var (
		e                                 bridge.LedgerEntry
		created, updated                  int64
		opened, closed, resolved, checked sql.NullInt64
		handled                           sql.NullInt64
		labels                            string
	)
	err := sc.Scan(&e.Key, &e.Receiver, &e.State, &e.TicketID, &e.PreviousTicketID, &e.Level, &e.Title,
		&e.LastStatus, &e.Notifications, &e.LastError, &e.TicketStatus, &created, &updated,
		&opened, &closed, &resolved, &checked, &e.CocLevel, &labels, &e.LevelUpdates, &e.OnResolve, &handled)
	if err != nil {
		return bridge.LedgerEntry{}, err
	}
	if e.GroupLabels, err = ledger.ParseLabels(labels); err != nil {
		return bridge.LedgerEntry{}, fmt.Errorf("ledger entry %s: %w", e.Key, err)
	}
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	e.OpenedAt, e.ClosedAt = optTime(opened), optTime(closed)
	e.ResolvedAt, e.CheckedAt = optTime(resolved), optTime(checked)
	e.ResolveHandledAt = optTime(handled)
	return e, nil
}

// entryArgs are e's columns in ledgerCols order.
func entryArgs(e bridge.LedgerEntry) []any {
	return []any{e.Key, e.Receiver, string(e.State), e.TicketID, e.PreviousTicketID, e.Level, e.Title,
		e.LastStatus, e.Notifications, e.LastError, e.TicketStatus, micros(e.CreatedAt), micros(e.UpdatedAt),
		optMicros(e.OpenedAt), optMicros(e.ClosedAt), optMicros(e.ResolvedAt), optMicros(e.CheckedAt),
		e.CocLevel, ledger.Labels(e.GroupLabels), string(e.LevelUpdates), string(e.OnResolve),
		optMicros(e.ResolveHandledAt)}
}

func scanItem(sc scanner) (bridge.OutboxItem, error) {
	var (
		it             bridge.OutboxItem
		next, accepted int64
		owner          sql.NullString
		until          sql.NullInt64
	)
	err := sc.Scan(&it.ID, &it.Key, &it.Receiver, &it.State, &it.Attempts, &next, &it.LastError,
		&it.ErrorCode, &it.LookupFirst, &owner, &until, &accepted, &it.Kind)
	if err != nil {
		return bridge.OutboxItem{}, err
	}
	it.NextAttempt, it.AcceptedAt = fromMicros(next), fromMicros(accepted)
	it.LeaseOwner = owner.String
	it.LeaseUntil = optTime(until)
	return it, nil
}

// scanDelivery also returns the item's NextAttempt, to order a claim. The
// message and the ledger's fields are read separately.
func scanDelivery(sc scanner) (bridge.Delivery, int64, error) {
	var (
		d                     bridge.Delivery
		accepted, until, next int64
		unclear               sql.NullInt64
	)
	err := sc.Scan(&d.ID, &d.Key, &d.Receiver, &d.Attempts, &d.LookupFirst,
		&d.PreviousTicketID, &accepted, &until, &next, &d.Kind, &d.LookupsDone, &unclear)
	if err != nil {
		return bridge.Delivery{}, 0, err
	}
	d.AcceptedAt, d.LeaseUntil = fromMicros(accepted), fromMicros(until)
	d.UnclearSince = optTime(unclear)
	return d, next, nil
}

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
