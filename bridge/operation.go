package bridge

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// An operation is what one outbox item asks of COC. A worker gets it from
// operationFor, runs perform under the attempt's deadline, and hands the
// error to outcome (outcome.go), the one classification of every kind's
// result; dead letters, replay, leases and per-key ordering are the same
// for every kind.
//
// A new kind needs: a Kind constant in store.go (added to Kinds), a type
// implementing operation (one file, like create.go) that wraps its
// failures with failedAt, a case in operationFor, its results in
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
		return levelOp{dl}
	case KindCancel:
		return cancelOp{dl}
	case KindSolution:
		return solutionOp{dl}
	}
	return unknownOp{}
}

// unknownOp dead-letters an item of a kind this version does not know (a
// newer replica queued it): a replay after an upgrade delivers it.
type unknownOp struct{}

func (unknownOp) perform(_ context.Context, d Delivery, _ *zap.Logger) (performed, error) {
	return performed{}, failedAt(stepPrepare, fmt.Errorf("unknown operation kind %q", d.Kind))
}

// decodeMessage decodes an action item's stored notification, for the
// texts of the action.
func decodeMessage(d Delivery) (*mapping.Message, error) {
	if d.TicketID == "" {
		return nil, failedAt(stepPrepare, fmt.Errorf("%s item without a ticket to act on", d.Kind))
	}
	msg, err := mapping.Decode(d.Message)
	if err != nil {
		return nil, failedAt(stepPrepare, fmt.Errorf("decode stored notification: %w", err))
	}
	return msg, nil
}

// readTicket reads the ticket an action is for. COC not showing it is
// errNotVisible (retried); another failure is a lookup failure.
func (dl *deliverer) readTicket(ctx context.Context, d Delivery) (client.Ticket, error) {
	t, err := dl.opts.COC.GetTicket(ctx, d.TicketID)
	switch {
	case client.IsTicketNotFound(err):
		return t, failedAt(stepLookup, fmt.Errorf("read ticket %s: %w: %w", d.TicketID, errNotVisible, err))
	case err != nil:
		return t, failedAt(stepLookup, fmt.Errorf("read ticket %s: %w", d.TicketID, err))
	}
	return t, nil
}

// finishedTicket returns what an action records for t when COC reports
// it finished: the key is released with its status.
func (dl *deliverer) finishedTicket(d Delivery, t client.Ticket) (performed, bool) {
	status, finished := ticketFinished(t, nil, dl.opts.Terminal)
	if !finished {
		return performed{}, false
	}
	return performed{TicketID: d.TicketID, Finished: status, Level: t.Level, Result: deliveryReleased}, true
}

// afterRefusal decides what an action COC refused (sendErr, a failure
// of stepAct) comes to. A refusal that sending again repeats
// (refusedByCOC) is read against the ticket: when COC reports it finished
// (closed, cancelled, rejected, deleted) the key is released with that
// status; when settle (nil: none) says what the ticket's status comes to,
// that is recorded; otherwise the refusal stands and the item is
// dead-lettered (replayable). A ticket COC does not show is retried
// (errNotVisible).
func (dl *deliverer) afterRefusal(ctx context.Context, d Delivery, sendErr error,
	settle func(client.Ticket) (performed, bool)) (performed, error) {
	if !refusedByCOC(sendErr) {
		return performed{}, sendErr
	}
	t, err := dl.readTicket(ctx, d)
	switch {
	case err != nil && outcome(err, nil) == OutcomeDead:
		return performed{}, sendErr // the read is refused too (credentials): the refusal stands
	case err != nil:
		return performed{}, err
	}
	if p, ok := dl.finishedTicket(d, t); ok {
		return p, nil
	}
	if settle != nil {
		if p, ok := settle(t); ok {
			return p, nil
		}
	}
	return performed{}, sendErr
}

// dryRun logs an action a dry run does not send and records it as sent.
func dryRun(log *zap.Logger, d Delivery, what string, fields ...zap.Field) performed {
	log.Info("dry run: "+what+" not sent to COC", append(fields, zap.String("ticket_id", d.TicketID))...)
	return performed{TicketID: d.TicketID, Result: deliveryDryRun}
}

// receivedAt is when the key's resolve arrived, for the texts naming it.
func receivedAt(d Delivery) time.Time {
	if d.ResolvedAt != nil {
		return *d.ResolvedAt
	}
	return d.AcceptedAt
}
