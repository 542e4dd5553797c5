package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
	"github.com/coc-bridge/coc-bridge/mapping"
)

const (
	// crashRounds is how many runs of the daemon are killed before the
	// last one, which is left to finish the work.
	crashRounds = 5
	// crashSenders is how many webhook requests are in flight at once.
	crashSenders = 6
	// crashSeedEnv replays the random choices of an earlier run.
	crashSeedEnv = "COC_BRIDGE_TEST_CRASH_SEED"
)

// The built binary is killed with SIGKILL at random points of a webhook
// storm while COC answers slowly, several times, each time restarted on the
// same store. New groups fire at warning; repeats of earlier groups fire at
// critical (a level change of their tickets) or resolve (under
// cancel_unaccepted, a cancel), so kills find creates, level changes and
// cancels in flight. At the end every group on the ledger fires once more
// at critical, and then has exactly one open ticket, at issues_level_1000:
// no acknowledged notification is lost, no ticket is created twice, and no
// level change or cancel is lost or applied to the wrong ticket. A request
// cut by a kill may or may not have been stored. The seed of the random choices is
// logged; COC_BRIDGE_TEST_CRASH_SEED replays them (the processes' timing
// still varies from run to run).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the built binary for several seconds; skipped with -short")
	}
	t.Parallel()
	seed := crashSeed(t)
	bin := filepath.Join(t.TempDir(), "coc-bridge")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		runCrash(t, bin, seed, "")
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("COC_BRIDGE_TEST_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("set COC_BRIDGE_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
		}
		t.Parallel()
		runCrash(t, bin, seed+1, postgresSchema(t, dsn))
	})
}

// crashSeed returns the seed from COC_BRIDGE_TEST_CRASH_SEED, or a new one.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv(crashSeedEnv); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", crashSeedEnv, s)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// crashRun is what one engine's crash test has sent and been told.
type crashRun struct {
	t      *testing.T
	mapper *mapping.Mapper

	mu      sync.Mutex
	sent    map[string]string // key → group of every firing notification sent
	acked   map[string]string // key → group of the firing notifications answered 200
	refused int               // requests answered other than 200
}

// crashPost is one webhook request of a storm.
type crashPost struct {
	group    string
	resolved bool
	severity string
}

// runCrash runs the rounds on the store (a PostgreSQL DSN, or "" for a
// SQLite file) and checks the outcome.
func runCrash(t *testing.T, bin string, seed uint64, store string) {
	t.Logf("seed %d (%s=%d replays the random choices)", seed, crashSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK, DomainID: testDomain})
	srv := httptest.NewServer(slowCOC(fake, 10*time.Millisecond, 50*time.Millisecond))
	t.Cleanup(srv.Close)
	env := testEnv(t, srv.URL)
	if store != "" {
		env["COC_BRIDGE_STORE"] = store
	}
	env["COC_BRIDGE_LOG_LEVEL"] = "info"
	// A killed run's claimed items wait for their lease to expire before
	// the next run takes them over (the default lease is 2m). A 2s lease
	// lets that happen within the test; the configuration requires the
	// lease to be at least twice the COC timeout, as an attempt is cut off
	// at half the lease.
	env["COC_BRIDGE_COC_TIMEOUT"] = "1s"
	env["COC_BRIDGE_LEASE"] = "2s"
	// The default 5 requests/s would take a minute over the backlog.
	env["COC_BRIDGE_COC_QPS"] = "50"
	env["COC_BRIDGE_COC_BURST"] = "10"
	// A restarted container keeps its name: every run is the same lease owner.
	env["COC_BRIDGE_REPLICA_ID"] = "crash"
	// Resolved groups cancel their unaccepted tickets; repeats at critical
	// escalate them.
	env["COC_BRIDGE_ON_RESOLVE"] = "cancel_unaccepted"
	env["COC_BRIDGE_LEVEL_UPDATES"] = "escalate"
	// The fake shows a ticket the moment it is created, and an item a
	// killed run held is unclear (its create may have been sent): the
	// default schedule would keep a create that never reached COC pending
	// for 2m. The schedule's order of lookups and create is what is tested.
	env["COC_BRIDGE_LOOKUP_SCHEDULE"] = "0s,500ms,1s"

	cfg, err := loadConfig(t.Context(), environ(env), needAll)
	if err != nil {
		t.Fatalf("load the test configuration: %v", err)
	}
	mapper, err := mapping.New(cfg.mapping)
	if err != nil {
		t.Fatal(err)
	}
	c := &crashRun{t: t, mapper: mapper, sent: map[string]string{}, acked: map[string]string{}}

	var runs []*binaryDaemon
	t.Cleanup(func() { // after the processes were killed: their logs are complete
		if t.Failed() {
			for i, d := range runs {
				t.Logf("run %d, warnings and errors:\n%s", i, notableLines(d.log.String()))
			}
		}
	})

	var groups []string // every group sent so far
	caught := 0         // pending outbox items seen just before the kills
	for round := range crashRounds {
		switch round {
		case 1:
			// COC creates these tickets but the answers are lost.
			fake.DropAfterCreate(3)
		case 2:
			// COC creates these tickets but a gateway or the backend answers
			// 5xx: the tickets exist although the answers say failure.
			fake.FailNext(client.OpCreateTicket, 1, coctest.Fault{Status: 502, Apply: true,
				Code: client.CodeBackendDown, Message: "Backend unavailable"})
			fake.FailNext(client.OpCreateTicket, 1, coctest.Fault{Status: 504, Apply: true,
				Code: client.CodeBackendTimeout, Message: "Backend timeout"})
			fake.FailNext(client.OpCreateTicket, 1, coctest.Fault{Status: 500, Apply: true,
				Body: "internal error", ContentType: "text/plain"})
		}
		posts, fresh := crashPlan(rng, round, groups)
		groups = append(groups, fresh...)
		firing := 0
		for _, p := range posts {
			if !p.resolved {
				firing++
			}
		}
		rng.Shuffle(len(posts), func(i, j int) { posts[i], posts[j] = posts[j], posts[i] })
		killAfter := 1 + rng.IntN(firing)                                 // acknowledged notifications
		grace := time.Duration(rng.Int64N(int64(600 * time.Millisecond))) // then this long

		d := startBinary(t, bin, env)
		runs = append(runs, d)
		pending := c.storm(d, posts, killAfter, grace, true)
		t.Logf("round %d: %d posts, killed after %d acknowledged + %s with %d outbox items pending",
			round, len(posts), killAfter, grace.Round(time.Millisecond), pending)
		caught += max(0, pending)
	}

	d := startBinary(t, bin, env)
	runs = append(runs, d)
	t.Cleanup(func() {
		if t.Failed() {
			items, _ := tryOutbox(&http.Client{Timeout: 5 * time.Second}, d.url, "pending")
			b, _ := json.MarshalIndent(items, "", "  ")
			t.Logf("pending in the last run:\n%s", b)
		}
	})
	waitFor(t, 60*time.Second, "the outbox to drain", func() bool {
		return len(outboxItems(d, "pending")) == 0
	})
	// Every group on the ledger fires once more, at critical: whatever the
	// kills left, each ends with one open ticket at that level.
	var final []crashPost
	for _, e := range d.ledger("") {
		final = append(final, crashPost{group: c.sent[e.Key], severity: "critical"})
	}
	c.storm(d, final, len(final), 0, false)
	waitFor(t, 60*time.Second, "the outbox to drain after the last firing", func() bool {
		return len(outboxItems(d, "pending")) == 0
	})
	c.check(d, fake)
	adopted := 0
	for _, r := range runs {
		adopted += strings.Count(r.log.String(), `"decision":"adopted"`)
	}
	t.Logf("%d tickets adopted after an unclear create", adopted)
	// The dropped answers alone make adoptions certain; repeats at
	// critical and resolves make level changes and cancels certain.
	cancelled := 0
	for _, tk := range fake.Tickets() {
		if tk.WorkFlowStatus == coctest.StatusCancelled {
			cancelled++
		}
	}
	t.Logf("%d tickets cancelled on resolve, %d actions in all", cancelled, fake.Calls(coctest.OpAction))
	if caught == 0 || adopted == 0 || cancelled == 0 || fake.Calls(coctest.OpAction) == 0 {
		t.Errorf("%d deliveries pending at the kills, %d adoptions, %d cancels, %d actions: the test proved little",
			caught, adopted, cancelled, fake.Calls(coctest.OpAction))
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := d.wait(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// crashPlan returns a round's posts, new groups first, and the new groups:
// firing notifications of new groups, firing repeats of earlier groups
// (Alertmanager's repeat_interval, or its retry of a cut request) and
// resolved notifications of earlier groups.
func crashPlan(rng *rand.Rand, round int, earlier []string) (posts []crashPost, fresh []string) {
	for i := range 30 + rng.IntN(21) {
		g := fmt.Sprintf("crash-r%d-g%02d", round, i)
		fresh = append(fresh, g)
		posts = append(posts, crashPost{group: g, severity: "warning"})
	}
	if len(earlier) > 0 {
		for i := range 15 {
			severity := "warning"
			if i%2 == 0 {
				severity = "critical"
			}
			posts = append(posts, crashPost{group: earlier[rng.IntN(len(earlier))], severity: severity})
		}
		for range 8 {
			posts = append(posts, crashPost{group: earlier[rng.IntN(len(earlier))], resolved: true})
		}
	}
	return posts, fresh
}

// storm sends posts from crashSenders senders to the daemon, kills it with
// SIGKILL grace after killAfter firing notifications were acknowledged (or
// every post was answered), and returns how many outbox items were pending
// just before the kill (-1 if unknown).
func (c *crashRun) storm(d *binaryDaemon, posts []crashPost, killAfter int, grace time.Duration, kill bool) int {
	t := c.t
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	work := make(chan crashPost)
	acks := make(chan struct{}, len(posts))
	var senders sync.WaitGroup
	senders.Go(func() {
		defer close(work)
		for _, p := range posts {
			select {
			case work <- p:
			case <-ctx.Done():
				return
			}
		}
	})
	for range crashSenders {
		senders.Go(func() {
			for p := range work {
				if c.send(hc, d.url, p) {
					acks <- struct{}{}
				}
			}
		})
	}
	allSent := make(chan struct{})
	go func() {
		senders.Wait()
		close(allSent)
	}()

	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for n := 0; n < killAfter; {
		select {
		case <-acks:
			n++
		case <-allSent:
			n = killAfter
		case <-timeout.C:
			t.Fatalf("%d of %d notifications acknowledged after 30s", n, killAfter)
		}
	}
	if !kill {
		<-allSent
		return -1
	}
	time.Sleep(grace)
	pending := -1
	if items, ok := tryOutbox(hc, d.url, "pending"); ok {
		pending = len(items)
	}
	select {
	case <-d.exited:
		t.Fatalf("the binary exited before it was killed:\n%s", d.log)
	default:
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	stop()
	<-allSent // every request fails once the process is gone; the client has a timeout
	d.wait()
	if ws, ok := d.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the binary ended with %v, not by SIGKILL:\n%s", d.cmd.ProcessState, d.log)
	}
	return pending
}

// send posts one notification and reports whether it was a firing one
// answered 200. A request without an answer may have been stored or not.
func (c *crashRun) send(hc *http.Client, url string, p crashPost) bool {
	body := sampleNotification(sampleOptions{Group: p.group, Resolved: p.resolved, Severity: p.severity})
	msg, err := mapping.Decode(body)
	if err != nil {
		c.t.Errorf("decode the sample of %s: %v", p.group, err)
		return false
	}
	key := c.mapper.Key(msg)
	if !p.resolved {
		c.mu.Lock()
		c.sent[key] = p.group
		c.mu.Unlock()
	}
	time.Sleep(time.Duration(rand.N(5 * time.Millisecond))) // senders out of step
	resp, err := hc.Post(url+"/api/v1/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		return false // cut by the kill
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.refused++; c.refused <= 3 { // one cause usually refuses them all
			c.t.Errorf("webhook answered %d for %s: %s", resp.StatusCode, p.group, bytes.Join(bytes.Fields(b), []byte(" ")))
		}
		return false
	}
	// The status is the acknowledgement: the body may still be cut.
	if !p.resolved {
		c.mu.Lock()
		c.acked[key] = p.group
		c.mu.Unlock()
	}
	var ans struct {
		Decisions []struct{ Key string } `json:"decisions"`
	}
	if b, err := io.ReadAll(resp.Body); err == nil {
		if err := json.Unmarshal(b, &ans); err != nil || len(ans.Decisions) != 1 || ans.Decisions[0].Key != key {
			c.t.Errorf("answer for %s is %s, want one decision for key %s", p.group, b, key)
		}
	}
	return !p.resolved
}

// check asserts the final state: every acknowledged group has exactly one
// open ticket at COC, at issues_level_1000, recorded open on the ledger
// with that level; its other tickets were cancelled on a resolve; nothing
// is dead-lettered; every ticket and ledger entry belongs to a group sent.
func (c *crashRun) check(d *binaryDaemon, fake *coctest.Server) {
	t := c.t
	c.mu.Lock()
	defer c.mu.Unlock()
	ledger := map[string]bridge.LedgerEntry{}
	for _, e := range d.ledger("") {
		ledger[e.Key] = e
	}
	if dead := outboxItems(d, "dead"); len(dead) > 0 {
		t.Errorf("%d dead-lettered items, first %+v", len(dead), dead[0])
	}
	tickets := map[string][]coctest.Ticket{}
	for _, tk := range fake.Tickets() {
		tickets[tk.SourceID] = append(tickets[tk.SourceID], tk)
		if _, ok := c.sent[tk.SourceID]; !ok {
			t.Errorf("ticket %s has source_id %s, a key never sent", tk.TicketID, tk.SourceID)
		}
	}
	for key, group := range c.acked {
		if _, ok := ledger[key]; !ok {
			t.Errorf("acknowledged group %s (key %s) is not on the ledger: lost", group, key)
		}
	}
	for key, e := range ledger {
		group, ok := c.sent[key]
		if !ok {
			t.Errorf("ledger entry %s is for a key never sent", key)
			continue
		}
		var got []coctest.Ticket
		for _, tk := range tickets[key] {
			switch tk.WorkFlowStatus {
			case coctest.StatusCancelled:
			case coctest.StatusPending:
				got = append(got, tk)
			default:
				t.Errorf("group %s: ticket %s in status %s, want pending or cancelled", group, tk.TicketID, tk.WorkFlowStatus)
			}
		}
		switch {
		case len(got) != 1:
			t.Errorf("group %s (key %s, acknowledged %t) has %d open tickets at COC (%d in all), want exactly 1",
				group, key, c.acked[key] != "", len(got), len(tickets[key]))
		case e.State != bridge.StateOpen || e.TicketID != got[0].TicketID:
			t.Errorf("group %s: ledger %s with ticket %q, want open with %s", group, e.State, e.TicketID, got[0].TicketID)
		case got[0].Level != "issues_level_1000" || e.CocLevel != "issues_level_1000":
			t.Errorf("group %s: ticket %s at %s, ledger says COC has %q; want issues_level_1000",
				group, got[0].TicketID, got[0].Level, e.CocLevel)
		}
	}
	for key, got := range tickets {
		if _, ok := ledger[key]; !ok {
			t.Errorf("group %s has %d tickets at COC but no ledger entry", c.sent[key], len(got))
		}
	}
	if c.refused > 0 {
		t.Errorf("%d webhook requests were refused", c.refused)
	}
	t.Logf("%d groups sent, %d acknowledged, %d on the ledger, %d tickets; COC saw %d creates and %d lookups",
		len(c.sent), len(c.acked), len(ledger), len(fake.Tickets()),
		fake.Calls(client.OpCreateTicket), fake.Calls(client.OpListTickets))
}

// outboxItems lists the daemon's outbox items in state.
func outboxItems(d *binaryDaemon, state string) []bridge.OutboxItem {
	d.t.Helper()
	code, body := d.do(request{path: "/api/v1/outbox?state=" + state})
	var v struct{ Items []bridge.OutboxItem }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil {
		d.t.Fatalf("outbox answered %d: %s", code, body)
	}
	return v.Items
}

// tryOutbox is outboxItems for a daemon about to be killed: failures are
// reported, not fatal.
func tryOutbox(hc *http.Client, url, state string) ([]bridge.OutboxItem, bool) {
	resp, err := hc.Get(url + "/api/v1/outbox?state=" + state)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var v struct{ Items []bridge.OutboxItem }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil {
		return nil, false
	}
	return v.Items, true
}

// slowCOC delays every COC answer twice, by a random time in [lo, hi]:
// before COC acts and after it has, with the answer held back. A kill then
// often finds a create in flight, or done at COC and not yet recorded.
func slowCOC(h http.Handler, lo, hi time.Duration) http.Handler {
	pause := func(ctx context.Context) bool {
		t := time.NewTimer(lo + rand.N(hi-lo+1))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !pause(r.Context()) {
			return
		}
		held := &heldAnswer{ResponseWriter: w}
		h.ServeHTTP(held, r)
		if held.hijacked || !pause(r.Context()) {
			return
		}
		if held.status == 0 {
			held.status = http.StatusOK
		}
		w.WriteHeader(held.status)
		_, _ = w.Write(held.body.Bytes())
	})
}

// heldAnswer keeps an answer to send it later. Headers go straight to the
// real writer, which is not written to until then; a hijack (a dropped
// connection) passes through.
type heldAnswer struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (a *heldAnswer) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

func (a *heldAnswer) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(p)
}

func (a *heldAnswer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	a.hijacked = true
	return http.NewResponseController(a.ResponseWriter).Hijack()
}

// notableLines keeps a JSON log's warning and error lines, and the
// adoptions.
func notableLines(log string) string {
	var b strings.Builder
	for line := range strings.Lines(log) {
		if strings.Contains(line, `"level":"warn"`) || strings.Contains(line, `"level":"error"`) ||
			strings.Contains(line, `"decision":"adopted"`) {
			b.WriteString(line)
		}
	}
	return b.String()
}
