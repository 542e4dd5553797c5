package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coc-bridge/coc-bridge/bench"
)

// metrics is one run's numbers by name.
type metrics map[string]float64

// run is one run of one scenario: a fresh fake COC, a fresh store, a fresh
// bridge process (started by start, after the floor if any).
type run struct {
	cfg    config
	dir    string
	fake   *fake
	bridge *child
	u0     usage
	m      metrics
	sent   int // notifications acknowledged by the bridge
	dropDB func()
	store  string
	env    []string
}

// setup is how a scenario wants its COC and bridge.
type setup struct {
	fakeQPS     float64
	fakeLatency time.Duration
	env         []string
	postgres    bool
}

func newRun(ctx context.Context, cfg config, s setup) (_ *run, err error) {
	dir, err := os.MkdirTemp("", "cocbench-")
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, dir: dir, m: metrics{}}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.fake, err = startFake(s.fakeQPS, s.fakeLatency); err != nil {
		return nil, err
	}
	store := filepath.Join(dir, "coc-bridge.db")
	if s.postgres {
		if cfg.postgresDSN == "" {
			return nil, errSkip
		}
		if store, err = r.freshDatabase(ctx); err != nil {
			return nil, err
		}
	}
	r.store, r.env = store, append(s.env, cfg.extraEnv...)
	return r, nil
}

// start starts the bridge process and notes its CPU time so far.
func (r *run) start(ctx context.Context) error {
	var err error
	if r.bridge, err = startBridge(ctx, r.cfg.bridgeBin, r.dir, r.fake, r.store, r.env); err != nil {
		return err
	}
	r.u0, err = r.bridge.usage(r.cfg.hz)
	r.m["loadavg_1m_at_start"] = loadavg()
	return err
}

// loadavg is the machine's 1-minute load average: other work on the
// machine shows here.
func loadavg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

var errSkip = errors.New("skipped")

// freshDatabase creates a database for this run and registers its drop.
func (r *run) freshDatabase(ctx context.Context) (string, error) {
	conn, err := pgx.Connect(ctx, r.cfg.postgresDSN)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "cocbench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	r.dropDB = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, r.cfg.postgresDSN); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	}
	u, err := url.Parse(r.cfg.postgresDSN)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func (r *run) close() {
	if r.bridge != nil {
		r.bridge.stop()
	}
	if r.fake != nil {
		r.fake.close()
	}
	if r.dropDB != nil {
		r.dropDB()
	}
	if r.cfg.keep {
		fmt.Fprintf(os.Stderr, "kept %s\n", r.dir)
		return
	}
	_ = os.RemoveAll(r.dir)
}

// ack records the sender-side numbers of a load phase under prefix.
func (r *run) ack(prefix string, res loadResult) {
	r.m[prefix+"notifications_per_s"] = res.rate()
	r.m[prefix+"ack_p50_ms"] = ms(percentile(res.Latencies, 50))
	r.m[prefix+"ack_p99_ms"] = ms(percentile(res.Latencies, 99))
	r.m[prefix+"ack_max_ms"] = ms(percentile(res.Latencies, 100))
	r.m[prefix+"failed_requests"] = float64(res.Failed)
	if prefix == "" {
		r.sent += res.OK
	}
}

// waitTickets polls the fake until it holds want tickets.
func (r *run) waitTickets(ctx context.Context, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		n := len(r.fake.Tickets())
		if n >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d tickets after %v", n, want, timeout)
		case <-tick.C:
		}
	}
}

// tickets records time to ticket (first acknowledgement of the group to the
// ticket's creation at the fake), duplicates and the drain rate.
func (r *run) tickets(res loadResult) {
	ts := r.fake.Tickets()
	var ttt []time.Duration
	perGroup := map[int]int{}
	var first, last time.Time
	for _, tk := range ts {
		g := bench.GroupOf(tk.Description)
		if g < 0 {
			continue // seeded, not from the load
		}
		perGroup[g]++
		if g >= 0 && g < len(res.FirstAck) && res.FirstAck[g] != 0 {
			d := tk.CreatedAt.Sub(time.Unix(0, res.FirstAck[g]))
			// The ticket can be created a hair before the sender reads the
			// acknowledgement; that counts as zero.
			ttt = append(ttt, max(d, 0))
		}
		if first.IsZero() || tk.CreatedAt.Before(first) {
			first = tk.CreatedAt
		}
		if tk.CreatedAt.After(last) {
			last = tk.CreatedAt
		}
	}
	n := 0
	for _, c := range perGroup {
		n += c
	}
	r.m["tickets"] = float64(n)
	r.m["duplicate_tickets"] = float64(n - len(perGroup))
	r.m["ttt_p50_ms"] = ms(percentile(ttt, 50))
	r.m["ttt_p99_ms"] = ms(percentile(ttt, 99))
	if n > 1 && last.After(first) {
		r.m["drain_tickets_per_s"] = float64(n-1) / last.Sub(first).Seconds()
	}
}

// finish records the bridge's CPU and memory and COC's view.
func (r *run) finish() error {
	u, err := r.bridge.usage(r.cfg.hz)
	if err != nil {
		return err
	}
	r.m["cpu_s"] = (u.CPU - r.u0.CPU).Seconds()
	r.m["peak_rss_mib"] = float64(u.PeakRSS) / (1 << 20)
	r.m["coc_calls"] = float64(r.fake.calls())
	r.m["coc_creates"] = float64(r.fake.Calls("create_ticket"))
	if r.sent > 0 {
		r.m["coc_calls_per_notification"] = float64(r.fake.calls()) / float64(r.sent)
	}
	r.m["coc_429"] = float64(r.fake.Throttled())
	return nil
}

// floor measures the trivial handler with load and records it under
// "floor_".
func (r *run) floor(ctx context.Context, load func(url string) loadResult) error {
	f, err := startFloor(ctx, r.dir)
	if err != nil {
		return err
	}
	defer f.stop()
	u0, err := f.usage(r.cfg.hz)
	if err != nil {
		return err
	}
	res := load(f.URL)
	u1, err := f.usage(r.cfg.hz)
	if err != nil {
		return err
	}
	r.ack("floor_", res)
	r.m["floor_cpu_s"] = (u1.CPU - u0.CPU).Seconds()
	r.m["floor_peak_rss_mib"] = float64(u1.PeakRSS) / (1 << 20)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
