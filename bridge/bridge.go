package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// TicketClient is what the bridge needs from COC: what the deliverer and
// the refresher need. *client.Client implements it; tests use the real
// client against the fake COC (client/coctest).
type TicketClient interface {
	ticketWriter
	ticketReader
	// LowPriority is the same client making its calls at low priority:
	// the refresher's status reads go through it.
	LowPriority() *client.Client
	rateSharer
}

// Options configures a Bridge. Store, Mapper and Logger are required; COC is
// required unless DryRun is set.
type Options struct {
	Store  Store
	Mapper Mapper
	COC    TicketClient
	// DryRun renders tickets and records them with a "dry-run-" ticket id
	// instead of calling COC.
	DryRun bool
	// Ready reports whether COC credentials are usable (nil: always). Its
	// error is shown by /-/ready.
	Ready func(ctx context.Context) error

	Logger     *zap.Logger
	Registerer prometheus.Registerer
	// Gatherer serves /metrics (usually the registry behind Registerer).
	Gatherer prometheus.Gatherer
	Version  string

	// ReplicaID names this process as a lease owner (unique per replica).
	ReplicaID string
	// Workers is the number of delivery workers (default 4).
	Workers int
	// Lease is how long a claimed outbox item is held (default 2m). A delivery
	// attempt is cut off at half the lease so it ends before the lease does.
	Lease time.Duration
	// PollInterval is how often idle workers look for due items (default 1s);
	// a newly accepted item wakes them at once.
	PollInterval time.Duration
	// RetryBaseDelay and RetryMaxDelay bound the outbox backoff (defaults 1s
	// and 5m). An ambiguous create waits at least AmbiguousDelay (default 5s)
	// before its lookup, since COC creates tickets asynchronously.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	AmbiguousDelay time.Duration
	// RecoveryProbe bounds the way back from a COC outage (default 5s):
	// while COC is unavailable, a delivery is attempted at least this often
	// whatever the items' backoff, and the first success after COC was
	// unavailable for at least this long makes every backed-off item due at
	// once.
	RecoveryProbe time.Duration
	// RefreshInterval is how often a young open ticket is read back from
	// COC (default 5m); older tickets are read every age / 12, at most every
	// RefreshMaxInterval (default 1h; see RefreshRequest.IntervalFor).
	// RefreshBatch is the tickets read per list call (default 50, at most
	// client.MaxTicketsPerRead).
	RefreshInterval    time.Duration
	RefreshMaxInterval time.Duration
	RefreshBatch       int
	// Replicas, when set, counts the replicas sharing the store (the
	// PostgreSQL store): each beats every ReplicaHeartbeat (default 2s) and
	// divides the COC client's rate limit, the account's, by the live
	// replicas. Nil: this process is alone.
	Replicas         ReplicaRegistry
	ReplicaHeartbeat time.Duration
	// TerminalStatuses extends the default rules of TerminalStatuses (which
	// release completed, closed, cancelled, revoked, rejected and deleted
	// tickets) with status codes, names or phases, "!x" excluding one (see
	// NewTerminalStatuses).
	TerminalStatuses []string
	// StoreTimeout bounds every store call (default DefaultStoreTimeout):
	// when the database does not answer in time, a webhook gets 503 (which
	// Alertmanager retries), a view 503, and workers and the refresher try
	// again on their next round. /-/ready bounds its store check at one
	// second whatever this is.
	StoreTimeout time.Duration
	// StatsInterval is how often gauges are refreshed from the store (default 5s).
	StatsInterval time.Duration
	// ShutdownGrace bounds how long Run waits for in-flight deliveries after
	// its context ends (default 30s).
	ShutdownGrace time.Duration

	// MaxBodyBytes caps a webhook body (default 4 MiB).
	MaxBodyBytes int64
	// Auth protects the webhook; zero value means no authentication.
	Auth WebhookAuth

	// NowFunc is the clock (default time.Now).
	NowFunc func() time.Time
	// JitterFunc returns a random duration in [0, d] (default uniform).
	JitterFunc func(d time.Duration) time.Duration
}

// Bridge assembles the pipeline from its parts and runs them: the receiver
// (the accept path), the deliverer (the delivery workers), the refresher,
// the prober (outage recovery) and the views (read-only HTTP, stats loop).
// Each part takes its own options and the narrow slice of the Store and of
// COC it uses; Bridge only builds them from Options and owns their
// goroutines.
type Bridge struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics
	handler http.Handler

	deliverer *deliverer
	refresher *refresher
	sharer    *sharer
	prober    *prober
	views     *views

	// The HTTP handlers routes (server.go) serves.
	receive, tickets, outbox, healthy, readyHandler http.HandlerFunc
}

// New validates opts, fills defaults, registers metrics and builds the
// parts.
func New(opts Options) (*Bridge, error) {
	if opts.Store == nil || opts.Mapper == nil {
		return nil, errors.New("bridge: Store and Mapper are required")
	}
	if opts.COC == nil && !opts.DryRun {
		return nil, errors.New("bridge: COC client is required unless DryRun is set")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Gatherer == nil {
		if g, ok := opts.Registerer.(prometheus.Gatherer); ok {
			opts.Gatherer = g
		} else {
			opts.Gatherer = prometheus.NewRegistry()
		}
	}
	setDefaults(&opts)
	opts.Store = WithDeadline(opts.Store, opts.StoreTimeout)
	m := newMetrics(opts.Registerer, opts.Version)
	terminal, err := NewTerminalStatuses(opts.TerminalStatuses)
	if err != nil {
		return nil, fmt.Errorf("bridge: TerminalStatuses: %w", err)
	}
	b := &Bridge{opts: opts, log: opts.Logger, metrics: m}
	b.deliverer = newDeliverer(delivererOptions{
		Store: opts.Store, COC: opts.COC, Mapper: opts.Mapper, DryRun: opts.DryRun,
		ReplicaID: opts.ReplicaID, Workers: opts.Workers, Lease: opts.Lease, PollInterval: opts.PollInterval,
		RetryBaseDelay: opts.RetryBaseDelay, RetryMaxDelay: opts.RetryMaxDelay,
		Terminal: terminal, NowFunc: opts.NowFunc, JitterFunc: opts.JitterFunc, Logger: opts.Logger, Metrics: m,
	})
	b.prober = newProber(proberOptions{
		Store: opts.Store, Interval: opts.RecoveryProbe, AmbiguousDelay: opts.AmbiguousDelay,
		Wake: b.deliverer.Wake, NowFunc: opts.NowFunc, Logger: opts.Logger, Metrics: m,
	})
	b.deliverer.opts.Outage = b.prober
	if !opts.DryRun {
		b.refresher = newRefresher(refresherOptions{
			Store: opts.Store, COC: opts.COC.LowPriority(), Interval: opts.RefreshInterval,
			MaxInterval: opts.RefreshMaxInterval, Batch: opts.RefreshBatch,
			Terminal: terminal, Sightings: NewStatusSightings(opts.Registerer, opts.Logger.Named("refresher")),
			NowFunc: opts.NowFunc, Logger: opts.Logger, Metrics: m,
		})
	}
	if opts.Replicas != nil && !opts.DryRun {
		b.sharer = newSharer(sharerOptions{
			Registry: opts.Replicas, Rate: opts.COC, ReplicaID: opts.ReplicaID, Interval: opts.ReplicaHeartbeat,
			Timeout: opts.StoreTimeout, NowFunc: opts.NowFunc, Logger: opts.Logger, Metrics: m,
		})
	}
	v := newViews(viewOptions{Store: opts.Store, DryRun: opts.DryRun, Ready: opts.Ready,
		NowFunc: opts.NowFunc, Logger: opts.Logger, Metrics: m})
	b.views = v
	b.receive = newReceiver(receiverOptions{
		Store: opts.Store, Mapper: opts.Mapper, Auth: opts.Auth, MaxBodyBytes: opts.MaxBodyBytes,
		Queued: b.deliverer.Wake, NowFunc: opts.NowFunc, Logger: opts.Logger, Metrics: m,
	}).ServeHTTP
	b.tickets, b.outbox, b.healthy, b.readyHandler = v.tickets, v.outbox, v.healthy, v.readyHandler
	b.handler = b.routes()
	return b, nil
}

func setDefaults(o *Options) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.ReplicaID == "" {
		o.ReplicaID = "coc-bridge"
	}
	def(&o.Lease, 2*time.Minute)
	def(&o.PollInterval, time.Second)
	def(&o.RetryBaseDelay, time.Second)
	def(&o.RetryMaxDelay, 5*time.Minute)
	def(&o.AmbiguousDelay, 5*time.Second)
	def(&o.RecoveryProbe, 5*time.Second)
	def(&o.RefreshInterval, 5*time.Minute)
	def(&o.RefreshMaxInterval, time.Hour)
	def(&o.ReplicaHeartbeat, 2*time.Second)
	def(&o.StoreTimeout, DefaultStoreTimeout)
	def(&o.StatsInterval, 5*time.Second)
	def(&o.ShutdownGrace, 30*time.Second)
	if o.RefreshBatch <= 0 {
		o.RefreshBatch = 50
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 4 << 20
	}
	if o.NowFunc == nil {
		o.NowFunc = time.Now
	}
	if o.JitterFunc == nil {
		o.JitterFunc = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d + 1)
		}
	}
}

// Handler returns the HTTP surface: webhook, views, health and metrics.
func (b *Bridge) Handler() http.Handler { return b.handler }

// Run runs the delivery workers, the refresher, the prober, the stats
// loop and, with Replicas, the heartbeat that shares the COC rate limit,
// until ctx ends. Then it stops claiming new work and waits up to
// ShutdownGrace for in-flight deliveries; deliveries still running after
// that are cancelled and their items stay in the outbox (their lease
// expires and they are retried, looking the ticket up first). Run returns
// nil after a clean stop.
func (b *Bridge) Run(ctx context.Context) error {
	// Deliveries get their own context so a stop lets them finish.
	deliverCtx, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()

	b.takeBack(ctx)
	var wg sync.WaitGroup
	if b.sharer != nil {
		b.sharer.beat(ctx) // this replica's share before its first call
		wg.Go(func() { b.sharer.run(ctx) })
	}
	wg.Go(func() { b.deliverer.run(ctx, deliverCtx) })
	if b.refresher != nil {
		wg.Go(func() { b.refresher.run(ctx) })
		wg.Go(func() { b.prober.run(ctx) })
	}
	wg.Go(func() { b.views.runStats(ctx, b.opts.StatsInterval) })
	b.log.Info("bridge started", zap.String("replica", b.opts.ReplicaID),
		zap.Int("workers", b.opts.Workers), zap.Bool("dry_run", b.opts.DryRun))

	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	grace := time.NewTimer(b.opts.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
		b.log.Info("bridge stopped: in-flight deliveries finished")
		return nil
	case <-grace.C:
		b.log.Warn("bridge stop: grace period over, cancelling in-flight deliveries; they stay in the outbox",
			zap.Duration("grace", b.opts.ShutdownGrace))
		hardStop()
		<-done
		return nil
	}
}
