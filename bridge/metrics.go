package bridge

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Delivery results: the result label of coc_bridge_deliveries_total.
const (
	deliveryCreated     = "created"      // create: a ticket was created
	deliveryAdopted     = "adopted"      // create: found by source_id after an unclear attempt
	deliveryLookupEmpty = "lookup_empty" // create: a lookup found nothing; the next is scheduled
	deliverySent        = "sent"         // action: COC took it
	deliverySkipped     = "skipped"      // action: nothing to send (the ticket is accepted, or has the level)
	deliveryReleased    = "released"     // action: COC reports the ticket finished; the key is released
	deliveryRetry       = "retry"
	deliveryDead        = "dead"
	deliveryLeaseLost   = "lease_lost"
	deliveryDryRun      = "dry_run"
)

// deliveryResultsOf lists the results of a kind's deliveries, for label
// pre-initialisation.
func deliveryResultsOf(k Kind) []string {
	common := []string{deliveryRetry, deliveryDead, deliveryLeaseLost, deliveryDryRun}
	if k == KindCreate {
		return append([]string{deliveryCreated, deliveryAdopted, deliveryLookupEmpty}, common...)
	}
	return append([]string{deliverySent, deliverySkipped, deliveryReleased}, common...)
}

// kindLabel is the kind label of coc_bridge_deliveries_total: the kind,
// or "unknown" for one this version does not know (bounded).
func kindLabel(k Kind) string {
	if slices.Contains(Kinds, k) {
		return string(k)
	}
	return "unknown"
}

// Refresh results: the result label of coc_bridge_refreshes_total.
const (
	refreshOpen     = "open"
	refreshReleased = "released"
	refreshError    = "error"
)

// metrics holds every coc_bridge_* metric the bridge package exports. The
// names and labels are documented in the README and used by the dashboard and
// the alert rules; change them only together.
type metrics struct {
	notifications     *prometheus.CounterVec
	alertsPerNotif    prometheus.Histogram
	decisions         *prometheus.CounterVec
	deliveries        *prometheus.CounterVec
	ticketsCreated    prometheus.Counter
	ticketsAdopted    prometheus.Counter
	deadLetters       prometheus.Counter
	deliveryLatency   prometheus.Histogram
	outboxItems       *prometheus.GaugeVec
	outboxOldestAge   prometheus.Gauge
	refreshOldestAge  prometheus.Gauge
	liveReplicas      prometheus.Gauge
	ledgerTickets     *prometheus.GaugeVec
	unknownSeverities prometheus.Counter
	authFailures      prometheus.Counter
	refreshes         *prometheus.CounterVec
	ready             prometheus.Gauge
	storeErrors       *prometheus.CounterVec
	httpRequests      *prometheus.CounterVec
	httpDuration      *prometheus.HistogramVec
}

// Store operations: the operation label of coc_bridge_store_errors_total.
var storeOperations = []string{"accept", "claim", "complete", "retry", "dead_letter",
	"expedite", "refresh", "release", "stats", "ping", "read", "take_back", "heartbeat"}

func newMetrics(reg prometheus.Registerer, version string) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		notifications: f.NewCounterVec(prometheus.CounterOpts{
			Name: "coc_bridge_notifications_total",
			Help: "Webhook notifications received, by receiver and result (accepted or the reason for rejecting).",
		}, []string{"receiver", "result"}),
		alertsPerNotif: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "coc_bridge_alerts_per_notification",
			Help:    "Number of alerts in each accepted notification.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 500, 1000},
		}),
		decisions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "coc_bridge_decisions_total",
			Help: "What the ledger decided for each accepted notification (create, suppress_* = deduplicated, level_change, record_resolved, resolve_action, resolved_unknown).",
		}, []string{"decision"}),
		deliveries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "coc_bridge_deliveries_total",
			Help: "Delivery attempts of outbox items, by operation kind (create, level, cancel, solution) and result.",
		}, []string{"kind", "result"}),
		ticketsCreated: f.NewCounter(prometheus.CounterOpts{
			Name: "coc_bridge_tickets_created_total",
			Help: "COC tickets created.",
		}),
		ticketsAdopted: f.NewCounter(prometheus.CounterOpts{
			Name: "coc_bridge_tickets_adopted_total",
			Help: "COC tickets found by source_id after an ambiguous attempt and adopted instead of creating another.",
		}),
		deadLetters: f.NewCounter(prometheus.CounterOpts{
			Name: "coc_bridge_dead_letters_total",
			Help: "Outbox items dead-lettered after a permanent failure.",
		}),
		deliveryLatency: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "coc_bridge_delivery_latency_seconds",
			Help:    "Time from accepting the notification that queued a ticket to the ticket being created or adopted.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}),
		outboxItems: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "coc_bridge_outbox_items",
			Help: "Outbox items by state (pending waits for delivery, dead waits for a replay).",
		}, []string{"state"}),
		outboxOldestAge: f.NewGauge(prometheus.GaugeOpts{
			Name: "coc_bridge_outbox_oldest_age_seconds",
			Help: "Age of the oldest pending outbox item (0 when the outbox is empty).",
		}),
		refreshOldestAge: f.NewGauge(prometheus.GaugeOpts{
			Name: "coc_bridge_refresh_oldest_check_age_seconds",
			Help: "Time since the stalest status read of an open ticket (its opening when never read; 0 when no ticket is open).",
		}),
		liveReplicas: f.NewGauge(prometheus.GaugeOpts{
			Name: "coc_bridge_replicas_live",
			Help: "Replicas sharing the store and the account's COC rate limit, as of this replica's last heartbeat (1 on SQLite).",
		}),
		ledgerTickets: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "coc_bridge_ledger_tickets",
			Help: "Ledger entries (issue keys) by state.",
		}, []string{"state"}),
		unknownSeverities: f.NewCounter(prometheus.CounterOpts{
			Name: "coc_bridge_unknown_severity_total",
			Help: "Firing alerts whose severity label was missing or not in the level table (mapped to the default level).",
		}),
		authFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "coc_bridge_webhook_auth_failures_total",
			Help: "Webhook requests rejected for missing or wrong credentials.",
		}),
		refreshes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "coc_bridge_refreshes_total",
			Help: "Ticket status reads by the refresher, by result (open, released, error).",
		}, []string{"result"}),
		ready: f.NewGauge(prometheus.GaugeOpts{
			Name: "coc_bridge_ready",
			Help: "1 when the bridge is ready (store usable, COC credentials configured or dry-run), else 0.",
		}),
		storeErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "coc_bridge_store_errors_total",
			Help: "Store operations that failed, by operation.",
		}, []string{"operation"}),
		httpRequests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "coc_bridge_http_requests_total",
			Help: "HTTP requests served, by handler and status code.",
		}, []string{"handler", "code"}),
		httpDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coc_bridge_http_request_duration_seconds",
			Help:    "HTTP request latency, by handler.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"handler"}),
	}
	for _, r := range notificationResults {
		m.notifications.WithLabelValues("", r)
	}
	for _, d := range Decisions {
		m.decisions.WithLabelValues(string(d))
	}
	for _, k := range Kinds {
		for _, r := range deliveryResultsOf(k) {
			m.deliveries.WithLabelValues(string(k), r)
		}
	}
	for _, s := range []ItemState{ItemPending, ItemDead} {
		m.outboxItems.WithLabelValues(string(s))
	}
	for _, s := range States {
		m.ledgerTickets.WithLabelValues(string(s))
	}
	for _, r := range []string{refreshOpen, refreshReleased, refreshError} {
		m.refreshes.WithLabelValues(r)
	}
	for _, op := range storeOperations {
		m.storeErrors.WithLabelValues(op)
	}
	m.liveReplicas.Set(1)
	return m
}

// observeStats copies a store snapshot taken at now into the gauges.
func (m *metrics) observeStats(s Stats, now time.Time) {
	age := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return max(0, now.Sub(t).Seconds())
	}
	for _, st := range []ItemState{ItemPending, ItemDead} {
		m.outboxItems.WithLabelValues(string(st)).Set(float64(s.Outbox[st]))
	}
	for _, st := range States {
		m.ledgerTickets.WithLabelValues(string(st)).Set(float64(s.Ledger[st]))
	}
	m.outboxOldestAge.Set(age(s.OldestPending))
	m.refreshOldestAge.Set(age(s.OldestCheck))
}
