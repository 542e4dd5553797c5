package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coc-bridge/coc-bridge/bench"
	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// soakConfig is the soak subcommand's command line.
type soakConfig struct {
	bridgeBin string
	duration  time.Duration
	rate      float64
	groups    int
	every     time.Duration
	closeEach time.Duration
	jsonOut   string
	keep      bool
	seed      uint64
}

// soakEnv is the bridge's configuration in the soak: a rate limit well
// above the soak's COC traffic, short backoffs and a short refresh interval
// so that outages end quickly and tickets closed at the fake are noticed
// within the run.
var soakEnv = []string{
	"COC_BRIDGE_COC_QPS=50",
	"COC_BRIDGE_COC_BURST=50",
	"COC_BRIDGE_RETRY_MAX_DELAY=10s",
	"COC_BRIDGE_REFRESH_INTERVAL=20s",
	"COC_BRIDGE_LOG_LEVEL=info",
}

// runSoak is `cocbench soak`: the bridge under a steady open-loop load for
// a long time while the fake COC goes through a repeating fault schedule;
// the bridge's goroutines, heap, open files, resident memory and outbox are
// sampled from its /metrics and must stay flat, and at the end every
// group's tickets must be consistent between the fake and the ledger.
func runSoak(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cocbench soak", flag.ContinueOnError)
	var cfg soakConfig
	fs.StringVar(&cfg.bridgeBin, "bridge", "", "path of the coc-bridge binary (required)")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Minute, "length of the load; the fault schedule repeats 4 times in it")
	fs.Float64Var(&cfg.rate, "rate", 60, "notifications per second (open loop)")
	fs.IntVar(&cfg.groups, "groups", 300, "alert groups the notifications cycle through (at most 1000)")
	fs.DurationVar(&cfg.every, "sample", 10*time.Second, "sampling interval of the bridge's /metrics")
	fs.DurationVar(&cfg.closeEach, "close-every", 5*time.Second, "how often 3 open tickets are completed at the fake (0: never)")
	fs.StringVar(&cfg.jsonOut, "json", "", "also write the samples and the verdict to this JSON file")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the run's directory (bridge log, store)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the choice of tickets to complete")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case cfg.bridgeBin == "":
		return errors.New("-bridge is required")
	case cfg.groups < 1 || cfg.groups > 1000:
		return errors.New("-groups must be in 1..1000")
	case cfg.rate <= 0 || cfg.duration <= 0 || cfg.every <= 0:
		return errors.New("-rate, -duration and -sample must be positive")
	}
	s, err := newSoak(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.run(ctx)
	if err != nil {
		return err
	}
	res.write(stdout)
	if cfg.jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	if !res.Passed() {
		return errors.New("soak failed: see the report")
	}
	return nil
}

// soak is one soak run.
type soak struct {
	cfg    soakConfig
	dir    string
	fake   *fake
	bridge *child
	store  string
	hc     *http.Client
	gate   *throttleGate

	firing, resolved [][]byte
	acked            []atomic.Bool // group acknowledged with a firing notification
	closed           atomic.Int64  // tickets completed at the fake
}

func newSoak(ctx context.Context, cfg soakConfig) (_ *soak, err error) {
	dir, err := os.MkdirTemp("", "cocbench-soak-")
	if err != nil {
		return nil, err
	}
	s := &soak{cfg: cfg, dir: dir, hc: &http.Client{Timeout: 10 * time.Second}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	s.gate = &throttleGate{}
	if s.fake, err = startSoakFake(s.gate); err != nil {
		return nil, err
	}
	s.store = filepath.Join(dir, "coc-bridge.db")
	s.firing = bench.Bodies(0, cfg.groups, 3)
	s.resolved = make([][]byte, cfg.groups)
	for g, b := range s.firing {
		if s.resolved[g], err = resolvedBody(b); err != nil {
			return nil, err
		}
	}
	s.acked = make([]atomic.Bool, cfg.groups)
	if s.bridge, err = startBridge(ctx, cfg.bridgeBin, dir, s.fake, s.store, soakEnv); err != nil {
		return nil, err
	}
	return s, nil
}

// resolvedBody turns a firing notification into its all-resolved one.
func resolvedBody(firing []byte) ([]byte, error) {
	var m bench.Message
	if err := json.Unmarshal(firing, &m); err != nil {
		return nil, err
	}
	m.Status = "resolved"
	for i := range m.Alerts {
		m.Alerts[i].Status = "resolved"
		m.Alerts[i].EndsAt = m.Alerts[i].StartsAt.Add(5 * time.Minute)
	}
	return json.Marshal(m)
}

func (s *soak) close() {
	if s.bridge != nil {
		s.bridge.stop()
	}
	if s.fake != nil {
		s.fake.close()
	}
	if s.cfg.keep {
		fmt.Fprintf(os.Stderr, "kept %s\n", s.dir)
		return
	}
	_ = os.RemoveAll(s.dir)
}

// throttleGate answers every other request 429 APIG.0308 with Retry-After
// 1 while on, before the fake sees it, as the API gateway does when the
// account's rate limit is exceeded. It is time based: when it goes off,
// nothing is left over (unlike the fake's scripted faults, which are
// counted).
type throttleGate struct {
	on        atomic.Bool
	n         atomic.Int64
	throttled atomic.Int64
}

func (g *throttleGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.on.Load() && g.n.Add(1)%2 == 0 {
			g.throttled.Add(1)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached: policy user over ratelimit,limit:50,time:1 second","request_id":"soak-throttle"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// startSoakFake serves the fake COC behind the throttle gate.
func startSoakFake(g *throttleGate) (*fake, error) {
	s := coctest.New(coctest.Options{AccessKey: accessKey, SecretKey: secretKey, DomainID: domainID})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: g.wrap(s), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &fake{Server: s, URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// phase is one part of the fault schedule: [from, to) as fractions of a
// cycle (a quarter of the run; 150 s of a 10-minute run).
type phase struct {
	name     string
	from, to float64
}

// soakSchedule is one cycle of faults. Every phase not listed is healthy.
var soakSchedule = []phase{
	{"healthy", 0, 25.0 / 150},
	{"down (503 APIG.0202)", 25.0 / 150, 45.0 / 150},
	{"healthy", 45.0 / 150, 60.0 / 150},
	{"throttled (every other request 429 APIG.0308, Retry-After 1)", 60.0 / 150, 80.0 / 150},
	{"slow (1.5 s answers)", 80.0 / 150, 92.0 / 150},
	{"stalled (12 s answers, over COC_BRIDGE_COC_TIMEOUT)", 92.0 / 150, 97.0 / 150},
	{"healthy", 97.0 / 150, 100.0 / 150},
	{"dropped create answers (1 every 4 s)", 100.0 / 150, 120.0 / 150},
	{"healthy", 120.0 / 150, 1},
}

func (s *soak) cycle() time.Duration { return s.cfg.duration / 4 }

// phaseAt is the fault phase at elapsed time d.
func (s *soak) phaseAt(d time.Duration) phase {
	c := s.cycle()
	f := float64(d%c) / float64(c)
	for _, p := range soakSchedule {
		if f >= p.from && f < p.to {
			return p
		}
	}
	return soakSchedule[len(soakSchedule)-1]
}

// faults drives the fake through the schedule until ctx ends, then leaves
// it healthy.
func (s *soak) faults(ctx context.Context, start time.Time) {
	f := s.fake
	defer func() {
		f.SetDown(false)
		f.SetLatency(0)
		s.gate.on.Store(false)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var inPhase int // ticks since the phase began
	var last string
	for {
		p := s.phaseAt(time.Since(start))
		if p.name != last {
			inPhase, last = 0, p.name
		}
		f.SetDown(strings.HasPrefix(p.name, "down"))
		switch {
		case strings.HasPrefix(p.name, "slow"):
			f.SetLatency(1500 * time.Millisecond)
		case strings.HasPrefix(p.name, "stalled"):
			f.SetLatency(12 * time.Second)
		default:
			f.SetLatency(0)
		}
		s.gate.on.Store(strings.HasPrefix(p.name, "throttled"))
		if strings.HasPrefix(p.name, "dropped") && inPhase%4 == 0 {
			f.DropAfterCreate(1)
		}
		inPhase++
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// closer completes a few open tickets at the fake now and then, as people
// closing them in COC would, so that groups go through new cycles.
func (s *soak) closer(ctx context.Context) {
	if s.cfg.closeEach <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(s.cfg.seed, 0x50a4))
	tick := time.NewTicker(s.cfg.closeEach)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var open []string
		for _, t := range s.fake.Tickets() {
			if t.WorkFlowStatus != coctest.StatusCompleted && !t.IsDeleted {
				open = append(open, t.TicketID)
			}
		}
		rng.Shuffle(len(open), func(i, j int) { open[i], open[j] = open[j], open[i] })
		for _, id := range open[:min(3, len(open))] {
			if s.fake.Complete(id) == nil {
				s.closed.Add(1)
			}
		}
	}
}

// soakLoad is what the sender saw.
type soakLoad struct {
	Sent, OK, Failed, Skipped int64
	latencies                 []time.Duration
	mu                        sync.Mutex
}

// load sends notifications open loop at the configured rate until ctx
// ends: group g = i mod groups, and in pass p a group sends its resolved
// notification when (g+p) mod 8 == 0, else its firing one (a repeat once
// the first pass is over). A pool of 32 senders on at most 32 connections
// posts them (so the bridge's inbound connections, each a goroutine and a
// file descriptor, are bounded); a notification finding the pool's queue
// full is skipped and counted.
func (s *soak) load(ctx context.Context, l *soakLoad) {
	url := s.bridge.URL + "/api/v1/alerts"
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxConnsPerHost: 32, MaxIdleConnsPerHost: 32, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	type job struct {
		g      int
		firing bool
		at     time.Time
	}
	jobs := make(chan job, 256)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for j := range jobs {
				body := s.resolved[j.g]
				if j.firing {
					body = s.firing[j.g]
				}
				ok := postOnce(hc, url, body)
				l.mu.Lock()
				if ok {
					l.OK++
					l.latencies = append(l.latencies, time.Since(j.at))
				} else {
					l.Failed++
				}
				l.mu.Unlock()
				if ok && j.firing {
					s.acked[j.g].Store(true)
				}
			}
		})
	}
	defer wg.Wait()
	defer close(jobs)
	interval := time.Duration(float64(time.Second) / s.cfg.rate)
	start := time.Now()
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		g, p := i%s.cfg.groups, i/s.cfg.groups
		l.mu.Lock()
		l.Sent++
		l.mu.Unlock()
		select {
		case jobs <- job{g: g, firing: (g+p)%8 != 0, at: at}:
		default:
			l.mu.Lock()
			l.Skipped++
			l.mu.Unlock()
		}
	}
}

func postOnce(hc *http.Client, url string, body []byte) bool {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Alertmanager/0.31.1")
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}

// sample is one reading of the bridge's /metrics.
type sample struct {
	At            float64 `json:"at_s"` // since the load started
	Phase         string  `json:"phase"`
	Goroutines    float64 `json:"goroutines"`
	HeapInuse     float64 `json:"heap_inuse_bytes"`
	HeapAlloc     float64 `json:"heap_alloc_bytes"`
	HeapObjects   float64 `json:"heap_objects"`
	OpenFDs       float64 `json:"open_fds"`
	Sockets       float64 `json:"sockets"` // of the open fds, from /proc
	Files         float64 `json:"files"`   // the other open fds
	RSS           float64 `json:"rss_bytes"`
	OutboxPending float64 `json:"outbox_pending"`
	OutboxDead    float64 `json:"outbox_dead"`
	LedgerOpen    float64 `json:"ledger_open"`
	StoreBytes    float64 `json:"store_bytes"` // SQLite file + WAL
	Load1         float64 `json:"loadavg_1m"`
	FakeTickets   int     `json:"fake_tickets"`
}

// scrape reads the bridge's /metrics as "name{labels}" -> value.
func (s *soak) scrape(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.bridge.URL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

func (s *soak) sample(ctx context.Context, at time.Duration, phase string) (sample, error) {
	m, err := s.scrape(ctx)
	if err != nil {
		return sample{}, err
	}
	var db int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if st, err := os.Stat(s.store + suffix); err == nil {
			db += st.Size()
		}
	}
	sockets, files := s.fds()
	return sample{
		At: at.Seconds(), Phase: phase, Sockets: sockets, Files: files,
		Goroutines: m["go_goroutines"], HeapInuse: m["go_memstats_heap_inuse_bytes"],
		HeapAlloc: m["go_memstats_heap_alloc_bytes"], HeapObjects: m["go_memstats_heap_objects"],
		OpenFDs: m["process_open_fds"], RSS: m["process_resident_memory_bytes"],
		OutboxPending: m[`coc_bridge_outbox_items{state="pending"}`],
		OutboxDead:    m[`coc_bridge_outbox_items{state="dead"}`],
		LedgerOpen:    m[`coc_bridge_ledger_tickets{state="open"}`],
		StoreBytes:    float64(db), Load1: loadavg(), FakeTickets: len(s.fake.Tickets()),
	}, nil
}

// fds counts the bridge's open file descriptors that are sockets (its
// HTTP connections, inbound and to COC, and the listener) and the others
// (store files, log, ...).
func (s *soak) fds() (sockets, files float64) {
	dir := fmt.Sprintf("/proc/%d/fd", s.bridge.cmd.Process.Pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return -1, -1
	}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		switch {
		case err != nil:
		case strings.HasPrefix(target, "socket:"):
			sockets++
		default:
			files++
		}
	}
	return sockets, files
}

// soakResult is the soak's record.
type soakResult struct {
	Config struct {
		Duration, Sample, CloseEvery string
		Rate                         float64
		Groups                       int
		BridgeEnv                    []string
	}
	Schedule       []phase `json:"-"`
	Cycle          string
	Idle           sample   // before the load
	Samples        []sample // during the load
	Drained        sample   // once consistent after the load
	Quiet          sample   // 30 s later
	Load           soakLoad
	AckP50, AckP99 float64 // ms
	AckMax         float64
	Verdicts       []verdict
	Problems       []string // consistency problems left at the end
	ConvergedIn    float64  // seconds after the load stopped
	Counts         map[string]float64
	Dump           map[string]int // goroutines left after the load, by creator
}

// verdict is one resource's trend over the load.
type verdict struct {
	Resource         string
	Quartiles        [4]float64 // medians of the samples in each quarter of the run
	Max              [4]float64
	SlopePerHour     float64 // least squares over the last three quarters
	Tolerance        float64
	Flat             bool
	Unit             string
	ComparedQuarters string
	// Before and After are the idle sample before the load and the quiet
	// one after it, for the resources judged on those.
	Before, After float64
}

// Passed reports whether every resource stayed flat and the end state is
// consistent.
func (r *soakResult) Passed() bool {
	for _, v := range r.Verdicts {
		if !v.Flat {
			return false
		}
	}
	return len(r.Problems) == 0
}

func (s *soak) run(ctx context.Context) (*soakResult, error) {
	res := &soakResult{Schedule: soakSchedule, Cycle: s.cycle().String(), Counts: map[string]float64{}}
	res.Config.Duration, res.Config.Sample, res.Config.CloseEvery = s.cfg.duration.String(), s.cfg.every.String(), s.cfg.closeEach.String()
	res.Config.Rate, res.Config.Groups, res.Config.BridgeEnv = s.cfg.rate, s.cfg.groups, soakEnv
	var err error
	if res.Idle, err = s.sample(ctx, 0, "idle"); err != nil {
		return nil, err
	}
	start := time.Now()
	lctx, stop := context.WithTimeout(ctx, s.cfg.duration)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { s.faults(lctx, start) })
	wg.Go(func() { s.closer(lctx) })
	wg.Go(func() { s.load(lctx, &res.Load) })
	tick := time.NewTicker(s.cfg.every)
	for lctx.Err() == nil {
		select {
		case <-lctx.Done():
		case <-tick.C:
			d := time.Since(start)
			sm, err := s.sample(ctx, d, s.phaseAt(d).name)
			if err != nil {
				fmt.Fprintf(os.Stderr, "sample at %v: %v\n", d.Round(time.Second), err)
				continue
			}
			res.Samples = append(res.Samples, sm)
			fmt.Fprintf(os.Stderr, "%4.0fs %-12.12s goroutines %4.0f heap %6.1f MiB fds %3.0f (sockets %3.0f) rss %6.1f MiB pending %4.0f open %4.0f tickets %d\n",
				sm.At, sm.Phase, sm.Goroutines, sm.HeapInuse/(1<<20), sm.OpenFDs, sm.Sockets, sm.RSS/(1<<20), sm.OutboxPending, sm.LedgerOpen, sm.FakeTickets)
		}
	}
	tick.Stop()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	stopped := time.Now()
	res.Problems = s.converge(ctx, 3*time.Minute)
	res.ConvergedIn = time.Since(stopped).Seconds()
	if res.Drained, err = s.sample(ctx, time.Since(start), "drained"); err != nil {
		return nil, err
	}
	t := time.NewTimer(30 * time.Second)
	select {
	case <-ctx.Done():
		t.Stop()
		return nil, ctx.Err()
	case <-t.C:
	}
	if res.Quiet, err = s.sample(ctx, time.Since(start), "quiet"); err != nil {
		return nil, err
	}
	res.summarize(s)
	res.Dump = s.goroutineDump()
	return res, nil
}

// goroutineDump stops the bridge with SIGQUIT, which makes the Go runtime
// print every goroutine's stack, and counts the goroutines by where they
// were created (or, for those without a creator, by their top function):
// what is left running once the load is over.
func (s *soak) goroutineDump() map[string]int {
	b, err := os.ReadFile(s.bridge.log)
	if err != nil {
		return nil
	}
	from := len(b)
	if err := s.bridge.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return nil
	}
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-s.bridge.done:
	case <-t.C:
		return nil
	}
	if b, err = os.ReadFile(s.bridge.log); err != nil || len(b) < from {
		return nil
	}
	counts := map[string]int{}
	for _, block := range strings.Split(string(b[from:]), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[0], "goroutine ") {
			continue
		}
		where := "top: " + strings.TrimSpace(lines[1])
		for _, l := range lines {
			if c, ok := strings.CutPrefix(l, "created by "); ok {
				where = "created by " + c
			}
		}
		if i := strings.LastIndex(where, " in goroutine "); i > 0 {
			where = where[:i]
		}
		counts[where]++
	}
	return counts
}

// converge waits until the end state is consistent (or timeout) and
// returns the problems left.
func (s *soak) converge(ctx context.Context, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		problems, err := s.check(ctx)
		if err != nil {
			problems = append(problems, err.Error())
		}
		if len(problems) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return problems
		}
		t := time.NewTimer(2 * time.Second)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

func (s *soak) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.bridge.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// check compares the fake's tickets with the ledger and the outbox:
//   - per group, every ticket but the last was completed at the fake before
//     the next one was created (never two open tickets: no duplicate);
//   - every ticket open at the fake is the ledger's open ticket of its key,
//     and every ledger open ticket is open at the fake (the refresher has
//     seen every completion);
//   - nothing is pending or dead in the outbox or the ledger;
//   - every group acknowledged with a firing notification has a ticket.
func (s *soak) check(ctx context.Context) ([]string, error) {
	var ledger struct {
		Tickets []bridge.LedgerEntry `json:"tickets"`
	}
	if err := s.getJSON(ctx, "/api/v1/tickets?limit=1000", &ledger); err != nil {
		return nil, err
	}
	var outbox struct {
		Items []bridge.OutboxItem `json:"items"`
	}
	if err := s.getJSON(ctx, "/api/v1/outbox?limit=1000", &outbox); err != nil {
		return nil, err
	}
	var problems []string
	add := func(format string, a ...any) {
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	if n := len(outbox.Items); n > 0 {
		add("%d outbox items left (first: key %s state %s, %s)", n, outbox.Items[0].Key, outbox.Items[0].State, outbox.Items[0].LastError)
	}
	byKey := map[string][]coctest.Ticket{}
	groupKey := map[int]string{}
	for _, t := range s.fake.Tickets() {
		byKey[t.SourceID] = append(byKey[t.SourceID], t)
		groupKey[bench.GroupOf(t.Description)] = t.SourceID
	}
	entries := map[string]bridge.LedgerEntry{}
	for _, e := range ledger.Tickets {
		entries[e.Key] = e
		switch e.State {
		case bridge.StatePending, bridge.StateDead:
			add("ledger key %s is %s", e.Key, e.State)
		}
	}
	for key, ts := range byKey {
		slices.SortFunc(ts, func(a, b coctest.Ticket) int { return a.CreatedAt.Compare(b.CreatedAt) })
		for i := 1; i < len(ts); i++ {
			prev := ts[i-1]
			if prev.WorkFlowStatus != coctest.StatusCompleted || prev.UpdatedAt.After(ts[i].CreatedAt) {
				add("duplicate: key %s has ticket %s created while %s was open", key, ts[i].TicketID, prev.TicketID)
			}
		}
		last := ts[len(ts)-1]
		e, ok := entries[key]
		switch {
		case !ok:
			add("ticket %s (key %s) is not in the ledger", last.TicketID, key)
		case e.TicketID != last.TicketID:
			add("ledger key %s names ticket %s, the fake's latest is %s", key, e.TicketID, last.TicketID)
		case last.WorkFlowStatus == coctest.StatusCompleted && e.State != bridge.StateClosed:
			add("ticket %s completed at the fake, ledger still %s", last.TicketID, e.State)
		case last.WorkFlowStatus != coctest.StatusCompleted && e.State != bridge.StateOpen:
			add("ticket %s open at the fake, ledger %s", last.TicketID, e.State)
		}
	}
	for g := range s.acked {
		if s.acked[g].Load() {
			if _, ok := groupKey[g]; !ok {
				add("group %d was acknowledged firing but has no ticket", g)
			}
		}
	}
	return problems, nil
}

// summarize computes the verdicts and the counts.
func (r *soakResult) summarize(s *soak) {
	r.Load.mu.Lock()
	lat := slices.Clone(r.Load.latencies)
	r.Load.mu.Unlock()
	r.AckP50, r.AckP99, r.AckMax = ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(percentile(lat, 100))
	type res struct {
		name, unit string
		get        func(sample) float64
		rel, abs   float64 // tolerance: max(rel * first, abs)
	}
	// Goroutines and descriptors move with the number of HTTP connections
	// (a goroutine and a socket per inbound connection, two goroutines and a
	// socket per connection to COC), which follows the answer times of the
	// moment, bounded by the sender's 32 connections and the COC client's
	// pool. A leak shows in what is left when the connections are taken
	// out (goroutines less sockets, non-socket descriptors), and in the raw
	// counts once the load is over and the connections are closed.
	for _, x := range []res{
		{"goroutines less sockets", "", func(s sample) float64 { return s.Goroutines - s.Sockets }, 0.10, 5},
		{"open fds other than sockets", "", func(s sample) float64 { return s.Files }, 0, 2},
		{"heap in use", "MiB", func(s sample) float64 { return s.HeapInuse / (1 << 20) }, 0.25, 4},
		{"heap objects", "", func(s sample) float64 { return s.HeapObjects }, 0.25, 20000},
		{"resident memory", "MiB", func(s sample) float64 { return s.RSS / (1 << 20) }, 0.15, 8},
		{"outbox pending", "", func(s sample) float64 { return s.OutboxPending }, 0.5, 50},
		{"store size", "MiB", func(s sample) float64 { return s.StoreBytes / (1 << 20) }, 0.5, 4},
	} {
		r.Verdicts = append(r.Verdicts, trend(x.name, x.unit, r.Samples, x.get, x.rel, x.abs))
	}
	for _, x := range []res{
		{"goroutines", "", func(s sample) float64 { return s.Goroutines }, 0, 6},
		{"open fds", "", func(s sample) float64 { return s.OpenFDs }, 0, 3},
		{"sockets", "", func(s sample) float64 { return s.Sockets }, 0, 3},
	} {
		v := trend(x.name, x.unit, r.Samples, x.get, x.rel, x.abs)
		v.ComparedQuarters = "idle before vs quiet after"
		v.Before, v.After = x.get(r.Idle), x.get(r.Quiet)
		v.Flat = v.After-v.Before <= v.Tolerance
		r.Verdicts = append(r.Verdicts, v)
	}
	f := s.fake
	r.Counts["fake_tickets"] = float64(len(f.Tickets()))
	r.Counts["fake_creates"] = float64(f.Calls("create_ticket"))
	r.Counts["fake_gets"] = float64(f.Calls("get_ticket"))
	r.Counts["fake_lists"] = float64(f.Calls("list_tickets"))
	r.Counts["completed_at_fake"] = float64(s.closed.Load())
	r.Counts["throttled_429"] = float64(s.gate.throttled.Load())
	if m, err := s.scrape(context.Background()); err == nil {
		for k, v := range m {
			if v == 0 {
				continue
			}
			if strings.HasPrefix(k, "coc_bridge_deliveries_total") || strings.HasPrefix(k, "coc_bridge_tickets_") ||
				strings.HasPrefix(k, "coc_bridge_dead_letters_total") || strings.HasPrefix(k, "coc_bridge_refreshes_total") ||
				strings.HasPrefix(k, "coc_bridge_notifications_total") {
				r.Counts[k] = v
			}
		}
	}
	if b, err := os.ReadFile(s.bridge.log); err == nil {
		for _, lvl := range []string{"warn", "error"} {
			r.Counts["bridge_log_"+lvl+"_lines"] = float64(strings.Count(string(b), `"level":"`+lvl+`"`))
		}
	}
}

// trend compares the second and the last quarter of the samples (medians)
// and fits a line to the last three quarters. The first quarter is the
// warm-up: it holds the first fault cycle, during which connection pools
// (inbound, and to COC during the stalls) and the store grow to their
// working size.
func trend(name, unit string, ss []sample, get func(sample) float64, rel, abs float64) verdict {
	v := verdict{Resource: name, Unit: unit, ComparedQuarters: "Q2 vs Q4"}
	n := len(ss)
	if n < 8 {
		return v
	}
	for q := range 4 {
		var xs []float64
		for _, s := range ss[q*n/4 : (q+1)*n/4] {
			xs = append(xs, get(s))
		}
		v.Quartiles[q] = median(xs)
		v.Max[q] = slices.Max(xs)
	}
	var sx, sy, sxx, sxy, k float64
	for _, s := range ss[n/4:] {
		x, y := s.At/3600, get(s)
		sx, sy, sxx, sxy, k = sx+x, sy+y, sxx+x*x, sxy+x*y, k+1
	}
	if d := k*sxx - sx*sx; d != 0 {
		v.SlopePerHour = (k*sxy - sx*sy) / d
	}
	v.Tolerance = max(rel*v.Quartiles[1], abs)
	v.Flat = v.Quartiles[3]-v.Quartiles[1] <= v.Tolerance
	return v
}

// write prints the report as Markdown.
func (r *soakResult) write(w io.Writer) {
	fmt.Fprintf(w, "## soak\n\n%s at %.0f notifications/s over %d groups (resolved every 8th pass of a group), fault cycle %s repeated 4 times, 3 tickets completed at the fake every %s; bridge %s\n\n",
		r.Config.Duration, r.Config.Rate, r.Config.Groups, r.Cycle, r.Config.CloseEvery, strings.Join(r.Config.BridgeEnv, " "))
	fmt.Fprintf(w, "Fault schedule (each cycle):\n\n")
	for _, p := range r.Schedule {
		fmt.Fprintf(w, "- %3.0f%%–%3.0f%%: %s\n", p.from*100, p.to*100, p.name)
	}
	fmt.Fprintf(w, "\nSender: %d scheduled, %d acknowledged, %d failed, %d skipped (sender pool busy); ack p50 %.1f ms, p99 %.1f ms, max %.1f ms\n\n",
		r.Load.Sent, r.Load.OK, r.Load.Failed, r.Load.Skipped, r.AckP50, r.AckP99, r.AckMax)
	fmt.Fprintf(w, "| t (s) | phase | goroutines | open fds | of which sockets | heap in use (MiB) | heap objects | RSS (MiB) | outbox pending | ledger open | store (MiB) | fake tickets | load 1m |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(s sample) {
		fmt.Fprintf(w, "| %.0f | %s | %.0f | %.0f | %.0f | %.1f | %.0f | %.1f | %.0f | %.0f | %.2f | %d | %.2f |\n",
			s.At, s.Phase, s.Goroutines, s.OpenFDs, s.Sockets, s.HeapInuse/(1<<20), s.HeapObjects, s.RSS/(1<<20), s.OutboxPending, s.LedgerOpen, s.StoreBytes/(1<<20), s.FakeTickets, s.Load1)
	}
	row(r.Idle)
	next := 60.0
	for i, s := range r.Samples {
		if i == 0 || i == len(r.Samples)-1 || s.At >= next {
			row(s)
			for next <= s.At {
				next += 60
			}
		}
	}
	row(r.Drained)
	row(r.Quiet)
	fmt.Fprintf(w, "\nVerdict: flat when the last quarter's median exceeds the second quarter's by at most the tolerance (the first quarter, one fault cycle, is the warm-up); "+
		"for the raw goroutine, descriptor and socket counts, which follow the number of open connections, when the quiet sample after the load exceeds the idle one before it by at most the tolerance.\n\n")
	fmt.Fprintf(w, "| resource | Q1 median | Q2 median | Q3 median | Q4 median | Q2 max | Q4 max | slope (Q2–Q4) per hour | compared | tolerance | verdict |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n")
	for _, v := range r.Verdicts {
		verdict := "flat"
		if !v.Flat {
			verdict = "NOT FLAT"
		}
		compared := fmt.Sprintf("Q2 %s → Q4 %s", format(v.Quartiles[1]), format(v.Quartiles[3]))
		if v.ComparedQuarters != "Q2 vs Q4" {
			compared = fmt.Sprintf("idle %s → quiet %s", format(v.Before), format(v.After))
		}
		fmt.Fprintf(w, "| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v.Resource, unitSuffix(v.Unit),
			format(v.Quartiles[0]), format(v.Quartiles[1]), format(v.Quartiles[2]), format(v.Quartiles[3]),
			format(v.Max[1]), format(v.Max[3]), signed(v.SlopePerHour), compared, format(v.Tolerance), verdict)
	}
	fmt.Fprintf(w, "\nEnd state (consistent %.0f s after the load stopped): ", r.ConvergedIn)
	if len(r.Problems) == 0 {
		fmt.Fprintf(w, "every acknowledged group has its tickets, one per cycle, none open twice; ledger and fake agree; outbox empty.\n\n")
	} else {
		fmt.Fprintf(w, "%d problems:\n\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "- %s\n", p)
		}
		fmt.Fprintln(w)
	}
	if len(r.Dump) > 0 {
		total := 0
		for _, n := range r.Dump {
			total += n
		}
		fmt.Fprintf(w, "Goroutines left after the load (SIGQUIT dump of the quiet bridge: %d):\n\n| created by | goroutines |\n|---|---:|\n", total)
		for _, k := range slices.Sorted(maps.Keys(r.Dump)) {
			fmt.Fprintf(w, "| `%s` | %d |\n", k, r.Dump[k])
		}
		fmt.Fprintln(w)
	}
	keys := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "| count | value |\n|---|---:|\n")
	for _, k := range keys {
		fmt.Fprintf(w, "| `%s` | %s |\n", k, format(r.Counts[k]))
	}
	fmt.Fprintln(w)
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " (" + u + ")"
}

func signed(v float64) string {
	if v < 0 {
		return "-" + format(-v)
	}
	return "+" + format(v)
}

// soakMain runs `cocbench soak ARGS` and returns the exit code.
func soakMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runSoak(ctx, args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cocbench soak:", err)
		return 1
	}
	return 0
}
