package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Readiness and COC outages.
//
// /-/ready gates Alertmanager's traffic: a Kubernetes Service routes only to
// ready pods. It answers 503 when the bridge cannot accept notifications
// durably: the store fails its write-and-read ping or does not answer it
// within a second (closed, locked by another process, disk full, read-only,
// a database that stopped answering) or the COC credentials are
// unusable. It answers 200 during a COC outage: the bridge still stores
// every notification and delivers it once COC answers, so turning
// Alertmanager away would only make it retry against a replica that cannot
// reach COC either, or, with one replica, leave the notifications in
// Alertmanager's memory instead of the bridge's durable outbox.
//
// A COC outage is reported instead in the 200 body ("delivery": "failing",
// with the age of the oldest waiting notification, its attempts and COC's
// last error), by coc_bridge_outbox_oldest_age_seconds (which the
// CocBridgeOutboxStuck alert watches) and by coc_bridge_deliveries_total and
// the coc_bridge_coc_* metrics. coc_bridge_ready mirrors the status code.

// Delivery states in the /-/ready body.
const (
	// deliveryIdle: no notification waits for delivery.
	deliveryIdle = "idle"
	// deliveryDelivering: the oldest waiting notification has not failed yet.
	deliveryDelivering = "delivering"
	// deliveryFailing: the last attempt at the oldest waiting notification
	// failed (COC unreachable, throttling or failing); it is kept and retried
	// with capped backoff.
	deliveryFailing = "failing"
	// deliveryUnknown: the outbox could not be read.
	deliveryUnknown = "unknown"
)

// readyReport is the JSON body of /-/ready.
type readyReport struct {
	// Status is "ready" (200) or "not ready" (503).
	Status string `json:"status"`
	// Reason says why the bridge is not ready.
	Reason string `json:"reason,omitempty"`
	// Store is "ok" or the store's error.
	Store string `json:"store"`
	// COCCredentials is "ok", "not used (dry run)", "not checked" or the
	// credentials' error.
	COCCredentials string `json:"coc_credentials"`
	// Delivery is the state of the outbox; absent when the store failed.
	Delivery *deliveryReport `json:"delivery,omitempty"`
}

// deliveryReport describes the oldest pending outbox item: how late tickets
// are and why.
type deliveryReport struct {
	State string `json:"state"`
	// OldestKey is the issue key of the oldest waiting notification.
	OldestKey string `json:"oldest_key,omitempty"`
	// OldestAgeSeconds is how long it has waited (0 when idle); the same
	// value as coc_bridge_outbox_oldest_age_seconds.
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	// Attempts counts its delivery attempts so far.
	Attempts int `json:"attempts,omitempty"`
	// NextAttempt is when it is tried again.
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	// LastError is the error of its last failed attempt (COC's answer).
	LastError string `json:"last_error,omitempty"`
	// Error is why the outbox could not be read (state unknown).
	Error string `json:"error,omitempty"`
}

// healthy is /-/healthy: the process is up and serving HTTP.
func (v *views) healthy(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("OK\n"))
}

// readyHandler is /-/ready: 200 when the bridge can accept notifications
// durably, 503 with the reason otherwise; the body also reports how
// delivery to COC is going (see the comment at the top of this file).
func (v *views) readyHandler(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	rep := v.readiness(ctx)
	if rep.Reason != "" {
		v.m.ready.Set(0)
		writeJSON(w, http.StatusServiceUnavailable, rep)
		return
	}
	v.m.ready.Set(1)
	writeJSON(w, http.StatusOK, rep)
}

// checkReady reports why the bridge cannot accept notifications, or nil.
func (v *views) checkReady(ctx context.Context) error {
	if err := v.checkStore(ctx); err != nil {
		return err
	}
	return v.checkCredentials(ctx)
}

// readyPingTimeout bounds the store check of /-/ready (and of the ready
// gauge), so that a database that does not answer is reported within a
// second: Kubernetes' default probe timeout.
const readyPingTimeout = time.Second

func (v *views) checkStore(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyPingTimeout)
	defer cancel()
	if err := v.opts.Store.Ping(ctx); err != nil {
		v.m.storeErrors.WithLabelValues("ping").Inc()
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("store: no answer within %v: %w", readyPingTimeout, err)
		}
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (v *views) checkCredentials(ctx context.Context) error {
	if v.opts.DryRun || v.opts.Ready == nil {
		return nil
	}
	if err := v.opts.Ready(ctx); err != nil {
		return fmt.Errorf("coc credentials: %w", err)
	}
	return nil
}

// readiness runs the checks of checkReady and describes delivery.
func (v *views) readiness(ctx context.Context) readyReport {
	rep := readyReport{Status: "ready", Store: "ok", COCCredentials: "ok"}
	if v.opts.DryRun {
		rep.COCCredentials = "not used (dry run)"
	}
	if err := v.checkStore(ctx); err != nil {
		rep.Status, rep.Reason, rep.Store = "not ready", err.Error(), err.Error()
		rep.COCCredentials = "not checked"
		return rep
	}
	if err := v.checkCredentials(ctx); err != nil {
		rep.Status, rep.Reason, rep.COCCredentials = "not ready", err.Error(), err.Error()
	}
	rep.Delivery = v.deliveryState(ctx)
	return rep
}

// deliveryState reads the oldest pending outbox item: one indexed row.
func (v *views) deliveryState(ctx context.Context) *deliveryReport {
	items, err := v.opts.Store.Outbox(ctx, OutboxFilter{State: ItemPending, Limit: 1})
	if err != nil {
		v.m.storeErrors.WithLabelValues("read").Inc()
		return &deliveryReport{State: deliveryUnknown, Error: err.Error()}
	}
	if len(items) == 0 {
		return &deliveryReport{State: deliveryIdle}
	}
	it := items[0]
	d := &deliveryReport{
		State:            deliveryDelivering,
		OldestKey:        it.Key,
		OldestAgeSeconds: max(0, v.opts.NowFunc().Sub(it.AcceptedAt).Seconds()),
		Attempts:         it.Attempts,
		LastError:        it.LastError,
	}
	if !it.NextAttempt.IsZero() {
		next := it.NextAttempt
		d.NextAttempt = &next
	}
	if it.LastError != "" {
		d.State = deliveryFailing
	}
	return d
}
