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
// failures with failedAt, a case in operationFor, and, when its success
// records more than a ticket id, a field in performed and Completion.
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
	// Result is the coc_bridge_deliveries_total result (deliveryCreated,
	// deliveryAdopted, deliveryDryRun).
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
	}
	return unknownOp{}
}

// unknownOp dead-letters an item of a kind this version does not know (a
// newer replica queued it): a replay after an upgrade delivers it.
type unknownOp struct{}

func (unknownOp) perform(_ context.Context, d Delivery, _ *zap.Logger) (performed, error) {
	return performed{}, failedAt(stepPrepare, fmt.Errorf("unknown operation kind %q", d.Kind))
}
