package bridge

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// runStats refreshes the store gauges and the readiness gauge every
// interval until ctx ends.
func (v *views) runStats(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		v.updateStats(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (v *views) updateStats(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := v.checkReady(ctx); err != nil {
		v.m.ready.Set(0)
	} else {
		v.m.ready.Set(1)
	}
	st, err := v.opts.Store.Stats(ctx)
	if err != nil {
		if ctx.Err() == nil {
			v.m.storeErrors.WithLabelValues("stats").Inc()
			v.log.Warn("read store stats", zap.Error(err))
		}
		return
	}
	v.m.observeStats(st, v.opts.NowFunc())
}
