package bridge

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// levelOp changes the level of the key's open ticket to the level its
// group maps to now (ugrading_and_downgrading), with a reason that names
// the alerts, their severity and the time.
type levelOp struct{ dl *deliverer }

func (op levelOp) perform(ctx context.Context, d Delivery, log *zap.Logger) (performed, error) {
	o := op.dl.opts
	msg, err := decodeMessage(d)
	if err != nil {
		return performed{}, err
	}
	if d.Level == "" {
		return performed{}, failedAt(stepPrepare, fmt.Errorf("level change of ticket %s without a level", d.TicketID))
	}
	if d.Level == d.CocLevel {
		// Decided on an older state: COC has the level already.
		return performed{TicketID: d.TicketID, Level: d.Level, Result: deliverySkipped}, nil
	}
	reason := o.Mapper.LevelChangeReason(msg, d.CocLevel, d.Level, o.NowFunc())
	if o.DryRun {
		p := dryRun(log, d, "level change", zap.String("level", d.Level), zap.String("coc_level", d.CocLevel), zap.String("reason", reason))
		p.Level = d.Level
		return p, nil
	}
	err = o.COC.ChangeLevel(ctx, client.ChangeLevelRequest{TicketID: d.TicketID, Level: d.Level, Reason: reason})
	if err != nil {
		return op.dl.afterRefusal(ctx, d, failedAt(stepAct, fmt.Errorf("change level of ticket %s to %s: %w", d.TicketID, d.Level, err)), nil)
	}
	return performed{TicketID: d.TicketID, Level: d.Level, Result: deliverySent}, nil
}
