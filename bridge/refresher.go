package bridge

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// statusNotFound is recorded when COC says the ticket does not exist.
const statusNotFound = "not_found"

// notFoundGrace is how old a ticket must be before "ticket does not exist"
// is believed.
const notFoundGrace = 10 * time.Minute

// runRefresher reads open tickets back from COC, each at most once per
// RefreshInterval, and releases the keys whose ticket is finished so the
// next firing notification opens a new ticket. Reads go through the COC
// client's shared rate limiter, so they never crowd out creates beyond it;
// DueForRefresh hands each ticket to one replica only.
func (b *Bridge) runRefresher(ctx context.Context) {
	log := b.log.Named("refresher")
	tick := min(max(b.opts.RefreshInterval/10, 100*time.Millisecond), 30*time.Second)
	t := time.NewTimer(tick)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := b.refreshRound(ctx, log)
		if err != nil && ctx.Err() == nil {
			b.metrics.storeErrors.WithLabelValues("refresh").Inc()
			if err.Error() != lastErr {
				log.Warn("list tickets due for a status check", zap.Error(err))
			}
			lastErr = err.Error()
		}
		if n == b.opts.RefreshBatch {
			t.Reset(0) // more are due: keep going, paced by the rate limiter
		} else {
			t.Reset(tick)
		}
	}
}

// refreshRound checks one batch of due tickets and returns how many it took.
func (b *Bridge) refreshRound(ctx context.Context, log *zap.Logger) (int, error) {
	entries, err := b.opts.Store.DueForRefresh(ctx, RefreshRequest{
		Interval: b.opts.RefreshInterval, Limit: b.opts.RefreshBatch, Now: b.opts.NowFunc(),
	})
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		b.refreshOne(ctx, log, e)
	}
	return len(entries), nil
}

// refreshOne reads one ticket and records what COC says about it.
func (b *Bridge) refreshOne(ctx context.Context, log *zap.Logger, e LedgerEntry) {
	log = log.With(zap.String("key", e.Key), zap.String("receiver", e.Receiver), zap.String("ticket_id", e.TicketID))
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	t, err := b.opts.COC.GetTicket(rctx, e.TicketID)
	status, finished := ticketFinished(t, err, b.terminal)
	if finished && status == statusNotFound && e.OpenedAt != nil && b.opts.NowFunc().Sub(*e.OpenedAt) < notFoundGrace {
		// COC creates tickets asynchronously: a young ticket may not be
		// readable yet. Releasing it now would open a duplicate.
		finished = false
	}
	if err != nil && !finished {
		b.metrics.refreshes.WithLabelValues(refreshError).Inc()
		log.Debug("read ticket status", zap.Error(err))
		b.recordCheck(ctx, log, Check{Key: e.Key, TicketID: e.TicketID, Error: err.Error(), Now: b.opts.NowFunc()})
		return
	}
	if !finished {
		b.metrics.refreshes.WithLabelValues(refreshOpen).Inc()
		b.recordCheck(ctx, log, Check{Key: e.Key, TicketID: e.TicketID, Status: status, Now: b.opts.NowFunc()})
		return
	}
	err = b.opts.Store.Release(ctx, Release{Key: e.Key, TicketID: e.TicketID, Status: status, Now: b.opts.NowFunc()})
	switch {
	case errors.Is(err, ErrNotFound):
		// A newer ticket replaced it meanwhile; nothing to release.
		b.metrics.refreshes.WithLabelValues(refreshOpen).Inc()
	case err != nil:
		b.metrics.storeErrors.WithLabelValues("release").Inc()
		log.Warn("release finished ticket", zap.Error(err))
	default:
		b.metrics.refreshes.WithLabelValues(refreshReleased).Inc()
		log.Info("ticket finished in COC; the next firing opens a new ticket", zap.String("status", status))
	}
}

// ticketFinished decides from a show-ticket answer whether the ticket is
// finished (completed or another terminal status, deleted, or gone) and
// returns the status to record.
func ticketFinished(t client.Ticket, err error, terminal map[string]bool) (string, bool) {
	switch {
	case client.IsTicketNotFound(err):
		return statusNotFound, true
	case err != nil:
		return "", false
	case t.IsDeleted:
		return "deleted", true
	case terminal[t.WorkFlowStatus]:
		return t.StatusName(), true
	}
	return t.StatusName(), false
}

func (b *Bridge) recordCheck(ctx context.Context, log *zap.Logger, c Check) {
	err := b.opts.Store.RecordCheck(ctx, c)
	if err != nil && !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
		b.metrics.storeErrors.WithLabelValues("refresh").Inc()
		log.Warn("record ticket status", zap.Error(err))
	}
}
