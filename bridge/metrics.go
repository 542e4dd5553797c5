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
	repeatsFromRead   prometheus.Counter
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
		notifications: counterVec(f, "coc_bridge_notifications_total",
			"Webhook notifications received, by receiver and result (accepted or the reason for rejecting).", "receiver", "result"),
		alertsPerNotif: histogram(f, "coc_bridge_alerts_per_notification",
			"Number of alerts in each accepted notification.",
			[]float64{1, 2, 5, 10, 20, 50, 100, 500, 1000}),
		decisions: counterVec(f, "coc_bridge_decisions_total",
			"What the ledger decided for each accepted notification (create, suppress_* = deduplicated, level_change, record_resolved, resolve_action, resolved_unknown).", "decision"),
		repeatsFromRead: counter(f, "coc_bridge_repeats_answered_from_read_total",
			"Accepted notifications that changed only their key's count and last update time, answered from a read; the counts are written within a second."),
		deliveries: counterVec(f, "coc_bridge_deliveries_total",
			"Delivery attempts of outbox items, by operation kind (create, level, cancel, solution) and result.", "kind", "result"),
		ticketsCreated: counter(f, "coc_bridge_tickets_created_total",
			"COC tickets created."),
		ticketsAdopted: counter(f, "coc_bridge_tickets_adopted_total",
			"COC tickets found by source_id after an ambiguous attempt and adopted instead of creating another."),
		deadLetters: counter(f, "coc_bridge_dead_letters_total",
			"Outbox items dead-lettered after a permanent failure."),
		deliveryLatency: histogram(f, "coc_bridge_delivery_latency_seconds",
			"Time from accepting the notification that queued a ticket to the ticket being created or adopted.",
			[]float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}),
		outboxItems: gaugeVec(f, "coc_bridge_outbox_items",
			"Outbox items by state (pending waits for delivery, dead waits for a replay).", "state"),
		outboxOldestAge: gauge(f, "coc_bridge_outbox_oldest_age_seconds",
			"Age of the oldest pending outbox item (0 when the outbox is empty)."),
		refreshOldestAge: gauge(f, "coc_bridge_refresh_oldest_check_age_seconds",
			"Time since the stalest status read of an open ticket (its opening when never read; 0 when no ticket is open)."),
		liveReplicas: gauge(f, "coc_bridge_replicas_live",
			"Replicas sharing the store and the account's COC rate limit, as of this replica's last heartbeat (1 on SQLite)."),
		ledgerTickets: gaugeVec(f, "coc_bridge_ledger_tickets",
			"Ledger entries (issue keys) by state.", "state"),
		unknownSeverities: counter(f, "coc_bridge_unknown_severity_total",
			"Firing alerts whose severity label was missing or not in the level table (mapped to the default level)."),
		authFailures: counter(f, "coc_bridge_webhook_auth_failures_total",
			"Webhook requests rejected for missing or wrong credentials."),
		refreshes: counterVec(f, "coc_bridge_refreshes_total",
			"Ticket status reads by the refresher, by result (open, released, error).", "result"),
		ready: gauge(f, "coc_bridge_ready",
			"1 when the bridge is ready (store usable, COC credentials configured or dry-run), else 0."),
		storeErrors: counterVec(f, "coc_bridge_store_errors_total",
			"Store operations that failed, by operation.", "operation"),
		httpRequests: counterVec(f, "coc_bridge_http_requests_total",
			"HTTP requests served, by handler and status code.", "handler", "code"),
		httpDuration: histogramVec(f, "coc_bridge_http_request_duration_seconds",
			"HTTP request latency, by handler.",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}, "handler"),
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

// counter, counterVec, gauge, gaugeVec, histogram and histogramVec make
// one metric of that type on f, with its name, help and labels.
func counter(f promauto.Factory, name, help string) prometheus.Counter {
	return f.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func counterVec(f promauto.Factory, name, help string, labels ...string) *prometheus.CounterVec {
	return f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func gauge(f promauto.Factory, name, help string) prometheus.Gauge {
	return f.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

func gaugeVec(f promauto.Factory, name, help string, labels ...string) *prometheus.GaugeVec {
	return f.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
}

func histogram(f promauto.Factory, name, help string, buckets []float64) prometheus.Histogram {
	return f.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
}

func histogramVec(f promauto.Factory, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return f.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
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
