package bridge

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/coc-bridge/coc-bridge/mapping"
)

// This file is the accept decision as pure functions. Every engine calls
// them inside its Accept transaction (the PostgreSQL fast path for a new
// key too), so the rules live in one place and the engines only differ in
// how they lock and store; accept_test.go tables the decision and
// bridge/storetest pins the behaviour for all engines.

// Decide returns what Accept does with a notification, given whether the
// key has a ledger entry and its state.
func Decide(found bool, state State, firing bool) Decision {
	switch {
	case !firing && !found:
		return DecisionResolvedUnknown
	case !firing:
		return DecisionRecordResolved
	case !found:
		return DecisionCreate
	}
	switch state {
	case StatePending:
		return DecisionSuppressPending
	case StateOpen:
		return DecisionSuppressOpen
	case StateDead:
		return DecisionSuppressDead
	}
	return DecisionCreate // closed: a new cycle
}

// ApplyNotification returns the ledger entry after n, decided as d, is
// recorded on cur (the zero entry when found is false). It is not called for
// DecisionResolvedUnknown. Engines pass n.ReceivedAt already at their
// storage precision.
func ApplyNotification(cur LedgerEntry, found bool, n Notification, d Decision) LedgerEntry {
	at := n.ReceivedAt.UTC()
	e := cur
	if !found {
		e = LedgerEntry{Key: n.Key, CreatedAt: at}
	}
	e.Receiver = n.Receiver
	e.Notifications++
	e.UpdatedAt = at
	if n.GroupLabels != nil {
		e.GroupLabels = n.GroupLabels
	}
	if n.LevelUpdates != "" {
		e.LevelUpdates = n.LevelUpdates
	}
	if n.OnResolve != "" {
		e.OnResolve = n.OnResolve
	}
	if !n.Firing {
		e.LastStatus = mapping.StatusResolved
		e.ResolvedAt = &at
		return e
	}
	e.LastStatus = mapping.StatusFiring
	e.ResolveHandledAt = nil
	if n.Level != "" {
		e.Level = n.Level
	}
	if d == DecisionCreate {
		newCycle(&e)
	}
	return e
}

// newCycle makes e, whose ticket (if any) is finished, wait for a new
// ticket that names the old one.
func newCycle(e *LedgerEntry) {
	if e.TicketID != "" {
		e.PreviousTicketID = e.TicketID
	}
	e.State = StatePending
	e.TicketID = ""
	e.TicketStatus = ""
	e.CocLevel = ""
	e.LastError = ""
	e.OpenedAt, e.ClosedAt, e.CheckedAt, e.ResolveHandledAt = nil, nil, nil, nil
}

// ErrEmptyKey is returned by Accept for a notification without a key.
var ErrEmptyKey = errors.New("notification has an empty key")

// AcceptInOrder is the body of every engine's Accept transaction: it runs
// accept (one notification applied in the transaction) for each
// notification of batch and returns the results in the batch's order. It
// applies them sorted by key, notifications of one key in batch order:
// taking each key's lock in key order is what keeps concurrent batches
// sharing keys (HA Alertmanager peers sending one notification to two
// replicas) from deadlocking. It fails on an empty key before calling
// accept at all.
func AcceptInOrder(batch []Notification, accept func(Notification) (AcceptResult, error)) ([]AcceptResult, error) {
	order := make([]int, len(batch))
	for i, n := range batch {
		if n.Key == "" {
			return nil, fmt.Errorf("accept notification %d of %d: %w", i+1, len(batch), ErrEmptyKey)
		}
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(batch[a].Key, batch[b].Key) })
	res := make([]AcceptResult, len(batch))
	for _, i := range order {
		r, err := accept(batch[i])
		if err != nil {
			return nil, fmt.Errorf("accept notification for key %s: %w", batch[i].Key, err)
		}
		res[i] = r
	}
	return res, nil
}
