package bridge

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/internal/logthrottle"
)

// Heartbeat is one replica's sign of life in the store the replicas share.
type Heartbeat struct {
	ReplicaID string
	Now       time.Time
	// TTL is how long a heartbeat counts: a replica not seen since
	// Now - TTL is not live (and is forgotten).
	TTL time.Duration
}

// ReplicaRegistry counts the replicas sharing one store (bridge/postgres
// implements it; a SQLite store has one process and needs none).
type ReplicaRegistry interface {
	// Heartbeat records h and returns the live replicas, h's own included.
	Heartbeat(ctx context.Context, h Heartbeat) (int, error)
	// Leave forgets a replica, so the others take its share at their next
	// heartbeat instead of after the TTL.
	Leave(ctx context.Context, replicaID string) error
}

// rateSharer divides the account's COC rate limit (*client.Client).
type rateSharer interface {
	ShareRate(replicas int)
}

// sharerOptions configures a sharer. Every field is required.
type sharerOptions struct {
	Registry  ReplicaRegistry
	Rate      rateSharer
	ReplicaID string
	// Interval is how often the replica beats; a heartbeat counts for
	// heartbeatTTL intervals.
	Interval time.Duration
	// Timeout bounds each store call.
	Timeout time.Duration
	NowFunc func() time.Time
	Logger  *zap.Logger
	Metrics *metrics
}

// heartbeatTTL is how many heartbeat intervals a heartbeat counts: a
// replica that stopped without leaving keeps its share that long.
const heartbeatTTL = 5

// sharer keeps this replica's COC rate limit at the account's divided by
// the live replicas: it beats every Interval and re-divides when the count
// changes. When the store cannot be reached the last share is kept, so a
// replica never raises its rate on its own.
type sharer struct {
	opts sharerOptions
	log  *zap.Logger
	logs *logthrottle.Throttle
	live int
}

func newSharer(opts sharerOptions) *sharer {
	log := opts.Logger.Named("replicas")
	return &sharer{opts: opts, log: log, logs: logthrottle.New(log, logthrottle.Options{Now: opts.NowFunc}), live: 1}
}

// beat records this replica's heartbeat and applies the live count.
func (s *sharer) beat(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, s.opts.Timeout)
	defer cancel()
	n, err := s.opts.Registry.Heartbeat(ctx, Heartbeat{ReplicaID: s.opts.ReplicaID, Now: s.opts.NowFunc(),
		TTL: heartbeatTTL * s.opts.Interval})
	if err != nil {
		if parent.Err() == nil {
			s.opts.Metrics.storeErrors.WithLabelValues("heartbeat").Inc()
			s.logs.Warn("", "heartbeat: "+errorCode(err), "replica heartbeat failed; keeping this replica's share of the COC rate limit",
				zap.Int("replicas", s.live), zap.Error(err))
		}
		return
	}
	s.opts.Metrics.liveReplicas.Set(float64(n))
	if n == s.live {
		return
	}
	s.log.Info("live replicas changed; sharing the COC rate limit among them", zap.Int("replicas", n), zap.Int("before", s.live))
	s.live = n
	s.opts.Rate.ShareRate(n)
}

// run beats every Interval until ctx ends, then leaves the registry (its
// own short deadline) so the others take this replica's share.
func (s *sharer) run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
			defer cancel()
			if err := s.opts.Registry.Leave(lctx, s.opts.ReplicaID); err != nil {
				s.log.Warn("leave the replica registry; the others take this replica's share when its heartbeat expires",
					zap.Duration("after", heartbeatTTL*s.opts.Interval), zap.Error(err))
			}
			return
		case <-t.C:
			s.beat(ctx)
		}
	}
}
