package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/sqlite"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
	"github.com/coc-bridge/coc-bridge/internal/await"
	"github.com/coc-bridge/coc-bridge/mapping"
)

const (
	testAK      = "HWCTESTAK0000000001"
	testSK      = "test-secret-key-do-not-log"
	testContact = "51875a8200fd45189f94745678545bc3"
)

// env is one bridge wired to a SQLite file, the fake COC over real HTTP and
// an httptest server for the webhook.
type env struct {
	t       *testing.T
	fake    *coctest.Server
	coc     *client.Client
	cocURL  string
	dbPath  string
	store   bridge.Store
	bridge  *bridge.Bridge
	reg     *prometheus.Registry
	webhook *httptest.Server
	stop    func()
	// kill stops the bridge like a crash: the store goes first, so claimed
	// items keep their leases and nothing is written back.
	kill func()
}

type envOptions struct {
	lease      time.Duration
	grace      time.Duration
	refresh    time.Duration
	mutate     func(*bridge.Options)
	mapConfig  func(*mapping.Config)
	dbPath     string
	fake       *coctest.Server
	cocURL     string
	noRun      bool
	clientOpts func(*client.Options)
	// openStore opens the store (default: SQLite at dbPath).
	openStore func(t *testing.T) bridge.Store
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, fake: o.fake, cocURL: o.cocURL, dbPath: o.dbPath}
	if e.fake == nil {
		e.fake = coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK})
		srv := httptest.NewServer(e.fake)
		t.Cleanup(srv.Close)
		e.cocURL = srv.URL
	}
	if e.dbPath == "" {
		e.dbPath = filepath.Join(t.TempDir(), "coc-bridge.db")
	}
	e.start(o)
	return e
}

func (e *env) start(o envOptions) {
	t := e.t
	t.Helper()
	log := zaptest.NewLogger(t)
	var store bridge.Store
	if o.openStore != nil {
		store = o.openStore(t)
	} else {
		s, err := sqlite.Open(context.Background(), e.dbPath, sqlite.Options{Logger: log})
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		store = s
	}
	e.store = store
	e.reg = prometheus.NewRegistry()
	copts := client.Options{
		Endpoint:    e.cocURL,
		Credentials: client.StaticCredentials{AccessKey: testAK, SecretKey: client.Secret(testSK)},
		QPS:         1000,
		Burst:       100,
		Retry: client.RetryPolicy{
			MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
			MaxElapsed: 2 * time.Second, AttemptTimeout: 2 * time.Second,
		},
		Registerer: e.reg,
		Logger:     log,
	}
	if o.clientOpts != nil {
		o.clientOpts(&copts)
	}
	coc, err := client.New(copts)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	e.coc = coc
	mcfg := mapping.DefaultConfig()
	mcfg.Instance = "test"
	mcfg.Fields.IssueContactPerson = testContact
	// COC's visibility lag is off in the fake unless a test sets it: the
	// lookups after an unclear create need not wait long.
	mcfg.LookupSchedule = []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond}
	if o.mapConfig != nil {
		o.mapConfig(&mcfg)
	}
	mapper, err := mapping.New(mcfg)
	if err != nil {
		t.Fatalf("mapper: %v", err)
	}
	opts := bridge.Options{
		Store: store, Mapper: mapper, COC: coc, Logger: log, Registerer: e.reg,
		ReplicaID: "test", Workers: 4, PollInterval: 20 * time.Millisecond,
		RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: 50 * time.Millisecond,
		AmbiguousDelay: 20 * time.Millisecond, Lease: max(o.lease, 10*time.Second),
		RefreshInterval: max(o.refresh, time.Hour), ShutdownGrace: max(o.grace, 5*time.Second),
		StatsInterval: 50 * time.Millisecond,
	}
	if o.lease > 0 {
		opts.Lease = o.lease
	}
	if o.refresh > 0 {
		// Every ticket on the same short interval, whatever its age
		// (TestRefreshScheduleByAge tests the schedule).
		opts.RefreshInterval, opts.RefreshMaxInterval = o.refresh, o.refresh
	}
	if o.grace > 0 {
		opts.ShutdownGrace = o.grace
	}
	if o.mutate != nil {
		o.mutate(&opts)
	}
	b, err := bridge.New(opts)
	if err != nil {
		t.Fatalf("bridge: %v", err)
	}
	e.bridge = b
	e.webhook = httptest.NewServer(b.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if o.noRun {
		close(done)
	} else {
		go func() { _ = b.Run(ctx); close(done) }()
	}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			e.webhook.Close()
			_ = store.Close()
		})
	}
	e.kill = func() {
		once.Do(func() {
			_ = store.Close()
			cancel()
			<-done
			e.webhook.Close()
		})
	}
	t.Cleanup(e.stop)
}

// restart stops the bridge and starts a new one on the same database and
// fake COC.
func (e *env) restart(o envOptions) {
	e.stop()
	e.start(o)
}

// post sends a webhook body and returns the status and body.
func (e *env) post(body []byte, header map[string]string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.webhook.URL+"/api/v1/alerts", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("post webhook: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) mustAccept(body []byte) {
	e.t.Helper()
	if code, resp := e.post(body, nil); code != http.StatusOK {
		e.t.Fatalf("webhook answered %d: %s", code, resp)
	}
}

// waitFor polls cond until it holds or the deadline passes.
var waitFor = await.True

func (e *env) ledger(state bridge.State) []bridge.LedgerEntry {
	e.t.Helper()
	entries, err := e.store.Ledger(context.Background(), bridge.LedgerFilter{State: state})
	if err != nil {
		e.t.Fatalf("ledger: %v", err)
	}
	return entries
}

func (e *env) outbox() []bridge.OutboxItem {
	e.t.Helper()
	items, err := e.store.Outbox(context.Background(), bridge.OutboxFilter{})
	if err != nil {
		e.t.Fatalf("outbox: %v", err)
	}
	return items
}

// waitSettled waits until every key has an open ticket and the outbox is empty.
func (e *env) waitSettled(keys int) {
	e.t.Helper()
	waitFor(e.t, 20*time.Second, fmt.Sprintf("%d open tickets and an empty outbox", keys), func() bool {
		return len(e.ledger(bridge.StateOpen)) == keys && len(e.outbox()) == 0
	})
}

// assertOneTicketPerKey checks the fake COC holds exactly one ticket per
// source_id and n in all.
func (e *env) assertOneTicketPerKey(n int) {
	e.t.Helper()
	tickets := e.fake.Tickets()
	per := map[string]int{}
	for _, tk := range tickets {
		per[tk.SourceID]++
	}
	for id, c := range per {
		if c != 1 {
			e.t.Errorf("source_id %s has %d tickets, want 1", id, c)
		}
	}
	if len(tickets) != n {
		e.t.Errorf("fake COC holds %d tickets, want %d", len(tickets), n)
	}
}

// notification builds a v4 webhook body for group g.
type alertSpec struct {
	severity, region, status string
	startsAt, endsAt         time.Time
}

func notification(group string, status string, alerts ...alertSpec) []byte {
	type alert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	}
	body := map[string]any{
		"version":           "4",
		"groupKey":          fmt.Sprintf(`{}:{alertname="%s"}`, group),
		"truncatedAlerts":   0,
		"status":            status,
		"receiver":          `coc\.bridge`,
		"groupLabels":       map[string]string{"alertname": group},
		"commonLabels":      map[string]string{"alertname": group},
		"commonAnnotations": map[string]string{"summary": group + " is failing"},
		"externalURL":       "http://alertmanager.example:9093",
	}
	var list []alert
	for i, a := range alerts {
		st := a.status
		if st == "" {
			st = status
		}
		list = append(list, alert{
			Status:       st,
			Labels:       map[string]string{"alertname": group, "severity": a.severity, "region": a.region, "instance": fmt.Sprintf("host-%d", i)},
			Annotations:  map[string]string{"summary": fmt.Sprintf("%s on host-%d", group, i)},
			StartsAt:     a.startsAt,
			EndsAt:       a.endsAt,
			GeneratorURL: "http://prometheus.example:9090/graph",
			Fingerprint:  fmt.Sprintf("%016x", i+1),
		})
	}
	body["alerts"] = list
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return b
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func firing(group string) []byte {
	return notification(group, "firing",
		alertSpec{severity: "major", region: "cn-south-1", startsAt: t0.Add(time.Minute)},
		alertSpec{severity: "critical", region: "cn-north-4", startsAt: t0})
}

func TestDedupeAcrossRepeatsAndConcurrentPeers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	const groups = 10
	for g := range groups {
		body := firing(fmt.Sprintf("Group%02d", g))
		// The first notification arrives three times at once (HA peers).
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { e.mustAccept(body) })
		}
		wg.Wait()
		for range 4 {
			e.mustAccept(body)
		}
	}
	e.waitSettled(groups)
	e.assertOneTicketPerKey(groups)

	for _, tk := range e.fake.Tickets() {
		if tk.Level != "issues_level_1000" {
			t.Errorf("ticket %s level = %q, want issues_level_1000 (highest firing severity)", tk.TicketID, tk.Level)
		}
		if tk.Regions != "cn-north-4,cn-south-1" {
			t.Errorf("ticket %s regions = %q", tk.TicketID, tk.Regions)
		}
		if tk.Source != "issues_mgmt_associated_type_2000" {
			t.Errorf("ticket %s source = %q", tk.TicketID, tk.Source)
		}
		if tk.FountTime != t0.UnixMilli() {
			t.Errorf("ticket %s fount_time = %d, want %d", tk.TicketID, tk.FountTime, t0.UnixMilli())
		}
		entries, err := e.store.Ledger(context.Background(), bridge.LedgerFilter{Key: tk.SourceID})
		if err != nil || len(entries) != 1 || entries[0].TicketID != tk.TicketID {
			t.Errorf("ledger for source_id %s = %+v, %v; want the ticket %s", tk.SourceID, entries, err, tk.TicketID)
		}
	}
	if got := e.fake.Calls("create_ticket"); got != groups {
		t.Errorf("COC saw %d creates, want %d: repeats must not call COC", got, groups)
	}
	if got := counterValue(t, e.reg, "coc_bridge_decisions_total", "decision", "create"); got != groups {
		t.Errorf("create decisions = %v, want %d", got, groups)
	}
	suppressed := counterValue(t, e.reg, "coc_bridge_decisions_total", "decision", "suppress_open") +
		counterValue(t, e.reg, "coc_bridge_decisions_total", "decision", "suppress_pending")
	if suppressed != groups*6 {
		t.Errorf("suppressed decisions = %v, want %d", suppressed, groups*6)
	}
	if got := counterValue(t, e.reg, "coc_bridge_tickets_created_total", "", ""); got != groups {
		t.Errorf("tickets created metric = %v, want %d", got, groups)
	}

	// Every ticket is open now: one more firing of each group is a repeat,
	// answered from a read and counted as such.
	before := counterValue(t, e.reg, "coc_bridge_repeats_answered_from_read_total", "", "")
	for g := range groups {
		e.mustAccept(firing(fmt.Sprintf("Group%02d", g)))
	}
	if got := counterValue(t, e.reg, "coc_bridge_repeats_answered_from_read_total", "", "") - before; got != groups {
		t.Errorf("repeats answered from a read = %v, want %d", got, groups)
	}
}

func TestTransientCOCFailuresLoseNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.fake.FailNext("", 25, coctest.Fault{Status: http.StatusServiceUnavailable, Code: "APIG.0202", Message: "backend unavailable"})
	const groups = 10
	for g := range groups {
		e.mustAccept(firing(fmt.Sprintf("Busy%02d", g)))
	}
	// After the 503s are used up, throttle the next 25 calls.
	waitFor(t, 20*time.Second, "the 503 faults to be consumed", func() bool {
		return e.fake.Calls("create_ticket") >= 25 || len(e.ledger(bridge.StateOpen)) == groups
	})
	e.fake.FailNext("", 25, coctest.Fault{Status: http.StatusTooManyRequests, Code: "APIG.0308",
		Message: "The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 minute"})
	for g := range groups {
		e.mustAccept(firing(fmt.Sprintf("Busy%02d", g)))
	}
	e.waitSettled(groups)
	e.assertOneTicketPerKey(groups)
	if dead := e.ledger(bridge.StateDead); len(dead) != 0 {
		t.Errorf("%d keys dead-lettered by transient failures", len(dead))
	}
}

func TestAmbiguousCreateIsAdoptedNotDuplicated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.fake.DropAfterCreate(3)
	const groups = 10
	for g := range groups {
		e.mustAccept(firing(fmt.Sprintf("Drop%02d", g)))
	}
	e.waitSettled(groups)
	e.assertOneTicketPerKey(groups)
	if got := counterValue(t, e.reg, "coc_bridge_tickets_adopted_total", "", ""); got != 3 {
		t.Errorf("adopted tickets = %v, want 3", got)
	}
}

func TestClosedTicketLetsNextFiringOpenANewOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{refresh: 100 * time.Millisecond})
	body := firing("Flappy")
	e.mustAccept(body)
	e.waitSettled(1)
	first := e.fake.Tickets()[0]

	// Resolved is recorded, nothing is sent to COC.
	e.mustAccept(notification("Flappy", "resolved", alertSpec{severity: "critical", region: "cn-north-4", startsAt: t0}))
	entry := e.ledger(bridge.StateOpen)[0]
	if entry.LastStatus != "resolved" || entry.ResolvedAt == nil {
		t.Errorf("resolved notification not recorded: %+v", entry)
	}

	if err := e.fake.Complete(first.TicketID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the refresher to release the completed ticket", func() bool {
		return len(e.ledger(bridge.StateClosed)) == 1
	})
	e.mustAccept(body)
	waitFor(t, 10*time.Second, "a second ticket", func() bool { return len(e.fake.Tickets()) == 2 })
	second := e.fake.Tickets()[1]
	if second.SourceID != first.SourceID {
		t.Errorf("new ticket source_id %q, want %q", second.SourceID, first.SourceID)
	}
	if !strings.Contains(second.Description, first.TicketID) {
		t.Errorf("new ticket description does not name the previous ticket %s:\n%s", first.TicketID, second.Description)
	}
	e.waitSettled(1)
	if got := e.ledger(bridge.StateOpen)[0]; got.PreviousTicketID != first.TicketID || got.TicketID != second.TicketID {
		t.Errorf("ledger after reopen = %+v", got)
	}
}

func TestBadInputIsRejectedAndNothingStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{mutate: func(o *bridge.Options) {
		o.MaxBodyBytes = 64 << 10
		o.Auth = bridge.WebhookAuth{BearerToken: func() string { return "s3cret" }}
	}})
	auth := map[string]string{"Authorization": "Bearer s3cret"}
	valid := firing("Valid")
	v3 := bytes.Replace(valid, []byte(`"version":"4"`), []byte(`"version":"3"`), 1)
	huge := notification("Huge", "firing", alertSpec{severity: strings.Repeat("x", 70<<10), startsAt: t0})
	tests := []struct {
		name   string
		method string
		body   []byte
		header map[string]string
		want   int
	}{
		{"malformed JSON", http.MethodPost, []byte(`{"version":`), auth, 400},
		{"wrong shape", http.MethodPost, []byte(`[1,2,3]`), auth, 400},
		{"unsupported version", http.MethodPost, v3, auth, 400},
		{"no alerts", http.MethodPost, []byte(`{"version":"4","status":"firing","receiver":"r","alerts":[]}`), auth, 400},
		{"no credentials", http.MethodPost, valid, nil, 401},
		{"wrong token", http.MethodPost, valid, map[string]string{"Authorization": "Bearer nope"}, 401},
		{"wrong method", http.MethodGet, nil, auth, 405},
		{"wrong content type", http.MethodPost, valid, map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "text/plain"}, 415},
		{"too large", http.MethodPost, huge, auth, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.webhook.URL+"/api/v1/alerts", bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			var eb struct{ Error string }
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" {
				t.Errorf("error body %q has no clear message", body)
			}
		})
	}
	if items := e.outbox(); len(items) != 0 {
		t.Errorf("outbox holds %d items after bad input", len(items))
	}
	if entries := e.ledger(""); len(entries) != 0 {
		t.Errorf("ledger holds %d entries after bad input", len(entries))
	}
	if got := counterValue(t, e.reg, "coc_bridge_webhook_auth_failures_total", "", ""); got != 2 {
		t.Errorf("auth failures = %v, want 2", got)
	}
	if got := counterValue(t, e.reg, "coc_bridge_notifications_total", "result", "too_large"); got != 1 {
		t.Errorf("too_large rejections = %v, want 1", got)
	}
	// The right credentials are accepted.
	if code, body := e.post(valid, auth); code != 200 {
		t.Errorf("valid request answered %d: %s", code, body)
	}
}

func TestRestartMidDeliveryLosesNothingDoublesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{lease: time.Second, grace: 10 * time.Millisecond})
	e.fake.SetLatency(300 * time.Millisecond)
	const groups = 12
	for g := range groups {
		e.mustAccept(firing(fmt.Sprintf("Restart%02d", g)))
	}
	// Stop while creates are in flight: the grace period is too short for
	// them, so they are cut off with unknown outcome.
	waitFor(t, 10*time.Second, "creates in flight", func() bool { return e.fake.Calls("create_ticket") >= 2 })
	e.restart(envOptions{lease: time.Second})
	e.fake.SetLatency(0)
	e.waitSettled(groups)
	e.assertOneTicketPerKey(groups)
}

func TestDeadLetterAndReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.fake.FailNext("create_ticket", 1, coctest.Fault{Status: 400, Code: "GOM.00007256", Message: "Invalid parameter"})
	e.mustAccept(firing("Broken"))
	waitFor(t, 10*time.Second, "a dead letter", func() bool { return len(e.ledger(bridge.StateDead)) == 1 })
	items, err := e.store.Outbox(context.Background(), bridge.OutboxFilter{State: bridge.ItemDead})
	if err != nil || len(items) != 1 || items[0].ErrorCode != "GOM.00007256" {
		t.Fatalf("dead items = %+v, %v; want one with the COC error code", items, err)
	}
	// The same firing again does not queue a second create.
	e.mustAccept(firing("Broken"))
	if got := counterValue(t, e.reg, "coc_bridge_decisions_total", "decision", "suppress_dead"); got != 1 {
		t.Errorf("suppress_dead = %v, want 1", got)
	}
	n, err := e.store.Replay(context.Background(), bridge.ReplayRequest{Now: time.Now()})
	if err != nil || n != 1 {
		t.Fatalf("replay = %d, %v", n, err)
	}
	e.waitSettled(1)
	e.assertOneTicketPerKey(1)
	if got := counterValue(t, e.reg, "coc_bridge_dead_letters_total", "", ""); got != 1 {
		t.Errorf("dead letters = %v, want 1", got)
	}
}

func TestLedgerViewAndHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.mustAccept(firing("View"))
	e.waitSettled(1)
	get := func(path string) (int, string) {
		resp, err := http.Get(e.webhook.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/api/v1/tickets?state=open")
	var view struct{ Tickets []bridge.LedgerEntry }
	if code != 200 || json.Unmarshal([]byte(body), &view) != nil || len(view.Tickets) != 1 || view.Tickets[0].TicketID == "" {
		t.Errorf("GET /api/v1/tickets?state=open = %d %s", code, body)
	}
	if code, body := get("/api/v1/tickets?state=closed"); code != 200 || !strings.Contains(body, `"tickets": []`) {
		t.Errorf("closed filter = %d %s", code, body)
	}
	if code, _ := get("/api/v1/tickets?state=bogus"); code != 400 {
		t.Errorf("invalid state answered %d, want 400", code)
	}
	if code, _ := get("/-/healthy"); code != 200 {
		t.Errorf("/-/healthy = %d", code)
	}
	if code, body := get("/-/ready"); code != 200 {
		t.Errorf("/-/ready = %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "coc_bridge_tickets_created_total 1") {
		t.Errorf("/metrics = %d, missing created counter", code)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "/api/v1/tickets") {
		t.Errorf("/ = %d %s", code, body)
	}
	// A closed store makes the bridge unready and the webhook answer 503.
	_ = e.store.Close()
	if code, body := get("/-/ready"); code != 503 || !strings.Contains(body, "store") {
		t.Errorf("/-/ready with a closed store = %d %s", code, body)
	}
	if code, body := e.post(firing("View"), nil); code != 503 {
		t.Errorf("webhook with a closed store = %d %s, want 503", code, body)
	}
}

// metricValue reads the counter or gauge name from the registry: the sum
// of its series whose labels include the given name/value pairs (every
// series when none are given). A family not exposed fails the test.
func metricValue(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		sum, matched := 0.0, false
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			ok := true
			for i := 0; i+1 < len(labels); i += 2 {
				if v, set := have[labels[i]]; !set || v != labels[i+1] {
					ok = false
				}
			}
			if ok {
				matched = true
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		if matched {
			return sum
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

// counterValue reads the series of a counter with label=value (every
// series when label is empty).
func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	if label == "" {
		return metricValue(t, reg, name)
	}
	return metricValue(t, reg, name, label, value)
}
