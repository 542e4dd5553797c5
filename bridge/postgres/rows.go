package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/ledger"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// Column lists, in the order the scan functions read them.
const (
	ledgerCols = `key, receiver, state, ticket_id, previous_ticket_id, level, title, last_status,
		notifications, last_error, ticket_status, created_at, updated_at, opened_at, closed_at,
		resolved_at, checked_at, coc_level, group_labels, level_updates, on_resolve, resolve_handled_at`
	itemCols = `id, key, receiver, state, attempts, next_attempt, last_error, error_code,
		lookup_first, lease_owner, lease_until, accepted_at, kind`
	deliveryCols = `id, key, receiver, message, attempts, lookup_first, previous_ticket_id,
		accepted_at, lease_until, next_attempt, kind, lookups_done, unclear_since`
	// claimLedgerCols are the ledger's columns a claim returns after
	// deliveryCols.
	claimLedgerCols = `ticket_id, level, coc_level, title, resolved_at`
)

func scanEntry(row pgx.Row) (bridge.LedgerEntry, error) {
	var (
		e                 bridge.LedgerEntry
		state             string
		opened, closed    *time.Time
		resolved, checked *time.Time
		handled           *time.Time
		labels            string
		levelUpdates      string
		onResolve         string
	)
	err := row.Scan(&e.Key, &e.Receiver, &state, &e.TicketID, &e.PreviousTicketID, &e.Level, &e.Title,
		&e.LastStatus, &e.Notifications, &e.LastError, &e.TicketStatus, &e.CreatedAt, &e.UpdatedAt,
		&opened, &closed, &resolved, &checked, &e.CocLevel, &labels, &levelUpdates, &onResolve, &handled)
	if err != nil {
		return bridge.LedgerEntry{}, err
	}
	if e.GroupLabels, err = ledger.ParseLabels(labels); err != nil {
		return bridge.LedgerEntry{}, fmt.Errorf("ledger entry %s: %w", e.Key, err)
	}
	e.State = bridge.State(state)
	e.LevelUpdates, e.OnResolve = mapping.LevelUpdates(levelUpdates), mapping.OnResolve(onResolve)
	e.ResolveHandledAt = optUTC(handled)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	e.OpenedAt, e.ClosedAt = optUTC(opened), optUTC(closed)
	e.ResolvedAt, e.CheckedAt = optUTC(resolved), optUTC(checked)
	return e, nil
}

// entryArgs are e's columns in ledgerCols order.
func entryArgs(e bridge.LedgerEntry) []any {
	return []any{e.Key, e.Receiver, string(e.State), e.TicketID, e.PreviousTicketID, e.Level, e.Title,
		e.LastStatus, e.Notifications, e.LastError, e.TicketStatus, utc(e.CreatedAt), utc(e.UpdatedAt),
		optUTC(e.OpenedAt), optUTC(e.ClosedAt), optUTC(e.ResolvedAt), optUTC(e.CheckedAt),
		e.CocLevel, ledger.Labels(e.GroupLabels), string(e.LevelUpdates), string(e.OnResolve),
		optUTC(e.ResolveHandledAt)}
}

func scanItem(row pgx.Row) (bridge.OutboxItem, error) {
	var (
		it    bridge.OutboxItem
		state string
		kind  string
		owner *string
		until *time.Time
	)
	err := row.Scan(&it.ID, &it.Key, &it.Receiver, &state, &it.Attempts, &it.NextAttempt, &it.LastError,
		&it.ErrorCode, &it.LookupFirst, &owner, &until, &it.AcceptedAt, &kind)
	if err != nil {
		return bridge.OutboxItem{}, err
	}
	it.State, it.Kind = bridge.ItemState(state), bridge.Kind(kind)
	it.NextAttempt, it.AcceptedAt = it.NextAttempt.UTC(), it.AcceptedAt.UTC()
	if owner != nil {
		it.LeaseOwner = *owner
	}
	it.LeaseUntil = optUTC(until)
	return it, nil
}

// scanDelivery reads deliveryCols and claimLedgerCols; it also returns the
// item's NextAttempt, to order a claim.
func scanDelivery(row pgx.Row) (bridge.Delivery, time.Time, error) {
	var (
		d                 bridge.Delivery
		kind              string
		next              time.Time
		unclear, resolved *time.Time
	)
	err := row.Scan(&d.ID, &d.Key, &d.Receiver, &d.Message, &d.Attempts, &d.LookupFirst,
		&d.PreviousTicketID, &d.AcceptedAt, &d.LeaseUntil, &next, &kind, &d.LookupsDone, &unclear,
		&d.TicketID, &d.Level, &d.CocLevel, &d.Title, &resolved)
	if err != nil {
		return bridge.Delivery{}, time.Time{}, err
	}
	d.Kind = bridge.Kind(kind)
	d.AcceptedAt, d.LeaseUntil = d.AcceptedAt.UTC(), d.LeaseUntil.UTC()
	d.UnclearSince, d.ResolvedAt = optUTC(unclear), optUTC(resolved)
	return d, next, nil
}

// extraRow scans a row of known columns followed by more, into extra.
type extraRow struct {
	pgx.Row
	extra []any
}

func (r extraRow) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.extra...)...) }

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
