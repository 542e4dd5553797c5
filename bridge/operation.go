package bridge

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// An operation is what one outbox item asks of COC. A worker gets it from
// operationFor, runs perform under the attempt's deadline, and hands the
// error to outcome (outcome.go), the one classification of every kind's
// result; dead letters, replay, leases and per-key ordering are the same
// for every kind.
//
// A new kind needs: a Kind constant in store.go (added to Kinds), a type
// implementing operation (one file, like create.go) that wraps its
// failures with failedAt, or, for an action on the key's open ticket, a
// function stating its action (action.go), a case in operationFor, its results in
// deliveryResultsOf (metrics.go), and, when its success records more than
// performed holds, a field in performed and Completion.
type operation interface {
	// perform makes the item's COC call(s). A failure is wrapped with
	// failedAt to say which step failed; a success says what to record.
	perform(ctx context.Context, d Delivery, log *zap.Logger) (performed, error)
}

// performed is what a successful operation records on the ledger.
type performed struct {
	// TicketID is the ticket the item created, found or acted on.
	TicketID string
	// Title is the rendered title of a created or adopted ticket.
	Title string
	// Level is the level COC now has for the ticket: the one a create or
	// a level change sent, the one COC shows for an adopted ticket ("":
	// unknown, the recorded one is kept).
	Level string
	// Finished is the status of a ticket COC no longer takes actions for
	// (cancelled by the operation, or found closed): the key is released.
	Finished string
	// Result is the coc_bridge_deliveries_total result (deliveryCreated,
	// deliverySent, ...).
	Result string
}

// reachedCOC reports whether COC answered the operation (not a dry run):
// a success after an outage makes the backed-off items due.
func (p performed) reachedCOC() bool { return p.Result != deliveryDryRun }

// operationFor is the one place that decides what to send for an item.
func (dl *deliverer) operationFor(d Delivery) operation {
	switch d.Kind {
	case KindCreate:
		return createOp{dl}
	case KindLevel:
		return actionOp{dl, dl.levelAction}
	case KindCancel:
		return actionOp{dl, dl.cancelAction}
	case KindSolution:
		return actionOp{dl, dl.solutionAction}
	}
	return unknownOp{}
}

// unknownOp dead-letters an item of a kind this version does not know (a
// newer replica queued it): a replay after an upgrade delivers it.
type unknownOp struct{}

func (unknownOp) perform(_ context.Context, d Delivery, _ *zap.Logger) (performed, error) {
	return performed{}, failedAt(stepPrepare, fmt.Errorf("unknown operation kind %q", d.Kind))
}
