package bridge

import (
	"context"
	"errors"
	"time"

	"github.com/coc-bridge/coc-bridge/mapping"
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
	// KindLevel changes the level of the key's open ticket
	// (ugrading_and_downgrading) to the ledger's Level.
	KindLevel Kind = "level"
	// KindCancel cancels the key's open ticket (gocm_issues_undo_create)
	// when COC still reports it as not accepted; an accepted ticket is left
	// alone (on_resolve: cancel_unaccepted).
	KindCancel Kind = "cancel"
	// KindSolution submits a solution to the key's open ticket
	// (submitting_question) saying its alerts resolved (on_resolve:
	// submit_solution).
	KindSolution Kind = "solution"
)

// Kinds lists every operation kind.
var Kinds = []Kind{KindCreate, KindLevel, KindCancel, KindSolution}

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
	// DecisionLevelChange: firing, the key has an open ticket whose level in
	// COC differs from the notification's as the level policy says to send:
	// the key's outbox item now changes the ticket's level.
	DecisionLevelChange Decision = "level_change"
	// DecisionResolveAction: all alerts resolved, the key has an open ticket
	// and the resolve policy acts on it: the key's outbox item now cancels
	// it or submits a solution.
	DecisionResolveAction Decision = "resolve_action"
)

// Decisions lists every accept decision, for metric label pre-initialisation.
var Decisions = []Decision{DecisionCreate, DecisionSuppressPending, DecisionSuppressOpen,
	DecisionSuppressDead, DecisionRecordResolved, DecisionResolvedUnknown, DecisionLevelChange, DecisionResolveAction}

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
	// GroupLabels are the notification's group labels, kept on the ledger
	// for display.
	GroupLabels map[string]string
	// LevelUpdates and OnResolve are the receiver's lifecycle policy
	// (mapping.Mapper.Policy) in force when the notification arrived; the
	// ledger keeps them, so that what follows a create or an action is
	// decided by the policy the notification came with.
	LevelUpdates mapping.LevelUpdates
	OnResolve    mapping.OnResolve
	// LookupBeforeCreate makes the first create of a key look it up in COC
	// by source_id first (mapping.Lookups.BeforeCreate).
	LookupBeforeCreate bool
}

// AcceptResult says what Accept did.
type AcceptResult struct {
	Decision Decision
	// Entry is the ledger entry after the notification was applied (zero for
	// DecisionResolvedUnknown).
	Entry LedgerEntry
	// Repeat is true when the notification changed only the key's count
	// and last update time, and the engine answered from a read: those are
	// written within a second (bridge.PlanRepeat).
	Repeat bool
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
	// Level is the level the group maps to now (the last firing
	// notification's); CocLevel is the level COC has for the ticket, as
	// the bridge last sent or read it ("" when unknown).
	Level    string `json:"level,omitempty"`
	CocLevel string `json:"coc_level,omitempty"`
	Title    string `json:"title,omitempty"`
	// GroupLabels are the last notification's group labels.
	GroupLabels map[string]string `json:"group_labels,omitempty"`
	// LevelUpdates and OnResolve are the lifecycle policy of the last
	// notification (Notification.LevelUpdates, OnResolve).
	LevelUpdates mapping.LevelUpdates `json:"level_updates,omitempty"`
	OnResolve    mapping.OnResolve    `json:"on_resolve,omitempty"`
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
	// ResolveHandledAt is when the resolve policy's operation for the
	// current resolve finished (sent, or found nothing to do); a firing
	// notification clears it.
	ResolveHandledAt *time.Time `json:"resolve_handled_at,omitempty"`
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
	// TicketID is the key's open ticket, the one a level change, cancel or
	// solution acts on ("" for a create).
	TicketID string
	// Level and CocLevel are the ledger's (see LedgerEntry): a level change
	// sends Level to a ticket COC has at CocLevel.
	Level    string
	CocLevel string
	// Title is the ledger's title of the open ticket.
	Title string
	// ResolvedAt is when the key's last all-resolved notification arrived.
	ResolvedAt *time.Time
	// LookupsDone counts the lookups by source_id that came back empty
	// since the item's create became unclear at UnclearSince (zero when it
	// is not unclear): NextLookup (lookupschedule.go) says what is next.
	LookupsDone  int
	UnclearSince *time.Time
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

// Completion records the outcome of a claimed item's operation: a ticket
// created or adopted, a level changed, a resolve handled, or a ticket COC
// reports finished. The engine applies it with PlanComplete (reconcile.go):
// the item is deleted, or stays for the key's next operation.
type Completion struct {
	ID    int64
	Owner string
	// Kind is the operation performed (the claimed Delivery's Kind; empty
	// means KindCreate). Accept may have changed the stored item's kind
	// while the operation was in flight: this one is what was done.
	Kind Kind
	// TicketID is the ticket created, adopted or acted on.
	TicketID string
	// Level is the level COC now has for the ticket ("" keeps the one
	// recorded).
	Level string
	// Finished, when not "", is the status COC reported for a ticket it no
	// longer takes actions for (cancelled by this operation, or closed
	// before it): the key is released as Release does.
	Finished string
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
	// LookupsDone and UnclearSince are stored on the item (see Delivery).
	LookupsDone  int
	UnclearSince *time.Time
	Now          time.Time
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
	// Level is the ticket's level as COC reported it, recorded as the
	// entry's CocLevel ("" keeps the one recorded).
	Level string
	Error string
	Now   time.Time
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
// One operation per key. The outbox is a queue of COC operations (Kind);
// every kind is claimed, retried, dead-lettered and replayed the same way.
// A key has at most one pending-or-dead item, whatever its kind: the item
// is the key's next operation, the one that brings COC to what the ledger
// says (the ticket exists, has the group's level, reflects the resolve
// policy). Accept and Complete decide it with the pure functions of
// reconcile.go (PlanAccept, PlanComplete), so one key never has two
// operations in flight and a create always goes before any action on its
// ticket: a level change while the create is pending is folded into the
// create, which renders the newest notification; an action queued while
// another is in flight waits for its Complete, which keeps the item for
// the next operation instead of deleting it. Only a create's dead letter
// marks the ledger entry dead; an action's leaves the ticket open.
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
	// Accept records each notification on its key's ledger entry and
	// changes the key's outbox item as PlanAccept says (a DecisionCreate
	// queues one), all in one durable
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
	// Complete records the operation's outcome on the ledger (for a
	// create: the ticket, state open) and deletes the item, or keeps it for
	// the key's next operation, as PlanComplete says: a kept item is due at
	// c.Now with its attempts, lookups, errors and lease cleared (a create
	// kept after a new cycle names the finished ticket). ErrLeaseLost if
	// the caller's lease is gone (a lease that expired but that nobody took
	// over is still held); for a create, when the item still exists and
	// the entry is pending or dead, the ticket is recorded and the item
	// deleted or kept anyway, because the ticket exists in COC. An action
	// (any other kind) whose TicketID is not the entry's ticket any more
	// (it was released, a new cycle began) records nothing: the item is
	// deleted or kept as NextOperation of the entry says, and Complete
	// returns nil when the lease was held.
	Complete(ctx context.Context, c Completion) error
	// Retry releases the lease and reschedules the item. An action the key
	// no longer needs (NextOperation of its entry: Accept kept it because
	// it was in flight, or Release found it leased) is deleted instead.
	// ErrLeaseLost if the lease is gone.
	Retry(ctx context.Context, r RetryRequest) error
	// DeadLetter parks the item (state dead). A create's marks the ledger
	// entry dead; an action's leaves the entry's state as it is and sets
	// its LastError. ErrLeaseLost if the lease is gone.
	DeadLetter(ctx context.Context, d DeadLetterRequest) error
	// Expedite brings pending items forward (see ExpediteRequest) and returns
	// how many it changed. Only NextAttempt changes: an item never becomes
	// due later, and leases, attempts and errors are kept.
	Expedite(ctx context.Context, r ExpediteRequest) (int, error)
	// Replay requeues dead items of every kind (due now, LookupFirst and
	// lookups kept, Attempts reset to zero) and returns how many; the
	// ledger entries of replayed creates go back to pending (an action's
	// entry stays as it is).
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
	// Release closes the key's ticket if TicketID still matches, and deletes
	// the key's pending item when it is an unleased action (it would act on
	// a finished ticket; a leased one ends in Complete or Retry; a dead one
	// waits for a replay or the next firing); otherwise it is a no-op
	// returning ErrNotFound.
	Release(ctx context.Context, r Release) error
	// RecordCheck stores the status (and, when not empty, the level) read
	// from COC for an open ticket. It returns ErrNotFound when the key no
	// longer holds that ticket.
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
