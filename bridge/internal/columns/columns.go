// Package columns holds what the store engines share about their rows:
// the column lists of the ledger and the outbox, and how the columns of a
// row become the bridge's types and back. Each engine says how it stores a
// time (Times); the tables and the statements are the engine's own.
package columns

import (
	"fmt"
	"strings"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/ledger"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// Column lists, in the order the scan functions read them.
const (
	// Ledger are a ledger entry's columns (ScanEntry, EntryArgs).
	Ledger = `key, receiver, state, ticket_id, previous_ticket_id, level, title, last_status,
		notifications, last_error, ticket_status, created_at, updated_at, opened_at, closed_at,
		resolved_at, checked_at, coc_level, group_labels, level_updates, on_resolve, resolve_handled_at`
	// Item are an outbox item's columns (ScanItem).
	Item = `id, key, receiver, state, attempts, next_attempt, last_error, error_code,
		lookup_first, lease_owner, lease_until, accepted_at, kind`
	// Delivery are the outbox columns of a claimed item (ScanDelivery);
	// its message and ClaimLedger follow (ClaimDest).
	Delivery = `id, key, receiver, attempts, lookup_first, previous_ticket_id,
		accepted_at, lease_until, next_attempt, kind, lookups_done, unclear_since`
	// ClaimLedger are the ledger's columns a claimed delivery carries,
	// after its message (ClaimDest).
	ClaimLedger = `ticket_id, level, coc_level, title, resolved_at`
)

// Scanner reads a row's columns into dest.
type Scanner interface{ Scan(dest ...any) error }

// Extra is a row of known columns followed by more, which it scans into
// More: a scan function of the known columns reads the whole row.
type Extra struct {
	Row  Scanner
	More []any
}

// Scan scans the row into dest followed by More.
func (r Extra) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.More...)...) }

// Times is how an engine stores a time: what a column is scanned into
// and what is written to it.
type Times interface {
	// Dest is the scan destination that reads a NOT NULL time into *t.
	Dest(t *time.Time) any
	// OptDest reads a nullable time into *t (nil for NULL).
	OptDest(t **time.Time) any
	// Arg is the statement argument that writes t.
	Arg(t time.Time) any
	// OptArg writes a nullable time (nil: NULL).
	OptArg(t *time.Time) any
}

// ScanEntry scans a row of Ledger columns with times stored as tm.
func ScanEntry(sc Scanner, tm Times) (bridge.LedgerEntry, error) {
	var (
		e                                    bridge.LedgerEntry
		state, labels, levelUpdates, resolve string
	)
	err := sc.Scan(&e.Key, &e.Receiver, &state, &e.TicketID, &e.PreviousTicketID, &e.Level, &e.Title,
		&e.LastStatus, &e.Notifications, &e.LastError, &e.TicketStatus, tm.Dest(&e.CreatedAt), tm.Dest(&e.UpdatedAt),
		tm.OptDest(&e.OpenedAt), tm.OptDest(&e.ClosedAt), tm.OptDest(&e.ResolvedAt), tm.OptDest(&e.CheckedAt),
		&e.CocLevel, &labels, &levelUpdates, &resolve, tm.OptDest(&e.ResolveHandledAt))
	if err != nil {
		return bridge.LedgerEntry{}, err
	}
	if e.GroupLabels, err = ledger.ParseLabels(labels); err != nil {
		return bridge.LedgerEntry{}, fmt.Errorf("ledger entry %s: %w", e.Key, err)
	}
	e.State = bridge.State(state)
	e.LevelUpdates, e.OnResolve = mapping.LevelUpdates(levelUpdates), mapping.OnResolve(resolve)
	inUTC(&e.CreatedAt, &e.UpdatedAt)
	optInUTC(e.OpenedAt, e.ClosedAt, e.ResolvedAt, e.CheckedAt, e.ResolveHandledAt)
	return e, nil
}

// EntryArgs are e's columns in Ledger order, with times stored as tm.
func EntryArgs(e bridge.LedgerEntry, tm Times) []any {
	return []any{e.Key, e.Receiver, string(e.State), e.TicketID, e.PreviousTicketID, e.Level, e.Title,
		e.LastStatus, e.Notifications, e.LastError, e.TicketStatus, tm.Arg(e.CreatedAt), tm.Arg(e.UpdatedAt),
		tm.OptArg(e.OpenedAt), tm.OptArg(e.ClosedAt), tm.OptArg(e.ResolvedAt), tm.OptArg(e.CheckedAt),
		e.CocLevel, ledger.Labels(e.GroupLabels), string(e.LevelUpdates), string(e.OnResolve),
		tm.OptArg(e.ResolveHandledAt)}
}

// ScanItem scans a row of Item columns with times stored as tm.
func ScanItem(sc Scanner, tm Times) (bridge.OutboxItem, error) {
	var (
		it          bridge.OutboxItem
		state, kind string
		owner       *string
	)
	err := sc.Scan(&it.ID, &it.Key, &it.Receiver, &state, &it.Attempts, tm.Dest(&it.NextAttempt), &it.LastError,
		&it.ErrorCode, &it.LookupFirst, &owner, tm.OptDest(&it.LeaseUntil), tm.Dest(&it.AcceptedAt), &kind)
	if err != nil {
		return bridge.OutboxItem{}, err
	}
	it.State, it.Kind = bridge.ItemState(state), bridge.Kind(kind)
	if owner != nil {
		it.LeaseOwner = *owner
	}
	inUTC(&it.NextAttempt, &it.AcceptedAt)
	optInUTC(it.LeaseUntil)
	return it, nil
}

// ScanDelivery scans a row of Delivery columns, then the columns more
// names in the delivery (nil: none), with times stored as tm. It also
// returns the item's next attempt, to order a claim.
func ScanDelivery(sc Scanner, tm Times, more func(*bridge.Delivery) []any) (bridge.Delivery, time.Time, error) {
	var (
		d    bridge.Delivery
		kind string
		next time.Time
	)
	dest := []any{&d.ID, &d.Key, &d.Receiver, &d.Attempts, &d.LookupFirst, &d.PreviousTicketID,
		tm.Dest(&d.AcceptedAt), tm.Dest(&d.LeaseUntil), tm.Dest(&next), &kind, &d.LookupsDone, tm.OptDest(&d.UnclearSince)}
	if more != nil {
		dest = append(dest, more(&d)...)
	}
	if err := sc.Scan(dest...); err != nil {
		return bridge.Delivery{}, time.Time{}, err
	}
	d.Kind = bridge.Kind(kind)
	inUTC(&d.AcceptedAt, &d.LeaseUntil, &next)
	optInUTC(d.UnclearSince, d.ResolvedAt)
	return d, next, nil
}

// ClaimDest are the scan destinations of a claimed delivery's message and
// ClaimLedger columns, with times stored as tm.
func ClaimDest(d *bridge.Delivery, tm Times) []any {
	return []any{&d.Message, &d.TicketID, &d.Level, &d.CocLevel, &d.Title, tm.OptDest(&d.ResolvedAt)}
}

// Prefixed qualifies each column of a comma-separated list with alias.
func Prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// inUTC and optInUTC put scanned times in UTC, as the bridge keeps them.
func inUTC(ts ...*time.Time) {
	for _, t := range ts {
		*t = t.UTC()
	}
}

func optInUTC(ts ...*time.Time) {
	for _, t := range ts {
		if t != nil {
			*t = t.UTC()
		}
	}
}
