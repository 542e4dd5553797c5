package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coc-bridge/coc-bridge/bench"
	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
	"github.com/coc-bridge/coc-bridge/bridge/sqlite"
	"github.com/coc-bridge/coc-bridge/client"
)

// Issue 14's scenarios: ingest against the floor in interleaved rounds
// (repeats, new groups, HA copies), 100,000 open tickets with the refresher
// on, a 20,000-group backlog draining, three replicas sharing a QPS.

const (
	// repeatGroups x repeatAlerts is the issue's load: 100 groups of 5
	// alerts.
	repeatGroups = 100
	repeatAlerts = 5
	// defaultRefresh is COC_BRIDGE_REFRESH_INTERVAL's default.
	defaultRefresh = 5 * time.Minute
)

// ingestEnv lets the bridge create the warm-up tickets at once (the fake
// has no limit).
var ingestEnv = []string{"COC_BRIDGE_COC_QPS=100", "COC_BRIDGE_COC_BURST=100"}

func issue14Scenarios() []scenario {
	interleave := func(spec roundsSpec) func(context.Context, config) ([]metrics, error) {
		return func(ctx context.Context, cfg config) ([]metrics, error) { return interleaved(ctx, cfg, spec) }
	}
	const repeatsAbout = "100 groups x 5 alerts, every group already has an open ticket (warm-up: each group sent once, tickets created), closed loop at concurrency 16 for -duration; rounds interleaved floor, bridge, floor, bridge ... in one bridge and one floor process; bridge COC_BRIDGE_COC_QPS=100, COC_BRIDGE_COC_BURST=100"
	const newAbout = "every notification a new group (5 alerts; -new-groups per round, fresh groups each round), closed loop at concurrency 16; rounds interleaved with the floor (same bodies); bridge defaults (COC QPS 5: delivery in the background is small)"
	return []scenario{
		{name: "repeats", about: repeatsAbout + "; SQLite", rounds: interleave(roundsSpec{})},
		{name: "repeats-postgres", about: repeatsAbout + "; PostgreSQL (a fresh database)", rounds: interleave(roundsSpec{postgres: true})},
		{name: "new-groups", about: newAbout + "; SQLite", rounds: interleave(roundsSpec{newGroups: true})},
		{name: "new-groups-postgres", about: newAbout + "; PostgreSQL (a fresh database)", rounds: interleave(roundsSpec{newGroups: true, postgres: true})},
		{name: "ha3", about: "as repeats, every notification sent 3 times at once, as 3 Alertmanager peers do (16 senders, 48 requests in flight; rates count requests); SQLite", rounds: interleave(roundsSpec{dup: 3})},
		{name: "ha3-postgres", about: "as ha3, PostgreSQL", rounds: interleave(roundsSpec{dup: 3, postgres: true})},
		{
			name:  "refresher-100k",
			about: "100,000 open tickets (-refresh-tickets) at the fake and in the ledger (seeded through the store API: Accept, Claim, Complete; opened uniformly over the last refresh interval, so they fall due as a steady state would), then bridge defaults (COC QPS 5, refresh 5m, reads' share 0.5, 50 tickets per list call) and 1 new group/s for -refresh-duration; -rounds rounds, each on a fresh fake and store; SQLite",
			rounds: repeated(func(ctx context.Context, cfg config) (metrics, error) {
				return refresher(ctx, cfg, false)
			}),
		},
		{
			name:  "refresher-100k-postgres",
			about: "as refresher-100k, PostgreSQL",
			rounds: repeated(func(ctx context.Context, cfg config) (metrics, error) {
				return refresher(ctx, cfg, true)
			}),
		},
		{
			name:   "backlog-20k",
			about:  "COC down (503) while 20,000 new groups (-backlog-groups, 5 alerts) are accepted at concurrency 16 (the floor takes the same load first), then up; bridge COC_BRIDGE_COC_QPS=100, COC_BRIDGE_COC_BURST=100, fake COC instant; SQLite",
			rounds: backlog,
		},
		{
			name:   "replicas-postgres",
			about:  "three bridge replicas on one PostgreSQL database, COC_BRIDGE_COC_QPS=10 (the account's, shared by the live replicas; burst default 5), load sent once every replica counts 3 live; -replica-groups new groups sent a third to each replica; requests at the fake counted over 1 s windows; -rounds rounds, each on a fresh fake and database",
			rounds: repeated(replicas),
		},
	}
}

// roundsSpec is one interleaved ingest scenario.
type roundsSpec struct {
	postgres  bool
	newGroups bool // every notification a new group, else repeats
	dup       int  // copies of each notification sent at once (HA peers)
}

// interleaved starts one bridge and one floor and alternates rounds of the
// same load on each, floor first; every round is one metrics.
func interleaved(ctx context.Context, cfg config, spec roundsSpec) ([]metrics, error) {
	env := ingestEnv
	if spec.newGroups {
		env = nil
	}
	r, err := newRun(ctx, cfg, setup{postgres: spec.postgres, env: env})
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	fl, err := startFloor(ctx, r.dir)
	if err != nil {
		return nil, err
	}
	defer fl.stop()
	var bodies [][]byte
	if !spec.newGroups {
		bodies = bench.Bodies(0, repeatGroups, repeatAlerts)
		warm := closedLoop(ctx, r.bridge.URL, bodies, steadyConcurrency, 1, len(bodies), 0)
		if warm.OK != len(bodies) {
			return nil, fmt.Errorf("warm-up: %d of %d notifications acknowledged", warm.OK, len(bodies))
		}
		if err := r.waitTickets(ctx, len(bodies), time.Minute); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	dup := max(spec.dup, 1)
	var out []metrics
	next := 0
	for round := range cfg.rounds {
		if spec.newGroups {
			bodies = bench.Bodies(next, cfg.newGroups, repeatAlerts)
			next += cfg.newGroups
		}
		load := func(url string) loadResult {
			if spec.newGroups {
				return closedLoop(ctx, url, bodies, steadyConcurrency, 1, len(bodies), 0)
			}
			return closedLoop(ctx, url, bodies, steadyConcurrency, dup, 0, cfg.duration)
		}
		m := metrics{"round": float64(round + 1), "loadavg_1m_at_start": loadavg(), "body_bytes": meanLen(bodies)}
		if err := measure(m, "floor_", fl, cfg.hz, load); err != nil {
			return nil, err
		}
		if err := measure(m, "", r.bridge, cfg.hz, load); err != nil {
			return nil, err
		}
		m["ratio_to_floor"] = m["requests_per_s"] / m["floor_requests_per_s"]
		m["coc_calls_so_far"] = float64(r.fake.calls())
		out = append(out, m)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// measure runs load against c and records the sender's numbers and c's CPU
// time and peak RSS under prefix.
func measure(m metrics, prefix string, c *child, hz int64, load func(string) loadResult) error {
	u0, err := c.usage(hz)
	if err != nil {
		return err
	}
	res := load(c.URL)
	u1, err := c.usage(hz)
	if err != nil {
		return err
	}
	m[prefix+"requests_per_s"] = res.rate()
	m[prefix+"ack_p50_ms"] = ms(percentile(res.Latencies, 50))
	m[prefix+"ack_p99_ms"] = ms(percentile(res.Latencies, 99))
	m[prefix+"failed_requests"] = float64(res.Failed)
	if res.OK > 0 {
		m[prefix+"cpu_ms_per_request"] = ms(u1.CPU-u0.CPU) / float64(res.OK)
	}
	m[prefix+"peak_rss_mib"] = float64(u1.PeakRSS) / (1 << 20)
	return nil
}

func meanLen(bodies [][]byte) float64 {
	if len(bodies) == 0 {
		return 0
	}
	n := 0
	for _, b := range bodies {
		n += len(b)
	}
	return float64(n / len(bodies))
}

// repeated runs one-round scenario f cfg.rounds times.
func repeated(f func(context.Context, config) (metrics, error)) func(context.Context, config) ([]metrics, error) {
	return func(ctx context.Context, cfg config) ([]metrics, error) {
		var out []metrics
		for round := range cfg.rounds {
			m, err := f(ctx, cfg)
			if err != nil {
				return nil, fmt.Errorf("round %d: %w", round+1, err)
			}
			m["round"] = float64(round + 1)
			out = append(out, m)
		}
		return out, nil
	}
}

// Bridge defaults the refresher's bound is computed from (README, "Status
// reads").
const (
	defaultQPS        = 5
	defaultReadShare  = 0.5
	defaultReadsBatch = 50
)

// refresher seeds cfg.refreshTickets open tickets, starts the bridge with
// its defaults and sends one new group per second: how long do creates wait
// behind the status reads, and how stale does the oldest read get.
func refresher(ctx context.Context, cfg config, onPostgres bool) (metrics, error) {
	r, err := newRun(ctx, cfg, setup{postgres: onPostgres})
	if err != nil {
		return nil, err
	}
	defer r.close()
	r.m["loadavg_1m_at_seed"] = loadavg()
	n := cfg.refreshTickets
	t0 := time.Now()
	ids, err := seedFake(ctx, r.fake, n)
	if err != nil {
		return nil, err
	}
	r.m["seed_fake_s"] = time.Since(t0).Seconds()
	t1 := time.Now()
	opened := make([]time.Time, n)
	for i := range opened {
		// Uniform over the last refresh interval, as in a steady state
		// where every ticket is read once per interval.
		opened[i] = t1.Add(-defaultRefresh + time.Duration(i)*defaultRefresh/time.Duration(n))
	}
	if err := seedStore(ctx, r.store, onPostgres, ids, opened); err != nil {
		return nil, err
	}
	r.m["seed_store_s"] = time.Since(t1).Seconds()
	r.m["seeded_open_tickets"] = float64(n)
	seedCreates := r.fake.Calls("create_ticket")

	if err := r.start(ctx); err != nil {
		return nil, err
	}
	started := time.Now()
	count := max(1, int(cfg.refreshFor.Seconds()))
	bodies := bench.Bodies(0, count, repeatAlerts)
	r.m["body_bytes"] = meanLen(bodies)
	res := openLoop(ctx, r.bridge.URL, bodies, 1, count)
	r.ack("", res)
	// Wait for the creates of the new groups (the seeded tickets were
	// created before the bridge started).
	deadline := time.Now().Add(5 * time.Minute)
	for r.fake.Calls("create_ticket")-seedCreates < res.OK && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	end := time.Now()
	r.tickets(res)
	var ttt []time.Duration
	for _, tk := range r.fake.Tickets() {
		if g := bench.GroupOf(tk.Description); g >= 0 && g < len(res.FirstAck) && res.FirstAck[g] != 0 {
			ttt = append(ttt, max(0, tk.CreatedAt.Sub(time.Unix(0, res.FirstAck[g]))))
		}
	}
	r.m["ttt_max_ms"] = ms(percentile(ttt, 100))
	r.m["new_group_tickets"] = float64(len(ttt))
	var oldest time.Duration
	for i, id := range ids {
		last, ok := r.fake.seen.read(id)
		if !ok {
			last = opened[i]
		}
		oldest = max(oldest, end.Sub(last))
	}
	r.m["oldest_status_read_age_s"] = oldest.Seconds()
	// The documented bound for tickets this young (IntervalFor = the
	// interval): interval + N / (QPS x share x batch).
	r.m["bound_s"] = defaultRefresh.Seconds() + float64(n)/(defaultQPS*defaultReadShare*defaultReadsBatch)
	if age, err := scrapeGauge(ctx, r.bridge.URL, "coc_bridge_refresh_oldest_check_age_seconds"); err == nil {
		r.m["bridge_oldest_check_age_s"] = age
	}
	r.m["tickets_read"] = float64(r.fake.seen.reads())
	elapsed := end.Sub(started).Seconds()
	r.m["measured_s"] = elapsed
	r.m["status_get_calls_per_s"] = float64(r.fake.Calls("get_ticket")) / elapsed
	r.m["status_list_calls_per_s"] = float64(r.fake.Calls("list_tickets")) / elapsed
	r.m["ticket_reads_per_s"] = float64(r.fake.seen.ticketsRead()) / elapsed
	calls := r.fake.seen.since(started)
	r.m["coc_max_requests_in_1s"] = float64(maxPerWindow(calls, time.Second))
	if err := r.finish(); err != nil {
		return nil, err
	}
	r.m["coc_calls"] -= float64(seedCreates)
	r.m["coc_creates"] -= float64(seedCreates)
	delete(r.m, "coc_calls_per_notification")
	return r.m, nil
}

// scrapeGauge reads one unlabelled series from the bridge's /metrics.
func scrapeGauge(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s not in /metrics", name)
}

// seedFake creates n tickets at the fake through its API (signed, as the
// bridge's client does) and returns their numbers in order.
func seedFake(ctx context.Context, f *fake, n int) ([]string, error) {
	c, err := client.New(client.Options{
		Endpoint:    f.URL,
		Credentials: client.StaticCredentials{AccessKey: accessKey, SecretKey: client.Secret(secretKey)},
		DomainID:    domainID, QPS: 1e6, Burst: 1 << 20,
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for w := range errs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				res, err := c.CreateIssueTicket(ctx, client.CreateTicketRequest{
					Title: fmt.Sprintf("seeded ticket %d", i), Description: fmt.Sprintf("seeded open ticket %d", i),
					EnterpriseProject: "0", Level: "issues_level_4000", TicketType: "issues_type_1000",
					Source: "issues_mgmt_associated_type_1000", SourceID: fmt.Sprintf("seed-%06d", i),
					VirtualScheduleType: "issues_mgmt_virtual_schedule_type_2000", IssueContactPerson: "bench-owner",
				})
				if err != nil {
					errs[w] = fmt.Errorf("seed ticket %d at the fake: %w", i, err)
					return
				}
				ids[i] = res.TicketID
			}
		})
	}
	wg.Wait()
	return ids, errors.Join(errs...)
}

// seedStore records ids[i] as the open ticket of key seed/i, opened at
// opened[i], through the store API: Accept (a create), Claim, Complete, in
// batches, as delivery would.
func seedStore(ctx context.Context, dsn string, onPostgres bool, ids []string, opened []time.Time) error {
	var st bridge.Store
	var err error
	if onPostgres {
		st, err = postgres.Open(ctx, dsn, postgres.Options{})
	} else {
		st, err = sqlite.Open(ctx, dsn, sqlite.Options{})
	}
	if err != nil {
		return fmt.Errorf("open store to seed: %w", err)
	}
	defer st.Close()
	const batch = 500
	msg := []byte(`{"version":"4","status":"firing","receiver":"coc-bridge","alerts":[]}`)
	for from := 0; from < len(ids); from += batch {
		to := min(from+batch, len(ids))
		notes := make([]bridge.Notification, 0, to-from)
		ticket := map[string]int{}
		for i := from; i < to; i++ {
			key := fmt.Sprintf("seed/%06d", i)
			ticket[key] = i
			notes = append(notes, bridge.Notification{Key: key, Receiver: "coc-bridge", Firing: true,
				Level: "issues_level_4000", Message: msg, ReceivedAt: opened[i].Add(-time.Second)})
		}
		if _, err := st.Accept(ctx, notes...); err != nil {
			return fmt.Errorf("seed accept: %w", err)
		}
		items, err := st.Claim(ctx, bridge.ClaimRequest{Owner: "seed", Limit: batch, Lease: time.Hour, Now: time.Now()})
		if err != nil {
			return fmt.Errorf("seed claim: %w", err)
		}
		if len(items) != to-from {
			return fmt.Errorf("seed claim: %d items, want %d", len(items), to-from)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(items))
		sem := make(chan struct{}, 32) // concurrent completions share commits
		for k, it := range items {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				i := ticket[it.Key]
				errs[k] = st.Complete(ctx, bridge.Completion{ID: it.ID, Owner: "seed", TicketID: ids[i], Title: "seeded", Now: opened[i]})
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("seed complete: %w", err)
		}
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	if got := stats.Ledger[bridge.StateOpen]; got != int64(len(ids)) {
		return fmt.Errorf("seeded %d open tickets, want %d", got, len(ids))
	}
	return nil
}

// backlog accepts cfg.backlogGroups new groups while COC is down, then
// brings it back and times the drain.
func backlog(ctx context.Context, cfg config) ([]metrics, error) {
	r, err := newRun(ctx, cfg, setup{env: ingestEnv})
	if err != nil {
		return nil, err
	}
	defer r.close()
	bodies := bench.Bodies(0, cfg.backlogGroups, repeatAlerts)
	r.m["body_bytes"] = meanLen(bodies)
	load := func(url string) loadResult {
		return closedLoop(ctx, url, bodies, steadyConcurrency, 1, len(bodies), 0)
	}
	if err := r.floor(ctx, load); err != nil {
		return nil, err
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	r.fake.SetDown(true)
	res := load(r.bridge.URL)
	r.ack("", res)
	r.m["ratio_to_floor"] = r.m["notifications_per_s"] / r.m["floor_notifications_per_s"]
	r.m["coc_calls_while_down"] = float64(r.fake.calls())
	up := time.Now()
	r.fake.SetDown(false)
	timeout := time.Duration(float64(res.OK)/100*3)*time.Second + 2*time.Minute
	if err := r.waitTickets(ctx, res.OK, timeout); err != nil {
		return nil, err
	}
	r.tickets(res)
	var last time.Time
	for _, tk := range r.fake.Tickets() {
		last = maxTime(last, tk.CreatedAt)
	}
	drain := last.Sub(up)
	calls := r.fake.seen.since(up)
	r.m["drain_s"] = drain.Seconds()
	if drain > 0 {
		r.m["drain_coc_calls_per_s"] = float64(len(calls)) / drain.Seconds()
	}
	r.m["coc_max_requests_in_1s"] = float64(maxPerWindow(calls, time.Second))
	if err := r.finish(); err != nil {
		return nil, err
	}
	return []metrics{r.m}, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// replicas runs three bridges on one PostgreSQL database, sends each a
// third of cfg.replicaGroups new groups and counts COC requests per second.
func replicas(ctx context.Context, cfg config) (metrics, error) {
	const n = 3
	r, err := newRun(ctx, cfg, setup{postgres: true, env: []string{"COC_BRIDGE_COC_QPS=10"}})
	if err != nil {
		return nil, err
	}
	defer r.close()
	var bridges []*child
	defer func() {
		for _, b := range bridges[min(1, len(bridges)):] { // r.close stops the first
			b.stop()
		}
	}()
	for k := range n {
		dir := filepath.Join(r.dir, fmt.Sprintf("replica-%d", k+1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		env := append(slices.Clone(r.env), fmt.Sprintf("COC_BRIDGE_REPLICA_ID=bench-%d", k+1))
		b, err := startBridge(ctx, cfg.bridgeBin, dir, r.fake, r.store, env)
		if err != nil {
			return nil, err
		}
		bridges = append(bridges, b)
		if k == 0 {
			r.bridge = b
			if r.u0, err = b.usage(cfg.hz); err != nil {
				return nil, err
			}
		}
	}
	// The load starts once every replica has seen the others (a replica
	// re-divides at its next heartbeat, every 2 s).
	seen := time.Now()
	deadline := seen.Add(30 * time.Second)
	for _, b := range bridges {
		for {
			live, err := scrapeGauge(ctx, b.URL, "coc_bridge_replicas_live")
			if err == nil && live == n {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, fmt.Errorf("replica %s does not count %d live replicas (%v, %v)", b.URL, n, live, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	r.m["replicas_see_each_other_s"] = time.Since(seen).Seconds()
	r.m["loadavg_1m_at_start"] = loadavg()
	bodies := bench.Bodies(0, cfg.replicaGroups, repeatAlerts)
	r.m["body_bytes"] = meanLen(bodies)
	start := time.Now()
	var wg sync.WaitGroup
	results := make([]loadResult, n)
	for k, b := range bridges {
		part := bodies[k*len(bodies)/n : (k+1)*len(bodies)/n]
		wg.Go(func() {
			results[k] = closedLoop(ctx, b.URL, part, steadyConcurrency/n+1, 1, len(part), 0)
		})
	}
	wg.Wait()
	ok := 0
	for _, res := range results {
		ok += res.OK
	}
	r.m["acknowledged"] = float64(ok)
	timeout := time.Duration(float64(ok)/10*2)*time.Second + time.Minute
	if err := r.waitTickets(ctx, ok, timeout); err != nil {
		return nil, err
	}
	calls := r.fake.seen.since(start)
	r.m["coc_max_requests_in_1s"] = float64(maxPerWindow(calls, time.Second))
	r.m["coc_max_requests_in_calendar_second"] = float64(maxPerSecondBucket(calls))
	if len(calls) > 1 {
		r.m["coc_requests_per_s"] = float64(len(calls)-1) / calls[len(calls)-1].Sub(calls[0]).Seconds()
	}
	r.m["tickets"] = float64(len(r.fake.Tickets()))
	perGroup := map[int]int{}
	for _, tk := range r.fake.Tickets() {
		perGroup[bench.GroupOf(tk.Description)]++
	}
	r.m["duplicate_tickets"] = r.m["tickets"] - float64(len(perGroup))
	r.m["coc_calls"] = float64(r.fake.calls())
	r.m["coc_429"] = float64(r.fake.Throttled())
	return r.m, nil
}
