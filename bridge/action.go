package bridge

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// An action is what an item of an action kind (a level change, a cancel,
// a solution) asks of the key's open ticket, as its kind states it
// (levelAction, cancelAction, solutionAction). actionOp runs the steps
// every action shares: decode the stored notification, let the kind state
// the action, log it in a dry run, read the ticket when the action needs
// it (a finished one releases the key), send, and read a refusal against
// the ticket (afterRefusal).
type action struct {
	// skip: COC has what the action would send already (decided on an
	// older state); nothing is sent, not even in a dry run.
	skip bool
	// what and fields describe the action in a dry run's log.
	what   string
	fields []zap.Field
	// level is the ticket's level once the action is sent ("": COC's).
	level string
	// read: the ticket is read before sending.
	read bool
	// settle (nil: none) says what a ticket COC shows comes to without
	// sending: before the send (when read) and after a refusal.
	settle func(client.Ticket) (performed, bool)
	// send makes the COC call, for the ticket read (zero when not read),
	// and returns the status it leaves the ticket in when that finishes
	// it (the key is released); sending names the call in its failure.
	send    func(ctx context.Context, t client.Ticket) (finished string, err error)
	sending string
}

// actionOp performs the items of one action kind.
type actionOp struct {
	dl   *deliverer
	kind func(d Delivery, msg *mapping.Message, log *zap.Logger) (action, error)
}

func (op actionOp) perform(ctx context.Context, d Delivery, log *zap.Logger) (performed, error) {
	if d.TicketID == "" {
		return performed{}, failedAt(stepPrepare, fmt.Errorf("%s item without a ticket to act on", d.Kind))
	}
	msg, err := mapping.Decode(d.Message)
	if err != nil {
		return performed{}, failedAt(stepPrepare, fmt.Errorf("decode stored notification: %w", err))
	}
	a, err := op.kind(d, msg, log)
	switch {
	case err != nil:
		return performed{}, failedAt(stepPrepare, err)
	case a.skip:
		return performed{TicketID: d.TicketID, Level: a.level, Result: deliverySkipped}, nil
	case op.dl.opts.DryRun:
		log.Info("dry run: "+a.what+" not sent to COC", append(a.fields, zap.String("ticket_id", d.TicketID))...)
		return performed{TicketID: d.TicketID, Level: a.level, Result: deliveryDryRun}, nil
	}
	var t client.Ticket
	if a.read {
		if t, err = op.dl.readTicket(ctx, d); err != nil {
			return performed{}, err
		}
		if p, ok := op.dl.settled(d, t, a.settle); ok {
			return p, nil
		}
	}
	finished, err := a.send(ctx, t)
	if err != nil {
		return op.dl.afterRefusal(ctx, d, failedAt(stepAct, fmt.Errorf("%s: %w", a.sending, err)), a.settle)
	}
	return performed{TicketID: d.TicketID, Finished: finished, Level: cmp.Or(a.level, t.Level), Result: deliverySent}, nil
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

// settled returns what an action records for t without sending: when COC
// reports it finished (closed, cancelled, rejected, deleted) the key is
// released with its status; otherwise settle (nil: none) decides.
func (dl *deliverer) settled(d Delivery, t client.Ticket, settle func(client.Ticket) (performed, bool)) (performed, bool) {
	if status, finished := ticketFinished(t, nil, dl.opts.Terminal); finished {
		return performed{TicketID: d.TicketID, Finished: status, Level: t.Level, Result: deliveryReleased}, true
	}
	if settle == nil {
		return performed{}, false
	}
	return settle(t)
}

// afterRefusal decides what an action COC refused (sendErr, a failure
// of stepAct) comes to. A refusal that sending again repeats
// (refusedByCOC) is read against the ticket (settled: a finished ticket
// releases the key, settle may record its status); otherwise the refusal
// stands and the item is dead-lettered (replayable). A ticket COC does not
// show is retried (errNotVisible).
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
	if p, ok := dl.settled(d, t, settle); ok {
		return p, nil
	}
	return performed{}, sendErr
}

// levelAction changes the level of the key's open ticket to the level its
// group maps to now (ugrading_and_downgrading), with a reason that names
// the alerts, their severity and the time.
func (dl *deliverer) levelAction(d Delivery, msg *mapping.Message, _ *zap.Logger) (action, error) {
	switch d.Level {
	case "":
		return action{}, fmt.Errorf("level change of ticket %s without a level", d.TicketID)
	case d.CocLevel: // decided on an older state: COC has the level already
		return action{skip: true, level: d.Level}, nil
	}
	o := dl.opts
	reason := o.Mapper.LevelChangeReason(msg, d.CocLevel, d.Level, o.NowFunc())
	return action{
		what:    "level change",
		fields:  []zap.Field{zap.String("level", d.Level), zap.String("coc_level", d.CocLevel), zap.String("reason", reason)},
		level:   d.Level,
		sending: fmt.Sprintf("change level of ticket %s to %s", d.TicketID, d.Level),
		send: func(ctx context.Context, _ client.Ticket) (string, error) {
			return "", o.COC.ChangeLevel(ctx, client.ChangeLevelRequest{TicketID: d.TicketID, Level: d.Level, Reason: reason})
		},
	}, nil
}

// cancelAction cancels the key's open ticket (gocm_issues_undo_create)
// after every alert of its group resolved, when COC still reports the
// ticket as not yet accepted (on_resolve: cancel_unaccepted): an alert that
// resolved before anyone took its ticket was a flap. An accepted ticket is
// someone's work and is left alone, also when COC refuses the cancel
// because it saw the ticket accepted since the read; either way the
// resolve is handled.
func (dl *deliverer) cancelAction(d Delivery, msg *mapping.Message, log *zap.Logger) (action, error) {
	o := dl.opts
	reason := o.Mapper.RevocationReason(msg, receivedAt(d))
	return action{
		what:   "cancel of an unaccepted ticket",
		fields: []zap.Field{zap.String("reason", reason)},
		read:   true,
		settle: func(t client.Ticket) (performed, bool) {
			if notYetAccepted(t) {
				return performed{}, false
			}
			log.Info("resolved group's ticket is accepted in COC: left alone", zap.String("status", t.StatusName()))
			return performed{TicketID: d.TicketID, Level: t.Level, Result: deliverySkipped}, true
		},
		sending: "cancel ticket " + d.TicketID,
		send: func(ctx context.Context, _ client.Ticket) (string, error) {
			if err := o.COC.CancelTicket(ctx, client.CancelTicketRequest{TicketID: d.TicketID, Reason: reason}); err != nil {
				return "", err
			}
			// Read the cancelled status back for the ledger; COC took the
			// cancel, so a failed read still releases the key.
			if t, err := o.COC.GetTicket(ctx, d.TicketID); err == nil {
				if status, _ := ticketFinished(t, nil, o.Terminal); status != "" {
					return status, nil
				}
			}
			return statusCancelled, nil
		},
	}, nil
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

// solutionAction submits a solution (submitting_question) to the key's
// open ticket after every alert of its group resolved (on_resolve:
// submit_solution): the solution text says when they resolved, the other
// fields come from the receiver's mapping (submit_solution), the regions
// default to the ticket's own. COC then waits for someone to complete the
// ticket.
func (dl *deliverer) solutionAction(d Delivery, msg *mapping.Message, _ *zap.Logger) (action, error) {
	o := dl.opts
	sol := o.Mapper.Policy(d.Receiver).Solution
	req := client.SubmitSolutionRequest{
		TicketID: d.TicketID, RootCauseCloudService: sol.RootCauseCloudService, RootCauseType: sol.RootCauseType,
		RootCauseComment: sol.RootCauseComment, IssueVersion: sol.IssueVersion, Regions: sol.Regions,
		Solution: o.Mapper.SolutionText(msg, receivedAt(d)), IsCommonIssue: sol.IsCommonIssue, IsNeedChange: sol.IsNeedChange,
	}
	return action{
		what:    "solution",
		fields:  []zap.Field{zap.String("solution", req.Solution)},
		read:    true,
		sending: "submit solution to ticket " + d.TicketID,
		send: func(ctx context.Context, t client.Ticket) (string, error) {
			if req.Regions == "" {
				req.Regions = t.Regions
			}
			return "", o.COC.SubmitSolution(ctx, req)
		},
	}, nil
}

// receivedAt is when the key's resolve arrived, for the texts naming it.
func receivedAt(d Delivery) time.Time {
	if d.ResolvedAt != nil {
		return *d.ResolvedAt
	}
	return d.AcceptedAt
}
