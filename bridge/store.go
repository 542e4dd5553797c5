package bridge

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every Store engine.
var (
	// ErrNotFound means the addressed ledger entry or outbox item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLeaseLost means the caller no longer holds the lease on an outbox item:
	// it expired and another worker (possibly on another replica) claimed it, or
	// the item was completed or replayed meanwhile. The caller must not assume its
	// write took effect.
	ErrLeaseLost = errors.New("lease lost")
)

// State is the lifecycle state of a ledger entry (one per issue key).
type State string

// Ledger states.
const (
	// StatePending: a firing notification was accepted and an outbox item waits
	// to create the ticket. No second item is ever queued for the key.
	StatePending State = "pending"
	// StateOpen: a ticket exists in COC and is not known to be finished.
	StateOpen State = "open"
	// StateClosed: the last ticket was completed, closed or deleted in COC; the
	// next firing notification creates a new ticket naming it.
	StateClosed State = "closed"
	// StateDead: creating the ticket failed permanently; the outbox item is
	// dead-lettered and waits for a replay.
	StateDead State = "dead"
)

// States lists every ledger state, for metric label pre-initialisation.
var States = []State{StatePending, StateOpen, StateClosed, StateDead}

// ItemState is the state of an outbox item.
type ItemState string

// Outbox item states. Delivered items are deleted from the outbox; the ledger
// keeps the outcome.
const (
	ItemPending ItemState = "pending"
	ItemDead    ItemState = "dead"
)

// Kind is the COC operation an outbox item asks for. Its string is stored
// in the outbox's kind column. operationFor (operation.go) maps each kind
// to what is sent.
type Kind string

// Operation kinds.
const (
	// KindCreate creates the key's ticket (or adopts the one an unclear
	// earlier attempt created).
	KindCreate Kind = "create"
)

// Kinds lists every operation kind.
var Kinds = []Kind{KindCreate}

// Decision is what Accept did with a notification. Its string is used as a
// metric label and a log field.
type Decision string

// Accept decisions.
const (
	// DecisionCreate: firing, no pending/open ticket for the key: an outbox item
	// was queued.
	DecisionCreate Decision = "create"
	// DecisionSuppressPending: firing, a create is already queued; the queued
	// item now carries this (newer) notification.
	DecisionSuppressPending Decision = "suppress_pending"
	// DecisionSuppressOpen: firing, the key has an open ticket: nothing queued.
	DecisionSuppressOpen Decision = "suppress_open"
	// DecisionSuppressDead: firing, the key's create is dead-lettered: nothing
	// queued until an operator replays it; the dead item carries this newer
	// notification so a replay renders the latest state.
	DecisionSuppressDead Decision = "suppress_dead"
	// DecisionRecordResolved: all alerts resolved; recorded on the ledger entry.
	DecisionRecordResolved Decision = "record_resolved"
	// DecisionResolvedUnknown: all alerts resolved for a key the ledger has never
	// seen (for example the bridge started after the firing); nothing stored.
	DecisionResolvedUnknown Decision = "resolved_unknown"
)

// Decisions lists every accept decision, for metric label pre-initialisation.
var Decisions = []Decision{DecisionCreate, DecisionSuppressPending, DecisionSuppressOpen,
	DecisionSuppressDead, DecisionRecordResolved, DecisionResolvedUnknown}

// Notification is one accepted Alertmanager notification, already keyed.
type Notification struct {
	// Key is the issue key (mapping.Mapper.Key); also the ticket's source_id.
	Key string
	// Receiver is the Alertmanager receiver name, unescaped.
	Receiver string
	// Firing is true when the notification's status is "firing".
	Firing bool
	// Level is the mapped ticket level, kept on the ledger for display.
	Level string
	// Message is the notification's JSON, as mapping.Decode reads it (the
	// webhook body as received, or a split part of it encoded again), stored
	// in the outbox so delivery renders the ticket with the configuration
	// current at delivery time (a replay after a config fix uses the fixed
	// config).
	Message []byte
	// ReceivedAt is when the bridge received it.
	ReceivedAt time.Time
}

// AcceptResult says what Accept did.
type AcceptResult struct {
	Decision Decision
	// Entry is the ledger entry after the notification was applied (zero for
	// DecisionResolvedUnknown).
	Entry LedgerEntry
}

// LedgerEntry is the per-key record of ticket state.
type LedgerEntry struct {
	Key      string `json:"key"`
	Receiver string `json:"receiver"`
	State    State  `json:"state"`
	// TicketID is COC's ticket number (ISU…) of the current or last ticket.
	TicketID string `json:"ticket_id,omitempty"`
	// PreviousTicketID is the ticket that was closed before the current cycle.
	PreviousTicketID string `json:"previous_ticket_id,omitempty"`
	Level            string `json:"level,omitempty"`
	Title            string `json:"title,omitempty"`
	// LastStatus is mapping.StatusFiring or mapping.StatusResolved: the
	// status of the last notification.
	LastStatus string `json:"last_status"`
	// Notifications counts notifications recorded on the key.
	Notifications int64 `json:"notifications"`
	// LastError is the last delivery error (dead entries) or refresh error.
	LastError string `json:"last_error,omitempty"`
	// TicketStatus is COC's last reported workflow status of the ticket.
	TicketStatus string    `json:"ticket_status,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// OpenedAt is when the current ticket was created or adopted.
	OpenedAt *time.Time `json:"opened_at,omitempty"`
	// ClosedAt is when the ticket was found finished in COC.
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	// ResolvedAt is when the last all-resolved notification arrived.
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// CheckedAt is when the refresher last read the ticket from COC.
	CheckedAt *time.Time `json:"checked_at,omitempty"`
}

// Delivery is a claimed outbox item: one COC operation for one key.
type Delivery struct {
	ID int64
	// Kind is the operation to perform.
	Kind     Kind
	Key      string
	Receiver string
	Message  []byte
	// Attempts counts claims of this item, including this one.
	Attempts int
	// LookupFirst is set when an earlier attempt's outcome is unknown (an
	// ambiguous create, or a lease that expired while another worker held it):
	// the worker must look the key up in COC by source_id before creating.
	LookupFirst bool
	// PreviousTicketID is the key's last closed ticket, to be named in the new one.
	PreviousTicketID string
	// AcceptedAt is when the notification that queued the item was accepted.
	AcceptedAt time.Time
	// LeaseUntil is when the claim expires; the worker must finish (Complete,
	// Retry or DeadLetter) before then or lose the item to another worker.
	LeaseUntil time.Time
}

// OutboxItem is the read-only view of an outbox row.
type OutboxItem struct {
	ID          int64      `json:"id"`
	Kind        Kind       `json:"kind"`
	Key         string     `json:"key"`
	Receiver    string     `json:"receiver"`
	State       ItemState  `json:"state"`
	Attempts    int        `json:"attempts"`
	NextAttempt time.Time  `json:"next_attempt"`
	LastError   string     `json:"last_error,omitempty"`
	ErrorCode   string     `json:"error_code,omitempty"`
	LookupFirst bool       `json:"lookup_first"`
	LeaseOwner  string     `json:"lease_owner,omitempty"`
	LeaseUntil  *time.Time `json:"lease_until,omitempty"`
	AcceptedAt  time.Time  `json:"accepted_at"`
}

// ClaimRequest asks for due outbox items.
type ClaimRequest struct {
	// Owner identifies the claiming worker (unique per process and worker).
	Owner string
	// Limit is the most items returned.
	Limit int
	// Lease is how long the claim holds.
	Lease time.Duration
	// Now is the current time; items with NextAttempt <= Now whose lease is
	// free or expired are due.
	Now time.Time
}

// Completion records a ticket created or adopted for a claimed item.
type Completion struct {
	ID       int64
	Owner    string
	TicketID string
	// Title is the ticket's rendered title, recorded on the ledger for
	// display ("" keeps the one recorded).
	Title string
	// Adopted is true when the ticket was found in COC rather than created.
	Adopted bool
	Now     time.Time
}

// RetryRequest reschedules a claimed item after a transient failure.
type RetryRequest struct {
	ID          int64
	Owner       string
	NextAttempt time.Time
	LastError   string
	// LookupFirst makes the next attempt look the ticket up before creating.
	LookupFirst bool
	Now         time.Time
}

// DeadLetterRequest parks a claimed item after a permanent failure.
type DeadLetterRequest struct {
	ID    int64
	Owner string
	// Code is COC's error code (e.g. GOM.00007256) or a bridge reason.
	Code    string
	Message string
	Now     time.Time
}

// LedgerError is the ledger entry's LastError for this dead letter: COC's
// code and message, as the views show it. Every engine stores this text.
func (d DeadLetterRequest) LedgerError() string {
	if d.Code == "" {
		return d.Message
	}
	return d.Code + ": " + d.Message
}

// ReplayRequest selects dead items to requeue. Empty Key and zero ID replay
// every dead item.
type ReplayRequest struct {
	ID  int64
	Key string
	Now time.Time
}

// ExpediteRequest makes backed-off outbox items due sooner: the bridge
// sends one when COC answers again after an outage, so that items whose
// backoff grew during the outage do not wait it out.
type ExpediteRequest struct {
	// Due is the new NextAttempt of pending items due later than it.
	Due time.Time
	// LookupDue is the new NextAttempt of pending LookupFirst items due later
	// than it: their earlier attempt may still be creating the ticket in COC,
	// so their lookup keeps its delay. Engines use the later of Due and
	// LookupDue.
	LookupDue time.Time
	// Limit is the most items changed, earliest due first; below 1 means all.
	Limit int
}

// RefreshRequest asks for open tickets whose status is due to be read again.
type RefreshRequest struct {
	// Interval is how long after CheckedAt (or OpenedAt) an entry is due.
	Interval time.Duration
	Limit    int
	Now      time.Time
	// MaxInterval, when above Interval, spaces the checks of older tickets:
	// an entry opened A ago is due IntervalFor(A) after its last check,
	// Interval for young tickets growing with A up to MaxInterval.
	MaxInterval time.Duration
}

// Release marks a key's ticket finished in COC.
type Release struct {
	Key string
	// TicketID must match the entry's ticket: a stale refresh never releases a
	// newer ticket.
	TicketID string
	// Status is COC's status that finished the ticket (for the ledger).
	Status string
	Now    time.Time
}

// Check records a refresher read of a ticket that is still open.
type Check struct {
	Key      string
	TicketID string
	Status   string
	Error    string
	Now      time.Time
}

// LedgerFilter selects ledger entries; zero fields match everything.
type LedgerFilter struct {
	Key   string
	State State
	Limit int
}

// OutboxFilter selects outbox items; zero fields match everything.
type OutboxFilter struct {
	Key   string
	State ItemState
	Limit int
}

// Stats is a snapshot for gauges.
type Stats struct {
	// Ledger counts entries by state.
	Ledger map[State]int64
	// Outbox counts items by state.
	Outbox map[ItemState]int64
	// OldestPending is the AcceptedAt of the oldest pending outbox item (zero
	// when there is none).
	OldestPending time.Time
	// OldestCheck is the oldest CheckedAt (OpenedAt when never checked) of
	// the open entries with a ticket (zero when there is none): the age of
	// the stalest status read.
	OldestCheck time.Time
}

// Store is the durable ledger and outbox. Every engine (bridge/sqlite,
// bridge/postgres) passes the conformance suite in bridge/storetest.
//
// Ordering per key. The outbox is a queue of COC operations (Kind); every
// kind is claimed, retried, dead-lettered and replayed the same way. Today
// only KindCreate exists and a key has at most one pending-or-dead item,
// which orders a key's work trivially. An engine that queues a second kind
// must keep, for any interleaving of replicas:
//
//   - at most one pending-or-dead item per key and kind (the unique index
//     on the key's live items becomes one on key and kind, and Accept folds
//     a newer notification into the existing item of its kind, as it does
//     for creates);
//   - a key's items are delivered in the order they were queued (id
//     order): Claim skips an item while an older item of its key is
//     pending or dead, so a create always goes before any action on its
//     ticket, a dead-lettered create holds the key's later items until it
//     is replayed, and one key never has two items in flight;
//   - Complete of a create records the ticket the later items act on;
//     Replay requeues a key's dead items together, keeping their order.
//
// None of this changes the contract below for creates.
//
// All methods are safe for concurrent use by many goroutines and, for engines
// that support it, by many processes sharing one database. Every method that
// changes state does so in one transaction: it either happens completely or
// not at all. Times are passed in by the caller (no engine reads a clock), so
// behaviour is deterministic in tests.
//
// Text that comes from COC is stored made safe for every engine: Complete,
// Retry, DeadLetter, Release and RecordCheck store their request's Safe()
// (safetext.go: NUL and invalid UTF-8 replaced, length capped), so a NUL in
// a COC error message cannot make a write fail, and what the views show is
// what was stored.
//
// Each call returns when its ctx ends, or soon after; bridge.New wraps the
// store in WithDeadline so that every call of the bridge has a deadline.
type Store interface {
	// Accept records each notification on its key's ledger entry and, for
	// each DecisionCreate, queues one outbox item, all in one durable
	// transaction: when it returns nil every notification of the batch
	// survives a crash; when it fails, none was recorded. The results are
	// in the batch's order; notifications of the same key are applied in
	// that order, each deciding on the state the one before it left.
	// For any interleaving of concurrent Accepts of the same keys, at most
	// one pending-or-dead outbox item exists per key, and batches that share
	// keys in any order do not deadlock.
	Accept(ctx context.Context, batch ...Notification) ([]AcceptResult, error)
	// Claim leases up to Limit due pending items, earliest due first. An item is
	// never held by two owners at once; an item whose lease expired is claimed
	// again with LookupFirst set (the earlier holder may have created the
	// ticket). Claim increments Attempts.
	Claim(ctx context.Context, req ClaimRequest) ([]Delivery, error)
	// Complete records the ticket on the ledger (state open) and deletes the
	// item. ErrLeaseLost if the caller's lease is gone (a lease that expired
	// but that nobody took over is still held); when the item still exists
	// and the entry is pending or dead, the ticket is recorded and the item
	// deleted anyway, because the ticket exists in COC.
	Complete(ctx context.Context, c Completion) error
	// Retry releases the lease and reschedules the item. ErrLeaseLost if the
	// lease is gone.
	Retry(ctx context.Context, r RetryRequest) error
	// DeadLetter parks the item (state dead) and marks the ledger entry dead.
	// ErrLeaseLost if the lease is gone.
	DeadLetter(ctx context.Context, d DeadLetterRequest) error
	// Expedite brings pending items forward (see ExpediteRequest) and returns
	// how many it changed. Only NextAttempt changes: an item never becomes
	// due later, and leases, attempts and errors are kept.
	Expedite(ctx context.Context, r ExpediteRequest) (int, error)
	// Replay requeues dead items (due now, LookupFirst kept, Attempts reset
	// to zero) and returns how many; their ledger entries go back to pending.
	Replay(ctx context.Context, r ReplayRequest) (int, error)
	// TakeBack makes the leases an earlier run of the starting process left
	// behind expire at r.Now (see TakeBackRequest) and returns how many it
	// changed. Only LeaseUntil changes: the items keep their owner, so they
	// are claimed again at once with LookupFirst set, like any expired
	// lease, since the earlier attempt may have created the ticket.
	TakeBack(ctx context.Context, r TakeBackRequest) (int, error)
	// DueForRefresh returns open entries with a ticket whose last check is
	// older than Interval, and marks them checked at Now in the same
	// transaction so concurrent refreshers (other replicas) skip them.
	DueForRefresh(ctx context.Context, r RefreshRequest) ([]LedgerEntry, error)
	// Release closes the key's ticket if TicketID still matches; otherwise it
	// is a no-op returning ErrNotFound.
	Release(ctx context.Context, r Release) error
	// RecordCheck stores the status read from COC for an open ticket. It
	// returns ErrNotFound when the key no longer holds that ticket.
	RecordCheck(ctx context.Context, c Check) error
	// Ledger lists entries, most recently updated first.
	Ledger(ctx context.Context, f LedgerFilter) ([]LedgerEntry, error)
	// Outbox lists items, oldest first.
	Outbox(ctx context.Context, f OutboxFilter) ([]OutboxItem, error)
	// Stats returns counts for gauges.
	Stats(ctx context.Context) (Stats, error)
	// Ping reports whether the store can serve reads and writes right now
	// (migrations applied, database reachable, disk writable).
	Ping(ctx context.Context) error
	// Close releases the engine's resources. It waits for running calls to
	// return; calls after Close fail.
	Close() error
}
