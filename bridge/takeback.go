package bridge

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Taking back the leases of the run before.
//
// A process killed while it held outbox items (kill -9, OOM, a node lost)
// leaves their leases behind; another worker may claim them only when the
// lease expires (Options.Lease, 2 minutes by default). When the process
// that starts is the one that held them, nobody else can be working on
// them, so it takes them back at once instead: on SQLite, whose file
// belongs to one process, every lease; on PostgreSQL, the leases of its
// own replica id. Either way the items are claimed with LookupFirst set:
// the killed attempt may have created the ticket.

// TakeBackRequest names the leases a starting process takes back. The
// bridge sends it once when it starts, before its workers claim anything.
type TakeBackRequest struct {
	// Replica is the starting process's replica id. Its workers own leases
	// as Replica + "/" + the worker's number. An engine shared by replicas
	// (PostgreSQL) takes back the leases owned by Replica or one of its
	// workers, which is why replica ids must be unique among the running
	// replicas and stable across restarts. An engine whose database
	// belongs to one process (SQLite) takes back every lease: the process
	// before this one is gone, whatever its replica id was.
	Replica string
	Now     time.Time
}

// takeBack takes back the leases of this replica's previous run. A failure
// is logged and otherwise harmless: the leases then expire as usual.
func (b *Bridge) takeBack(ctx context.Context) {
	n, err := b.opts.Store.TakeBack(ctx, TakeBackRequest{Replica: b.opts.ReplicaID, Now: b.opts.NowFunc()})
	if err != nil {
		b.metrics.storeErrors.WithLabelValues("take_back").Inc()
		b.log.Warn("take back the outbox items the previous run held; they are claimed when their lease expires",
			zap.Duration("lease", b.opts.Lease), zap.Error(err))
		return
	}
	if n > 0 {
		b.log.Info("took back outbox items the previous run held; each is looked up in COC before any create",
			zap.Int("items", n), zap.String("replica", b.opts.ReplicaID))
	}
}
