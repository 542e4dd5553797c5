package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/coc-bridge/coc-bridge/bench"
)

// scenario is one benchmark; run performs one run of it.
type scenario struct {
	name  string
	about string
	runs  func(cfg config) int
	run   func(ctx context.Context, cfg config) (metrics, error)
	// rounds, instead of run, is a scenario that runs once and returns one
	// metrics per round (interleaved with the floor, or a single long run).
	rounds func(ctx context.Context, cfg config) ([]metrics, error)
}

const (
	steadyGroups      = 100
	alertsPerGroup    = 10
	steadyConcurrency = 16
)

func scenarios() []scenario {
	return append([]scenario{
		{
			name:  "steady",
			about: "100 groups x 10 alerts sent round-robin (1 new notification per group, then repeats), concurrency 16, COC instant; bridge COC_BRIDGE_COC_QPS=100, COC_BRIDGE_COC_BURST=100",
			run: func(ctx context.Context, cfg config) (metrics, error) {
				return steady(ctx, cfg, 0, false)
			},
		},
		{
			name:  "steady-coc50ms",
			about: "as steady, COC answering after 50 ms",
			run: func(ctx context.Context, cfg config) (metrics, error) {
				return steady(ctx, cfg, 50*time.Millisecond, false)
			},
		},
		{
			name:  "steady-postgres",
			about: "as steady, the store on PostgreSQL (a fresh database per run)",
			run: func(ctx context.Context, cfg config) (metrics, error) {
				return steady(ctx, cfg, 0, true)
			},
		},
		{
			name:  "ha",
			about: "as steady, every notification sent 3 times at once (16 senders, 48 requests in flight)",
			run:   ha,
		},
		{
			name:  "rate1000",
			about: "open loop: 1,000 notifications/s over the 100 groups (mostly repeats); latency from the scheduled send time",
			run:   rate1000,
		},
		{
			name:  "trickle",
			about: "time to ticket when COC is healthy: 20 new groups/s, open loop, COC at 50 ms; bridge COC_BRIDGE_COC_QPS=50",
			run:   trickle,
		},
		{
			name:  "storm",
			about: "new groups (10,000 unless -storm-groups) x 10 alerts as fast as possible (concurrency 16); fake COC at 50 ms and a 50 QPS limit (429 above); bridge COC_BRIDGE_COC_QPS=50, COC_BRIDGE_COC_BURST=5",
			run:   storm,
		},
		{
			name:  "outage",
			about: "COC down (503) for the outage, 2 new groups/s arriving during it, then back; bridge defaults (COC_BRIDGE_RETRY_MAX_DELAY 5m) except COC_BRIDGE_COC_QPS=50",
			run: func(ctx context.Context, cfg config) (metrics, error) {
				return outage(ctx, cfg, nil)
			},
		},
		{
			name:  "outage-max-delay-5s",
			about: "as outage with COC_BRIDGE_RETRY_MAX_DELAY=5s",
			runs:  func(config) int { return 1 },
			run: func(ctx context.Context, cfg config) (metrics, error) {
				return outage(ctx, cfg, []string{"COC_BRIDGE_RETRY_MAX_DELAY=5s"})
			},
		},
	}, issue14Scenarios()...)
}

func steadyLoad(ctx context.Context, cfg config, bodies [][]byte, dup int) func(string) loadResult {
	return func(url string) loadResult {
		return closedLoop(ctx, url, bodies, steadyConcurrency, dup, 0, cfg.duration)
	}
}

func steady(ctx context.Context, cfg config, cocLatency time.Duration, postgres bool) (metrics, error) {
	r, err := newRun(ctx, cfg, setup{fakeLatency: cocLatency, postgres: postgres,
		env: []string{"COC_BRIDGE_COC_QPS=100", "COC_BRIDGE_COC_BURST=100"}})
	if err != nil {
		return nil, err
	}
	defer r.close()
	bodies := bench.Bodies(0, steadyGroups, alertsPerGroup)
	return r.closedScenario(ctx, steadyLoad(ctx, cfg, bodies, 1), steadyGroups)
}

func ha(ctx context.Context, cfg config) (metrics, error) {
	r, err := newRun(ctx, cfg, setup{env: []string{"COC_BRIDGE_COC_QPS=100", "COC_BRIDGE_COC_BURST=100"}})
	if err != nil {
		return nil, err
	}
	defer r.close()
	bodies := bench.Bodies(0, steadyGroups, alertsPerGroup)
	return r.closedScenario(ctx, steadyLoad(ctx, cfg, bodies, 3), steadyGroups)
}

// closedScenario measures the floor, then the bridge with the same load,
// waits for the groups' tickets and records everything.
func (r *run) closedScenario(ctx context.Context, load func(string) loadResult, groups int) (metrics, error) {
	if err := r.floor(ctx, load); err != nil {
		return nil, err
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	res := load(r.bridge.URL)
	r.ack("", res)
	if err := r.waitTickets(ctx, groups, 60*time.Second); err != nil {
		return nil, err
	}
	r.tickets(res)
	r.m["ratio_to_floor"] = r.m["notifications_per_s"] / r.m["floor_notifications_per_s"]
	return r.m, r.finish()
}

func rate1000(ctx context.Context, cfg config) (metrics, error) {
	r, err := newRun(ctx, cfg, setup{env: []string{"COC_BRIDGE_COC_QPS=100", "COC_BRIDGE_COC_BURST=100"}})
	if err != nil {
		return nil, err
	}
	defer r.close()
	bodies := bench.Bodies(0, steadyGroups, alertsPerGroup)
	count := int(1000 * cfg.duration.Seconds())
	load := func(url string) loadResult { return openLoop(ctx, url, bodies, 1000, count) }
	return r.closedScenario(ctx, load, steadyGroups)
}

func trickle(ctx context.Context, cfg config) (metrics, error) {
	r, err := newRun(ctx, cfg, setup{fakeLatency: 50 * time.Millisecond, env: []string{"COC_BRIDGE_COC_QPS=50"}})
	if err != nil {
		return nil, err
	}
	defer r.close()
	count := int(20 * cfg.duration.Seconds())
	bodies := bench.Bodies(0, count, alertsPerGroup)
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	res := openLoop(ctx, r.bridge.URL, bodies, 20, count)
	r.ack("", res)
	if err := r.waitTickets(ctx, count, 60*time.Second); err != nil {
		return nil, err
	}
	r.tickets(res)
	return r.m, r.finish()
}

func storm(ctx context.Context, cfg config) (metrics, error) {
	r, err := newRun(ctx, cfg, setup{fakeQPS: 50, fakeLatency: 50 * time.Millisecond,
		env: []string{"COC_BRIDGE_COC_QPS=50", "COC_BRIDGE_COC_BURST=5"}})
	if err != nil {
		return nil, err
	}
	defer r.close()
	bodies := bench.Bodies(0, cfg.stormGroups, alertsPerGroup)
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	res := closedLoop(ctx, r.bridge.URL, bodies, steadyConcurrency, 1, len(bodies), 0)
	ingestEnd := time.Now()
	r.ack("", res)
	timeout := time.Duration(float64(cfg.stormGroups)/50*2)*time.Second + time.Minute
	if err := r.waitTickets(ctx, cfg.stormGroups, timeout); err != nil {
		return nil, err
	}
	r.tickets(res)
	// The drain split at the end of the ingest: while the webhook still
	// floods the store, claims and completions share its writer.
	var during, after []time.Time
	for _, tk := range r.fake.Tickets() {
		if tk.CreatedAt.Before(ingestEnd) {
			during = append(during, tk.CreatedAt)
		} else {
			after = append(after, tk.CreatedAt)
		}
	}
	r.m["drain_during_ingest_tickets_per_s"] = rate(during)
	r.m["drain_after_ingest_tickets_per_s"] = rate(after)
	return r.m, r.finish()
}

// rate is how many events per second happened between the first and the
// last of ts (0 for fewer than two).
func rate(ts []time.Time) float64 {
	if len(ts) < 2 {
		return 0
	}
	first, last := slices.MinFunc(ts, time.Time.Compare), slices.MaxFunc(ts, time.Time.Compare)
	if !last.After(first) {
		return 0
	}
	return float64(len(ts)-1) / last.Sub(first).Seconds()
}

func outage(ctx context.Context, cfg config, env []string) (metrics, error) {
	r, err := newRun(ctx, cfg, setup{env: append([]string{"COC_BRIDGE_COC_QPS=50"}, env...)})
	if err != nil {
		return nil, err
	}
	defer r.close()
	count := int(2 * cfg.outage.Seconds())
	bodies := bench.Bodies(0, count, alertsPerGroup)
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	r.fake.SetDown(true)
	res := openLoop(ctx, r.bridge.URL, bodies, 2, count)
	r.ack("", res)
	if n := len(r.fake.Tickets()); n != 0 {
		return nil, fmt.Errorf("%d tickets created while COC was down", n)
	}
	callsWhileDown := r.fake.calls()
	up := time.Now()
	r.fake.SetDown(false)
	if err := r.waitTickets(ctx, res.OK, 10*time.Minute); err != nil {
		return nil, err
	}
	r.tickets(res)
	var lastAfterUp time.Duration
	for _, tk := range r.fake.Tickets() {
		lastAfterUp = max(lastAfterUp, tk.CreatedAt.Sub(up))
	}
	r.m["down_s"] = cfg.outage.Seconds()
	r.m["acknowledged_during_outage"] = float64(res.OK)
	r.m["all_ticketed_after_up_s"] = lastAfterUp.Seconds()
	r.m["coc_calls_while_down"] = float64(callsWhileDown)
	return r.m, r.finish()
}
