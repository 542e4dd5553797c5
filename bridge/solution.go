package bridge

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// solutionOp submits a solution (submitting_question) to the key's open
// ticket after every alert of its group resolved (on_resolve:
// submit_solution): the solution text says when they resolved, the other
// fields come from the receiver's mapping (submit_solution), the regions
// default to the ticket's own. COC then waits for someone to complete the
// ticket.
type solutionOp struct{ dl *deliverer }

func (op solutionOp) perform(ctx context.Context, d Delivery, log *zap.Logger) (performed, error) {
	o := op.dl.opts
	msg, err := decodeMessage(d)
	if err != nil {
		return performed{}, err
	}
	sol := o.Mapper.Policy(d.Receiver).Solution
	req := client.SubmitSolutionRequest{
		TicketID: d.TicketID, RootCauseCloudService: sol.RootCauseCloudService, RootCauseType: sol.RootCauseType,
		RootCauseComment: sol.RootCauseComment, IssueVersion: sol.IssueVersion, Regions: sol.Regions,
		Solution: o.Mapper.SolutionText(msg, receivedAt(d)), IsCommonIssue: sol.IsCommonIssue, IsNeedChange: sol.IsNeedChange,
	}
	if o.DryRun {
		return dryRun(log, d, "solution", zap.String("solution", req.Solution)), nil
	}
	t, err := op.dl.readTicket(ctx, d)
	if err != nil {
		return performed{}, err
	}
	if p, ok := op.dl.finishedTicket(d, t); ok {
		return p, nil
	}
	if req.Regions == "" {
		req.Regions = t.Regions
	}
	if err := o.COC.SubmitSolution(ctx, req); err != nil {
		return op.dl.afterRefusal(ctx, d, failedAt(stepAct, fmt.Errorf("submit solution to ticket %s: %w", d.TicketID, err)), nil)
	}
	return performed{TicketID: d.TicketID, Level: t.Level, Result: deliverySent}, nil
}
