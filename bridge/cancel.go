package bridge

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// cancelOp cancels the key's open ticket (gocm_issues_undo_create) after
// every alert of its group resolved, when COC still reports the ticket as
// not yet accepted (on_resolve: cancel_unaccepted): an alert that resolved
// before anyone took its ticket was a flap. An accepted ticket is someone's
// work and is left alone; either way the resolve is handled.
type cancelOp struct{ dl *deliverer }

func (op cancelOp) perform(ctx context.Context, d Delivery, log *zap.Logger) (performed, error) {
	o := op.dl.opts
	msg, err := decodeMessage(d)
	if err != nil {
		return performed{}, err
	}
	reason := o.Mapper.RevocationReason(msg, receivedAt(d))
	if o.DryRun {
		return dryRun(log, d, "cancel of an unaccepted ticket", zap.String("reason", reason)), nil
	}
	t, err := op.dl.readTicket(ctx, d)
	if err != nil {
		return performed{}, err
	}
	if p, ok := op.dl.finishedTicket(d, t); ok {
		return p, nil
	}
	accepted := func(t client.Ticket) (performed, bool) {
		if notYetAccepted(t) {
			return performed{}, false
		}
		log.Info("resolved group's ticket is accepted in COC: left alone", zap.String("status", t.StatusName()))
		return performed{TicketID: d.TicketID, Level: t.Level, Result: deliverySkipped}, true
	}
	if p, ok := accepted(t); ok {
		return p, nil
	}
	if err := o.COC.CancelTicket(ctx, client.CancelTicketRequest{TicketID: d.TicketID, Reason: reason}); err != nil {
		// Refused: COC may have seen the ticket accepted or closed since the read.
		return op.dl.afterRefusal(ctx, d, failedAt(stepAct, fmt.Errorf("cancel ticket %s: %w", d.TicketID, err)), accepted)
	}
	// Read the cancelled status back for the ledger; COC took the cancel,
	// so a failed read still releases the key.
	p := performed{TicketID: d.TicketID, Finished: statusCancelled, Level: t.Level, Result: deliverySent}
	if t, err := o.COC.GetTicket(ctx, d.TicketID); err == nil {
		if status, _ := ticketFinished(t, nil, o.Terminal); status != "" {
			p.Finished = status
		}
	}
	return p, nil
}

// statusCancelled is recorded for a ticket the bridge cancelled when COC's
// status cannot be read back.
const statusCancelled = "cancelled"

// notYetAccepted reports whether COC shows t as waiting for acceptance
// (nobody took it yet): the status code of a new ticket
// (issues_work_flow_status_1000), or an English status name saying so.
// COC documents neither; anything else counts as accepted, so a ticket
// someone works on is never cancelled.
func notYetAccepted(t client.Ticket) bool {
	if t.WorkFlowStatus == statusNew {
		return true
	}
	name := strings.ToLower(t.StatusName())
	for _, s := range []string{"pending acceptance", "to be accepted", "unaccepted", "unhandled", "not accepted"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// statusNew is the status of a new ticket pending acceptance.
const statusNew = "issues_work_flow_status_1000"
