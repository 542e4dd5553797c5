package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/bridge/internal/tcpproxy"
	"github.com/coc-bridge/coc-bridge/bridge/postgres"
)

// timedAnswer is one HTTP answer and how long it took.
type timedAnswer struct {
	what    string
	code    int
	body    string
	latency time.Duration
}

// timedDo sends a request to the bridge and times its answer. A request
// that gets no answer at all (a closed connection, or none in 60 s) counts
// as code 0.
func (e *env) timedDo(method, path string, body []byte) timedAnswer {
	req, err := http.NewRequest(method, e.webhook.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{Timeout: time.Minute}
	start := time.Now()
	resp, err := c.Do(req)
	a := timedAnswer{what: method + " " + path}
	if err != nil {
		a.body = err.Error()
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		a.code, a.body = resp.StatusCode, string(b)
	}
	a.latency = time.Since(start)
	return a
}

// proxiedPostgres opens a PostgreSQL store through a TCP proxy in front of
// the test server, as cmd does (postgres.Open with a DSN and no pool
// settings).
func proxiedPostgres(t *testing.T) (*tcpproxy.Proxy, func(t *testing.T) bridge.Store) {
	t.Helper()
	u, err := url.Parse(postgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	p := tcpproxy.Start(t, u.Host)
	u.Host = p.Addr()
	dsn := u.String()
	return p, func(t *testing.T) bridge.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			t.Fatalf("open postgres store: %v", err)
		}
		return s
	}
}

// TestPostgresBlackholeAnswers503InTimeAndRecovers makes PostgreSQL stop
// answering for 45 s with every connection left open (a partition, a
// stopped server). Every webhook is answered 503 within the store timeout,
// /-/ready answers 503 within a second naming the store, the views answer
// 503; then, in the same process, the store comes back by itself, every
// group Alertmanager sends again is accepted, and each acknowledged group
// has exactly one ticket.
func TestPostgresBlackholeAnswers503InTimeAndRecovers(t *testing.T) {
	t.Parallel()
	proxy, open := proxiedPostgres(t)
	const (
		storeTimeout = 2 * time.Second
		blackhole    = 45 * time.Second
		margin       = 2 * time.Second // generous: a bound on behaviour, not a measurement
	)
	e := newEnv(t, envOptions{openStore: open, mutate: func(o *bridge.Options) { o.StoreTimeout = storeTimeout }})
	const before = 5
	for g := range before {
		e.mustAccept(firing(fmt.Sprintf("Before%02d", g)))
	}
	e.waitSettled(before)

	proxy.Blackhole()
	start := time.Now()
	var (
		mu       sync.Mutex
		answers  []timedAnswer
		rejected []string // groups answered 503: Alertmanager sends them again
		wg       sync.WaitGroup
	)
	record := func(a timedAnswer) {
		mu.Lock()
		defer mu.Unlock()
		answers = append(answers, a)
	}
	// Four senders of new groups, as Alertmanager's notification pipelines,
	// and a prober of /-/ready and the views, for the whole blackhole.
	for s := range 4 {
		wg.Go(func() {
			for i := 0; time.Since(start) < blackhole; i++ {
				group := fmt.Sprintf("During%d-%03d", s, i)
				a := e.timedDo(http.MethodPost, "/api/v1/alerts", firing(group))
				a.what = "webhook " + group
				record(a)
				mu.Lock()
				if a.code != http.StatusOK {
					rejected = append(rejected, group)
				}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for time.Since(start) < blackhole {
			for _, path := range []string{"/-/ready", "/api/v1/tickets", "/api/v1/outbox"} {
				record(e.timedDo(http.MethodGet, path, nil))
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
	wg.Wait()
	if held := proxy.Held(); held == 0 {
		t.Fatal("the proxy held no connection: the test proves nothing")
	}
	readyGauge := gaugeValue(t, e.reg, "coc_bridge_ready")
	proxy.Restore()

	webhooks := 0
	for _, a := range answers {
		bound := storeTimeout + margin
		if a.what == "GET /-/ready" {
			bound = time.Second + margin
		}
		if a.code != http.StatusServiceUnavailable || a.latency > bound {
			t.Errorf("%s during the blackhole: %d after %v, want 503 within %v: %s", a.what, a.code, a.latency, bound, a.body)
		}
		if a.what == "GET /-/ready" && !bytes.Contains([]byte(a.body), []byte(`"store": "store: `)) {
			t.Errorf("/-/ready does not name the store: %s", a.body)
		}
		if a.code == 0 {
			continue
		}
		if len(a.what) > 8 && a.what[:8] == "webhook " {
			webhooks++
		}
	}
	if webhooks < 20 {
		t.Errorf("%d webhooks answered during the blackhole, want many", webhooks)
	}
	if readyGauge != 0 {
		t.Errorf("coc_bridge_ready = %v during the blackhole, want 0", readyGauge)
	}
	if n := counterValue(t, e.reg, "coc_bridge_store_errors_total", "operation", "accept"); n < float64(webhooks) {
		t.Errorf("coc_bridge_store_errors_total{operation=accept} = %v, want at least %d", n, webhooks)
	}

	// The same process recovers: /-/ready, then every group sent again.
	waitFor(t, 30*time.Second, "/-/ready to answer 200 after the blackhole", func() bool {
		return e.timedDo(http.MethodGet, "/-/ready", nil).code == http.StatusOK
	})
	for _, group := range rejected {
		if a := e.timedDo(http.MethodPost, "/api/v1/alerts", firing(group)); a.code != http.StatusOK {
			t.Fatalf("webhook %s after the blackhole: %d %s", group, a.code, a.body)
		}
	}
	e.mustAccept(firing("After"))
	groups := before + len(rejected) + 1
	waitFor(t, 60*time.Second, fmt.Sprintf("%d open tickets and an empty outbox", groups), func() bool {
		return len(e.ledger(bridge.StateOpen)) == groups && len(e.outbox()) == 0
	})
	e.assertOneTicketPerKey(groups)
}
