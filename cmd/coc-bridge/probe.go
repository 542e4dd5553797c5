package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/client"
)

// probeTimeout bounds check-config --probe-coc.
const probeTimeout = 30 * time.Second

// probeCOC makes one harmless signed call: a ticket list filtered by a
// source_id no ticket has. It proves the endpoint answers and accepts the
// signature, the credentials and the domain; on failure it names COC's
// error code.
func (a *app) probeCOC(ctx context.Context, cfg *config) error {
	fmt.Fprintln(a.stdout, "\n# COC probe (list tickets with a filter that matches nothing)")
	if cfg.DryRun {
		fmt.Fprintln(a.stdout, "skipped: COC_BRIDGE_DRY_RUN=true")
		return nil
	}
	coc, _, err := newCOCClient(cfg, zap.NewNop(), prometheus.NewRegistry())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	sourceID := "coc-bridge-check-config-probe-" + rand.Text()
	if _, err := coc.FindTicketsBySourceID(ctx, sourceID); err != nil {
		var ce *client.Error
		if errors.As(err, &ce) && ce.Code != "" {
			return fmt.Errorf("COC probe at %s failed with COC error code %s (http %d): %w", redactURL(cfg.COCEndpoint), ce.Code, ce.StatusCode, err)
		}
		return fmt.Errorf("COC probe at %s failed: %w", redactURL(cfg.COCEndpoint), err)
	}
	fmt.Fprintf(a.stdout, "ok: %s accepted the signed request (endpoint, credentials and domain work)\n", redactURL(cfg.COCEndpoint))
	return nil
}
