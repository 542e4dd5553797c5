package bridge

import (
	"time"

	"github.com/coc-bridge/coc-bridge/mapping"
)

// This file decides, as pure functions, what a key's one outbox item is
// (see "One operation per key" on Store): the operation that brings COC to
// what the ledger says. Engines call PlanAccept inside Accept and
// PlanComplete inside Complete; accept_test.go and reconcile_test.go table
// them, bridge/storetest pins what the engines make of them.

// NextOperation returns the operation COC still needs for e, if any: a
// create while the key waits for a ticket (pending, or dead until a
// replay); for an open ticket, a level change when the group's level
// differs from COC's as e.LevelUpdates says to send (LevelChange), or,
// once every alert resolved, the resolve policy's action until it was
// handled. A closed key needs nothing.
func NextOperation(e LedgerEntry) (Kind, bool) {
	switch e.State {
	case StatePending, StateDead:
		return KindCreate, true
	case StateOpen:
	default:
		return "", false
	}
	if e.LastStatus == mapping.StatusFiring {
		if LevelChange(e.LevelUpdates, e.CocLevel, e.Level) {
			return KindLevel, true
		}
		return "", false
	}
	if e.ResolveHandledAt != nil {
		return "", false
	}
	switch e.OnResolve {
	case mapping.OnResolveCancelUnaccepted:
		return KindCancel, true
	case mapping.OnResolveSubmitSolution:
		return KindSolution, true
	}
	return "", false
}

// ItemRef is what Accept and Complete know of a key's live
// (pending-or-dead) outbox item.
type ItemRef struct {
	Found bool
	Kind  Kind
	State ItemState
	// Leased is true while a worker holds the item (an operation may be in
	// flight): as Claim sees it, it has a lease owner and its lease ends
	// after the time of the call (Notification.ReceivedAt for Accept).
	Leased bool
}

// ItemAction is what an engine does to a key's live outbox item.
type ItemAction int

// Item actions.
const (
	// ItemKeep changes nothing.
	ItemKeep ItemAction = iota
	// ItemInsert queues a new item of ItemPlan.Kind, due at once, carrying
	// the notification's message.
	ItemInsert
	// ItemUpdate sets the existing item's kind to ItemPlan.Kind and, when
	// ItemPlan.Message, makes it carry the notification's message; its
	// state, due time, lease and attempts are kept.
	ItemUpdate
	// ItemDelete deletes the existing item (unleased: nothing is in flight).
	ItemDelete
	// ItemReplace deletes the existing item, a dead one of another kind
	// (the operation that failed is not the key's next any more), and
	// queues a new item as ItemInsert does.
	ItemReplace
)

// ItemPlan is what Accept does to the key's live outbox item.
type ItemPlan struct {
	Action ItemAction
	Kind   Kind
	// Message: the item carries the notification's message from now on.
	Message bool
}

// PlanAccept is the whole accept decision for one notification n on the
// key's entry cur (found false: none) and its live item: the decision, the
// entry to store, and what becomes of the item. It is not called again for
// DecisionResolvedUnknown (nothing is stored). Engines pass n.ReceivedAt
// already at their storage precision.
//
// The item carries the newest firing notification (a create renders it,
// a level change names its alerts); a resolved one is carried only by an
// item it queues or turns into a resolve action. A dead item keeps waiting
// for a replay while its operation is still the key's next one; when the
// next one is another (a new cycle's create after a dead level change, a
// cancel after it), it is replaced by a pending item: a dead letter must
// not hold back an operation that never failed. An item no longer needed
// (a resolve action when the group fires again, a level change when the
// level is back) is deleted unless a worker holds it: then its Complete
// decides again.
func PlanAccept(cur LedgerEntry, found bool, n Notification, item ItemRef) (Decision, LedgerEntry, ItemPlan) {
	d := Decide(found, cur.State, n.Firing)
	if d == DecisionResolvedUnknown {
		return d, LedgerEntry{}, ItemPlan{}
	}
	e := ApplyNotification(cur, found, n, d)
	want, ok := NextOperation(e)
	switch {
	case d == DecisionSuppressOpen && ok && want == KindLevel:
		d = DecisionLevelChange
	case d == DecisionRecordResolved && e.State == StateOpen && ok:
		d = DecisionResolveAction
	}
	return d, e, planItem(want, ok, item, n.Firing)
}

// planItem is PlanAccept's item rule: want (ok false: nothing) is the
// key's next operation after the notification, firing its status.
func planItem(want Kind, ok bool, item ItemRef, firing bool) ItemPlan {
	switch {
	case !item.Found && ok:
		return ItemPlan{Action: ItemInsert, Kind: want, Message: true}
	case !item.Found:
		return ItemPlan{}
	case ok && item.State == ItemDead && want != item.Kind:
		return ItemPlan{Action: ItemReplace, Kind: want, Message: true}
	case ok:
		return ItemPlan{Action: ItemUpdate, Kind: want, Message: firing || want != item.Kind}
	case !item.Leased && item.Kind != KindCreate:
		return ItemPlan{Action: ItemDelete}
	}
	return ItemPlan{}
}

// PlanComplete applies the outcome c of a claimed item's operation to the
// key's entry e and returns the entry to store and the key's next
// operation: ok false deletes the item, ok true keeps it as an item of
// that kind, due at once with its attempts and lookups reset (the
// worker's operation is done; the next one starts afresh). Engines pass
// c.Now already at their storage precision.
//
// A create or adoption opens the ticket; a level change records the level
// COC has; a cancel or solution marks the resolve handled. A Finished
// status releases the key as Release does, and when the group is firing
// again (it fired after the resolve that cancelled its ticket, or a level
// change found the ticket closed) starts a new cycle at once: the next
// operation is a create naming the finished ticket.
func PlanComplete(e LedgerEntry, c Completion) (LedgerEntry, Kind, bool) {
	at := c.Now.UTC()
	e.UpdatedAt = at
	e.LastError = ""
	if c.Level != "" {
		e.CocLevel = c.Level
	}
	switch c.Kind {
	case KindCreate:
		e.State = StateOpen
		e.TicketID = c.TicketID
		e.TicketStatus = ""
		if c.Title != "" {
			e.Title = c.Title
		}
		e.OpenedAt, e.ClosedAt, e.CheckedAt = &at, nil, nil
	case KindCancel, KindSolution:
		e.ResolveHandledAt = &at
	}
	if c.Finished != "" {
		releaseEntry(&e, c.Finished, at)
		if e.LastStatus == mapping.StatusFiring {
			newCycle(&e)
		}
	}
	next, ok := NextOperation(e)
	return e, next, ok
}

// releaseEntry closes e's ticket, finished in COC with status, at at.
func releaseEntry(e *LedgerEntry, status string, at time.Time) {
	e.State = StateClosed
	e.TicketStatus = status
	e.ClosedAt = &at
	e.UpdatedAt = at
}
