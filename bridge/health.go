package bridge

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// healthy is /-/healthy: the process is up and serving HTTP.
func (b *Bridge) healthy(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("OK\n"))
}

// readyHandler is /-/ready: 200 when the store answers and COC credentials
// are usable (or the bridge runs dry), 503 with the reason otherwise.
func (b *Bridge) readyHandler(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := b.checkReady(ctx); err != nil {
		b.metrics.ready.Set(0)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	b.metrics.ready.Set(1)
	_, _ = w.Write([]byte("OK\n"))
}

func (b *Bridge) checkReady(ctx context.Context) error {
	if err := b.opts.Store.Ping(ctx); err != nil {
		b.metrics.storeErrors.WithLabelValues("ping").Inc()
		return fmt.Errorf("store: %w", err)
	}
	if b.opts.DryRun || b.opts.Ready == nil {
		return nil
	}
	if err := b.opts.Ready(ctx); err != nil {
		return fmt.Errorf("coc credentials: %w", err)
	}
	return nil
}
