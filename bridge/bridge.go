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
	"github.com/coc-bridge/coc-bridge/internal/logthrottle"
)

// TicketClient is what the bridge needs from COC. *client.Client implements
// it; tests use the real client against the fake COC (client/coctest).
type TicketClient interface {
	CreateIssueTicket(ctx context.Context, req client.CreateTicketRequest) (client.CreateTicketResult, error)
	GetTicket(ctx context.Context, ticketID string) (client.Ticket, error)
	FindTicketsBySourceID(ctx context.Context, sourceID string) ([]client.Ticket, error)
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
	// RefreshInterval is how often each open ticket is read back from COC
	// (default 5m); RefreshBatch bounds the reads per round (default 20).
	RefreshInterval time.Duration
	RefreshBatch    int
	// TerminalStatuses are COC work_flow_status values that finish a ticket
	// (default issues_work_flow_status_12000, Completed).
	TerminalStatuses []string
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

// Bridge is the running pipeline and its HTTP surface.
type Bridge struct {
	opts     Options
	log      *zap.Logger
	metrics  *metrics
	terminal map[string]bool
	wake     *broadcast
	recovery *recovery
	handler  http.Handler
	// rejects rate-limits the log lines of refused webhook requests.
	rejects *logthrottle.Throttle
}

// New validates opts, fills defaults and registers metrics.
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
	b := &Bridge{
		opts:     opts,
		log:      opts.Logger,
		metrics:  newMetrics(opts.Registerer, opts.Version),
		terminal: make(map[string]bool, len(opts.TerminalStatuses)),
		wake:     newBroadcast(),
		recovery: newRecovery(opts.NowFunc()),
		rejects:  logthrottle.New(opts.Logger, logthrottle.Options{Now: opts.NowFunc}),
	}
	for _, s := range opts.TerminalStatuses {
		b.terminal[s] = true
	}
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
	def(&o.StatsInterval, 5*time.Second)
	def(&o.ShutdownGrace, 30*time.Second)
	if o.RefreshBatch <= 0 {
		o.RefreshBatch = 20
	}
	if len(o.TerminalStatuses) == 0 {
		o.TerminalStatuses = []string{"issues_work_flow_status_12000"}
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

// Run runs the delivery workers, the refresher and the stats loop until ctx
// ends. Then it stops claiming new work and waits up to ShutdownGrace for
// in-flight deliveries; deliveries still running after that are cancelled
// and their items stay in the outbox (their lease expires and they are
// retried, looking the ticket up first). Run returns nil after a clean stop.
func (b *Bridge) Run(ctx context.Context) error {
	// Deliveries get their own context so a stop lets them finish.
	deliverCtx, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()

	var wg sync.WaitGroup
	for i := range b.opts.Workers {
		w := b.newWorker(fmt.Sprintf("%s/%d", b.opts.ReplicaID, i))
		wg.Go(func() { w.run(ctx, deliverCtx) })
	}
	if !b.opts.DryRun {
		wg.Go(func() { b.runRefresher(ctx) })
		wg.Go(func() { b.runRecovery(ctx) })
	}
	wg.Go(func() { b.runStats(ctx) })
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

// runStats refreshes the store gauges and the readiness gauge.
func (b *Bridge) runStats(ctx context.Context) {
	t := time.NewTicker(b.opts.StatsInterval)
	defer t.Stop()
	for {
		b.updateStats(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Bridge) updateStats(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.checkReady(ctx); err != nil {
		b.metrics.ready.Set(0)
	} else {
		b.metrics.ready.Set(1)
	}
	s, err := b.opts.Store.Stats(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.metrics.storeErrors.WithLabelValues("stats").Inc()
			b.log.Warn("read store stats", zap.Error(err))
		}
		return
	}
	age := 0.0
	if !s.OldestPending.IsZero() {
		age = max(0, b.opts.NowFunc().Sub(s.OldestPending).Seconds())
	}
	b.metrics.observeStats(s, age)
}

// broadcast wakes every waiting worker at once.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// wait returns a channel closed by the next notify.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}
