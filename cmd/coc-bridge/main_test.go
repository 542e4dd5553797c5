package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
	"github.com/coc-bridge/coc-bridge/internal/await"
)

const (
	testAK     = "HWCTESTAK0000000001"
	testSK     = "sk-LEAK-CANARY-4b1d"
	testDomain = "0970dd7a1300f5672ff2c003c60ae115"
)

// newFake starts the fake COC over real HTTP.
func newFake(t *testing.T) (*coctest.Server, string) {
	t.Helper()
	fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK, DomainID: testDomain})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

// testEnv is a complete environment for a bridge on a fresh SQLite file
// talking to the fake at cocURL.
func testEnv(t *testing.T, cocURL string) map[string]string {
	return map[string]string{
		"COC_BRIDGE_LISTEN_ADDRESS":       "127.0.0.1:0",
		"COC_BRIDGE_COC_ENDPOINT":         cocURL,
		"COC_BRIDGE_COC_ACCESS_KEY":       testAK,
		"COC_BRIDGE_COC_SECRET_KEY":       testSK,
		"COC_BRIDGE_COC_DOMAIN_ID":        testDomain,
		"COC_BRIDGE_STORE":                filepath.Join(t.TempDir(), "coc-bridge.db"),
		"COC_BRIDGE_INSTANCE":             "test",
		"COC_BRIDGE_ISSUE_CONTACT_PERSON": testContact,
		"COC_BRIDGE_LOG_LEVEL":            "debug",
		"COC_BRIDGE_SHUTDOWN_GRACE":       "10s",
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon under test: `coc-bridge serve` run in-process.
type testDaemon struct {
	t      *testing.T
	url    string
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan int
	once   sync.Once
	code   int
}

func startServe(t *testing.T, env map[string]string) *testDaemon {
	t.Helper()
	d, _ := startServeCapturing(t, env)
	return d
}

// startServeCapturing is startServe that also returns what the daemon
// writes to stdout.
func startServeCapturing(t *testing.T, env map[string]string) (*testDaemon, *syncBuffer) {
	t.Helper()
	addr := make(chan net.Addr, 1)
	stdout := &syncBuffer{}
	d := &testDaemon{t: t, log: &syncBuffer{}, done: make(chan int, 1)}
	a := &app{env: environ(env), stdin: strings.NewReader(""), stdout: stdout, stderr: d.log,
		listening: func(a net.Addr) { addr <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() { d.done <- a.exit(a.run(ctx, []string{"serve"})) }()
	select {
	case ad := <-addr:
		d.url = "http://" + ad.String()
	case code := <-d.done:
		cancel()
		t.Fatalf("serve exited with %d before listening:\n%s", code, d.log)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("serve did not listen within 20s:\n%s", d.log)
	}
	t.Cleanup(func() { d.stop() })
	return d, stdout
}

// stop cancels the daemon's context (what SIGTERM does) and returns its
// exit code.
func (d *testDaemon) stop() int {
	d.once.Do(func() {
		d.cancel()
		select {
		case d.code = <-d.done:
		case <-time.After(30 * time.Second):
			d.t.Fatalf("serve did not stop within 30s:\n%s", d.log)
		}
	})
	return d.code
}

type request struct {
	method, path, body string
	header             map[string]string
}

// do sends one request to the daemon and returns the status and body.
func (d *testDaemon) do(r request) (int, string) {
	d.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	req, err := http.NewRequest(r.method, d.url+r.path, strings.NewReader(r.body))
	if err != nil {
		d.t.Fatal(err)
	}
	if r.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postSample posts the sample notification and returns the issue key and
// the decision.
func (d *testDaemon) postSample(o sampleOptions, header map[string]string) (key, decision string) {
	d.t.Helper()
	code, body := d.do(request{method: http.MethodPost, path: "/api/v1/alerts", body: string(sampleNotification(o)), header: header})
	if code != http.StatusOK {
		d.t.Fatalf("webhook answered %d: %s", code, body)
	}
	var ans struct {
		Decisions []struct{ Key, Decision string } `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(body), &ans); err != nil || len(ans.Decisions) != 1 {
		d.t.Fatalf("answer %s: %v", body, err)
	}
	return ans.Decisions[0].Key, ans.Decisions[0].Decision
}

func (d *testDaemon) ledger(query string) []bridge.LedgerEntry {
	d.t.Helper()
	code, body := d.do(request{path: "/api/v1/tickets" + query})
	if code != http.StatusOK {
		d.t.Fatalf("ledger answered %d: %s", code, body)
	}
	var v struct{ Tickets []bridge.LedgerEntry }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		d.t.Fatalf("ledger %s: %v", body, err)
	}
	return v.Tickets
}

// waitFor polls cond until it holds or the deadline passes.
var waitFor = await.True

// Webhook in, ticket out at the fake COC; the ledger view; a restart on the
// same SQLite file does not open a second ticket for the same group.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	fake, cocURL := newFake(t)
	env := testEnv(t, cocURL)
	d := startServe(t, env)

	for _, p := range []string{"/-/healthy", "/-/ready", "/"} {
		if code, body := d.do(request{path: p}); code != http.StatusOK {
			t.Errorf("GET %s = %d: %s", p, code, body)
		}
	}
	key, decision := d.postSample(sampleOptions{}, nil)
	if decision != "create" {
		t.Fatalf("decision %q, want create", decision)
	}
	waitFor(t, 15*time.Second, "the ticket at the fake COC", func() bool { return len(fake.TicketsBySourceID(key)) == 1 })
	ticketID := fake.TicketsBySourceID(key)[0].TicketID
	waitFor(t, 15*time.Second, "the ledger entry to open", func() bool {
		open := d.ledger("?state=open")
		return len(open) == 1 && open[0].Key == key && open[0].TicketID == ticketID
	})
	if got := d.ledger("?key=" + key); len(got) != 1 {
		t.Errorf("ledger ?key= gave %d entries, want 1", len(got))
	}
	if got := d.ledger("?key=nope"); len(got) != 0 {
		t.Errorf("ledger ?key=nope gave %d entries, want 0", len(got))
	}
	if got := d.ledger("?state=pending"); len(got) != 0 {
		t.Errorf("ledger ?state=pending gave %d entries, want 0", len(got))
	}
	if code, _ := d.do(request{path: "/api/v1/tickets?state=bogus"}); code != http.StatusBadRequest {
		t.Errorf("ledger ?state=bogus = %d, want 400", code)
	}
	code, metrics := d.do(request{path: "/metrics"})
	for _, want := range []string{"coc_bridge_tickets_created_total 1", "go_goroutines", "process_cpu_seconds_total",
		`coc_bridge_build_info{`, `coc_bridge_coc_requests_total{operation="create_ticket",status="200"}`} {
		if code != http.StatusOK || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code := d.stop(); code != exitOK {
		t.Fatalf("exit code %d after stop:\n%s", code, d.log)
	}
	if !strings.Contains(d.log.String(), `"msg":"listening"`) {
		t.Errorf("no listening line in the log")
	}

	d2 := startServe(t, env)
	if _, decision := d2.postSample(sampleOptions{}, nil); decision != "suppress_open" {
		t.Errorf("after restart decision %q, want suppress_open", decision)
	}
	if n := len(fake.TicketsBySourceID(key)); n != 1 {
		t.Errorf("%d tickets for the key after restart, want 1", n)
	}
	if code := d2.stop(); code != exitOK {
		t.Errorf("exit code %d", code)
	}
}

// Starting with only the endpoint and the credentials works. Without a
// ticket owner COC rejects the create (the fake COC is as strict as COC): the
// daemon warns at start, and the rejected notification is dead-lettered with
// COC's reason, not lost.
func TestServeMinimalEnvironment(t *testing.T) {
	t.Parallel()
	// No X-Domain-Id is sent: this fake, like API Gateway for a key that
	// names its account, does not require one.
	fake := coctest.New(coctest.Options{AccessKey: testAK, SecretKey: testSK})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	env := map[string]string{
		"COC_BRIDGE_COC_ENDPOINT":   srv.URL,
		"COC_BRIDGE_COC_ACCESS_KEY": testAK,
		"COC_BRIDGE_COC_SECRET_KEY": testSK,
		// Not the defaults only because tests run in parallel in one directory.
		"COC_BRIDGE_LISTEN_ADDRESS": "127.0.0.1:0",
		"COC_BRIDGE_STORE":          filepath.Join(dir, "coc-bridge.db"),
	}
	d := startServe(t, env)
	if code, body := d.do(request{path: "/-/ready"}); code != http.StatusOK {
		t.Errorf("ready = %d: %s", code, body)
	}
	if !strings.Contains(d.log.String(), `"setting":"COC_BRIDGE_ISSUE_CONTACT_PERSON: required when virtual_schedule_type`) {
		t.Errorf("no start-up warning about the missing ticket owner:\n%s", d.log)
	}
	key, _ := d.postSample(sampleOptions{}, nil)
	var items struct{ Items []bridge.OutboxItem }
	waitFor(t, 15*time.Second, "the rejected notification in the dead letters", func() bool {
		code, body := d.do(request{path: "/api/v1/outbox?state=dead&key=" + key})
		return code == http.StatusOK && json.Unmarshal([]byte(body), &items) == nil && len(items.Items) == 1
	})
	// COC says only "Invalid parameter"; the start-up warning names the cause.
	if it := items.Items[0]; it.ErrorCode != client.CodeInvalidParameter || !strings.Contains(it.LastError, "Invalid parameter") {
		t.Errorf("dead letter error %q (code %q), want COC's %s answer", it.LastError, it.ErrorCode, client.CodeInvalidParameter)
	}
	if n := len(fake.TicketsBySourceID(key)); n != 0 {
		t.Errorf("%d tickets at the fake COC, want 0", n)
	}
	if code := d.stop(); code != exitOK {
		t.Errorf("exit code %d:\n%s", code, d.log)
	}
}

func TestWebhookRejections(t *testing.T) {
	t.Parallel()
	env := testEnv(t, "http://127.0.0.1:1")
	env["COC_BRIDGE_DRY_RUN"] = "true"
	env["COC_BRIDGE_MAX_BODY_BYTES"] = "65536"
	env["COC_BRIDGE_WEBHOOK_BEARER_TOKEN"] = "bearer-LEAK-CANARY-77aa"
	d := startServe(t, env)
	bearer := map[string]string{"Authorization": "Bearer bearer-LEAK-CANARY-77aa"}
	sample := string(sampleNotification(sampleOptions{}))
	cases := []struct {
		name string
		req  request
		want int
	}{
		{"GET", request{method: http.MethodGet, path: "/api/v1/alerts", header: bearer}, http.StatusMethodNotAllowed},
		{"PUT", request{method: http.MethodPut, path: "/api/v1/alerts", body: sample, header: bearer}, http.StatusMethodNotAllowed},
		{"no credentials", request{method: http.MethodPost, path: "/api/v1/alerts", body: sample}, http.StatusUnauthorized},
		{"wrong bearer", request{method: http.MethodPost, path: "/api/v1/alerts", body: sample,
			header: map[string]string{"Authorization": "Bearer nope"}}, http.StatusUnauthorized},
		{"wrong basic", request{method: http.MethodPost, path: "/api/v1/alerts", body: sample,
			header: map[string]string{"Authorization": "Basic YWxlcnRtYW5hZ2VyOm5vcGU="}}, http.StatusUnauthorized},
		{"text/plain", request{method: http.MethodPost, path: "/api/v1/alerts", body: sample,
			header: map[string]string{"Authorization": bearer["Authorization"], "Content-Type": "text/plain"}}, http.StatusUnsupportedMediaType},
		{"too large", request{method: http.MethodPost, path: "/api/v1/alerts", body: `{"version":"4","x":"` + strings.Repeat("a", 70000) + `"}`,
			header: bearer}, http.StatusRequestEntityTooLarge},
		{"not JSON", request{method: http.MethodPost, path: "/api/v1/alerts", body: "{not json", header: bearer}, http.StatusBadRequest},
		{"version 3", request{method: http.MethodPost, path: "/api/v1/alerts", body: strings.Replace(sample, `"version": "4"`, `"version": "3"`, 1),
			header: bearer}, http.StatusBadRequest},
		{"bearer", request{method: http.MethodPost, path: "/api/v1/alerts", body: sample, header: bearer}, http.StatusOK},
	}
	for _, tc := range cases {
		if code, body := d.do(tc.req); code != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, code, tc.want, body)
		}
	}
	// Nothing from the rejected requests was stored: one key, from the accepted ones.
	if got := d.ledger(""); len(got) != 1 {
		t.Errorf("ledger has %d entries, want 1", len(got))
	}
	d.stop()
	for _, s := range []string{"bearer-LEAK-CANARY-77aa"} {
		if strings.Contains(d.log.String(), s) {
			t.Errorf("the log contains the webhook secret %q", s)
		}
	}
}

// The captured log, at debug level, never holds the secret key, the
// security token or the webhook secrets, through a whole ticket's life.
func TestLogNeverContainsSecrets(t *testing.T) {
	t.Parallel()
	const token = "token-LEAK-CANARY-9e2f"
	fake, cocURL := newFake(t)
	env := testEnv(t, cocURL)
	env["COC_BRIDGE_COC_SECURITY_TOKEN_FILE"] = writeFile(t, "token", token+"\n")
	env["COC_BRIDGE_WEBHOOK_BEARER_TOKEN"] = "bearer-LEAK-CANARY-77aa"
	d := startServe(t, env)
	key, _ := d.postSample(sampleOptions{}, map[string]string{"Authorization": "Bearer bearer-LEAK-CANARY-77aa"})
	d.postSample(sampleOptions{Resolved: true}, map[string]string{"Authorization": "Bearer bearer-LEAK-CANARY-77aa"})
	waitFor(t, 15*time.Second, "the ticket", func() bool { return len(fake.TicketsBySourceID(key)) == 1 })
	d.do(request{path: "/-/ready"})
	d.do(request{path: "/metrics"})
	if code := d.stop(); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	log := d.log.String()
	if !strings.Contains(log, `"level":"debug"`) {
		t.Fatalf("the log has no debug lines; the test would prove little:\n%s", log)
	}
	for _, s := range []string{testSK, token, "bearer-LEAK-CANARY-77aa"} {
		if strings.Contains(log, s) {
			t.Errorf("the log contains the secret %q", s)
		}
	}
}
