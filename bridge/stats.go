package bridge

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// statsStore is what the stats loop needs of the store.
type statsStore interface {
	Stats(ctx context.Context) (Stats, error)
}

// statsOptions configures a statsLoop. Every field is required.
type statsOptions struct {
	Store statsStore
	// Ready is the readiness check behind coc_bridge_ready.
	Ready    func(ctx context.Context) error
	Interval time.Duration
	NowFunc  func() time.Time
	Logger   *zap.Logger
	Metrics  *metrics
}

// statsLoop refreshes the store gauges and the readiness gauge every
// Interval.
type statsLoop struct{ opts statsOptions }

func newStatsLoop(opts statsOptions) *statsLoop { return &statsLoop{opts: opts} }

// run updates the gauges until ctx ends.
func (s *statsLoop) run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		s.update(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *statsLoop) update(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m := s.opts.Metrics
	if err := s.opts.Ready(ctx); err != nil {
		m.ready.Set(0)
	} else {
		m.ready.Set(1)
	}
	st, err := s.opts.Store.Stats(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.storeErrors.WithLabelValues("stats").Inc()
			s.opts.Logger.Warn("read store stats", zap.Error(err))
		}
		return
	}
	age := 0.0
	if !st.OldestPending.IsZero() {
		age = max(0, s.opts.NowFunc().Sub(st.OldestPending).Seconds())
	}
	m.observeStats(st, age)
}
