package client

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Operation names: the operation label of every coc_bridge_coc_* metric,
// the Operation of an *Error, and (but for the actions, which coctest counts
// together as "action") the names coctest counts calls under.
const (
	OpCreateTicket   = "create_ticket"
	OpGetTicket      = "get_ticket"
	OpListTickets    = "list_tickets"
	OpChangeLevel    = "change_level"    // ChangeLevel
	OpCancelTicket   = "cancel_ticket"   // CancelTicket
	OpSubmitSolution = "submit_solution" // SubmitSolution
)

// operations are every operation label, pre-initialised on the metrics.
func operations() []string {
	return []string{OpCreateTicket, OpGetTicket, OpListTickets, OpChangeLevel, OpCancelTicket, OpSubmitSolution}
}

// metrics are the client's collectors (names fixed by CONTRACT.md).
type metrics struct {
	requests  *prometheus.CounterVec   // operation, status ("200", "503", "error")
	duration  *prometheus.HistogramVec // operation; one observation per HTTP attempt
	retries   *prometheus.CounterVec   // operation; attempts beyond the first
	throttled *prometheus.CounterVec   // operation; 429 or APIG.0308 answers
	errors    *prometheus.CounterVec   // operation, class; calls that returned an error
	rateWait  prometheus.Histogram     // time spent waiting for the token bucket
}

// newMetrics builds the client's collectors and registers them on reg (nil:
// not registered). Collectors already registered by another client on the
// same registry are reused, so two clients can share one registry.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	r := &registrar{reg: reg}
	m := &metrics{
		requests: counterVec(r, "coc_bridge_coc_requests_total",
			"HTTP requests sent to COC, by operation and HTTP status (\"error\" when no response arrived).", "operation", "status"),
		duration: register(r, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coc_bridge_coc_request_duration_seconds",
			Help:    "Duration of one HTTP attempt to COC, including reading the answer.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"})),
		retries: counterVec(r, "coc_bridge_coc_retries_total",
			"HTTP attempts to COC beyond the first within one call.", "operation"),
		throttled: counterVec(r, "coc_bridge_coc_throttled_total",
			"COC answers that throttled the client (HTTP 429 or APIG.0308).", "operation"),
		errors: counterVec(r, "coc_bridge_coc_errors_total",
			"Client calls to COC that returned an error, by class (retryable, permanent, ambiguous).", "operation", "class"),
		rateWait: register(r, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "coc_bridge_coc_ratelimit_wait_seconds",
			Help:    "Time an HTTP attempt of a create, lookup or action waited for the client's token bucket (status reads wait at low priority and are not counted).",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		})),
	}
	for _, op := range operations() {
		m.requests.WithLabelValues(op, "200")
		m.duration.WithLabelValues(op)
		m.retries.WithLabelValues(op)
		m.throttled.WithLabelValues(op)
		for _, c := range []Class{ClassRetryable, ClassPermanent, ClassAmbiguous} {
			m.errors.WithLabelValues(op, c.String())
		}
	}
	return m, r.err
}

// newCredentialsMetrics builds coc_bridge_coc_credentials_reloads_total.
func newCredentialsMetrics(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	r := &registrar{reg: reg}
	c := counterVec(r, "coc_bridge_coc_credentials_reloads_total",
		"Credential files re-read after they changed, by result (ok, error).", "result")
	c.WithLabelValues("ok")
	c.WithLabelValues("error")
	return c, r.err
}

// registrar registers collectors on reg and keeps the first error. A nil
// reg registers nothing.
type registrar struct {
	reg prometheus.Registerer
	err error
}

// counterVec registers a counter vector with its name, help and labels.
func counterVec(r *registrar, name, help string, labels ...string) *prometheus.CounterVec {
	return register(r, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

// register registers c and returns it, or the equal collector that is
// already registered (so two clients can share a registry).
func register[C prometheus.Collector](r *registrar, c C) C {
	if r.reg == nil || r.err != nil {
		return c
	}
	if err := r.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		r.err = fmt.Errorf("register metrics: %w", err)
	}
	return c
}
