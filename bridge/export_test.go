package bridge

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// The parts of the pipeline, for the standalone tests in package
// bridge_test (which may import the engines; package bridge may not).
type (
	ReceiverOptions  = receiverOptions
	DelivererOptions = delivererOptions
	RefresherOptions = refresherOptions
	ProberOptions    = proberOptions
	Metrics          = metrics
)

var (
	NewReceiver  = newReceiver
	NewDeliverer = newDeliverer
	NewRefresher = newRefresher
	NewProber    = newProber
)

// NewTestMetrics registers the bridge's metrics on a fresh registry.
func NewTestMetrics() (*metrics, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return newMetrics(reg, "test"), reg
}

// Run runs the deliverer's workers until ctx ends.
func (dl *deliverer) Run(ctx context.Context) { dl.run(ctx, ctx) }

// Round runs one refresher round.
func (rf *refresher) Round(ctx context.Context) (int, error) { return rf.round(ctx) }

// Succeeded tells the prober a delivery succeeded.
func (p *prober) Succeeded(ctx context.Context) { p.succeeded(ctx) }

// AttemptFailed tells the prober COC was unavailable.
func (p *prober) AttemptFailed() { p.attemptFailed(p.opts.NowFunc()) }

func (m *metrics) Deliveries() *prometheus.CounterVec { return m.deliveries }
func (m *metrics) Decisions() *prometheus.CounterVec  { return m.decisions }
func (m *metrics) Refreshes() *prometheus.CounterVec  { return m.refreshes }
func (m *metrics) TicketsCreated() prometheus.Counter { return m.ticketsCreated }
